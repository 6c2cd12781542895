// The addon's module file: registers the exports, nothing else.
#include <napi.h>

#include "benchmark.h"
#include "compute_patterns.h"
#include "device_tensors.h"
#include "gemm.h"
#include "info.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, esmm::native::Info, "info"));
  exports.Set("devices", Napi::Function::New(env, esmm::native::Devices, "devices"));
  exports.Set("computePatterns", Napi::Function::New(env, esmm::native::ComputePatterns, "computePatterns"));
  exports.Set("benchmark", Napi::Function::New(env, esmm::native::Benchmark, "benchmark"));
  exports.Set("benchmarkSync", Napi::Function::New(env, esmm::native::BenchmarkSync, "benchmarkSync"));
  exports.Set("gemm", Napi::Function::New(env, esmm::native::Gemm, "gemm"));
  exports.Set("deviceTensors", esmm::native::DeviceTensors(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(esmm_native, Init)
