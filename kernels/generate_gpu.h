// GPU side of the benchmark's data preparation (kernels/generate.cu): synthetic matrices,
// precision conversions for the reference and tensor-core baselines, and a float64 GEMM used as
// the verification reference when cuBLAS is not available.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cuda_runtime_api.h>

#include "generate.h"

namespace esmm::gpu {

// out (rows×cols, leading dimension ld) filled with gen::element(...), identical to the CPU fill.
cudaError_t launchGenerate(float* out, int rows, int cols, int ld, uint64_t seed, uint64_t stream,
                           uint64_t groupStream, gen::Fill fill, double density, cudaStream_t s);
cudaError_t launchFloatToDouble(const float* in, double* out, size_t n, cudaStream_t s);
// out holds n __nv_bfloat16 values (round to nearest even).
cudaError_t launchFloatToBf16(const float* in, void* out, size_t n, cudaStream_t s);
// C = A·B in float64, row-major, dense leading dimensions.
cudaError_t launchGemm64(const double* A, const double* B, double* C, int M, int N, int K, cudaStream_t s);

}  // namespace esmm::gpu
