// ESMM on the Hopper tensor cores with k-exact skipping per 32-column tile of B: wgmma with A from
// registers and B compacted once per weight. Comparison-only: built for sm_90a into
// kernels/bench/hopper_bench.cu (scripts/kernel-bench.sh hopper), not into the addon.
//
// Why this shape. wgmma reads its shared-memory operands K-major and at least 64 rows on the M side,
// so skipping inside the tiled mainloop (wgmma_tf32x3.cu) happens only where a whole 128 × 128 × 32
// block tile is empty. Here the skipping moves to where the pattern is: a B pattern bit covers 32
// columns at one k, and wgmma's N side can be exactly 32. So
//   - B is compacted per weight (launchHopperCompactB): for each 32-column tile and each window of
//     64 k, the k its pattern keeps, in groups of 8 (the last group padded with zeros), each group
//     stored as wgmma's K-major layout with the 32-byte swizzle (32 n × 8 k) of B itself and of its
//     tf32 truncation remainder: 2 KiB a group, and a window's groups for the block's 4 tiles are
//     contiguous, so one bulk copy brings them in. Beside them, per tile and window, the kept k (as
//     offsets into the window) and their count.
//   - A is not split or copied before the call: a 128-row × 64-k window of A comes in by TMA
//     (128-byte swizzle), and each consumer thread gathers its m64n32k8 register fragment from it at
//     the tile's kept k, splits it into tf32 hi and lo in registers (round to nearest), and issues
//     lo·B + hi·B_lo + hi·B as three wgmmas with A from registers.
// So a (64-row, 32-column, 8-k) step is spent only on k that B's tile keeps, whatever the other
// tiles keep; A's pattern is not used (A may be dense). The padding to whole groups of 8 costs
// about 4 kept k per tile and window.
//
// Pipeline: warpgroup 0 produces (one thread: the two TMA boxes of A, the bulk copies of the
// compacted B and of the window's kept-k table, on a full mbarrier with their byte count), warpgroups
// 1 and 2 consume, 64 rows each, with two register fragments in flight (wgmma.wait_group 1) and the
// partial accumulators joining the FP32 running sums once per window (mma_tf32.cuh says why), then
// release the stage on an empty mbarrier. Where the block tiles alone leave most multiprocessors
// idle, the windows are split over gridDim.y into partial sums that launchSumSplits adds in order.
#include <algorithm>

#include "common.cuh"
#include "esmm.h"
#include "mma_tf32.cuh"
#include "patterns.h"
#include "variants.cuh"
#include "wgmma_common.cuh"
#include "wgmma_compact.h"
#include "wgmma_tf32x3.h"

