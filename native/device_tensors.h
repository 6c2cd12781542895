// deviceTensors (src/native/types.ts DeviceTensors): float32 tensors kept on a GPU between calls,
// by handle, and the steps of a decoder's forward pass on them, for `capture --backend cuda`.
#pragma once
#include <napi.h>

namespace esmm::native {

// The object of functions the module exports as `deviceTensors`: one promise per call.
Napi::Object DeviceTensors(Napi::Env env);

}  // namespace esmm::native
