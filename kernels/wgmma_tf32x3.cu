// The Hopper mainloop of the 3xTF32 GEMM: warpgroup MMA (wgmma) from shared memory that the bulk
// tensor copy engine (TMA) fills, in a warp-specialised producer/consumer pipeline on mbarriers.
// Built for sm_90a only (CMakeLists.txt compiles this file alone with that target); elsewhere the
// mma.sync kernels run (hopperGemmAvailable() says which).
//
// wgmma reads tf32 operands only K-major (k contiguous) from shared memory, and the 3xTF32 split
// needs each operand's tf32 remainder. So a call runs in two steps:
//   1. split: B (K×N), once per weight (launchHopperPrepareB; the caller keeps it, as it keeps B's
//      patterns), transposed to N×K as itself — the tensor cores truncate it to its tf32 hi part —
//      beside its truncation remainder; and A (M×K), in every call, into A_hi rounded to nearest
//      tf32 and A_lo = A − A_hi (mma_tf32.cuh's splitTf32Rn). Memory-bound.
//   2. the GEMM, on a row side of 128-row tiles and a column side of kBN (Cfg):
//      - from 65 rows of A: A is the row side, B the column side (kBN 128), 3 stages of 4 TMA boxes
//        (A_hi, A_lo, B, B's remainder);
//      - up to 64 rows (swapped): B is the row side and A the column side (kBN 32 or 64), C written
//        transposed; only B itself is copied, and the consumers make its remainder in shared memory,
//        so B's bytes are read once.
//      Warpgroup 0 is the producer (one thread issues the copies on a full mbarrier with the byte
//      count); warpgroups 1 and 2 each own 64 rows of the row side and run, per k-step of 8,
//      lo·hi + hi·lo + hi·hi as three wgmmas into a partial accumulator that joins an FP32 running
//      sum every kFlushTiles k-tiles (the tensor cores' accumulator truncates: see mma_tf32.cuh),
//      then release the stage on an empty mbarrier. Where the block tiles alone would leave most
//      multiprocessors idle, K is split over gridDim.y into partial sums that launchSumSplits adds
//      in a fixed order.
// With patterns (ESMM), a block first lists the k-tiles where any of its rows and any of its
// columns hold a nonzero in the same k (the OR of the joint patterns over the block is the AND of
// the ORs), and the pipeline runs over that list only: skipping at block × 32-k granularity.
#include <cuda.h>
#include <cudaTypedefs.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

#include "common.cuh"
#include "esmm.h"
#include "mma_tf32.cuh"
#include "patterns.h"
#include "variants.cuh"
#include "wgmma_common.cuh"
#include "wgmma_tf32x3.h"

