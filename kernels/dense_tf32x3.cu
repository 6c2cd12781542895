// dense-tf32x3: the dense float32-accurate baseline on the tensor cores. No pattern is read: every
// k of every tile is multiplied. Each operand is split into a tf32 big part and the tf32 remainder
// (x = hi + lo) and lo·hi + hi·lo + hi·hi is summed by mma.sync m16n8k8 (mma_tf32.cuh's MMA and
// splits) into short-lived partial sums that join an FP32 running sum after every k-tile (the
// tensor cores' accumulator truncates; flushing every 8 k-steps instead of 16 took the error at
// 4096³ from 1.3e-6 to 8e-7 with the truncating split, 3e-7 with the rounding one).
//
// Default configuration (the fastest measured, docs/kernel-notes.md): block tile 128×128×64, 8
// warps as 2 (M) × 4 (N), each warp 64×32 of C (4 × 4 MMA tiles); a 3-stage cp.async pipeline
// with one barrier per k-tile; A fragments by ldmatrix.x4 (one instruction for the four registers
// of a 16×8 tf32 tile, read as b16 pairs); grouped block order (8 block rows per group) so the
// blocks running together share A and B panels in L2. The 64-deep k-tile needs 204 KiB of shared
// memory; where a block cannot have it (A100: 163 KiB) the 128×128×32 3-stage configuration runs.
//
// Shared memory per stage: A as 128 rows of BK + 4 floats (the fragment reads and the ldmatrix
// rows of 8 rows × 4 consecutive k fall in 32 distinct banks), B as BK k-rows of 136 floats (128 n
// + 8 pad: 4 consecutive k × 8 columns fall in 32 distinct banks); rows stay 16-byte aligned for
// cp.async 16 and ldmatrix. Any M, N, K, lda, ldb, ldc: edge chunks are copied with a byte count
// (the rest zero-filled), and the 16-byte copies are used only when the operand's base and leading
// dimension keep every row 16-byte aligned (else 4-byte copies).
#include <algorithm>

#include "common.cuh"
#include "esmm.h"
#include "mma_tf32.cuh"
#include "variants.cuh"
#ifdef ESMM_WITH_SM90A
#include "wgmma_tf32x3.h"
#endif

namespace esmm {
namespace {

constexpr int kBM = 128;
constexpr int kBN = 128;
constexpr int kThreads = 256;
constexpr int kWarpM = 64;  // warp tile
constexpr int kWarpN = 32;
constexpr int kMT = kWarpM / 16;  // MMA tiles per warp along M
constexpr int kNT = kWarpN / 8;   // and along N
constexpr int kBStride = kBN + 8;

// One configuration: kBK k per block tile (32 or 64), kStages pipeline depth, kRn the rounding
// split (else the truncating one), kFlushTiles k-tiles between two flushes of the MMA partial sums.
// Splits: kSplitTrunc (mma::splitTf32), kSplitRn (mma::splitTf32Rn). (A third, through
// cvt.rna.tf32.f32, measured 10-15 % slower than either on the H200 and was dropped.)
enum Split { kSplitTrunc = 0, kSplitRn = 1 };

template <int kStages, int kBK_, int kRn, int kFlushTiles>
struct DenseCfg {
  static constexpr int kBKT = kBK_;
  static constexpr int kAStride = kBKT + 4;
  static constexpr int kAStageFloats = kBM * kAStride;
  static constexpr int kBStageFloats = kBKT * kBStride;
  static constexpr int kStageFloats = kAStageFloats + kBStageFloats;
  static constexpr size_t kSmemBytes = static_cast<size_t>(kStages) * kStageFloats * sizeof(float);
  static_assert(kBKT == 32 || kBKT == 64, "k-tile of 32 or 64");
  static_assert((kAStride * 4) % 16 == 0 && (kBStride * 4) % 16 == 0, "rows must stay 16-byte aligned");
  static_assert(kFlushTiles * kBKT / 8 <= mma::kFlushSteps, "flush at least every kFlushSteps k-steps");
};

// Copies k-tile (k0) of A (rows m0…m0+127) and B (columns n0…n0+127) into one stage.
template <class Cfg, bool kVecA, bool kVecB>
__device__ __forceinline__ void loadTile(const DenseArgs& p, int m0, int n0, int k0, float* As, float* Bs) {
  constexpr int kBKT = Cfg::kBKT, kAStride = Cfg::kAStride;
  constexpr int kAChunks = kBKT / 4;  // 16-byte chunks of one A row
  const int tid = threadIdx.x;
  // A: 128 rows × kAChunks chunks of 4 k; thread tid copies chunk tid % kAChunks of every
  // (kThreads / kAChunks)-th row.
#pragma unroll
  for (int i = 0; i < kBM * kAChunks / kThreads; ++i) {
    const int r = tid / kAChunks + (kThreads / kAChunks) * i;
    const int c = (tid % kAChunks) * 4;
    const int row = m0 + r;
    const int k = k0 + c;
    float* dst = As + r * kAStride + c;
    const float* src = p.A + static_cast<size_t>(row) * p.lda + k;
    if (kVecA) {
      const int bytes = row < p.M ? 4 * max(0, min(4, p.K - k)) : 0;
      cpAsync16(dst, bytes > 0 ? src : p.A, bytes);
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const bool valid = row < p.M && k + j < p.K;
        cpAsync4(dst + j, valid ? src + j : p.A, valid);
      }
    }
  }
  // B: kBKT k-rows × 32 chunks of 4 columns; thread tid copies chunk tid % 32 of k-rows tid / 32 + 8 i.
#pragma unroll
  for (int i = 0; i < kBKT * 32 / kThreads; ++i) {
    const int r = tid / 32 + 8 * i;
    const int c = (tid % 32) * 4;
    const int k = k0 + r;
    const int col = n0 + c;
    float* dst = Bs + r * kBStride + c;
    const float* src = p.B + static_cast<size_t>(k) * p.ldb + col;
    if (kVecB) {
      const int bytes = k < p.K ? 4 * max(0, min(4, p.N - col)) : 0;
      cpAsync16(dst, bytes > 0 ? src : p.B, bytes);
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const bool valid = k < p.K && col + j < p.N;
        cpAsync4(dst + j, valid ? src + j : p.B, valid);
      }
    }
  }
}

