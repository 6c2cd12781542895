// gemm: row-major C[m×n] = A[m×k]·B[k×n], or A·Bᵀ with B stored [n×k] (transB, nn.Linear's
// layout), computed by cuBLAS SGEMM with CUBLAS_DEFAULT_MATH: float32 inputs, float32
// accumulation, no TF32. Each call copies A and B to the device, multiplies, and copies C back
// (nothing stays resident between calls). Built without cuBLAS, valid calls reject with NO_BACKEND.
#include "gemm.h"

#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "args.h"
#include "errors.h"
#include "promise_worker.h"
#ifdef ESMM_WITH_CUBLAS
#include "cuda_device.h"
#include "cuda_util.h"
#endif

namespace esmm::native {
namespace {

// cuBLAS takes int dimensions and leading dimensions; every operand's element count is kept
// within int as well, as the benchmark does.
constexpr int64_t kMaxGemmElements = 2147483647;

struct GemmJob {
  std::vector<float> a;
  std::vector<float> b;
  int m = 0;
  int k = 0;
  int n = 0;
  bool transB = false;
  int device = 0;
};

// params[key] as a Float32Array of exactly `expected` elements, copied (SHAPE when the length differs).
std::vector<float> copyOperand(const Napi::Object& o, const char* key, int64_t expected, const std::string& shape) {
  const Napi::Value v = o.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    fail("USAGE", std::string("params.") + key + " must be a Float32Array");
  }
  const auto arr = v.As<Napi::Float32Array>();
  if (static_cast<int64_t>(arr.ElementLength()) != expected) {
    fail("SHAPE", std::string("params.") + key + " has " + std::to_string(arr.ElementLength()) + " elements; " + shape +
                      " needs " + std::to_string(expected));
  }
  return std::vector<float>(arr.Data(), arr.Data() + arr.ElementLength());
}

void checkCount(const char* what, int64_t rows, int64_t cols) {
  if (rows * cols > kMaxGemmElements) {
    fail("SHAPE", std::string(what) + " is " + std::to_string(rows) + "×" + std::to_string(cols) + " = " +
                      std::to_string(rows * cols) + " elements, over the limit of " + std::to_string(kMaxGemmElements));
  }
}

GemmJob parse(const Napi::Value& v) {
  if (!v.IsObject()) fail("USAGE", "gemm expects a params object");
  const Napi::Object o = v.As<Napi::Object>();
  GemmJob job;
  job.m = getInt(o, "m", 1, 2147483647, "SHAPE");
  job.k = getInt(o, "k", 1, 2147483647, "SHAPE");
  job.n = getInt(o, "n", 1, 2147483647, "SHAPE");
  if (has(o, "transB")) {
    const Napi::Value t = o.Get("transB");
    if (!t.IsBoolean()) fail("USAGE", "params.transB must be a boolean");
    job.transB = t.As<Napi::Boolean>().Value();
  }
  if (has(o, "device")) job.device = getInt(o, "device", 0, 1023);
  const int64_t m = job.m, k = job.k, n = job.n;
  checkCount("A", m, k);
  checkCount("B", k, n);
  checkCount("C", m, n);
  const std::string dims = "m=" + std::to_string(m) + ", k=" + std::to_string(k) + ", n=" + std::to_string(n);
  // Shapes are checked before anything is copied, and before the backend: bad arguments get
  // the same answer from every build.
  job.a = copyOperand(o, "a", m * k, "A [m×k] with " + dims);
  job.b = copyOperand(o, "b", k * n, std::string(job.transB ? "B [n×k] (transB)" : "B [k×n]") + " with " + dims);
#ifndef ESMM_WITH_CUBLAS
  fail("NO_BACKEND", "gemm needs cuBLAS: this addon was built without it (no CUDA toolkit with cuBLAS at build time)");
#endif
  return job;
}

#ifdef ESMM_WITH_CUBLAS
// One gemm at a time: calls from several promises queue here rather than contend for memory.
std::mutex gemmMutex;

std::vector<float> runCublasGemm(const GemmJob& job) {
  const size_t mk = size_t(job.m) * size_t(job.k);
  const size_t kn = size_t(job.k) * size_t(job.n);
  const size_t mn = size_t(job.m) * size_t(job.n);
  std::vector<float> c(mn);
  {
    Stream stream;
    const cudaStream_t s = stream.get();
    DeviceBuffer<float> A(mk), B(kn), C(mn);
    ESMM_CUDA_CHECK(cudaMemcpyAsync(A.get(), job.a.data(), mk * sizeof(float), cudaMemcpyHostToDevice, s));
    ESMM_CUDA_CHECK(cudaMemcpyAsync(B.get(), job.b.data(), kn * sizeof(float), cudaMemcpyHostToDevice, s));
    CublasHandle handle;
    ESMM_CUBLAS_CHECK(cublasSetStream(handle.get(), s));
    // Plain float32 SGEMM: no TF32, whatever the environment (NVIDIA_TF32_OVERRIDE aside).
    ESMM_CUBLAS_CHECK(cublasSetMathMode(handle.get(), CUBLAS_DEFAULT_MATH));
    sgemmRowMajor(handle.get(), A.get(), B.get(), C.get(), job.m, job.k, job.n, job.transB);
    ESMM_CUDA_CHECK(cudaMemcpyAsync(c.data(), C.get(), mn * sizeof(float), cudaMemcpyDeviceToHost, s));
    ESMM_CUDA_CHECK(cudaStreamSynchronize(s));
  }
  return c;
}
#endif

class GemmWorker : public PromiseWorker {
 public:
  GemmWorker(Napi::Env env, GemmJob job) : PromiseWorker(env, "esmm:gemm"), job_(std::move(job)) {}

 protected:
  void Run() override {
#ifdef ESMM_WITH_CUBLAS
    std::lock_guard<std::mutex> lock(gemmMutex);
    try {
      selectDevice(job_.device);
      c_ = runCublasGemm(job_);
    } catch (...) {
      recoverDevice();
      throw;
    }
#else
    fail("NO_BACKEND", "gemm needs cuBLAS: this addon was built without it");
#endif
    // The operands are not needed any more: give their memory back before the result is built.
    std::vector<float>().swap(job_.a);
    std::vector<float>().swap(job_.b);
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Float32Array out = Napi::Float32Array::New(env, c_.size());
    if (!c_.empty()) std::memcpy(out.Data(), c_.data(), c_.size() * sizeof(float));
    return out;
  }

 private:
  GemmJob job_;
  std::vector<float> c_;
};

}  // namespace

#ifdef ESMM_WITH_CUBLAS
void sgemmRowMajor(cublasHandle_t handle, const float* a, const float* b, float* c, int m, int k, int n, bool transB) {
  const float one = 1.0f, zero = 0.0f;
  // Row-major C = A·op(B) is column-major Cᵀ = op(B)ᵀ·Aᵀ. Read column-major, row-major A [m×k]
  // is Aᵀ (k×m, ld k). Row-major B [k×n] is Bᵀ (n×k, ld n): no transpose. Row-major B [n×k]
  // (transB) is B viewed as k×n column-major with ld k: transpose it to get the n×k operand.
  if (transB) {
    ESMM_CUBLAS_CHECK(cublasSgemm(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &one, b, k, a, k, &zero, c, n));
  } else {
    ESMM_CUBLAS_CHECK(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, b, n, a, k, &zero, c, n));
  }
}
#endif

Napi::Value Gemm(const Napi::CallbackInfo& info) { return queuePromiseWorker<GemmWorker>(info, parse); }

}  // namespace esmm::native
