// deviceTensors: every function parses its params here, on the main thread (bad arguments get
// the same answer from every build), then runs as a promise on the libuv pool
// (native/cuda_tensors.cc). Built without CUDA, valid calls reject with NO_BACKEND.
#include "device_tensors.h"

#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "args.h"
#include "device_step.h"
#include "errors.h"
#include "promise_worker.h"
#ifdef ESMM_WITH_CUDA
#include "cuda_tensors.h"
#endif

namespace esmm::native {
namespace {

constexpr int kMaxInt = 2147483647;
// cuBLAS takes int dimensions: linear keeps every operand's element count within int, as gemm does.
constexpr int64_t kMaxGemmElements = 2147483647;
// The attention grid's second dimension is the head.
constexpr int kMaxHeads = 65535;
// Largest integer a JS number holds exactly: the largest handle.
constexpr double kMaxHandle = 9007199254740991.0;

struct DeviceJob {
  DeviceStep step;
  // upload: the caller's Float32Array, alive until the copy is done.
  Napi::ObjectReference keep;
};

Napi::Object paramsOf(const Napi::Value& v, const char* fn) {
  if (!v.IsObject()) fail("USAGE", std::string("deviceTensors.") + fn + " expects a params object");
  return v.As<Napi::Object>();
}

int64_t handleOf(const Napi::Value& v, const std::string& what) {
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0;
  if (!v.IsNumber() || !std::isfinite(d) || d != std::floor(d) || d < 1 || d > kMaxHandle) {
    fail("USAGE", what + " must be a device tensor handle (a positive integer)");
  }
  return static_cast<int64_t>(d);
}

int64_t getHandle(const Napi::Object& o, const char* key) { return handleOf(o.Get(key), std::string("params.") + key); }

int64_t optionalHandle(const Napi::Object& o, const char* key) { return has(o, key) ? getHandle(o, key) : 0; }

int getDim(const Napi::Object& o, const char* key) { return getInt(o, key, 1, kMaxInt, "SHAPE"); }

double getFinite(const Napi::Object& o, const char* key, bool nonNegative) {
  const double d = getNumber(o, key);
  if (!std::isfinite(d) || (nonNegative && d < 0)) {
    fail("USAGE", std::string("params.") + key + " must be a finite" + (nonNegative ? " non-negative" : "") + " number");
  }
  return d;
}

StepActivation getActivation(const Napi::Object& o) {
  const std::string act = getString(o, "act");
  if (act == "silu" || act == "swish") return StepActivation::Silu;
  if (act == "relu") return StepActivation::Relu;
  if (act == "gelu") return StepActivation::Gelu;
  if (act == "gelu_new" || act == "gelu_pytorch_tanh") return StepActivation::GeluTanh;
  fail("USAGE", "params.act: activation \"" + act +
                    "\" is not reproduced (supported: silu, swish, relu, gelu, gelu_new, gelu_pytorch_tanh)");
}

DeviceJob parseUpload(const Napi::Value& v) {
  const Napi::Object o = paramsOf(v, "upload");
  const Napi::Value data = o.Get("data");
  if (!data.IsTypedArray() || data.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    fail("USAGE", "params.data must be a Float32Array");
  }
  const auto arr = data.As<Napi::Float32Array>();
  if (arr.ElementLength() == 0) fail("SHAPE", "params.data is empty: a device tensor holds at least one element");
  DeviceJob job;
  job.step.op = DeviceOp::Upload;
  job.step.host = arr.Data();
  job.step.hostCount = arr.ElementLength();
  if (has(o, "device")) job.step.device = getInt(o, "device", 0, 1023);
  job.keep = Napi::Persistent(static_cast<Napi::Object>(arr));
  return job;
}

DeviceJob parseDownload(const Napi::Value& v) {
  const Napi::Object o = paramsOf(v, "download");
  DeviceJob job;
  job.step.op = DeviceOp::Download;
  job.step.x = getHandle(o, "x");
  return job;
}

DeviceJob parseFree(const Napi::Value& v) {
  const Napi::Object o = paramsOf(v, "free");
  const Napi::Value list = o.Get("tensors");
  if (!list.IsArray()) fail("USAGE", "params.tensors must be an array of device tensor handles");
  const auto arr = list.As<Napi::Array>();
  DeviceJob job;
  job.step.op = DeviceOp::Free;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    job.step.handles.push_back(handleOf(arr.Get(i), "params.tensors[" + std::to_string(i) + "]"));
  }
  return job;
}

DeviceJob parseEmbed(const Napi::Value& v) {
  const Napi::Object o = paramsOf(v, "embed");
  DeviceJob job;
  DeviceStep& s = job.step;
  s.op = DeviceOp::Embed;
  s.table = getHandle(o, "table");
  s.positions = optionalHandle(o, "positions");
  s.cols = getDim(o, "hidden");
  const Napi::Value list = o.Get("tokens");
  if (!list.IsArray()) fail("USAGE", "params.tokens must be an array of token ids");
  const auto arr = list.As<Napi::Array>();
  if (arr.Length() == 0) fail("SHAPE", "params.tokens is empty");
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    const Napi::Value t = arr.Get(i);
    const double d = t.IsNumber() ? t.As<Napi::Number>().DoubleValue() : -1;
    if (!std::isfinite(d) || d != std::floor(d) || d < 0 || d > kMaxInt) {
      fail("USAGE", "params.tokens[" + std::to_string(i) + "] must be a non-negative integer token id");
    }
    s.tokens.push_back(static_cast<int32_t>(d));
  }
  s.rows = static_cast<int>(s.tokens.size());
  return job;
}