// A fragments of one m16n8k8 step for one 16-row MMA tile in one ldmatrix.x4 (b16 view: matrix q
// of the four is rows (q & 1) * 8 … +7, k (q >> 1) * 4 … +3, and lane l receives the 32-bit word
// (row l / 4, k l % 4) of each, which is exactly a0…a3). `row` is this lane's row address.
__device__ __forceinline__ void ldmatrixA(uint32_t (&a)[4], const float* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(a[0]), "=r"(a[1]), "=r"(a[2]), "=r"(a[3])
               : "r"(smemAddr(row)));
}

template <int kStages, class Cfg, int kRn, int kFlushTiles, bool kLdm, bool kVecA, bool kVecB>
__global__ void __launch_bounds__(kThreads, 1) denseTf32x3Kernel(const DenseArgs p) {
  constexpr int kBKT = Cfg::kBKT, kAStride = Cfg::kAStride, kAStageFloats = Cfg::kAStageFloats;
  constexpr int kStageFloats = Cfg::kStageFloats;
  extern __shared__ __align__(16) float smem[];
  const int mBlocks = ceilDiv(p.M, kBM);
  const int nBlocks = ceilDiv(p.N, kBN);
  // Grouped order (common.cuh): a few block rows walk the block columns together.
  const int2 blk = groupedBlock(blockIdx.x, mBlocks, nBlocks);
  const int mb = blk.x;
  const int nb = blk.y;
  const int m0 = mb * kBM, n0 = nb * kBN;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  const int wm = warp / 4, wn = warp % 4;  // warp's 64×32 block of C

  float acc[kMT][kNT][4], part[kMT][kNT][4];
#pragma unroll
  for (int i = 0; i < kMT; ++i)
#pragma unroll
    for (int j = 0; j < kNT; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r) acc[i][j][r] = part[i][j][r] = 0.f;

  const int kTiles = ceilDiv(p.K, kBKT);
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < kTiles) {
      float* st = smem + s * kStageFloats;
      loadTile<Cfg, kVecA, kVecB>(p, m0, n0, s * kBKT, st, st + kAStageFloats);
    }
    cpAsyncCommit();
  }

  int sinceFlush = 0;
  for (int kt = 0; kt < kTiles; ++kt) {
    cpAsyncWait<kStages - 2>();
    __syncthreads();  // tile kt is in place for every thread; the stage of tile kt - 1 is free
    {
      const int next = kt + kStages - 1;
      if (next < kTiles) {
        float* st = smem + (next % kStages) * kStageFloats;
        loadTile<Cfg, kVecA, kVecB>(p, m0, n0, next * kBKT, st, st + kAStageFloats);
      }
      cpAsyncCommit();
    }
    const float* As = smem + (kt % kStages) * kStageFloats + (wm * kWarpM + g) * kAStride + t;
    const float* Bs = smem + (kt % kStages) * kStageFloats + kAStageFloats + t * kBStride + wn * kWarpN + g;
    // ldmatrix row address of this lane: row (lane >> 3 & 1) * 8 + lane % 8, k (lane >> 4) * 4.
    const float* Al = smem + (kt % kStages) * kStageFloats + (wm * kWarpM + ((lane >> 3) & 1) * 8 + (lane & 7)) * kAStride +
                      (lane >> 4) * 4;
    (void)Al;
#pragma unroll
    for (int kk = 0; kk < kBKT; kk += 8) {
      uint32_t aHi[kMT][4], aLo[kMT][4], bHi[kNT][2], bLo[kNT][2];
      auto split = [](float x, uint32_t& hi, uint32_t& lo) {
        if (kRn == kSplitRn) {
          mma::splitTf32Rn(x, hi, lo);
        } else {
          mma::splitTf32(x, hi, lo);
        }
      };
#pragma unroll
      for (int i = 0; i < kMT; ++i) {
        if (kLdm) {
          uint32_t raw[4];
          ldmatrixA(raw, Al + (16 * i) * kAStride + kk);
#pragma unroll
          for (int r = 0; r < 4; ++r) split(__uint_as_float(raw[r]), aHi[i][r], aLo[i][r]);
        } else {
          const float* a = As + (16 * i) * kAStride + kk;
          split(a[0], aHi[i][0], aLo[i][0]);
          split(a[8 * kAStride], aHi[i][1], aLo[i][1]);
          split(a[4], aHi[i][2], aLo[i][2]);
          split(a[8 * kAStride + 4], aHi[i][3], aLo[i][3]);
        }
      }
#pragma unroll
      for (int j = 0; j < kNT; ++j) {
        const float* b = Bs + kk * kBStride + 8 * j;
        split(b[0], bHi[j][0], bLo[j][0]);
        split(b[4 * kBStride], bHi[j][1], bLo[j][1]);
      }
      // Small terms first; the 16 tiles' chains are independent and interleaved.
#pragma unroll
      for (int i = 0; i < kMT; ++i)
#pragma unroll
        for (int j = 0; j < kNT; ++j) mma::mmaTf32(part[i][j], aLo[i], bHi[j]);
#pragma unroll
      for (int i = 0; i < kMT; ++i)
#pragma unroll
        for (int j = 0; j < kNT; ++j) mma::mmaTf32(part[i][j], aHi[i], bLo[j]);
#pragma unroll
      for (int i = 0; i < kMT; ++i)
#pragma unroll
        for (int j = 0; j < kNT; ++j) mma::mmaTf32(part[i][j], aHi[i], bHi[j]);
    }
    if (++sinceFlush == kFlushTiles) {
      sinceFlush = 0;
#pragma unroll
      for (int i = 0; i < kMT; ++i)
#pragma unroll
        for (int j = 0; j < kNT; ++j)
#pragma unroll
          for (int r = 0; r < 4; ++r) {
            acc[i][j][r] += part[i][j][r];
            part[i][j][r] = 0.f;
          }
    }
  }
  cpAsyncWait<0>();

  // C fragment: (row g, columns 2t, 2t+1) and (row g + 8, same columns) of each MMA tile.
  const bool vecC = (reinterpret_cast<uintptr_t>(p.C) & 7u) == 0 && (p.ldc & 1) == 0;
