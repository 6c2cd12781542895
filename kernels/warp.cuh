// The tf32x3-warp technique: ESMM where each warp skips exactly its own work and nothing is staged. A warp owns
// one 32×32 block of C (one A tile × one B tile), lists the k where both tiles' pattern bits are
// set, and feeds those k straight from global memory (L2) into its MMA fragments, eight at a time:
// no shared-memory stages, no block barriers, no union over other warps' k. So the MMAs, the bytes
// read and the loop trips all scale with the joint density of the warp's own pair of tiles, which
// is what the k-list kernels (klist.cuh) cannot reach at low density: there a block stages every k
// any of its warps keeps (a 128×32 block lists 17 % of k at joint d = .25 where each warp keeps 6 %).
//
// The loads are 16 bytes a lane. MMA fragment rows and columns can be any permutation of C's, as
// long as the store undoes it, so a lane's fragment values for one k are 4 consecutive rows of A
// (one 16-byte load of At, A transposed as the k-list kernels have it) and 4 consecutive columns of
// B (one 16-byte load of B's row k): lane (g, t) reads rows and columns 4g … 4g+3 at the k of its
// slots t and t+4, and holds the 4 × 8 block of C at rows 4g … 4g+3, columns 8t … 8t+7.
//
// 3xTF32 as mma_tf32.cuh does it (hi·hi + hi·lo + lo·hi into a short-lived accumulator flushed on
// the FP32 pipes every kFlushSteps k-steps), so results agree with the other tensor-core kernels.
//
// K split (few rows): with too few tile pairs to fill the GPU, blockIdx.y deals K's 64-k pattern words
// to gridDim.y splits in turn (split s takes words s, s + S, s + 2S, …), so a split's pattern words
// stay whole and every split gets its share of the kept k even where the dense k of a weight sit
// together (pruned trees whose columns are sorted by norm: contiguous ranges put all of them in one
// or two splits, which then set the kernel's time). Each split writes its partial C (split-major,
// M×N each) and launchSumSplits adds them in split order.
//
// This header holds the technique, templated on the block (warps along M and N, resident blocks a
// multiprocessor) and the k listed at a time; esmm_warp.cu runs the dispatcher's configurations,
// experimental/esmm_warp_tiles.cu the others measured (kernel-notes v15, v16).
#pragma once
#include <algorithm>
#include <cstdint>

#include "common.cuh"
#include "klist.cuh"
#include "mma_tf32.cuh"
#include "variants.cuh"

