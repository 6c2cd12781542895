// gemv-skip: exact float32 FFMA for very few rows (the dispatcher takes it for M = 1 … 4; any M
// runs, in groups of 4 rows), streaming B once with 16-byte loads and never loading a (k, 32-column
// tile) row segment whose joint pattern bit is clear. One launch: where K is split, the splits write
// partial sums and the last block of each tile to finish adds them in split order (the same bits on
// every run), so no second kernel and no atomics on C.
//
// Layout of the work: a block owns one 32-column pattern tile (and one group of rows) over its K
// range, so the tile's slices, kept or not, are the same for all of its warps. It stages A's rows
// for the range and the tile's joint pattern bytes, and lists the kept slices (those with a set bit)
// in shared memory; warp w takes kept slices w, w + kWarps, … of that list, so every warp gets the
// same number give or take one whatever the density. A warp reads a slice as 4 k rows at a time (8
// lanes × 16 bytes a row, lanes 8q … 8q+7 on rows q and q + 4 of the slice), with kRing kept slices'
// loads in flight: a skipped slice takes no slot of the pipeline. The warps' sums meet in shared
// memory in warp order; K is split over blocks only when the tiles alone do not fill the GPU.
//
// Why this layout (kernel-notes v18): with 128-column warps and K split 8 ways, the last block of a
// column group read the splits back from L2 after a fence and an arrival counter, about two round
// trips at the end of a 16–22 µs call, and a warp's two slices in flight were half empty at d = .5.
#include <algorithm>

#include "common.cuh"
#include "variants.cuh"

