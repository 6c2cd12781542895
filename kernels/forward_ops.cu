// The forward pass's steps besides its projections (kernels/forward_ops.h). Each mirrors its CPU
// twin in src/activations/forward-ops.ts and rope-frequencies.ts: norms, RoPE angles and
// activations compute in float64 and round to float32 where the CPU path does, so the two paths
// agree to the last bit or so; attention is float32 (scores, max-subtracted softmax, the sum
// with V). Norms take one block per row; attention one block per (query token, head).
#include <cfloat>
#include <cmath>

#include "forward_ops.h"

namespace esmm::gpu {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kAttnThreads = 128;
constexpr int kAttnWarps = kAttnThreads / 32;
constexpr int kAttnPerLane = kMaxAttentionHeadDim / 32;
static_assert(kMaxAttentionHeadDim % 32 == 0, "each lane of the attention kernel holds headDim / 32 output columns");

unsigned gridFor(size_t n) {
  const size_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 65535 * 16 ? (blocks == 0 ? 1 : blocks) : 65535 * 16);
}

template <typename T>
__device__ __forceinline__ T warpSum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
  return v;
}

__device__ __forceinline__ float warpMax(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xFFFFFFFFu, v, o));
  return v;
}

// The sum over the block, returned to every thread. `scratch` holds one value per warp; the
// leading barrier lets a block call it twice in a row.
template <typename T, int Warps>
__device__ T blockSum(T v, T* scratch) {
  v = warpSum(v);
  __syncthreads();
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = v;
  __syncthreads();
  T total = 0;
  for (int w = 0; w < Warps; ++w) total += scratch[w];
  return total;
}

// erf to ~1e-7: the Numerical Recipes erfc fit the CPU path uses (forward-ops.ts), so 'gelu' agrees.
__device__ double erfApprox(double x) {
  const double z = fabs(x);
  const double t = 1.0 / (1.0 + 0.5 * z);
  const double r =
      t * exp(-z * z - 1.26551223 +
              t * (1.00002368 +
                   t * (0.37409196 +
                        t * (0.09678418 +
                             t * (-0.18628806 +
                                  t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1.0 - r : r - 1.0;
}

__device__ double applyActivation(double x, Activation act) {
  switch (act) {
    case Activation::Silu:
      return x / (1.0 + exp(-x));
    case Activation::Relu:
      return x > 0 ? x : 0.0;
    case Activation::Gelu:
      return 0.5 * x * (1.0 + erfApprox(x / 1.4142135623730951));
    case Activation::GeluTanh:
      // gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), in the CPU path's order.
      return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
  }
  return x;
}

__global__ void embedKernel(const float* table, const float* positions, const int32_t* tokens, float* out, int hidden) {
  const size_t src = static_cast<size_t>(tokens[blockIdx.x]) * hidden;
  const size_t dst = static_cast<size_t>(blockIdx.x) * hidden;
  for (int c = threadIdx.x; c < hidden; c += blockDim.x) {
    float v = table[src + c];
    if (positions != nullptr) v += positions[dst + c];
    out[dst + c] = v;
  }
}

__global__ void rmsNormKernel(const float* x, const float* weight, float* y, int cols, double eps) {
  __shared__ double scratch[kWarps];
  const size_t o = static_cast<size_t>(blockIdx.x) * cols;
  double ss = 0;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    const double v = x[o + c];
    ss += v * v;
  }
  ss = blockSum<double, kWarps>(ss, scratch);
  const double inv = 1.0 / sqrt(ss / cols + eps);
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    // transformers rounds the normalised value to float32 before the weight multiplies it.
    const float normed = static_cast<float>(x[o + c] * inv);
    y[o + c] = static_cast<float>(static_cast<double>(weight[c]) * normed);
  }
}

__global__ void layerNormKernel(const float* x, const float* weight, const float* bias, float* y, int cols, double eps) {
  __shared__ double scratch[kWarps];
  const size_t o = static_cast<size_t>(blockIdx.x) * cols;
  double sum = 0;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) sum += x[o + c];
  const double mean = blockSum<double, kWarps>(sum, scratch) / cols;
  double sq = 0;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    const double d = x[o + c] - mean;
    sq += d * d;
  }
  const double inv = 1.0 / sqrt(blockSum<double, kWarps>(sq, scratch) / cols + eps);
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    y[o + c] = static_cast<float>((x[o + c] - mean) * inv * weight[c] + bias[c]);
  }
}