namespace esmm {
namespace {

using namespace hopper;

constexpr int kWin = 64;                  // k per window: two TMA boxes of A
constexpr int kTilesPerBlock = 4;         // 32-column B tiles per block: 128 columns
constexpr int kRows = 128;                // rows of A per block: 64 per consumer warpgroup
constexpr int kThreads = 384;             // producer warpgroup + 2 consumer warpgroups
constexpr int kGroupK = 8;                // k per wgmma
constexpr int kMaxGroups = kWin / kGroupK;
constexpr int kGroupBytes = 2048;         // 32 n × 8 k float32, B and its remainder
// Meta record of (tile group, window): per tile and slot the byte offset of the slot's k in the A
// window before the swizzle (uint16: box · 16 KiB + (k % 32) · 4), then the 4 tiles' kept counts.
constexpr int kCountsOffset = kTilesPerBlock * kWin * 2;
constexpr int kMetaBytes = kCountsOffset + 16;
constexpr int kAStageBytes = kRows * kWin * 4;           // 32 KiB
constexpr int kBStageBytes = kTilesPerBlock * kMaxGroups * kGroupBytes;  // 64 KiB at most
constexpr int kStageBytes = kAStageBytes + kBStageBytes + 1024;         // meta in the last KiB
constexpr int kStages = 2;

// The compacted B's layout, a function of (N, K) alone: meta records, group offsets, groups.
struct Layout {
  int tileGroups;  // blocks of 4 tiles along N
  int windows;
  size_t goffOffset;  // int32 × (tileGroups × windows + 1): first group of each (tile group, window)
  size_t dataOffset;  // groups, 2 KiB each
  size_t bytes;       // upper bound: every group of every window
};

Layout layoutFor(int N, int K) {
  Layout l;
  l.tileGroups = (numTiles(N) + kTilesPerBlock - 1) / kTilesPerBlock;
  l.windows = (K + kWin - 1) / kWin;
  const size_t entries = static_cast<size_t>(l.tileGroups) * l.windows;
  l.goffOffset = entries * kMetaBytes;
  l.dataOffset = (l.goffOffset + 4 * (entries + 1) + 1023) / 1024 * 1024;
  l.bytes = l.dataOffset + entries * kTilesPerBlock * kMaxGroups * kGroupBytes;
  return l;
}

// Where element (n, kk) of a group's 32 n × 8 k block sits (float index within its KiB), and the
// wgmma descriptor (K-major) that reads it: 32-byte rows (one n, 8 k), the 16-byte halves swapped in
// rows 4–7 of each 8 (the 32-byte swizzle), 8-row atoms 256 bytes apart.
struct GroupLayout {
  __host__ __device__ static int pos(int n, int kk) { return n * 8 + ((((kk >> 2) ^ (n >> 2)) & 1) << 2) + (kk & 3); }
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  __device__ static uint64_t desc(uint32_t addr) {
    return static_cast<uint64_t>((addr & 0x3FFFF) >> 4) | (1ull << 16) | (static_cast<uint64_t>(256 >> 4) << 32) |
           (3ull << 62);
  }
#endif
};

// ---- compacting B (once per weight) ------------------------------------------------------------

// Kept k of (tile, window) from B's pattern bytes: a 64-bit mask, bit i = k window·64 + i.
__device__ __forceinline__ uint64_t keptMask(const uint8_t* bPat, int tile, int N, int w, int K) {
  if (tile * kTile >= N) return 0;
  const int slices = (K + kBK - 1) / kBK;
  uint64_t m = 0;
#pragma unroll
  for (int i = 0; i < kWin / kBK; ++i) {
    const int s = w * (kWin / kBK) + i;
    if (s < slices) m |= static_cast<uint64_t>(bPat[static_cast<size_t>(tile) * slices + s] & sliceKMask(s, K)) << (8 * i);
  }
  return m;
}

// One thread per (tile group, window, tile): the count of kept k into the meta record.
__global__ void compactCountKernel(const uint8_t* __restrict__ bPat, int N, int K, uint8_t* __restrict__ out,
                                   int tileGroups, int windows) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= tileGroups * windows * kTilesPerBlock) return;
  const int t = i % kTilesPerBlock, e = i / kTilesPerBlock;
  const int tg = e / windows, w = e % windows;
  const int c = __popcll(keptMask(bPat, tg * kTilesPerBlock + t, N, w, K));
  reinterpret_cast<int*>(out + static_cast<size_t>(e) * kMetaBytes + kCountsOffset)[t] = c;
}

// One block: goff[e] = the groups of every record before e (exclusive scan), goff[entries] = all.
__global__ void compactScanKernel(uint8_t* __restrict__ out, int entries, size_t goffOffset) {
  __shared__ int sums[1024];
  int* goff = reinterpret_cast<int*>(out + goffOffset);
  const int per = (entries + blockDim.x - 1) / blockDim.x;
  const int e0 = threadIdx.x * per, e1 = min(entries, e0 + per);
  auto groupsOf = [&](int e) {
    const int* cnt = reinterpret_cast<const int*>(out + static_cast<size_t>(e) * kMetaBytes + kCountsOffset);
    int g = 0;
#pragma unroll
    for (int t = 0; t < kTilesPerBlock; ++t) g += (cnt[t] + kGroupK - 1) / kGroupK;
    return g;
  };
  int local = 0;
  for (int e = e0; e < e1; ++e) local += groupsOf(e);
  sums[threadIdx.x] = local;
  __syncthreads();
  for (int off = 1; off < static_cast<int>(blockDim.x); off *= 2) {
    const int v = threadIdx.x >= static_cast<unsigned>(off) ? sums[threadIdx.x - off] : 0;
    __syncthreads();
    sums[threadIdx.x] += v;
    __syncthreads();
  }
  int run = sums[threadIdx.x] - local;
  for (int e = e0; e < e1; ++e) {
    goff[e] = run;
    run += groupsOf(e);
  }
  if (threadIdx.x == blockDim.x - 1) goff[entries] = sums[threadIdx.x];
}

