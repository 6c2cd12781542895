// gemv-skip: exact float32 FFMA for very few rows (the dispatcher takes it for M = 1 … 4; any M
// runs, in groups of 4 rows), streaming B once with 16-byte loads and never loading a (k, 32-column
// tile) row segment whose joint pattern bit is clear. One launch: the K splits write partial sums, and
// the last block of each column group to finish adds them in split order (the same bits on every
// run), so no second kernel and no atomics on C.
//
// Why: at one row the decode kernel spends 32 µs on B's 14 µs of bytes (K = N = 4096), about 10 of
// them in its second launch and pipeline fill (kernel-notes, "What the next version should be").
//
// Layout of the work: a warp covers 128 columns (4 pattern tiles, 8 lanes × 4 columns each) over
// a run of at most 8 slices (8 k each), whose pattern bytes its lanes read up front, one each, with
// two slices' B loads in flight; the 8 warps of a block split the block's slices and read A's rows
// from a copy in shared memory; blocks tile the columns (x), K (y) and groups of 4 rows (z).
// Where the call's joint k density is known and at most kOneSliceMaxDensity, a warp holds one slice
// in flight instead, and four blocks share a multiprocessor instead of two: twice the warps, each
// waiting on fewer loads (a sparse slice leaves most of a second register set empty). Where every
// joint bit is set, ESMM runs the dense form, which needs no pattern bytes and so issues its first
// B loads before A's rows are staged (kernel-notes v22).
#include <algorithm>

#include "common.cuh"
#include "variants.cuh"