namespace esmm {
namespace {

using namespace hopper;

constexpr int kBM = 128;  // rows of the block tile: the wgmma M side, 64 per consumer warpgroup
constexpr int kBKW = kBoxK;  // k per tile: one TMA box, one 128-byte swizzle row
constexpr int kFlushTiles = 2;  // 64 k (24 MMAs) per partial sum, as the mma.sync kernel
constexpr int kThreads = 384;   // producer warpgroup + 2 consumer warpgroups
constexpr int kPatSlicesPerTile = kBKW / kBK;  // pattern bytes per k-tile (4)

// One configuration: kBN columns on the wgmma N side (128, or 32/64 for few rows of A with the
// operands swapped), and as many pipeline stages as shared memory holds.
template <int kBN_, bool kRowLoInSmem_ = false>
struct Cfg {
  static constexpr int kBN = kBN_;
  // The row side's lo part computed by the consumers from its hi tile in shared memory instead of
  // copied from memory: the swapped path, which streams B and is bound by its bytes, reads half.
  static constexpr bool kRowLoInSmem = kRowLoInSmem_;
  static constexpr int kRowTileBytes = kBM * kBKW * 4;  // 16 KiB
  static constexpr int kColTileBytes = kBN * kBKW * 4;
  static constexpr int kStageBytes = 2 * kRowTileBytes + 2 * kColTileBytes;
  static constexpr int kStages = kBN >= 128 ? 3 : kBN >= 64 ? 4 : 5;
  static constexpr int kAcc = kBN / 2;  // accumulator registers per thread
  static_assert(kBN == 32 || kBN == 64 || kBN == 128, "a wgmma N of 32, 64 or 128");
};

int kPad(int K) { return (K + 3) / 4 * 4; }  // TMA row pitch must be a multiple of 16 bytes

template <class C>
size_t smemBytes(int K) {
  const int kTiles = (K + kBKW - 1) / kBKW;
  return 1024 + static_cast<size_t>(C::kStages) * C::kStageBytes + 2 * C::kStages * 8 + 4 * static_cast<size_t>(kTiles);
}

// ---- the split -------------------------------------------------------------------------------

// X (rows × cols, ld) → hi, lo (rows × cols, pitch ldOut), same orientation.
__global__ void splitRowsKernel(const float* __restrict__ X, int rows, int cols, int ld, float* __restrict__ hi,
                                float* __restrict__ lo, int ldOut) {
  const int row = blockIdx.x;
  const float* src = X + static_cast<size_t>(row) * ld;
  float* h = hi + static_cast<size_t>(row) * ldOut;
  float* l = lo + static_cast<size_t>(row) * ldOut;
  for (int c = blockIdx.y * blockDim.x + threadIdx.x; c < cols; c += gridDim.y * blockDim.x) {
    uint32_t hiBits, loBits;
    mma::splitTf32Rn(src[c], hiBits, loBits);
    h[c] = __uint_as_float(hiBits);
    l[c] = __uint_as_float(loBits);
  }
  (void)rows;
}

// B (K × N, ldb) → hi = B itself, lo = its truncation remainder (N × K, pitch ldOut), transposed
// through a 32×33 shared tile.
__global__ void splitTransposeKernel(const float* __restrict__ B, int K, int N, int ldb, float* __restrict__ hi,
                                     float* __restrict__ lo, int ldOut) {
  __shared__ float tile[32][33];
  const int k0 = blockIdx.y * 32, n0 = blockIdx.x * 32;
  for (int r = threadIdx.y; r < 32; r += blockDim.y) {
    const int k = k0 + r, n = n0 + threadIdx.x;
    tile[r][threadIdx.x] = k < K && n < N ? B[static_cast<size_t>(k) * ldb + n] : 0.f;
  }
  __syncthreads();
  for (int r = threadIdx.y; r < 32; r += blockDim.y) {
    const int n = n0 + r, k = k0 + threadIdx.x;
    if (n < N && k < K) {
      const float x = tile[threadIdx.x][r];
      hi[static_cast<size_t>(n) * ldOut + k] = x;
      lo[static_cast<size_t>(n) * ldOut + k] = loOfTruncated(x);
    }
  }
}

// ---- the GEMM --------------------------------------------------------------------------------

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
// Generated shapes of one wgmma: D(64×N) (+)= A(64×8)·B(8×N), tf32 operands from shared memory.
__device__ __forceinline__ void wgmmaN(float (&d)[16], uint64_t descA, uint64_t descB, int scaleD) {
  asm volatile(
      "{\n .reg .pred p;\n setp.ne.b32 p, %18, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n32k8.f32.tf32.tf32 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15}, "
      "%16, %17, p, 1, 1;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
      : "l"(descA), "l"(descB), "r"(scaleD));
}

__device__ __forceinline__ void wgmmaN(float (&d)[32], uint64_t descA, uint64_t descB, int scaleD) {
  asm volatile(
      "{\n .reg .pred p;\n setp.ne.b32 p, %34, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k8.f32.tf32.tf32 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
      "%32, %33, p, 1, 1;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
        "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
        "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
      : "l"(descA), "l"(descB), "r"(scaleD));
}

__device__ __forceinline__ void wgmmaN(float (&d)[64], uint64_t descA, uint64_t descB, int scaleD) {
  asm volatile(
      "{\n .reg .pred p;\n setp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
      "%64, %65, p, 1, 1;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
        "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
        "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
        "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
        "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
        "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
        "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
      : "l"(descA), "l"(descB), "r"(scaleD));
}

#endif

// The problem as the kernel sees it: a row side (the wgmma M side, 128 rows a block) and a column
// side (kBN a block). Not swapped: rows = A's M, columns = B's N. Swapped (few rows of A): rows =
// B's N (its prepared N×K), columns = A's M, and C is written transposed, so a 17-row A costs a
// 32-column tile instead of a 128-row one.
struct GemmParams {
  float* C;
  int M, N, K, ldc;
  int rows, cols;          // row side and column side extents
  bool swapped;
  const uint8_t* rowPat;   // patterns of the row side and the column side; both null: dense
  const uint8_t* colPat;
  int splits;      // K split over gridDim.y; above 1 each split writes its own M×N partial
  float* partial;  // splits × M × N (dense), summed into C by launchSumSplits
};

template <class Cf>
__global__ void __launch_bounds__(kThreads, 1)
    wgmmaTf32x3Kernel(const __grid_constant__ CUtensorMap rowHi, const __grid_constant__ CUtensorMap rowLo,
                      const __grid_constant__ CUtensorMap colHi, const __grid_constant__ CUtensorMap colLo,
                      const GemmParams p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  constexpr int kBN = Cf::kBN, kStages = Cf::kStages, kStageBytes = Cf::kStageBytes;
  constexpr int kRowTile = Cf::kRowTileBytes, kColTile = Cf::kColTileBytes, kAcc = Cf::kAcc;
  extern __shared__ uint8_t smemRaw[];
  const Pipeline pipe = pipelineIn(smemRaw, kStages, kStageBytes);
  uint8_t* const smem = pipe.smem;
  const uint32_t base = pipe.base, fullBar = pipe.fullBar, emptyBar = pipe.emptyBar;
  int* const kList = reinterpret_cast<int*>(pipe.tail);

  // Grouped block order (common.cuh): a few block rows run together and share column panels in L2.
  const int tilesR = (p.rows + kBM - 1) / kBM, tilesC = (p.cols + kBN - 1) / kBN;
  const int2 blk = groupedBlock(blockIdx.x, tilesR, tilesC);
  const int tr = blk.x;
  const int tc = blk.y;
  const int r0 = tr * kBM, c0 = tc * kBN;

  const int tid = threadIdx.x;
  const int kTilesAll = (p.K + kBKW - 1) / kBKW;
  const int split = blockIdx.y;
  const int kBegin = static_cast<int>(static_cast<long long>(kTilesAll) * split / p.splits);
  const int kEnd = static_cast<int>(static_cast<long long>(kTilesAll) * (split + 1) / p.splits);
  __shared__ int listLen;
  if (tid < 32) {
    // The k-tiles this block multiplies, in order (warp 0; every k-tile when dense).
    int n = 0;
    const int slices = (p.K + kBK - 1) / kBK;
    const int rowTiles = (p.rows + kTile - 1) / kTile, colTiles = (p.cols + kTile - 1) / kTile;
    for (int t0 = kBegin; t0 < kEnd; t0 += 32) {
      const int t = t0 + tid;
      bool keep = t < kEnd;
      if (keep && p.rowPat != nullptr) {
        uint32_t joint = 0;
#pragma unroll
        for (int s = 0; s < kPatSlicesPerTile; ++s) {
          const int slice = t * kPatSlicesPerTile + s;
          if (slice >= slices) break;
          uint32_t a = 0, b = 0;
#pragma unroll
          for (int i = 0; i < kBM / kTile; ++i) {
            const int rt = r0 / kTile + i;
            if (rt < rowTiles) a |= p.rowPat[static_cast<size_t>(rt) * slices + slice];
          }
#pragma unroll
          for (int i = 0; i < kBN / kTile; ++i) {
            const int ct = c0 / kTile + i;
            if (ct < colTiles) b |= p.colPat[static_cast<size_t>(ct) * slices + slice];
          }
          joint |= a & b;
        }
        keep = joint != 0;
      }
      const uint32_t ballot = __ballot_sync(0xFFFFFFFFu, keep);
      if (keep) kList[n + __popc(ballot & ((1u << tid) - 1u))] = t;
      n += __popc(ballot);
    }
    if (tid == 0) {
      listLen = n;
      initPipelineBarriers(pipe, kStages, 2 * 128);
    }
  }
  __syncthreads();
  const int nk = listLen;
  const int wg = tid / 128;

  if (wg == 0) {
    asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n" ::: "memory");
    if (tid == 0) {
      for (int it = 0; it < nk; ++it) {
        const int s = it % kStages;
        if (it >= kStages) mbarWait(emptyBar + 8 * s, ((it / kStages) + 1) & 1);
        const uint32_t bar = fullBar + 8 * s;
        mbarExpectTx(bar, Cf::kRowLoInSmem ? kStageBytes - kRowTile : kStageBytes);
        const uint32_t dst = base + s * kStageBytes;
        const int k = kList[it] * kBKW;
        tmaLoad(dst, &rowHi, k, r0, bar);
        if (!Cf::kRowLoInSmem) tmaLoad(dst + kRowTile, &rowLo, k, r0, bar);
        tmaLoad(dst + 2 * kRowTile, &colHi, k, c0, bar);
        tmaLoad(dst + 2 * kRowTile + kColTile, &colLo, k, c0, bar);
      }
    }
    return;
  }

  asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n" ::: "memory");
  const int half = wg - 1;  // rows 64·half … of the block tile
  float acc[kAcc], part[kAcc];
#pragma unroll
  for (int i = 0; i < kAcc; ++i) acc[i] = part[i] = 0.f;
  for (int it = 0; it < nk; ++it) {
    const int s = it % kStages;
    mbarWait(fullBar + 8 * s, (it / kStages) & 1);
    const uint32_t stage = base + s * kStageBytes;
    if constexpr (Cf::kRowLoInSmem) {
      // This warpgroup's 64 rows of the row side: lo = hi − trunc(hi), element by element (the lo
      // tile has the hi tile's swizzled layout, so offsets match), then made visible to the tensor
      // cores (async proxy) and to the warpgroup before its wgmmas read them.
      const float4* hiTile = reinterpret_cast<const float4*>(smem + s * kStageBytes + half * 64 * 128);
      float4* loTile = reinterpret_cast<float4*>(smem + s * kStageBytes + kRowTile + half * 64 * 128);
      const int lt = tid % 128;
#pragma unroll
      for (int i = 0; i < 64 * 32 / 4 / 128; ++i) {
        const float4 v = hiTile[lt + 128 * i];
        loTile[lt + 128 * i] = make_float4(loOfTruncated(v.x), loOfTruncated(v.y), loOfTruncated(v.z), loOfTruncated(v.w));
      }
      asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
      asm volatile("bar.sync %0, 128;\n" ::"r"(1 + half) : "memory");
    }
    const uint64_t dRHi = smemDesc(stage + half * 64 * 128);
    const uint64_t dRLo = smemDesc(stage + kRowTile + half * 64 * 128);
    const uint64_t dCHi = smemDesc(stage + 2 * kRowTile);
    const uint64_t dCLo = smemDesc(stage + 2 * kRowTile + kColTile);
    const int fresh = it % kFlushTiles == 0 ? 0 : 1;
    fenceAcc(part);
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#pragma unroll
    for (int kk = 0; kk < kBKW / 8; ++kk) {
      // 8 tf32 = 32 bytes along the swizzled row: +2 in the descriptor's 16-byte units.
      const uint64_t o = 2 * kk;
      wgmmaN(part, dRLo + o, dCHi + o, kk == 0 ? fresh : 1);
      wgmmaN(part, dRHi + o, dCLo + o, 1);
      wgmmaN(part, dRHi + o, dCHi + o, 1);
    }
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
    asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
    fenceAcc(part);
    mbarArrive(emptyBar + 8 * s);
    if ((it + 1) % kFlushTiles == 0 || it + 1 == nk) {
#pragma unroll
      for (int i = 0; i < kAcc; ++i) acc[i] += part[i];
    }
  }

  // D fragment of m64nNk8: warp w of the warpgroup holds rows 16w + g and 16w + g + 8 (g = lane / 4),
  // columns 8j + 2t and 8j + 2t + 1 (t = lane % 4) in d[4j … 4j + 3].
  const int lane = tid % 32, w = (tid / 32) % 4;
  const int g = lane / 4, t = lane % 4;
  float* const dst = p.splits > 1 ? p.partial + static_cast<size_t>(split) * p.M * p.N : p.C;
  const int ld = p.splits > 1 ? p.N : p.ldc;
  const bool vec = !p.swapped && (ld % 2 == 0) && (reinterpret_cast<uintptr_t>(dst) % 8 == 0);
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = r0 + 64 * half + 16 * w + g + 8 * h;
    if (r >= p.rows) continue;
#pragma unroll
    for (int j = 0; j < kBN / 8; ++j) {
      const int c = c0 + 8 * j + 2 * t;
      const float x = acc[4 * j + 2 * h], y = acc[4 * j + 2 * h + 1];
      if (p.swapped) {
        // Row side is B's n, column side A's m: C[m][n].
        if (c < p.cols) dst[static_cast<size_t>(c) * ld + r] = x;
        if (c + 1 < p.cols) dst[static_cast<size_t>(c + 1) * ld + r] = y;
      } else if (vec && c + 1 < p.cols) {
        *reinterpret_cast<float2*>(dst + static_cast<size_t>(r) * ld + c) = make_float2(x, y);
      } else {
        if (c < p.cols) dst[static_cast<size_t>(r) * ld + c] = x;
        if (c + 1 < p.cols) dst[static_cast<size_t>(r) * ld + c + 1] = y;
      }
    }
  }
#else
  (void)rowHi;
  (void)rowLo;
  (void)colHi;
  (void)colLo;
  (void)p;
  __trap();
#endif
}

// ---- host side -------------------------------------------------------------------------------

// Up to kSwapMaxRows rows of A the operands swap (A on the wgmma N side, 32 or 64 wide); above, A
// is the row side of 128-row tiles with B's 128 columns (but for a narrow B over a short K, below).
constexpr int kSwapMaxRows = 64;

struct Plan {
  bool swapped;
  int bn;      // column-side tile
  int splits;  // K split
};

// B's columns in one row tile over a short K: swapped with 32 of A's rows a block, the grid is M / 32
// blocks instead of M / 128 each with a few k-tiles. H200, hopper_bench, dense, µs (kernel-notes
// v20e): 4096 × 128 × 128 (M × N × K) 16.0 → 13.8, 4096 × 64 × 128 15.7 → 13.8, 4096 × 128 × 384
// 23.0 → 21.6, 1024 × 128 × 128 13.9 → 11.1; at N = 384 (K = 128) 16.9 → 23.0 and at K = 1024
// (N = 128) 35.7 → 42.3, so only there.
constexpr int kSwapNarrowMaxN = 128;
constexpr int kSwapNarrowMaxK = 384;

// Split K when the block tiles alone leave most multiprocessors idle (small M × N, e.g. 128 ×
// 4096, or 4096 × 256 with K = 65536), keeping at least 4 k-tiles per split.
Plan planFor(int M, int N, int K) {
  Plan pl;
  const bool narrow = N <= kSwapNarrowMaxN && K <= kSwapNarrowMaxK;
  pl.swapped = M <= kSwapMaxRows || narrow;
  pl.bn = !pl.swapped ? 128 : M <= 32 || M > kSwapMaxRows ? 32 : 64;
  const int rows = pl.swapped ? N : M, cols = pl.swapped ? M : N;
  const int blocks = ((rows + kBM - 1) / kBM) * ((cols + pl.bn - 1) / pl.bn);
  const int kTiles = (K + kBKW - 1) / kBKW;
  int splits = numSMs() / blocks;
  splits = std::min(splits, 8);
  splits = std::min(splits, kTiles / 4);
  pl.splits = std::max(splits, 1);
  return pl;
}

template <class Cf>
cudaError_t launchPlanned(const DenseArgs& a, const Plan& pl, const float* bPrepared, const uint8_t* aPat,
                          const uint8_t* bPat, float* aHi, float* aLo, float* partial, cudaStream_t stream) {
  const int ldk = kPad(a.K);
  const float* bHi = bPrepared;
  const float* bLo = bPrepared + static_cast<size_t>(a.N) * ldk;
  CUtensorMap mRHi, mRLo, mCHi, mCLo;
  const bool ok = pl.swapped ? encodeOperand(&mRHi, bHi, a.N, a.K, ldk, kBM) && encodeOperand(&mRLo, bLo, a.N, a.K, ldk, kBM) &&
                                   encodeOperand(&mCHi, aHi, a.M, a.K, ldk, Cf::kBN) &&
                                   encodeOperand(&mCLo, aLo, a.M, a.K, ldk, Cf::kBN)
                             : encodeOperand(&mRHi, aHi, a.M, a.K, ldk, kBM) && encodeOperand(&mRLo, aLo, a.M, a.K, ldk, kBM) &&
                                   encodeOperand(&mCHi, bHi, a.N, a.K, ldk, Cf::kBN) &&
                                   encodeOperand(&mCLo, bLo, a.N, a.K, ldk, Cf::kBN);
  if (!ok) return cudaErrorInvalidValue;
  const size_t smem = smemBytes<Cf>(a.K);
  cudaError_t e =
      cudaFuncSetAttribute(wgmmaTf32x3Kernel<Cf>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
  if (e != cudaSuccess) return e;
  GemmParams p{};
  p.C = a.C;
  p.M = a.M, p.N = a.N, p.K = a.K, p.ldc = a.ldc;
  p.rows = pl.swapped ? a.N : a.M;
  p.cols = pl.swapped ? a.M : a.N;
  p.swapped = pl.swapped;
  p.rowPat = pl.swapped ? bPat : aPat;
  p.colPat = pl.swapped ? aPat : bPat;
  p.splits = pl.splits;
  p.partial = partial;
  const int tiles = ((p.rows + kBM - 1) / kBM) * ((p.cols + Cf::kBN - 1) / Cf::kBN);
  wgmmaTf32x3Kernel<Cf><<<dim3(tiles, pl.splits), kThreads, smem, stream>>>(mRHi, mRLo, mCHi, mCLo, p);
  return cudaGetLastError();
}

}  // namespace

size_t hopperBPreparedBytes(int N, int K) { return 2 * static_cast<size_t>(N) * kPad(K) * sizeof(float); }

cudaError_t launchHopperPrepareB(const float* B, int K, int N, int ldb, float* prepared, cudaStream_t stream) {
  if (K < 1 || N < 1 || ldb < N || prepared == nullptr) return cudaErrorInvalidValue;
  const int ldk = kPad(K);
  const dim3 grid(static_cast<unsigned>((N + 31) / 32), static_cast<unsigned>((K + 31) / 32));
  splitTransposeKernel<<<grid, dim3(32, 8), 0, stream>>>(B, K, N, ldb, prepared, prepared + static_cast<size_t>(N) * ldk,
                                                         ldk);
  return cudaGetLastError();
}

size_t hopperGemmWorkspaceBytes(int M, int N, int K) {
  const Plan pl = planFor(M, N, K);
  return 2 * static_cast<size_t>(M) * kPad(K) * sizeof(float) +
         (pl.splits > 1 ? static_cast<size_t>(pl.splits) * M * N * sizeof(float) : 0);
}

bool hopperGemmAvailable() {
  // Per device (compute capability 9.0 and the driver's tensor-map encoder): the workers of
  // --devices each run on their own GPU.
  constexpr int kMaxDevices = 64;
  static std::atomic<int> known[kMaxDevices];  // 0: not asked yet, 1: yes, 2: no
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= kMaxDevices) {
    cudaGetLastError();
    return false;
  }
  int k = known[device].load(std::memory_order_relaxed);
  if (k == 0) {
    int major = 0, minor = 0;
    const bool ok = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess &&
                    cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) == cudaSuccess &&
                    major == 9 && minor == 0 && encodeFn() != nullptr;
    cudaGetLastError();
    k = ok ? 1 : 2;
    known[device].store(k, std::memory_order_relaxed);
  }
  return k == 1;
}

