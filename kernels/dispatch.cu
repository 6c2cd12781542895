// Variant registry and the public launch entry points: launchEsmm picks a variant from the shape.
#include <algorithm>
#include <cstring>

#include "variants.cuh"
#ifdef ESMM_WITH_SM90A
#include "wgmma_tf32x3.h"
#endif

namespace esmm {
namespace {

// Indices into kVariants, in its order.
enum VariantIndex {
  kKListByDensity,
  kDecode,
  kDecodeWide,
  kGemvSkip,
  kWarp,
  kWarpSplit,
};

const Variant kVariants[] = {
    {"tf32x3-klist", launchTf32x3KListByDensity, tf32x3KListWorkspaceBytes},
    {"decode", launchDecode, decodeWorkspaceBytes},
    {"decode-wide", launchDecodeWide, decodeWideWorkspaceBytes},
    {"gemv-skip", launchGemvSkip, gemvSkipWorkspaceBytes},
    {"tf32x3-warp", launchTf32x3Warp, tf32x3WarpWorkspaceBytes},
    {"tf32x3-warp-splitk", launchTf32x3WarpSplit, tf32x3WarpSplitWorkspaceBytes},
};
constexpr int kVariantCount = sizeof(kVariants) / sizeof(kVariants[0]);
static_assert(kVariantCount == kWarpSplit + 1, "VariantIndex lists every variant in order");

// Chosen by measurement on an H100 (docs/kernel-notes.md, v4 and v5): below 128 rows the decode
// kernels, which stream B once per row group (decode-wide, up to 64 rows per lane with B copied
// ahead, wins at 32 and 64 rows; decode at 1–16 and 65–127). From 128 rows, tf32x3-klist: 3xTF32 on
// the tensor cores with k-granular staging and the block tile (64×128 or 128×32) chosen on the
// device from the patterns. At 128 rows, b-only, K = N = 4096 it took 109 µs at d = .5 against
// decode's 168, and tied at d = 1 (237 / 236 µs). At 1–4 rows gemv-skip (one launch, 16-byte B
// loads; H200, K = N = 4096, b-only, kernel-notes v14): 19.5–22.8 µs at d = .5 and 28.4–30.5 at
// d = 1 against the decode kernel's 26.4–27.1 and 32.1–32.9; at 8 rows it lost (37.2 against 27.2
// at d = .5: its 4-row groups read B twice).
// Since v20 it also takes up to 32 rows over a short K (variants.cuh, gemvRuns), at any density.
const Variant& pick(int M, int N, int K) {
  (void)N;
  if (gemvRuns(M, K)) return kVariants[kGemvSkip];
  if (M < 128) return kVariants[M > 16 && M <= 64 ? kDecodeWide : kDecode];
  return kVariants[kKListByDensity];
}

// With the densities known (the addon computes them from the patterns): tf32x3-warp, which stages
// nothing, where each warp keeps so few k that staging the union of a block's k costs more than it
// saves. Measured (H200, 4096³, harness, kernel-notes v15): it beat tf32x3-klist at every joint
// point, k density .0039 … .25 (0.836 against 1.034 ms at .25, 0.108 against 0.160 at .0156), and
// lost on every b-only one, where A is dense and the klist blocks share its rows (k density .125:
// 0.454 against 0.408 ms; .25: 0.852 against 0.734).
constexpr double kWarpMaxKDensity = 0.1;
constexpr double kWarpMaxKDensitySparseA = 0.3;
constexpr double kWarpSparseA = 0.6;
// tf32x3-warp-splitk, from 9 to 128 rows where the joint k density is ≤ .3: the k-exact skipping of
// tf32x3-warp with K split over a wave. Measured (H200, K = N = 4096, b-only, harness, kernel-notes
// v16): at k density .25 it took 25–27 µs at 9–32 rows, 34 at 48–64 and 48 at 128, against the
// Hopper path's 35–41 and 60 (which skips only whole 128-column × 32-k tiles, almost never empty
// here) and the decode kernel's 29 (16 rows), 43–75 (17–128); at k density .5 it ties the Hopper path
// at 16–32 rows (33–35 µs) and loses from 48 (48 against 40); at k density 1 it loses at every row
// count (47–51 against 35 µs at 16–32 rows).
// Up to 32 rows it also takes k density above .3 (b-only .5), now that its call no longer transposes A
// (the A-pattern pass does: esmmWantsTransposedA). Measured (H200, K = N = 4096, b-only d = .5, addon
// decode sweeps, kernel-notes v17e): 16 / 17 / 32 rows 0.0289 / 0.0288 / 0.0294 ms, against the
// decode kernel's 0.0329 at 16 rows and the Hopper path's 0.0341 / 0.0348 at 17 / 32. Up to .65 since
// v19 (harness, b-only at k density .625 / .6875, the call's A transpose, 3.6 µs, taken off): 31.8 /
// 33.9 µs at 16 rows against the decode kernel's 33.6 / 34.6 and the Hopper path's ~32.4; on the
// LLM-shaped tree (addon) that moved 16-row q / v / up at k density .60–.62 off the decode kernel,
// 0.90–1.15× → 1.02–1.42× of the best dense baseline.
// Up to 32 rows it needs K ≥ 3072 since v20: with 256 k a split it fills its wave from K = 4096,
// and below that the Hopper path beats it at every K measured (H200, N = 4096, hopper_bench, b-only
// d = .5, the split kernel's own A transpose, ~2–3 µs, taken off): 16 rows K = 1024 / 2048 ~21 /
// ~23 µs against 17.6 / 22.8; 32 rows K = 512 / 1024 / 2048 ~22 / ~22.5 / ~24.4 against 14.9 /
// 17.8 / 23.4. On the shared pruned tree (K = 128, 16 rows) it had run 16.5–17.3 µs.
constexpr int kWarpSplitMaxRows = 128;
constexpr double kWarpSplitMaxKDensity = 0.3;
constexpr int kWarpSplitFewRows = 32;
constexpr double kWarpSplitMaxKDensityFewRows = 0.65;
constexpr int kWarpSplitMinKFewRows = 3072;
double warpSplitMaxKDensity(int M) { return M <= kWarpSplitFewRows ? kWarpSplitMaxKDensityFewRows : kWarpSplitMaxKDensity; }
bool warpSplitShape(int M, int K) {
  return M >= kHopperMinRows && M <= kWarpSplitMaxRows && !gemvRuns(M, K) &&
         (M > kWarpSplitFewRows || K >= kWarpSplitMinKFewRows);
}
bool warpSplitWins(const EsmmArgs& a) {
  return warpSplitShape(a.M, a.K) && a.kDensity >= 0 && a.kDensity <= warpSplitMaxKDensity(a.M);
}

const Variant& pick(const EsmmArgs& a) {
  if (warpSplitWins(a)) return kVariants[kWarpSplit];
  const Variant& v = pick(a.M, a.N, a.K);
  if (&v != &kVariants[kKListByDensity] || a.kDensity < 0) return v;
  const bool sparseA = a.aDensity >= 0 && a.aDensity <= kWarpSparseA;
  return a.kDensity <= (sparseA ? kWarpMaxKDensitySparseA : kWarpMaxKDensity) ? kVariants[kWarp] : v;
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

// From 256 rows below k density 0.3 neither the Hopper path (usesHopper) nor the split kernel runs:
// tf32x3-klist or tf32x3-warp does, and both read A transposed.
constexpr int kTransposedAMinRows = 256;
constexpr double kHopperMinKDensityLarge = 0.3;

// The Hopper path (wgmma_tf32x3.cu: wgmma fed by TMA, skipping whole block k-tiles), by measurement
// (H200, K = N = 4096; docs/kernel-notes.md v13): from 17 to 255 rows it beat the decode and klist
// kernels at every density measured (17 rows: 0.034 ms against decode-wide's 0.043–0.069; 96 rows:
// 0.056 against 0.11–0.19); from 9 to 16 rows it beats the decode kernel where little of B is
// skippable (16 rows, d = 1: 0.034 against 0.042; d = .5: 0.035 against 0.030); from 256 rows the
// mma.sync kernels' k-granular skipping wins once the joint k density falls to about .3 (4096³
// b-only: k density .25, klist 0.74 ms against 0.98; .5, 1.42 against 1.10). Needs a prepared B.
bool usesHopper(const EsmmArgs& a) {
  if (a.bPrepared == nullptr || !hopperPathRuns(a.M, a.K) || a.kDensity < 0 || warpSplitWins(a)) return false;
  // At 9–16 rows below the split kernel's K the Hopper path takes every density: 16 rows, N = 4096,
  // K = 1024, d = .5 17.6 µs against the decode kernel's 19.4 (K = 2048: 22.8 against 22.1).
  const bool decodeRange = a.M <= kDenseDecodeMaxRows && a.K >= kWarpSplitMinKFewRows;
  const double minKDensity = decodeRange ? 0.75 : a.M < kTransposedAMinRows ? 0.0 : kHopperMinKDensityLarge;
  return a.kDensity >= minKDensity;
}

// The Hopper path's block skip reads the patterns and lists a block's k-tiles before its first
// copy; where it would keep nearly every k-tile that costs more than it saves, so ESMM runs the
// dense mainloop. Measured (H200, b-only d = .5, uniform masks, where the block k density is 1):
// the skip form 2–3 % slower than the dense one at 256–4096 rows (4096³ 1.038 against 1.012 ms)
// and 9 % at 16 rows over K = 1024 (0.0182 against 0.0167 ms); kernel-notes v20f.
namespace {
constexpr double kHopperSkipMaxBlockKDensity = 0.95;
[[maybe_unused]] bool hopperSkips(const EsmmArgs& a) {
  return a.kDensity < 1.0 && !(a.blockKDensity > kHopperSkipMaxBlockKDensity);
}
}  // namespace

double esmmBlockKDensity(const uint8_t* aPat, const uint8_t* bPat, int M, int N, int K) {
#ifdef ESMM_WITH_SM90A
  return hopperBlockKDensity(aPat, bPat, M, N, K);
#else
  (void)aPat, (void)bPat, (void)M, (void)N, (void)K;
  return -1.0;
#endif
}

bool esmmWantsTransposedA(int M, int N, int K, double bDensity) {
  (void)N;
  if (bDensity < 0 || gemvRuns(M, K)) return false;
  // tf32x3-warp-splitk (the joint k density is at most B's, so warpSplitWins will hold) …
  if (warpSplitShape(M, K) && bDensity <= warpSplitMaxKDensity(M)) return true;
  // … or, from 256 rows, tf32x3-klist or tf32x3-warp.
  return M >= kTransposedAMinRows && bDensity < kHopperMinKDensityLarge;
}

size_t esmmWorkspaceBytes(int M, int N, int K) {
  size_t bytes = pick(M, N, K).workspaceBytes(M, N, K);
  // The densities may send these rows to tf32x3-warp-splitk (or, from 128 rows, tf32x3-warp).
  if (warpSplitShape(M, K)) bytes = std::max(bytes, kVariants[kWarpSplit].workspaceBytes(M, N, K));
#ifdef ESMM_WITH_SM90A
  if (hopperPathRuns(M, K)) bytes = std::max(bytes, hopperGemmWorkspaceBytes(M, N, K));
#endif
  return bytes;
}

cudaError_t launchEsmm(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream) {
  if (const cudaError_t e = checkArgs(args); e != cudaSuccess) return e;
#ifdef ESMM_WITH_SM90A
  if (usesHopper(args)) {
    // Nothing (or too little) to skip: the dense mainloop, without reading the patterns.
    const bool full = !hopperSkips(args);
    const DenseArgs d{args.A, args.B, args.C, args.M, args.N, args.K, args.lda, args.ldb, args.ldc, args.bPrepared};
    return launchHopperGemm(d, args.bPrepared, full ? nullptr : args.aPat, full ? nullptr : args.bPat, workspace,
                            workspaceBytes, stream);
  }
#endif
  return pick(args).launch(args, workspace, workspaceBytes, stream);
}

const char* esmmVariantName(int M, int N, int K) { return pick(M, N, K).name; }

const char* esmmVariantName(const EsmmArgs& args) {
#ifdef ESMM_WITH_SM90A
  if (usesHopper(args)) return hopperGemmVariantName(args.M, args.N, args.K, hopperSkips(args));
#endif
  return pick(args).name;
}

}  // namespace esmm

