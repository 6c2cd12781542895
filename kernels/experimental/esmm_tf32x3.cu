// ESMM on the tensor cores with float32 accuracy: each operand is split into a tf32 "big" part and
// the tf32 remainder (x = hi + lo), and big·big + big·small + small·big is summed by mma.sync
// m16n8k8 (the small·small term is below float32 rounding). Each warp owns one 32×32 block of C
// (one A tile × one B tile), 2 × 4 MMA tiles.
//
// The block machinery (joint patterns in shared memory, the compacted slice list, skipped loads and
// barriers, cp.async pipeline) is block_tile.cuh's. Per-k skipping becomes k compaction: in a group
// of kGroup slices a warp gathers the k whose joint bit is set and feeds them to the MMAs eight at a
// time, so a group with 9 set bits out of 32 costs two MMA k-steps instead of four, and unset k
// never enter the product (their values are never read, so a NaN facing a zero column is skipped
// exactly as the CPU reference skips it). One difference from float32 FMA: an infinite input
// splits into Inf + NaN, so a product that should be ±Inf comes out NaN. The MMA steps and the
// accumulation are mma_tf32.cuh's.
#include <algorithm>

#include "block_tile.cuh"
#include "mma_tf32.cuh"
#include "experimental.cuh"

namespace esmm {
namespace {

// Shared-memory layout of one stage (kGroup slices):
//  A: per slice, BM rows of 12 floats (8 k + 4 pad), filled by 16-byte cp.async along A's rows;
//     a row stride of 12 words puts the fragment reads of 8 rows × 4 consecutive k in 32 banks.
//  B: per slice, 9 rows of BN + 8 floats (stride ≡ 8 mod 32: 4 consecutive k × 8 columns hit 32
//     banks); row 8 is never written.
// The pad column 8 of A and the row 8 of B are zeroed once: a compacted position past the warp's
// set bits points there, so every fragment read is an unconditional load of a zero.
template <int kWarpsM, int kWarpsN, int kGroup, int kStages>
struct MmaConfig {
  using Pat = tile::TiledConfig<kWarpsM, kWarpsN, kGroup, kStages, 0>;  // pattern buffers
  static constexpr int BM = 32 * kWarpsM;
  static constexpr int BN = 32 * kWarpsN;
  static constexpr int kWarps = kWarpsM * kWarpsN;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kARow = 12;
  static constexpr int kASliceFloats = BM * kARow;
  static constexpr int kBStride = BN + 8;
  static constexpr int kBSliceFloats = (kBK + 1) * kBStride;
  static constexpr int kStageFloats = kGroup * (kASliceFloats + kBSliceFloats);
  // Per warp, its joint byte of every listed slice in list order, so a group's mask is one load.
  static constexpr size_t kJointListOffset = Pat::kPatternBytes;
  // Per thread, its copy descriptor (two pointers and a word, see GroupLoader).
  static constexpr size_t kDescOffset = kJointListOffset + static_cast<size_t>(kWarps) * tile::kChunkSlices;
  static constexpr size_t kStageOffset = kDescOffset + static_cast<size_t>(kThreads) * 20;
  static constexpr size_t kSmemBytes = kStageOffset + static_cast<size_t>(kStages) * kStageFloats * sizeof(float);
  // 16-byte copy jobs of one stage: A rows have 2 per slice, B rows BN/4.
  static constexpr int kAJobs = kGroup * BM * 2;
  static constexpr int kBJobs = kGroup * kBK * (BN / 4);
  static_assert(kThreads % (BM * 2) == 0 && kThreads % (2 * BN) == 0,
                "a thread copies the same A row half and the same B row chunk in every slice");
  static_assert(kGroup == 4, "a group's joint bytes are read as one 32-bit word");
  static_assert(kStageOffset % 16 == 0, "stage buffers must start 16-byte aligned for cp.async 16");
  static_assert(kGroup * kASliceFloats < 65536 && kGroup * kBSliceFloats < 65536, "k offsets are packed in 16 bits");
  static_assert(kStages >= 2, "cp.async pipelining needs at least two stages");
};

// The cp.async copies of one stage. A thread always copies the same 16-byte half of the same A
// row and the same 16-byte chunk of the same B row position, in slice q(it) of the stage. What
// does not depend on the slice (its row / column pointers and their edge bytes) is computed once
// and kept in shared memory (held in registers, ptxas recomputed it for every copy).
template <class Cfg, int kGroup, bool kVecA, bool kVecB>
struct GroupLoader {
  static constexpr int kAPerSlice = Cfg::BM * 2;
  static constexpr int kBPerSlice = 2 * Cfg::BN;
  static constexpr int kPerRow = Cfg::BN / 4;
  // Per thread: the A row pointer (+ its half), the B pointer of row kk of a slice at k = 0, and
  // bits 0-7 = bytes of the A row (16, or 0 past M), bits 8-15 = columns of the B chunk inside N.
  struct Desc {
    const float* a;
    const float* b;
  };

