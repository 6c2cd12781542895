// Choosing a CUDA device for a call, and recovering it after a failure: shared by every entry
// point that runs on the GPU.
#pragma once

namespace esmm::native {

// Makes `device` current; throws NO_DEVICE (naming the driver's answer) when it is not there.
void selectDevice(int device);
// After a failure: a sticky error leaves the context unusable, so reset it (this process only)
// and the next call starts clean.
void recoverDevice();
// How many times recoverDevice has reset `device` in this process: whatever was cached on the
// device (streams, memory pools, cuBLAS handles, allocations) is gone once this changes.
unsigned deviceResets(int device);

}  // namespace esmm::native
