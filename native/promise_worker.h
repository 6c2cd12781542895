// Base of every asynchronous entry point: runs Run() on the libuv pool and settles a promise.
// Execute() sees only plain C++ state; failures become a JS Error with a stable `code`.
#pragma once
#include <napi.h>

#include <new>
#include <string>

#include "errors.h"

namespace esmm::native {

// A JS Error with `code` set, as the TypeScript side expects.
inline Napi::Error makeError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;

  void Execute() final {
    try {
      Run();
    } catch (const NativeError& e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const std::bad_alloc&) {
      code_ = "OUT_OF_MEMORY";
      SetError("host memory exhausted");
    } catch (const std::exception& e) {
      code_ = "INTERNAL";
      SetError(e.what());
    }
  }
  void OnOK() final {
    Napi::HandleScope scope(Env());
    deferred_.Resolve(Result(Env()));
  }
  void OnError(const Napi::Error& e) final {
    Napi::HandleScope scope(Env());
    deferred_.Reject(makeError(Env(), code_.empty() ? "INTERNAL" : code_, e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string code_;
};

// Parses the arguments on the main thread (a parse failure rejects at once, with its code),
// then queues Worker(env, job) and returns its promise.
template <typename Worker, typename Parse>
Napi::Value queuePromiseWorker(const Napi::CallbackInfo& info, Parse parse) {
  Napi::Env env = info.Env();
  decltype(parse(info[0])) job;
  try {
    job = parse(info[0]);
  } catch (const NativeError& e) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Reject(makeError(env, e.code(), e.what()).Value());
    return d.Promise();
  }
  auto* worker = new Worker(env, std::move(job));
  Napi::Promise p = worker->promise();
  worker->Queue();
  return p;
}

}  // namespace esmm::native
