// Noise discipline of the timing loops (as nvbench does): at least `minRuns` samples, then more
// until the relative standard deviation reaches the target, the time cap passes or the sample
// limit is hit. Shared by both backends.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "bench_job.h"

namespace esmm::native {

struct SamplingRule {
  int warmup = 1;
  int minRuns = 10;
  double stdevTarget = 0.01;  // 0: off (exactly minRuns samples)
  double timeCapMs = 2000.0;  // wall time of the timed sampling of one kernel
  int maxSamples = 1000;      // hard limit, whatever the target
  double minSampleMs = 0.0;   // cpu: a sample repeats the call until it lasts this long
};

constexpr double kCudaStdevTarget = 0.01, kCpuStdevTarget = 0.02;
constexpr double kCudaTimeCapMs = 2000.0, kCpuTimeCapMs = 1000.0;
constexpr double kCpuMinSampleMs = 20.0;
constexpr int kCudaMaxSamples = 1000, kCpuMaxSamples = 200;

inline SamplingRule samplingRuleFor(const BenchJob& job) {
  const bool cuda = job.backend == Backend::Cuda;
  SamplingRule r;
  r.warmup = job.warmup;
  r.minRuns = job.runs;
  r.stdevTarget = job.stdevTarget >= 0 ? job.stdevTarget : (cuda ? kCudaStdevTarget : kCpuStdevTarget);
  r.timeCapMs = job.timeCapMs >= 0 ? job.timeCapMs : (cuda ? kCudaTimeCapMs : kCpuTimeCapMs);
  r.maxSamples = std::max(job.runs, cuda ? kCudaMaxSamples : kCpuMaxSamples);
  r.minSampleMs = cuda ? 0.0 : (job.minSampleMs >= 0 ? job.minSampleMs : kCpuMinSampleMs);
  return r;
}

inline double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The median (the mean of the middle two of an even count; NaN for none).
inline double medianOf(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

// Sample standard deviation over the mean (0 for fewer than two samples).
inline double relativeStdev(const std::vector<double>& ms) {
  if (ms.size() < 2) return 0.0;
  double mean = 0.0;
  for (double x : ms) mean += x;
  mean /= static_cast<double>(ms.size());
  double ss = 0.0;
  for (double x : ms) ss += (x - mean) * (x - mean);
  const double sd = std::sqrt(ss / static_cast<double>(ms.size() - 1));
  return mean > 0 ? sd / mean : 0.0;
}

// True when sampling should go on after `samples` taken in `elapsedMs` of wall time.
inline bool wantMoreSamples(const SamplingRule& r, const std::vector<double>& samples, double elapsedMs) {
  const int n = static_cast<int>(samples.size());
  if (n < r.minRuns) return true;
  if (r.stdevTarget <= 0 || n >= r.maxSamples || elapsedMs >= r.timeCapMs) return false;
  return relativeStdev(samples) > r.stdevTarget;
}

// After sampling ended: stdevRel and whether the cap (or the limit) ended it above the target.
inline void noiseVerdict(const SamplingRule& r, const std::vector<double>& samples, KernelOutcome& out) {
  out.stdevRel = relativeStdev(samples);
  out.noisy = r.stdevTarget > 0 && out.stdevRel > r.stdevTarget;
}

}  // namespace esmm::native
