// What the CUDA runtime reports about the machine. Without the CUDA backend the lists are empty.
#pragma once
#include <string>
#include <vector>

namespace esmm::native {

struct DeviceProps {
  int index = 0;
  std::string name;
  int ccMajor = 0, ccMinor = 0;
  int smCount = 0;
  double totalMemoryBytes = 0;
  double l2CacheBytes = 0;
  int smClockKHz = 0;      // 0: not reported
  int memoryClockKHz = 0;  // 0: not reported
  std::string pciBusId;
};

struct CudaVersions {
  bool built = false;      // addon compiled with the CUDA backend
  bool cublas = false;     // and linked with cuBLAS
  std::string runtime;     // "13.0"
  std::string driver;      // "" when no driver
  std::string cublasVersion;
  std::string error;       // why no device can be used, if so
};

CudaVersions cudaVersions();
// Devices the runtime sees; empty (with `error` set) when none can be used.
std::vector<DeviceProps> cudaDevices(std::string* error);

}  // namespace esmm::native
