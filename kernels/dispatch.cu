// Variant registry and the public launch entry points: launchEsmm picks a variant from the shape.
#include <cstring>

#include "variants.cuh"

namespace esmm {
namespace {

size_t noWorkspace(int, int, int) { return 0; }

const Variant kVariants[] = {
    {"tiled-ffma-128x128", launchTiledFfma128x128, noWorkspace},
    {"tiled-ffma-64x128", launchTiledFfma64x128, noWorkspace},
    {"tiled-ffma-128x64", launchTiledFfma128x64, noWorkspace},
    {"decode", launchDecode, decodeWorkspaceBytes},
    {"tf32x3-128x128", launchTf32x3_128x128, noWorkspace},
    {"tf32x3-128x64", launchTf32x3_128x64, noWorkspace},
    {"tf32x3-64x128", launchTf32x3_64x128, noWorkspace},
};
constexpr int kVariantCount = sizeof(kVariants) / sizeof(kVariants[0]);

// Small M streams B (decode path); otherwise the tiled kernel, with narrower tiles while a
// 128×128 grid would leave SMs idle.
const Variant& pick(int M, int N, int K) {
  (void)K;
  if (M <= 128) return kVariants[3];
  const long long blocks128 = static_cast<long long>((M + 127) / 128) * ((N + 127) / 128);
  if (blocks128 < 132) return kVariants[1];
  return kVariants[0];
}

}  // namespace

int variantCount() { return kVariantCount; }

const Variant& variantAt(int i) { return kVariants[i]; }

const Variant* findVariant(const char* name) {
  for (const Variant& v : kVariants) {
    if (std::strcmp(v.name, name) == 0) return &v;
  }
  return nullptr;
}

size_t esmmWorkspaceBytes(int M, int N, int K) { return pick(M, N, K).workspaceBytes(M, N, K); }

cudaError_t launchEsmm(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  if (const cudaError_t e = checkArgs(args); e != cudaSuccess) return e;
  return pick(args.M, args.N, args.K).launch(args, workspace, workspaceBytes, stream);
}

const char* esmmVariantName(int M, int N, int K) { return pick(M, N, K).name; }

}  // namespace esmm
