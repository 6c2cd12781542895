// Variant registry and the public launch entry points: launchEsmm picks a variant from the shape.
#include <cstring>

#include "variants.cuh"

namespace esmm {
namespace {

// Indices into kVariants, in its order.
enum VariantIndex {
  kKListByDensity,
  kDecode,
  kDecodeWide,
};

const Variant kVariants[] = {
    {"tf32x3-klist", launchTf32x3KListByDensity, tf32x3KListWorkspaceBytes},
    {"decode", launchDecode, decodeWorkspaceBytes},
    {"decode-wide", launchDecodeWide, decodeWideWorkspaceBytes},
};
constexpr int kVariantCount = sizeof(kVariants) / sizeof(kVariants[0]);
static_assert(kVariantCount == kDecodeWide + 1, "VariantIndex lists every variant in order");

// Chosen by measurement on an H100 (docs/kernel-notes.md, v4 and v5): below 128 rows the decode
// kernels, which stream B once per row group (decode-wide, up to 64 rows per lane with B copied
// ahead, wins at 32 and 64 rows; decode at 1–16 and 65–127). From 128 rows, tf32x3-klist: 3xTF32 on
// the tensor cores with k-granular staging and the block tile (64×128 or 128×32) chosen on the
// device from the patterns. At 128 rows, b-only, K = N = 4096 it took 109 µs at d = .5 against
// decode's 168, and tied at d = 1 (237 / 236 µs).
const Variant& pick(int M, int N, int K) {
  (void)N;
  (void)K;
  if (M < 128) return kVariants[M > 16 && M <= 64 ? kDecodeWide : kDecode];
  return kVariants[kKListByDensity];
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

