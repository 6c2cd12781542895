// ESMM on the tensor cores with k-granular staging (the `tf32x3-klist` family): the block's list of
// work is the k (not the 8-k slices) where some warp's joint bit is set, and a stage holds the next
// kStageK listed k, each with only the A tiles and B tiles some warp needs at that k. So the slices a block walks,
// the bytes it copies, its barriers and its waits all shrink with the density of the joint bits, not
// with the chance that a whole 8-k slice is empty (at joint d = .25 a slice of a 64×128 block is
// non-empty with probability 0.95, a k with probability 0.30).
//
// Gathering one k of an A tile means reading a column of A; so A is first transposed (At: K × ldt,
// rows m ≥ M zero) into the workspace, after which one k of an A tile and one k of a B tile are both
// 128 contiguous bytes, copied by 16-byte cp.async. The transpose is part of the kernel's time.
//
// Per K chunk: each thread takes kSlicesPerThread consecutive slices, counts their listed k, a block
// scan places them, and each listed k becomes one word: its k in the chunk, the A tiles whose bit is
// set there and the B tiles (KCfg::Word). A warp's joint bit at a listed k
// is then its A tile's bit AND its B tile's bit, one ballot per stage. Within a stage a warp feeds
// its set k to the MMAs eight at a time (mma_tf32.cuh); k it does not keep are never read.
//
// This header holds the technique; esmm_klist.cu runs it as the dispatcher does (block tile chosen
// on the device), experimental/esmm_klist_tiles.cu with one block tile throughout.
#pragma once
#include <cstddef>
#include <type_traits>

#include "common.cuh"
#include "esmm.h"
#include "mma_tf32.cuh"

