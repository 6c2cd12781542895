// tf32x3-warp in the other block shapes and list chunks measured against the dispatcher's (kernel-notes
// v15): larger blocks let warps that share an A or B tile find each other's rows in L1.
#include "experimental.cuh"
#include "warp.cuh"

namespace esmm {

cudaError_t launchTf32x3Warp2x2C2048(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  return warpk::launchWarp<2, 2, 4, 8>(args, workspace, workspaceBytes, stream);
}

cudaError_t launchTf32x3Warp2x4(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  return warpk::launchWarp<2, 4, 2, 16>(args, workspace, workspaceBytes, stream);
}

cudaError_t launchTf32x3Warp4x2(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  return warpk::launchWarp<4, 2, 2, 16>(args, workspace, workspaceBytes, stream);
}

size_t tf32x3WarpSplit2x2WorkspaceBytes(int M, int N, int K) { return warpk::warpSplitWorkspaceBytes<2, 2, 4>(M, N, K); }

cudaError_t launchTf32x3WarpSplit2x2(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  return warpk::launchWarpSplit<2, 2, 4, 8>(args, workspace, workspaceBytes, stream);
}

cudaError_t launchTf32x3Warp4x4(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  return warpk::launchWarp<4, 4, 1, 8>(args, workspace, workspaceBytes, stream);
}

}  // namespace esmm
