// info() and devices(): synchronous, cheap queries.
#pragma once
#include <napi.h>

namespace esmm::native {

Napi::Value Info(const Napi::CallbackInfo& info);
Napi::Value Devices(const Napi::CallbackInfo& info);

}  // namespace esmm::native
