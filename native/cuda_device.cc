#include "cuda_device.h"

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

void recoverDevice() {
  cudaGetLastError();
  if (cudaDeviceSynchronize() != cudaSuccess) {
    cudaDeviceReset();
    cudaGetLastError();
  }
}

}  // namespace esmm::native
