// ESMM for middle M (up to a few hundred rows): the decode technique (a lane owns one column of B and
// fetches one B element per set joint bit; a clear bit is bytes never read), with the fetches made by
// cp.async into shared memory kStages - 1 slices ahead of their use, so the bytes in flight are not
// bounded by registers, and up to 64 rows of C per lane (two A tiles), so each B element read feeds up
// to 64 FMAs. Above 64 rows the row groups are the fastest grid index: the blocks that read the same
// B slab run side by side, and all but the first find it in L2.
// A block covers kTilesN B tiles × one row group × one K split; its kGroupsK warps per B tile take
// interleaved slices and meet in shared memory at the end. The A rows of 128 k at a time sit in
// shared memory, transposed (a row-vector of one k is a broadcast 16-byte read). The joint bytes are
// staged one sub-chunk ahead, so the copies of the next sub-chunk's first slices can be issued
// before its barrier. K splits write partial sums, added by a second kernel (deterministic).
#include <algorithm>

#include "decode_common.cuh"

namespace esmm {
namespace {

using decode::kGroupsK;
using decode::kMaxSplits;
using decode::kThreads;
using decode::kTilesN;
using decode::kWarps;

constexpr int kSubSlices = 16;  // slices of A staged at a time (128 k)
constexpr int kStepsPerSub = kSubSlices / kGroupsK;  // slices a warp takes per sub-chunk
constexpr int kStages = 6;      // B slices in flight per warp (copied to shared memory, not registers)
static_assert(kSubSlices % kGroupsK == 0, "the warps of a B tile share each sub-chunk's slices evenly");
static_assert(kStages - 1 <= kStepsPerSub, "copies run at most one sub-chunk ahead (joints are staged one ahead)");

int rowsPerGroup(int M) { return M <= 16 ? 16 : (M <= 32 ? 32 : 64); }

// K splits: about two blocks per SM in one wave (two are resident per SM), never more partial sums
// than kMaxSplits; every split gets at least two sub-chunks so the B prefetch has room to work.
int wideSplits(int M, int N, int K) {
  const int subChunks = ceilDiv(kSlicesOf(K), kSubSlices);
  const int blocks = ceilDiv(tilesOf(N), kTilesN) * ceilDiv(M, rowsPerGroup(M));
  const int want = ceilDiv(2 * numSMs(), blocks);
  return std::max(1, std::min({want, kMaxSplits, ceilDiv(subChunks, 2)}));
}

template <int kRows>
struct Shape {
  static constexpr int kMTiles = kRows > kTile ? kRows / kTile : 1;  // A tiles per row group
  static constexpr int kTileRows = kRows > kTile ? kTile : kRows;    // rows of C per A tile here
  static_assert(kRows % 4 == 0 && (kRows <= kTile || kRows % kTile == 0), "row groups are whole A tiles");
};

template <int kRows>
constexpr size_t smemBytes() {
  return (static_cast<size_t>(kSubSlices) * kBK * kRows + static_cast<size_t>(kWarps) * kStages * kBK * 32) *
             sizeof(float) +
         2 * (kTilesN + Shape<kRows>::kMTiles) * kSubSlices;
}

template <int kRows, bool kVecA>
__global__ void __launch_bounds__(kThreads, 2) decodeWideKernel(EsmmArgs p, int subChunksPerSplit, float* partial) {
  waitForPriorGrids();
  allowDependentLaunch();
  using S = Shape<kRows>;
  extern __shared__ __align__(16) float smem[];
  float* As = smem;                             // [kSubSlices * kBK][kRows], A rows transposed
  float* Bs = As + kSubSlices * kBK * kRows;    // [kWarps][kStages][kBK][32]: each lane's own B column
  // Joint bytes, double-buffered by sub-chunk: B tiles (with the K mask) and A tiles apart, so the
  // copies take B & (A0 | A1) and each A tile's FMAs take B & At.
  uint8_t* bJ = reinterpret_cast<uint8_t*>(Bs + kWarps * kStages * kBK * 32);  // [2][kTilesN][kSubSlices]
  uint8_t* aJ = bJ + 2 * kTilesN * kSubSlices;                                 // [2][kMTiles][kSubSlices]
  static_assert(kSubSlices * kBK * kRows >= (kGroupsK - 1) * kRows * kTilesN * 32,
                "the cross-warp reduction reuses the A buffer");

  const int warp = threadIdx.x >> 5;
  const int lane = threadIdx.x & 31;
  const int tileLocal = warp % kTilesN;
  const int kg = warp / kTilesN;
  const int rowGroup = blockIdx.x;
  const int m0 = rowGroup * kRows;
  const int mTile0 = m0 / kTile;
  const int mTiles = tilesOf(p.M);
  const int nTile0 = blockIdx.y * kTilesN;
  const int nTiles = tilesOf(p.N);
  const int nks = kSlicesOf(p.K);
  const int col = (nTile0 + tileLocal) * kTile + lane;
  const bool colValid = col < p.N;
  const float* Bcol = p.B + (colValid ? col : 0);
  float* Bw = Bs + warp * kStages * kBK * 32 + lane;

  const int sub0 = blockIdx.z * subChunksPerSplit;
  const int sub1 = min(sub0 + subChunksPerSplit, ceilDiv(nks, kSubSlices));
  const int steps = (sub1 - sub0) * kStepsPerSub;

  auto stageJoints = [&](int sub) {
    const int buf = sub & 1;
    const int s0 = sub * kSubSlices;
    for (int idx = threadIdx.x; idx < (kTilesN + S::kMTiles) * kSubSlices; idx += kThreads) {
      const int t = idx / kSubSlices;
      const int i = idx % kSubSlices;
      const int s = s0 + i;
      const bool inRange = sub < sub1 && s < nks;
      if (t < kTilesN) {
        const int nTile = nTile0 + t;
        bJ[(buf * kTilesN + t) * kSubSlices + i] =
            inRange && nTile < nTiles
                ? static_cast<uint8_t>(p.bPat[static_cast<size_t>(nTile) * nks + s] & sliceKMask(s, p.K))
                : 0;
      } else {
        const int mt = t - kTilesN;
        const int mTile = mTile0 + mt;
        aJ[(buf * S::kMTiles + mt) * kSubSlices + i] =
            inRange && mTile < mTiles ? p.aPat[static_cast<size_t>(mTile) * nks + s] : 0;
      }
    }
  };

  // This warp's step u takes slice kg + u * kGroupsK of the split; its sub-chunk and local index.
  auto subOf = [&](int u) { return sub0 + u / kStepsPerSub; };
  auto localOf = [&](int u) { return kg + (u % kStepsPerSub) * kGroupsK; };

  // Copies the B elements of step u's set bits into this lane's stage u % kStages; one commit group
  // per step (empty past the end) keeps the wait count uniform. Clear bits are bytes never read.
  auto issue = [&](int u) {
    if (u < steps) {
      const int sub = subOf(u);
      const int buf = sub & 1;
      const int i = localOf(u);
      uint32_t any = 0;
#pragma unroll
      for (int t = 0; t < S::kMTiles; ++t) any |= aJ[(buf * S::kMTiles + t) * kSubSlices + i];
      const uint32_t need = bJ[(buf * kTilesN + tileLocal) * kSubSlices + i] & any;
      const int k = (sub * kSubSlices + i) * kBK;
      float* dst = Bw + (u % kStages) * kBK * 32;
#pragma unroll
      for (int j = 0; j < kBK; ++j) {
        if ((need >> j) & 1u) cpAsync4(dst + j * 32, Bcol + static_cast<size_t>(k + j) * p.ldb, colValid);
      }
    }
    cpAsyncCommit();
  };

  float acc[kRows];
#pragma unroll
  for (int r = 0; r < kRows; ++r) acc[r] = 0.f;

  // Every lane of a warp reads the same joint bytes, so the FMA branches are warp-uniform.
  auto compute = [&](int u) {
    const int sub = subOf(u);
    const int buf = sub & 1;
    const int i = localOf(u);
    const uint32_t bj = bJ[(buf * kTilesN + tileLocal) * kSubSlices + i];
    const float* bsrc = Bw + (u % kStages) * kBK * 32;
#pragma unroll
    for (int t = 0; t < S::kMTiles; ++t) {
      const uint32_t jt = bj & aJ[(buf * S::kMTiles + t) * kSubSlices + i];
      if (jt == 0) continue;
#pragma unroll
      for (int j = 0; j < kBK; ++j) {
        if ((jt >> j) & 1u) {
          const float b = bsrc[j * 32];
          const float* a = As + (i * kBK + j) * kRows + t * kTile;
#pragma unroll
          for (int r = 0; r < S::kTileRows; r += 4) {
            const float4 av = *reinterpret_cast<const float4*>(a + r);
            const int rr = t * kTile + r;
            acc[rr] = fmaf(av.x, b, acc[rr]);
            acc[rr + 1] = fmaf(av.y, b, acc[rr + 1]);
            acc[rr + 2] = fmaf(av.z, b, acc[rr + 2]);
            acc[rr + 3] = fmaf(av.w, b, acc[rr + 3]);
          }
        }
      }
    }
  };

  stageJoints(sub0);
  __syncthreads();
#pragma unroll
  for (int u = 0; u < kStages - 1; ++u) issue(u);
#pragma unroll 1
  for (int u = 0; u < steps; ++u) {
    if (u % kStepsPerSub == 0) {
      const int sub = subOf(u);
      __syncthreads();  // the previous sub-chunk's readers are done with As and its joint buffer
      decode::stageATransposed<kRows, kSubSlices, kVecA>(p, As, m0, sub * kSubSlices * kBK);
      stageJoints(sub + 1);  // past sub1 this stages zeros
      __syncthreads();
    }
    cpAsyncWait<kStages - 2>();  // this lane's copies of step u have landed (each lane reads only its own)
    compute(u);
    issue(u + kStages - 1);
  }
  cpAsyncWait<0>();

  decode::reduceAndStore<kRows>(p, acc, As, kg, tileLocal, lane, colValid, m0, col, blockIdx.z, partial);
}

template <int kRows>
cudaError_t launchRows(const EsmmArgs& p, int splits, float* partial, cudaStream_t stream) {
  const int subChunks = ceilDiv(kSlicesOf(p.K), kSubSlices);
  const int perSplit = ceilDiv(subChunks, splits);
  const dim3 grid(ceilDiv(p.M, kRows), ceilDiv(tilesOf(p.N), kTilesN), ceilDiv(subChunks, perSplit));
  if (grid.y > 65535u || grid.z > 65535u) return cudaErrorInvalidValue;
  constexpr size_t bytes = smemBytes<kRows>();
  const bool vec = rowsVec4Aligned(p.A, p.lda);
  const auto kernel = vec ? decodeWideKernel<kRows, true> : decodeWideKernel<kRows, false>;
  if (const cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
      e != cudaSuccess) {
    return e;
  }
  return launchDependent(kernel, grid, dim3(kThreads), bytes, stream, p, perSplit, partial);
}

// Splits actually launched (the per-split sub-chunk count is rounded up).
int launchedSplits(int M, int N, int K) {
  return decode::launchedSplits(ceilDiv(kSlicesOf(K), kSubSlices), wideSplits(M, N, K));
}

}  // namespace

size_t decodeWideWorkspaceBytes(int M, int N, int K) {
  if (M < 1 || N < 1 || K < 1) return 0;
  return decode::partialBytes(launchedSplits(M, N, K), M, N);
}

cudaError_t launchDecodeWide(const EsmmArgs& p, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  if (const cudaError_t e = checkArgs(p); e != cudaSuccess) return e;
  const int splits = launchedSplits(p.M, p.N, p.K);
  float* partial = nullptr;
  if (const cudaError_t e = decode::partialBuffer(p, splits, workspace, workspaceBytes, &partial); e != cudaSuccess) {
    return e;
  }
  const int rows = rowsPerGroup(p.M);
  const cudaError_t e = rows == 16   ? launchRows<16>(p, splits, partial, stream)
                        : rows == 32 ? launchRows<32>(p, splits, partial, stream)
                                     : launchRows<64>(p, splits, partial, stream);
  return decode::finishSplits(e, p, splits, partial, stream);
}

}  // namespace esmm
