// Public launch interface of the GPU kernels. The native addon calls only these.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cuda_runtime_api.h>

#include "patterns.h"

namespace esmm {

// C = A·B, float32, row-major. A: M×K (lda >= K), B: K×N (ldb >= N), C: M×N (ldc >= N).
// aPat / bPat are device pointers laid out as in patterns.h.
struct EsmmArgs {
  const float* A;
  const float* B;
  float* C;
  int M, N, K;
  int lda, ldb, ldc;
  const uint8_t* aPat;
  const uint8_t* bPat;
  // Optional: B as prepareB wrote it (the Hopper path runs only with it), and the joint k density
  // of the patterns (the fraction of (A tile, B tile, k) with both bits set; negative: unknown).
  const float* bPrepared = nullptr;
  double kDensity = -1.0;
  // Optional: the fraction of A's pattern bits (A tile, k) that are set (negative: unknown).
  double aDensity = -1.0;
  // Optional: A transposed as launchAPatternsTransposed writes it (aTransposedBytes), from the same A
  // and patterns; the k-list kernels then read it instead of transposing A themselves.
  const float* aTransposed = nullptr;
  // Optional: the fraction of the Hopper path's (block, 32-k tile) pairs its block skip would keep
  // (esmmBlockKDensity; negative: unknown). Near 1 the skip cannot pay for reading the patterns.
  double blockKDensity = -1.0;
};

// A patterns for A (M×K): numTiles(M) * numKSlices(K) bytes at aPat (device).
cudaError_t launchAPatterns(const float* A, int M, int K, int lda, uint8_t* aPat, cudaStream_t stream);
// A patterns as launchAPatterns writes them, and in the same pass A transposed at aT
// (aTransposedBytes(M, K)): K rows of numTiles(M) * 32 floats, row k of a 32-row tile written only
// where that tile's pattern bit for k is set (nothing reads the others). One read of A instead of
// two where a k-list kernel will run (esmmWantsTransposedA).
cudaError_t launchAPatternsTransposed(const float* A, int M, int K, int lda, uint8_t* aPat, float* aT,
                                      cudaStream_t stream);
size_t aTransposedBytes(int M, int K);
// B patterns for B (K×N): numTiles(N) * numKSlices(K) bytes at bPat (device).
cudaError_t launchBPatterns(const float* B, int K, int N, int ldb, uint8_t* bPat, cudaStream_t stream);

// Reads `bytes` of a zero-filled device buffer (at least twice the L2 for a cold start): every L2
// line written before is written back during this call, and the L2 is left holding clean lines
// (l2_flush.cu says why the timing loop flushes this way).
cudaError_t launchL2ReadThrough(const void* buffer, size_t bytes, cudaStream_t stream);

// Scratch the ESMM launch needs for this shape (0 when none); the caller allocates it.
size_t esmmWorkspaceBytes(int M, int N, int K);
// Whether the ESMM call will run a k-list kernel (tf32x3-klist, tf32x3-warp or tf32x3-warp-splitk,
// which read A transposed), as far as B's pattern density tells before A's patterns exist: from 256
// rows where B keeps less than the Hopper path's 0.3 of k, and at 9–128 rows where B keeps at most
// what tf32x3-warp-splitk takes (0.65 up to 32 rows where K ≥ 3072, 0.3 above; the joint k density
// is at most B's), unless gemv-skip takes the shape (a short K).
// The caller then computes A's patterns with launchAPatternsTransposed and passes EsmmArgs::aTransposed.
bool esmmWantsTransposedA(int M, int N, int K, double bDensity);
// From host copies of the patterns: the fraction of (block, 32-k tile) pairs of the Hopper path's
// plan for this shape that its block skip keeps (EsmmArgs::blockKDensity); negative where the build
// has no Hopper path.
double esmmBlockKDensity(const uint8_t* aPat, const uint8_t* bPat, int M, int N, int K);
// Picks the variant for the shape (small-M path, tile config) and launches it.
cudaError_t launchEsmm(const EsmmArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);
// Stable id of the variant launchEsmm picks for this shape (recorded in results); the second form
// also knows whether a prepared B and the k density send it to the Hopper path.
const char* esmmVariantName(int M, int N, int K);
const char* esmmVariantName(const EsmmArgs& args);

}  // namespace esmm

namespace esmm {

// Dense C = A·B, float32, row-major, any leading dimensions (lda >= K, ldb >= N, ldc >= N).
struct DenseArgs {
  const float* A;
  const float* B;
  float* C;
  int M, N, K;
  int lda, ldb, ldc;
  const float* bPrepared = nullptr;  // B as prepareB wrote it, or null
};

// B prepared once per weight for the Hopper (wgmma) path: B_hi and B_lo of the 3xTF32 split,
// transposed. 0 bytes where that path cannot run for this shape on the current device (another GPU,
// a build without sm_90a, a K whose k-tile list outgrows shared memory); callers then pass no
// bPrepared and the mma.sync kernels run.
size_t preparedBBytes(int M, int N, int K);
// The fewest rows of A for which dense-tf32x3 and ESMM take the Hopper path (below, the decode
// kernels stream B at least as fast: H200, K = N = 4096, 8 rows 0.034 ms either way).
constexpr int kHopperMinRows = 9;
cudaError_t launchPrepareB(const float* B, int K, int N, int ldb, float* prepared, cudaStream_t stream);

// The dense float32-accurate baseline `dense-tf32x3` as the addon runs it (no patterns read): up to
// kDenseDecodeMaxRows rows the decode technique ESMM's small-M path uses, as a plain dense GEMM
// (FFMA, B streamed once), so a small-M speedup is the skipping and not the way B is streamed;
// above, the 3xTF32 tensor-core GEMM below. Workspace: the K-split partial sums of the small-M path.
constexpr int kDenseDecodeMaxRows = 16;
size_t denseWorkspaceBytes(int M, int N, int K);
cudaError_t launchDense(const DenseArgs& args, void* workspace, size_t workspaceBytes, cudaStream_t stream);
const char* denseVariantName(int M, int N, int K);
// With a prepared B, from kHopperMinRows rows on a Hopper GPU: the wgmma mainloop.
const char* denseVariantName(const DenseArgs& args);

// dense-tf32x3's tensor-core GEMM: the dense float32-accurate 3xTF32 GEMM (no patterns), the dense
// baseline on the same arithmetic units ESMM uses. Launches the default configuration.
cudaError_t launchDenseTf32x3(const DenseArgs& args, cudaStream_t stream);
const char* denseTf32x3VariantName();
// Every configuration (tile depth, pipeline depth, split), for the harness to compare.
int denseTf32x3VariantCount();
const char* denseTf32x3VariantNameAt(int i);
cudaError_t launchDenseTf32x3Variant(const DenseArgs& args, int variant, cudaStream_t stream);

}  // namespace esmm