bool hopperGemmFits(int K) {
  const size_t need = std::max({smemBytes<Cfg<32, true>>(K), smemBytes<Cfg<64, true>>(K), smemBytes<Cfg<128>>(K)});
  return need <= static_cast<size_t>(optinSmem());
}

double hopperBlockKDensity(const uint8_t* aPat, const uint8_t* bPat, int M, int N, int K) {
  const Plan pl = planFor(M, N, K);
  const int rows = pl.swapped ? N : M, cols = pl.swapped ? M : N;
  const uint8_t* rowPat = pl.swapped ? bPat : aPat;
  const uint8_t* colPat = pl.swapped ? aPat : bPat;
  const int slices = numKSlices(K), kTiles = (K + kBKW - 1) / kBKW;
  const int rowTiles = numTiles(rows), colTiles = numTiles(cols);
  const int per[2] = {kBM / kTile, pl.bn / kTile};  // pattern tiles a block covers, each side
  // Each block's pattern bytes ORed over its tiles, per side: the kernel's a and b of a slice.
  auto blockOr = [&](const uint8_t* pat, int tiles, int perBlock) {
    const int blocks = (tiles + perBlock - 1) / perBlock;
    std::vector<uint8_t> out(static_cast<size_t>(blocks) * slices, 0);
    for (int t = 0; t < tiles; ++t) {
      uint8_t* dst = out.data() + static_cast<size_t>(t / perBlock) * slices;
      const uint8_t* src = pat + static_cast<size_t>(t) * slices;
      for (int s = 0; s < slices; ++s) dst[s] |= src[s];
    }
    return out;
  };
  const std::vector<uint8_t> r = blockOr(rowPat, rowTiles, per[0]), c = blockOr(colPat, colTiles, per[1]);
  const size_t rb = r.size() / slices, cb = c.size() / slices;
  size_t kept = 0;
  for (size_t i = 0; i < rb; ++i) {
    for (size_t j = 0; j < cb; ++j) {
      const uint8_t* a = r.data() + i * slices;
      const uint8_t* b = c.data() + j * slices;
      for (int t = 0; t < kTiles; ++t) {
        uint8_t joint = 0;
        for (int s = t * kPatSlicesPerTile; s < std::min(slices, (t + 1) * kPatSlicesPerTile); ++s) joint |= a[s] & b[s];
        kept += joint != 0;
      }
    }
  }
  return static_cast<double>(kept) / (static_cast<double>(rb) * cb * kTiles);
}

