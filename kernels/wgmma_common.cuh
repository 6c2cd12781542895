// What the Hopper (sm_90a) kernels share: mbarriers, bulk and bulk-tensor copies into shared
// memory, wgmma shared-memory descriptors, the truncation remainder of the 3xTF32 split, and the
// host's tensor-map encoding. Included only by the wgmma_*.cu files, which CMakeLists.txt compiles
// for sm_90a alone.
#pragma once
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "common.cuh"  // smemAddr
#include "mma_tf32.cuh"

namespace esmm::hopper {

constexpr int kBoxK = 32;  // k per TMA box: 32 float32 = one 128-byte swizzle row

// The remainder of x after the tf32 truncation the tensor cores apply to it (mma_tf32.cuh's
// truncating split; exact in float32): x itself then serves as its own hi part, as B's prepared copy
// does. Its bias (the truncation always rounds toward zero) stays below 1e-6 normwise with A split to
// nearest (docs/kernel-notes.md v13).
__device__ __forceinline__ float loOfTruncated(float x) {
  uint32_t hi, lo;
  mma::splitTf32(x, hi, lo);
  return __uint_as_float(lo);
}

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
__device__ __forceinline__ void mbarInit(uint32_t bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbarExpectTx(uint32_t bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbarArrive(uint32_t bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(bar) : "memory");
}
__device__ __forceinline__ void mbarWait(uint32_t bar, uint32_t parity) {
  uint32_t done = 0;
  do {
    asm volatile(
        "{\n .reg .pred p;\n mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n selp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(bar), "r"(parity)
        : "memory");
  } while (!done);
}
// One TMA box (32 k × 128 rows) at coordinates (k, row) into shared memory, completing on bar.
__device__ __forceinline__ void tmaLoad(uint32_t dst, const CUtensorMap* map, int k, int row, uint32_t bar) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];" ::"r"(
          dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(k), "r"(row), "r"(bar)
      : "memory");
}

// Shared-memory matrix descriptor: K-major, 128-byte swizzle, 8-row atoms 1024 bytes apart.
__device__ __forceinline__ uint64_t smemDesc(uint32_t addr) {
  return static_cast<uint64_t>((addr & 0x3FFFF) >> 4) | (1ull << 16) | (static_cast<uint64_t>(1024 >> 4) << 32) |
         (1ull << 62);
}

template <int kN>
__device__ __forceinline__ void fenceAcc(float (&d)[kN]) {
#pragma unroll
  for (int i = 0; i < kN; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

// A warp-specialised pipeline's shared memory: `stages` stages of `stageBytes` from the first
// 1024-byte boundary (the 128-byte swizzle's atom), then a full and an empty mbarrier per stage;
// `tail` is the first byte after them.
struct Pipeline {
  uint8_t* smem;      // stage 0
  uint32_t base;      // its shared-memory address
  uint32_t fullBar;   // + 8·s: stage s is loaded
  uint32_t emptyBar;  // + 8·s: stage s may be overwritten
  uint8_t* tail;
};

__device__ __forceinline__ Pipeline pipelineIn(uint8_t* raw, int stages, int stageBytes) {
  Pipeline p;
  const uint32_t rawAddr = smemAddr(raw);
  p.base = (rawAddr + 1023u) & ~1023u;
  p.smem = raw + (p.base - rawAddr);
  p.fullBar = p.base + stages * stageBytes;
  p.emptyBar = p.fullBar + 8 * stages;
  p.tail = p.smem + stages * stageBytes + 16 * stages;
  return p;
}

// By one thread: a full barrier completes on the producer's one arrival (with the byte count), an
// empty one on every consumer thread's.
__device__ __forceinline__ void initPipelineBarriers(const Pipeline& p, int stages, uint32_t consumers) {
  for (int s = 0; s < stages; ++s) {
    mbarInit(p.fullBar + 8 * s, 1);
    mbarInit(p.emptyBar + 8 * s, consumers);
  }
  asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
}

// A 1-D bulk copy of `bytes` (a multiple of 16, both addresses 16-byte aligned) into shared
// memory, completing on bar.
__device__ __forceinline__ void bulkLoad(uint32_t dst, const void* src, uint32_t bytes, uint32_t bar) {
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(dst),
               "l"(src), "r"(bytes), "r"(bar)
               : "memory");
}
#endif

inline PFN_cuTensorMapEncodeTiled_v12000 encodeFn() {
  static PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* f = nullptr;
    cudaDriverEntryPointQueryResult q{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &q) != cudaSuccess ||
        q != cudaDriverEntryPointSuccess) {
      cudaGetLastError();
      f = nullptr;
    }
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(f);
  }();
  return fn;
}

// rows × K float32 at ptr, row pitch ldk floats: boxes of 32 k × boxRows rows, 128-byte swizzle.
inline bool encodeOperand(CUtensorMap* map, const float* ptr, int rows, int K, int ldk, int boxRows) {
  PFN_cuTensorMapEncodeTiled_v12000 fn = encodeFn();
  if (fn == nullptr) return false;
  const cuuint64_t dims[2] = {static_cast<cuuint64_t>(K), static_cast<cuuint64_t>(rows)};
  const cuuint64_t strides[1] = {static_cast<cuuint64_t>(ldk) * sizeof(float)};
  const cuuint32_t box[2] = {kBoxK, static_cast<cuuint32_t>(boxRows)};
  const cuuint32_t elementStrides[2] = {1, 1};
  return fn(map, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 2, const_cast<float*>(ptr), dims, strides, box, elementStrides,
            CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
            CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

inline int optinSmem() {
  int device = 0, optin = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return optin;
}

}  // namespace esmm::hopper
