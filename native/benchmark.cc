#include "benchmark.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "args.h"
#include "bench_job.h"
#include "cpu_backend.h"
#include "kernel_registry.h"
#include "limits.h"
#include "promise_worker.h"
#include "sampling.h"
#ifdef ESMM_WITH_CUDA
#include "cuda_backend.h"
#endif

namespace esmm::native {
namespace {

// Upper bounds that keep a mistyped count from running for hours.
constexpr int kMaxRuns = 100000;
constexpr int kMaxWarmup = 10000;
constexpr double kMaxTimeCapMs = 3600.0 * 1000.0;
constexpr double kMaxMinSampleMs = 60.0 * 1000.0;

// A finite number in [lo, hi] (USAGE otherwise).
double getBounded(const Napi::Object& o, const char* key, double lo, double hi) {
  const double d = getNumber(o, key);
  if (!std::isfinite(d) || d < lo || d > hi) {
    char shown[96];
    std::snprintf(shown, sizeof shown, " = %.17g must be a number in [%g, %g]", d, lo, hi);
    fail("USAGE", std::string("params.") + key + shown);
  }
  return d;
}

Napi::Object stats(Napi::Env env, const Samples& s) {
  Napi::Object o = Napi::Object::New(env);
  const bool none = s.ms.empty();
  o.Set("median", medianOf(s.ms));
  o.Set("min", none ? NAN : *std::min_element(s.ms.begin(), s.ms.end()));
  o.Set("max", none ? NAN : *std::max_element(s.ms.begin(), s.ms.end()));
  Napi::Array all = Napi::Array::New(env, s.ms.size());
  for (size_t i = 0; i < s.ms.size(); ++i) all.Set(static_cast<uint32_t>(i), s.ms[i]);
  o.Set("samples", all);
  return o;
}

BenchOutcome runJob(const BenchJob& job) {
#ifdef ESMM_WITH_CUDA
  if (job.backend == Backend::Cuda) return runCudaBenchmark(job);
#endif
  return runCpuBenchmark(job);
}

Napi::Object outcomeToJs(Napi::Env env, const BenchOutcome& out) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("backend", out.backend == Backend::Cuda ? "cuda" : "cpu");
  o.Set("device", out.device);
  o.Set("aPatterns", stats(env, out.aPatterns));
  if (!out.bPrepare.ms.empty()) o.Set("bPrepare", stats(env, out.bPrepare));
  o.Set("skippedSliceFraction", out.skippedSliceFraction);
  o.Set("kDensity", out.kDensity);
  o.Set("reference", out.reference);
  Napi::Array ks = Napi::Array::New(env, out.kernels.size());
  for (size_t i = 0; i < out.kernels.size(); ++i) {
    const KernelOutcome& k = out.kernels[i];
    Napi::Object r = Napi::Object::New(env);
    r.Set("id", k.id);
    if (!k.variant.empty()) r.Set("variant", k.variant);
    r.Set("ok", k.ok);
    if (!k.error.empty()) r.Set("error", k.error);
    if (!k.errorCode.empty()) r.Set("errorCode", k.errorCode);
    // A failed kernel is never reported with a time.
    if (k.ok) r.Set("time", stats(env, k.time));
    if (k.checked) {
      r.Set("relErrFrobenius", k.relErrFrobenius);
      r.Set("maxAbsErrRel", k.maxAbsErrRel);
    }
    if (k.maxAbsErrRelVsCublas) r.Set("maxAbsErrRelVsCublas", *k.maxAbsErrRelVsCublas);
    if (k.ok) {
      r.Set("stdevRel", k.stdevRel);
      r.Set("noisy", k.noisy);
      r.Set("callsPerSample", k.callsPerSample);
    }
    if (!k.candidates.empty()) {
      Napi::Array cs = Napi::Array::New(env, k.candidates.size());
      for (size_t c = 0; c < k.candidates.size(); ++c) {
        Napi::Object co = Napi::Object::New(env);
        co.Set("algo", k.candidates[c].first);
        co.Set("medianMs", k.candidates[c].second);
        cs.Set(static_cast<uint32_t>(c), co);
      }
      r.Set("candidates", cs);
    }
    ks.Set(static_cast<uint32_t>(i), r);
  }
  o.Set("kernels", ks);
  return o;
}

class BenchmarkWorker : public PromiseWorker {
 public:
  BenchmarkWorker(Napi::Env env, BenchJob job) : PromiseWorker(env, "esmm:benchmark"), job_(std::move(job)) {}

 protected:
  void Run() override { out_ = runJob(job_); }
  Napi::Value Result(Napi::Env env) override { return outcomeToJs(env, out_); }