DeviceJob parseLinear(const Napi::Value& v) {
  const Napi::Object o = paramsOf(v, "linear");
  DeviceJob job;
  DeviceStep& s = job.step;
  s.op = DeviceOp::Linear;
  s.x = getHandle(o, "x");
  s.weight = getHandle(o, "weight");
  s.bias = optionalHandle(o, "bias");
  s.rows = getDim(o, "rows");
  s.cols = getDim(o, "k");
  s.n = getDim(o, "n");
  const std::string layout = getString(o, "layout");
  if (layout != "out-in" && layout != "in-out") fail("USAGE", "params.layout must be 'out-in' or 'in-out', got '" + layout + "'");
  s.transB = layout == "out-in";
  for (const auto& [what, count] : {std::pair<const char*, int64_t>{"x", int64_t(s.rows) * s.cols},
                                    {"weight", int64_t(s.cols) * s.n},
                                    {"the output", int64_t(s.rows) * s.n}}) {
    if (count > kMaxGemmElements) {
      fail("SHAPE", std::string(what) + " would hold " + std::to_string(count) + " elements, over cuBLAS's limit of " +
                        std::to_string(kMaxGemmElements));
    }
  }
  return job;
}

DeviceJob parseNorm(const Napi::Value& v, bool layer) {
  const Napi::Object o = paramsOf(v, layer ? "layerNorm" : "rmsNorm");
  DeviceJob job;
  DeviceStep& s = job.step;
  s.op = layer ? DeviceOp::LayerNorm : DeviceOp::RmsNorm;
  s.x = getHandle(o, "x");
  s.weight = getHandle(o, "weight");
  if (layer) s.bias = getHandle(o, "bias");
  s.rows = getDim(o, "rows");
  s.cols = getDim(o, "cols");
  s.eps = getFinite(o, "eps", true);
  return job;
}

DeviceJob parseRmsNorm(const Napi::Value& v) { return parseNorm(v, false); }
DeviceJob parseLayerNorm(const Napi::Value& v) { return parseNorm(v, true); }

DeviceJob parseRope(const Napi::Value& v) {
  const Napi::Object o = paramsOf(v, "rope");
  DeviceJob job;
  DeviceStep& s = job.step;
  s.op = DeviceOp::Rope;
  s.x = getHandle(o, "x");
  s.invFreq = getHandle(o, "invFreq");
  s.rows = getDim(o, "tokens");
  s.heads = getDim(o, "heads");
  s.headDim = getDim(o, "headDim");
  if (s.headDim % 2 != 0) fail("SHAPE", "params.headDim = " + std::to_string(s.headDim) + " must be even for RoPE");
  return job;
}

DeviceJob parseAttention(const Napi::Value& v) {
  const Napi::Object o = paramsOf(v, "attention");
  DeviceJob job;
  DeviceStep& s = job.step;
  s.op = DeviceOp::Attention;
  s.q = getHandle(o, "q");
  s.k = getHandle(o, "k");
  s.v = getHandle(o, "v");
  s.rows = getDim(o, "tokens");
  s.heads = getInt(o, "heads", 1, kMaxHeads, "SHAPE");
  s.kvHeads = getInt(o, "kvHeads", 1, kMaxHeads, "SHAPE");
  s.headDim = getDim(o, "headDim");
  if (s.heads % s.kvHeads != 0) {
    fail("SHAPE", "params.heads = " + std::to_string(s.heads) + " is not a multiple of params.kvHeads = " +
                      std::to_string(s.kvHeads));
  }
  s.scale = getFinite(o, "scale", false);
  s.window = has(o, "window") ? getInt(o, "window", 0, kMaxInt) : 0;
  return job;
}