namespace esmm {
namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kGroupCols = 128;
constexpr int kGroupRows = kGemvGroupRows;

constexpr int kMaxSlicesPerWarp = 8;  // one pattern byte per lane of a tile's 8 lanes
constexpr int kMaxSlicesPerBlock = kWarps * kMaxSlicesPerWarp;
constexpr int kEagerSlices = 2;  // a run this short is loaded before its pattern bits are read
constexpr int kSlicesNoSplit = kWarps * kEagerSlices;

// Arrival counters of the K splits, one per (column group, row group), kept in the module: each is
// zero between launches, as the last block of its group sets it back, so a call needs no memset
// (which cost 5–9 µs of a 20–30 µs call at one row). Launches that overlap on one device (two
// streams) would share them; ESMM's callers issue one call at a time per device. Grids with more
// groups use counters in the workspace, zeroed in the call.
constexpr int kResidentCounters = 1 << 16;
__device__ unsigned gSplitCounters[kResidentCounters];

// H200, K = N = 4096, µs, one-slice form against two (kernel-notes v22e): 1 row d = .25 / .5 / 1
// 12.6 / 15.1 / 22.5 against 13.8 / 15.7 / 22.3; 4 rows 16.7 / 18.3 / 26.0 against 17.4 / 19.4 / 24.8;
// at d = .625 a tie at 1 row, 2–3 % at 2–4. At K = 512 (16 rows) it lost 3 % at d = .25; at 2048
// (8 rows) it won 4–5 %.
constexpr double kOneSliceMaxDensity = 0.75;
constexpr int kOneSliceMinK = 2048;
constexpr int kOneSliceBlocksPerSM = 4;
constexpr int kTwoSliceBlocksPerSM = 2;

struct GemvPlan {
  int groups;          // 128-column groups
  int rowGroups;       // 4-row groups
  int splits;          // K splits
  int slicesPerBlock;  // 8-k slices per split (a multiple of kWarps, at most kMaxSlicesPerBlock)
};

GemvPlan planFor(int M, int N, int K, int blocksPerSM) {
  GemvPlan p;
  p.groups = ceilDiv(N, kGroupCols);
  p.rowGroups = ceilDiv(M, kGroupRows);
  const int slices = kSlicesOf(K);
  // A K of at most two slices a warp is not split: each warp then loads its whole run at once, and
  // the split sum (a fence, a counter and the partials read back: about 1.5 µs, as much as one more
  // pair of slices a warp) is not paid. H200, one row, K = 128, N = 64 … 384: 7.5 → 6.0 µs; at
  // K = 384 one split (six slices a warp) took 8.9 µs against 7.7 with the plan's six splits
  // (kernel-notes v20d).
  if (slices <= kSlicesNoSplit) {
    p.slicesPerBlock = ceilDiv(slices, kWarps) * kWarps;
    p.splits = 1;
    return p;
  }
  // About as many blocks as fit on the multiprocessors (their registers allow blocksPerSM) in one wave.
  const int want = std::max(1, blocksPerSM * numSMs() / (p.groups * p.rowGroups));
  const int per = ceilDiv(ceilDiv(slices, want), kWarps) * kWarps;
  p.slicesPerBlock = std::clamp(per, kWarps, kMaxSlicesPerBlock);
  p.splits = ceilDiv(slices, p.slicesPerBlock);
  return p;
}

size_t alignUp(size_t n) { return (n + 255) & ~size_t(255); }

size_t partialBytes(const GemvPlan& p, int M, int N) {
  return p.splits > 1 ? alignUp(size_t(p.splits) * M * N * sizeof(float)) : 0;
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

// The kept rows of one slice: all loads issued before anything waits on them.
template <bool kVec>
__device__ __forceinline__ void loadSlice(float4 (&b)[kBK], const EsmmArgs& a, unsigned bits, int s, int col0) {
#pragma unroll
  for (int j = 0; j < kBK; ++j) {
    if (bits & (1u << j)) b[j] = loadB<kVec>(a.B, a.ldb, a.N, s * kBK + j, col0);
  }
}

// acc += A(rows, k of slice s) · b, over the slice's kept k; A from the block's staged copy.
template <int kRows>
__device__ __forceinline__ void fmaSlice(float (&acc)[kRows][4], const float4 (&b)[kBK], unsigned bits,
                                         const float* as, int sLocal, int kSpan) {
#pragma unroll
  for (int j = 0; j < kBK; ++j) {
    if (!(bits & (1u << j))) continue;
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const float av = as[r * kSpan + sLocal * kBK + j];
      acc[r][0] = fmaf(av, b[j].x, acc[r][0]);
      acc[r][1] = fmaf(av, b[j].y, acc[r][1]);
      acc[r][2] = fmaf(av, b[j].z, acc[r][2]);
      acc[r][3] = fmaf(av, b[j].w, acc[r][3]);
    }
  }
}

// kDense: no patterns read, every k inside K multiplied (dense-tf32x3's path for the same rows, so
// ESMM's speedup here is its skipping, not how B is streamed; its first two slices are loaded before
// A is staged). kEager: at most kEagerSlices slices a warp, loaded before the pattern bits (an
// instance of its own: the early loads cost the longer runs registers, and 4 % at 16 rows, K = 512).
// kOneSlice: one slice in flight a warp, four blocks a multiprocessor (pattern-reading, non-eager
// runs only: oneSliceRuns).
template <int kRows, bool kVec, bool kDense, bool kEager, bool kOneSlice>
__global__ void __launch_bounds__(kThreads, kOneSlice ? kOneSliceBlocksPerSM : kTwoSliceBlocksPerSM)
    gemvSkipKernel(EsmmArgs a, int slicesPerBlock, float* partial, unsigned* counters) {
  static_assert(!kOneSlice || (!kDense && !kEager), "the one-slice form reads patterns and is not eager");
  waitForPriorGrids();
  allowDependentLaunch();
  __shared__ float red[kWarps][kRows][kGroupCols];
  __shared__ float as[kRows * kMaxSlicesPerBlock * kBK];  // A rows × this split's k
  __shared__ bool isLast;
  const int group = blockIdx.x, split = blockIdx.y, rowGroup = blockIdx.z;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int slices = kSlicesOf(a.K);
  const int row0 = rowGroup * kGroupRows;
  const int rows = min(kRows, a.M - row0);
  const int col0 = group * kGroupCols + lane * 4;
  const bool active = col0 < a.N;
  const int sBegin = split * slicesPerBlock;
  const int sEnd = min(slices, sBegin + slicesPerBlock);
  const int kSpan = slicesPerBlock * kBK;

  // This warp's run of slices and, per lane, the joint byte of one of them for the lane's tile (the
  // 8 lanes of a tile hold its 8 slices); read by shuffle, so no pattern load waits in the loop.
  const int perWarp = slicesPerBlock / kWarps;
  const int ws0 = sBegin + warp * perWarp;
  const int ns = max(0, min(sEnd, ws0 + perWarp) - ws0);
  // A run of at most two slices (a short K) is loaded whole before the pattern bytes and A's rows
  // are read, so the call waits on memory once rather than twice; the bits still choose the FMAs.
  // Rows inside K whose bits are clear are read for nothing, which at these sizes costs no time.
  const unsigned mine = active ? 0xFFFFFFFFu : 0u;  // a tile's lanes past N load nothing
  float4 b0[kBK], b1[kBK];
  // The dense form knows its bits without reading them: its first two slices go out before A's rows
  // are staged, so B streams from the call's first round trip (as the eager form's do).
  constexpr bool kEarly = kEager || kDense;
  if constexpr (kEarly) {
    if (ns > 0) loadSlice<kVec>(b0, a, sliceKMask(ws0, a.K) & mine, ws0, col0);
    if (ns > 1) loadSlice<kVec>(b1, a, sliceKMask(ws0 + 1, a.K) & mine, ws0 + 1, col0);
  }
  unsigned myBits = 0;
  {
    // Every lane of a tile inside N reads, so a tile cut by N still has all 8 of its slices' bits.
    const int s = ws0 + (lane & 7);
    if (col0 / kTile < tilesOf(a.N) && (lane & 7) < ns) {
      if constexpr (kDense) {
        myBits = sliceKMask(s, a.K);
      } else {
        myBits = unsigned(__ldg(a.aPat + size_t(row0 / kTile) * slices + s)) &
                 unsigned(__ldg(a.bPat + size_t(col0 / kTile) * slices + s));
      }
    }
  }
  // A's rows for the split's k, zero past M and K (bits past K are clear, so they are never used).
  const int k0 = sBegin * kBK;
  for (int i = threadIdx.x; i < kRows * kSpan; i += kThreads) {
    const int r = i / kSpan, kk = i % kSpan;
    as[i] = (r < rows && k0 + kk < a.K) ? __ldg(a.A + size_t(row0 + r) * a.lda + k0 + kk) : 0.f;
  }
  __syncthreads();

  float acc[kRows][4];
#pragma unroll
  for (int r = 0; r < kRows; ++r) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = 0.f;
  const int src = lane & ~7;
  const int wl = warp * perWarp;  // first slice of this warp, relative to the split
  if constexpr (kOneSlice) {
#pragma unroll
    for (int i = 0; i < kMaxSlicesPerWarp; ++i) {
      if (i < ns) {
        const unsigned bits = __shfl_sync(0xFFFFFFFFu, myBits, src | i) & mine;
        loadSlice<kVec>(b0, a, bits, ws0 + i, col0);
        fmaSlice<kRows>(acc, b0, bits, as, wl + i, kSpan);
      }
    }
  } else {
    // Two slices in flight: the next slice's loads go out before this slice's FMAs.
    constexpr int kRunSlices = kEager ? kEagerSlices : kMaxSlicesPerWarp;
    unsigned bits0 = __shfl_sync(0xFFFFFFFFu, myBits, src) & mine;
    if (!kEarly && ns > 0) loadSlice<kVec>(b0, a, bits0, ws0, col0);
#pragma unroll
    for (int i = 0; i < kRunSlices; i += 2) {
      const unsigned bits1 = __shfl_sync(0xFFFFFFFFu, myBits, src | (i + 1)) & mine;
      if (!(kEarly && i == 0) && i + 1 < ns) loadSlice<kVec>(b1, a, bits1, ws0 + i + 1, col0);
      if (i < ns) fmaSlice<kRows>(acc, b0, bits0, as, wl + i, kSpan);
      if (i + 2 < kRunSlices) {
        bits0 = __shfl_sync(0xFFFFFFFFu, myBits, src | (i + 2)) & mine;
        if (i + 2 < ns) loadSlice<kVec>(b0, a, bits0, ws0 + i + 2, col0);
      }
      if (i + 1 < ns) fmaSlice<kRows>(acc, b1, bits1, as, wl + i + 1, kSpan);
    }
  }
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    red[warp][r][lane * 4 + 0] = acc[r][0];
    red[warp][r][lane * 4 + 1] = acc[r][1];
    red[warp][r][lane * 4 + 2] = acc[r][2];
    red[warp][r][lane * 4 + 3] = acc[r][3];
  }
  __syncthreads();