const char* hopperGemmVariantName(int M, int N, int K, bool blockSkip) {
  // [swapped · bn][split K][block skip]
  static const char* const kNames[3][2][2] = {
      {{"wgmma-tf32x3-128x128x32-s3", "wgmma-tf32x3-128x128x32-s3-skip"},
       {"wgmma-tf32x3-128x128x32-s3-splitk", "wgmma-tf32x3-128x128x32-s3-splitk-skip"}},
      {{"wgmma-tf32x3-swap-128x64x32-s4", "wgmma-tf32x3-swap-128x64x32-s4-skip"},
       {"wgmma-tf32x3-swap-128x64x32-s4-splitk", "wgmma-tf32x3-swap-128x64x32-s4-splitk-skip"}},
      {{"wgmma-tf32x3-swap-128x32x32-s5", "wgmma-tf32x3-swap-128x32x32-s5-skip"},
       {"wgmma-tf32x3-swap-128x32x32-s5-splitk", "wgmma-tf32x3-swap-128x32x32-s5-splitk-skip"}},
  };
  const Plan pl = planFor(M, N, K);
  const int shape = !pl.swapped ? 0 : pl.bn == 64 ? 1 : 2;
  return kNames[shape][pl.splits > 1 ? 1 : 0][blockSkip ? 1 : 0];
}