 private:
  BenchJob job_;
  BenchOutcome out_;
};

// `borrow`: B, A and the B patterns are views of the caller's arrays (a synchronous call), not copies.
BenchJob parse(const Napi::Value& v, bool borrow) {
  if (!v.IsObject()) fail("USAGE", "benchmark expects a params object");
  const Napi::Object o = v.As<Napi::Object>();
  BenchJob job;
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
  job.m = getInt(o, "m", 1, 2147483647, "SHAPE");
  job.k = getInt(o, "k", 1, 2147483647, "SHAPE");
  job.n = getInt(o, "n", 1, 2147483647, "SHAPE");
  const double seed = getNumber(o, "seed");
  if (!std::isfinite(seed) || seed < 0 || seed != std::floor(seed) || seed > 9007199254740991.0) {
    fail("USAGE", "params.seed must be a non-negative safe integer");
  }
  job.seed = static_cast<uint64_t>(seed);
  if (has(o, "synthetic")) {
    const Napi::Value sv = o.Get("synthetic");
    if (!sv.IsObject()) fail("USAGE", "params.synthetic must be { mode, density }");
    const Napi::Object so = sv.As<Napi::Object>();
    const std::string mode = getString(so, "mode");
    if (mode == "joint") {
      job.mode = SyntheticMode::Joint;
    } else if (mode == "b-only") {
      job.mode = SyntheticMode::BOnly;
    } else {
      fail("USAGE", "params.synthetic.mode must be 'joint' or 'b-only', got '" + mode + "'");
    }
    job.density = getNumber(so, "density");
    if (!(job.density >= 0.0 && job.density <= 1.0)) fail("USAGE", "params.synthetic.density must be in [0, 1]");
    job.synthetic = true;
  }
  if (has(o, "b")) {
    if (job.synthetic) fail("USAGE", "params.b and params.synthetic exclude each other");
    job.b = getFloat32Operand(o, "b", borrow);
  } else if (!job.synthetic) {
    fail("USAGE", "params.b is required unless params.synthetic is given");
  }
  if (has(o, "a")) {
    if (job.synthetic) fail("USAGE", "params.a and params.synthetic exclude each other");
    job.a = getFloat32Operand(o, "a", borrow);
  }
  if (has(o, "bPatterns")) job.bPatterns = getUint8Operand(o, "bPatterns", borrow);

  const Napi::Value kv = o.Get("kernels");
  if (!kv.IsArray() || kv.As<Napi::Array>().Length() == 0) fail("USAGE", "params.kernels must be a non-empty array");
  const Napi::Array ka = kv.As<Napi::Array>();
  for (uint32_t i = 0; i < ka.Length(); ++i) {
    const Napi::Value e = ka.Get(i);
    if (!e.IsString()) fail("USAGE", "params.kernels must hold strings");
    const std::string id = e.As<Napi::String>().Utf8Value();
    if (!knownKernel(job.backend, id)) {
      fail("USAGE", "unknown kernel '" + id + "' for backend " + backend + " (known: " + kernelListFor(job.backend) + ")");
    }
    if (std::find(job.kernels.begin(), job.kernels.end(), id) == job.kernels.end()) job.kernels.push_back(id);
  }
  job.warmup = getInt(o, "warmup", 0, kMaxWarmup);
  job.runs = getInt(o, "runs", 1, kMaxRuns);
  const std::string l2 = getString(o, "l2");
  if (l2 != "cold" && l2 != "hot") fail("USAGE", "params.l2 must be 'cold' or 'hot'");
  job.coldL2 = l2 == "cold";
  if (has(o, "stdevTarget")) job.stdevTarget = getBounded(o, "stdevTarget", 0.0, 1.0);
  if (has(o, "timeCapMs")) job.timeCapMs = getBounded(o, "timeCapMs", 0.0, kMaxTimeCapMs);
  if (has(o, "minSampleMs")) job.minSampleMs = getBounded(o, "minSampleMs", 0.0, kMaxMinSampleMs);
  checkShape(job);
  return job;
}

}  // namespace

Napi::Value Benchmark(const Napi::CallbackInfo& info) {
  return queuePromiseWorker<BenchmarkWorker>(info, [](const Napi::Value& v) { return parse(v, false); });
}

Napi::Value BenchmarkSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string code, message;
  try {
    const BenchJob job = parse(info[0], true);
    const BenchOutcome out = runJob(job);
    return outcomeToJs(env, out);
  } catch (const NativeError& e) {
    code = e.code();
    message = e.what();
  } catch (const std::bad_alloc&) {
    code = "OUT_OF_MEMORY";
    message = "host memory exhausted";
  } catch (const std::exception& e) {
    code = "INTERNAL";
    message = e.what();
  }
  makeError(env, code, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace esmm::native
