// Device functions shared by every kernel file: asynchronous copies, alignment tests, grid math.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>

#include <cuda_runtime.h>

#include "patterns.h"

namespace esmm {

__host__ __device__ constexpr int ceilDiv(int a, int b) { return (a + b - 1) / b; }

// patterns.h's numKSlices / numTiles, callable from device code.
__host__ __device__ constexpr int kSlicesOf(int K) { return (K + kBK - 1) / kBK; }
__host__ __device__ constexpr int tilesOf(int n) { return (n + kTile - 1) / kTile; }

// 16-byte vector access to p + i*ld + j is legal for every i and every j % 4 == 0 only when the base
// is 16-byte aligned and the leading dimension keeps each row aligned.
inline bool rowsVec4Aligned(const void* p, int ld) {
  return (reinterpret_cast<uintptr_t>(p) & 15u) == 0 && (ld & 3) == 0;
}

__device__ __forceinline__ uint32_t smemAddr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// cp.async with zero fill: copies srcBytes (0..N) from global and zero-fills the rest of the N
// bytes, so ragged edges need no separate path and never read past the matrix.
__device__ __forceinline__ void cpAsync4(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smemAddr(dst)), "l"(src),
               "r"(valid ? 4 : 0));
}

__device__ __forceinline__ void cpAsync16(void* dst, const void* src, int srcBytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smemAddr(dst)), "l"(src), "r"(srcBytes));
}

// The same through L1 (cp.async.ca): for data other warps of the block may read again.
__device__ __forceinline__ void cpAsync16L1(void* dst, const void* src, int srcBytes) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 16, %2;\n" ::"r"(smemAddr(dst)), "l"(src), "r"(srcBytes));
}

__device__ __forceinline__ void cpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::); }

template <int N>
__device__ __forceinline__ void cpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

// Programmatic dependent launch (compute capability 9.0 on): a kernel launched by launchDependent may
// start while the kernel before it in the stream finishes, once every block of that kernel has
// called allowDependentLaunch or exited, so the launch and the block scheduling overlap its tail.
// A dependent kernel calls waitForPriorGrids before it touches memory; that returns once the
// kernel before has completed and its writes are visible. Both are no-ops below sm_90 and in a
// kernel not launched as a dependent.
__device__ __forceinline__ void waitForPriorGrids() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

__device__ __forceinline__ void allowDependentLaunch() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// Adds 1 to a GPU-scope arrival counter and returns its old value, as one acquire-release atomic:
// writes ordered before the call (the block's, where a __syncthreads precedes it) are visible to the
// thread that reads the counter's last value, and what they wrote is visible to it after the call.
__device__ __forceinline__ unsigned arriveAcqRel(unsigned* counter) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 700
  unsigned old;
  asm volatile("atom.acq_rel.gpu.global.add.u32 %0, [%1], 1;\n" : "=r"(old) : "l"(counter) : "memory");
  return old;
#else
  __threadfence();
  const unsigned old = atomicAdd(counter, 1u);
  __threadfence();
  return old;
#endif
}

// Whether the current device takes programmatic dependent launches (read once per device).
bool programmaticLaunch();

// kernel<<<grid, block, smem, stream>>>(args...) as a programmatic dependent of the stream's previous
// kernel where the device takes it, a plain launch elsewhere; returns the launch's error.
template <typename... Params, typename... Args>
cudaError_t launchDependent(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                            Args&&... args) {
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  config.attrs = attr;
  config.numAttrs = programmaticLaunch() ? 1 : 0;
  return cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
}

// Adds two per-thread counts of a 256-thread block into two device counters with one pair of
// atomics per block: same-address atomics serialize in L2 (with a pair per warp, a tile-choosing
// counter ran ~50 µs at 4096³). Every thread of the block must call it.
__device__ __forceinline__ void blockAddPair(unsigned int x, unsigned int y, unsigned long long* toX,
                                             unsigned long long* toY) {
  __shared__ unsigned int sums[2][8];
  x = __reduce_add_sync(0xFFFFFFFFu, x);
  y = __reduce_add_sync(0xFFFFFFFFu, y);
  if ((threadIdx.x & 31) == 0) {
    sums[0][threadIdx.x >> 5] = x;
    sums[1][threadIdx.x >> 5] = y;
  }
  __syncthreads();
  if (threadIdx.x < 32) {
    const unsigned int a = __reduce_add_sync(0xFFFFFFFFu, threadIdx.x < 8 ? sums[0][threadIdx.x] : 0u);
    const unsigned int b = __reduce_add_sync(0xFFFFFFFFu, threadIdx.x < 8 ? sums[1][threadIdx.x] : 0u);
    if (threadIdx.x == 0) {
      atomicAdd(toX, static_cast<unsigned long long>(a));
      atomicAdd(toY, static_cast<unsigned long long>(b));
    }
  }
}

// Grouped block order, shared by the tiled kernels: block `id` of a blockRows × blockCols grid walks
// the block columns in column-major order within groups of kBlockGroupRows block rows, so the blocks
// resident at once share a few block rows of A and a band of B's columns in L2 (a row-major wave
// would stream all of B from memory once per wave). Returns (block row, block column).
constexpr int kBlockGroupRows = 8;
__device__ __forceinline__ int2 groupedBlock(int id, int blockRows, int blockCols) {
  const int perGroup = kBlockGroupRows * blockCols;
  const int first = (id / perGroup) * kBlockGroupRows;
  const int rows = min(kBlockGroupRows, blockRows - first);
  const int within = id % perGroup;
  return make_int2(first + within % rows, within / rows);
}

// Mask of the valid k bits of slice s (bits for k >= K are never used, whatever a pattern says).
__device__ __forceinline__ uint32_t sliceKMask(int s, int K) {
  const int rem = K - s * 8;
  return rem >= 8 ? 0xFFu : ((1u << rem) - 1u);
}

}  // namespace esmm
