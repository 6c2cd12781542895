#include "cpu_backend.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <new>
#include <thread>

#include "../kernels/cpu/cpu_kernels.h"
#include "errors.h"
#include "kernel_registry.h"
#include "sampling.h"
#include "limits.h"
#include "verify.h"

namespace esmm::native {
namespace {

// Written before every cold sample so the operands come from memory, not the caches: larger
// than the last-level cache of common server CPUs.
constexpr size_t kCpuFlushBytes = size_t(64) << 20;
// A read of the flush buffer the compiler cannot drop, so the writes stay.
volatile uint8_t gFlushSink;

void flushCaches(std::vector<uint8_t>* flush, size_t i) {
  if (flush == nullptr) return;
  std::fill(flush->begin(), flush->end(), static_cast<uint8_t>(i));
  gFlushSink = (*flush)[i % flush->size()];
}

constexpr int kMaxCallsPerSample = 1000000;

// Times `body` under the sampling rule: warm-up, then samples of `calls` back-to-back calls each
// (their mean per call), `calls` grown in untimed batches until a batch lasts minSampleMs. `beforeFirst` runs once before the
// first timed sample, `afterFirst` once after it, both outside the timing. A cold run rewrites the
// flush buffer before every sample.
template <typename F, typename P, typename G>
Samples timeRuns(const SamplingRule& rule, std::vector<uint8_t>* flush, KernelOutcome* out, F&& body,
                 P&& beforeFirst, G&& afterFirst) {
  for (int i = 0; i < rule.warmup; ++i) body();
  // Calls per sample: grown from 1 until a batch lasts minSampleMs (these batches are untimed).
  int calls = 1;
  if (rule.minSampleMs > 0) {
    for (;;) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int c = 0; c < calls; ++c) body();
      const double ms = msSince(t0);
      if (ms >= rule.minSampleMs || calls >= kMaxCallsPerSample) break;
      const double grow = ms > 0 ? 1.2 * rule.minSampleMs / ms : 10.0;
      calls = static_cast<int>(std::min<double>(kMaxCallsPerSample, std::ceil(calls * std::clamp(grow, 1.5, 10.0))));
    }
  }
  Samples s;
  beforeFirst();
  const auto start = std::chrono::steady_clock::now();
  while (wantMoreSamples(rule, s.ms, msSince(start))) {
    flushCaches(flush, s.ms.size());
    const auto t0 = std::chrono::steady_clock::now();
    for (int c = 0; c < calls; ++c) body();
    s.ms.push_back(msSince(t0) / calls);
    if (s.ms.size() == 1) afterFirst();
  }
  if (out != nullptr) {
    out->callsPerSample = calls;
    noiseVerdict(rule, s.ms, *out);
  }
  return s;
}

}  // namespace

int cpuThreads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

std::vector<uint8_t> cpuPatterns(const PatternJob& job) {
  checkMatrix(job.operandA ? "A" : "B", job.rows, job.cols);
  if (job.data.size() != static_cast<size_t>(job.rows) * static_cast<size_t>(job.cols)) {
    fail("SHAPE", "data has " + std::to_string(job.data.size()) + " elements, rows×cols = " +
                      std::to_string(static_cast<size_t>(job.rows) * static_cast<size_t>(job.cols)));
  }
  // A: rows = M, cols = K; B: rows = K, cols = N.
  const int tiles = numTiles(job.operandA ? job.rows : job.cols);
  const int slices = numKSlices(job.operandA ? job.cols : job.rows);
  std::vector<uint8_t> out(static_cast<size_t>(tiles) * static_cast<size_t>(slices));
  if (job.operandA) {
    cpu::aPatterns(job.data.data(), job.rows, job.cols, job.cols, out.data());
  } else {
    cpu::bPatterns(job.data.data(), job.rows, job.cols, job.cols, out.data());
  }
  return out;
}

