// computePatterns(params) → Promise<Uint8Array>: A or B sparsity patterns (kernels/patterns.h).
#pragma once
#include <napi.h>

namespace esmm::native {

Napi::Value ComputePatterns(const Napi::CallbackInfo& info);

}  // namespace esmm::native
