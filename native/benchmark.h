// benchmark(params) → Promise<BenchmarkResult> (src/native/types.ts), on the libuv pool.
#pragma once
#include <napi.h>

namespace esmm::native {

Napi::Value Benchmark(const Napi::CallbackInfo& info);
// benchmarkSync(params) → BenchmarkResult: the same call on the calling thread, which it blocks
// until done (a device worker's own thread); throws instead of rejecting. B, A and the B
// patterns are read in place, not copied.
Napi::Value BenchmarkSync(const Napi::CallbackInfo& info);

}  // namespace esmm::native