namespace esmm::warpk {

struct Frag {
  float4 a0, a1;  // At rows k0 and k1 at the lane's 4 rows
  float4 b0, b1;  // B rows k0 and k1 at the lane's 4 columns
};

__device__ __forceinline__ float4 zero4() { return make_float4(0.f, 0.f, 0.f, 0.f); }

// B's 4 columns col … col+3 of row k (zeros past N; k < 0: the padding of a short last step).
template <bool kVecB>
__device__ __forceinline__ float4 loadB(const float* __restrict__ B, int ldb, int N, int k, int col) {
  if (k < 0 || col >= N) return zero4();
  const float* b = B + static_cast<size_t>(k) * ldb + col;
  if (kVecB && col + 4 <= N) return __ldg(reinterpret_cast<const float4*>(b));
  float4 v = zero4();
  v.x = __ldg(b);
  if (col + 1 < N) v.y = __ldg(b + 1);
  if (col + 2 < N) v.z = __ldg(b + 2);
  if (col + 3 < N) v.w = __ldg(b + 3);
  return v;
}

// A staged step: the 8 slots' rows of At (32 floats each) and of B, each row 160 bytes apart, so
// that a quarter-warp's fragment reads (4 slots × 2 chunks) fall in 8 different bank groups.
constexpr int kRowStride = 40;                  // floats
constexpr int kStepFloats = 2 * 8 * kRowStride;  // A's 8 rows, then B's

__device__ __forceinline__ float4 loadAt(const float* __restrict__ At, int ldt, int k, int row) {
  return k < 0 ? zero4() : __ldg(reinterpret_cast<const float4*>(At + static_cast<size_t>(k) * ldt + row));
}

// kLaneSlices: pattern bytes a lane reads per list chunk (a multiple of 8: whole 64-bit words), so
// a chunk lists 32 · kLaneSlices · 8 k; its list is one 16-bit k per kept k, in shared memory.
// kSplitK: launched with K split (gridDim.y splits); without it the split arithmetic folds away (as a
// runtime value it cost the unsplit kernel 2–3 % at 4096³: H200, kernel-notes v19b).
// kRows: steps staged kRows deep in shared memory by cp.async, each quarter-warp copying one whole
// 128-byte row (one L1 row per quarter, where the fragment layout's loads touch four), then read
// into the fragments from shared memory. It halves the L1 pipe's wavefronts (ncu, 4096³ joint .25:
// 75 → 40 % busy) for more instructions (issue slots 51 → 59 %): 1–2 % faster for the split kernel at
// up to 32 rows, 6–9 % slower for the unsplit kernel at 4096³ (kernel-notes v21h).
template <int kWarpsM, int kWarpsN, int kMinBlocks, int kLaneSlices, bool kVecB, bool kSplitK, int kRows = 0>
__global__ void __launch_bounds__(32 * kWarpsM * kWarpsN, kMinBlocks)
    warpKernel(EsmmArgs p, const float* __restrict__ At, int ldt, bool vecC, float* partial) {
  waitForPriorGrids();
  allowDependentLaunch();
  constexpr int kChunkK = 32 * kLaneSlices * kBK;
  constexpr int kWords = kLaneSlices / 8;
  static_assert(kLaneSlices % 8 == 0 && kChunkK <= 65536, "whole pattern words; 16-bit list entries");
  extern __shared__ __align__(16) uint16_t listAll[];
  const int warp = threadIdx.x >> 5;
  const int lane = threadIdx.x & 31;
  const int g = lane >> 2;
  const int t = lane & 3;
  // Blocks in grouped order (common.cuh), so the blocks resident at once share A rows and B columns in L2.
  const int2 blk = groupedBlock(blockIdx.x, ceilDiv(tilesOf(p.M), kWarpsM), ceilDiv(tilesOf(p.N), kWarpsN));
  const int bm = blk.x;
  const int bn = blk.y;
  const int mt = bm * kWarpsM + warp / kWarpsN;
  const int nt = bn * kWarpsN + warp % kWarpsN;
  if (mt >= tilesOf(p.M) || nt >= tilesOf(p.N)) return;  // no barrier follows: a warp may leave

  const int nks = kSlicesOf(p.K);
  // The split's pattern words, walked as if back to back ("virtual" k, vEnd of them); a chunk's list
  // holds K's k less the chunk's first (kBase), at most 32 · kWords · splits words of k: 16 bits.
  const int splits = kSplitK ? static_cast<int>(gridDim.y) : 1;
  const int split = kSplitK ? static_cast<int>(blockIdx.y) : 0;
  const int nWords = ceilDiv(nks, 8);
  const int vEnd = split < nWords ? ((nWords - 1 - split) / splits + 1) * 64 : 0;
  int kBase = 0;  // K's k of the chunk's first word
  const uint8_t* aPat = p.aPat + static_cast<size_t>(mt) * nks;
  const uint8_t* bPat = p.bPat + static_cast<size_t>(nt) * nks;
  const int row = mt * kTile + 4 * g;  // the lane's first row of At (padded to whole tiles: in bounds)
  const int col = nt * kTile + 4 * g;  // the lane's first column of B
  uint16_t* list = listAll + warp * kChunkK;

  mma::WarpAcc wacc;
  wacc.zero();

  auto load = [&](int base, int n, Frag& f) {
    const int k0 = base + t < n ? kBase + list[base + t] : -1;
    const int k1 = base + t + 4 < n ? kBase + list[base + t + 4] : -1;
    f.a0 = loadAt(At, ldt, k0, row);
    f.a1 = loadAt(At, ldt, k1, row);
    f.b0 = loadB<kVecB>(p.B, p.ldb, p.N, k0, col);
    f.b1 = loadB<kVecB>(p.B, p.ldb, p.N, k1, col);
  };
  // Whole steps (8 listed k) need no guard on k; nor on B's columns where the warp's tile lies inside N
  // and B's rows are 16-byte aligned (a warp-uniform test).
  const bool fastB = kVecB && (nt + 1) * kTile <= p.N;
  // The lane's At and B addresses at the chunk's first k (set per chunk) and the row strides in bytes:
  // a listed k then costs one 32 × 32 → 64-bit multiply-add an address (kernel-notes v23a).
  const char* aChunk = nullptr;
  const char* bChunk = nullptr;
  const uint32_t ldtBytes = static_cast<uint32_t>(ldt) * sizeof(float);
  const uint32_t ldbBytes = static_cast<uint32_t>(p.ldb) * sizeof(float);
  auto loadFull = [&](int base, Frag& f) {
    const uint32_t l0 = list[base + t];
    const uint32_t l1 = list[base + t + 4];
    f.a0 = __ldg(reinterpret_cast<const float4*>(aChunk + static_cast<uint64_t>(l0) * ldtBytes));
    f.a1 = __ldg(reinterpret_cast<const float4*>(aChunk + static_cast<uint64_t>(l1) * ldtBytes));
    if (fastB) {
      f.b0 = __ldg(reinterpret_cast<const float4*>(bChunk + static_cast<uint64_t>(l0) * ldbBytes));
      f.b1 = __ldg(reinterpret_cast<const float4*>(bChunk + static_cast<uint64_t>(l1) * ldbBytes));
    } else {
      const int k0 = kBase + static_cast<int>(l0);
      const int k1 = kBase + static_cast<int>(l1);
      f.b0 = loadB<kVecB>(p.B, p.ldb, p.N, k0, col);
      f.b1 = loadB<kVecB>(p.B, p.ldb, p.N, k1, col);
    }
  };
  // Fragment tile (u, v): A rows 4g + 2u (fragment row g) and 4g + 2u + 1 (row g + 8); B column 4g + v
  // (fragment column g of n-tile v).
  // The register form feeds the 16-byte fragments to m16n8k4 MMAs in place (mma_tf32.cuh, stepK4;
  // kernel-notes v23a); the staged form (kRows) measured faster with m16n8k8.
  auto step = [&](const Frag& f) {
    if constexpr (kRows == 0) {
      const float4 a[2] = {f.a0, f.a1};
      const float4 b[2] = {f.b0, f.b1};
      wacc.stepK4(a, b);
    } else {
      const float ra[2][4] = {{f.a0.x, f.a0.y, f.a1.x, f.a1.y}, {f.a0.z, f.a0.w, f.a1.z, f.a1.w}};
      const float rb[4][2] = {{f.b0.x, f.b1.x}, {f.b0.y, f.b1.y}, {f.b0.z, f.b1.z}, {f.b0.w, f.b1.w}};
      wacc.step(ra, rb);
    }
    wacc.flushIfDue();
  };

  for (int c0 = 0; c0 < vEnd; c0 += kChunkK) {
    kBase = ((c0 / 64) * splits + split) * 64;
    aChunk = reinterpret_cast<const char*>(At + row + static_cast<size_t>(kBase) * ldt);
    bChunk = fastB ? reinterpret_cast<const char*>(p.B + col + static_cast<size_t>(kBase) * p.ldb) : nullptr;
    // The warp's list of this chunk: lane l reads kLaneSlices / 8 of the split's pattern words of both
    // tiles (64 k each, 64-bit loads), keeps the joint bits, and a warp scan places its k in order.
    uint64_t keep[kWords];
    int count = 0;
#pragma unroll
    for (int w = 0; w < kWords; ++w) {
      const int vw = c0 / 64 + lane * kWords + w;  // the word's place in the split
      const int sw = (vw * splits + split) * 8;     // its first slice in K
      keep[w] = 0;
      if (vw * 64 >= vEnd) {
        // past the split's words: nothing kept
      } else if (sw + 8 <= nks && ((reinterpret_cast<uintptr_t>(aPat + sw) | reinterpret_cast<uintptr_t>(bPat + sw)) & 7u) == 0) {
        keep[w] = *reinterpret_cast<const uint64_t*>(aPat + sw) & *reinterpret_cast<const uint64_t*>(bPat + sw);
        if (sw + 8 == nks) keep[w] &= (static_cast<uint64_t>(sliceKMask(nks - 1, p.K)) << 56) | 0x00FFFFFFFFFFFFFFull;
      } else {
#pragma unroll
        for (int i = 0; i < 8; ++i) {
          const int s = sw + i;
          if (s < nks) keep[w] |= static_cast<uint64_t>(aPat[s] & bPat[s] & sliceKMask(s, p.K)) << (8 * i);
        }
      }
      count += __popcll(keep[w]);
    }
    int incl = count;
#pragma unroll
    for (int off = 1; off < 32; off <<= 1) {
      const int v = __shfl_up_sync(0xFFFFFFFFu, incl, off);
      if (lane >= off) incl += v;
    }
    const int n = __shfl_sync(0xFFFFFFFFu, incl, 31);
    int pos = incl - count;
#pragma unroll
    for (int w = 0; w < kWords; ++w) {
      const int kWord = (lane * kWords + w) * splits * 64;  // the word's first k, less kBase
      uint64_t rest = keep[w];
      while (rest != 0) {
        const int bit = __ffsll(static_cast<long long>(rest)) - 1;
        rest &= rest - 1;
        list[pos++] = static_cast<uint16_t>(kWord + bit);
      }
    }
    __syncwarp();
    if constexpr (kRows > 0) {
      if (fastB) {
        float* const stage = reinterpret_cast<float*>(listAll + kWarpsM * kWarpsN * kChunkK) + warp * kRows * kStepFloats;
        const int q = lane >> 3, c = lane & 7;
        const float* aRow = At + mt * kTile + 4 * c;
        const float* bRow = p.B + nt * kTile + 4 * c;
        const int nSteps = (n + 7) / 8;
        auto issue = [&](int st) {
          const int base = 8 * st;
          const bool in0 = base + q < n, in1 = base + q + 4 < n;
          const size_t k0 = in0 ? static_cast<size_t>(kBase + list[base + q]) : 0;
          const size_t k1 = in1 ? static_cast<size_t>(kBase + list[base + q + 4]) : 0;
          float* st0 = stage + (st % kRows) * kStepFloats + 4 * c;
          // A through L1 (the warps of a block that share an A tile may find its rows there), B past it;
          // a slot past the list is zero-filled.
          cpAsync16L1(st0 + q * kRowStride, aRow + k0 * ldt, in0 ? 16 : 0);
          cpAsync16L1(st0 + (q + 4) * kRowStride, aRow + k1 * ldt, in1 ? 16 : 0);
          cpAsync16(st0 + (8 + q) * kRowStride, bRow + k0 * p.ldb, in0 ? 16 : 0);
          cpAsync16(st0 + (12 + q) * kRowStride, bRow + k1 * p.ldb, in1 ? 16 : 0);
        };
#pragma unroll
        for (int st = 0; st < kRows - 1; ++st) {
          if (st < nSteps) issue(st);
          cpAsyncCommit();
        }
        for (int st = 0; st < nSteps; ++st) {
          if (st + kRows - 1 < nSteps) issue(st + kRows - 1);
          cpAsyncCommit();
          cpAsyncWait<kRows - 1>();
          __syncwarp();  // every lane's copies of this step are in (and, for the compiler, before the reads)
          const float* st0 = stage + (st % kRows) * kStepFloats + 4 * g;
          const Frag f{*reinterpret_cast<const float4*>(st0 + t * kRowStride),
                       *reinterpret_cast<const float4*>(st0 + (t + 4) * kRowStride),
                       *reinterpret_cast<const float4*>(st0 + (8 + t) * kRowStride),
                       *reinterpret_cast<const float4*>(st0 + (12 + t) * kRowStride)};
          __syncwarp();  // every lane has read the step before its slot is copied into again
          step(f);
        }
      } else {
        // Tiles cut by N (or B's rows unaligned): guarded loads, one step at a time. Not the two-set
        // register path below: compiled beside the staged one it cost the kernel 32–60 bytes of spills.
        for (int base = 0; base < n; base += 8) {
          Frag f;
          load(base, n, f);
          step(f);
        }
      }
      __syncwarp();  // the list is rewritten by the next chunk
      continue;
    }
    // Two fragment sets in turn: the loads of the next step are in flight while this step's MMAs run.
    // Whole steps first, without guards; then the chunk's last, partial step with them.
    const int nFull = n & ~7;
    Frag f0, f1;
    if (nFull > 0) loadFull(0, f0);
    for (int base = 0; base < nFull; base += 16) {
      const bool second = base + 8 < nFull;
      if (second) loadFull(base + 8, f1);
      step(f0);
      if (second) {
        if (base + 16 < nFull) loadFull(base + 16, f0);
        step(f1);
      }
    }
    if (nFull < n) {
      load(nFull, n, f0);
      step(f0);
    }
    __syncwarp();  // the list is rewritten by the next chunk
  }

  // C (or this split's partial C): the lane's rows 4g + 2u + h, columns 8t + 4e + v hold acc[u][v][2h + e].
  // Written through the warp's list space as a 32 × 32 tile, so each store instruction writes whole
  // 128-byte rows (8 lanes a row) where the lane's own 16-byte pieces would fill half of every
  // 32-byte sector they touch (ncu, 32 rows: 16 of 32 bytes a sector used, kernel-notes v21d).
  wacc.flush();
  const auto& acc = wacc.acc;
  static_assert(kChunkK * sizeof(uint16_t) >= kTile * kTile * sizeof(float), "the list space holds the C tile");
  float* const tileC = reinterpret_cast<float*>(list);
  __syncwarp();  // every lane is done with the list
#pragma unroll
  for (int u = 0; u < 2; ++u)
#pragma unroll
    for (int h = 0; h < 2; ++h)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        *reinterpret_cast<float4*>(tileC + (4 * g + 2 * u + h) * kTile + 8 * t + 4 * e) =
            make_float4(acc[u][0][2 * h + e], acc[u][1][2 * h + e], acc[u][2][2 * h + e], acc[u][3][2 * h + e]);
      }
  __syncwarp();
  float* const dst = partial != nullptr ? partial + static_cast<size_t>(split) * p.M * p.N : p.C;
  const size_t ld = partial != nullptr ? static_cast<size_t>(p.N) : static_cast<size_t>(p.ldc);
  const int c = nt * kTile + 4 * (lane & 7);
#pragma unroll
  for (int i = 0; i < kTile / 4; ++i) {
    const int rt = 4 * i + (lane >> 3);
    const int r = mt * kTile + rt;
    if (r >= p.M) continue;
    const float4 x = *reinterpret_cast<const float4*>(tileC + rt * kTile + 4 * (lane & 7));
    float* out = dst + static_cast<size_t>(r) * ld + c;
    if (vecC && c + 4 <= p.N) {
      *reinterpret_cast<float4*>(out) = x;
    } else {
      if (c < p.N) out[0] = x.x;
      if (c + 1 < p.N) out[1] = x.y;
      if (c + 2 < p.N) out[2] = x.z;
      if (c + 3 < p.N) out[3] = x.w;
    }
  }
}