#pragma unroll
  for (int i = 0; i < kMT; ++i) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = m0 + wm * kWarpM + 16 * i + g + 8 * h;
      if (row >= p.M) continue;
      float* out = p.C + static_cast<size_t>(row) * p.ldc;
#pragma unroll
      for (int j = 0; j < kNT; ++j) {
        const int col = n0 + wn * kWarpN + 8 * j + 2 * t;
        const float x = acc[i][j][2 * h] + part[i][j][2 * h];
        const float y = acc[i][j][2 * h + 1] + part[i][j][2 * h + 1];
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

template <int kStages, int kBK_, int kRn, int kFlushTiles, bool kLdm, bool kVecA, bool kVecB>
cudaError_t launchWith(const DenseArgs& p, cudaStream_t stream) {
  using Cfg = DenseCfg<kStages, kBK_, kRn, kFlushTiles>;
  constexpr size_t bytes = Cfg::kSmemBytes;
  auto kernel = denseTf32x3Kernel<kStages, Cfg, kRn, kFlushTiles, kLdm, kVecA, kVecB>;
  int device = 0, optin = 0;
  cudaError_t e = cudaGetDevice(&device);
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  if (e != cudaSuccess) return e;
  if (bytes > static_cast<size_t>(optin)) return cudaErrorInvalidConfiguration;
  e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
  if (e != cudaSuccess) return e;
  const long long blocks = static_cast<long long>(ceilDiv(p.M, kBM)) * ceilDiv(p.N, kBN);
  if (blocks > 2147483647LL) return cudaErrorInvalidConfiguration;
  kernel<<<static_cast<unsigned>(blocks), kThreads, bytes, stream>>>(p);
  return cudaGetLastError();
}

template <int kStages, int kBK_, int kRn, int kFlushTiles, bool kLdm = false>
cudaError_t launchCfg(const DenseArgs& p, cudaStream_t stream) {
  const bool vecA = rowsVec4Aligned(p.A, p.lda);
  const bool vecB = rowsVec4Aligned(p.B, p.ldb);
  if (vecA && vecB) return launchWith<kStages, kBK_, kRn, kFlushTiles, kLdm, true, true>(p, stream);
  if (vecA) return launchWith<kStages, kBK_, kRn, kFlushTiles, kLdm, true, false>(p, stream);
  if (vecB) return launchWith<kStages, kBK_, kRn, kFlushTiles, kLdm, false, true>(p, stream);
  return launchWith<kStages, kBK_, kRn, kFlushTiles, kLdm, false, false>(p, stream);
}

template <int kStages, int kBK_, int kRn, int kFlushTiles, bool kLdm = false>
constexpr size_t smemOf() {
  return DenseCfg<kStages, kBK_, kRn, kFlushTiles>::kSmemBytes;
}

struct DenseVariant {
  const char* name;
  cudaError_t (*launch)(const DenseArgs&, cudaStream_t);
  size_t smemBytes;
};
#define ESMM_DENSE(name, ...) {name, launchCfg<__VA_ARGS__>, smemOf<__VA_ARGS__>()}

// Every configuration the harness compares; kDenseTf32x3Default is the one the addon launches.
const DenseVariant kDenseVariants[] = {
    // H200, 4096³, cold L2, median of 30 (docs/kernel-notes.md has every shape):
    ESMM_DENSE("dense-tf32x3-128x128x32-s3-trunc-f4", 3, 32, kSplitTrunc, 4),  // 2.13-2.14 ms, 1.3e-6
    ESMM_DENSE("dense-tf32x3-128x128x32-s3-rn", 3, 32, kSplitRn, 1),           // 2.21 ms, 3.2e-7
    ESMM_DENSE("dense-tf32x3-128x128x32-s4-rn", 4, 32, kSplitRn, 1),           // 2.20 ms, 3.2e-7
    ESMM_DENSE("dense-tf32x3-128x128x64-s3-rn", 3, 64, kSplitRn, 1),           // 2.12-2.13 ms, 4.9e-7
    ESMM_DENSE("dense-tf32x3-128x128x32-s3-rn-f4", 3, 32, kSplitRn, 4),        // 2.23 ms, 9.2e-7
    ESMM_DENSE("dense-tf32x3-128x128x64-s3-rn-ldm", 3, 64, kSplitRn, 1, true),  // 2.08 ms, 4.9e-7
    ESMM_DENSE("dense-tf32x3-128x128x64-s3-trunc-ldm", 3, 64, kSplitTrunc, 1, true),  // 2.00 ms, 8.0e-7
};
#undef ESMM_DENSE
// The configuration the addon launches, and the one it falls back to where a block cannot have
// the default's shared memory (the 64-deep k-tile needs 204 KiB: Hopper has it, an A100 not).
constexpr int kDenseTf32x3Default = 6;
constexpr int kDenseTf32x3Fallback = 1;

// kDenseTf32x3Default, or the fallback where the current device's blocks lack its shared memory.
int defaultVariant() {
  int device = 0, optin = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device) != cudaSuccess) {
    cudaGetLastError();
    return kDenseTf32x3Default;
  }
  return kDenseVariants[kDenseTf32x3Default].smemBytes <= static_cast<size_t>(optin) ? kDenseTf32x3Default
                                                                                     : kDenseTf32x3Fallback;
}

}  // namespace

