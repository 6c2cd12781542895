#include "info.h"

#include "cpu_backend.h"
#include "device_info.h"

namespace esmm::native {
namespace {

Napi::Array stringArray(Napi::Env env, const std::vector<std::string>& items) {
  Napi::Array a = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); ++i) a.Set(static_cast<uint32_t>(i), items[i]);
  return a;
}

}  // namespace

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CudaVersions v = cudaVersions();
  Napi::Object o = Napi::Object::New(env);
  o.Set("addonVersion", ESMM_ADDON_VERSION);
  std::vector<std::string> backends{"cpu"};
  if (v.built) backends.push_back("cuda");
  o.Set("backends", stringArray(env, backends));
  Napi::Object kernels = Napi::Object::New(env);
  kernels.Set("cpu", stringArray(env, {"reference", "esmm"}));
  if (v.built) {
    Napi::Object cuda = Napi::Object::New(env);
    cuda.Set("runtimeVersion", v.runtime);
    cuda.Set("driverVersion", v.driver);
    if (!v.error.empty()) cuda.Set("error", v.error);
    o.Set("cuda", cuda);
    if (v.cublas) {
      Napi::Object cublas = Napi::Object::New(env);
      cublas.Set("version", v.cublasVersion);
      o.Set("cublas", cublas);
      kernels.Set("cuda", stringArray(env, {"cublas", "cublas-tf32", "cublas-bf16", "esmm"}));
    } else {
      kernels.Set("cuda", stringArray(env, {"esmm"}));
    }
  }
  o.Set("kernels", kernels);
  o.Set("cpuThreads", cpuThreads());
  return o;
}

Napi::Value Devices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::vector<DeviceProps> list = cudaDevices(nullptr);
  Napi::Array out = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const DeviceProps& d = list[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("index", d.index);
    o.Set("name", d.name);
    o.Set("computeCapability", std::to_string(d.ccMajor) + "." + std::to_string(d.ccMinor));
    o.Set("smCount", d.smCount);
    o.Set("totalMemoryBytes", d.totalMemoryBytes);
    o.Set("l2CacheBytes", d.l2CacheBytes);
    if (d.smClockKHz > 0) o.Set("smClockKHz", d.smClockKHz);
    if (d.memoryClockKHz > 0) o.Set("memoryClockKHz", d.memoryClockKHz);
    if (!d.pciBusId.empty()) o.Set("pciBusId", d.pciBusId);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

}  // namespace esmm::native