// Tile-pair blocks of a kWarpsM × kWarpsN block grid.
template <int kWarpsM, int kWarpsN>
long long warpBlocks(int M, int N) {
  return static_cast<long long>(ceilDiv(tilesOf(M), kWarpsM)) * ceilDiv(tilesOf(N), kWarpsN);
}

// K splits for few rows: as many as fill one wave of kMinBlocks blocks a multiprocessor, each at
// least kMinSplitK k (and at most 16 splits); one where the tile pairs fill the GPU alone.
constexpr int kMinSplitK = 256;
template <int kWarpsM, int kWarpsN, int kMinBlocks>
int warpSplits(int M, int N, int K) {
  if (M < 1 || N < 1 || K < 1) return 1;
  const long long blocks = warpBlocks<kWarpsM, kWarpsN>(M, N);
  const long long wave = static_cast<long long>(kMinBlocks) * numSMs();
  const long long byFill = wave / std::max(1LL, blocks);
  const long long byK = K / kMinSplitK;
  return static_cast<int>(std::clamp<long long>(std::min(byFill, byK), 1, 16));
}

// Splits launched when `splits` are asked for: at most one per 64-k pattern word of K.
// A list entry is 16 bits: a chunk's 32 · kWords words, splits apart, must span at most 65536 k.
template <int kLaneSlices>
int warpLaunchedSplits(int K, int splits) {
  constexpr int kMaxSplits = 32 / (kLaneSlices / 8);
  return std::clamp(splits, 1, std::min(ceilDiv(K, 64), kMaxSplits));
}