namespace esmm {
namespace {

constexpr int kWarps = 16;
constexpr int kThreads = kWarps * 32;
constexpr int kGroupRows = 4;
constexpr int kRing = 8;                 // kept slices in flight a warp
constexpr int kMaxSlicesPerBlock = 512;  // shared memory: A's rows (4 × 32 bytes a slice), the list, the rings
constexpr int kRingBytes = kWarps * kRing * 2 * 32 * 16;  // a warp's kRing slices, 2 row loads × 32 lanes × 16 bytes

// Arrival counters of the K splits, one per (tile, row group), kept in the module: each is zero
// between launches, as the last block of its group sets it back, so a call needs no memset (which
// cost 5–9 µs of a 20–30 µs call at one row). Launches that overlap on one device (two streams)
// would share them; ESMM's callers issue one call at a time per device. Grids with more groups use
// counters in the workspace, zeroed in the call.
constexpr int kResidentCounters = 1 << 16;
__device__ unsigned gSplitCounters[kResidentCounters];

struct GemvPlan {
  int tiles;           // 32-column tiles
  int rowGroups;       // 4-row groups
  int splits;          // K splits
  int slicesPerBlock;  // 8-k slices per split
};

GemvPlan planFor(int M, int N, int K) {
  GemvPlan p;
  p.tiles = tilesOf(N);
  p.rowGroups = ceilDiv(M, kGroupRows);
  const int slices = kSlicesOf(K);
  // One block a multiprocessor (its registers allow one): split K only where the tiles leave
  // multiprocessors idle, or where a block's range would not fit its shared memory.
  const long long blocks = static_cast<long long>(p.tiles) * p.rowGroups;
  const int want = static_cast<int>(std::max<long long>(1, numSMs() / blocks));
  const int splits = std::clamp(std::max(want, ceilDiv(slices, kMaxSlicesPerBlock)), 1, slices);
  p.slicesPerBlock = ceilDiv(slices, splits);
  p.splits = ceilDiv(slices, p.slicesPerBlock);
  return p;
}

size_t alignUp(size_t n) { return (n + 255) & ~size_t(255); }

size_t partialBytes(const GemvPlan& p, int M, int N) {
  return p.splits > 1 ? alignUp(size_t(p.splits) * M * N * sizeof(float)) : 0;
}

// Dynamic shared memory of a block: the warps' rings of B, A's rows for its k, the list of kept slices.
template <int kRows>
size_t smemBytes(int slicesPerBlock) {
  return kRingBytes + size_t(slicesPerBlock) * (kRows * kBK * sizeof(float) + sizeof(int));
}

template <bool kVec>
__device__ __forceinline__ float4 loadB(const float* B, int ldb, int N, int k, int col0) {
  const float* row = B + size_t(k) * ldb;
  if (kVec) return __ldg(reinterpret_cast<const float4*>(row + col0));
  float4 v;
  v.x = col0 < N ? __ldg(row + col0) : 0.f;
  v.y = col0 + 1 < N ? __ldg(row + col0 + 1) : 0.f;
  v.z = col0 + 2 < N ? __ldg(row + col0 + 2) : 0.f;
  v.w = col0 + 3 < N ? __ldg(row + col0 + 3) : 0.f;
  return v;
}

__device__ __forceinline__ void fma4(float (&acc)[4], float av, const float4& b) {
  acc[0] = fmaf(av, b.x, acc[0]);
  acc[1] = fmaf(av, b.y, acc[1]);
  acc[2] = fmaf(av, b.z, acc[2]);
  acc[3] = fmaf(av, b.w, acc[3]);
}

// kDense: no patterns read, every k inside K multiplied (dense-tf32x3's path for the same rows, so
// ESMM's speedup here is its skipping, not how B is streamed).
template <int kRows, bool kVec, bool kDense>
__global__ void __launch_bounds__(kThreads, 1) gemvSkipKernel(EsmmArgs a, int slicesPerBlock, float* partial,
                                                              unsigned* counters) {
  waitForPriorGrids();
  allowDependentLaunch();
  extern __shared__ __align__(16) float smem[];
  __shared__ float red[kWarps][kRows][kTile];
  __shared__ int warpKept[kWarps];
  __shared__ bool isLast;
  const int tile = blockIdx.x, split = blockIdx.y, rowGroup = blockIdx.z;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int slices = kSlicesOf(a.K);
  const int row0 = rowGroup * kGroupRows;
  const int rows = min(kRows, a.M - row0);
  const int sBegin = split * slicesPerBlock;
  const int nSlices = min(slices, sBegin + slicesPerBlock) - sBegin;
  const int kSpan = slicesPerBlock * kBK;
  float4* ring = reinterpret_cast<float4*>(smem) + warp * (kRing * 2 * 32);  // [kRing][2][32]: this warp's
  float* as = smem + kRingBytes / sizeof(float);                               // [kRows][kSpan]
  int* list = reinterpret_cast<int*>(as + kRows * kSpan);  // kept slices: (slice - sBegin) << 8 | joint byte

  // A's rows for the block's k, zero past M and K (bits past K are clear, so they are never used):
  // asynchronous copies, all in flight at once, which land while the list is made.
  const int k0 = sBegin * kBK;
  const int kIn = min(kSpan, a.K - k0);  // k of the range inside K
  if ((reinterpret_cast<uintptr_t>(a.A) & 15u) == 0 && (a.lda & 3) == 0) {
    for (int i = threadIdx.x; i < kRows * kSpan / 4; i += kThreads) {
      const int r = i / (kSpan / 4), kk = (i % (kSpan / 4)) * 4;
      const int bytes = r < rows ? 4 * max(0, min(4, kIn - kk)) : 0;
      cpAsync16(as + r * kSpan + kk, bytes > 0 ? a.A + size_t(row0 + r) * a.lda + k0 + kk : a.A, bytes);
    }
  } else {
    for (int i = threadIdx.x; i < kRows * kSpan; i += kThreads) {
      const int r = i / kSpan, kk = i % kSpan;
      const bool in = r < rows && kk < kIn;
      cpAsync4(as + i, in ? a.A + size_t(row0 + r) * a.lda + k0 + kk : a.A, in);
    }
  }
  cpAsyncCommit();
  // The kept slices in order, kThreads at a time: a thread's byte, the warps' counts, their prefix.
  const unsigned below = (1u << lane) - 1u;
  int kept = 0;  // the same in every thread
  for (int p0 = 0; p0 < nSlices; p0 += kThreads) {
    const int sl = p0 + threadIdx.x;
    unsigned byte = 0;
    if (sl < nSlices) {
      const int s = sBegin + sl;
      if constexpr (kDense) {
        byte = sliceKMask(s, a.K);
      } else {
        byte = unsigned(__ldg(a.aPat + size_t(row0 / kTile) * slices + s)) &
               unsigned(__ldg(a.bPat + size_t(tile) * slices + s));
      }
    }
    const unsigned m = __ballot_sync(0xFFFFFFFFu, byte != 0);
    if (lane == 0) warpKept[warp] = __popc(m);
    cpAsyncWait<0>();  // this thread's copies of A; the barrier publishes everyone's
    __syncthreads();
    int before = kept, all = 0;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
      const int c = warpKept[w];
      before += w < warp ? c : 0;
      all += c;
    }
    if (byte != 0) list[before + __popc(m & below)] = (sl << 8) | int(byte);
    kept += all;
    __syncthreads();  // warpKept is rewritten by the next pass; the list and A are complete after the last
  }

