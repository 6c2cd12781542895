#include "cuda_device.h"

#include <atomic>
#include <string>

#include "cuda_util.h"

namespace esmm::native {

void selectDevice(int device) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    cudaGetLastError();
    fail("NO_DEVICE", std::string("no CUDA device: ") +
                          (e != cudaSuccess ? std::string(cudaGetErrorName(e)) + " (" + cudaGetErrorString(e) + ")"
                                            : "the driver reports 0 devices"));
  }
  if (device < 0 || device >= count) {
    fail("NO_DEVICE", "device " + std::to_string(device) + " not present (" + std::to_string(count) + " device(s))");
  }
  ESMM_CUDA_CHECK(cudaSetDevice(device));
}

namespace {
// Device indices are at most 1023 (the entry points' argument checks).
std::atomic<unsigned> resets[1024];
}  // namespace

void recoverDevice() {
  cudaGetLastError();
  if (cudaDeviceSynchronize() != cudaSuccess) {
    int device = -1;
    if (cudaGetDevice(&device) == cudaSuccess && device >= 0 && device < 1024) ++resets[device];
    cudaDeviceReset();
    cudaGetLastError();
  }
}

unsigned deviceResets(int device) { return device >= 0 && device < 1024 ? resets[device].load() : 0; }

}  // namespace esmm::native