int denseTf32x3VariantCount() { return static_cast<int>(sizeof kDenseVariants / sizeof kDenseVariants[0]); }

const char* denseTf32x3VariantNameAt(int i) {
  return i >= 0 && i < denseTf32x3VariantCount() ? kDenseVariants[i].name : nullptr;
}

cudaError_t launchDenseTf32x3Variant(const DenseArgs& p, int variant, cudaStream_t stream) {
  if (!validShape(p)) return cudaErrorInvalidValue;
  if (variant < 0 || variant >= denseTf32x3VariantCount()) return cudaErrorInvalidValue;
  return kDenseVariants[variant].launch(p, stream);
}

cudaError_t launchDenseTf32x3(const DenseArgs& p, cudaStream_t stream) {
  return launchDenseTf32x3Variant(p, defaultVariant(), stream);
}

const char* denseTf32x3VariantName() { return kDenseVariants[defaultVariant()].name; }

// With a prepared B, from kHopperMinRows (esmm.h), on a Hopper GPU of a build with sm_90a, the wgmma
// mainloop (wgmma_tf32x3.cu) runs instead of the decode kernel (up to 16 rows) or the mma.sync kernel
// above: H200, K = N = 4096: 16 rows 0.034 ms against the decode kernel's 0.042, 8 rows a tie (0.034),
// 128 rows 0.057 against 0.254, 4096 rows 1.03 against 1.97 (docs/kernel-notes.md v13).
bool hopperPathRuns(int M, int K) {
#ifdef ESMM_WITH_SM90A
  return M >= kHopperMinRows && !gemvRuns(M, K) && hopperGemmAvailable() && hopperGemmFits(K);
#else
  (void)M;
  (void)K;
  return false;
#endif
}

