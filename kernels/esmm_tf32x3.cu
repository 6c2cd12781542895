// ESMM on the tensor cores with float32 accuracy: each operand is split into a tf32 "big" part and
// the tf32 remainder (x = hi + lo), and big·big + big·small + small·big is summed by mma.sync
// m16n8k8 (the small·small term is below float32 rounding). Each warp owns one 32×32 block of C
// (one A tile × one B tile), 2 × 4 MMA tiles.
//
// The block machinery (joint patterns in shared memory, the compacted slice list, skipped loads and
// barriers, cp.async pipeline) is block_tile.cuh's. Per-k skipping becomes k compaction: in a group
// of kGroup slices a warp gathers the k whose joint bit is set and feeds them to the MMAs eight at a
// time, so a group with 9 set bits out of 32 costs two MMA k-steps instead of four, and unset k
// never enter the product (their values are never read, so even an Inf facing a zero column is
// skipped exactly as the CPU reference skips it).
//
// The tensor cores add into their float32 accumulator without round-to-nearest; to keep that error
// from growing with K, each group's products are summed in a fresh accumulator that is added to the
// running sum on the FP32 pipes.
#include "block_tile.cuh"
#include "variants.cuh"

namespace esmm {
namespace {

using tile::TiledConfig;

// Row padding 8: with a row stride ≡ 8 (mod 32) words, the fragment reads of 4 consecutive k × 8
// rows (or columns) fall in 32 distinct banks.
constexpr int kPadMma = 8;

__device__ __forceinline__ void mmaTf32(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  // Not volatile: the compiler may interleave independent MMAs with the loads around them.
  asm(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// x = hi + lo exactly; hi keeps the 10 explicit mantissa bits tf32 has, and the MMA reads lo's top
// 19 bits, so the pair carries 21+ significant bits.
__device__ __forceinline__ void splitTf32(float x, uint32_t& hi, uint32_t& lo) {
  const uint32_t h = __float_as_uint(x) & 0xFFFFE000u;
  hi = h;
  lo = __float_as_uint(x - __uint_as_float(h));
}

template <int kWarpsM, int kWarpsN, int kGroup, int kStages, int kMinBlocks, bool kFreshAcc, bool kVecB>
__global__ void __launch_bounds__(32 * kWarpsM * kWarpsN, kMinBlocks) tf32x3Kernel(EsmmArgs p, bool vecC) {
  using Cfg = TiledConfig<kWarpsM, kWarpsN, kGroup, kStages, kPadMma>;
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
  uint32_t* kList = reinterpret_cast<uint32_t*>(smem + Cfg::kKListOffset) + warp * 32;
  const int wm = (warp / kWarpsN) * 32;
  const int wn = (warp % kWarpsN) * 32;
  const int g = lane >> 2;  // MMA fragment row / column group
  const int t = lane & 3;   // MMA fragment k index

  float acc[2][4][4];
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.f;

  const int nks = kSlicesOf(p.K);
  for (int c0 = 0; c0 < nks; c0 += tile::kChunkSlices) {
    const int cn = min(tile::kChunkSlices, nks - c0);
    tile::buildChunkPatterns<Cfg, kWarpsM, kWarpsN>(p, m0 / 32, n0 / 32, c0, cn, jointS, flagsS);
    __syncthreads();
    tile::compactChunk(cn, flagsS, listS, countS);
    __syncthreads();
    const int n = *countS;
    const int nGroups = ceilDiv(n, kGroup);

    auto issueGroup = [&](int gi) {
      float* st = stageBase + (gi % kStages) * Cfg::kStageFloats;
#pragma unroll
      for (int q = 0; q < kGroup; ++q) {
        const int e = gi * kGroup + q;
        if (e < n) {
          const uint32_t entry = listS[e];
          tile::loadSlice<Cfg, kVecB>(p, m0, n0, c0 + static_cast<int>(entry & 0xFFFFu), (entry >> 16) & 0xFFu,
                                      entry >> 24, st + q * Cfg::kASliceFloats,
                                      st + kGroup * Cfg::kASliceFloats + q * Cfg::kBSliceFloats);
        }
      }
    };

#pragma unroll
    for (int gi = 0; gi < kStages - 1; ++gi) {
      if (gi < nGroups) issueGroup(gi);
      cpAsyncCommit();
    }
    for (int gi = 0; gi < nGroups; ++gi) {
      cpAsyncWait<kStages - 2>();
      __syncthreads();
      // The buffer refilled here was read in iteration gi-1, which every thread has left.
      if (gi + kStages - 1 < nGroups) issueGroup(gi + kStages - 1);
      cpAsyncCommit();

      uint32_t mask = 0;
#pragma unroll
      for (int q = 0; q < kGroup; ++q) {
        const int e = gi * kGroup + q;
        if (e < n) mask |= static_cast<uint32_t>(jointS[(listS[e] & 0xFFFFu) * Cfg::kWarps + warp]) << (8 * q);
      }
      if (mask == 0) continue;  // warp-level skip

      // Lane l holds bit l of the mask: a set bit records its k's shared-memory offsets (A in the
      // low half, B in the high half) at its rank among the set bits.
      if ((mask >> lane) & 1u) {
        const int q = lane >> 3, kk = lane & 7;
        const uint32_t offA = q * Cfg::kASliceFloats + kk * Cfg::kAStride;
        const uint32_t offB = q * Cfg::kBSliceFloats + kk * Cfg::kBStride;
        kList[__popc(mask & ((1u << lane) - 1u))] = offA | (offB << 16);
      }
      __syncwarp();
      const int cnt = __popc(mask);
      const float* As = stageBase + (gi % kStages) * Cfg::kStageFloats + wm + g;
      const float* Bs = stageBase + (gi % kStages) * Cfg::kStageFloats + kGroup * Cfg::kASliceFloats + wn + g;

      // Raw fragment values of one k-step (8 compacted k): A (row g, k t), (row g+8, k t), (row g,
      // k t+4), (row g+8, k t+4) per 16-row tile; B (k t, column g), (k t+4, column g) per 8 columns.
      float ra[2][4], rb[4][2];
      auto loadStep = [&](int base) {
        const bool v0 = base + t < cnt;
        const bool v1 = base + t + 4 < cnt;
        const uint32_t o0 = v0 ? kList[base + t] : 0u;
        const uint32_t o1 = v1 ? kList[base + t + 4] : 0u;
        const float* a0 = As + (o0 & 0xFFFFu);
        const float* a1 = As + (o1 & 0xFFFFu);
        const float* b0 = Bs + (o0 >> 16);
        const float* b1 = Bs + (o1 >> 16);
#pragma unroll
        for (int i = 0; i < 2; ++i) {
          ra[i][0] = v0 ? a0[16 * i] : 0.f;
          ra[i][1] = v0 ? a0[16 * i + 8] : 0.f;
          ra[i][2] = v1 ? a1[16 * i] : 0.f;
          ra[i][3] = v1 ? a1[16 * i + 8] : 0.f;
        }
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          rb[j][0] = v0 ? b0[8 * j] : 0.f;
          rb[j][1] = v1 ? b1[8 * j] : 0.f;
        }
      };

      float part[2][4][4];
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
          for (int r = 0; r < 4; ++r) part[i][j][r] = kFreshAcc ? 0.f : acc[i][j][r];

      loadStep(0);
      for (int base = 0; base < cnt; base += 8) {
        uint32_t aHi[2][4], aLo[2][4], bHi[4][2], bLo[4][2];
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
          for (int r = 0; r < 4; ++r) splitTf32(ra[i][r], aHi[i][r], aLo[i][r]);
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
          for (int r = 0; r < 2; ++r) splitTf32(rb[j][r], bHi[j][r], bLo[j][r]);
        // The next step's shared-memory reads overlap this step's MMAs.
        if (base + 8 < cnt) loadStep(base + 8);
        // Small terms first; the 8 tiles' MMAs are independent, so each chain of 3 is interleaved.
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
          for (int j = 0; j < 4; ++j) mmaTf32(part[i][j], aLo[i], bHi[j]);
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
          for (int j = 0; j < 4; ++j) mmaTf32(part[i][j], aHi[i], bLo[j]);
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
          for (int j = 0; j < 4; ++j) mmaTf32(part[i][j], aHi[i], bHi[j]);
      }
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
          for (int r = 0; r < 4; ++r) acc[i][j][r] = kFreshAcc ? acc[i][j][r] + part[i][j][r] : part[i][j][r];
      __syncwarp();  // kList is rewritten by the next group
    }
    cpAsyncWait<0>();
    // The next chunk rewrites the pattern buffers and the stages.
    __syncthreads();
  }

  // C fragment: (row g, columns 2t, 2t+1), (row g+8, same columns).
#pragma unroll
  for (int i = 0; i < 2; ++i) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = m0 + wm + 16 * i + g + 8 * h;
      if (row >= p.M) continue;
      float* out = p.C + static_cast<size_t>(row) * p.ldc;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int col = n0 + wn + 8 * j + 2 * t;
        const float x = acc[i][j][2 * h];
        const float y = acc[i][j][2 * h + 1];
        if (vecC && col + 2 <= p.N) {
          *reinterpret_cast<float2*>(out + col) = make_float2(x, y);
        } else {
          if (col < p.N) out[col] = x;
          if (col + 1 < p.N) out[col + 1] = y;
        }
      }
    }
  }
}

