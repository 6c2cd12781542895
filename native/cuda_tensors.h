// The CUDA side of deviceTensors (native/cuda_tensors.cc). Built only with the CUDA backend.
#pragma once
#include "device_step.h"

namespace esmm::native {

// Runs one step under a process-wide lock, on the stream of the tensors' device; throws a
// NativeError (USAGE for an unknown handle, SHAPE, NO_BACKEND for linear without cuBLAS, CUDA
// codes). A sticky CUDA error resets the device, and its tensors are gone with it.
DeviceStepResult runDeviceStep(const DeviceStep& step);

}  // namespace esmm::native
