// Plain C++ copies of a benchmark call's arguments and results. The worker thread sees only
// these, never Napi values.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace esmm::native {

enum class Backend { Cpu, Cuda };
enum class SyntheticMode { Joint, BOnly };

struct BenchJob {
  Backend backend = Backend::Cpu;
  int device = 0;
  int m = 0, k = 0, n = 0;
  std::vector<float> a;  // empty: generated from seed
  std::vector<float> b;  // empty: synthetic
  std::vector<uint8_t> bPatterns;  // empty: computed
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
  std::vector<float> data;
};

}  // namespace esmm::native
