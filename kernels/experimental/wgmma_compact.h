// A comparison-only Hopper kernel (wgmma_compact.cu, sm_90a): ESMM with k-exact skipping per
// 32-column tile of B, wgmma with A from registers and B compacted once per weight. The dispatcher
// does not take it (docs/kernel-notes.md v17 says why); kernels/bench/hopper_bench.cu times it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cuda_runtime_api.h>

#include "esmm.h"

namespace esmm {

// B compacted once per weight from its patterns (hopperCompactBBytes: an upper bound for the
// shape); A read as it is (lda a multiple of 4, 16-byte aligned). A's patterns are not needed.
size_t hopperCompactBBytes(int N, int K);
cudaError_t launchHopperCompactB(const float* B, int K, int N, int ldb, const uint8_t* bPat, void* compact,
                                 cudaStream_t stream);
bool hopperCompactGemmRuns(int M, int N, int K, int lda);
size_t hopperCompactGemmWorkspaceBytes(int M, int N, int K);
const char* hopperCompactGemmVariantName(int M, int N, int K);
cudaError_t launchHopperCompactGemm(const DenseArgs& args, const void* compact, void* workspace, size_t workspaceBytes,
                                    cudaStream_t stream);

}  // namespace esmm