// One block of 256 threads per (record, tile): the kept-k offsets, then the groups — element (n, kk)
// of a group where GroupLayout::pos puts it, B's value in the first KiB and its truncation remainder in the
// second.
__global__ void compactFillKernel(const float* __restrict__ B, int K, int N, int ldb, const uint8_t* __restrict__ bPat,
                                  uint8_t* __restrict__ out, int windows, size_t goffOffset, size_t dataOffset) {
  const int e = blockIdx.x, t = blockIdx.y;
  const int tg = e / windows, w = e % windows;
  const int tile = tg * kTilesPerBlock + t;
  __shared__ uint8_t kept[kWin];
  __shared__ int count;
  uint8_t* meta = out + static_cast<size_t>(e) * kMetaBytes;
  if (threadIdx.x == 0) {
    uint64_t m = keptMask(bPat, tile, N, w, K);
    int c = 0;
    while (m != 0) {
      kept[c++] = static_cast<uint8_t>(__ffsll(static_cast<long long>(m)) - 1);
      m &= m - 1;
    }
    count = c;
    for (int i = c; i < kWin; ++i) kept[i] = 0;
  }
  __syncthreads();
  if (threadIdx.x < kWin) {
    const int k = kept[threadIdx.x];
    reinterpret_cast<uint16_t*>(meta)[t * kWin + threadIdx.x] = static_cast<uint16_t>((k >> 5) * (kRows * 128) + (k & 31) * 4);
  }
  const int c = count;
  const int* cnt = reinterpret_cast<const int*>(meta + kCountsOffset);
  int first = reinterpret_cast<const int*>(out + goffOffset)[e];
  for (int u = 0; u < t; ++u) first += (cnt[u] + kGroupK - 1) / kGroupK;
  float* groups = reinterpret_cast<float*>(out + dataOffset) + static_cast<size_t>(first) * (kGroupBytes / 4);
  const int n = threadIdx.x % 32, kk = threadIdx.x / 32;
  const int col = tile * kTile + n;
  const int pos = GroupLayout::pos(n, kk);
  for (int j = 0; j < (c + kGroupK - 1) / kGroupK; ++j) {
    const int slot = j * kGroupK + kk;
    float x = 0.f;
    if (slot < c && col < N) x = B[static_cast<size_t>(w * kWin + kept[slot]) * ldb + col];
    groups[j * 512 + pos] = x;
    groups[j * 512 + 256 + pos] = loOfTruncated(x);
  }
}

// ---- the GEMM ----------------------------------------------------------------------------------

struct Params {
  float* C;
  int M, N, K, ldc;
  int tileGroups, windows;
  const uint8_t* compact;
  size_t goffOffset, dataOffset;
  int splits;      // windows split over gridDim.y; above 1 each split writes its own M×N partial
  float* partial;  // splits × M × N, summed into C by launchSumSplits
};

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
// D(64×32) += A(64×8, registers: rows g and g+8 at k t, then at k t+4, per warp's 16 rows)·B(8×32).
// scaleD 0: D = A·B (the first group of a tile in a window), 1: D += A·B.
__device__ __forceinline__ void wgmmaRs(float (&d)[16], const uint32_t (&a)[4], uint64_t descB, int scaleD) {
  asm volatile(
      "{\n .reg .pred p;\n setp.ne.b32 p, %21, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n32k8.f32.tf32.tf32 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15}, "
      "{%16, %17, %18, %19}, %20, p, 1, 1;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descB), "r"(scaleD));
}

__device__ __forceinline__ void fenceRegs(uint32_t (&r)[4]) {
#pragma unroll
  for (int i = 0; i < 4; ++i) asm volatile("" : "+r"(r[i])::"memory");
}

// One group's A values for this thread: rows row and row + 8 at the k of slots slot and slot + 4
// (zero past the count), from the window's two 32-k TMA boxes of 128 rows × 128 bytes, whose
// 128-byte swizzle XORs byte bits 4–6 with the row's low 3 bits — g for both rows (swz = g << 4).
__device__ __forceinline__ void loadRaw(float (&v)[4], const uint8_t* rowPtr, const uint16_t* colByte, int count,
                                        int slot, uint32_t swz) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int s = slot + 4 * h;
    const uint8_t* const at = rowPtr + (colByte[s] ^ swz);
    const float x0 = *reinterpret_cast<const float*>(at);
    const float x1 = *reinterpret_cast<const float*>(at + 8 * 128);
    v[2 * h] = s < count ? x0 : 0.f;
    v[2 * h + 1] = s < count ? x1 : 0.f;
  }
}

