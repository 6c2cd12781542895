#include "compute_patterns.h"

#include <cstring>

#include "args.h"
#include "bench_job.h"
#include "cpu_backend.h"
#include "limits.h"
#include "promise_worker.h"
#ifdef ESMM_WITH_CUDA
#include "cuda_backend.h"
#endif

namespace esmm::native {
namespace {

// A call's job, with the JS array its data is read from in place: held until the call is done
// (the reference is made and dropped on the JS thread), so no copy of a large W is made on it.
struct PatternCall {
  PatternJob job;
  Napi::Reference<Napi::Float32Array> keep;
};

class PatternsWorker : public PromiseWorker {
 public:
  PatternsWorker(Napi::Env env, PatternCall call)
      : PromiseWorker(env, "esmm:computePatterns"), job_(std::move(call.job)), keep_(std::move(call.keep)) {}

 protected:
  void Run() override {
#ifdef ESMM_WITH_CUDA
    if (job_.backend == Backend::Cuda) {
      out_ = cudaPatterns(job_);
      return;
    }
#endif
    out_ = cpuPatterns(job_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Uint8Array a = Napi::Uint8Array::New(env, out_.size());
    if (!out_.empty()) std::memcpy(a.Data(), out_.data(), out_.size());
    return a;
  }

 private:
  PatternJob job_;
  Napi::Reference<Napi::Float32Array> keep_;
  std::vector<uint8_t> out_;
};

PatternCall parse(const Napi::Value& v) {
  if (!v.IsObject()) fail("USAGE", "computePatterns expects a params object");
  const Napi::Object o = v.As<Napi::Object>();
  PatternCall call;
  PatternJob& job = call.job;
  const std::string backend = getString(o, "backend");
  if (backend == "cuda") {
#ifndef ESMM_WITH_CUDA
    fail("NO_BACKEND", "this addon was built without the CUDA backend (nvcc was not found at build time)");
#endif
    job.backend = Backend::Cuda;
  } else if (backend != "cpu") {
    fail("USAGE", "params.backend must be 'cpu' or 'cuda', got '" + backend + "'");
  }
  if (has(o, "device")) job.device = getInt(o, "device", 0, 1023);
  const std::string operand = getString(o, "operand");
  if (operand != "A" && operand != "B") fail("USAGE", "params.operand must be 'A' or 'B'");
  job.operandA = operand == "A";
  job.rows = getInt(o, "rows", 1, 2147483647, "SHAPE");
  job.cols = getInt(o, "cols", 1, 2147483647, "SHAPE");
  checkMatrix(job.operandA ? "A" : "B", job.rows, job.cols);
  job.data = getFloat32Operand(o, "data", true);
  call.keep = Napi::Persistent(o.Get("data").As<Napi::Float32Array>());
  return call;
}

}  // namespace

Napi::Value ComputePatterns(const Napi::CallbackInfo& info) { return queuePromiseWorker<PatternsWorker>(info, parse); }

}  // namespace esmm::native