BenchOutcome runCpuBenchmark(const BenchJob& job) {
  checkShape(job);
  const int M = job.m, N = job.n, K = job.k;
  const int threads = cpuThreads();
  const size_t mk = static_cast<size_t>(M) * K, kn = static_cast<size_t>(K) * N, mn = static_cast<size_t>(M) * N;
  try {
    std::vector<float> genA, genB;
    const float* A = job.a.data();
    const float* B = job.b.data();
    const auto aFill = job.synthetic && job.mode == SyntheticMode::Joint ? gen::Fill::RowTiles : gen::Fill::Dense;
    if (job.a.empty()) {
      genA.resize(mk);
      cpu::generate(genA.data(), M, K, job.seed, gen::kStreamA, gen::kStreamAGroups, aFill, job.density, threads);
      A = genA.data();
    }
    if (job.b.empty()) {
      genB.resize(kn);
      cpu::generate(genB.data(), K, N, job.seed, gen::kStreamB, gen::kStreamBGroups, gen::Fill::ColTiles,
                    job.density, threads);
      B = genB.data();
    }

    std::vector<uint8_t> aPat(static_cast<size_t>(numTiles(M)) * numKSlices(K));
    std::vector<uint8_t> bPat(job.bPatterns.begin(), job.bPatterns.end());
    if (bPat.empty()) {
      bPat.resize(static_cast<size_t>(numTiles(N)) * numKSlices(K));
      cpu::bPatterns(B, K, N, N, bPat.data());
    }

    BenchOutcome out;
    out.backend = Backend::Cpu;
    out.device = "cpu (" + std::to_string(threads) + " threads)";
    out.reference = "cpu-fp64";
    std::vector<uint8_t> flushBuffer(job.coldL2 ? kCpuFlushBytes : 0);
    std::vector<uint8_t>* flush = job.coldL2 ? &flushBuffer : nullptr;
    const SamplingRule rule = samplingRuleFor(job);
    // The pattern time: exactly `runs` single calls (it is reported, not compared).
    SamplingRule patRule = rule;
    patRule.stdevTarget = 0;
    patRule.minSampleMs = 0;
    out.aPatterns = timeRuns(patRule, flush, nullptr, [&] { cpu::aPatterns(A, M, K, K, aPat.data()); }, [] {}, [] {});
    out.skippedSliceFraction = cpu::skippedSliceFraction(aPat.data(), bPat.data(), M, N, K);
    out.kDensity = cpu::kDensity(aPat.data(), bPat.data(), M, N, K);

    std::vector<double> c64(mn);
    cpu::gemmReference64(A, B, c64.data(), M, N, K, K, N, N, threads);

    std::vector<float> c(mn), firstC(mn);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (const auto& id : job.kernels) {
      KernelOutcome r;
      r.id = id;
      std::function<void()> body;
      if (id == "reference") {
        r.variant = "cpu-f32-32x32";
        body = [&] { cpu::gemmReference32(A, B, c.data(), M, N, K, K, N, N, threads); };
      } else {
        r.variant = "cpu-esmm-32x32";
        body = [&] { cpu::esmm(A, B, c.data(), M, N, K, K, N, N, aPat.data(), bPat.data(), threads); };
      }
      // NaN before the warm-up and again before the first timed sample: an element a run never
      // writes fails the check of that run. The first sample's output is set aside and checked too.
      std::fill(c.begin(), c.end(), nan);
      r.time = timeRuns(
          rule, flush, &r, body, [&] { std::fill(c.begin(), c.end(), nan); }, [&] { firstC = c; });
      const Accuracy first = compare(firstC.data(), c64.data(), mn, threads);
      const Accuracy last = compare(c.data(), c64.data(), mn, threads);
      const KernelTolerance tol = toleranceFor(Backend::Cpu, id);
      const Verdict v = judge(first, last, tol.relFrobenius, tol.maxAbsRel);
      r.checked = true;
      r.relErrFrobenius = v.relErrFrobenius;
      r.maxAbsErrRel = v.maxAbsErrRel;
      r.ok = v.ok;
      r.errorCode = v.errorCode;
      r.error = v.error;
      if (!r.ok) r.time.ms.clear();
      out.kernels.push_back(std::move(r));
    }
    return out;
  } catch (const std::bad_alloc&) {
    fail("OUT_OF_MEMORY", "host memory exhausted for m=" + std::to_string(M) + " k=" + std::to_string(K) +
                              " n=" + std::to_string(N));
  }
}

}  // namespace esmm::native
