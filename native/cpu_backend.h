// The CPU backend: float32 reference GEMM and CPU ESMM, timed with steady_clock.
#pragma once
#include <cstdint>
#include <vector>

#include "bench_job.h"

namespace esmm::native {

BenchOutcome runCpuBenchmark(const BenchJob& job);
std::vector<uint8_t> cpuPatterns(const PatternJob& job);
int cpuThreads();

}  // namespace esmm::native
