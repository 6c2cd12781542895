// The CUDA backend: ESMM and the cuBLAS baselines timed with CUDA events, verified against a
// float64 GEMM. Calls are serialised: two benchmarks never share the GPU at once.
#pragma once
#include <cstdint>
#include <vector>

#include "bench_job.h"

namespace esmm::native {

BenchOutcome runCudaBenchmark(const BenchJob& job);
std::vector<uint8_t> cudaPatterns(const PatternJob& job);

}  // namespace esmm::native
