#include "info.h"

#include "cpu_backend.h"
#include "device_info.h"
#include "kernel_registry.h"
#include "build_commit.h"

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
  o.Set("buildCommit", ESMM_BUILD_COMMIT);
  // The registry (every id of every backend, `built` saying which this build runs), and per backend
  // the ids it runs (the older `kernels` view of the same table).
  Napi::Array registry = Napi::Array::New(env);
  std::vector<std::string> cpuIds, cudaIds;
  for (const KernelRegistryEntry& e : kernelRegistry()) {
    const bool cuda = e.backend == Backend::Cuda;
    Napi::Object r = Napi::Object::New(env);
    r.Set("id", e.id);
    r.Set("backend", cuda ? "cuda" : "cpu");
    r.Set("role", e.role);
    r.Set("float32Accurate", e.float32Accurate);
    Napi::Object tol = Napi::Object::New(env);
    tol.Set("relFrobenius", e.tolerance.relFrobenius);
    tol.Set("maxAbsRel", e.tolerance.maxAbsRel);
    r.Set("tolerance", tol);
    r.Set("description", e.description);
    r.Set("built", e.built);
    registry.Set(registry.Length(), r);
    if (e.built) (cuda ? cudaIds : cpuIds).push_back(e.id);
  }
  o.Set("registry", registry);
  Napi::Object kernels = Napi::Object::New(env);
  kernels.Set("cpu", stringArray(env, cpuIds));
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
    }
    kernels.Set("cuda", stringArray(env, cudaIds));
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
