// tf32x3-klist as the dispatcher runs it from 128 rows: k-granular staging (klist.cuh) with the block
// tile, 64×128 or 128×32, chosen on the device from the patterns (KGate); and the transpose of A
// every klist launch starts with.
#include <algorithm>

#include "klist.cuh"
#include "variants.cuh"

namespace esmm {
namespace klist {
namespace {

// One thread per (128-row group, 4 B tiles, slice): both block shapes see whole units of it.
__global__ void __launch_bounds__(256) countListedK(EsmmArgs p, KGate* gate) {
  const int nks = kSlicesOf(p.K);
  const int mTiles = tilesOf(p.M);
  const int nTiles = tilesOf(p.N);
  const long long mGroups = ceilDiv(mTiles, 4);
  const long long nGroups = ceilDiv(nTiles, 4);
  const long long total = mGroups * nGroups * nks;
  unsigned int wide = 0, narrow = 0;
  for (long long i = blockIdx.x * 256LL + threadIdx.x; i < total; i += static_cast<long long>(gridDim.x) * 256) {
    const int s = static_cast<int>(i % nks);
    const long long grp = i / nks;
    const int mt = static_cast<int>(grp / nGroups) * 4;
    const int nt = static_cast<int>(grp % nGroups) * 4;
    const uint32_t kmask = sliceKMask(s, p.K);
    uint32_t orA[2] = {0u, 0u};
#pragma unroll
    for (int u = 0; u < 4; ++u) orA[u >> 1] |= mt + u < mTiles ? p.aPat[static_cast<size_t>(mt + u) * nks + s] : 0u;
    orA[0] &= kmask;
    orA[1] &= kmask;
    uint32_t orB = 0;
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      const uint32_t b = nt + u < nTiles ? p.bPat[static_cast<size_t>(nt + u) * nks + s] : 0u;
      orB |= b;
      narrow += __popc((orA[0] | orA[1]) & b);
    }
    wide += __popc(orA[0] & orB) + __popc(orA[1] & orB);
  }
  blockAddPair(wide, narrow, &gate->listed64x128, &gate->listed128x32);
}

// A block of 32 × 8 threads transposes 64 k × 64 rows (two A tiles): 16-byte reads along A's rows
// (4 in flight a thread), 8-byte writes along At's rows. A row of At within a tile (one k of one A
// tile) is written only where A's pattern bit is set: the kernels that read At read only those (a k
// is listed for a tile only with its A bit set), so at pattern density d the transpose writes d of
// At's bytes. Nor is a 16-byte piece of A read where the pattern bits of its 4 k are clear for its tile
// (those k are zero in all 32 of its rows): the block reads its pattern bytes first. (The first
// version, 32 × 32 per block with 4-byte accesses, took 48 µs at 4096² on an H200: 2.7 TB/s,
// latency-bound at 16 bytes in flight a thread.)
//
// kMakePattern: the A-pattern pass and the transpose in one read of A (launchAPatternsTransposed):
// every piece is read, the block's 16 pattern bytes are made from its tile in shared memory (the
// same test as patterns.cu: `!= 0`, so NaN counts) and written to aPatOut, and At is written by them.
constexpr int kTK = 64;  // k per transpose block
constexpr int kTM = 64;  // rows per transpose block
template <bool kMakePattern>
__global__ void __launch_bounds__(256) transposeA(const float* __restrict__ A, int M, int K, int lda, bool vecA,
                                                  const uint8_t* __restrict__ aPat, uint8_t* __restrict__ aPatOut,
                                                  float* __restrict__ At, int ldt, unsigned long long* zero2) {
  allowDependentLaunch();
  __shared__ float tileS[kTM][kTK + 1];
  __shared__ uint8_t patS[kTM / kTile][kTK / kBK];
  // The gate's counters (when the launch has a gate), zeroed here rather than by a separate memset.
  if (zero2 != nullptr && blockIdx.x == 0 && blockIdx.y == 0 && threadIdx.y == 0 && threadIdx.x < 2) {
    zero2[threadIdx.x] = 0ull;
  }
  const int k0 = blockIdx.x * kTK;
  const int m0 = blockIdx.y * kTM;
  const int tid = threadIdx.y * 32 + threadIdx.x;
  const int nks = kSlicesOf(K);
  const int mTiles = tilesOf(M);
  // The block's pattern bytes, one a thread of the first 16: tile half patH, slice patJ of the block.
  const bool patThread = tid < (kTM / kTile) * (kTK / kBK);
  const int patH = tid / (kTK / kBK);
  const int patJ = tid % (kTK / kBK);
  const int patTile = m0 / kTile + patH;
  const int patSlice = k0 / kBK + patJ;
  const bool patInside = patTile < mTiles && patSlice < nks;
  if (!kMakePattern && patThread) {
    patS[patH][patJ] = patInside ? aPat[static_cast<size_t>(patTile) * nks + patSlice] : 0;
  }
  if (!kMakePattern) __syncthreads();
  constexpr int kChunks = kTK / 4;  // 16-byte chunks per row of the block
#pragma unroll
  for (int j = 0; j < kTM * kChunks / 256; ++j) {
    const int i = tid + 256 * j;
    const int r = i / kChunks;
    const int c = 4 * (i % kChunks);
    const int m = m0 + r;
    const int k = k0 + c;
    float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
    const bool kept = kMakePattern || ((patS[r / kTile][c / kBK] >> (c % kBK)) & 0xFu);
    if (m < M && kept) {
      const float* a = A + static_cast<size_t>(m) * lda + k;
      if (vecA && k + 4 <= K) {
        v = __ldg(reinterpret_cast<const float4*>(a));
      } else {
        if (k < K) v.x = __ldg(a);
        if (k + 1 < K) v.y = __ldg(a + 1);
        if (k + 2 < K) v.z = __ldg(a + 2);
        if (k + 3 < K) v.w = __ldg(a + 3);
      }
    }
    tileS[r][c] = v.x;
    tileS[r][c + 1] = v.y;
    tileS[r][c + 2] = v.z;
    tileS[r][c + 3] = v.w;
  }
  __syncthreads();
  if constexpr (kMakePattern) {
    // Warp w (of the first 4) tests k columns 32·(w % 2) … +31 of tile half w / 2 over its 32 rows; its
    // ballot is 4 pattern bytes. Rows past M and k past K were staged as zeros, so their bits are clear.
    const int w = threadIdx.y;
    if (w < 4) {
      const int half = w / 2;
      const int c = 32 * (w % 2) + threadIdx.x;
      bool nz = false;
#pragma unroll 8
      for (int r = 0; r < kTile; ++r) nz |= tileS[half * kTile + r][c] != 0.f;
      const unsigned bits = __ballot_sync(0xFFFFFFFFu, nz);
      if (threadIdx.x < 4) patS[half][4 * (w % 2) + threadIdx.x] = static_cast<uint8_t>(bits >> (8 * threadIdx.x));
    }
    __syncthreads();
    if (patThread && patInside) aPatOut[static_cast<size_t>(patTile) * nks + patSlice] = patS[patH][patJ];
  }
  const int half = threadIdx.x / (kTile / 2);  // the A tile of the lane's two rows
  const int mr = 2 * threadIdx.x;
#pragma unroll 4
  for (int r = threadIdx.y; r < kTK; r += 8) {
    const int k = k0 + r;
    if (k < K && ((patS[half][r / kBK] >> (r % kBK)) & 1u)) {
      *reinterpret_cast<float2*>(At + static_cast<size_t>(k) * ldt + m0 + mr) = make_float2(tileS[mr][r], tileS[mr + 1][r]);
    }
  }
}

}  // namespace

dim3 transposeGrid(int M, int K) { return dim3(ceilDiv(K, kTK), ceilDiv(transposedStride(M), kTM)); }

cudaError_t launchTranspose(const EsmmArgs& p, void* workspace, size_t workspaceBytes, cudaStream_t stream,
                            bool withGate) {
  if (const cudaError_t e = checkArgs(p); e != cudaSuccess) return e;
  if (workspace == nullptr || workspaceBytes < klistWorkspaceBytes(p.M, p.N, p.K)) return cudaErrorInvalidValue;
  static_assert(sizeof(KGate) == 2 * sizeof(unsigned long long), "the transpose zeroes the gate as two words");
  if (p.aTransposed != nullptr) {
    // Already transposed by the A-pattern pass: only the gate's counters to zero.
    return withGate ? cudaMemsetAsync(gateOf(p, workspace), 0, sizeof(KGate), stream) : cudaSuccess;
  }
  const dim3 tgrid = transposeGrid(p.M, p.K);
  if (tgrid.y > 65535u) return cudaErrorInvalidValue;
  transposeA<false><<<tgrid, dim3(32, 8), 0, stream>>>(p.A, p.M, p.K, p.lda, rowsVec4Aligned(p.A, p.lda), p.aPat,
                                                       nullptr, static_cast<float*>(workspace), transposedStride(p.M),
                                                       withGate ? reinterpret_cast<unsigned long long*>(gateOf(p, workspace))
                                                                : nullptr);
  return cudaGetLastError();
}

// <warps along M, warps along N, listed k per stage, stages, slices per list chunk, blocks per SM>
cudaError_t launchWide(const EsmmArgs& p, void* workspace, cudaStream_t stream, const KGate* gate, KRole role) {
  return launchKListKernel<2, 4, 32, 3, 512, 2>(p, workspace, stream, gate, role);
}

cudaError_t launchNarrow(const EsmmArgs& p, void* workspace, cudaStream_t stream, const KGate* gate, KRole role) {
  return launchKListKernel<4, 1, 32, 2, 512, 4>(p, workspace, stream, gate, role);
}

}  // namespace klist