__global__ void addBiasKernel(float* y, const float* bias, size_t n, int cols) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    y[i] += bias[i % cols];
  }
}

__global__ void addKernel(float* x, const float* y, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    x[i] += y[i];
  }
}

// One block per token: its cos and sin per frequency into shared memory, then every head.
__global__ void ropeKernel(float* x, const float* invFreq, int heads, int headDim) {
  extern __shared__ float table[];  // cos[half], then sin[half]
  const int half = headDim / 2;
  const int t = blockIdx.x;
  for (int i = threadIdx.x; i < half; i += blockDim.x) {
    const float angle = static_cast<float>(t) * invFreq[i];
    table[i] = static_cast<float>(cos(static_cast<double>(angle)));
    table[half + i] = static_cast<float>(sin(static_cast<double>(angle)));
  }
  __syncthreads();
  float* row = x + static_cast<size_t>(t) * heads * headDim;
  for (int p = threadIdx.x; p < heads * half; p += blockDim.x) {
    float* head = row + (p / half) * headDim;
    const int i = p % half;
    const double c = table[i];
    const double s = table[half + i];
    const double x1 = head[i];
    const double x2 = head[i + half];
    head[i] = static_cast<float>(x1 * c - x2 * s);
    head[i + half] = static_cast<float>(x2 * c + x1 * s);
  }
}

__global__ void activationKernel(float* x, size_t n, Activation act) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    x[i] = static_cast<float>(applyActivation(x[i], act));
  }
}

__global__ void gatedActivationKernel(const float* gate, const float* up, float* out, size_t n, Activation act) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    // transformers rounds act(gate) to float32 before the product with up.
    out[i] = static_cast<float>(applyActivation(gate[i], act)) * up[i];
  }
}

__global__ void sliceColumnsKernel(const float* x, float* y, size_t n, int cols, int start, int width) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    y[i] = x[(i / width) * cols + start + i % width];
  }
}

// One block per (query token i, head h). Shared memory: q's row, the warps' partial outputs, and
// the scores of the keys token i sees. Warps take keys in turn: a warp's lanes split the dot
// product over the head's columns (coalesced reads of k), then, after the softmax, each lane
// accumulates headDim / 32 output columns over the warp's keys (coalesced reads of v), and the
// warps' partial sums are added at the end.
__global__ void __launch_bounds__(kAttnThreads) causalAttentionKernel(const float* q, const float* k, const float* v,
                                                                     float* out, int heads, int kvHeads, int d,
                                                                     float scale, int window) {
  extern __shared__ float smem[];
  float* qs = smem;                        // d
  float* partial = qs + d;                 // kAttnWarps · d
  float* scores = partial + kAttnWarps * d;  // the span of keys
  __shared__ float scratch[kAttnWarps];
  const int i = blockIdx.x;
  const int h = blockIdx.y;
  const int g = h / (heads / kvHeads);
  const int first = window > 0 ? max(0, i - window + 1) : 0;
  const int span = i - first + 1;
  const size_t qStride = static_cast<size_t>(heads) * d;
  const size_t kvStride = static_cast<size_t>(kvHeads) * d;
  const float* kHead = k + static_cast<size_t>(first) * kvStride + static_cast<size_t>(g) * d;
  const float* vHead = v + static_cast<size_t>(first) * kvStride + static_cast<size_t>(g) * d;
  const int warp = threadIdx.x >> 5;
  const int lane = threadIdx.x & 31;

  for (int c = threadIdx.x; c < d; c += blockDim.x) qs[c] = q[i * qStride + static_cast<size_t>(h) * d + c];
  __syncthreads();

  float localMax = -FLT_MAX;
  for (int j = warp; j < span; j += kAttnWarps) {
    const float* kj = kHead + j * kvStride;
    float s = 0;
    for (int c = lane; c < d; c += 32) s += qs[c] * kj[c];
    s = warpSum(s) * scale;
    if (lane == 0) scores[j] = s;
    localMax = fmaxf(localMax, s);
  }
  localMax = warpMax(localMax);
  if (lane == 0) scratch[warp] = localMax;
  __syncthreads();
  float max = scratch[0];
  for (int w = 1; w < kAttnWarps; ++w) max = fmaxf(max, scratch[w]);

  float localSum = 0;
  for (int j = threadIdx.x; j < span; j += blockDim.x) {
    const float e = expf(scores[j] - max);
    scores[j] = e;
    localSum += e;
  }
  const float sum = blockSum<float, kAttnWarps>(localSum, scratch);

  float acc[kAttnPerLane];
#pragma unroll
  for (int r = 0; r < kAttnPerLane; ++r) acc[r] = 0;
  for (int j = warp; j < span; j += kAttnWarps) {
    const float p = scores[j];
    const float* vj = vHead + j * kvStride;
#pragma unroll
    for (int r = 0; r < kAttnPerLane; ++r) {
      const int c = lane + 32 * r;
      if (c < d) acc[r] += p * vj[c];
    }
  }
#pragma unroll
  for (int r = 0; r < kAttnPerLane; ++r) {
    const int c = lane + 32 * r;
    if (c < d) partial[warp * d + c] = acc[r];
  }
  __syncthreads();
  for (int c = threadIdx.x; c < d; c += blockDim.x) {
    float s = 0;
    for (int w = 0; w < kAttnWarps; ++w) s += partial[w * d + c];
    out[i * qStride + static_cast<size_t>(h) * d + c] = s / sum;
  }
}

}  // namespace

