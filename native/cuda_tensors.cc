// The CUDA side of deviceTensors. One lock serialises every step; each device has one stream, on
// which steps are enqueued in call order, and one memory pool, from which tensors are allocated and
// freed in stream order. Nothing waits for the GPU but upload (the caller's array must be read
// before its promise settles), embed's token copy, download, and the free that leaves a device
// with no tensor (the pool's memory goes back then, so a finished forward pass holds none).
#include "cuda_tensors.h"

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "cuda_device.h"
#include "cuda_util.h"
#include "forward_ops.h"
#ifdef ESMM_WITH_CUBLAS
#include "gemm.h"
#endif

namespace esmm::native {
namespace {

class MemPool {
 public:
  explicit MemPool(int device) {
    cudaMemPoolProps props{};
    props.allocType = cudaMemAllocationTypePinned;
    props.location.type = cudaMemLocationTypeDevice;
    props.location.id = device;
    ESMM_CUDA_CHECK(cudaMemPoolCreate(&pool_, &props));
    // Keep freed memory for the next step's tensors until the device holds none (see trim).
    uint64_t keep = UINT64_MAX;
    ESMM_CUDA_CHECK(cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrReleaseThreshold, &keep));
  }
  ~MemPool() { cudaMemPoolDestroy(pool_); }
  MemPool(const MemPool&) = delete;
  MemPool& operator=(const MemPool&) = delete;
  cudaMemPool_t get() const { return pool_; }

 private:
  cudaMemPool_t pool_ = nullptr;
};

struct DeviceContext {
  explicit DeviceContext(int device) : resets(deviceResets(device)), pool(device) {
#ifdef ESMM_WITH_CUBLAS
    ESMM_CUBLAS_CHECK(cublasSetStream(cublas.get(), stream.get()));
    // Plain float32 SGEMM: no TF32, whatever the environment (NVIDIA_TF32_OVERRIDE aside).
    ESMM_CUBLAS_CHECK(cublasSetMathMode(cublas.get(), CUBLAS_DEFAULT_MATH));
#endif
  }
  // deviceResets when it was made: once that changes, a reset has destroyed everything here.
  unsigned resets;
  MemPool pool;
  Stream stream;
#ifdef ESMM_WITH_CUBLAS
  CublasHandle cublas;
#endif
};

struct Tensor {
  int device = 0;
  float* data = nullptr;
  size_t count = 0;
};

// Everything below is guarded by stateMutex. The contexts are never destroyed at exit: the CUDA
// runtime may be unloaded before static destructors run, and cuBLAS must not be called then.
std::mutex stateMutex;
std::map<int, std::unique_ptr<DeviceContext>>& contexts = *new std::map<int, std::unique_ptr<DeviceContext>>();
std::unordered_map<int64_t, Tensor> tensors;
int64_t nextHandle = 1;
// The device the running step selected (-1: none yet), for recovery after a failure.
int currentDevice = -1;

// A reset has destroyed the device's context and everything in it: forget its tensors, and drop
// its stream, pool and cuBLAS handle without calling CUDA on them.
void forget(int device) {
  for (auto it = tensors.begin(); it != tensors.end();) {
    it = it->second.device == device ? tensors.erase(it) : std::next(it);
  }
  const auto it = contexts.find(device);
  if (it != contexts.end()) {
    static_cast<void>(it->second.release());
    contexts.erase(it);
  }
}

// Forgets every device reset since its context was made: by recover() after a sticky error, or by
// another entry point (benchmark, gemm) after one of its own. Runs before a step looks up a tensor.
void forgetResetDevices() {
  for (auto it = contexts.begin(); it != contexts.end();) {
    const int device = it->first;
    const bool reset = it->second->resets != deviceResets(device);
    ++it;
    if (reset) forget(device);
  }
}

DeviceContext& use(int device) {
  selectDevice(device);
  currentDevice = device;
  std::unique_ptr<DeviceContext>& c = contexts[device];
  if (!c) c = std::make_unique<DeviceContext>(device);
  return *c;
}

// Device memory from a context's pool, given back in stream order unless released first.
class PoolBlock {
 public:
  PoolBlock(DeviceContext& ctx, size_t bytes) : stream_(ctx.stream.get()) {
    ESMM_CUDA_CHECK(cudaMallocFromPoolAsync(&ptr_, bytes, ctx.pool.get(), stream_));
  }
  ~PoolBlock() {
    if (ptr_ != nullptr) cudaFreeAsync(ptr_, stream_);
  }
  PoolBlock(const PoolBlock&) = delete;
  PoolBlock& operator=(const PoolBlock&) = delete;
  void* get() const { return ptr_; }
  void* release() { return std::exchange(ptr_, nullptr); }