  // Lane (q, c): columns 4c … 4c+3 of the tile, rows q and q + 4 of each slice.
  const int q = lane >> 3;
  const int col0 = tile * kTile + (lane & 7) * 4;
  const bool active = col0 < a.N;
  float acc[kRows][4];
#pragma unroll
  for (int r = 0; r < kRows; ++r) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = 0.f;

  // B's kept rows go through the warp's ring in shared memory by asynchronous copies, one commit
  // group a slice (empty past the list, so the count of groups stays the same): a lane reads back
  // only what it copied, and kRing slices are in flight without holding registers.
  int ent[kRing];   // the ring's list entries, -1 past the list
  int next = warp;  // the warp's next list index to load
  auto copyRow = [&](float4* dst, int k) {
    const float* src = a.B + size_t(k) * a.ldb + col0;
    if constexpr (kVec) {
      cpAsync16(dst, src, 16);
    } else {
      float* d = reinterpret_cast<float*>(dst);
#pragma unroll
      for (int j = 0; j < 4; ++j) cpAsync4(d + j, col0 + j < a.N ? src + j : src, col0 + j < a.N);
    }
  };
  auto issue = [&](int i) {
    ent[i] = next < kept ? list[next] : -1;
    next += kWarps;
    if (ent[i] >= 0 && active) {
      const int k = (sBegin + (ent[i] >> 8)) * kBK + q;
      if (ent[i] & (1 << q)) copyRow(&ring[(i * 2) * 32 + lane], k);
      if (ent[i] & (16 << q)) copyRow(&ring[(i * 2 + 1) * 32 + lane], k + 4);
    }
    cpAsyncCommit();
  };
  auto consume = [&](int i) {
    cpAsyncWait<kRing - 1>();  // the oldest group, slot i's
    if (!active) return;
    const float* ak = as + (ent[i] >> 8) * kBK + q;
    if (ent[i] & (1 << q)) {
      const float4 b = ring[(i * 2) * 32 + lane];
#pragma unroll
      for (int r = 0; r < kRows; ++r) fma4(acc[r], ak[r * kSpan], b);
    }
    if (ent[i] & (16 << q)) {
      const float4 b = ring[(i * 2 + 1) * 32 + lane];
#pragma unroll
      for (int r = 0; r < kRows; ++r) fma4(acc[r], ak[r * kSpan + 4], b);
    }
    asm volatile("" ::: "memory");  // the slot is read before its next copy is issued
  };
#pragma unroll
  for (int i = 0; i < kRing; ++i) issue(i);
  for (bool more = true; more;) {
#pragma unroll
    for (int i = 0; i < kRing; ++i) {
      if (ent[i] < 0) {  // entries are taken in list order: the rest are past it too
        more = false;
        break;
      }
      consume(i);
      issue(i);
    }
  }

