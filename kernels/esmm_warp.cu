// tf32x3-warp as the dispatcher runs it (the technique: warp.cuh).
#include "variants.cuh"
#include "warp.cuh"

namespace esmm {

size_t tf32x3WarpWorkspaceBytes(int M, int N, int K) { return klist::klistWorkspaceBytes(M, N, K); }

// <warps along M, warps along N, blocks a multiprocessor, pattern bytes a lane lists per chunk>
// A block is one warp: its warps share nothing but L1, which the warps of one multiprocessor share
// anyway, and a warp whose list is short starts the next tile pair at once instead of waiting for
// its block's slowest. H200, 4096³ joint .5 / .25 / .125: 2 × 2 warps 0.7256 / 0.2065 / 0.0757 ms,
// one warp 0.7225 / 0.2029 / 0.0737 (kernel-notes v24c).
cudaError_t launchTf32x3Warp(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  return warpk::launchWarp<1, 1, 16, 16>(args, workspace, workspaceBytes, stream);
}

// Few rows, K split to fill a wave: up to 32 rows one A tile × four B tiles a block (staged, below),
// from 33 rows one warp a block; the workspace of the form the launch takes.
size_t tf32x3WarpSplitWorkspaceBytes(int M, int N, int K) {
  return M <= kTile ? warpk::warpSplitWorkspaceBytes<1, 4, 4>(M, N, K) : warpk::warpSplitWorkspaceBytes<1, 1, 16>(M, N, K);
}

// Up to 32 rows (one A tile: the decode sizes) the steps are staged 4 deep in shared memory, a
// quarter-warp copying a whole row (warp.cuh, kRows): H200, b-only, 16 / 32 rows at d = .5 0.0277 /
// 0.0283–0.0284 → 0.0273 / 0.0277–0.0279 ms, d = 1 1–2 % faster too; at 256 rows it was 5 % slower,
// and the unsplit kernel 6–9 % slower at 4096³ (kernel-notes v21h), so they keep the register form,
// in blocks of one warp as the unsplit kernel (the staged form's 14 KiB a warp would fit 15 such
// blocks a multiprocessor, not the 16 its wave is sized for): 100 × 1000 × 3000 b-only .5 0.0245 →
// 0.0235 ms, 48–128 rows within 1 % (kernel-notes v24c).
cudaError_t launchTf32x3WarpSplit(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  if (args.M <= kTile) return warpk::launchWarpSplit<1, 4, 4, 8, 4>(args, workspace, workspaceBytes, stream);
  return warpk::launchWarpSplit<1, 1, 16, 8>(args, workspace, workspaceBytes, stream);
}

}  // namespace esmm