 private:
  cudaStream_t stream_;
  void* ptr_ = nullptr;
};

// A step's output: freed if the step fails before it is kept under a new handle.
class NewTensor {
 public:
  NewTensor(DeviceContext& ctx, int device, size_t count) : block_(ctx, count * sizeof(float)), device_(device), count_(count) {}
  float* get() const { return static_cast<float*>(block_.get()); }
  DeviceStepResult keep() {
    const int64_t h = nextHandle++;
    tensors.emplace(h, Tensor{device_, static_cast<float*>(block_.release()), count_});
    DeviceStepResult r;
    r.kind = DeviceStepResult::Kind::Handle;
    r.handle = h;
    return r;
  }

 private:
  PoolBlock block_;
  int device_;
  size_t count_;
};

const Tensor& tensorOf(int64_t handle, const char* what) {
  const auto it = tensors.find(handle);
  if (it == tensors.end()) {
    fail("USAGE", std::string("params.") + what + ": no device tensor " + std::to_string(handle) +
                      " (freed, or lost when its device was reset after an error)");
  }
  return it->second;
}

// The tensor, which must hold exactly rows × cols elements.
const Tensor& input(int64_t handle, const char* what, size_t rows, size_t cols) {
  const Tensor& t = tensorOf(handle, what);
  if (t.count != rows * cols) {
    fail("SHAPE", std::string("params.") + what + " holds " + std::to_string(t.count) + " elements; " +
                      std::to_string(rows) + "×" + std::to_string(cols) + " needs " + std::to_string(rows * cols));
  }
  return t;
}

// The device every operand lives on, made current.
DeviceContext& useDeviceOf(std::initializer_list<const Tensor*> operands) {
  const int device = (*operands.begin())->device;
  for (const Tensor* t : operands) {
    if (t->device != device) {
      fail("USAGE", "the operands live on devices " + std::to_string(device) + " and " + std::to_string(t->device) +
                        ": copy them to one device first");
    }
  }
  return use(device);
}

DeviceStepResult none() { return DeviceStepResult{}; }

gpu::Activation activationOf(StepActivation a) {
  switch (a) {
    case StepActivation::Silu:
      return gpu::Activation::Silu;
    case StepActivation::Relu:
      return gpu::Activation::Relu;
    case StepActivation::Gelu:
      return gpu::Activation::Gelu;
    case StepActivation::GeluTanh:
      return gpu::Activation::GeluTanh;
  }
  return gpu::Activation::Silu;
}

DeviceStepResult upload(const DeviceStep& s) {
  DeviceContext& ctx = use(s.device);
  NewTensor out(ctx, s.device, s.hostCount);
  ESMM_CUDA_CHECK(cudaMemcpyAsync(out.get(), s.host, s.hostCount * sizeof(float), cudaMemcpyHostToDevice, ctx.stream.get()));
  ESMM_CUDA_CHECK(cudaStreamSynchronize(ctx.stream.get()));
  return out.keep();
}

DeviceStepResult download(const DeviceStep& s) {
  const Tensor& x = tensorOf(s.x, "x");
  DeviceContext& ctx = useDeviceOf({&x});
  DeviceStepResult r;
  r.kind = DeviceStepResult::Kind::Data;
  r.data.resize(x.count);
  ESMM_CUDA_CHECK(cudaMemcpyAsync(r.data.data(), x.data, x.count * sizeof(float), cudaMemcpyDeviceToHost, ctx.stream.get()));
  ESMM_CUDA_CHECK(cudaStreamSynchronize(ctx.stream.get()));
  return r;
}

DeviceStepResult freeTensors(const DeviceStep& s) {
  for (const int64_t h : s.handles) {
    const auto it = tensors.find(h);
    if (it == tensors.end()) continue;
    const int device = it->second.device;
    DeviceContext& ctx = use(device);
    ESMM_CUDA_CHECK(cudaFreeAsync(it->second.data, ctx.stream.get()));
    tensors.erase(it);
    bool empty = true;
    for (const auto& [handle, t] : tensors) empty = empty && t.device != device;
    if (empty) {
      ESMM_CUDA_CHECK(cudaStreamSynchronize(ctx.stream.get()));
      ESMM_CUDA_CHECK(cudaMemPoolTrimTo(ctx.pool.get(), 0));
    }
  }
  return none();
}

DeviceStepResult embed(const DeviceStep& s) {
  const Tensor& table = tensorOf(s.table, "table");
  const size_t hidden = s.cols;
  if (table.count % hidden != 0) {
    fail("SHAPE", "params.table holds " + std::to_string(table.count) + " elements, not rows of hidden = " + std::to_string(hidden));
  }
  const size_t vocab = table.count / hidden;
  for (const int32_t t : s.tokens) {
    if (static_cast<size_t>(t) >= vocab) {
      fail("USAGE", "token id " + std::to_string(t) + " is outside the table's " + std::to_string(vocab) + " rows");
    }
  }
  const size_t rows = s.tokens.size();
  const Tensor* positions = s.positions != 0 ? &tensorOf(s.positions, "positions") : nullptr;
  if (positions != nullptr && positions->count < rows * hidden) {
    fail("SHAPE", "params.positions holds " + std::to_string(positions->count / hidden) + " rows of hidden = " +
                      std::to_string(hidden) + "; " + std::to_string(rows) + " tokens need as many");
  }
  DeviceContext& ctx = positions != nullptr ? useDeviceOf({&table, positions}) : useDeviceOf({&table});
  PoolBlock ids(ctx, rows * sizeof(int32_t));
  ESMM_CUDA_CHECK(cudaMemcpyAsync(ids.get(), s.tokens.data(), rows * sizeof(int32_t), cudaMemcpyHostToDevice, ctx.stream.get()));
  NewTensor out(ctx, table.device, rows * hidden);
  ESMM_CUDA_CHECK(gpu::launchEmbed(table.data, positions != nullptr ? positions->data : nullptr,
                                   static_cast<const int32_t*>(ids.get()), out.get(), s.rows, s.cols, ctx.stream.get()));
  // The token ids are read from this step's memory: the copy must be done before it returns.
  ESMM_CUDA_CHECK(cudaStreamSynchronize(ctx.stream.get()));
  return out.keep();
}

DeviceStepResult linear(const DeviceStep& s) {
#ifdef ESMM_WITH_CUBLAS
  const Tensor& x = input(s.x, "x", s.rows, s.cols);
  const Tensor& w = input(s.weight, "weight", s.transB ? s.n : s.cols, s.transB ? s.cols : s.n);
  const Tensor* bias = s.bias != 0 ? &input(s.bias, "bias", 1, s.n) : nullptr;
  DeviceContext& ctx = bias != nullptr ? useDeviceOf({&x, &w, bias}) : useDeviceOf({&x, &w});
  NewTensor out(ctx, x.device, size_t(s.rows) * s.n);
  sgemmRowMajor(ctx.cublas.get(), x.data, w.data, out.get(), s.rows, s.cols, s.n, s.transB);
  if (bias != nullptr) ESMM_CUDA_CHECK(gpu::launchAddBias(out.get(), bias->data, s.rows, s.n, ctx.stream.get()));
  return out.keep();
#else
  (void)s;
  fail("NO_BACKEND", "deviceTensors.linear needs cuBLAS: this addon was built without it");
#endif
}

DeviceStepResult norm(const DeviceStep& s) {
  const Tensor& x = input(s.x, "x", s.rows, s.cols);
  const Tensor& w = input(s.weight, "weight", 1, s.cols);
  const size_t count = size_t(s.rows) * s.cols;
  if (s.op == DeviceOp::RmsNorm) {
    DeviceContext& ctx = useDeviceOf({&x, &w});
    NewTensor out(ctx, x.device, count);
    ESMM_CUDA_CHECK(gpu::launchRmsNorm(x.data, w.data, out.get(), s.rows, s.cols, s.eps, ctx.stream.get()));
    return out.keep();
  }
  const Tensor& b = input(s.bias, "bias", 1, s.cols);
  DeviceContext& ctx = useDeviceOf({&x, &w, &b});
  NewTensor out(ctx, x.device, count);
  ESMM_CUDA_CHECK(gpu::launchLayerNorm(x.data, w.data, b.data, out.get(), s.rows, s.cols, s.eps, ctx.stream.get()));
  return out.keep();
}

DeviceStepResult rope(const DeviceStep& s) {
  const Tensor& x = input(s.x, "x", s.rows, size_t(s.heads) * s.headDim);
  const Tensor& inv = input(s.invFreq, "invFreq", 1, s.headDim / 2);
  DeviceContext& ctx = useDeviceOf({&x, &inv});
  ESMM_CUDA_CHECK(gpu::launchRope(x.data, inv.data, s.rows, s.heads, s.headDim, ctx.stream.get()));
  return none();
}

DeviceStepResult attention(const DeviceStep& s) {
  if (s.headDim > gpu::kMaxAttentionHeadDim) {
    fail("SHAPE", "params.headDim = " + std::to_string(s.headDim) + " is over the attention kernel's " +
                      std::to_string(gpu::kMaxAttentionHeadDim));
  }
  const Tensor& q = input(s.q, "q", s.rows, size_t(s.heads) * s.headDim);
  const Tensor& k = input(s.k, "k", s.rows, size_t(s.kvHeads) * s.headDim);
  const Tensor& v = input(s.v, "v", s.rows, size_t(s.kvHeads) * s.headDim);
  DeviceContext& ctx = useDeviceOf({&q, &k, &v});
  int limit = 0;
  ESMM_CUDA_CHECK(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, q.device));
  const size_t bytes = gpu::attentionSharedBytes(s.rows, s.headDim, s.window);
  // The kernel's own static shared memory comes out of the same limit.
  if (bytes + 1024 > static_cast<size_t>(limit)) {
    fail("SHAPE", "attention over " + std::to_string(s.rows) + " tokens keeps " + std::to_string(bytes) +
                      " bytes of scores per block in shared memory; device " + std::to_string(q.device) + " has " +
                      std::to_string(limit));
  }
  NewTensor out(ctx, q.device, q.count);
  ESMM_CUDA_CHECK(gpu::launchCausalAttention(q.data, k.data, v.data, out.get(), s.rows, s.heads, s.kvHeads, s.headDim,
                                             static_cast<float>(s.scale), s.window, ctx.stream.get()));
  return out.keep();
}

