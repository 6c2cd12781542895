// Comparison-only ESMM variants: launchers the dispatcher (dispatch.cu) never picks, kept so the
// kernel harness can time them beside the ones it does. Built only into the harness
// (scripts/kernel-bench.sh, with -Ikernels), never into the addon.
#pragma once
#include <cstddef>

#include "variants.cuh"

namespace esmm {

// Every comparison-only variant, in the harness's order (variants.cu).
int experimentalVariantCount();
const Variant& experimentalVariantAt(int i);

// Exact float32 FFMA with per-k skipping on the FP32 pipes (esmm_tiled.cu).
cudaError_t launchTiledFfma64x128(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);

// 3xTF32 with slice-granular staging (esmm_tf32x3.cu), one block tile throughout.
cudaError_t launchTf32x3_128x128(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);
cudaError_t launchTf32x3_64x128(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);
cudaError_t launchTf32x3_64x64(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);
// 64×128 or 64×64 blocks, chosen on the device from the patterns (workspace: the slice counts).
size_t tf32x3ByDensityWorkspaceBytes(int M, int N, int K);
cudaError_t launchTf32x3ByDensity(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);

// k-granular staging (../klist.cuh) with one block tile throughout (esmm_klist_tiles.cu); the workspace
// is tf32x3-klist's (tf32x3KListWorkspaceBytes).
cudaError_t launchTf32x3KList64x128(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);
cudaError_t launchTf32x3KList128x32(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);
cudaError_t launchTf32x3KList64x64(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);

// Warp-exact skipping without staging (../warp.cuh) in other block shapes and list chunks
// (esmm_warp_tiles.cu); the workspace is tf32x3-warp's (tf32x3WarpWorkspaceBytes).
cudaError_t launchTf32x3Warp2x2C2048(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);
cudaError_t launchTf32x3Warp2x4(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);
cudaError_t launchTf32x3Warp4x2(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);
cudaError_t launchTf32x3Warp4x4(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);
// tf32x3-warp-splitk in 2 × 2-warp blocks (two A tiles a block: idle warps at 32 rows or fewer).
size_t tf32x3WarpSplit2x2WorkspaceBytes(int M, int N, int K);
cudaError_t launchTf32x3WarpSplit2x2(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);

}  // namespace esmm
