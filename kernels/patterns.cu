// Pattern kernels: A patterns per call (timed apart from the GEMM), B patterns for the offline cache.
#include "common.cuh"
#include "esmm.h"

namespace esmm {
namespace {

// A patterns: a thread tests one 4-column group of 16 rows (one half tile); lane pairs join into a
// slice byte and the two halves meet in shared memory. A warp's load instruction reads 512
// contiguous bytes of one row, and a thread's 16 loads are all issued before the first test, so
// the 64 MB of a 4096×4096 A stream at full bandwidth.
constexpr int kAPatSlices = 128;               // slices per block
constexpr int kAPatCols = kAPatSlices * 2;     // 4-column groups per block
constexpr int kAPatHalves = 2;                 // 2 × 16 rows = one 32-row tile
constexpr int kAPatRows = kTile / kAPatHalves;

__device__ __forceinline__ uint32_t nonzeroBits(float4 v) {
  // `!= 0` is true for NaN: NaN counts as nonzero.
  return (v.x != 0.f ? 1u : 0u) | (v.y != 0.f ? 2u : 0u) | (v.z != 0.f ? 4u : 0u) | (v.w != 0.f ? 8u : 0u);
}

template <bool kVec>
__global__ void __launch_bounds__(kAPatCols* kAPatHalves)
    aPatternKernel(const float* __restrict__ A, int M, int K, int lda, uint8_t* __restrict__ aPat) {
  allowDependentLaunch();
  __shared__ uint8_t partial[kAPatHalves][kAPatSlices];
  const int c = threadIdx.x % kAPatCols;
  const int half = threadIdx.x / kAPatCols;
  const int k = (blockIdx.x * kAPatCols + c) * 4;
  const int tile = blockIdx.y;
  const int r0 = tile * kTile + half * kAPatRows;
  float4 v[kAPatRows];
#pragma unroll
  for (int i = 0; i < kAPatRows; ++i) {
    const int r = r0 + i;
    v[i] = make_float4(0.f, 0.f, 0.f, 0.f);
    if (r < M && k < K) {
      const float* src = A + static_cast<size_t>(r) * lda + k;
      if (kVec && k + 4 <= K) {
        v[i] = __ldcs(reinterpret_cast<const float4*>(src));
      } else {
        v[i].x = src[0];
        if (k + 1 < K) v[i].y = src[1];
        if (k + 2 < K) v[i].z = src[2];
        if (k + 3 < K) v[i].w = src[3];
      }
    }
  }
  uint32_t bits = 0;
#pragma unroll
  for (int i = 0; i < kAPatRows; ++i) bits |= nonzeroBits(v[i]);
  const uint32_t upper = __shfl_down_sync(0xFFFFFFFFu, bits, 1);
  if ((c & 1) == 0) partial[half][c >> 1] = static_cast<uint8_t>(bits | (upper << 4));
  __syncthreads();
  const int nks = kSlicesOf(K);
  const int s = blockIdx.x * kAPatSlices + static_cast<int>(threadIdx.x);
  if (threadIdx.x < kAPatSlices && s < nks) {
    aPat[static_cast<size_t>(tile) * nks + s] = static_cast<uint8_t>(partial[0][threadIdx.x] | partial[1][threadIdx.x]);
  }
}

// B patterns: warp w of a block tests row s*8+w of one 32-column tile (a coalesced 128-byte row
// segment); the 8 warps' ballots form the slice's byte. Not on the timed path.
__global__ void __launch_bounds__(256)
    bPatternKernel(const float* __restrict__ B, int K, int N, int ldb, uint8_t* __restrict__ bPat) {
  __shared__ uint32_t rowBits[8];
  const int lane = threadIdx.x % 32;
  const int w = threadIdx.x / 32;
  const int tile = blockIdx.y;
  const int nks = kSlicesOf(K);
  const int col = tile * kTile + lane;
  for (int s = blockIdx.x; s < nks; s += gridDim.x) {
    const int k = s * kBK + w;
    const bool nz = k < K && col < N && B[static_cast<size_t>(k) * ldb + col] != 0.f;
    const uint32_t any = __ballot_sync(0xFFFFFFFFu, nz) != 0 ? 1u : 0u;
    if (lane == 0) rowBits[w] = any << w;
    __syncthreads();
    if (threadIdx.x == 0) {
      uint32_t b = 0;
#pragma unroll
      for (int i = 0; i < 8; ++i) b |= rowBits[i];
      bPat[static_cast<size_t>(tile) * nks + s] = static_cast<uint8_t>(b);
    }
    __syncthreads();
  }
}

}  // namespace

cudaError_t launchAPatterns(const float* A, int M, int K, int lda, uint8_t* aPat, cudaStream_t stream) {
  if (M < 1 || K < 1 || lda < K) return cudaErrorInvalidValue;
  const dim3 grid(ceilDiv(kSlicesOf(K), kAPatSlices), tilesOf(M));
  if (grid.y > 65535u) return cudaErrorInvalidValue;
  const dim3 block(kAPatCols * kAPatHalves);
  if (rowsVec4Aligned(A, lda)) {
    aPatternKernel<true><<<grid, block, 0, stream>>>(A, M, K, lda, aPat);
  } else {
    aPatternKernel<false><<<grid, block, 0, stream>>>(A, M, K, lda, aPat);
  }
  return cudaGetLastError();
}

cudaError_t launchBPatterns(const float* B, int K, int N, int ldb, uint8_t* bPat, cudaStream_t stream) {
  if (N < 1 || K < 1 || ldb < N) return cudaErrorInvalidValue;
  const int nks = kSlicesOf(K);
  const dim3 grid(nks < 1024 ? nks : 1024, tilesOf(N));
  if (grid.y > 65535u) return cudaErrorInvalidValue;
  bPatternKernel<<<grid, 256, 0, stream>>>(B, K, N, ldb, bPat);
  return cudaGetLastError();
}

}  // namespace esmm
