// skinny: exact float32 FFMA for few rows of A (1 … 64), B streamed once through shared memory,
// only the (k, 32-column tile) rows of B whose joint pattern bit is set copied or multiplied; the
// K splits of a column block form one thread-block cluster and add their partial sums through
// distributed shared memory, in split order: one launch, no scratch in global memory, the same
// bits on every run. Hopper (sm_90) and later: clusters.
//
// Why (kernel-notes, v14): below 65 rows the swapped wgmma path multiplies three tf32 passes over a
// 128-column B tile, so b-only masks (random per 32-column tile) skip nothing there, and the decode
// kernels read A from shared memory once per FFMA pair. Here a warp owns one B tile (so its skip is
// exact: every lane of the warp sees the same pattern bit) and all the block's rows: lane = row
// group (4) × column quad (8), each lane 4 columns × kLR rows, so one 16-byte A read feeds 16 FFMAs.
//
// Block: 8 warps = 8 B tiles (256 columns) × Rw = 4·kLR rows, over a run of K in chunks of 32 k.
// Pipeline: kStages - 1 chunks in flight per block with cp.async (A, transposed and swizzled, by the
// whole block; each warp its tile's kept B rows).
#include <cooperative_groups.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "../common.cuh"
#include "experimental.cuh"

namespace esmm {
namespace {

namespace cg = cooperative_groups;

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kBlockCols = kWarps * kTile;  // 256
constexpr int kChunkSlices = 4;
constexpr int kChunkK = kChunkSlices * kBK;  // 32 k per pipeline stage
constexpr int kStages = 4;
constexpr int kMaxSplits = 8;  // portable cluster size

template <int kLR>
struct Shape {
  static constexpr int kRw = 4 * kLR;                                    // rows per block
  static constexpr int kBStageFloats = kWarps * kChunkK * kTile;         // 8 tiles × 32 k × 32 columns
  static constexpr int kAStageFloats = kChunkK * kRw;                    // 32 k × Rw rows, transposed
  static constexpr int kRingFloats = kStages * (kBStageFloats + kAStageFloats);
  static_assert(kLR % 4 == 0, "rows per lane: a multiple of 4 (16-byte A reads)");
  static_assert(kRw * kBlockCols <= kStages * kBStageFloats, "the cluster sum reuses the B ring");
};

// Where A's element (row r of the block, k within the chunk) sits in a stage: row-vectors of one k,
// the four row groups' t-th float4 side by side (one 64-byte read serves the warp), the float4
// index XOR-swizzled by k / 4 so the cp.async writes of a warp (8 k apart per lane group) spread
// over banks.
template <int kLR>
__device__ __forceinline__ int aIndex(int r, int kk) {
  const int g = r / kLR, i = r % kLR;
  const int t = i / 4, e = i % 4;
  const int f4 = t * 4 + (g ^ ((kk / 4) & 3));
  return kk * Shape<kLR>::kRw + f4 * 4 + e;
}

// acc[4t + e][j] += A(row 4t + e of this lane) · B(column j of this lane), at one k.
template <int kLR>
__device__ __forceinline__ void fmaRows(float (&acc)[kLR][4], const float4 (&av)[kLR / 4], const float4& b) {
#pragma unroll
  for (int t = 0; t < kLR / 4; ++t) {
    const float v[4] = {av[t].x, av[t].y, av[t].z, av[t].w};
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      float* r = acc[t * 4 + e];
      r[0] = fmaf(v[e], b.x, r[0]);
      r[1] = fmaf(v[e], b.y, r[1]);
      r[2] = fmaf(v[e], b.z, r[2]);
      r[3] = fmaf(v[e], b.w, r[3]);
    }
  }
}

template <int kLR, bool kVecB>
__global__ void __launch_bounds__(kThreads, 1) skinnyKernel(EsmmArgs a, int chunksPerSplit, bool vecC, int dbg) {
#if __CUDA_ARCH__ >= 900
  using S = Shape<kLR>;
  constexpr int kRw = S::kRw;
  extern __shared__ __align__(16) float smem[];
  float* const bRing = smem;                                  // [stage][warp][k][32]
  float* const aRing = smem + kStages * S::kBStageFloats;     // [stage][k][Rw] (swizzled)
  uint32_t* const bits = reinterpret_cast<uint32_t*>(smem + S::kRingFloats);  // [warp][chunk]

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 8, q = lane % 8;  // row group, column quad
  const int colBlock = blockIdx.x, split = blockIdx.y, rowGroup = blockIdx.z;
  const int row0 = rowGroup * kRw;
  const int tile = colBlock * kWarps + warp;
  const int slices = kSlicesOf(a.K);
  const int tiles = tilesOf(a.N);
  const int chunks = ceilDiv(slices, kChunkSlices);
  const int c0 = split * chunksPerSplit;
  const int nc = max(0, min(chunks, c0 + chunksPerSplit) - c0);

  // Joint bits of every chunk of this split, per warp: (OR of the block's A tiles) AND the warp's
  // B tile; 8 bits per slice, 4 slices per word. Bits past K are clear in both patterns.
  const int aTile0 = row0 / kTile, aTile1 = min(tilesOf(a.M), ceilDiv(row0 + kRw, kTile));
  for (int i = threadIdx.x; i < kWarps * nc; i += kThreads) {
    const int w = i / nc, c = i % nc;
    const int t = colBlock * kWarps + w;
    uint32_t word = 0;
    if (t < tiles) {
#pragma unroll
      for (int j = 0; j < kChunkSlices; ++j) {
        const int s = (c0 + c) * kChunkSlices + j;
        if (s >= slices) break;
        uint32_t av = 0;
        for (int at = aTile0; at < aTile1; ++at) av |= a.aPat[static_cast<size_t>(at) * slices + s];
        word |= (av & a.bPat[static_cast<size_t>(t) * slices + s]) << (8 * j);
      }
    }
    bits[w * nc + c] = word;
  }
  __syncthreads();

  // Issue chunk c into stage c % kStages: A's Rw × 32 block (every thread) and this warp's kept B rows.
  const bool vecB = kVecB;
  auto issue = [&](int c) {
    const int st = c % kStages;
    const int kBase = (c0 + c) * kChunkK;
    float* as = aRing + st * S::kAStageFloats;
    // A: consecutive threads walk k (coalesced 4-byte reads of a row), zero past M and K.
    for (int i = (dbg & 1) ? kRw * kChunkK : threadIdx.x; i < kRw * kChunkK; i += kThreads) {
      const int r = i / kChunkK, kk = i % kChunkK;
      const int row = row0 + r, k = kBase + kk;
      const bool ok = row < a.M && k < a.K;
      cpAsync4(as + aIndex<kLR>(r, kk), ok ? a.A + static_cast<size_t>(row) * a.lda + k : a.A, ok);
    }
    const uint32_t word = bits[warp * nc + c];
    float* bs = bRing + (st * kWarps + warp) * kChunkK * kTile;
    const int col0 = tile * kTile;
    if (word != 0 && !(dbg & 2)) {
      if (vecB) {
        // 8 lanes per 128-byte row, 4 rows per instruction.
#pragma unroll
        for (int it = 0; it < kChunkK / 4; ++it) {
          const int kk = it * 4 + g;
          if (!((word >> kk) & 1u)) continue;
          const int col = col0 + q * 4;
          const int valid = col < a.N ? min(4, a.N - col) * 4 : 0;
          const float* src = a.B + static_cast<size_t>(kBase + kk) * a.ldb + (valid > 0 ? col : 0);
          cpAsync16(bs + kk * kTile + q * 4, src, valid);
        }
      } else {
        for (int kk = 0; kk < kChunkK; ++kk) {
          if (!((word >> kk) & 1u)) continue;
          const int col = col0 + lane;
          const bool ok = col < a.N;
          cpAsync4(bs + kk * kTile + lane, ok ? a.B + static_cast<size_t>(kBase + kk) * a.ldb + col : a.B, ok);
        }
      }
    }
  };

  float acc[kLR][4];
#pragma unroll
  for (int i = 0; i < kLR; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.f;

#pragma unroll
  for (int c = 0; c < kStages - 1; ++c) {
    if (c < nc) issue(c);
    cpAsyncCommit();
  }
  for (int c = 0; c < nc; ++c) {
    cpAsyncWait<kStages - 2>();
    __syncthreads();  // chunk c landed for every thread; stage (c - 1) % kStages is free again
    if (c + kStages - 1 < nc) issue(c + kStages - 1);
    cpAsyncCommit();
    const int st = c % kStages;
    const float* as = aRing + st * S::kAStageFloats;
    const float4* bs = reinterpret_cast<const float4*>(bRing + (st * kWarps + warp) * kChunkK * kTile);
    uint32_t word = (dbg & 4) ? 0u : bits[warp * nc + c];
    // Two kept k at a time (both loads before either's FMAs); the word is the same for the warp.
    while (word != 0) {
      const int k0 = __ffs(word) - 1;
      word &= word - 1;
      const bool two = word != 0;
      const int k1 = two ? __ffs(word) - 1 : k0;
      if (two) word &= word - 1;
      const float4 b0 = bs[k0 * (kTile / 4) + q];
      const float4 b1 = bs[k1 * (kTile / 4) + q];
      float4 a0[kLR / 4], a1[kLR / 4];
      const float4* ak0 = reinterpret_cast<const float4*>(as + k0 * kRw);
      const float4* ak1 = reinterpret_cast<const float4*>(as + k1 * kRw);
#pragma unroll
      for (int t = 0; t < kLR / 4; ++t) {
        a0[t] = ak0[t * 4 + (g ^ ((k0 / 4) & 3))];
        a1[t] = ak1[t * 4 + (g ^ ((k1 / 4) & 3))];
      }
      fmaRows<kLR>(acc, a0, b0);
      if (two) fmaRows<kLR>(acc, a1, b1);
    }
  }
  cpAsyncWait<0>();
  __syncthreads();

  // Each split's Rw × 256 partial into its own shared memory (the B ring, now idle), then every
  // block of the cluster adds its share of the elements over the splits in split order.
  float* red = smem;
#pragma unroll
  for (int i = 0; i < kLR; ++i) {
    const int r = g * kLR + i;
    *reinterpret_cast<float4*>(red + r * kBlockCols + warp * kTile + q * 4) =
        make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
  }
  cg::cluster_group cluster = cg::this_cluster();
  cluster.sync();
  const int splits = static_cast<int>(cluster.num_blocks());
  const int rank = static_cast<int>(cluster.block_rank());
  constexpr int kQuads = kRw * kBlockCols / 4;
  const int per = ceilDiv(kQuads, splits);
  const int e0 = rank * per, e1 = min(kQuads, e0 + per);
  for (int e = e0 + threadIdx.x; e < e1; e += kThreads) {
    const int r = e / (kBlockCols / 4), col = colBlock * kBlockCols + (e % (kBlockCols / 4)) * 4;
    const int row = row0 + r;
    if (row >= a.M || col >= a.N) continue;
    // Every split's four partial sums first (remote reads in flight together), then added in order.
    float4 v[kMaxSplits];
#pragma unroll
    for (int sp = 0; sp < kMaxSplits; ++sp) {
      v[sp] = sp < splits ? reinterpret_cast<const float4*>(cluster.map_shared_rank(red, sp))[e]
                          : make_float4(0.f, 0.f, 0.f, 0.f);
    }
    float4 sum = v[0];
#pragma unroll
    for (int sp = 1; sp < kMaxSplits; ++sp) {
      if (sp < splits) {
        sum.x += v[sp].x;
        sum.y += v[sp].y;
        sum.z += v[sp].z;
        sum.w += v[sp].w;
      }
    }
    float* dst = a.C + static_cast<size_t>(row) * a.ldc + col;
    if (vecC && col + 4 <= a.N) {
      *reinterpret_cast<float4*>(dst) = sum;
    } else {
      const float s4[4] = {sum.x, sum.y, sum.z, sum.w};
      for (int j = 0; j < 4 && col + j < a.N; ++j) dst[j] = s4[j];
    }
  }
  cluster.sync();  // no block leaves while another still reads its shared memory
#else
  (void)a;
  (void)chunksPerSplit;
  (void)vecC;
  (void)dbg;
  __trap();
#endif
}

template <int kLR>
size_t smemBytesFor(int chunksPerSplit) {
  return Shape<kLR>::kRingFloats * sizeof(float) + static_cast<size_t>(kWarps) * chunksPerSplit * sizeof(uint32_t);
}

template <int kLR, bool kVecB>
cudaError_t launchShape(const EsmmArgs& a, cudaStream_t stream) {
  const int colBlocks = ceilDiv(a.N, kBlockCols);
  const int rowGroups = ceilDiv(a.M, Shape<kLR>::kRw);
  const int chunks = ceilDiv(kSlicesOf(a.K), kChunkSlices);
  // One block per multiprocessor: split K until the blocks cover the chip, at most a cluster's worth.
  static const int maxSplits = getenv("SKINNY_SPLITS") ? atoi(getenv("SKINNY_SPLITS")) : kMaxSplits;
  int splits = std::clamp(numSMs() / std::max(1, colBlocks * rowGroups), 1, maxSplits);
  splits = std::min(splits, chunks);
  const int chunksPerSplit = ceilDiv(chunks, splits);
  splits = ceilDiv(chunks, chunksPerSplit);
  const size_t smem = smemBytesFor<kLR>(chunksPerSplit);
  auto kernel = skinnyKernel<kLR, kVecB>;
  if (cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
      e != cudaSuccess) {
    return e;
  }
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = dim3(colBlocks, splits, rowGroups);
  cfg.blockDim = dim3(kThreads);
  cfg.dynamicSmemBytes = smem;
  cfg.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeClusterDimension;
  attr[0].val.clusterDim.x = 1;
  attr[0].val.clusterDim.y = splits;
  attr[0].val.clusterDim.z = 1;
  cfg.attrs = attr;
  cfg.numAttrs = 1;
  if (getenv("SKINNY_DEBUG")) {
    int clusters = -1;
    cudaOccupancyMaxActiveClusters(&clusters, kernel, &cfg);
    fprintf(stderr, "skinny M=%d N=%d K=%d kLR=%d grid=%d,%d,%d smem=%zu maxActiveClusters=%d\n", a.M, a.N, a.K, kLR,
            colBlocks, splits, rowGroups, smem, clusters);
  }
  return cudaLaunchKernelEx(&cfg, kernel, a, chunksPerSplit, rowsVec4Aligned(a.C, a.ldc), getenv("SKINNY_DBG") ? atoi(getenv("SKINNY_DBG")) : 0);
}

template <int kLR>
cudaError_t launchRows(const EsmmArgs& a, cudaStream_t stream) {
  if (rowsVec4Aligned(a.B, a.ldb)) return launchShape<kLR, true>(a, stream);
  return launchShape<kLR, false>(a, stream);
}

}  // namespace

bool skinnySupported() {
  int dev = 0, major = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return major >= 9;
}

cudaError_t launchSkinny(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  (void)workspace;
  (void)workspaceBytes;
  if (cudaError_t e = checkArgs(args); e != cudaSuccess) return e;
  if (!skinnySupported()) return cudaErrorNotSupported;
  if (args.M <= 16) return launchRows<4>(args, stream);
  if (args.M <= 32) return launchRows<8>(args, stream);
  return launchRows<16>(args, stream);
}

}  // namespace esmm