cudaError_t launchEmbed(const float* table, const float* positions, const int32_t* tokens, float* out, int count,
                        int hidden, cudaStream_t s) {
  embedKernel<<<count, kThreads, 0, s>>>(table, positions, tokens, out, hidden);
  return cudaGetLastError();
}

cudaError_t launchRmsNorm(const float* x, const float* weight, float* y, int rows, int cols, double eps, cudaStream_t s) {
  rmsNormKernel<<<rows, kThreads, 0, s>>>(x, weight, y, cols, eps);
  return cudaGetLastError();
}

cudaError_t launchLayerNorm(const float* x, const float* weight, const float* bias, float* y, int rows, int cols,
                            double eps, cudaStream_t s) {
  layerNormKernel<<<rows, kThreads, 0, s>>>(x, weight, bias, y, cols, eps);
  return cudaGetLastError();
}

cudaError_t launchAddBias(float* y, const float* bias, size_t rows, int cols, cudaStream_t s) {
  const size_t n = rows * cols;
  addBiasKernel<<<gridFor(n), kThreads, 0, s>>>(y, bias, n, cols);
  return cudaGetLastError();
}

cudaError_t launchAdd(float* x, const float* y, size_t n, cudaStream_t s) {
  addKernel<<<gridFor(n), kThreads, 0, s>>>(x, y, n);
  return cudaGetLastError();
}

cudaError_t launchRope(float* x, const float* invFreq, int tokens, int heads, int headDim, cudaStream_t s) {
  ropeKernel<<<tokens, 128, sizeof(float) * headDim, s>>>(x, invFreq, heads, headDim);
  return cudaGetLastError();
}

cudaError_t launchActivation(float* x, size_t n, Activation act, cudaStream_t s) {
  activationKernel<<<gridFor(n), kThreads, 0, s>>>(x, n, act);
  return cudaGetLastError();
}

cudaError_t launchGatedActivation(const float* gate, const float* up, float* out, size_t n, Activation act,
                                  cudaStream_t s) {
  gatedActivationKernel<<<gridFor(n), kThreads, 0, s>>>(gate, up, out, n, act);
  return cudaGetLastError();
}

cudaError_t launchSliceColumns(const float* x, float* y, int rows, int cols, int start, int width, cudaStream_t s) {
  const size_t n = static_cast<size_t>(rows) * width;
  sliceColumnsKernel<<<gridFor(n), kThreads, 0, s>>>(x, y, n, cols, start, width);
  return cudaGetLastError();
}

size_t attentionSharedBytes(int tokens, int headDim, int window) {
  const int span = window > 0 && window < tokens ? window : tokens;
  return sizeof(float) * (static_cast<size_t>(headDim) * (1 + kAttnWarps) + span);
}

cudaError_t launchCausalAttention(const float* q, const float* k, const float* v, float* out, int tokens, int heads,
                                  int kvHeads, int headDim, float scale, int window, cudaStream_t s) {
  const size_t bytes = attentionSharedBytes(tokens, headDim, window);
  // Past the default 48 KiB a kernel must opt in to more dynamic shared memory.
  if (bytes > 48 * 1024) {
    const cudaError_t e = cudaFuncSetAttribute(causalAttentionKernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                               static_cast<int>(bytes));
    if (e != cudaSuccess) return e;
  }
  const dim3 grid(tokens, heads);
  causalAttentionKernel<<<grid, kAttnThreads, bytes, s>>>(q, k, v, out, heads, kvHeads, headDim, scale, window);
  return cudaGetLastError();
}

}  // namespace esmm::gpu
