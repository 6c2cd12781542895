// benchmark(params) → Promise<BenchmarkResult> (src/native/types.ts).
#pragma once
#include <napi.h>

namespace esmm::native {

Napi::Value Benchmark(const Napi::CallbackInfo& info);

}  // namespace esmm::native