  // The warp's sum over q (a fixed shuffle order), then the block's over its warps in warp order.
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      acc[r][j] += __shfl_xor_sync(0xFFFFFFFFu, acc[r][j], 8);
      acc[r][j] += __shfl_xor_sync(0xFFFFFFFFu, acc[r][j], 16);
    }
    if (q == 0) {
#pragma unroll
      for (int j = 0; j < 4; ++j) red[warp][r][lane * 4 + j] = acc[r][j];
    }
  }
  __syncthreads();

  const int splits = gridDim.y;
  if (threadIdx.x < kRows * kTile) {
    const int r = threadIdx.x / kTile, c = threadIdx.x % kTile;
    const int col = tile * kTile + c;
    if (r < rows && col < a.N) {
      float sum = 0.f;
#pragma unroll
      for (int w = 0; w < kWarps; ++w) sum += red[w][r][c];
      if (splits == 1) {
        a.C[size_t(row0 + r) * a.ldc + col] = sum;
      } else {
        partial[(size_t(split) * a.M + row0 + r) * a.N + col] = sum;
      }
    }
  }
  if (splits == 1) return;

  // The last block of this (tile, row group) to finish adds the splits in order.
  __threadfence();
  __syncthreads();
  unsigned* counter = (counters != nullptr ? counters : gSplitCounters) + size_t(rowGroup) * gridDim.x + tile;
  if (threadIdx.x == 0) isLast = atomicAdd(counter, 1u) == unsigned(splits - 1);
  __syncthreads();
  if (!isLast) return;
  __threadfence();
  if (threadIdx.x < kRows * kTile) {
    const int r = threadIdx.x / kTile, c = threadIdx.x % kTile;
    const int col = tile * kTile + c;
    if (r < rows && col < a.N) {
      float sum = 0.f;
      for (int sp = 0; sp < splits; ++sp) sum += __ldcg(partial + (size_t(sp) * a.M + row0 + r) * a.N + col);
      a.C[size_t(row0 + r) * a.ldc + col] = sum;
    }
  }
  if (threadIdx.x == 0) *counter = 0;  // ready for the next launch
}

template <int kRows, bool kDense>
cudaError_t launchRows(const EsmmArgs& a, const GemvPlan& p, float* partial, unsigned* counters, cudaStream_t s) {
  const dim3 grid(p.tiles, p.splits, p.rowGroups);
  if (grid.y > 65535u || grid.z > 65535u) return cudaErrorInvalidValue;
  const bool vec = rowsVec4Aligned(a.B, a.ldb) && a.N % 4 == 0;
  const auto kernel = vec ? gemvSkipKernel<kRows, true, kDense> : gemvSkipKernel<kRows, false, kDense>;
  const size_t bytes = smemBytes<kRows>(p.slicesPerBlock);
  if (const cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes));
      e != cudaSuccess) {
    return e;
  }
  return launchDependent(kernel, grid, dim3(kThreads), bytes, s, a, p.slicesPerBlock, partial, counters);
}

bool residentCounters(const GemvPlan& p) { return size_t(p.tiles) * p.rowGroups <= size_t(kResidentCounters); }

}  // namespace

size_t gemvSkipWorkspaceBytes(int M, int N, int K) {
  const GemvPlan p = planFor(M, N, K);
  if (p.splits == 1) return 0;
  return partialBytes(p, M, N) + (residentCounters(p) ? 0 : size_t(p.tiles) * p.rowGroups * sizeof(unsigned));
}

namespace {

template <bool kDense>
cudaError_t launchGemvAs(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  const GemvPlan p = planFor(args.M, args.N, args.K);
  float* partial = nullptr;
  unsigned* counters = nullptr;
  if (p.splits > 1) {
    if (workspace == nullptr || workspaceBytes < gemvSkipWorkspaceBytes(args.M, args.N, args.K)) {
      return cudaErrorInvalidValue;
    }
    partial = static_cast<float*>(workspace);
    if (!residentCounters(p)) {
      // The workspace is shared scratch: these counters start at zero in every call.
      counters = reinterpret_cast<unsigned*>(static_cast<char*>(workspace) + partialBytes(p, args.M, args.N));
      const cudaError_t e =
          cudaMemsetAsync(counters, 0, size_t(p.tiles) * p.rowGroups * sizeof(unsigned), stream);
      if (e != cudaSuccess) return e;
    }
  }
  if (args.M == 1) return launchRows<1, kDense>(args, p, partial, counters, stream);
  if (args.M == 2) return launchRows<2, kDense>(args, p, partial, counters, stream);
  return launchRows<kGroupRows, kDense>(args, p, partial, counters, stream);
}

}  // namespace

cudaError_t launchGemvSkip(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  if (cudaError_t e = checkArgs(args); e != cudaSuccess) return e;
  return launchGemvAs<false>(args, workspace, workspaceBytes, stream);
}

cudaError_t launchDenseGemv(const DenseArgs& d, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  EsmmArgs p{};
  if (const cudaError_t e = denseAsEsmm(d, p); e != cudaSuccess) return e;
  return launchGemvAs<true>(p, workspace, workspaceBytes, stream);
}

}  // namespace esmm
