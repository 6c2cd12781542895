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

class PatternsWorker : public PromiseWorker {
 public:
  PatternsWorker(Napi::Env env, PatternJob job) : PromiseWorker(env, "esmm:computePatterns"), job_(std::move(job)) {}

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
  std::vector<uint8_t> out_;
};

PatternJob parse(const Napi::Value& v) {
  if (!v.IsObject()) fail("USAGE", "computePatterns expects a params object");
  const Napi::Object o = v.As<Napi::Object>();
  PatternJob job;
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
  job.data = getFloat32Array(o, "data");
  return job;
}

}  // namespace

Napi::Value ComputePatterns(const Napi::CallbackInfo& info) { return queuePromiseWorker<PatternsWorker>(info, parse); }

}  // namespace esmm::native
