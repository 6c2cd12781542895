// ESMM for decode-sized M (a few rows): the work is reading B, so B never goes through shared memory.
// A lane owns one column of B and accumulates up to kRows rows of C; for each set joint bit it loads
// one B element (a warp: one 128-byte row segment of its 32-column tile), and a clear bit is 128 bytes
// never read. The loads of two slices are issued before their first use (up to 16 in flight a warp).
// A block covers kTilesN B tiles × one K split; its kGroupsK warps per tile take interleaved slices
// and meet in shared memory at the end. The block's A rows for 256 k at a time sit in shared memory
// (read as broadcast 16-byte vectors), with the block's joint patterns for those slices beside them.
// K splits write partial sums to the workspace, summed by a second small kernel (deterministic).
// With kDense the same technique runs as a plain dense GEMM (no pattern is read, every k is
// multiplied): the small-M path of the dense baseline, so a decode-sized speedup is ESMM's skipping
// and not its way of streaming B.
#include <algorithm>
#include <atomic>

#include "decode_common.cuh"

namespace esmm {
namespace {

using decode::kGroupsK;
using decode::kMaxSplits;
using decode::kThreads;
using decode::kTilesN;

constexpr int kSubSlices = 32;  // slices of A staged at a time (256 k)
// Up to 16 rows, four blocks a multiprocessor keep enough loads of B in flight: the bound caps those
// kernels at 64 registers (without it the dense 16-row instantiation took 70, ran 3 blocks a
// multiprocessor and streamed B 25 % slower on an H200). 32 rows need more registers than that.
constexpr int minBlocksPerSM(int rows) { return rows <= 16 ? 4 : 1; }
static_assert(kSubSlices % (2 * kGroupsK) == 0, "each warp takes its slices two at a time");

int rowsPerTile(int M) { return M <= 8 ? 8 : (M <= 16 ? 16 : 32); }

// K splits: enough blocks to keep ~4 per SM streaming, never more partial sums than kMaxSplits.
int decodeSplits(int M, int N, int K) {
  const int subChunks = ceilDiv(kSlicesOf(K), kSubSlices);
  const int blocks = ceilDiv(tilesOf(N), kTilesN) * tilesOf(M);
  const int want = ceilDiv(4 * numSMs(), blocks);
  return std::max(1, std::min({want, kMaxSplits, subChunks}));
}

// Deterministic sum of the K splits' partial results (split-major, M×N each) into C.
__global__ void sumSplitsKernel(const float* __restrict__ partial, int splits, int M, int N, float* __restrict__ C,
                                int ldc) {
  waitForPriorGrids();
  const size_t total = static_cast<size_t>(M) * N;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    float v = 0.f;
    for (int s = 0; s < splits; ++s) v += partial[static_cast<size_t>(s) * total + i];
    C[(i / N) * ldc + i % N] = v;
  }
}

template <int kRows, bool kVecA, bool kDense>
__global__ void __launch_bounds__(kThreads, minBlocksPerSM(kRows)) decodeKernel(EsmmArgs p, float* partial) {
  waitForPriorGrids();
  allowDependentLaunch();
  // A rows transposed, As[k][row]: a row-vector of one k is a broadcast 16-byte read.
  __shared__ __align__(16) float As[kSubSlices * kBK * kRows];
  __shared__ uint8_t jointS[kTilesN][kSubSlices];
  static_assert(kSubSlices * kBK * kRows >= (kGroupsK - 1) * kRows * kTilesN * 32,
                "the cross-warp reduction reuses the A buffer");

  const int warp = threadIdx.x >> 5;
  const int lane = threadIdx.x & 31;
  const int tileLocal = warp % kTilesN;
  const int kg = warp / kTilesN;
  const int mTile = blockIdx.z;
  const int m0 = mTile * kTile;
  const int nTile0 = blockIdx.x * kTilesN;
  const int nTiles = tilesOf(p.N);
  const int nks = kSlicesOf(p.K);
  const int col = (nTile0 + tileLocal) * kTile + lane;
  const bool colValid = col < p.N;
  const float* Bcol = p.B + (colValid ? col : 0);

  float acc[kRows];
#pragma unroll
  for (int r = 0; r < kRows; ++r) acc[r] = 0.f;

  // Up to 16 rows split y takes sub-chunks y, y + splits, …: with weights whose kept k gather in part
  // of K (columns sorted by norm), contiguous ranges leave one split most of the work. With 32-row
  // tiles the interleaved order ran 1–6 % slower on uniform masks (H200, 17–128 rows; kernel-notes
  // v19d), and the dispatcher sends those rows elsewhere on Hopper: contiguous ranges there.
  const int subChunks = ceilDiv(nks, kSubSlices);
  constexpr bool kInterleave = kRows <= 16;
  const int perSplit = ceilDiv(subChunks, static_cast<int>(gridDim.y));
  const int subStep = kInterleave ? static_cast<int>(gridDim.y) : 1;
  const int subBegin = kInterleave ? static_cast<int>(blockIdx.y) : static_cast<int>(blockIdx.y) * perSplit;
  const int subEnd = kInterleave ? subChunks : min(subChunks, subBegin + perSplit);
  for (int sub = subBegin; sub < subEnd; sub += subStep) {
    const int s0 = sub * kSubSlices;
    const int k0 = s0 * kBK;
    __syncthreads();  // the previous sub-chunk's readers are done with As and jointS
    decode::stageATransposed<kRows, kSubSlices, kVecA>(p, As, m0, k0);
    for (int idx = threadIdx.x; idx < kTilesN * kSubSlices; idx += kThreads) {
      const int t = idx / kSubSlices;
      const int i = idx % kSubSlices;
      const int s = s0 + i;
      const int nTile = nTile0 + t;
      uint32_t joint = 0;
      if (s < nks && nTile < nTiles) {
        if constexpr (kDense) {
          joint = sliceKMask(s, p.K);
        } else {
          joint = p.aPat[static_cast<size_t>(mTile) * nks + s] & p.bPat[static_cast<size_t>(nTile) * nks + s] &
                  sliceKMask(s, p.K);
        }
      }
      jointS[t][i] = static_cast<uint8_t>(joint);
    }
    __syncthreads();

    for (int i = kg; i < kSubSlices; i += 2 * kGroupsK) {
      const uint32_t j0 = colValid ? jointS[tileLocal][i] : 0u;
      const uint32_t j1 = colValid ? jointS[tileLocal][i + kGroupsK] : 0u;
      const int ka = k0 + i * kBK;
      const int kb = k0 + (i + kGroupsK) * kBK;
      float b0[kBK], b1[kBK];
#pragma unroll
      for (int j = 0; j < kBK; ++j) {
        b0[j] = (j0 >> j) & 1u ? __ldg(Bcol + static_cast<size_t>(ka + j) * p.ldb) : 0.f;
        b1[j] = (j1 >> j) & 1u ? __ldg(Bcol + static_cast<size_t>(kb + j) * p.ldb) : 0.f;
      }
      // Warp-uniform skips (every valid lane of a warp shares the tile's joint).
      const uint32_t w0 = __shfl_sync(0xFFFFFFFFu, j0, 0);
      const uint32_t w1 = __shfl_sync(0xFFFFFFFFu, j1, 0);
#pragma unroll
      for (int j = 0; j < kBK; ++j) {
        if ((w0 >> j) & 1u) {
          const float* a = As + (i * kBK + j) * kRows;
#pragma unroll
          for (int r = 0; r < kRows; r += 4) {
            const float4 av = *reinterpret_cast<const float4*>(a + r);
            acc[r] = fmaf(av.x, b0[j], acc[r]);
            acc[r + 1] = fmaf(av.y, b0[j], acc[r + 1]);
            acc[r + 2] = fmaf(av.z, b0[j], acc[r + 2]);
            acc[r + 3] = fmaf(av.w, b0[j], acc[r + 3]);
          }
        }
      }
#pragma unroll
      for (int j = 0; j < kBK; ++j) {
        if ((w1 >> j) & 1u) {
          const float* a = As + ((i + kGroupsK) * kBK + j) * kRows;
#pragma unroll
          for (int r = 0; r < kRows; r += 4) {
            const float4 av = *reinterpret_cast<const float4*>(a + r);
            acc[r] = fmaf(av.x, b1[j], acc[r]);
            acc[r + 1] = fmaf(av.y, b1[j], acc[r + 1]);
            acc[r + 2] = fmaf(av.z, b1[j], acc[r + 2]);
            acc[r + 3] = fmaf(av.w, b1[j], acc[r + 3]);
          }
        }
      }
    }
  }

  decode::reduceAndStore<kRows>(p, acc, As, kg, tileLocal, lane, colValid, m0, col, blockIdx.y, partial);
}

template <int kRows, bool kDense>
cudaError_t launchRows(const EsmmArgs& p, int splits, float* partial, cudaStream_t stream) {
  // `splits` as launched (decode::launchedSplits): at most one a sub-chunk, so every split has one.
  const dim3 grid(ceilDiv(tilesOf(p.N), kTilesN), splits, tilesOf(p.M));
  if (grid.y > 65535u || grid.z > 65535u) return cudaErrorInvalidValue;
  const auto kernel = rowsVec4Aligned(p.A, p.lda) ? decodeKernel<kRows, true, kDense> : decodeKernel<kRows, false, kDense>;
  return launchDependent(kernel, grid, dim3(kThreads), 0, stream, p, partial);
}

// A device attribute of the current device, read once per device (`fallback` when it cannot be read):
// the workers of --devices each launch on their own GPU, which need not be the same model.
template <cudaDeviceAttr kAttr>
int deviceAttribute(int fallback) {
  constexpr int kMaxDevices = 64;
  static std::atomic<int> values[kMaxDevices];  // 0: not read yet
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || dev < 0 || dev >= kMaxDevices) {
    cudaGetLastError();
    return fallback;
  }
  int v = values[dev].load(std::memory_order_relaxed);
  if (v == 0) {
    if (cudaDeviceGetAttribute(&v, kAttr, dev) != cudaSuccess || v <= 0) {
      cudaGetLastError();
      v = fallback;
    }
    values[dev].store(v, std::memory_order_relaxed);
  }
  return v;
}

}  // namespace