namespace esmm::klist {

// A transposed: At[k * ldt + m] = A[m * lda + k], ldt = M rounded up to whole A tiles, padded rows 0.
inline int transposedStride(int M) { return ceilDiv(M, kTile) * kTile; }

inline size_t transposedBytes(int M, int K) {
  return static_cast<size_t>(transposedStride(M)) * static_cast<size_t>(K) * sizeof(float);
}

// Choosing the block tile from the patterns without a host round trip (as the by-density variant of
// experimental/esmm_tf32x3.cu does for slices): a small kernel (esmm_klist.cu) counts the listed k
// that 64×128 blocks (8 warps) and 128×32 blocks (4 warps: one B tile, so a block's list is exactly
// its B tile's k where any of its A tiles is set) would stage; both kernels are launched and every
// block of the one not chosen returns at once.
struct KGate {
  unsigned long long listed64x128;
  unsigned long long listed128x32;
};
enum class KRole : int { kNone, kWide, kNarrow };

// Measured on an H100 at 4096³ (docs/kernel-notes.md, v5): with r = the warp-stages of 128×32 blocks
// over those of 64×128 blocks = listed128x32 / (2 · listed64x128), 128×32 took 1.08× the time of
// 64×128 at r = 1 (dense), 0.84× at r = 0.67 (joint d = .5) and 0.71× at r = 0.53 (b-only d = .5): the
// break-even is r ≈ 0.89.
__device__ __forceinline__ bool narrowChosen(const KGate& g) { return 100 * g.listed128x32 < 178 * g.listed64x128; }

inline size_t klistWorkspaceBytes(int M, int, int K) { return transposedBytes(M, K) + 256; }

// Shared memory: the chunk's list (one word per listed k), the block scan's warp sums, per warp the
// offsets of its compacted k, then kStages stages. A stage holds At rows As[j][0..BM) and B rows
// Bs[j][0..BN) of its listed k j, plus a zero row j = kStageK that positions past a warp's last set k
// point at. Row strides ≡ 8 (mod 32) words: 4 k × 8 rows (or columns) of a fragment hit 32 banks
// when the 4 k are consecutive in the stage.
template <int kWarpsM, int kWarpsN, int kStageKs, int kStages, int kChunkSlices>
struct KCfg {
  static constexpr int kStageK = kStageKs;  // listed k per stage: at most one per lane of the ballot
  static constexpr int kWM = kWarpsM;
  static constexpr int kWN = kWarpsN;
  static constexpr int BM = 32 * kWarpsM;
  static constexpr int BN = 32 * kWarpsN;
  static constexpr int kWarps = kWarpsM * kWarpsN;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kAStride = BM + 8;
  static constexpr int kBStride = BN + 8;
  static constexpr int kAFloats = (kStageK + 1) * kAStride;
  static constexpr int kBFloats = (kStageK + 1) * kBStride;
  static constexpr int kStageFloats = kAFloats + kBFloats;
  static constexpr int kChunkK = kChunkSlices * kBK;
  static constexpr int kSlicesPerThread = kChunkSlices / kThreads;
  // Copies: 8 threads per (listed k, tile), 16 bytes each. kEntryThreads threads cover the stage's
  // kStageK k; with more threads than that, the tiles are split between kTileGroups thread groups.
  static constexpr int kEntryThreads = kThreads < kStageK * 8 ? kThreads : kStageK * 8;
  static constexpr int kTileGroups = kThreads / kEntryThreads;
  static constexpr int kEntriesPerThread = kStageK * 8 / kEntryThreads;
  // A list word: the k in the chunk, then one bit per A tile, then one per B tile. With one B tile the
  // B bit is always set (a listed k has some A bit AND some B bit), so it is left out and, with at most
  // 4 A tiles and 4096 k per chunk, a word fits 16 bits.
  static constexpr bool kCompact = kWarpsN == 1;
  using Word = std::conditional_t<kCompact, uint16_t, uint32_t>;
  static constexpr int kKBits = kCompact ? 12 : 16;
  static constexpr uint32_t kKMask = (1u << kKBits) - 1u;
  __device__ static __forceinline__ uint32_t aBit(uint32_t word, int r) { return (word >> (kKBits + r)) & 1u; }
  __device__ static __forceinline__ uint32_t bBit(uint32_t word, int c) {
    return kCompact ? 1u : (word >> (24 + c)) & 1u;
  }
  static constexpr size_t kListOffset = 0;
  static constexpr size_t kScanOffset = kListOffset + ((static_cast<size_t>(kChunkK) * sizeof(Word) + 15) / 16) * 16;
  static constexpr size_t kKListOffset = kScanOffset + 64 * 4;
  static constexpr size_t kStageOffset = kKListOffset + static_cast<size_t>(kWarps) * 64 * 4;
  static constexpr size_t kSmemBytes = kStageOffset + static_cast<size_t>(kStages) * kStageFloats * sizeof(float);
  static_assert(kStageK % 8 == 0 && kStageK <= 32, "a stage is whole MMA k-steps, one listed k per lane");
  static_assert(kWarps <= 32, "the block scan keeps one sum per warp in one warp");
  static_assert(kWarpsM <= 8 && kWarpsN <= 8, "a list word has 8 bits for A tiles and 8 for B tiles");
  static_assert(kChunkSlices % kThreads == 0, "every thread counts the same number of slices");
  static_assert(kChunkK <= (1 << kKBits), "a list word keeps the chunk-local k in kKBits bits");
  static_assert(!kCompact || kWarpsM <= 4, "a 16-bit list word has 4 bits for A tiles");
  static_assert(kStageK * 8 % kEntryThreads == 0, "every thread copies the same number of listed k");
  static_assert(kTileGroups <= 2 && (kTileGroups == 1 || kWarpsM == kWarpsN),
                "with two thread groups, one copies the A tiles and the other as many B tiles");
  static_assert(kStageK * kBStride < 65536 && kStageK * kAStride < 65536, "stage offsets are packed in 16 bits");
  static_assert(kStageOffset % 16 == 0, "stages must start 16-byte aligned for cp.async 16");
  static_assert(kStages >= 2, "cp.async pipelining needs at least two stages");
};

// The list of chunk [c0, c0 + cn) slices into listS; returns its length (read after a barrier).
template <class Cfg, int kWarpsM, int kWarpsN>
__device__ __forceinline__ int buildList(const EsmmArgs& p, int mTile0, int nTile0, int c0, int cn,
                                         typename Cfg::Word* listS,
                                         int* scanS) {
  constexpr int S = Cfg::kSlicesPerThread;
  const int nks = kSlicesOf(p.K);
  const int mTiles = tilesOf(p.M);
  const int nTiles = tilesOf(p.N);
  uint32_t a[S][kWarpsM], b[S][kWarpsN], keep[S];
  int total = 0;
#pragma unroll
  for (int u = 0; u < S; ++u) {
    const int i = threadIdx.x * S + u;
    const int s = c0 + i;
    const uint32_t kmask = i < cn ? sliceKMask(s, p.K) : 0u;
    uint32_t orA = 0, orB = 0;
#pragma unroll
    for (int wi = 0; wi < kWarpsM; ++wi) {
      const int t = mTile0 + wi;
      a[u][wi] = kmask != 0 && t < mTiles ? (p.aPat[static_cast<size_t>(t) * nks + s] & kmask) : 0u;
      orA |= a[u][wi];
    }
#pragma unroll
    for (int wj = 0; wj < kWarpsN; ++wj) {
      const int t = nTile0 + wj;
      b[u][wj] = kmask != 0 && t < nTiles ? (p.bPat[static_cast<size_t>(t) * nks + s] & kmask) : 0u;
      orB |= b[u][wj];
    }
    keep[u] = orA & orB;
    total += __popc(keep[u]);
  }
  // Block exclusive scan of the per-thread counts.
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  int incl = total;
#pragma unroll
  for (int off = 1; off < 32; off <<= 1) {
    const int v = __shfl_up_sync(0xFFFFFFFFu, incl, off);
    if (lane >= off) incl += v;
  }
  if (lane == 31) scanS[warp] = incl;
  __syncthreads();
  if (warp == 0) {
    int w = lane < Cfg::kWarps ? scanS[lane] : 0;
#pragma unroll
    for (int off = 1; off < 32; off <<= 1) {
      const int v = __shfl_up_sync(0xFFFFFFFFu, w, off);
      if (lane >= off) w += v;
    }
    if (lane < Cfg::kWarps) scanS[32 + lane] = w;  // inclusive sums of whole warps
  }
  __syncthreads();
  int pos = (warp > 0 ? scanS[32 + warp - 1] : 0) + incl - total;
#pragma unroll
  for (int u = 0; u < S; ++u) {
    const int i = threadIdx.x * S + u;
    uint32_t rest = keep[u];
    while (rest != 0) {
      const int bit = __ffs(rest) - 1;
      rest &= rest - 1;
      uint32_t word = static_cast<uint32_t>(i * kBK + bit);
#pragma unroll
      for (int wi = 0; wi < kWarpsM; ++wi) word |= ((a[u][wi] >> bit) & 1u) << (Cfg::kKBits + wi);
      if constexpr (!Cfg::kCompact) {
#pragma unroll
        for (int wj = 0; wj < kWarpsN; ++wj) word |= ((b[u][wj] >> bit) & 1u) << (24 + wj);
      }
      listS[pos++] = static_cast<typename Cfg::Word>(word);
    }
  }
  return scanS[32 + Cfg::kWarps - 1];
}

// The cp.async copies of stage gi. Thread (j, chunk) copies the 16-byte chunk `chunk` of every needed
// tile of its listed k j; with more threads than kStageK × 8, one thread group copies the A tiles and
// the other the B tiles. aBase / bBase point at the thread's chunk of k = 0 (At + m0 + 4·chunk,
// B + n0 + 4·chunk), so a tile is an immediate offset from one address per listed k; colsLeft =
// N − (n0 + 4·chunk) decides the B columns inside N (all of them, except in the last column block).
template <class Cfg, bool kVecB>
__device__ __forceinline__ void issueStage(const EsmmArgs& p, const float* aBase, int ldt, const float* bBase,
                                           int colsLeft, int k0, int n, int gi, const typename Cfg::Word* listS,
                                           float* st) {
  constexpr int kJStep = Cfg::kEntryThreads / 8;  // listed k between a thread's entries
  const int tg = Cfg::kTileGroups == 1 ? 0 : threadIdx.x / Cfg::kEntryThreads;
  const int jt = (threadIdx.x % Cfg::kEntryThreads) >> 3;
  const int chunk4 = 4 * (threadIdx.x & 7);
  float* aDst = st + jt * Cfg::kAStride + chunk4;
  float* bDst = st + Cfg::kAFloats + jt * Cfg::kBStride + chunk4;
  const bool fullN = colsLeft >= 32 * (Cfg::kWN - 1) + 4;
#pragma unroll
  for (int q = 0; q < Cfg::kEntriesPerThread; ++q) {
    const int e = gi * Cfg::kStageK + jt + q * kJStep;
    if (e >= n) continue;
    const uint32_t word = listS[e];
    const int k = k0 + static_cast<int>(word & Cfg::kKMask);
    if (tg == 0) {
      const float* a = aBase + static_cast<size_t>(k) * ldt;
#pragma unroll
      for (int r = 0; r < Cfg::kWM; ++r) {
        if (Cfg::aBit(word, r)) cpAsync16(aDst + q * kJStep * Cfg::kAStride + 32 * r, a + 32 * r, 16);
      }
    }
    if (Cfg::kTileGroups == 1 || tg == 1) {
      const float* b = bBase + static_cast<size_t>(k) * p.ldb;
#pragma unroll
      for (int c = 0; c < Cfg::kWN; ++c) {
        if (!Cfg::bBit(word, c)) continue;
        float* dst = bDst + q * kJStep * Cfg::kBStride + 32 * c;
        if (kVecB && fullN) {
          cpAsync16(dst, b + 32 * c, 16);
        } else {
          const int cols = max(0, min(4, colsLeft - 32 * c));
          if constexpr (kVecB) {
            cpAsync16(dst, cols > 0 ? b + 32 * c : p.B, 4 * cols);
          } else {
#pragma unroll
            for (int v = 0; v < 4; ++v) cpAsync4(dst + v, v < cols ? b + 32 * c + v : p.B, v < cols);
          }
        }
      }
    }
  }
}

template <int kWarpsM, int kWarpsN, int kStageK, int kStages, int kChunkSlices, int kMinBlocks, bool kVecB>
__global__ void __launch_bounds__(32 * kWarpsM * kWarpsN, kMinBlocks)
    klistKernel(EsmmArgs p, const float* __restrict__ At, int ldt, bool vecC, const KGate* gate, KRole role) {
  // Before any barrier: the whole block returns.
  if (role != KRole::kNone && narrowChosen(*gate) != (role == KRole::kNarrow)) return;
  using Cfg = KCfg<kWarpsM, kWarpsN, kStageK, kStages, kChunkSlices>;
  extern __shared__ __align__(16) unsigned char smem[];
  auto* listS = reinterpret_cast<typename Cfg::Word*>(smem + Cfg::kListOffset);
  int* scanS = reinterpret_cast<int*>(smem + Cfg::kScanOffset);
  float* stageBase = reinterpret_cast<float*>(smem + Cfg::kStageOffset);
  // The zero rows (j = kStageK) of every stage: never written by the copies.
  for (int i = threadIdx.x; i < kStages * (Cfg::BM + Cfg::BN); i += Cfg::kThreads) {
    float* st = stageBase + (i / (Cfg::BM + Cfg::BN)) * Cfg::kStageFloats;
    const int x = i % (Cfg::BM + Cfg::BN);
    if (x < Cfg::BM) st[Cfg::kStageK * Cfg::kAStride + x] = 0.f;
    else st[Cfg::kAFloats + Cfg::kStageK * Cfg::kBStride + x - Cfg::BM] = 0.f;
  }

  // Blocks in grouped order (common.cuh), so the blocks resident at once share A rows and B columns in L2.
  const int2 blk = groupedBlock(blockIdx.y * gridDim.x + blockIdx.x, gridDim.y, gridDim.x);
  const int bm = blk.x;
  const int bn = blk.y;
  const int m0 = bm * Cfg::BM;
  const int n0 = bn * Cfg::BN;
  const int warp = threadIdx.x >> 5;
  const int lane = threadIdx.x & 31;
  const int wi = warp / kWarpsN;
  const int wj = warp % kWarpsN;
  uint32_t* kList = reinterpret_cast<uint32_t*>(smem + Cfg::kKListOffset) + warp * 64;
  const int g = lane >> 2;  // MMA fragment row / column group
  const int t = lane & 3;   // MMA fragment k index
  constexpr uint32_t kZero = static_cast<uint32_t>(Cfg::kStageK * Cfg::kAStride) |
                             (static_cast<uint32_t>(Cfg::kStageK * Cfg::kBStride) << 16);
  const uint32_t myOffsets = static_cast<uint32_t>(lane * Cfg::kAStride) |
                             (static_cast<uint32_t>(lane * Cfg::kBStride) << 16);

  const int chunk4 = 4 * (threadIdx.x & 7);
  const float* aBase = At + m0 + chunk4;
  const float* bBase = p.B + n0 + chunk4;
  const int colsLeft = p.N - (n0 + chunk4);

  mma::WarpAcc wacc;
  wacc.zero();

  const int nks = kSlicesOf(p.K);
  for (int c0 = 0; c0 < nks; c0 += kChunkSlices) {
    const int cn = min(kChunkSlices, nks - c0);
    const int n = buildList<Cfg, kWarpsM, kWarpsN>(p, m0 / 32, n0 / 32, c0, cn, listS, scanS);
    __syncthreads();  // the list is complete
    const int nStages = ceilDiv(n, Cfg::kStageK);
    // Lane j looks at listed k j of stage gi: the warp keeps it when its A tile's and its B tile's bits
    // are both set there. The kept k's offsets go to kl in order, zero-row offsets after them.
    auto prepareStage = [&](int gi, uint32_t* kl) {
      const int e = gi * Cfg::kStageK + lane;
      const uint32_t word = lane < Cfg::kStageK && e < n ? listS[e] : 0u;
      const uint32_t mask = __ballot_sync(0xFFFFFFFFu, (Cfg::aBit(word, wi) & Cfg::bBit(word, wj)) != 0);
      const int cnt = __popc(mask);
      if ((mask >> lane) & 1u) kl[__popc(mask & ((1u << lane) - 1u))] = myOffsets;
      if (lane >= cnt) kl[lane] = kZero;
      return cnt;
    };
    const int k0 = c0 * kBK;
    auto issue = [&](int gi) {
      issueStage<Cfg, kVecB>(p, aBase, ldt, bBase, colsLeft, k0, n, gi, listS,
                             stageBase + (gi % kStages) * Cfg::kStageFloats);
    };
#pragma unroll
    for (int gi = 0; gi < kStages - 1; ++gi) {
      if (gi < nStages) issue(gi);
      cpAsyncCommit();
    }
    // A warp's kList for stage gi + 1 is written while stage gi's MMAs run (two halves in turn), so the
    // ballot's latency is not between a stage's barrier and its first MMA.
    int cntNext = nStages > 0 ? prepareStage(0, kList) : 0;
    for (int gi = 0; gi < nStages; ++gi) {
      cpAsyncWait<kStages - 2>();
      __syncthreads();
      // The buffer refilled here was read in iteration gi-1, which every thread has left.
      if (gi + kStages - 1 < nStages) issue(gi + kStages - 1);
      cpAsyncCommit();

      const int cnt = cntNext;
      if (cnt > 0) {
        const float* st = stageBase + (gi % kStages) * Cfg::kStageFloats;
        wacc.steps<1>(st + 32 * wi + g, st + Cfg::kAFloats + 32 * wj + g, kList + (gi & 1) * 32, cnt, t);
      }
      if (gi + 1 < nStages) cntNext = prepareStage(gi + 1, kList + ((gi + 1) & 1) * 32);
      wacc.flushIfDue();
      __syncwarp();  // the next stage reads the kList half written here
    }
    cpAsyncWait<0>();
    __syncthreads();  // the next chunk rewrites the list and the stages
  }
  wacc.store(p.C, p.ldc, p.M, p.N, m0 + 32 * wi, n0 + 32 * wj, g, t, vecC);
}

inline KGate* gateOf(const EsmmArgs& p, void* workspace) {
  return reinterpret_cast<KGate*>(static_cast<unsigned char*>(workspace) + transposedBytes(p.M, p.K));
}

// A transposed into the workspace (esmm_klist.cu), unless the caller passed it (EsmmArgs::aTransposed);
// withGate: also zero the gate's counters (the workspace's tail).
inline const float* transposedA(const EsmmArgs& p, const void* workspace) {
  return p.aTransposed != nullptr ? p.aTransposed : static_cast<const float*>(workspace);
}
cudaError_t launchTranspose(const EsmmArgs& p, void* workspace, size_t workspaceBytes, cudaStream_t stream,
                            bool withGate = false);

// The tiled kernel alone; A must already be transposed into the workspace.
template <int kWarpsM, int kWarpsN, int kStageK, int kStages, int kChunkSlices, int kMinBlocks>
cudaError_t launchKListKernel(const EsmmArgs& p, void* workspace, cudaStream_t stream, const KGate* gate, KRole role) {
  using Cfg = KCfg<kWarpsM, kWarpsN, kStageK, kStages, kChunkSlices>;
  const dim3 grid(ceilDiv(p.N, Cfg::BN), ceilDiv(p.M, Cfg::BM));
  if (grid.y > 65535u) return cudaErrorInvalidValue;
  auto kernel = rowsVec4Aligned(p.B, p.ldb) ? klistKernel<kWarpsM, kWarpsN, kStageK, kStages, kChunkSlices, kMinBlocks, true>
                                            : klistKernel<kWarpsM, kWarpsN, kStageK, kStages, kChunkSlices, kMinBlocks, false>;
  if (const cudaError_t e =
          cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(Cfg::kSmemBytes));
      e != cudaSuccess) {
    return e;
  }
  kernel<<<grid, Cfg::kThreads, Cfg::kSmemBytes, stream>>>(p, transposedA(p, workspace), transposedStride(p.M),
                                                           rowsVec4Aligned(p.C, p.ldc), gate, role);
  return cudaGetLastError();
}

template <int kWarpsM, int kWarpsN, int kStageK, int kStages, int kChunkSlices, int kMinBlocks>
cudaError_t launchKList(const EsmmArgs& p, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  if (const cudaError_t e = launchTranspose(p, workspace, workspaceBytes, stream); e != cudaSuccess) return e;
  return launchKListKernel<kWarpsM, kWarpsN, kStageK, kStages, kChunkSlices, kMinBlocks>(p, workspace, stream, nullptr,
                                                                                          KRole::kNone);
}

// The two block tiles the gate chooses between (64×128, 128×32), as kernels alone: A must already
// be transposed. Instantiated once, in esmm_klist.cu, so every caller runs the same code.
cudaError_t launchWide(const EsmmArgs& p, void* workspace, cudaStream_t stream, const KGate* gate, KRole role);
cudaError_t launchNarrow(const EsmmArgs& p, void* workspace, cudaStream_t stream, const KGate* gate, KRole role);

}  // namespace esmm::klist