template <int kWarpsM, int kWarpsN, int kGroup, int kStages, int kMinBlocks, bool kFreshAcc>
cudaError_t launchTf32x3(const EsmmArgs& p, cudaStream_t stream) {
  using Cfg = TiledConfig<kWarpsM, kWarpsN, kGroup, kStages, kPadMma>;
  if (const cudaError_t e = checkArgs(p); e != cudaSuccess) return e;
  const dim3 grid(ceilDiv(p.N, Cfg::BN), ceilDiv(p.M, Cfg::BM));
  if (grid.y > 65535u) return cudaErrorInvalidValue;
  const bool vecC = rowsVec4Aligned(p.C, p.ldc);
  auto kernel = rowsVec4Aligned(p.B, p.ldb) ? tf32x3Kernel<kWarpsM, kWarpsN, kGroup, kStages, kMinBlocks, kFreshAcc, true>
                                            : tf32x3Kernel<kWarpsM, kWarpsN, kGroup, kStages, kMinBlocks, kFreshAcc, false>;
  if (const cudaError_t e =
          cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(Cfg::kSmemBytes));
      e != cudaSuccess) {
    return e;
  }
  kernel<<<grid, Cfg::kThreads, Cfg::kSmemBytes, stream>>>(p, vecC);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launchTf32x3_128x128(const EsmmArgs& args, void*, size_t, cudaStream_t stream) {
  return launchTf32x3<4, 4, 4, 4, 1, true>(args, stream);
}

cudaError_t launchTf32x3_128x64(const EsmmArgs& args, void*, size_t, cudaStream_t stream) {
  return launchTf32x3<4, 2, 4, 3, 2, true>(args, stream);
}

cudaError_t launchTf32x3_64x128(const EsmmArgs& args, void*, size_t, cudaStream_t stream) {
  return launchTf32x3<2, 4, 4, 3, 2, true>(args, stream);
}

cudaError_t launchTf32x3_128x128Direct(const EsmmArgs& args, void*, size_t, cudaStream_t stream) {
  return launchTf32x3<4, 4, 4, 4, 1, false>(args, stream);
}

}  // namespace esmm
