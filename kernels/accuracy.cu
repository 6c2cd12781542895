// Output checks on the device (accuracy.h). Not timed.
#include <cmath>

#include "accuracy.h"

namespace esmm::gpu {
namespace {

constexpr int kBlocks = 1024;
constexpr int kThreads = 256;
constexpr int kFields = 5;  // errSq, refSq, maxErr, maxRef, nonFinite
static_assert(kErrorScratchDoubles == size_t(kBlocks) * kFields + kFields,
              "accuracy.h's scratch size: every block's partials, then the total");

// One block's five values, reduced over its threads in a fixed tree order.
__device__ void reduceBlock(double (&sh)[kFields][kThreads], double* out) {
  for (int step = kThreads / 2; step > 0; step >>= 1) {
    if (threadIdx.x < step) {
      sh[0][threadIdx.x] += sh[0][threadIdx.x + step];
      sh[1][threadIdx.x] += sh[1][threadIdx.x + step];
      sh[2][threadIdx.x] = fmax(sh[2][threadIdx.x], sh[2][threadIdx.x + step]);
      sh[3][threadIdx.x] = fmax(sh[3][threadIdx.x], sh[3][threadIdx.x + step]);
      sh[4][threadIdx.x] += sh[4][threadIdx.x + step];
    }
    __syncthreads();
  }
  if (threadIdx.x < kFields) out[threadIdx.x] = sh[threadIdx.x][0];
}

template <typename Ref>
__global__ void __launch_bounds__(kThreads) partialsKernel(const float* c, const Ref* ref, size_t n,
                                                          double* partials) {
  __shared__ double sh[kFields][kThreads];
  double e = 0.0, r = 0.0, me = 0.0, mr = 0.0, nf = 0.0;
  constexpr bool kAgainstFloat64 = sizeof(Ref) == sizeof(double);
  for (size_t i = blockIdx.x * size_t(kThreads) + threadIdx.x; i < n; i += size_t(kBlocks) * kThreads) {
    const double rv = static_cast<double>(ref[i]);
    const double v = static_cast<double>(c[i]);
    if (kAgainstFloat64 && (!isfinite(v) || !isfinite(rv))) {
      nf += 1.0;
      continue;
    }
    double d = fabs(v - rv);
    if (isnan(d)) d = INFINITY;
    e += d * d;
    r += rv * rv;
    me = fmax(me, d);
    mr = fmax(mr, fabs(rv));
  }
  sh[0][threadIdx.x] = e;
  sh[1][threadIdx.x] = r;
  sh[2][threadIdx.x] = me;
  sh[3][threadIdx.x] = mr;
  sh[4][threadIdx.x] = nf;
  __syncthreads();
  reduceBlock(sh, partials + size_t(blockIdx.x) * kFields);
}

__global__ void __launch_bounds__(kThreads) finalKernel(const double* partials, double* out) {
  __shared__ double sh[kFields][kThreads];
  double v[kFields] = {0.0, 0.0, 0.0, 0.0, 0.0};
  for (int b = threadIdx.x; b < kBlocks; b += kThreads) {
    const double* p = partials + size_t(b) * kFields;
    v[0] += p[0];
    v[1] += p[1];
    v[2] = fmax(v[2], p[2]);
    v[3] = fmax(v[3], p[3]);
    v[4] += p[4];
  }
  for (int f = 0; f < kFields; ++f) sh[f][threadIdx.x] = v[f];
  __syncthreads();
  reduceBlock(sh, out);
}

template <typename Ref>
cudaError_t run(const float* c, const Ref* ref, size_t n, double* scratch, ErrorSums* out, cudaStream_t s) {
  static_assert(sizeof(ErrorSums) == kFields * sizeof(double), "ErrorSums is the five reduced fields");
  double* partials = scratch;
  double* total = scratch + size_t(kBlocks) * kFields;
  partialsKernel<Ref><<<kBlocks, kThreads, 0, s>>>(c, ref, n, partials);
  finalKernel<<<1, kThreads, 0, s>>>(partials, total);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return err;
  err = cudaMemcpyAsync(out, total, sizeof(ErrorSums), cudaMemcpyDeviceToHost, s);
  if (err != cudaSuccess) return err;
  return cudaStreamSynchronize(s);
}

}  // namespace

cudaError_t errorSums(const float* c, const double* ref, size_t n, double* scratch, ErrorSums* out, cudaStream_t s) {
  return run(c, ref, n, scratch, out, s);
}

cudaError_t errorSums(const float* c, const float* ref, size_t n, double* scratch, ErrorSums* out, cudaStream_t s) {
  return run(c, ref, n, scratch, out, s);
}

}  // namespace esmm::gpu
