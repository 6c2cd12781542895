// The comparison-only variants by stable id (recorded in the harness's output), as dispatch.cu
// registers the dispatcher's.
#include "experimental.cuh"

namespace esmm {
namespace {

size_t noWorkspace(int, int, int) { return 0; }

const Variant kExperimentalVariants[] = {
    {"tf32x3-128x128", launchTf32x3_128x128, noWorkspace},
    {"tf32x3-64x128", launchTf32x3_64x128, noWorkspace},
    {"tf32x3-64x64", launchTf32x3_64x64, noWorkspace},
    {"tf32x3-by-density", launchTf32x3ByDensity, tf32x3ByDensityWorkspaceBytes},
    {"tf32x3-klist-64x128", launchTf32x3KList64x128, tf32x3KListWorkspaceBytes},
    {"tf32x3-klist-128x32", launchTf32x3KList128x32, tf32x3KListWorkspaceBytes},
    {"tf32x3-klist-64x64", launchTf32x3KList64x64, tf32x3KListWorkspaceBytes},
    {"tf32x3-warp-2x2-c2048", launchTf32x3Warp2x2C2048, tf32x3WarpWorkspaceBytes},
    {"tf32x3-warp-2x4", launchTf32x3Warp2x4, tf32x3WarpWorkspaceBytes},
    {"tf32x3-warp-4x2", launchTf32x3Warp4x2, tf32x3WarpWorkspaceBytes},
    {"tf32x3-warp-4x4", launchTf32x3Warp4x4, tf32x3WarpWorkspaceBytes},
    {"tf32x3-warp-splitk-2x2", launchTf32x3WarpSplit2x2, tf32x3WarpSplit2x2WorkspaceBytes},
    // Exact float32 FFMA with per-k skipping on the FP32 pipes; slower than tf32x3 at every
    // measured density, kept as the plain-float32 reference variant.
    {"tiled-ffma-64x128", launchTiledFfma64x128, noWorkspace},
};

}  // namespace

int experimentalVariantCount() { return sizeof(kExperimentalVariants) / sizeof(kExperimentalVariants[0]); }

const Variant& experimentalVariantAt(int i) { return kExperimentalVariants[i]; }

}  // namespace esmm
