// The Hopper (sm_90a) 3xTF32 GEMM: wgmma fed by TMA in a warp-specialised pipeline
// (wgmma_tf32x3.cu). Declared only where the build compiled it (ESMM_WITH_SM90A).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cuda_runtime_api.h>

#include "esmm.h"

namespace esmm {

// Whether the current device runs it: compute capability 9.0, the shared memory a block needs,
// and the driver's tensor-map encoder.
bool hopperGemmAvailable();
// Whether a block's shared memory holds the k-tile list of this K (K up to ~300k on an H100/H200).
bool hopperGemmFits(int K);
// B (K×N, ldb) prepared for it once per weight: B_hi and B_lo, transposed (N×K).
size_t hopperBPreparedBytes(int N, int K);
cudaError_t launchHopperPrepareB(const float* B, int K, int N, int ldb, float* prepared, cudaStream_t stream);
// Per-call scratch: A's split parts and, where K is split, the partial sums.
size_t hopperGemmWorkspaceBytes(int M, int N, int K);
// The configuration launchHopperGemm runs for the shape; blockSkip: with patterns (ESMM).
const char* hopperGemmVariantName(int M, int N, int K, bool blockSkip = false);
// From host copies of the patterns: the fraction of (block, k-tile) pairs the block skip of this
// shape's plan keeps (the same rule as the kernel's k-tile list).
double hopperBlockKDensity(const uint8_t* aPat, const uint8_t* bPat, int M, int N, int K);
// C = A·B, float32-accurate (3xTF32), B given as prepared by launchHopperPrepareB. With aPat and
// bPat (patterns.h layout, device), only the 32-k tiles where the block's A rows and B columns share
// a nonzero k are multiplied (ESMM); with both null, every k (dense).
cudaError_t launchHopperGemm(const DenseArgs& args, const float* bPrepared, const uint8_t* aPat, const uint8_t* bPat,
                             void* workspace, size_t workspaceBytes, cudaStream_t stream);

}  // namespace esmm
