// gemm(params) → Promise<Float32Array> (src/native/types.ts): one float32 GEMM on the GPU with
// cuBLAS SGEMM in plain float32 (no TF32), operands copied in and out; and that SGEMM on device
// pointers, which deviceTensors' linear step uses too.
#pragma once
#include <napi.h>
#ifdef ESMM_WITH_CUBLAS
#include <cublas_v2.h>
#endif

namespace esmm::native {

Napi::Value Gemm(const Napi::CallbackInfo& info);

#ifdef ESMM_WITH_CUBLAS
// Row-major C [m×n] = A [m×k]·B on device pointers, B [k×n], or [n×k] with transB (nn.Linear's
// layout), enqueued on the handle's stream in its math mode (CUBLAS_DEFAULT_MATH for both callers).
void sgemmRowMajor(cublasHandle_t handle, const float* a, const float* b, float* c, int m, int k, int n, bool transB);
#endif

}  // namespace esmm::native
