// ESMM for prefill-sized M on the FP32 pipes: a thread block owns a BM×BN tile of C; each warp owns
// one 32×32 block (one A tile × one B tile), so a warp's joint pattern covers exactly the C it computes.
//
// Per K chunk (kChunkSlices slices, so K is unbounded) the block first computes the joint pattern of
// every warp for every slice into shared memory and compacts the slices any warp needs into a list;
// the pipelined main loop then walks only that list, so a slice the whole block skips costs neither
// its loads nor its barrier. Within a loaded slice, a warp whose joint is 0 skips it, and clear
// joint bits skip their k. An A tile (or B tile) no warp of the block needs in a slice is not loaded.
// Copies are cp.async with zero fill (ragged edges), kStages deep, kGroup slices per barrier.
#include "block_tile.cuh"
#include "experimental.cuh"

namespace esmm {
namespace {

using tile::TiledConfig;

// Row padding 4: the transposed 4-byte A stores (8 k × 4 m per warp) and the 16-byte fragment
// reads both stay free of bank conflicts.
constexpr int kPadFfma = 4;

template <int kWarpsM, int kWarpsN, int kGroup, int kStages, int kMinBlocks, bool kVecB>
__global__ void __launch_bounds__(32 * kWarpsM * kWarpsN, kMinBlocks) tiledFfmaKernel(EsmmArgs p, bool vecC) {
  using Cfg = TiledConfig<kWarpsM, kWarpsN, kGroup, kStages, kPadFfma>;
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
  for (int c0 = 0; c0 < nks; c0 += tile::kChunkSlices) {
    const int cn = min(tile::kChunkSlices, nks - c0);
    tile::buildChunkPatterns<Cfg, kWarpsM, kWarpsN>(p, m0 / 32, n0 / 32, c0, cn, jointS, flagsS);
    __syncthreads();
    tile::compactChunk(cn, flagsS, listS, countS);
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
          tile::loadSlice<Cfg, kVecB>(p, m0, n0, c0 + static_cast<int>(entry & 0xFFFFu), (entry >> 16) & 0xFFu,
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
  using Cfg = TiledConfig<kWarpsM, kWarpsN, kGroup, kStages, kPadFfma>;
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

cudaError_t launchTiledFfma64x128(const EsmmArgs& args, void*, size_t, cudaStream_t stream) {
  return launchTiled<2, 4, 2, 4, 3>(args, stream);
}

}  // namespace esmm