  // The block's sum over its warps, in warp order; written to C when K is not split.
  const int splits = gridDim.y;
  for (int i = threadIdx.x; i < kRows * kGroupCols; i += kThreads) {
    const int r = i / kGroupCols, c = i % kGroupCols;
    const int col = group * kGroupCols + c;
    if (r >= rows || col >= a.N) continue;
    float sum = 0.f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) sum += red[w][r][c];
    if (splits == 1) {
      a.C[size_t(row0 + r) * a.ldc + col] = sum;
    } else {
      partial[(size_t(split) * a.M + row0 + r) * a.N + col] = sum;
    }
  }
  if (splits == 1) return;

  // The last block of this (column group, row group) to finish adds the splits in order. The block's
  // partial stores are ordered before thread 0's arrival by the barrier, and the arrival releases
  // them at GPU scope; in the last block the same arrival acquires the others' (one acq_rel atomic in
  // place of a fence in every thread before it and after it: 0.2–0.3 µs of a 14–25 µs call, v22c).
  __syncthreads();
  unsigned* counter = (counters != nullptr ? counters : gSplitCounters) + size_t(rowGroup) * gridDim.x + group;
  if (threadIdx.x == 0) isLast = arriveAcqRel(counter) == unsigned(splits - 1);
  __syncthreads();
  if (!isLast) return;
  for (int i = threadIdx.x; i < kRows * kGroupCols; i += kThreads) {
    const int r = i / kGroupCols, c = i % kGroupCols;
    const int col = group * kGroupCols + c;
    if (r >= rows || col >= a.N) continue;
    float sum = 0.f;
    for (int sp = 0; sp < splits; ++sp) sum += __ldcg(partial + (size_t(sp) * a.M + row0 + r) * a.N + col);
    a.C[size_t(row0 + r) * a.ldc + col] = sum;
  }
  if (threadIdx.x == 0) *counter = 0;  // ready for the next launch
}

