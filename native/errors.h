// Failures inside the addon: a stable code (the JS error's `code`) and a one-line message.
// Thrown anywhere below the Napi layer and turned into a rejected promise or a JS Error there.
#pragma once
#include <stdexcept>
#include <string>

namespace esmm::native {

class NativeError : public std::runtime_error {
 public:
  NativeError(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

[[noreturn]] inline void fail(const char* code, const std::string& message) { throw NativeError(code, message); }

}  // namespace esmm::native
