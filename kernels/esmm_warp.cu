// tf32x3-warp as the dispatcher runs it (the technique: warp.cuh).
#include "variants.cuh"
#include "warp.cuh"

namespace esmm {

size_t tf32x3WarpWorkspaceBytes(int M, int N, int K) { return klist::klistWorkspaceBytes(M, N, K); }

// <warps along M, warps along N, blocks a multiprocessor, pattern bytes a lane lists per chunk>
cudaError_t launchTf32x3Warp(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  return warpk::launchWarp<2, 2, 4, 16>(args, workspace, workspaceBytes, stream);
}

// Few rows: one A tile × four B tiles a block (no warp idles at 32 rows or fewer), K split to fill a wave.
size_t tf32x3WarpSplitWorkspaceBytes(int M, int N, int K) { return warpk::warpSplitWorkspaceBytes<1, 4, 4>(M, N, K); }

// Up to 32 rows (one A tile: the decode sizes) the steps are staged 4 deep in shared memory, a
// quarter-warp copying a whole row (warp.cuh, kRows): H200, b-only, 16 / 32 rows at d = .5 0.0277 /
// 0.0283–0.0284 → 0.0273 / 0.0277–0.0279 ms, d = 1 1–2 % faster too; at 256 rows it was 5 % slower,
// and the unsplit kernel 6–9 % slower at 4096³ (kernel-notes v21h), so they keep the register form.
cudaError_t launchTf32x3WarpSplit(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  if (args.M <= kTile) return warpk::launchWarpSplit<1, 4, 4, 8, 4>(args, workspace, workspaceBytes, stream);
  return warpk::launchWarpSplit<1, 4, 4, 8>(args, workspace, workspaceBytes, stream);
}

}  // namespace esmm
