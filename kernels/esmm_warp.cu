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

cudaError_t launchTf32x3WarpSplit(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  return warpk::launchWarpSplit<1, 4, 4, 8>(args, workspace, workspaceBytes, stream);
}

}  // namespace esmm