  __device__ static void init(const EsmmArgs& p, int m0, int n0, Desc* descS, uint32_t* infoS) {
    const int ja = threadIdx.x % kAPerSlice;
    const int r = ja >> 1;
    const int row = m0 + r;
    const int jb = threadIdx.x % kBPerSlice;
    const int kk = jb / kPerRow;
    const int col = n0 + (jb % kPerRow) * 4;
    const int cols = max(0, min(4, p.N - col));
    descS[threadIdx.x] = Desc{p.A + static_cast<size_t>(row < p.M ? row : 0) * p.lda + (ja & 1) * 4,
                              p.B + static_cast<size_t>(kk) * p.ldb + (cols > 0 ? col : 0)};
    infoS[threadIdx.x] = static_cast<uint32_t>(row < p.M ? 16 : 0) | (static_cast<uint32_t>(cols) << 8);
  }

  __device__ __forceinline__ static void issue(const EsmmArgs& p, int c0, int n, int gi, const uint32_t* listS,
                                               const Desc* descS, const uint32_t* infoS, float* st) {
    float* As = st;
    float* Bs = st + kGroup * Cfg::kASliceFloats;
    const Desc d = descS[threadIdx.x];
    const uint32_t info = infoS[threadIdx.x];
    const int ja = threadIdx.x % kAPerSlice;
    const int aHalf = (ja & 1) * 4;
    const int aDst = (ja >> 1) * Cfg::kARow + aHalf;
    const int aShift = 16 + (ja >> 6);
    const int aRowBytes = static_cast<int>(info & 0xFFu);
#pragma unroll
    for (int it = 0; it < Cfg::kAJobs / Cfg::kThreads; ++it) {
      const int q = threadIdx.x / kAPerSlice + it * (Cfg::kThreads / kAPerSlice);
      const int e = gi * kGroup + q;
      if (e < n) {
        const uint32_t entry = listS[e];
        if ((entry >> aShift) & 1u) {
          const int k = (c0 + static_cast<int>(entry & 0xFFFFu)) * kBK;
          float* dst = As + q * Cfg::kASliceFloats + aDst;
          if constexpr (kVecA) {
            const int left = p.K - k - aHalf;
            const int bytes = left >= 4 ? aRowBytes : (aRowBytes > 0 ? 4 * max(0, left) : 0);
            cpAsync16(dst, bytes > 0 ? d.a + k : p.A, bytes);
          } else {
#pragma unroll
            for (int u = 0; u < 4; ++u) {
              const bool valid = aRowBytes > 0 && k + aHalf + u < p.K;
              cpAsync4(dst + u, valid ? d.a + k + u : p.A, valid);
            }
          }
        }
      }
    }
    const int jb = threadIdx.x % kBPerSlice;
    const int bKk = jb / kPerRow;
    const int c = (jb % kPerRow) * 4;
    const int bDst = bKk * Cfg::kBStride + c;
    const int bShift = 24 + (c >> 5);
    const int cols = static_cast<int>((info >> 8) & 0xFFu);
#pragma unroll
    for (int it = 0; it < Cfg::kBJobs / Cfg::kThreads; ++it) {
      const int q = threadIdx.x / kBPerSlice + it * (Cfg::kThreads / kBPerSlice);
      const int e = gi * kGroup + q;
      if (e < n) {
        const uint32_t entry = listS[e];
        if ((entry >> bShift) & 1u) {
          const int k0 = (c0 + static_cast<int>(entry & 0xFFFFu)) * kBK;
          const bool rowOk = k0 + bKk < p.K;
          float* dst = Bs + q * Cfg::kBSliceFloats + bDst;
          const float* src = d.b + static_cast<size_t>(k0) * p.ldb;
          if constexpr (kVecB) {
            const int bytes = rowOk ? 4 * cols : 0;
            cpAsync16(dst, bytes > 0 ? src : p.B, bytes);
          } else {
#pragma unroll
            for (int u = 0; u < 4; ++u) {
              const bool valid = rowOk && u < cols;
              cpAsync4(dst + u, valid ? src + u : p.B, valid);
            }
          }
        }
      }
    }
  }
};

// Choosing the block tile by density without a host round trip: a small kernel counts, from the
// patterns, the (block, slice) pairs that 64×128 and 64×64 blocks would walk; both tiled kernels
// are then launched and each block of the one not chosen returns at once. 64×64 blocks (4 warps,
// 4 per SM) skip more slices at block level but cost more per walked slice. Measured on an H100
// at 4096³ (docs/kernel-notes.md), with r = the block-slices 64×64 blocks walk per warp over those
// of 64×128 blocks: they win by 28 / 25 / 14% at r = 0.56 / 0.65 / 0.77, tie at 0.87 and lose by
// 16% at 0.89 (b-only); so they are chosen below r = 0.8.
struct TileGate {
  unsigned long long walked128;  // (64×128 block, slice) pairs with any joint bit set
  unsigned long long walked64;   // the same for 64×64 blocks
};
enum class GateRole : int { kNone, kLargeTiles, kSmallTiles };

// walked64 / (2 · walked128) < 0.8: a 64×64 block has half the warps of a 64×128 one.
__device__ __forceinline__ bool smallTilesChosen(const TileGate& g) { return 5 * g.walked64 < 8 * g.walked128; }

// 256 threads: the block sums below assume 8 warps.
__global__ void __launch_bounds__(256) countWalkedSlices(EsmmArgs p, TileGate* gate) {
  const int nks = kSlicesOf(p.K);
  const int mTiles = tilesOf(p.M);
  const int nTiles = tilesOf(p.N);
  const long long mBlocks = ceilDiv(mTiles, 2);
  const long long nBlocks = ceilDiv(nTiles, 4);
  const long long total = mBlocks * nBlocks * nks;
  unsigned int w128 = 0, w64 = 0;
  for (long long i = blockIdx.x * 256LL + threadIdx.x; i < total; i += static_cast<long long>(gridDim.x) * 256) {
    const int s = static_cast<int>(i % nks);
    const long long blk = i / nks;
    const int mt = static_cast<int>(blk / nBlocks) * 2;
    const int nt = static_cast<int>(blk % nBlocks) * 4;
    uint32_t orA = 0;
#pragma unroll
    for (int u = 0; u < 2; ++u) orA |= mt + u < mTiles ? p.aPat[static_cast<size_t>(mt + u) * nks + s] : 0u;
    orA &= sliceKMask(s, p.K);
    uint32_t orB0 = 0, orB1 = 0;  // the two 64-column halves
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      const uint32_t b = nt + u < nTiles ? p.bPat[static_cast<size_t>(nt + u) * nks + s] : 0u;
      (u < 2 ? orB0 : orB1) |= b;
    }
    w128 += (orA & (orB0 | orB1)) != 0;
    w64 += ((orA & orB0) != 0) + ((orA & orB1) != 0);
  }
  blockAddPair(w128, w64, &gate->walked128, &gate->walked64);
}

template <int kWarpsM, int kWarpsN, int kGroup, int kStages, int kMinBlocks, bool kVecA, bool kVecB>
__global__ void __launch_bounds__(32 * kWarpsM * kWarpsN, kMinBlocks)
    tf32x3Kernel(EsmmArgs p, bool vecC, const TileGate* gate, GateRole role) {
  // Before any barrier: the whole block returns.
  if (role != GateRole::kNone && smallTilesChosen(*gate) != (role == GateRole::kSmallTiles)) return;
  using Cfg = MmaConfig<kWarpsM, kWarpsN, kGroup, kStages>;
  using Pat = typename Cfg::Pat;
  extern __shared__ __align__(16) unsigned char smem[];
  uint8_t* jointS = smem;
  uint16_t* flagsS = reinterpret_cast<uint16_t*>(smem + Pat::kFlagsOffset);
  uint32_t* listS = reinterpret_cast<uint32_t*>(smem + Pat::kListOffset);
  int* countS = reinterpret_cast<int*>(smem + Pat::kCountOffset);
  uint8_t* jointL = smem + Cfg::kJointListOffset;
  float* stageBase = reinterpret_cast<float*>(smem + Cfg::kStageOffset);
  // Zero the A pad columns and B's row 8 of every stage (never written by the copies).
  for (int i = threadIdx.x; i < kStages * kGroup * Cfg::BM; i += Cfg::kThreads) {
    float* row = stageBase + (i / (kGroup * Cfg::BM)) * Cfg::kStageFloats +
                 ((i / Cfg::BM) % kGroup) * Cfg::kASliceFloats + (i % Cfg::BM) * Cfg::kARow + kBK;
    *reinterpret_cast<float4*>(row) = make_float4(0.f, 0.f, 0.f, 0.f);
  }
  for (int i = threadIdx.x; i < kStages * kGroup * Cfg::BN; i += Cfg::kThreads) {
    stageBase[(i / (kGroup * Cfg::BN)) * Cfg::kStageFloats + kGroup * Cfg::kASliceFloats +
              ((i / Cfg::BN) % kGroup) * Cfg::kBSliceFloats + kBK * Cfg::kBStride + i % Cfg::BN] = 0.f;
  }

  const int m0 = blockIdx.y * Cfg::BM;
  const int n0 = blockIdx.x * Cfg::BN;
  const int warp = threadIdx.x >> 5;
  const int lane = threadIdx.x & 31;
  uint32_t* kList = reinterpret_cast<uint32_t*>(smem + Pat::kKListOffset) + warp * 32;
  const int wm = (warp / kWarpsN) * 32;
  const int wn = (warp % kWarpsN) * 32;
  const int g = lane >> 2;  // MMA fragment row / column group
  const int t = lane & 3;   // MMA fragment k index

  mma::WarpAcc wacc;
  wacc.zero();

  using Loader = GroupLoader<Cfg, kGroup, kVecA, kVecB>;
  auto* descS = reinterpret_cast<typename Loader::Desc*>(smem + Cfg::kDescOffset);
  auto* infoS = reinterpret_cast<uint32_t*>(smem + Cfg::kDescOffset + Cfg::kThreads * 16);
  Loader::init(p, m0, n0, descS, infoS);
  const int nks = kSlicesOf(p.K);
  for (int c0 = 0; c0 < nks; c0 += tile::kChunkSlices) {
    const int cn = min(tile::kChunkSlices, nks - c0);
    tile::buildChunkPatterns<Pat, kWarpsM, kWarpsN>(p, m0 / 32, n0 / 32, c0, cn, jointS, flagsS);
    __syncthreads();
    tile::compactChunk(cn, flagsS, listS, countS);
    __syncthreads();
    const int n = *countS;
    const int nGroups = ceilDiv(n, kGroup);
    // Joint bytes in list order per warp (zero past the list's end).
    for (int idx = threadIdx.x; idx < Cfg::kWarps * nGroups * kGroup; idx += Cfg::kThreads) {
      const int w = idx / (nGroups * kGroup);
      const int e = idx % (nGroups * kGroup);
      jointL[w * tile::kChunkSlices + e] = e < n ? jointS[(listS[e] & 0xFFFFu) * Cfg::kWarps + w] : 0;
    }
    __syncthreads();

    auto issueGroup = [&](int gi) {
      Loader::issue(p, c0, n, gi, listS, descS, infoS, stageBase + (gi % kStages) * Cfg::kStageFloats);
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

      const uint32_t mask = *reinterpret_cast<const uint32_t*>(jointL + warp * tile::kChunkSlices + gi * kGroup);
      if (mask == 0) continue;  // warp-level skip

      // Lane l holds bit l of the mask: a set bit records its k's shared-memory offsets (A in the
      // low half, B in the high half) at its rank among the set bits; positions past the last set
      // bit point at the zero column / row.
      const int cnt = __popc(mask);
      if ((mask >> lane) & 1u) {
        const int q = lane >> 3, kk = lane & 7;
        const uint32_t offA = q * Cfg::kASliceFloats + kk;
        const uint32_t offB = q * Cfg::kBSliceFloats + kk * Cfg::kBStride;
        kList[__popc(mask & ((1u << lane) - 1u))] = offA | (offB << 16);
      }
      if (lane >= cnt) kList[lane] = static_cast<uint32_t>(kBK) | (static_cast<uint32_t>(kBK * Cfg::kBStride) << 16);
      __syncwarp();
      const float* As = stageBase + (gi % kStages) * Cfg::kStageFloats + (wm + g) * Cfg::kARow;
      const float* Bs = stageBase + (gi % kStages) * Cfg::kStageFloats + kGroup * Cfg::kASliceFloats + wn + g;

      wacc.steps<Cfg::kARow>(As, Bs, kList, cnt, t);
      wacc.flushIfDue();
      __syncwarp();  // kList is rewritten by the next group
    }
    cpAsyncWait<0>();
    // The next chunk rewrites the pattern buffers and the stages.
    __syncthreads();
  }

  wacc.store(p.C, p.ldc, p.M, p.N, m0 + wm, n0 + wn, g, t, vecC);
}

template <int kWarpsM, int kWarpsN, int kGroup, int kStages, int kMinBlocks, bool kVecA>
cudaError_t launchTf32x3Vec(const EsmmArgs& p, cudaStream_t stream, const TileGate* gate, GateRole role) {
  using Cfg = MmaConfig<kWarpsM, kWarpsN, kGroup, kStages>;
  if (const cudaError_t e = checkArgs(p); e != cudaSuccess) return e;
  const dim3 grid(ceilDiv(p.N, Cfg::BN), ceilDiv(p.M, Cfg::BM));
  if (grid.y > 65535u) return cudaErrorInvalidValue;
  const bool vecC = rowsVec4Aligned(p.C, p.ldc);
  auto kernel = rowsVec4Aligned(p.B, p.ldb)
                    ? tf32x3Kernel<kWarpsM, kWarpsN, kGroup, kStages, kMinBlocks, kVecA, true>
                    : tf32x3Kernel<kWarpsM, kWarpsN, kGroup, kStages, kMinBlocks, kVecA, false>;
  if (const cudaError_t e =
          cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(Cfg::kSmemBytes));
      e != cudaSuccess) {
    return e;
  }
  kernel<<<grid, Cfg::kThreads, Cfg::kSmemBytes, stream>>>(p, vecC, gate, role);
  return cudaGetLastError();
}