// A must already be transposed, into the workspace (klist::launchTranspose) or by the caller
// (EsmmArgs::aTransposed); with `splits` > 1 the partial sums go to `partial` (splits × M × N floats)
// and are added into C after.
template <int kWarpsM, int kWarpsN, int kMinBlocks, int kLaneSlices, int kRows = 0>
cudaError_t launchWarpKernel(const EsmmArgs& args, const void* workspace, cudaStream_t stream, int splits = 1,
                             float* partial = nullptr) {
  constexpr int kThreads = 32 * kWarpsM * kWarpsN;
  constexpr size_t kSmem = static_cast<size_t>(kWarpsM) * kWarpsN * 32 * kLaneSlices * kBK * sizeof(uint16_t) +
                           static_cast<size_t>(kWarpsM) * kWarpsN * kRows * kStepFloats * sizeof(float);
  const long long blocks = warpBlocks<kWarpsM, kWarpsN>(args.M, args.N);
  if (blocks > 0x7FFFFFFFLL) return cudaErrorInvalidValue;
  const int launched = warpLaunchedSplits<kLaneSlices>(args.K, splits);
  if (launched > 1 && partial == nullptr) return cudaErrorInvalidValue;
  const bool vecB = rowsVec4Aligned(args.B, args.ldb);
  auto kernel = launched > 1 ? (vecB ? warpKernel<kWarpsM, kWarpsN, kMinBlocks, kLaneSlices, true, true, kRows>
                                     : warpKernel<kWarpsM, kWarpsN, kMinBlocks, kLaneSlices, false, true, kRows>)
                             : (vecB ? warpKernel<kWarpsM, kWarpsN, kMinBlocks, kLaneSlices, true, false, kRows>
                                     : warpKernel<kWarpsM, kWarpsN, kMinBlocks, kLaneSlices, false, false, kRows>);
  if (const cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kSmem));
      e != cudaSuccess) {
    return e;
  }
  const bool vecOut = launched > 1 ? args.N % 4 == 0 : rowsVec4Aligned(args.C, args.ldc);
  const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(launched));
  if (const cudaError_t e = launchDependent(kernel, grid, dim3(kThreads), kSmem, stream, args,
                                            klist::transposedA(args, workspace), klist::transposedStride(args.M),
                                            vecOut, launched > 1 ? partial : nullptr);
      e != cudaSuccess || launched == 1) {
    return e;
  }
  return launchSumSplits(partial, launched, args.M, args.N, args.C, args.ldc, stream);
}

