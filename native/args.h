// Reading a call's params object into plain C++ on the main thread. Bad arguments throw a
// NativeError with code USAGE (or SHAPE for dimensions), which the entry points turn into a
// rejected promise.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench_job.h"

namespace esmm::native {

bool has(const Napi::Object& o, const char* key);
std::string getString(const Napi::Object& o, const char* key);
double getNumber(const Napi::Object& o, const char* key);
// An integer in [lo, hi]; `code` is used when it is outside.
int getInt(const Napi::Object& o, const char* key, int lo, int hi, const char* code = "USAGE");
std::vector<float> getFloat32Array(const Napi::Object& o, const char* key);
std::vector<uint8_t> getUint8Array(const Napi::Object& o, const char* key);
// The same as operands of a benchmark call: copied, or viewed when `borrow` (a synchronous call).
Operand<float> getFloat32Operand(const Napi::Object& o, const char* key, bool borrow);
Operand<uint8_t> getUint8Operand(const Napi::Object& o, const char* key, bool borrow);

}  // namespace esmm::native
