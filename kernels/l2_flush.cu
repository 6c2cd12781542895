// The cold-L2 flush of the timing loop (native/cuda_timing.h). A flush that overwrites a buffer
// twice the L2 (cudaMemset) leaves the L2 full of dirty lines: the timed kernel that follows then
// writes those lines back to DRAM as its own misses evict them, up to an L2's worth of extra DRAM
// traffic inside its events. ncu's cache control, which the event timings are compared with,
// starts each kernel on an L2 with nothing to write back. Reading the buffer instead evicts every
// earlier line (the writes back happen here, outside the events) and leaves the L2 holding clean
// lines that the next kernel drops for free.
#include <algorithm>
#include <cstdint>

#include "variants.cuh"

namespace esmm {
namespace {

__global__ void __launch_bounds__(512) readThroughKernel(const uint4* __restrict__ buf, size_t n, uint32_t* sink) {
  uint32_t acc = 0;
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const uint4 v = __ldcg(buf + i);  // cached in L2 only, as a kernel's global loads are
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  // The buffer is zero-filled, so this never stores; it keeps the loads from being optimised away.
  if (acc == 0x9E3779B9u) *sink = acc;
}

}  // namespace

cudaError_t launchL2ReadThrough(const void* buffer, size_t bytes, cudaStream_t stream) {
  if (buffer == nullptr || bytes < sizeof(uint4)) return cudaErrorInvalidValue;
  const size_t n = bytes / sizeof(uint4);
  const int blocks = static_cast<int>(std::min<size_t>((n + 511) / 512, static_cast<size_t>(8 * numSMs())));
  readThroughKernel<<<blocks, 512, 0, stream>>>(static_cast<const uint4*>(buffer), n,
                                                const_cast<uint32_t*>(static_cast<const uint32_t*>(buffer)));
  return cudaGetLastError();
}

}  // namespace esmm