struct Frag {
  uint32_t hi[4], lo[4];
};

// hi: x rounded to the nearest tf32 (ties away, as mma::splitTf32Rn), lo = x − hi exactly.
__device__ __forceinline__ void splitFrag(Frag& f, const float (&v)[4]) {
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    uint32_t h;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(h) : "f"(v[i]));
    f.hi[i] = h;
    f.lo[i] = __float_as_uint(v[i] - __uint_as_float(h));
  }
}

__device__ __forceinline__ void fenceFrag(Frag& f) {
  fenceRegs(f.hi);
  fenceRegs(f.lo);
}

// One group: the fragment set (free: its last wgmmas are done) made from this group's A values,
// then lo·B + hi·B_lo + hi·B into the tile's partial (scaleD 0: the first group since a flush).
__device__ __forceinline__ void issueGroup(float (&part)[16], Frag& f, const float (&cur)[4], uint64_t dB, uint64_t dBLo,
                                           int scaleD) {
  fenceFrag(f);
  splitFrag(f, cur);
  fenceAcc(part);
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
  wgmmaRs(part, f.lo, dB, scaleD);
  wgmmaRs(part, f.hi, dBLo, 1);
  wgmmaRs(part, f.hi, dB, 1);
}
#endif

__global__ void __launch_bounds__(kThreads, 1)
    compactGemmKernel(const __grid_constant__ CUtensorMap aMap, const Params p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ uint8_t smemRaw[];
  const Pipeline pipe = pipelineIn(smemRaw, kStages, kStageBytes);
  uint8_t* const smem = pipe.smem;
  const uint32_t base = pipe.base, fullBar = pipe.fullBar, emptyBar = pipe.emptyBar;
  int* const goffS = reinterpret_cast<int*>(pipe.tail);

  const int tilesR = (p.M + kRows - 1) / kRows;
  const int2 blk = groupedBlock(blockIdx.x, tilesR, p.tileGroups);
  const int r0 = blk.x * kRows, tg = blk.y;
  const int split = blockIdx.y;
  const int wBegin = static_cast<int>(static_cast<long long>(p.windows) * split / p.splits);
  const int wEnd = static_cast<int>(static_cast<long long>(p.windows) * (split + 1) / p.splits);
  const int tid = threadIdx.x;
  const uint8_t* const metaG = p.compact + static_cast<size_t>(tg) * p.windows * kMetaBytes;
  const int* const goffG = reinterpret_cast<const int*>(p.compact + p.goffOffset) + static_cast<size_t>(tg) * p.windows;
  for (int i = tid; i <= wEnd - wBegin; i += blockDim.x) goffS[i] = goffG[wBegin + i];
  if (tid == 0) initPipelineBarriers(pipe, kStages, 2 * 128);
  __syncthreads();
  const int nw = wEnd - wBegin;
  const int wg = tid / 128;

  if (wg == 0) {
    asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n" ::: "memory");
    if (tid == 0) {
      const uint8_t* const data = p.compact + p.dataOffset;
      for (int it = 0; it < nw; ++it) {
        const int s = it % kStages;
        if (it >= kStages) mbarWait(emptyBar + 8 * s, ((it / kStages) + 1) & 1);
        const uint32_t bar = fullBar + 8 * s;
        const uint32_t dst = base + s * kStageBytes;
        const int w = wBegin + it;
        const uint32_t bBytes = static_cast<uint32_t>(goffS[it + 1] - goffS[it]) * kGroupBytes;
        // The second box only where it holds some k < K (no kept k points past K).
        const bool second = w * kWin + kBoxK < p.K;
        mbarExpectTx(bar, (second ? kAStageBytes : kAStageBytes / 2) + bBytes + kMetaBytes);
        tmaLoad(dst, &aMap, w * kWin, r0, bar);
        if (second) tmaLoad(dst + kRows * 128, &aMap, w * kWin + kBoxK, r0, bar);
        if (bBytes > 0) bulkLoad(dst + kAStageBytes, data + static_cast<size_t>(goffS[it]) * kGroupBytes, bBytes, bar);
        bulkLoad(dst + kAStageBytes + kBStageBytes, metaG + static_cast<size_t>(w) * kMetaBytes, kMetaBytes, bar);
      }
    }
    return;
  }

  asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n" ::: "memory");
  const int half = wg - 1;
  const int lane = tid % 32, wq = (tid / 32) % 4;
  const int g = lane / 4, tq = lane % 4;
  const int row = 64 * half + 16 * wq + g;  // this thread's first fragment row in the block
  float acc[kTilesPerBlock][16], part[kTilesPerBlock][16];
#pragma unroll
  for (int t = 0; t < kTilesPerBlock; ++t)
#pragma unroll
    for (int i = 0; i < 16; ++i) acc[t][i] = part[t][i] = 0.f;
  // Two fragment sets alternate: before a set is rewritten, wait_group 1 leaves only the group
  // issued from the other set in flight.
  Frag fa, fb;
#pragma unroll
  for (int i = 0; i < 4; ++i) fa.hi[i] = fa.lo[i] = fb.hi[i] = fb.lo[i] = 0u;
  const uint32_t swz = static_cast<uint32_t>(g) << 4;
  for (int it = 0; it < nw; ++it) {
    const int s = it % kStages;
    mbarWait(fullBar + 8 * s, (it / kStages) & 1);
    const uint8_t* const aStage = smem + s * kStageBytes;
    const uint8_t* const rowPtr = aStage + row * 128;
    const uint8_t* const meta = aStage + kAStageBytes + kBStageBytes;
    const uint16_t* const colBytes = reinterpret_cast<const uint16_t*>(meta);
    const int* const cnt = reinterpret_cast<const int*>(meta + kCountsOffset);
    int c4[kTilesPerBlock];
#pragma unroll
    for (int t = 0; t < kTilesPerBlock; ++t) c4[t] = cnt[t];
    uint64_t dB = GroupLayout::desc(base + s * kStageBytes + kAStageBytes);
    int parity = 0;
#pragma unroll
    for (int t = 0; t < kTilesPerBlock; ++t) {
      const int c = c4[t];
      for (int slot = 0; slot < c; slot += kGroupK) {
        float cur[4];
        loadRaw(cur, rowPtr, colBytes + t * kWin, c, slot + tq, swz);
        asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory");
        const uint64_t dBLo = dB + (kGroupBytes / 2 >> 4);
        // The first group of a tile in a window starts its partial afresh.
        if (parity == 0) {
          issueGroup(part[t], fa, cur, dB, dBLo, slot == 0 ? 0 : 1);
        } else {
          issueGroup(part[t], fb, cur, dB, dBLo, slot == 0 ? 0 : 1);
        }
        asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
        parity ^= 1;
        dB += kGroupBytes >> 4;  // the descriptor's address field counts 16-byte units
      }
    }
    // Drain, then the partials join the running sums (mma_tf32.cuh says why) and the stage is free.
    asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
    fenceFrag(fa);
    fenceFrag(fb);
#pragma unroll
    for (int t = 0; t < kTilesPerBlock; ++t) {
      fenceAcc(part[t]);
      // A tile with no kept k in this window left its partial as the last window's.
      if (c4[t] > 0) {
#pragma unroll
        for (int i = 0; i < 16; ++i) acc[t][i] += part[t][i];
      }
    }
    mbarArrive(emptyBar + 8 * s);
  }

  // D fragment of m64n32k8: rows 16·wq + g (+8), columns 8j + 2tq (+1) in d[4j + 2h …].
  float* const dst = p.splits > 1 ? p.partial + static_cast<size_t>(split) * p.M * p.N : p.C;
  const int ld = p.splits > 1 ? p.N : p.ldc;
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = r0 + row + 8 * h;
    if (r >= p.M) continue;
#pragma unroll
    for (int t = 0; t < kTilesPerBlock; ++t) {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int col = (tg * kTilesPerBlock + t) * kTile + 8 * j + 2 * tq;
        if (col < p.N) dst[static_cast<size_t>(r) * ld + col] = acc[t][4 * j + 2 * h];
        if (col + 1 < p.N) dst[static_cast<size_t>(r) * ld + col + 1] = acc[t][4 * j + 2 * h + 1];
      }
    }
  }