DeviceStepResult activation(const DeviceStep& s) {
  const Tensor& x = tensorOf(s.x, "x");
  DeviceContext& ctx = useDeviceOf({&x});
  ESMM_CUDA_CHECK(gpu::launchActivation(x.data, x.count, activationOf(s.activation), ctx.stream.get()));
  return none();
}

DeviceStepResult gatedActivation(const DeviceStep& s) {
  const Tensor& gate = tensorOf(s.x, "gate");
  const Tensor& up = input(s.y, "up", 1, gate.count);
  DeviceContext& ctx = useDeviceOf({&gate, &up});
  NewTensor out(ctx, gate.device, gate.count);
  ESMM_CUDA_CHECK(gpu::launchGatedActivation(gate.data, up.data, out.get(), gate.count, activationOf(s.activation),
                                             ctx.stream.get()));
  return out.keep();
}

DeviceStepResult add(const DeviceStep& s) {
  const Tensor& x = tensorOf(s.x, "x");
  const Tensor& y = input(s.y, "y", 1, x.count);
  DeviceContext& ctx = useDeviceOf({&x, &y});
  ESMM_CUDA_CHECK(gpu::launchAdd(x.data, y.data, x.count, ctx.stream.get()));
  return none();
}

DeviceStepResult sliceColumns(const DeviceStep& s) {
  const Tensor& x = input(s.x, "x", s.rows, s.cols);
  DeviceContext& ctx = useDeviceOf({&x});
  NewTensor out(ctx, x.device, size_t(s.rows) * s.width);
  ESMM_CUDA_CHECK(gpu::launchSliceColumns(x.data, out.get(), s.rows, s.cols, s.start, s.width, ctx.stream.get()));
  return out.keep();
}

