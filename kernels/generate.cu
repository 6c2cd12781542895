// Data preparation kernels for the benchmark. None of them is timed.
#include <cuda_bf16.h>

#include "generate_gpu.h"

namespace esmm::gpu {
namespace {

__global__ void generateKernel(float* out, int rows, int cols, int ld, uint64_t seed, uint64_t stream,
                               uint64_t groupStream, gen::Fill fill, double density) {
  const size_t total = static_cast<size_t>(rows) * static_cast<size_t>(cols);
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const int r = static_cast<int>(i / cols);
    const int c = static_cast<int>(i % cols);
    out[static_cast<size_t>(r) * ld + c] = gen::element(seed, stream, groupStream, fill, density, r, c, cols);
  }
}

__global__ void floatToDoubleKernel(const float* in, double* out, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    out[i] = static_cast<double>(in[i]);
  }
}

__global__ void floatToBf16Kernel(const float* in, __nv_bfloat16* out, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    out[i] = __float2bfloat16_rn(in[i]);
  }
}

constexpr int kGemmTile = 16;

// Plain shared-memory tiled GEMM: only a correctness reference, so clarity beats speed.
__global__ void gemm64Kernel(const double* A, const double* B, double* C, int M, int N, int K) {
  __shared__ double As[kGemmTile][kGemmTile];
  __shared__ double Bs[kGemmTile][kGemmTile];
  const int row = blockIdx.y * kGemmTile + threadIdx.y;
  const int col = blockIdx.x * kGemmTile + threadIdx.x;
  double acc = 0.0;
  for (int k0 = 0; k0 < K; k0 += kGemmTile) {
    const int ka = k0 + threadIdx.x;
    const int kb = k0 + threadIdx.y;
    As[threadIdx.y][threadIdx.x] = (row < M && ka < K) ? A[static_cast<size_t>(row) * K + ka] : 0.0;
    Bs[threadIdx.y][threadIdx.x] = (kb < K && col < N) ? B[static_cast<size_t>(kb) * N + col] : 0.0;
    __syncthreads();
    for (int k = 0; k < kGemmTile; ++k) acc += As[threadIdx.y][k] * Bs[k][threadIdx.x];
    __syncthreads();
  }
  if (row < M && col < N) C[static_cast<size_t>(row) * N + col] = acc;
}

unsigned gridFor(size_t n) {
  const size_t blocks = (n + 255) / 256;
  return static_cast<unsigned>(blocks < 65535 * 16 ? (blocks == 0 ? 1 : blocks) : 65535 * 16);
}

}  // namespace

cudaError_t launchGenerate(float* out, int rows, int cols, int ld, uint64_t seed, uint64_t stream,
                           uint64_t groupStream, gen::Fill fill, double density, cudaStream_t s) {
  generateKernel<<<gridFor(static_cast<size_t>(rows) * cols), 256, 0, s>>>(out, rows, cols, ld, seed, stream,
                                                                           groupStream, fill, density);
  return cudaGetLastError();
}

cudaError_t launchFloatToDouble(const float* in, double* out, size_t n, cudaStream_t s) {
  floatToDoubleKernel<<<gridFor(n), 256, 0, s>>>(in, out, n);
  return cudaGetLastError();
}

cudaError_t launchFloatToBf16(const float* in, void* out, size_t n, cudaStream_t s) {
  floatToBf16Kernel<<<gridFor(n), 256, 0, s>>>(in, static_cast<__nv_bfloat16*>(out), n);
  return cudaGetLastError();
}

cudaError_t launchGemm64(const double* A, const double* B, double* C, int M, int N, int K, cudaStream_t s) {
  const dim3 block(kGemmTile, kGemmTile);
  const dim3 grid((N + kGemmTile - 1) / kGemmTile, (M + kGemmTile - 1) / kGemmTile);
  gemm64Kernel<<<grid, block, 0, s>>>(A, B, C, M, N, K);
  return cudaGetLastError();
}

}  // namespace esmm::gpu