size_t tf32x3KListWorkspaceBytes(int M, int N, int K) { return klist::klistWorkspaceBytes(M, N, K); }

size_t aTransposedBytes(int M, int K) { return M >= 1 && K >= 1 ? klist::transposedBytes(M, K) : 0; }

cudaError_t launchAPatternsTransposed(const float* A, int M, int K, int lda, uint8_t* aPat, float* aT,
                                      cudaStream_t stream) {
  using namespace klist;
  if (A == nullptr || aPat == nullptr || aT == nullptr || M < 1 || K < 1 || lda < K) return cudaErrorInvalidValue;
  const dim3 tgrid = transposeGrid(M, K);
  if (tgrid.y > 65535u) return cudaErrorInvalidValue;
  transposeA<true><<<tgrid, dim3(32, 8), 0, stream>>>(A, M, K, lda, rowsVec4Aligned(A, lda), nullptr, aPat, aT,
                                                      transposedStride(M), nullptr);
  return cudaGetLastError();
}

cudaError_t launchTf32x3KListByDensity(const EsmmArgs& args, void* workspace, size_t workspaceBytes,
                                       cudaStream_t stream) {
  using namespace klist;
  if (const cudaError_t e = launchTranspose(args, workspace, workspaceBytes, stream, true); e != cudaSuccess) return e;
  KGate* gate = gateOf(args, workspace);
  const long long units =
      static_cast<long long>(ceilDiv(tilesOf(args.M), 4)) * ceilDiv(tilesOf(args.N), 4) * kSlicesOf(args.K);
  const unsigned blocks = static_cast<unsigned>(std::min<long long>((units + 255) / 256, 1024));
  countListedK<<<blocks, 256, 0, stream>>>(args, gate);
  if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  if (const cudaError_t e = launchWide(args, workspace, stream, gate, KRole::kWide); e != cudaSuccess) return e;
  return launchNarrow(args, workspace, stream, gate, KRole::kNarrow);
}

}  // namespace esmm
