#include "device_info.h"

#ifdef ESMM_WITH_CUDA
#include "cuda_util.h"
#endif

namespace esmm::native {

#ifdef ESMM_WITH_CUDA
namespace {

std::string versionString(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

}  // namespace

CudaVersions cudaVersions() {
  CudaVersions v;
  v.built = true;
  int rt = 0;
  if (cudaRuntimeGetVersion(&rt) == cudaSuccess) v.runtime = versionString(rt);
  int drv = 0;
  if (cudaDriverGetVersion(&drv) == cudaSuccess && drv > 0) {
    v.driver = versionString(drv);
  } else {
    v.error = "no NVIDIA driver found";
  }
#ifdef ESMM_WITH_CUBLAS
  v.cublas = true;
  int major = 0, minor = 0, patch = 0;
  if (cublasGetProperty(MAJOR_VERSION, &major) == CUBLAS_STATUS_SUCCESS &&
      cublasGetProperty(MINOR_VERSION, &minor) == CUBLAS_STATUS_SUCCESS &&
      cublasGetProperty(PATCH_LEVEL, &patch) == CUBLAS_STATUS_SUCCESS) {
    v.cublasVersion = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  }
#endif
  if (v.error.empty()) cudaDevices(&v.error);
  return v;
}

std::vector<DeviceProps> cudaDevices(std::string* error) {
  std::vector<DeviceProps> out;
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    if (error != nullptr) *error = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
    return out;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    DeviceProps d;
    d.index = i;
    d.name = p.name;
    d.ccMajor = p.major;
    d.ccMinor = p.minor;
    d.smCount = p.multiProcessorCount;
    d.totalMemoryBytes = static_cast<double>(p.totalGlobalMem);
    d.l2CacheBytes = static_cast<double>(p.l2CacheSize);
    // Clock rates left cudaDeviceProp in CUDA 13; the attributes remain.
    if (cudaDeviceGetAttribute(&d.smClockKHz, cudaDevAttrClockRate, i) != cudaSuccess) d.smClockKHz = 0;
    if (cudaDeviceGetAttribute(&d.memoryClockKHz, cudaDevAttrMemoryClockRate, i) != cudaSuccess) d.memoryClockKHz = 0;
    char bus[32] = {0};
    if (cudaDeviceGetPCIBusId(bus, sizeof bus, i) == cudaSuccess) d.pciBusId = bus;
    out.push_back(d);
  }
  cudaGetLastError();
  if (count == 0 && error != nullptr) *error = "no CUDA device";
  return out;
}

#else

CudaVersions cudaVersions() { return CudaVersions{}; }

std::vector<DeviceProps> cudaDevices(std::string* error) {
  if (error != nullptr) *error = "built without the CUDA backend";
  return {};
}

#endif

}  // namespace esmm::native