bool vecRows(const EsmmArgs& a) { return rowsVec4Aligned(a.B, a.ldb) && a.N % 4 == 0; }
bool eagerPlan(const GemvPlan& p) { return p.slicesPerBlock / kWarps <= kEagerSlices; }

// The one-slice form: 16-byte rows, K of at least kOneSliceMinK, a run longer than the eager form's,
// and a joint k density known to be at most kOneSliceMaxDensity (at d = 1 the two-slice form is 1–5 %
// faster).
bool oneSliceRuns(const EsmmArgs& a, bool dense) {
  return !dense && vecRows(a) && a.K >= kOneSliceMinK && a.kDensity >= 0 &&
         a.kDensity <= kOneSliceMaxDensity && !eagerPlan(planFor(a.M, a.N, a.K, kTwoSliceBlocksPerSM));
}

template <int kRows, bool kDense>
cudaError_t launchRows(const EsmmArgs& a, const GemvPlan& p, bool oneSlice, float* partial, unsigned* counters,
                       cudaStream_t s) {
  const dim3 grid(p.groups, p.splits, p.rowGroups);
  const bool vec = vecRows(a);
  const bool eager = eagerPlan(p);
  auto kernel = vec ? (eager ? gemvSkipKernel<kRows, true, kDense, true, false>
                             : gemvSkipKernel<kRows, true, kDense, false, false>)
                    : (eager ? gemvSkipKernel<kRows, false, kDense, true, false>
                             : gemvSkipKernel<kRows, false, kDense, false, false>);
  if constexpr (!kDense) {
    if (oneSlice) kernel = gemvSkipKernel<kRows, true, false, false, true>;
  }
  return launchDependent(kernel, grid, dim3(kThreads), 0, s, a, p.slicesPerBlock, partial, counters);
}