cudaError_t launchHopperGemm(const DenseArgs& a, const float* bPrepared, const uint8_t* aPat, const uint8_t* bPat,
                             void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  if (!validShape(a)) return cudaErrorInvalidValue;
  if ((aPat == nullptr) != (bPat == nullptr) || bPrepared == nullptr) return cudaErrorInvalidValue;
  if (workspace == nullptr || workspaceBytes < hopperGemmWorkspaceBytes(a.M, a.N, a.K)) return cudaErrorInvalidValue;
  if (!hopperGemmFits(a.K)) return cudaErrorInvalidConfiguration;
  const int ldk = kPad(a.K);
  float* aHi = static_cast<float*>(workspace);
  float* aLo = aHi + static_cast<size_t>(a.M) * ldk;
  float* partial = aLo + static_cast<size_t>(a.M) * ldk;

  const dim3 splitGrid(static_cast<unsigned>(a.M), static_cast<unsigned>(std::min((a.K + 255) / 256, 64)));
  splitRowsKernel<<<splitGrid, 256, 0, stream>>>(a.A, a.M, a.K, a.lda, aHi, aLo, ldk);
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;

  const Plan pl = planFor(a.M, a.N, a.K);
  if (pl.bn == 32) {
    e = launchPlanned<Cfg<32, true>>(a, pl, bPrepared, aPat, bPat, aHi, aLo, partial, stream);
  } else if (pl.bn == 64) {
    e = launchPlanned<Cfg<64, true>>(a, pl, bPrepared, aPat, bPat, aHi, aLo, partial, stream);
  } else {
    e = launchPlanned<Cfg<128>>(a, pl, bPrepared, aPat, bPat, aHi, aLo, partial, stream);
  }
  if (e != cudaSuccess || pl.splits == 1) return e;
  return launchSumSplits(partial, pl.splits, a.M, a.N, a.C, a.ldc, stream);
}

}  // namespace esmm
