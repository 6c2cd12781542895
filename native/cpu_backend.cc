#include "cpu_backend.h"

#include <algorithm>
#include <chrono>
#include <new>
#include <thread>

#include "../kernels/cpu/cpu_kernels.h"
#include "errors.h"
#include "limits.h"
#include "verify.h"

namespace esmm::native {
namespace {

// Written before every cold sample so the operands come from memory, not the caches: larger
// than the last-level cache of common server CPUs.
constexpr size_t kCpuFlushBytes = size_t(64) << 20;
// A read of the flush buffer the compiler cannot drop, so the writes stay.
volatile uint8_t gFlushSink;

template <typename F>
Samples timeRuns(int warmup, int runs, std::vector<uint8_t>* flush, F&& body) {
  for (int i = 0; i < warmup; ++i) body();
  Samples s;
  s.ms.reserve(static_cast<size_t>(runs));
  for (int i = 0; i < runs; ++i) {
    if (flush != nullptr) {
      std::fill(flush->begin(), flush->end(), static_cast<uint8_t>(i));
      gFlushSink = (*flush)[static_cast<size_t>(i) % flush->size()];
    }
    const auto t0 = std::chrono::steady_clock::now();
    body();
    const auto t1 = std::chrono::steady_clock::now();
    s.ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
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
    std::vector<uint8_t> bPat = job.bPatterns;
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
    out.aPatterns = timeRuns(job.warmup, job.runs, flush, [&] { cpu::aPatterns(A, M, K, K, aPat.data()); });
    out.skippedSliceFraction = cpu::skippedSliceFraction(aPat.data(), bPat.data(), M, N, K);

    std::vector<double> c64(mn);
    cpu::gemmReference64(A, B, c64.data(), M, N, K, K, N, N, threads);

    std::vector<float> c(mn);
    for (const auto& id : job.kernels) {
      KernelOutcome r;
      r.id = id;
      // An unwritten element stays NaN and fails the check.
      std::fill(c.begin(), c.end(), std::numeric_limits<float>::quiet_NaN());
      if (id == "reference") {
        r.variant = "cpu-f32-32x32";
        r.time = timeRuns(job.warmup, job.runs, flush, [&] { cpu::gemmReference32(A, B, c.data(), M, N, K, K, N, N, threads); });
      } else {
        r.variant = "cpu-esmm-32x32";
        r.time = timeRuns(job.warmup, job.runs, flush,
                          [&] { cpu::esmm(A, B, c.data(), M, N, K, K, N, N, aPat.data(), bPat.data(), threads); });
      }
      const Accuracy acc = compare(c.data(), c64.data(), mn, threads);
      r.checked = true;
      r.relErrFrobenius = acc.relErrFrobenius;
      r.maxAbsErrRel = acc.maxAbsErrRel;
      if (acc.nonFinite > 0) {
        r.errorCode = "WRONG_RESULT";
        r.error = std::to_string(acc.nonFinite) + " elements are NaN/Inf (unwritten, or non-finite input)";
      } else if (!(acc.relErrFrobenius <= toleranceFor(id))) {
        r.errorCode = "WRONG_RESULT";
        r.error = "relative error " + std::to_string(acc.relErrFrobenius) + " above tolerance";
      } else {
        r.ok = true;
      }
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
