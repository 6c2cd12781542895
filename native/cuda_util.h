// CUDA/cuBLAS checking macros and RAII owners (copying deleted). Built only with the CUDA backend.
#pragma once
#include <cstddef>
#include <string>
#include <utility>

#include <cuda_runtime_api.h>
#ifdef ESMM_WITH_CUBLAS
#include <cublas_v2.h>
#endif

#include "errors.h"

namespace esmm::native {

// "native/foo.cc" rather than the build machine's absolute path.
inline const char* sourceName(const char* file) {
  std::string f(file);
  const auto pos = f.rfind("native/");
  return pos == std::string::npos ? file : file + pos;
}

[[noreturn]] inline void throwCuda(cudaError_t e, const char* expr, const char* file, int line) {
  const char* code = "CUDA_ERROR";
  if (e == cudaErrorMemoryAllocation) code = "OUT_OF_MEMORY";
  if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver) code = "NO_DEVICE";
  std::string hint;
  if (e == cudaErrorNoKernelImageForDevice || e == cudaErrorUnsupportedPtxVersion) {
    hint = "; the kernels were built for CUDA architectures " ESMM_CUDA_ARCHS
           ": rebuild with ESMM_CUDA_ARCH=<this GPU's, e.g. 80 or 90> npm run build:native";
  }
  throw NativeError(code, std::string("CUDA error ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ") in " +
                              expr + " at " + sourceName(file) + ":" + std::to_string(line) + hint);
}

#define ESMM_CUDA_CHECK(expr)                                                         \
  do {                                                                                \
    const cudaError_t esmm_err_ = (expr);                                             \
    if (esmm_err_ != cudaSuccess) ::esmm::native::throwCuda(esmm_err_, #expr, __FILE__, __LINE__); \
  } while (0)

#ifdef ESMM_WITH_CUBLAS
[[noreturn]] inline void throwCublas(cublasStatus_t s, const char* expr, const char* file, int line) {
  const char* code = s == CUBLAS_STATUS_ALLOC_FAILED ? "OUT_OF_MEMORY" : "CUBLAS_ERROR";
  throw NativeError(code, std::string("cuBLAS error ") + cublasGetStatusName(s) + " (" + cublasGetStatusString(s) +
                              ") in " + expr + " at " + sourceName(file) + ":" + std::to_string(line));
}

#define ESMM_CUBLAS_CHECK(expr)                                                         \
  do {                                                                                  \
    const cublasStatus_t esmm_st_ = (expr);                                             \
    if (esmm_st_ != CUBLAS_STATUS_SUCCESS) ::esmm::native::throwCublas(esmm_st_, #expr, __FILE__, __LINE__); \
  } while (0)
#endif

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t count) : count_(count) {
    if (count > 0) ESMM_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&ptr_), count * sizeof(T)));
  }
  ~DeviceBuffer() {
    if (ptr_ != nullptr) cudaFree(ptr_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), count_(std::exchange(o.count_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(count_, o.count_);
    return *this;
  }
  T* get() const { return ptr_; }
  size_t count() const { return count_; }
  size_t bytes() const { return count_ * sizeof(T); }

 private:
  T* ptr_ = nullptr;
  size_t count_ = 0;
};

class Stream {
 public:
  Stream() { ESMM_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
  ~Stream() { cudaStreamDestroy(s_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return s_; }

 private:
  cudaStream_t s_ = nullptr;
};

class Event {
 public:
  Event() { ESMM_CUDA_CHECK(cudaEventCreate(&e_)); }
  ~Event() {
    if (e_ != nullptr) cudaEventDestroy(e_);
  }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  Event(Event&& o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
  Event& operator=(Event&&) = delete;
  cudaEvent_t get() const { return e_; }

 private:
  cudaEvent_t e_ = nullptr;
};

#ifdef ESMM_WITH_CUBLAS
class CublasHandle {
 public:
  CublasHandle() { ESMM_CUBLAS_CHECK(cublasCreate(&h_)); }
  ~CublasHandle() { cublasDestroy(h_); }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  cublasHandle_t get() const { return h_; }

 private:
  cublasHandle_t h_ = nullptr;
};
#endif

}  // namespace esmm::native