namespace {
bool usesHopper(const DenseArgs& p) { return p.bPrepared != nullptr && hopperPathRuns(p.M, p.K); }
}  // namespace

size_t preparedBBytes(int M, int N, int K) {
#ifdef ESMM_WITH_SM90A
  // Only where a call of M rows can take the Hopper path (dense-tf32x3 and ESMM alike).
  if (hopperPathRuns(M, K)) return hopperBPreparedBytes(N, K);
#else
  (void)N;
#endif
  (void)M;
  (void)K;
  return 0;
}

cudaError_t launchPrepareB(const float* B, int K, int N, int ldb, float* prepared, cudaStream_t stream) {
#ifdef ESMM_WITH_SM90A
  return launchHopperPrepareB(B, K, N, ldb, prepared, stream);
#else
  (void)B, (void)K, (void)N, (void)ldb, (void)prepared, (void)stream;
  return cudaErrorNotSupported;
#endif
}

size_t denseWorkspaceBytes(int M, int N, int K) {
  size_t bytes = gemvRuns(M, K)             ? gemvSkipWorkspaceBytes(M, N, K)
                 : M <= kDenseDecodeMaxRows ? decodeWorkspaceBytes(M, N, K)
                                            : 0;
#ifdef ESMM_WITH_SM90A
  if (hopperPathRuns(M, K)) bytes = std::max(bytes, hopperGemmWorkspaceBytes(M, N, K));
#endif
  return bytes;
}

cudaError_t launchDense(const DenseArgs& p, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
#ifdef ESMM_WITH_SM90A
  if (usesHopper(p)) return launchHopperGemm(p, p.bPrepared, nullptr, nullptr, workspace, workspaceBytes, stream);
#endif
  if (gemvRuns(p.M, p.K)) return launchDenseGemv(p, workspace, workspaceBytes, stream);
  if (p.M <= kDenseDecodeMaxRows) return launchDenseDecode(p, workspace, workspaceBytes, stream);
  return launchDenseTf32x3(p, stream);
}

const char* denseVariantName(int M, int N, int K) {
  (void)N;
  return gemvRuns(M, K) ? "dense-gemv-ffma" : M <= kDenseDecodeMaxRows ? "dense-decode-ffma" : denseTf32x3VariantName();
}

const char* denseVariantName(const DenseArgs& p) {
#ifdef ESMM_WITH_SM90A
  if (usesHopper(p)) return hopperGemmVariantName(p.M, p.N, p.K);
#endif
  return denseVariantName(p.M, p.N, p.K);
}

}  // namespace esmm