int numSMs() { return deviceAttribute<cudaDevAttrMultiProcessorCount>(132); }

bool programmaticLaunch() { return deviceAttribute<cudaDevAttrComputeCapabilityMajor>(1) >= 9; }

cudaError_t launchSumSplits(const float* partial, int splits, int M, int N, float* C, int ldc, cudaStream_t stream) {
  const size_t total = static_cast<size_t>(M) * N;
  const int blocks = static_cast<int>(std::min<size_t>((total + 255) / 256, static_cast<size_t>(8 * numSMs())));
  return launchDependent(sumSplitsKernel, dim3(blocks), dim3(256), 0, stream, partial, splits, M, N, C, ldc);
}

size_t decodeWorkspaceBytes(int M, int N, int K) {
  if (M < 1 || N < 1 || K < 1) return 0;
  return decode::partialBytes(decodeSplits(M, N, K), M, N);
}

namespace {

template <bool kDense>
cudaError_t launchDecodeAs(const EsmmArgs& p, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  const int splits = decode::launchedSplits(ceilDiv(kSlicesOf(p.K), kSubSlices), decodeSplits(p.M, p.N, p.K));
  float* partial = nullptr;
  if (const cudaError_t e = decode::partialBuffer(p, splits, workspace, workspaceBytes, &partial); e != cudaSuccess) {
    return e;
  }
  const int rows = rowsPerTile(p.M);
  const cudaError_t e = rows == 8    ? launchRows<8, kDense>(p, splits, partial, stream)
                        : rows == 16 ? launchRows<16, kDense>(p, splits, partial, stream)
                                     : launchRows<32, kDense>(p, splits, partial, stream);
  return decode::finishSplits(e, p, splits, partial, stream);
}

}  // namespace

cudaError_t launchDecode(const EsmmArgs& p, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  if (const cudaError_t e = checkArgs(p); e != cudaSuccess) return e;
  return launchDecodeAs<false>(p, workspace, workspaceBytes, stream);
}

cudaError_t launchDenseDecode(const DenseArgs& d, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  EsmmArgs p{};
  if (const cudaError_t e = denseAsEsmm(d, p); e != cudaSuccess) return e;
  return launchDecodeAs<true>(p, workspace, workspaceBytes, stream);
}

}  // namespace esmm
