// One call of deviceTensors (src/native/types.ts DeviceTensors) as plain C++: parsed on the main
// thread by native/device_tensors.cc, run on the libuv pool by native/cuda_tensors.cc.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace esmm::native {

enum class DeviceOp {
  Upload,
  Download,
  Free,
  Embed,
  Linear,
  RmsNorm,
  LayerNorm,
  Rope,
  Attention,
  Activation,
  GatedActivation,
  Add,
  SliceColumns,
};

enum class StepActivation { Silu, Relu, Gelu, GeluTanh };

// The fields an op reads; handles are 0 where the op takes none. Shapes are checked against the
// tensors' element counts when the step runs (the tensors live on the pool's side).
struct DeviceStep {
  DeviceOp op = DeviceOp::Upload;
  // upload: the caller's array (kept alive by the worker until the call settles) and the device.
  const float* host = nullptr;
  size_t hostCount = 0;
  int device = 0;
  // x: the input (gate for gatedActivation); y: the second operand (add's addend, up).
  int64_t x = 0, y = 0, weight = 0, bias = 0, q = 0, k = 0, v = 0, table = 0, positions = 0, invFreq = 0;
  std::vector<int64_t> handles;  // free
  std::vector<int32_t> tokens;   // embed
  // rows × cols of x (linear: cols = k; embed: cols = hidden; rope and attention: rows = tokens).
  int rows = 0, cols = 0;
  // linear: weight [n×cols] with transB (nn.Linear), else [cols×n] (Conv1D).
  int n = 0;
  bool transB = false;
  int heads = 0, kvHeads = 0, headDim = 0, window = 0;
  int start = 0, width = 0;
  double eps = 0, scale = 0;
  StepActivation activation = StepActivation::Silu;
};

struct DeviceStepResult {
  enum class Kind { None, Handle, Data } kind = Kind::None;
  int64_t handle = 0;
  std::vector<float> data;
};

}  // namespace esmm::native
