// tf32x3-klist with one block tile throughout: the two tiles the dispatcher's gate chooses between
// (64×128, 128×32) and 64×64, for comparison with the gated variant.
#include "experimental.cuh"
#include "klist.cuh"

namespace esmm {

cudaError_t launchTf32x3KList64x128(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  if (const cudaError_t e = klist::launchTranspose(args, workspace, workspaceBytes, stream); e != cudaSuccess) return e;
  return klist::launchWide(args, workspace, stream, nullptr, klist::KRole::kNone);
}

cudaError_t launchTf32x3KList128x32(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  if (const cudaError_t e = klist::launchTranspose(args, workspace, workspaceBytes, stream); e != cudaSuccess) return e;
  return klist::launchNarrow(args, workspace, stream, nullptr, klist::KRole::kNone);
}

cudaError_t launchTf32x3KList64x64(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  return klist::launchKList<2, 2, 32, 2, 256, 4>(args, workspace, workspaceBytes, stream);
}

}  // namespace esmm