template <int kWarpsM, int kWarpsN, int kGroup, int kStages, int kMinBlocks>
cudaError_t launchTf32x3(const EsmmArgs& p, cudaStream_t stream, const TileGate* gate = nullptr,
                         GateRole role = GateRole::kNone) {
  return rowsVec4Aligned(p.A, p.lda)
             ? launchTf32x3Vec<kWarpsM, kWarpsN, kGroup, kStages, kMinBlocks, true>(p, stream, gate, role)
             : launchTf32x3Vec<kWarpsM, kWarpsN, kGroup, kStages, kMinBlocks, false>(p, stream, gate, role);
}

}  // namespace

cudaError_t launchTf32x3_128x128(const EsmmArgs& args, void*, size_t, cudaStream_t stream) {
  return launchTf32x3<4, 4, 4, 4, 1>(args, stream);
}

cudaError_t launchTf32x3_64x128(const EsmmArgs& args, void*, size_t, cudaStream_t stream) {
  return launchTf32x3<2, 4, 4, 3, 2>(args, stream);
}

cudaError_t launchTf32x3_64x64(const EsmmArgs& args, void*, size_t, cudaStream_t stream) {
  return launchTf32x3<2, 2, 4, 2, 4>(args, stream);
}

size_t tf32x3ByDensityWorkspaceBytes(int, int, int) { return sizeof(TileGate); }

cudaError_t launchTf32x3ByDensity(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  if (const cudaError_t e = checkArgs(args); e != cudaSuccess) return e;
  if (workspace == nullptr || workspaceBytes < sizeof(TileGate)) return cudaErrorInvalidValue;
  auto* gate = static_cast<TileGate*>(workspace);
  if (const cudaError_t e = cudaMemsetAsync(gate, 0, sizeof(TileGate), stream); e != cudaSuccess) return e;
  // Grid-stride: a thousand blocks fill any card; each thread takes (block, slice) pairs.
  const long long pairs =
      static_cast<long long>(ceilDiv(tilesOf(args.M), 2)) * ceilDiv(tilesOf(args.N), 4) * kSlicesOf(args.K);
  const unsigned blocks = static_cast<unsigned>(std::min<long long>((pairs + 255) / 256, 1024));
  countWalkedSlices<<<blocks, 256, 0, stream>>>(args, gate);
  if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  if (const cudaError_t e = launchTf32x3<2, 4, 4, 3, 2>(args, stream, gate, GateRole::kLargeTiles); e != cudaSuccess) {
    return e;
  }
  return launchTf32x3<2, 2, 4, 2, 4>(args, stream, gate, GateRole::kSmallTiles);
}

}  // namespace esmm