DeviceJob parseActivation(const Napi::Value& v) {
  const Napi::Object o = paramsOf(v, "activation");
  DeviceJob job;
  job.step.op = DeviceOp::Activation;
  job.step.x = getHandle(o, "x");
  job.step.activation = getActivation(o);
  return job;
}

DeviceJob parseGatedActivation(const Napi::Value& v) {
  const Napi::Object o = paramsOf(v, "gatedActivation");
  DeviceJob job;
  job.step.op = DeviceOp::GatedActivation;
  job.step.x = getHandle(o, "gate");
  job.step.y = getHandle(o, "up");
  job.step.activation = getActivation(o);
  return job;
}

DeviceJob parseAdd(const Napi::Value& v) {
  const Napi::Object o = paramsOf(v, "add");
  DeviceJob job;
  job.step.op = DeviceOp::Add;
  job.step.x = getHandle(o, "x");
  job.step.y = getHandle(o, "y");
  return job;
}

DeviceJob parseSliceColumns(const Napi::Value& v) {
  const Napi::Object o = paramsOf(v, "sliceColumns");
  DeviceJob job;
  DeviceStep& s = job.step;
  s.op = DeviceOp::SliceColumns;
  s.x = getHandle(o, "x");
  s.rows = getDim(o, "rows");
  s.cols = getDim(o, "cols");
  s.start = getInt(o, "start", 0, kMaxInt, "SHAPE");
  s.width = getDim(o, "width");
  if (int64_t(s.start) + s.width > s.cols) {
    fail("SHAPE", "columns [" + std::to_string(s.start) + ", " + std::to_string(int64_t(s.start) + s.width) +
                      ") are not within the " + std::to_string(s.cols) + " columns of x");
  }
  return job;
}

class DeviceTensorsWorker : public PromiseWorker {
 public:
  DeviceTensorsWorker(Napi::Env env, DeviceJob job) : PromiseWorker(env, "esmm:deviceTensors"), job_(std::move(job)) {}

 protected:
  void Run() override {
#ifdef ESMM_WITH_CUDA
    result_ = runDeviceStep(job_.step);
#else
    fail("NO_BACKEND", "device tensors need the CUDA backend: this addon was built without it (nvcc was not found at build time)");
#endif
  }

  Napi::Value Result(Napi::Env env) override {
    switch (result_.kind) {
      case DeviceStepResult::Kind::Handle:
        return Napi::Number::New(env, static_cast<double>(result_.handle));
      case DeviceStepResult::Kind::Data: {
        Napi::Float32Array out = Napi::Float32Array::New(env, result_.data.size());
        if (!result_.data.empty()) std::memcpy(out.Data(), result_.data.data(), result_.data.size() * sizeof(float));
        return out;
      }
      case DeviceStepResult::Kind::None:
        break;
    }
    return env.Undefined();
  }

 private:
  DeviceJob job_;
  DeviceStepResult result_;
};

template <DeviceJob (*Parse)(const Napi::Value&)>
Napi::Value entry(const Napi::CallbackInfo& info) {
  return queuePromiseWorker<DeviceTensorsWorker>(info, Parse);
}

}  // namespace

Napi::Object DeviceTensors(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("upload", Napi::Function::New(env, entry<parseUpload>, "upload"));
  o.Set("download", Napi::Function::New(env, entry<parseDownload>, "download"));
  o.Set("free", Napi::Function::New(env, entry<parseFree>, "free"));
  o.Set("embed", Napi::Function::New(env, entry<parseEmbed>, "embed"));
  o.Set("linear", Napi::Function::New(env, entry<parseLinear>, "linear"));
  o.Set("rmsNorm", Napi::Function::New(env, entry<parseRmsNorm>, "rmsNorm"));
  o.Set("layerNorm", Napi::Function::New(env, entry<parseLayerNorm>, "layerNorm"));
  o.Set("rope", Napi::Function::New(env, entry<parseRope>, "rope"));
  o.Set("attention", Napi::Function::New(env, entry<parseAttention>, "attention"));
  o.Set("activation", Napi::Function::New(env, entry<parseActivation>, "activation"));
  o.Set("gatedActivation", Napi::Function::New(env, entry<parseGatedActivation>, "gatedActivation"));
  o.Set("add", Napi::Function::New(env, entry<parseAdd>, "add"));
  o.Set("sliceColumns", Napi::Function::New(env, entry<parseSliceColumns>, "sliceColumns"));
  return o;
}

}  // namespace esmm::native
