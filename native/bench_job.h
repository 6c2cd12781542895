// Plain C++ copies of a benchmark call's arguments and results. The worker thread sees only
// these, never Napi values.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace esmm::native {

enum class Backend { Cpu, Cuda };

// An operand of a call: its own copy (an asynchronous call, whose caller may let go of the array
// while the call runs) or a view of the caller's array (a synchronous call, which the array
// outlives; no copy of a large B on every call).
template <typename T>
class Operand {
 public:
  Operand() = default;
  static Operand copyOf(const T* data, size_t size) {
    Operand o;
    o.owned_.assign(data, data + size);
    o.data_ = o.owned_.data();
    o.size_ = size;
    return o;
  }
  static Operand viewOf(const T* data, size_t size) {
    Operand o;
    o.data_ = data;
    o.size_ = size;
    return o;
  }
  Operand(const Operand& other) { *this = other; }
  Operand(Operand&& other) noexcept { *this = std::move(other); }
  Operand& operator=(const Operand& other) {
    if (this == &other) return *this;
    owned_ = other.owned_;
    data_ = other.owns() ? owned_.data() : other.data_;
    size_ = other.size_;
    return *this;
  }
  Operand& operator=(Operand&& other) noexcept {
    if (this == &other) return *this;
    const bool owning = other.owns();
    owned_ = std::move(other.owned_);
    data_ = owning ? owned_.data() : other.data_;
    size_ = other.size_;
    other.owned_.clear();
    other.data_ = nullptr;
    other.size_ = 0;
    return *this;
  }

  const T* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }

 private:
  bool owns() const { return !owned_.empty(); }
  std::vector<T> owned_;
  const T* data_ = nullptr;
  size_t size_ = 0;
};
enum class SyntheticMode { Joint, BOnly };

struct BenchJob {
  Backend backend = Backend::Cpu;
  int device = 0;
  int m = 0, k = 0, n = 0;
  Operand<float> a;  // empty: generated from seed
  Operand<float> b;  // empty: synthetic
  Operand<uint8_t> bPatterns;  // empty: computed
  uint64_t seed = 0;
  bool synthetic = false;
  SyntheticMode mode = SyntheticMode::Joint;
  double density = 1.0;
  std::vector<std::string> kernels;
  int warmup = 1;
  int runs = 10;  // minimum timed samples
  bool coldL2 = true;
  // Noise discipline (negative: the backend's default, see sampling.h).
  double stdevTarget = -1.0;  // sample until stdev/mean is at or under this (0: off)
  double timeCapMs = -1.0;    // per kernel of one call
  double minSampleMs = -1.0;  // cpu: a sample repeats the call until it lasts this long
};

struct Samples {
  std::vector<double> ms;  // every timed sample, run order
};

struct KernelOutcome {
  std::string id;
  std::string variant;
  bool ok = false;
  std::string error;
  std::string errorCode;
  Samples time;
  bool checked = false;  // relErr fields valid
  double relErrFrobenius = 0.0;
  double maxAbsErrRel = 0.0;
  std::optional<double> maxAbsErrRelVsCublas;
  double stdevRel = 0.0;    // of the timed samples
  bool noisy = false;       // the time cap or the sample limit ended sampling above the target
  int callsPerSample = 1;   // cpu: calls averaged in one sample
  // cuBLAS rows: every candidate tried, fastest first (name, median ms).
  std::vector<std::pair<std::string, double>> candidates;
};

struct BenchOutcome {
  Backend backend = Backend::Cpu;
  std::string device;
  Samples aPatterns;
  Samples bPrepare;  // the Hopper path's one-time B preparation; empty where it does not run
  double skippedSliceFraction = 0.0;
  double kDensity = 0.0;  // fraction of (A tile, B tile, k) with both pattern bits set
  std::string reference;
  std::vector<KernelOutcome> kernels;
};

// Operands of one pattern computation.
struct PatternJob {
  Backend backend = Backend::Cpu;
  int device = 0;
  bool operandA = false;
  int rows = 0, cols = 0;
  Operand<float> data;
};

}  // namespace esmm::native
