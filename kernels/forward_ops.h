// The steps of a decoder's forward pass other than its projections, for `capture` on the GPU
// (kernels/forward_ops.cu, driven by native/device_tensors.cc). float32 tensors, row-major,
// dense. Each launcher enqueues on stream s and returns cudaGetLastError().
#pragma once
#include <cstddef>
#include <cstdint>
#include <cuda_runtime_api.h>

namespace esmm::gpu {

// transformers' ACT2FN entries the forward pass reproduces (src/activations/forward-ops.ts).
enum class Activation { Silu, Relu, Gelu, GeluTanh };

// Widest attention head the attention kernel takes (its per-lane accumulators are sized for it).
constexpr int kMaxAttentionHeadDim = 256;

// out[t] = table[tokens[t]] (+ positions[t] when positions is not null); rows of `hidden`.
cudaError_t launchEmbed(const float* table, const float* positions, const int32_t* tokens, float* out, int count,
                        int hidden, cudaStream_t s);
// Per row: weight · round(x / sqrt(mean(x²) + eps)) (LlamaRMSNorm). y may be x.
cudaError_t launchRmsNorm(const float* x, const float* weight, float* y, int rows, int cols, double eps, cudaStream_t s);
// Per row: (x − mean) / sqrt(var + eps) · weight + bias, biased variance (nn.LayerNorm).
cudaError_t launchLayerNorm(const float* x, const float* weight, const float* bias, float* y, int rows, int cols,
                            double eps, cudaStream_t s);
// y[r][c] += bias[c] for rows × cols.
cudaError_t launchAddBias(float* y, const float* bias, size_t rows, int cols, cudaStream_t s);
// x += y, n elements (residual).
cudaError_t launchAdd(float* x, const float* y, size_t n, cudaStream_t s);
// Rotates each head of x [tokens, heads·headDim] in place by its token's position, rotate_half
// convention, angle = position · invFreq[i] in float32 (invFreq: headDim/2 values).
cudaError_t launchRope(float* x, const float* invFreq, int tokens, int heads, int headDim, cudaStream_t s);
// x = act(x) in place, n elements.
cudaError_t launchActivation(float* x, size_t n, Activation act, cudaStream_t s);
// out = round(act(gate)) · up, n elements (the SiLU-gated MLP's product).
cudaError_t launchGatedActivation(const float* gate, const float* up, float* out, size_t n, Activation act,
                                  cudaStream_t s);
// y [rows, width] = columns [start, start + width) of x [rows, cols].
cudaError_t launchSliceColumns(const float* x, float* y, int rows, int cols, int start, int width, cudaStream_t s);

// Dynamic shared memory the attention kernel needs for these sizes (window 0: none).
size_t attentionSharedBytes(int tokens, int headDim, int window);
// Causal attention: q [tokens, heads·headDim], k and v [tokens, kvHeads·headDim] (query head h
// reads key/value head h / (heads / kvHeads)); out [tokens, heads·headDim]. Token i sees tokens j
// with i − window < j ≤ i (window 0: every j ≤ i). headDim ≤ kMaxAttentionHeadDim; the caller
// checks attentionSharedBytes against the device's limit.
cudaError_t launchCausalAttention(const float* q, const float* k, const float* v, float* out, int tokens, int heads,
                                  int kvHeads, int headDim, float scale, int window, cudaStream_t s);

}  // namespace esmm::gpu
