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

// 32 × 8 threads per 32 × 32 tile; reads along A's rows and writes along At's rows, both coalesced.
__global__ void __launch_bounds__(256) transposeA(const float* __restrict__ A, int M, int K, int lda,
                                                  float* __restrict__ At, int ldt, unsigned long long* zero2) {
  __shared__ float tileS[kTile][kTile + 1];
  // The gate's counters (when the launch has a gate), zeroed here rather than by a separate memset.
  if (zero2 != nullptr && blockIdx.x == 0 && blockIdx.y == 0 && threadIdx.y == 0 && threadIdx.x < 2) {
    zero2[threadIdx.x] = 0ull;
  }
  const int k0 = blockIdx.x * kTile;
  const int m0 = blockIdx.y * kTile;
#pragma unroll
  for (int r = threadIdx.y; r < kTile; r += 8) {
    const int m = m0 + r;
    const int k = k0 + threadIdx.x;
    tileS[r][threadIdx.x] = m < M && k < K ? A[static_cast<size_t>(m) * lda + k] : 0.f;
  }
  __syncthreads();
#pragma unroll
  for (int r = threadIdx.y; r < kTile; r += 8) {
    const int k = k0 + r;
    if (k < K) At[static_cast<size_t>(k) * ldt + m0 + threadIdx.x] = tileS[threadIdx.x][r];
  }
}

}  // namespace

cudaError_t launchTranspose(const EsmmArgs& p, void* workspace, size_t workspaceBytes, cudaStream_t stream,
                            bool withGate) {
  if (const cudaError_t e = checkArgs(p); e != cudaSuccess) return e;
  if (workspace == nullptr || workspaceBytes < klistWorkspaceBytes(p.M, p.N, p.K)) return cudaErrorInvalidValue;
  const int ldt = transposedStride(p.M);
  const dim3 tgrid(ceilDiv(p.K, kTile), ldt / kTile);
  if (tgrid.y > 65535u) return cudaErrorInvalidValue;
  static_assert(sizeof(KGate) == 2 * sizeof(unsigned long long), "the transpose zeroes the gate as two words");
  transposeA<<<tgrid, dim3(kTile, 8), 0, stream>>>(p.A, p.M, p.K, p.lda, static_cast<float*>(workspace), ldt,
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