template <int kWarpsM, int kWarpsN, int kMinBlocks, int kLaneSlices, int kRows = 0>
cudaError_t launchWarp(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  if (const cudaError_t e = klist::launchTranspose(args, workspace, workspaceBytes, stream); e != cudaSuccess) return e;
  return launchWarpKernel<kWarpsM, kWarpsN, kMinBlocks, kLaneSlices, kRows>(args, workspace, stream);
}

// The split-K form: workspace = A transposed as the k-list kernels lay it out, then (from a 256-byte
// boundary) the partial sums.
inline size_t splitPartialOffset(int M, int N, int K) {
  return (klist::klistWorkspaceBytes(M, N, K) + 255) / 256 * 256;
}

template <int kWarpsM, int kWarpsN, int kMinBlocks>
size_t warpSplitWorkspaceBytes(int M, int N, int K) {
  if (M < 1 || N < 1 || K < 1) return 0;
  // At least the splits launchWarpKernel launches (its cap by kLaneSlices is 16 or more: warpSplits' own).
  const int splits = std::clamp(warpSplits<kWarpsM, kWarpsN, kMinBlocks>(M, N, K), 1, ceilDiv(K, 64));
  return splitPartialOffset(M, N, K) + (splits > 1 ? static_cast<size_t>(splits) * M * N * sizeof(float) : 0);
}

template <int kWarpsM, int kWarpsN, int kMinBlocks, int kLaneSlices, int kRows = 0>
cudaError_t launchWarpSplit(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  if (workspace == nullptr || workspaceBytes < warpSplitWorkspaceBytes<kWarpsM, kWarpsN, kMinBlocks>(args.M, args.N, args.K)) {
    return cudaErrorInvalidValue;
  }
  if (const cudaError_t e = klist::launchTranspose(args, workspace, workspaceBytes, stream); e != cudaSuccess) return e;
  float* partial = reinterpret_cast<float*>(static_cast<char*>(workspace) + splitPartialOffset(args.M, args.N, args.K));
  return launchWarpKernel<kWarpsM, kWarpsN, kMinBlocks, kLaneSlices, kRows>(
      args, workspace, stream, warpSplits<kWarpsM, kWarpsN, kMinBlocks>(args.M, args.N, args.K), partial);
}

}  // namespace esmm::warpk
