// gemm(params) → Promise<Float32Array> (src/native/types.ts): one float32 GEMM on the GPU with
// cuBLAS SGEMM in plain float32 (no TF32), for the forward pass of `capture --backend cuda`.
#pragma once
#include <napi.h>

namespace esmm::native {

Napi::Value Gemm(const Napi::CallbackInfo& info);

}  // namespace esmm::native
