// ESMM for prefill-sized M on the FP32 pipes: a thread block owns a BM×BN tile of C; each warp owns
// one 32×32 block (one A tile × one B tile), so a warp's joint pattern covers exactly the C it computes.
//
// Per K chunk (kChunkSlices slices, so K is unbounded) the block first computes the joint pattern of
// every warp for every slice into shared memory and compacts the slices any warp needs into a list;
// the pipelined main loop then walks only that list, so a slice the whole block skips costs neither
// its loads nor its barrier. Within a loaded slice, a warp whose joint is 0 skips it, and clear
// joint bits skip their k. An A tile (or B tile) no warp of the block needs in a slice is not loaded.
// Copies are cp.async with zero fill (ragged edges), kStages deep, kGroup slices per barrier.
#include "common.cuh"
#include "variants.cuh"

namespace esmm {
namespace {

constexpr int kChunkSlices = 512;  // pattern staging granularity along K (4096 k)

template <int kWarpsM, int kWarpsN, int kGroup, int kStages>
struct TiledConfig {
  static constexpr int BM = 32 * kWarpsM;
  static constexpr int BN = 32 * kWarpsN;
  static constexpr int kWarps = kWarpsM * kWarpsN;
  static constexpr int kThreads = 32 * kWarps;
  // Row strides padded by 4 floats: the transposed 4-byte A stores (8 k × 4 m per warp) and the
  // 16-byte fragment reads both stay free of bank conflicts, and rows stay 16-byte aligned.
  static constexpr int kAStride = BM + 4;
  static constexpr int kBStride = BN + 4;
  static constexpr int kASliceFloats = kBK * kAStride;
  static constexpr int kBSliceFloats = kBK * kBStride;
  static constexpr int kStageFloats = kGroup * (kASliceFloats + kBSliceFloats);
  static constexpr size_t kJointBytes = static_cast<size_t>(kChunkSlices) * kWarps;
  static constexpr size_t kFlagsOffset = kJointBytes;
  static constexpr size_t kListOffset = kFlagsOffset + kChunkSlices * sizeof(uint16_t);
  static constexpr size_t kCountOffset = kListOffset + kChunkSlices * sizeof(uint32_t);
  static constexpr size_t kPatternBytes = kCountOffset + 16;
  static constexpr size_t kSmemBytes = kPatternBytes + static_cast<size_t>(kStages) * kStageFloats * sizeof(float);
  static_assert(kWarpsM <= 8 && kWarpsN <= 8, "need-masks hold one bit per A tile and per B tile in a byte each");
  static_assert(kStages >= 2, "cp.async pipelining needs at least two stages");
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

template <int kWarpsM, int kWarpsN, int kGroup, int kStages, int kMinBlocks, bool kVecB>
__global__ void __launch_bounds__(32 * kWarpsM * kWarpsN, kMinBlocks) tiledFfmaKernel(EsmmArgs p, bool vecC) {
  using Cfg = TiledConfig<kWarpsM, kWarpsN, kGroup, kStages>;
  extern __shared__ __align__(16) unsigned char smem[];
  uint8_t* jointS = smem;
  uint16_t* flagsS = reinterpret_cast<uint16_t*>(smem + Cfg::kFlagsOffset);
  uint32_t* listS = reinterpret_cast<uint32_t*>(smem + Cfg::kListOffset);
  int* countS = reinterpret_cast<int*>(smem + Cfg::kCountOffset);
  float* stageBase = reinterpret_cast<float*>(smem + Cfg::kPatternBytes);

  const int m0 = blockIdx.y * Cfg::BM;
  const int n0 = blockIdx.x * Cfg::BN;
  const int warp = threadIdx.x >> 5;
  const int lane = threadIdx.x & 31;
  const int wi = warp / kWarpsN;
  const int wj = warp % kWarpsN;
  // Lane tile 4 rows × 8 columns: the 8 row groups read distinct A vectors and the 4 column groups
  // distinct B vectors, so each fragment read is one shared-memory wavefront.
  const int rg = lane >> 2;
  const int cg = lane & 3;
  const int aOff = wi * 32 + rg * 4;
  const int bOff = wj * 32 + cg * 8;

  float acc[4][8];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;

  const int nks = kSlicesOf(p.K);
  for (int c0 = 0; c0 < nks; c0 += kChunkSlices) {
    const int cn = min(kChunkSlices, nks - c0);
    buildChunkPatterns<Cfg, kWarpsM, kWarpsN>(p, m0 / 32, n0 / 32, c0, cn, jointS, flagsS);
    __syncthreads();
    compactChunk(cn, flagsS, listS, countS);
    __syncthreads();
    const int n = *countS;
    const int nGroups = ceilDiv(n, kGroup);

    auto issueGroup = [&](int g) {
      float* st = stageBase + (g % kStages) * Cfg::kStageFloats;
#pragma unroll
      for (int q = 0; q < kGroup; ++q) {
        const int e = g * kGroup + q;
        if (e < n) {
          const uint32_t entry = listS[e];
          loadSlice<Cfg, kVecB>(p, m0, n0, c0 + static_cast<int>(entry & 0xFFFFu), (entry >> 16) & 0xFFu,
                                entry >> 24, st + q * Cfg::kASliceFloats,
                                st + kGroup * Cfg::kASliceFloats + q * Cfg::kBSliceFloats);
        }
      }
    };

#pragma unroll
    for (int g = 0; g < kStages - 1; ++g) {
      if (g < nGroups) issueGroup(g);
      cpAsyncCommit();
    }
    for (int g = 0; g < nGroups; ++g) {
      cpAsyncWait<kStages - 2>();
      __syncthreads();
      // The buffer refilled here was read in iteration g-1, which every thread has left.
      if (g + kStages - 1 < nGroups) issueGroup(g + kStages - 1);
      cpAsyncCommit();
      const float* st = stageBase + (g % kStages) * Cfg::kStageFloats;
#pragma unroll
      for (int q = 0; q < kGroup; ++q) {
        const int e = g * kGroup + q;
        if (e < n) {
          const uint32_t joint = jointS[(listS[e] & 0xFFFFu) * Cfg::kWarps + warp];
          if (joint != 0) {
            const float* As = st + q * Cfg::kASliceFloats + aOff;
            const float* Bs = st + kGroup * Cfg::kASliceFloats + q * Cfg::kBSliceFloats + bOff;
#pragma unroll
            for (int j = 0; j < kBK; ++j) {
              if (joint & (1u << j)) {
                const float4 a = *reinterpret_cast<const float4*>(As + j * Cfg::kAStride);
                const float4 b0 = *reinterpret_cast<const float4*>(Bs + j * Cfg::kBStride);
                const float4 b1 = *reinterpret_cast<const float4*>(Bs + j * Cfg::kBStride + 4);
                const float av[4] = {a.x, a.y, a.z, a.w};
                const float bv[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
                for (int r = 0; r < 4; ++r)
#pragma unroll
                  for (int c = 0; c < 8; ++c) acc[r][c] = fmaf(av[r], bv[c], acc[r][c]);
              }
            }
          }
        }
      }
    }
    cpAsyncWait<0>();
    // The next chunk rewrites the pattern buffers and the stages.
    __syncthreads();
  }

  const int col0 = n0 + bOff;
#pragma unroll
  for (int r = 0; r < 4; ++r) {
    const int row = m0 + aOff + r;
    if (row >= p.M) continue;
    float* out = p.C + static_cast<size_t>(row) * p.ldc + col0;
    if (vecC && col0 + 8 <= p.N) {
      reinterpret_cast<float4*>(out)[0] = make_float4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
      reinterpret_cast<float4*>(out)[1] = make_float4(acc[r][4], acc[r][5], acc[r][6], acc[r][7]);
    } else {
#pragma unroll
      for (int c = 0; c < 8; ++c) {
        if (col0 + c < p.N) out[c] = acc[r][c];
      }
    }
  }
}

template <int kWarpsM, int kWarpsN, int kGroup, int kStages, int kMinBlocks>
cudaError_t launchTiled(const EsmmArgs& p, cudaStream_t stream) {
  using Cfg = TiledConfig<kWarpsM, kWarpsN, kGroup, kStages>;
  if (const cudaError_t e = checkArgs(p); e != cudaSuccess) return e;
  const dim3 grid(ceilDiv(p.N, Cfg::BN), ceilDiv(p.M, Cfg::BM));
  if (grid.y > 65535u) return cudaErrorInvalidValue;
  const bool vecC = rowsVec4Aligned(p.C, p.ldc);
  auto kernel = rowsVec4Aligned(p.B, p.ldb) ? tiledFfmaKernel<kWarpsM, kWarpsN, kGroup, kStages, kMinBlocks, true>
                                            : tiledFfmaKernel<kWarpsM, kWarpsN, kGroup, kStages, kMinBlocks, false>;
  if (const cudaError_t e =
          cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(Cfg::kSmemBytes));
      e != cudaSuccess) {
    return e;
  }
  kernel<<<grid, Cfg::kThreads, Cfg::kSmemBytes, stream>>>(p, vecC);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launchTiledFfma128x128(const EsmmArgs& args, void*, size_t, cudaStream_t stream) {
  return launchTiled<4, 4, 2, 3, 2>(args, stream);
}

cudaError_t launchTiledFfma64x128(const EsmmArgs& args, void*, size_t, cudaStream_t stream) {
  return launchTiled<2, 4, 2, 4, 3>(args, stream);
}

cudaError_t launchTiledFfma128x64(const EsmmArgs& args, void*, size_t, cudaStream_t stream) {
  return launchTiled<4, 2, 2, 4, 3>(args, stream);
}

}  // namespace esmm