bool residentCounters(const GemvPlan& p) { return size_t(p.groups) * p.rowGroups <= size_t(kResidentCounters); }

size_t workspaceFor(const GemvPlan& p, int M, int N) {
  if (p.splits == 1) return 0;
  return partialBytes(p, M, N) + (residentCounters(p) ? 0 : size_t(p.groups) * p.rowGroups * sizeof(unsigned));
}

}  // namespace

size_t gemvSkipWorkspaceBytes(int M, int N, int K) {
  // Either form may run (the call's density decides).
  return std::max(workspaceFor(planFor(M, N, K, kTwoSliceBlocksPerSM), M, N),
                  workspaceFor(planFor(M, N, K, kOneSliceBlocksPerSM), M, N));
}

namespace {

template <bool kDense>
cudaError_t launchGemvAs(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  const bool oneSlice = oneSliceRuns(args, kDense);
  const GemvPlan p = planFor(args.M, args.N, args.K, oneSlice ? kOneSliceBlocksPerSM : kTwoSliceBlocksPerSM);
  float* partial = nullptr;
  unsigned* counters = nullptr;
  if (p.splits > 1) {
    if (workspace == nullptr || workspaceBytes < workspaceFor(p, args.M, args.N)) {
      return cudaErrorInvalidValue;
    }
    partial = static_cast<float*>(workspace);
    if (!residentCounters(p)) {
      // The workspace is shared scratch: these counters start at zero in every call.
      counters = reinterpret_cast<unsigned*>(static_cast<char*>(workspace) + partialBytes(p, args.M, args.N));
      const cudaError_t e =
          cudaMemsetAsync(counters, 0, size_t(p.groups) * p.rowGroups * sizeof(unsigned), stream);
      if (e != cudaSuccess) return e;
    }
  }
  if (args.M == 1) return launchRows<1, kDense>(args, p, oneSlice, partial, counters, stream);
  if (args.M == 2) return launchRows<2, kDense>(args, p, oneSlice, partial, counters, stream);
  return launchRows<kGroupRows, kDense>(args, p, oneSlice, partial, counters, stream);
}

}  // namespace

cudaError_t launchGemvSkip(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  if (cudaError_t e = checkArgs(args); e != cudaSuccess) return e;
  // Every joint bit set: nothing to skip, so the dense form, which reads no patterns.
  if (args.kDensity >= 1.0) return launchGemvAs<true>(args, workspace, workspaceBytes, stream);
  return launchGemvAs<false>(args, workspace, workspaceBytes, stream);
}

cudaError_t launchDenseGemv(const DenseArgs& d, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  EsmmArgs p{};
  if (const cudaError_t e = denseAsEsmm(d, p); e != cudaSuccess) return e;
  return launchGemvAs<true>(p, workspace, workspaceBytes, stream);
}

}  // namespace esmm
