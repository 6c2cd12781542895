// Block-level machinery shared by the tiled ESMM kernels: per K chunk, the joint patterns of every
// warp of the block in shared memory and the compacted list of the slices any warp needs; the
// cp.async copies of one listed slice, which skip the A tiles and B tiles no warp of the block needs.
#pragma once
#include "common.cuh"
#include "esmm.h"

namespace esmm::tile {

constexpr int kChunkSlices = 512;  // pattern staging granularity along K (4096 k)

// kPad: floats added to each shared-memory row so the kernel's fragment reads avoid bank conflicts.
template <int kWarpsM, int kWarpsN, int kGroup, int kStages, int kPad>
struct TiledConfig {
  static constexpr int BM = 32 * kWarpsM;
  static constexpr int BN = 32 * kWarpsN;
  static constexpr int kWarps = kWarpsM * kWarpsN;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kAStride = BM + kPad;
  static constexpr int kBStride = BN + kPad;
  static constexpr int kASliceFloats = kBK * kAStride;
  static constexpr int kBSliceFloats = kBK * kBStride;
  static constexpr int kStageFloats = kGroup * (kASliceFloats + kBSliceFloats);
  static constexpr size_t kJointBytes = static_cast<size_t>(kChunkSlices) * kWarps;
  static constexpr size_t kFlagsOffset = kJointBytes;
  static constexpr size_t kListOffset = kFlagsOffset + kChunkSlices * sizeof(uint16_t);
  static constexpr size_t kCountOffset = kListOffset + kChunkSlices * sizeof(uint32_t);
  // Per warp, the positions of its set joint bits within a group of slices.
  static constexpr size_t kKListOffset = kCountOffset + 16;
  static constexpr size_t kPatternBytes = kKListOffset + static_cast<size_t>(kWarps) * 32 * sizeof(uint32_t);
  static constexpr size_t kSmemBytes = kPatternBytes + static_cast<size_t>(kStages) * kStageFloats * sizeof(float);
  static_assert(kWarpsM <= 8 && kWarpsN <= 8, "need-masks hold one bit per A tile and per B tile in a byte each");
  static_assert(kStages >= 2, "cp.async pipelining needs at least two stages");
  static_assert(kPad % 4 == 0, "rows must stay 16-byte aligned");
  static_assert(kGroup * kBK <= 32, "a group's joint bits fit one 32-bit mask");
  static_assert(kPatternBytes % 16 == 0, "stage buffers must start 16-byte aligned for cp.async 16");
  static_assert(kChunkSlices <= 65536, "list entries keep the slice index in 16 bits");
};

// Joint patterns of every warp for slices [c0, c0+cn) into jointS, and per slice the A tiles and
// B tiles some warp needs (bits 0-7 and 8-15 of flagsS; 0 when the whole block skips the slice).
template <class Cfg, int kWarpsM, int kWarpsN>
__device__ __forceinline__ void buildChunkPatterns(const EsmmArgs& p, int mTile0, int nTile0, int c0, int cn,
                                                   uint8_t* jointS, uint16_t* flagsS) {
  const int nks = kSlicesOf(p.K);
  const int mTiles = tilesOf(p.M);
  const int nTiles = tilesOf(p.N);
  for (int i = threadIdx.x; i < cn; i += Cfg::kThreads) {
    const int s = c0 + i;
    const uint32_t kmask = sliceKMask(s, p.K);
    uint32_t a[kWarpsM], b[kWarpsN];
    uint32_t orA = 0, orB = 0;
#pragma unroll
    for (int wi = 0; wi < kWarpsM; ++wi) {
      const int t = mTile0 + wi;
      a[wi] = t < mTiles ? (p.aPat[static_cast<size_t>(t) * nks + s] & kmask) : 0u;
      orA |= a[wi];
    }
#pragma unroll
    for (int wj = 0; wj < kWarpsN; ++wj) {
      const int t = nTile0 + wj;
      b[wj] = t < nTiles ? (p.bPat[static_cast<size_t>(t) * nks + s] & kmask) : 0u;
      orB |= b[wj];
    }
    uint32_t flags = 0;
#pragma unroll
    for (int wi = 0; wi < kWarpsM; ++wi) {
      if (a[wi] & orB) flags |= 1u << wi;
#pragma unroll
      for (int wj = 0; wj < kWarpsN; ++wj) {
        jointS[i * Cfg::kWarps + wi * kWarpsN + wj] = static_cast<uint8_t>(a[wi] & b[wj]);
      }
    }
#pragma unroll
    for (int wj = 0; wj < kWarpsN; ++wj) {
      if (b[wj] & orA) flags |= 1u << (8 + wj);
    }
    flagsS[i] = static_cast<uint16_t>(flags);
  }
}

// Warp 0 packs the needed slices of the chunk into listS (entry: local slice | flags << 16).
__device__ __forceinline__ void compactChunk(int cn, const uint16_t* flagsS, uint32_t* listS, int* countS) {
  if (threadIdx.x >= 32) return;
  const int lane = threadIdx.x;
  int base = 0;
  for (int i0 = 0; i0 < cn; i0 += 32) {
    const int i = i0 + lane;
    const uint32_t f = i < cn ? flagsS[i] : 0u;
    const uint32_t ballot = __ballot_sync(0xFFFFFFFFu, f != 0);
    if (f != 0) listS[base + __popc(ballot & ((1u << lane) - 1u))] = static_cast<uint32_t>(i) | (f << 16);
    base += __popc(ballot);
  }
  if (lane == 0) *countS = base;
}

// Issues the cp.async copies of one listed slice: A transposed to As[k][m] (4-byte copies, any
// lda), B as rows Bs[k][n] (16-byte copies when every row is 16-byte aligned).
template <class Cfg, bool kVecB>
__device__ __forceinline__ void loadSlice(const EsmmArgs& p, int m0, int n0, int s, uint32_t needA, uint32_t needB,
                                          float* As, float* Bs) {
  const int k0 = s * kBK;
#pragma unroll
  for (int it = 0; it < ceilDiv(Cfg::BM * kBK, Cfg::kThreads); ++it) {
    const int idx = threadIdx.x + it * Cfg::kThreads;
    if (idx < Cfg::BM * kBK) {
      const int m = idx >> 3;
      const int kk = idx & 7;
      if ((needA >> (m >> 5)) & 1u) {
        const int row = m0 + m;
        const int k = k0 + kk;
        const bool valid = row < p.M && k < p.K;
        const float* src = valid ? p.A + static_cast<size_t>(row) * p.lda + k : p.A;
        cpAsync4(As + kk * Cfg::kAStride + m, src, valid);
      }
    }
  }
  if constexpr (kVecB) {
    constexpr int kChunksPerRow = Cfg::BN / 4;
#pragma unroll
    for (int it = 0; it < ceilDiv(kBK * kChunksPerRow, Cfg::kThreads); ++it) {
      const int idx = threadIdx.x + it * Cfg::kThreads;
      if (idx < kBK * kChunksPerRow) {
        const int kk = idx / kChunksPerRow;
        const int c = (idx % kChunksPerRow) * 4;
        if ((needB >> (c >> 5)) & 1u) {
          const int col = n0 + c;
          const int k = k0 + kk;
          const int bytes = k < p.K ? 4 * max(0, min(4, p.N - col)) : 0;
          const float* src = bytes > 0 ? p.B + static_cast<size_t>(k) * p.ldb + col : p.B;
          cpAsync16(Bs + kk * Cfg::kBStride + c, src, bytes);
        }
      }
    }
  } else {
#pragma unroll
    for (int it = 0; it < ceilDiv(kBK * Cfg::BN, Cfg::kThreads); ++it) {
      const int idx = threadIdx.x + it * Cfg::kThreads;
      if (idx < kBK * Cfg::BN) {
        const int kk = idx / Cfg::BN;
        const int c = idx % Cfg::BN;
        if ((needB >> (c >> 5)) & 1u) {
          const int col = n0 + c;
          const int k = k0 + kk;
          const bool valid = k < p.K && col < p.N;
          const float* src = valid ? p.B + static_cast<size_t>(k) * p.ldb + col : p.B;
          cpAsync4(Bs + kk * Cfg::kBStride + c, src, valid);
        }
      }
    }
  }
}

}  // namespace esmm::tile