#else
  (void)aMap;
  (void)p;
  __trap();
#endif
}

size_t smemBytes(int windows) { return 1024 + kStages * kStageBytes + 16 * kStages + 4 * static_cast<size_t>(windows + 1); }

// Windows split over gridDim.y where the block tiles fill less than a wave, at least 4 windows each.
int splitsFor(int M, int N, int K) {
  const Layout l = layoutFor(N, K);
  const int blocks = ((M + kRows - 1) / kRows) * l.tileGroups;
  int splits = std::min(numSMs() / std::max(blocks, 1), 8);
  splits = std::min(splits, l.windows / 4);
  return std::max(splits, 1);
}

}  // namespace

size_t hopperCompactBBytes(int N, int K) { return layoutFor(N, K).bytes; }

cudaError_t launchHopperCompactB(const float* B, int K, int N, int ldb, const uint8_t* bPat, void* compact,
                                 cudaStream_t stream) {
  if (K < 1 || N < 1 || ldb < N || bPat == nullptr || compact == nullptr) return cudaErrorInvalidValue;
  const Layout l = layoutFor(N, K);
  const int entries = l.tileGroups * l.windows;
  uint8_t* out = static_cast<uint8_t*>(compact);
  const int threads = entries * kTilesPerBlock;
  compactCountKernel<<<(threads + 255) / 256, 256, 0, stream>>>(bPat, N, K, out, l.tileGroups, l.windows);
  compactScanKernel<<<1, 1024, 0, stream>>>(out, entries, l.goffOffset);
  const dim3 grid(static_cast<unsigned>(entries), kTilesPerBlock);
  compactFillKernel<<<grid, 256, 0, stream>>>(B, K, N, ldb, bPat, out, l.windows, l.goffOffset, l.dataOffset);
  return cudaGetLastError();
}

