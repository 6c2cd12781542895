#include "args.h"

#include <cmath>
#include <cstdio>

#include "errors.h"

namespace esmm::native {

bool has(const Napi::Object& o, const char* key) {
  return o.Has(key) && !o.Get(key).IsUndefined() && !o.Get(key).IsNull();
}

std::string getString(const Napi::Object& o, const char* key) {
  const Napi::Value v = o.Get(key);
  if (!v.IsString()) fail("USAGE", std::string("params.") + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

double getNumber(const Napi::Object& o, const char* key) {
  const Napi::Value v = o.Get(key);
  if (!v.IsNumber()) fail("USAGE", std::string("params.") + key + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

int getInt(const Napi::Object& o, const char* key, int lo, int hi, const char* code) {
  const double d = getNumber(o, key);
  if (!std::isfinite(d) || d != std::floor(d) || d < lo || d > hi) {
    char shown[32];
    std::snprintf(shown, sizeof shown, "%.17g", d);
    fail(code, std::string("params.") + key + " = " + shown + " must be an integer in [" +
                   std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return static_cast<int>(d);
}

std::vector<float> getFloat32Array(const Napi::Object& o, const char* key) {
  const Napi::Value v = o.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    fail("USAGE", std::string("params.") + key + " must be a Float32Array");
  }
  const auto arr = v.As<Napi::Float32Array>();
  return std::vector<float>(arr.Data(), arr.Data() + arr.ElementLength());
}

std::vector<uint8_t> getUint8Array(const Napi::Object& o, const char* key) {
  const Napi::Value v = o.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    fail("USAGE", std::string("params.") + key + " must be a Uint8Array");
  }
  const auto arr = v.As<Napi::Uint8Array>();
  return std::vector<uint8_t>(arr.Data(), arr.Data() + arr.ElementLength());
}

Operand<float> getFloat32Operand(const Napi::Object& o, const char* key, bool borrow) {
  const Napi::Value v = o.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    fail("USAGE", std::string("params.") + key + " must be a Float32Array");
  }
  const auto arr = v.As<Napi::Float32Array>();
  return borrow ? Operand<float>::viewOf(arr.Data(), arr.ElementLength()) : Operand<float>::copyOf(arr.Data(), arr.ElementLength());
}

Operand<uint8_t> getUint8Operand(const Napi::Object& o, const char* key, bool borrow) {
  const Napi::Value v = o.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    fail("USAGE", std::string("params.") + key + " must be a Uint8Array");
  }
  const auto arr = v.As<Napi::Uint8Array>();
  return borrow ? Operand<uint8_t>::viewOf(arr.Data(), arr.ElementLength())
                : Operand<uint8_t>::copyOf(arr.Data(), arr.ElementLength());
}

}  // namespace esmm::native
