// What the decode family (esmm_decode.cu, esmm_decode_wide.cu) shares: the block shape, the A rows
// staged transposed in shared memory, the meeting of a B tile's warps at the end, and the K split
// (partial sums in the workspace, added by launchSumSplits).
#pragma once
#include <cstddef>

#include "common.cuh"
#include "variants.cuh"

namespace esmm::decode {

constexpr int kTilesN = 4;   // B tiles (32 columns each) per block
constexpr int kGroupsK = 2;  // warps sharing one B tile, interleaved over slices
constexpr int kWarps = kTilesN * kGroupsK;
constexpr int kThreads = 32 * kWarps;
constexpr int kMaxSplits = 16;

// A rows m0.. (kRows of them) for kSubSlices slices from k0, transposed: As[k][row], so a row-vector
// of one k is a broadcast 16-byte read. Zero past M and K.
template <int kRows, int kSubSlices, bool kVecA>
__device__ __forceinline__ void stageATransposed(const EsmmArgs& p, float* As, int m0, int k0) {
  if constexpr (kVecA) {
    // Lanes walk rows fastest: a warp's 4-byte transposed stores hit distinct banks.
    for (int idx = threadIdx.x; idx < kRows * kSubSlices * 2; idx += kThreads) {
      const int r = idx % kRows;
      const int k4 = (idx / kRows) * 4;
      const int row = m0 + r;
      const int k = k0 + k4;
      float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
      if (row < p.M) {
        const float* src = p.A + static_cast<size_t>(row) * p.lda + k;
        if (k + 4 <= p.K) {
          v = __ldg(reinterpret_cast<const float4*>(src));
        } else {
          if (k < p.K) v.x = src[0];
          if (k + 1 < p.K) v.y = src[1];
          if (k + 2 < p.K) v.z = src[2];
        }
      }
      As[(k4 + 0) * kRows + r] = v.x;
      As[(k4 + 1) * kRows + r] = v.y;
      As[(k4 + 2) * kRows + r] = v.z;
      As[(k4 + 3) * kRows + r] = v.w;
    }
  } else {
    for (int idx = threadIdx.x; idx < kRows * kSubSlices * kBK; idx += kThreads) {
      const int r = idx % kRows;
      const int kk = idx / kRows;
      const int row = m0 + r;
      const int k = k0 + kk;
      As[kk * kRows + r] = (row < p.M && k < p.K) ? p.A[static_cast<size_t>(row) * p.lda + k] : 0.f;
    }
  }
}

// The end of a block: the warps of the same B tile sum through shared memory (`red`, the A buffer,
// at least (kGroupsK - 1) * kRows * kTilesN * 32 floats) and group 0 writes its rows of C, or of
// split `split`'s partial sums when `partial` is set.
template <int kRows>
__device__ __forceinline__ void reduceAndStore(const EsmmArgs& p, const float (&acc)[kRows], float* red, int kg,
                                               int tileLocal, int lane, bool colValid, int m0, int col, unsigned split,
                                               float* partial) {
  __syncthreads();
  if (kg > 0) {
#pragma unroll
    for (int r = 0; r < kRows; ++r) red[((kg - 1) * kRows + r) * (kTilesN * 32) + tileLocal * 32 + lane] = acc[r];
  }
  __syncthreads();
  if (kg == 0 && colValid) {
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      float v = acc[r];
#pragma unroll
      for (int g = 1; g < kGroupsK; ++g) v += red[((g - 1) * kRows + r) * (kTilesN * 32) + tileLocal * 32 + lane];
      const int row = m0 + r;
      if (row < p.M) {
        if (partial != nullptr) {
          partial[(static_cast<size_t>(split) * p.M + row) * p.N + col] = v;
        } else {
          p.C[static_cast<size_t>(row) * p.ldc + col] = v;
        }
      }
    }
  }
}

// Splits launched when `wanted` are asked for over `subChunks`: each split takes
// ceil(subChunks / wanted) sub-chunks, so fewer may be needed.
inline int launchedSplits(int subChunks, int wanted) { return ceilDiv(subChunks, ceilDiv(subChunks, wanted)); }

// Workspace for `splits` partial results of an M×N product (none with one split).
inline size_t partialBytes(int splits, int M, int N) {
  return splits > 1 ? static_cast<size_t>(splits) * M * N * sizeof(float) : 0;
}

// The partial-sum buffer of `splits` splits in the workspace: nullptr with one split;
// cudaErrorInvalidValue when the workspace is missing or too small.
inline cudaError_t partialBuffer(const EsmmArgs& p, int splits, void* workspace, size_t workspaceBytes,
                                 float** partial) {
  *partial = nullptr;
  if (splits > 1) {
    if (workspace == nullptr || workspaceBytes < static_cast<size_t>(splits) * p.M * p.N * sizeof(float)) {
      return cudaErrorInvalidValue;
    }
    *partial = static_cast<float*>(workspace);
  }
  return cudaSuccess;
}

// After the row kernel's launch `e`: with K splits, their sum into C.
inline cudaError_t finishSplits(cudaError_t e, const EsmmArgs& p, int splits, const float* partial,
                                cudaStream_t stream) {
  if (e != cudaSuccess || partial == nullptr) return e;
  return launchSumSplits(partial, splits, p.M, p.N, p.C, p.ldc, stream);
}

}  // namespace esmm::decode