DeviceStepResult dispatch(const DeviceStep& s) {
  switch (s.op) {
    case DeviceOp::Upload:
      return upload(s);
    case DeviceOp::Download:
      return download(s);
    case DeviceOp::Free:
      return freeTensors(s);
    case DeviceOp::Embed:
      return embed(s);
    case DeviceOp::Linear:
      return linear(s);
    case DeviceOp::RmsNorm:
    case DeviceOp::LayerNorm:
      return norm(s);
    case DeviceOp::Rope:
      return rope(s);
    case DeviceOp::Attention:
      return attention(s);
    case DeviceOp::Activation:
      return activation(s);
    case DeviceOp::GatedActivation:
      return gatedActivation(s);
    case DeviceOp::Add:
      return add(s);
    case DeviceOp::SliceColumns:
      return sliceColumns(s);
  }
  fail("INTERNAL", "unknown device step");
}

// After a failed step: a sticky error makes recoverDevice reset the device, and every tensor,
// stream, pool and cuBLAS handle on it goes with the context; use() forgets them next time.
void recover() {
  if (currentDevice >= 0) recoverDevice();
}

}  // namespace

DeviceStepResult runDeviceStep(const DeviceStep& step) {
  std::lock_guard<std::mutex> lock(stateMutex);
  currentDevice = -1;
  forgetResetDevices();
  try {
    return dispatch(step);
  } catch (...) {
    recover();
    throw;
  }
}

}  // namespace esmm::native
