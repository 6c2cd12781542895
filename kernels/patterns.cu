// Pattern kernels: A patterns per call (timed apart from the GEMM), B patterns for the offline cache.
#include "common.cuh"
#include "esmm.h"

namespace esmm {
namespace {

// A patterns: one thread per (slice, group of 8 rows); the 4 row groups of a tile meet in shared
// memory. A warp reads 32 consecutive slices of one row: 1 KB contiguous, two 16-byte loads per
// lane per row, all 16 of a thread's loads issued before the first test so the 64 MB of a
// 4096×4096 A stream at full bandwidth.
constexpr int kAPatSlices = 128;  // slices per block
constexpr int kAPatRowGroups = 4;  // 4 × 8 rows = one 32-row tile

template <bool kVec>
__global__ void __launch_bounds__(kAPatSlices* kAPatRowGroups)
    aPatternKernel(const float* __restrict__ A, int M, int K, int lda, uint8_t* __restrict__ aPat) {
  __shared__ uint8_t partial[kAPatRowGroups][kAPatSlices];
  const int local = threadIdx.x % kAPatSlices;
  const int group = threadIdx.x / kAPatSlices;
  const int s = blockIdx.x * kAPatSlices + local;
  const int nks = kSlicesOf(K);
  const int tile = blockIdx.y;
  const int r0 = tile * kTile + group * 8;
  uint32_t bits = 0;
  if (s < nks) {
    const int k0 = s * kBK;
    if (kVec && k0 + kBK <= K) {
      float4 v[8][2];
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        const int r = r0 + i;
        if (r < M) {
          const float4* p = reinterpret_cast<const float4*>(A + static_cast<size_t>(r) * lda + k0);
          v[i][0] = __ldcs(p);
          v[i][1] = __ldcs(p + 1);
        } else {
          v[i][0] = v[i][1] = make_float4(0.f, 0.f, 0.f, 0.f);
        }
      }
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        // `!= 0` is true for NaN: NaN counts as nonzero.
        bits |= (v[i][0].x != 0.f ? 1u : 0u) | (v[i][0].y != 0.f ? 2u : 0u) | (v[i][0].z != 0.f ? 4u : 0u) |
                (v[i][0].w != 0.f ? 8u : 0u) | (v[i][1].x != 0.f ? 16u : 0u) | (v[i][1].y != 0.f ? 32u : 0u) |
                (v[i][1].z != 0.f ? 64u : 0u) | (v[i][1].w != 0.f ? 128u : 0u);
      }
    } else {
      const int kn = min(kBK, K - k0);
      for (int i = 0; i < 8; ++i) {
        const int r = r0 + i;
        if (r >= M) break;
        const float* row = A + static_cast<size_t>(r) * lda + k0;
        for (int j = 0; j < kn; ++j) bits |= (row[j] != 0.f ? 1u : 0u) << j;
      }
    }
  }
  partial[group][local] = static_cast<uint8_t>(bits);
  __syncthreads();
  if (group == 0 && s < nks) {
    uint32_t all = 0;
#pragma unroll
    for (int g = 0; g < kAPatRowGroups; ++g) all |= partial[g][local];
    aPat[static_cast<size_t>(tile) * nks + s] = static_cast<uint8_t>(all);
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
  const dim3 block(kAPatSlices * kAPatRowGroups);
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