bool hopperCompactGemmRuns(int M, int N, int K, int lda) {
  (void)M;
  return hopperGemmAvailable() && lda % 4 == 0 && N >= 1 && smemBytes(layoutFor(N, K).windows) <= static_cast<size_t>(optinSmem());
}

size_t hopperCompactGemmWorkspaceBytes(int M, int N, int K) {
  const int splits = splitsFor(M, N, K);
  return splits > 1 ? static_cast<size_t>(splits) * M * N * sizeof(float) : 0;
}

const char* hopperCompactGemmVariantName(int M, int N, int K) {
  return splitsFor(M, N, K) > 1 ? "wgmma-compact-128x128x64-splitk" : "wgmma-compact-128x128x64";
}

cudaError_t launchHopperCompactGemm(const DenseArgs& a, const void* compact, void* workspace, size_t workspaceBytes,
                                    cudaStream_t stream) {
  if (!validShape(a) || compact == nullptr) return cudaErrorInvalidValue;
  if (reinterpret_cast<uintptr_t>(a.A) % 16 != 0 || !hopperCompactGemmRuns(a.M, a.N, a.K, a.lda)) {
    return cudaErrorInvalidConfiguration;
  }
  const int splits = splitsFor(a.M, a.N, a.K);
  if (splits > 1 && (workspace == nullptr || workspaceBytes < hopperCompactGemmWorkspaceBytes(a.M, a.N, a.K))) {
    return cudaErrorInvalidValue;
  }
  CUtensorMap aMap;
  if (!encodeOperand(&aMap, a.A, a.M, a.K, a.lda, kRows)) return cudaErrorInvalidValue;
  const Layout l = layoutFor(a.N, a.K);
  const size_t smem = smemBytes(l.windows);
  auto kernel = compactGemmKernel;
  cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
  if (e != cudaSuccess) return e;
  Params p{};
  p.C = a.C;
  p.M = a.M, p.N = a.N, p.K = a.K, p.ldc = a.ldc;
  p.tileGroups = l.tileGroups;
  p.windows = l.windows;
  p.compact = static_cast<const uint8_t*>(compact);
  p.goffOffset = l.goffOffset;
  p.dataOffset = l.dataOffset;
  p.splits = splits;
  p.partial = static_cast<float*>(workspace);
  const int tiles = ((a.M + kRows - 1) / kRows) * l.tileGroups;
  kernel<<<dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(splits)), kThreads, smem, stream>>>(aMap, p);
  e = cudaGetLastError();
  if (e != cudaSuccess || splits == 1) return e;
  return launchSumSplits(p.partial, splits, a.M, a.N, a.C, a.ldc, stream);
}

}  // namespace esmm
