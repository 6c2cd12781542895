// Registry of the ESMM kernel variants launchEsmm picks from (one per shape); the kernel harness times
// each, beside the comparison-only ones of experimental/.
#pragma once
#include <cstddef>

#include "esmm.h"

namespace esmm {

struct Variant {
  const char* name;  // stable id, recorded in results
  cudaError_t (*launch)(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);
  size_t (*workspaceBytes)(int M, int N, int K);
};

// The shape every launcher requires first, of EsmmArgs and DenseArgs alike: the kernels then never
// index out of bounds.
template <class Args>
inline bool validShape(const Args& a) {
  return a.M >= 1 && a.N >= 1 && a.K >= 1 && a.lda >= a.K && a.ldb >= a.N && a.ldc >= a.N;
}

// Shape and pointer checks every ESMM launcher applies first.
inline cudaError_t checkArgs(const EsmmArgs& a) {
  if (!validShape(a)) return cudaErrorInvalidValue;
  if (a.A == nullptr || a.B == nullptr || a.C == nullptr || a.aPat == nullptr || a.bPat == nullptr) {
    return cudaErrorInvalidValue;
  }
  return cudaSuccess;
}

// Multiprocessor count of the current device (read once), for grid sizing.
int numSMs();
// C = the sum of `splits` partial results laid out split-major (M×N each): the K-split epilogue.
cudaError_t launchSumSplits(const float* partial, int splits, int M, int N, float* C, int ldc, cudaStream_t stream);

// The dense small-M paths run an ESMM kernel with its dense form (no patterns read): checks d's shape
// and pointers and writes it as EsmmArgs without patterns.
inline cudaError_t denseAsEsmm(const DenseArgs& d, EsmmArgs& out) {
  if (!validShape(d) || d.A == nullptr || d.B == nullptr || d.C == nullptr) return cudaErrorInvalidValue;
  out = EsmmArgs{d.A, d.B, d.C, d.M, d.N, d.K, d.lda, d.ldb, d.ldc, nullptr, nullptr};
  return cudaSuccess;
}

int variantCount();
const Variant& variantAt(int i);
// nullptr when no variant has that id.
const Variant* findVariant(const char* name);

// Per-technique launchers (one file each), registered in dispatch.cu.
// k-granular staging (esmm_klist.cu); workspace: A transposed (and the block-tile gate).
size_t tf32x3KListWorkspaceBytes(int M, int N, int K);
// 64×128 or 128×32 blocks, chosen on the device from the patterns.
cudaError_t launchTf32x3KListByDensity(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);

// Warp-exact skipping without staging (esmm_warp.cu): each warp lists its own tile pair's k and
// loads them from L2 into its fragments; workspace: A transposed.
size_t tf32x3WarpWorkspaceBytes(int M, int N, int K);
cudaError_t launchTf32x3Warp(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);
// The same for few rows, K split over a wave of blocks (the partial sums follow A in the workspace).
size_t tf32x3WarpSplitWorkspaceBytes(int M, int N, int K);
cudaError_t launchTf32x3WarpSplit(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);

size_t decodeWorkspaceBytes(int M, int N, int K);
// The decode technique as a plain dense GEMM (no patterns read): the dense baseline's small-M path.
cudaError_t launchDenseDecode(const DenseArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);
cudaError_t launchDecode(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);
// Decode technique with the B loads of the next slices in flight and up to 64 rows per lane.
size_t decodeWideWorkspaceBytes(int M, int N, int K);
cudaError_t launchDecodeWide(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);
// One-launch float32 GEMV for 1 … kGemvMaxRows rows and for a short K (esmm_gemv.cu): B's kept rows
// in 16-byte loads, the K splits added by the last block of each column group; workspace: the
// partial sums (and, for very wide grids, the counters).
constexpr int kGemvMaxRows = 4;
constexpr int kGemvGroupRows = 4;  // rows that share each load of B
// It also takes up to 32 rows over a short K: it reads B once per 4 rows, and while those passes
// span at most 2048 k it beats the decode, split and Hopper paths, whose fixed costs (a second
// launch, a pipeline to fill, a wave of few blocks) a short K does not pay back. H200, N = 4096,
// b-only d = .5 / 1 (hopper_bench, kernel-notes v20c): 16 rows K = 128 8.5 / 8.1 µs against the
// Hopper path's 11.5 / 11.3 and the decode kernel's 13.9 / 14.9; 16 rows K = 512 13.6 / 14.0
// against 14.6 / 13.6; 32 rows K = 256 11.0 / 11.6 against 14.3 / 14.0. One pass more and the
// Hopper path wins: 16 rows K = 1024 18.7 / 19.5 against 17.6 / 17.1; 32 rows K = 512 16.2 / 16.6
// against 14.9 / 14.8. Below kHopperMinRows the other path is the decode kernel, which the GEMV's
// two passes beat up to K = 2048 (v21c: 8 rows K = 2048 18.8 / 20.2 against 18.9 / 21.9; 12 rows,
// three passes, K = 1024: 18.0 / 19.4 against the Hopper path's 17.6 / 17.4).
constexpr int kGemvShortKMaxRows = 32;
constexpr int kGemvShortKMaxPassK = 2048;
constexpr int kGemvTwoPassMaxK = 2048;  // 5–8 rows
constexpr bool gemvRuns(int M, int K) {
  const long long passes = (M + kGemvGroupRows - 1) / kGemvGroupRows;
  return M <= kGemvMaxRows || (M <= 2 * kGemvGroupRows && K <= kGemvTwoPassMaxK) ||
         (M <= kGemvShortKMaxRows && passes * K <= kGemvShortKMaxPassK);
}
size_t gemvSkipWorkspaceBytes(int M, int N, int K);
cudaError_t launchGemvSkip(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);
// The same GEMV reading no patterns: dense-tf32x3's path where gemvRuns holds.
cudaError_t launchDenseGemv(const DenseArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);

// Whether the Hopper mainloop can take a product of this shape (dense_tf32x3.cu): from kHopperMinRows
// rows where the GEMV does not, on a Hopper GPU of a build with sm_90a, with K's k-tile list in shared
// memory. dense-tf32x3 runs it wherever B is prepared; ESMM by rows and k density as well (dispatch.cu).
bool hopperPathRuns(int M, int K);

}  // namespace esmm

