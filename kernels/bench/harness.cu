// Standalone kernel harness (not part of the Node addon): checks every ESMM variant, the
// dispatcher's (kernels/) and the comparison-only ones (kernels/experimental/), against a
// float64 reference on random shapes, then times ESMM, cuBLAS SGEMM and the A-pattern kernel at
// the target points with the addon's timing loop (native/cuda_timing.h: CUDA events, L2 flushed
// before every sample, at least --reps samples, then more until the relative stdev is at or under
// the addon's 1 % or its time cap passes).
//
//   harness [--check-only] [--perf-only] [--ncu] [--small] [--quick] [--dispatch-only] [--decode-sizes] [--variant ID]...
//           [--dense-only] [--flush-write] [--reps N] [--seed S] [--csv FILE] [--points MxNxK:D,...]
//
// --csv FILE also writes every timed row (ESMM variants, cuBLAS SGEMM, the A-pattern kernel, the
// dense-tf32x3 configurations) as CSV, one row per kernel × shape; the columns are kCsvColumns.
//
// Every check also runs every dense-tf32x3 configuration with the strict bar (relative Frobenius
// and max error both ≤ 1e-5); the timing run ends with a dense table: cuBLAS SGEMM against
// dense-tf32x3 on dense data at 4096³ and LLM shapes. --dense-only leaves ESMM out: the checks run
// cuBLAS and dense-tf32x3 only, the timing only the dense table.
//
// --small checks a few small shapes only (for compute-sanitizer).
// --flush-write flushes the L2 by overwriting the flush buffer, as the timing loop did before it read
// it instead (kernels/l2_flush.cu), to measure what the dirty lines left behind cost a timed call.
// --decode-sizes times only the decode-size points (M = 1…256, K = N = 4096, b-only, d = .5, 1 and .25).
// --points times the given points instead (and no dense table): D is a joint density, or b-only
// with a leading b (16x4096x128:b0.5,4096x128x128:0.25), for shapes the fixed lists leave out.
// --ncu runs only the 4096³ points (with --decode-sizes: only the decode-size ones), one launch each, no
// flush and no reference (ncu flushes by itself), so ncu's gpu__time_duration can be read beside the
// event medians of a normal run.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "../../native/cuda_timing.h"
#include "../../native/cuda_util.h"
#include "../../native/sampling.h"
#include "esmm.h"
#include "experimental/experimental.cuh"
#include "generate_gpu.h"
#include "variants.cuh"

namespace {

using esmm::native::CublasHandle;
using esmm::native::DeviceBuffer;
using esmm::native::Stream;

enum class Mode { Joint, BOnly };

// One problem on the device: A, B (leading dims and base offsets as asked), their patterns and
// float64 copies, the reference C64, and C with its poisoned padding.
struct Problem {
  int M, N, K, lda, ldb, ldc;
  int offA, offB, offC;  // floats added to the base pointers (offset 1 misaligns 16-byte access)
  DeviceBuffer<float> A, B, C;
  DeviceBuffer<uint8_t> aPat, bPat;
  DeviceBuffer<double> C64;
  const float* a() const { return A.get() + offA; }
  const float* b() const { return B.get() + offB; }
  float* c() const { return C.get() + offC; }
  esmm::EsmmArgs args() const {
    return esmm::EsmmArgs{a(), b(), c(), M, N, K, lda, ldb, ldc, aPat.get(), bPat.get()};
  }
};

constexpr uint64_t kStreamA = esmm::gen::kStreamA;
constexpr uint64_t kStreamB = esmm::gen::kStreamB;

__global__ void fillKernel(float* p, size_t n, uint32_t bits) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    p[i] = __uint_as_float(bits);
  }
}

void fillBits(float* p, size_t n, uint32_t bits, cudaStream_t s) {
  fillKernel<<<1024, 256, 0, s>>>(p, n, bits);
  ESMM_CUDA_CHECK(cudaGetLastError());
}

// Strided copy to a dense double matrix (the reference inputs).
__global__ void toDoubleKernel(const float* in, int rows, int cols, int ld, double* out) {
  const size_t total = static_cast<size_t>(rows) * cols;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    out[i] = static_cast<double>(in[(i / cols) * ld + i % cols]);
  }
}

constexpr uint32_t kPoison = 0xFFFFFFFFu;  // a NaN: an element never written stays NaN

// err[0] = Σ(c-ref)², err[1] = Σref², err[2] = non-finite elements of C, err[3] = padding
// elements of C's rows that no longer hold the poison, err[4] = max |c-ref|/max|ref| numerator,
// err[5] = max |ref|.
__global__ void compareKernel(const float* C, int M, int N, int ldc, const double* ref, double* err) {
  double d2 = 0, r2 = 0, bad = 0, padBad = 0, maxd = 0, maxr = 0;
  const size_t total = static_cast<size_t>(M) * ldc;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const int r = static_cast<int>(i / ldc);
    const int c = static_cast<int>(i % ldc);
    const float v = C[i];
    if (c >= N) {
      if (__float_as_uint(v) != kPoison) padBad += 1;
      continue;
    }
    const double x = ref[static_cast<size_t>(r) * N + c];
    if (!isfinite(v)) {
      bad += 1;
      continue;
    }
    const double d = static_cast<double>(v) - x;
    d2 += d * d;
    r2 += x * x;
    maxd = fmax(maxd, fabs(d));
    maxr = fmax(maxr, fabs(x));
  }
  atomicAdd(&err[0], d2);
  atomicAdd(&err[1], r2);
  atomicAdd(&err[2], bad);
  atomicAdd(&err[3], padBad);
  // Non-negative doubles order like their bit patterns.
  atomicMax(reinterpret_cast<unsigned long long*>(&err[4]), __double_as_longlong(maxd));
  atomicMax(reinterpret_cast<unsigned long long*>(&err[5]), __double_as_longlong(maxr));
}

struct Check {
  double relFro;      // ‖C−ref‖_F / ‖ref‖_F (0 when both are 0)
  double relMax;      // max|C−ref| / max|ref|
  long long nonFinite;
  long long padWritten;
  bool ok(double tol) const { return nonFinite == 0 && padWritten == 0 && relFro <= tol; }
};

class Bench {
 public:
  Bench() {
    ESMM_CUBLAS_CHECK(cublasSetStream(blas_.get(), stream_.get()));
    ESMM_CUBLAS_CHECK(cublasSetMathMode(blas_.get(), CUBLAS_DEFAULT_MATH));
    int dev = 0;
    ESMM_CUDA_CHECK(cudaGetDevice(&dev));
    ESMM_CUDA_CHECK(cudaGetDeviceProperties(&prop_, dev));
    flush_ = DeviceBuffer<uint8_t>(esmm::native::l2FlushBytes(prop_.l2CacheSize));
    err_ = DeviceBuffer<double>(8);
  }
  Bench(const Bench&) = delete;
  Bench& operator=(const Bench&) = delete;

  const cudaDeviceProp& prop() const { return prop_; }
  cudaStream_t stream() const { return stream_.get(); }

  Problem make(int M, int N, int K, int padA, int padB, int padC, int off, Mode mode, double d, uint64_t seed,
               bool reference = true) {
    Problem p{M, N, K, K + padA, N + padB, N + padC, off, off, off};
    p.A = DeviceBuffer<float>(static_cast<size_t>(M) * p.lda + off);
    p.B = DeviceBuffer<float>(static_cast<size_t>(K) * p.ldb + off);
    p.C = DeviceBuffer<float>(static_cast<size_t>(M) * p.ldc + off);
    p.aPat = DeviceBuffer<uint8_t>(static_cast<size_t>(esmm::numTiles(M)) * esmm::numKSlices(K));
    p.bPat = DeviceBuffer<uint8_t>(static_cast<size_t>(esmm::numTiles(N)) * esmm::numKSlices(K));
    // Padding holds NaN: a kernel that reads past a row's end poisons its result.
    fillBits(p.A.get(), p.A.count(), kPoison, stream_.get());
    fillBits(p.B.get(), p.B.count(), kPoison, stream_.get());
    const auto aFill = mode == Mode::Joint ? esmm::gen::Fill::RowTiles : esmm::gen::Fill::Dense;
    ESMM_CUDA_CHECK(esmm::gpu::launchGenerate(p.A.get() + off, M, K, p.lda, seed, kStreamA,
                                              esmm::gen::kStreamAGroups, aFill, d, stream_.get()));
    ESMM_CUDA_CHECK(esmm::gpu::launchGenerate(p.B.get() + off, K, N, p.ldb, seed, kStreamB,
                                              esmm::gen::kStreamBGroups, esmm::gen::Fill::ColTiles, d, stream_.get()));
    ESMM_CUDA_CHECK(esmm::launchAPatterns(p.a(), M, K, p.lda, p.aPat.get(), stream_.get()));
    ESMM_CUDA_CHECK(esmm::launchBPatterns(p.b(), K, N, p.ldb, p.bPat.get(), stream_.get()));
    if (!reference) {
      ESMM_CUDA_CHECK(cudaStreamSynchronize(stream_.get()));
      return p;
    }
    // float64 reference: cublasDgemm on exact double copies (column-major view: Cᵀ = Bᵀ·Aᵀ).
    DeviceBuffer<double> A64(static_cast<size_t>(M) * K), B64(static_cast<size_t>(K) * N);
    p.C64 = DeviceBuffer<double>(static_cast<size_t>(M) * N);
    toDoubleKernel<<<1024, 256, 0, stream_.get()>>>(p.a(), M, K, p.lda, A64.get());
    toDoubleKernel<<<1024, 256, 0, stream_.get()>>>(p.b(), K, N, p.ldb, B64.get());
    ESMM_CUDA_CHECK(cudaGetLastError());
    const double one = 1.0, zero = 0.0;
    ESMM_CUBLAS_CHECK(cublasDgemm(blas_.get(), CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &one, B64.get(), N, A64.get(), K,
                                  &zero, p.C64.get(), N));
    ESMM_CUDA_CHECK(cudaStreamSynchronize(stream_.get()));
    return p;
  }

  void poison(const Problem& p) { fillBits(p.C.get(), p.C.count(), kPoison, stream_.get()); }

  Check compare(const Problem& p) {
    ESMM_CUDA_CHECK(cudaMemsetAsync(err_.get(), 0, 8 * sizeof(double), stream_.get()));
    compareKernel<<<264, 256, 0, stream_.get()>>>(p.c(), p.M, p.N, p.ldc, p.C64.get(), err_.get());
    ESMM_CUDA_CHECK(cudaGetLastError());
    double h[8];
    ESMM_CUDA_CHECK(cudaMemcpyAsync(h, err_.get(), sizeof(h), cudaMemcpyDeviceToHost, stream_.get()));
    ESMM_CUDA_CHECK(cudaStreamSynchronize(stream_.get()));
    Check c{};
    c.relFro = h[1] > 0 ? std::sqrt(h[0] / h[1]) : (h[0] > 0 ? INFINITY : 0.0);
    c.relMax = h[5] > 0 ? h[4] / h[5] : (h[4] > 0 ? INFINITY : 0.0);
    c.nonFinite = static_cast<long long>(h[2]);
    c.padWritten = static_cast<long long>(h[3]);
    return c;
  }

  void sgemm(const Problem& p) {
    const float one = 1.f, zero = 0.f;
    ESMM_CUBLAS_CHECK(cublasSgemm(blas_.get(), CUBLAS_OP_N, CUBLAS_OP_N, p.N, p.M, p.K, &one, p.b(), p.ldb, p.a(),
                                  p.lda, &zero, p.c(), p.ldc));
  }

  // variant < 0: the addon's default configuration.
  void dense(const Problem& p, int variant) {
    const esmm::DenseArgs a{p.a(), p.b(), p.c(), p.M, p.N, p.K, p.lda, p.ldb, p.ldc};
    ESMM_CUDA_CHECK(variant < 0 ? esmm::launchDenseTf32x3(a, stream_.get())
                                : esmm::launchDenseTf32x3Variant(a, variant, stream_.get()));
  }

  struct Stats {
    double median, min, max, stdevRel;
    int samples;
  };

  // The addon's timing loop: `warm` untimed runs, then event-timed samples (L2 flushed before each
  // when `flush`) until at least `reps` are taken and the addon's noise rule is met; with
  // `exact`, exactly `reps` samples.
  Stats time(const std::function<void()>& f, int warm, int reps, bool flush, bool exact = false) {
    esmm::native::SamplingRule rule;
    rule.warmup = warm;
    rule.minRuns = reps;
    rule.stdevTarget = exact ? 0.0 : esmm::native::kCudaStdevTarget;
    rule.timeCapMs = esmm::native::kCudaTimeCapMs;
    rule.maxSamples = std::max(reps, esmm::native::kCudaMaxSamples);
    const std::vector<double> ms =
        esmm::native::timeOnStream(stream_.get(), rule, flush ? flush_.get() : nullptr, flush_.count(), f).ms;
    return Stats{esmm::native::medianOf(ms), *std::min_element(ms.begin(), ms.end()),
                 *std::max_element(ms.begin(), ms.end()), esmm::native::relativeStdev(ms), static_cast<int>(ms.size())};
  }

 private:
  Stream stream_;
  CublasHandle blas_;  // destroyed before the stream it runs on
  cudaDeviceProp prop_{};
  DeviceBuffer<uint8_t> flush_;
  DeviceBuffer<double> err_;
};

struct Workspace {
  DeviceBuffer<unsigned char> buf;
  void* ensure(size_t bytes) {
    if (buf.count() < bytes) buf = DeviceBuffer<unsigned char>(bytes);
    return buf.get();
  }
};

constexpr double kTol = 1e-5;

// Every variant: the dispatcher's, then the comparison-only ones.
std::vector<const esmm::Variant*> everyVariant() {
  std::vector<const esmm::Variant*> out;
  for (int i = 0; i < esmm::variantCount(); ++i) out.push_back(&esmm::variantAt(i));
  for (int i = 0; i < esmm::experimentalVariantCount(); ++i) out.push_back(&esmm::experimentalVariantAt(i));
  return out;
}

// nullptr when no variant has that id.
const esmm::Variant* findAnyVariant(const std::string& name) {
  for (const esmm::Variant* v : everyVariant()) {
    if (name == v->name) return v;
  }
  return nullptr;
}

// Runs every variant and the dispatcher on random shapes; returns the number of failures.
// `small` keeps only shapes a memory checker can run in seconds.
int runChecks(Bench& bench, uint64_t seed, bool quick, bool small, bool denseOnly) {
  std::mt19937_64 rng(seed);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  struct Shape {
    int M, N, K, padA, padB, padC, off;
    Mode mode;
    double d;
  };
  std::vector<Shape> shapes = {
      {1, 1, 1, 0, 0, 0, 0, Mode::BOnly, 1.0},
      {4096, 4096, 4096, 0, 0, 0, 0, Mode::Joint, 0.5},
      {37, 45, 65536, 0, 0, 0, 0, Mode::Joint, 0.7},   // thin, K past one pattern chunk many times
      {300, 200, 65536, 3, 1, 2, 1, Mode::BOnly, 0.5},  // unaligned, long K
      {16, 4096, 4096, 0, 0, 0, 0, Mode::BOnly, 0.5},
      {129, 257, 33, 1, 1, 1, 1, Mode::Joint, 1.0},
      {5000, 77, 1000, 0, 0, 0, 0, Mode::Joint, 0.0},
      {128, 128, 4104, 0, 0, 0, 0, Mode::Joint, 0.25},
      // Middle M: several A tiles per row group, ragged last group, unaligned, long K.
      {64, 4096, 4096, 0, 0, 0, 0, Mode::BOnly, 0.5},
      {200, 333, 4100, 2, 1, 3, 1, Mode::Joint, 0.5},
      {97, 1000, 65536, 1, 0, 0, 0, Mode::Joint, 0.8},
  };
  if (small) {
    shapes = {
        {1, 1, 1, 0, 0, 0, 0, Mode::BOnly, 1.0},          {37, 45, 700, 1, 3, 2, 1, Mode::Joint, 0.7},
        {130, 70, 100, 0, 0, 0, 0, Mode::BOnly, 0.5},     {16, 300, 513, 1, 0, 1, 1, Mode::BOnly, 0.5},
        {257, 129, 9, 2, 2, 2, 0, Mode::Joint, 1.0},      {33, 33, 4200, 0, 1, 0, 1, Mode::Joint, 0.25},
        {70, 100, 300, 1, 1, 1, 1, Mode::Joint, 0.5},
    };
  }
  const int randomShapes = small ? 0 : (quick ? 8 : 40);
  for (int i = 0; i < randomShapes; ++i) {
    const bool small = i % 2 == 0;
    Shape s{};
    s.M = small ? uni(1, 160) : uni(1, 5000);
    s.N = uni(1, small ? 300 : 5000);
    s.K = uni(1, small ? 3000 : 5000);
    // Keep one check's reference cheap.
    while (static_cast<double>(s.M) * s.N * s.K > 2.5e10) s.K = std::max(1, s.K / 2);
    s.padA = uni(0, 2) == 0 ? uni(1, 9) : 0;
    s.padB = uni(0, 2) == 0 ? uni(1, 9) : 0;
    s.padC = uni(0, 2) == 0 ? uni(1, 9) : 0;
    s.off = uni(0, 3) == 0 ? 1 : 0;
    s.mode = uni(0, 1) == 0 ? Mode::Joint : Mode::BOnly;
    const double dens[] = {0.0, 0.05, 0.125, 0.25, 0.5, 0.8, 1.0};
    s.d = dens[uni(0, 6)];
    shapes.push_back(s);
  }
  Workspace ws;
  int failures = 0, checks = 0;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const Shape& s = shapes[i];
    Problem p = bench.make(s.M, s.N, s.K, s.padA, s.padB, s.padC, s.off, s.mode, s.d, seed + 1000 + i);
    auto report = [&](const char* name, const Check& c) {
      ++checks;
      const bool ok = c.ok(kTol);
      if (!ok) ++failures;
      std::printf("%s %-20s M=%-5d N=%-5d K=%-5d lda=%-5d ldb=%-5d ldc=%-5d off=%d %s d=%.3f relFro=%.2e relMax=%.2e "
                  "nonFinite=%lld padWritten=%lld\n",
                  ok ? "ok  " : "FAIL", name, s.M, s.N, s.K, p.lda, p.ldb, p.ldc, s.off,
                  s.mode == Mode::Joint ? "joint" : "b-only", s.d, c.relFro, c.relMax, c.nonFinite, c.padWritten);
    };
    const std::vector<const esmm::Variant*> variants = everyVariant();
    for (int v = -1; v < (denseOnly ? -1 : static_cast<int>(variants.size())); ++v) {
      bench.poison(p);
      const esmm::EsmmArgs a = p.args();
      if (v < 0) {
        void* w = ws.ensure(esmm::esmmWorkspaceBytes(s.M, s.N, s.K));
        ESMM_CUDA_CHECK(esmm::launchEsmm(a, w, esmm::esmmWorkspaceBytes(s.M, s.N, s.K), bench.stream()));
      } else {
        const esmm::Variant& var = *variants[v];
        const size_t bytes = var.workspaceBytes(s.M, s.N, s.K);
        ESMM_CUDA_CHECK(var.launch(a, ws.ensure(bytes), bytes, bench.stream()));
      }
      ESMM_CUDA_CHECK(cudaGetLastError());
      const std::string name = v < 0 ? std::string("dispatch:") + esmm::esmmVariantName(s.M, s.N, s.K)
                                     : std::string(variants[v]->name);
      report(name.c_str(), bench.compare(p));
    }
    bench.poison(p);
    bench.sgemm(p);
    report("cublas-sgemm", bench.compare(p));
    for (int v = 0; v < esmm::denseTf32x3VariantCount(); ++v) {
      bench.poison(p);
      bench.dense(p, v);
      Check c = bench.compare(p);
      // The strict bar of a float32-accurate kernel: the max error counts too.
      if (c.relMax > kTol) c.relFro = INFINITY;
      report(esmm::denseTf32x3VariantNameAt(v), c);
    }
  }
  std::printf("checks: %d, failures: %d\n", checks, failures);
  return failures;
}

// The columns of --csv. section: perf (ESMM points) or dense (dense-tf32x3 table); kernel: the addon's
// kernel id (esmm, cublas, dense-tf32x3) or a-patterns; dispatch: 1 when the addon runs this variant
// at this shape (launchEsmm's pick, dense-tf32x3's default configuration, the A-pattern kernel);
// tflops: 2·M·N·K over the median (empty for the pattern kernel); the errors against the float64
// reference (empty where nothing was checked: ncu mode, the pattern kernel).
constexpr const char* kCsvColumns =
    "section,label,kernel,variant,dispatch,M,N,K,mode,density,median_ms,min_ms,max_ms,stdev_rel,samples,tflops,"
    "rel_fro_err,max_rel_err";

// Where a timed row was measured.
struct Where {
  const char* section;
  const char* label;
  int M, N, K;
  Mode mode;
  double d;
};

// Every timed row as CSV, flushed as it is written; nothing without a file.
class CsvOut {
 public:
  explicit CsvOut(const std::string& path) {
    if (path.empty()) return;
    f_ = std::fopen(path.c_str(), "w");
    if (f_ == nullptr) throw std::runtime_error("--csv " + path + ": " + std::strerror(errno));
    std::fprintf(f_, "%s\n", kCsvColumns);
  }
  ~CsvOut() {
    if (f_ != nullptr) std::fclose(f_);
  }
  CsvOut(const CsvOut&) = delete;
  CsvOut& operator=(const CsvOut&) = delete;

  // `check`: nullptr when the row was not checked; `gemm`: false for the pattern kernel (no TFLOP/s).
  void row(const Where& w, const char* kernel, const char* variant, bool dispatch, const Bench::Stats& t,
           const Check* check, bool gemm = true) {
    if (f_ == nullptr) return;
    std::fprintf(f_, "%s,%s,%s,%s,%d,%d,%d,%d,%s,%g,%.6g,%.6g,%.6g,%.4g,%d,", w.section, w.label, kernel, variant,
                 dispatch ? 1 : 0, w.M, w.N, w.K, w.mode == Mode::Joint ? "joint" : "b-only", w.d, t.median, t.min,
                 t.max, t.stdevRel, t.samples);
    if (gemm) std::fprintf(f_, "%.4g", 2.0 * w.M * w.N * w.K / (t.median * 1e9));
    if (check != nullptr) {
      std::fprintf(f_, ",%.3e,%.3e\n", check->relFro, check->relMax);
    } else {
      std::fprintf(f_, ",,\n");
    }
    std::fflush(f_);
  }

 private:
  std::FILE* f_ = nullptr;
};

struct Point {
  const char* label;
  int M, N, K;
  Mode mode;
  double d;
  double target;  // speedup the point must reach (0: none)
};

struct Row {
  std::string label, variant;
  int M, N, K;
  double d, esmmMs, esmmMin, esmmMax, cublasMs, speedup, target, errEsmm, errCublas, apatMs;
};

// "MxNxK:D,..." (D joint, bD b-only) as perf points; throws on a malformed entry.
std::vector<Point> parsePoints(const std::string& list) {
  std::vector<Point> out;
  size_t at = 0;
  while (at <= list.size()) {
    const size_t end = std::min(list.find(',', at), list.size());
    const std::string item = list.substr(at, end - at);
    int M = 0, N = 0, K = 0;
    char dens[32] = "";
    if (std::sscanf(item.c_str(), "%dx%dx%d:%31s", &M, &N, &K, dens) != 4 || M < 1 || N < 1 || K < 1) {
      throw std::runtime_error("--points: '" + item + "' is not MxNxK:D (D a density, b-only with a leading b)");
    }
    const bool bOnly = dens[0] == 'b';
    const double d = std::atof(dens + (bOnly ? 1 : 0));
    if (!(d > 0 && d <= 1)) throw std::runtime_error("--points: '" + item + "': the density must be in (0, 1]");
    out.push_back({bOnly ? "b-only" : "joint", M, N, K, bOnly ? Mode::BOnly : Mode::Joint, d, 0});
    at = end + 1;
  }
  return out;
}

// `only`: variant ids to time (empty: all, or the dispatcher's pick when !allVariants); `custom`:
// the points to time instead of the fixed lists (empty: those).
void runPerf(Bench& bench, CsvOut& csv, int reps, bool ncu, bool allVariants, bool decodeOnly,
             const std::vector<std::string>& only, const std::vector<Point>& custom) {
  std::vector<Point> points = {
      {"joint", 4096, 4096, 4096, Mode::Joint, 1.0, 0.95},  {"joint", 4096, 4096, 4096, Mode::Joint, 0.5, 2.5},
      {"joint", 4096, 4096, 4096, Mode::Joint, 0.25, 4.0},  {"joint", 4096, 4096, 4096, Mode::Joint, 0.125, 6.0},
      // Either side of the density where the dispatcher switches block tiles.
      {"joint", 4096, 4096, 4096, Mode::Joint, 0.1875, 0},  {"joint", 4096, 4096, 4096, Mode::Joint, 0.0625, 0},
      {"b-only", 4096, 4096, 4096, Mode::BOnly, 1.0, 0},    {"b-only", 4096, 4096, 4096, Mode::BOnly, 0.5, 1.6},
      {"b-only", 4096, 4096, 4096, Mode::BOnly, 0.25, 0},   {"b-only", 4096, 4096, 4096, Mode::BOnly, 0.125, 0},
  };
  if (!ncu || decodeOnly) {
    if (decodeOnly) points.clear();
    const int ms[] = {1, 2, 4, 8, 16, 17, 32, 48, 64, 96, 128, 256};
    for (int m : ms) points.push_back({"decode", m, 4096, 4096, Mode::BOnly, 0.5, m == 16 ? 2.0 : 0});
    for (int m : ms) points.push_back({"decode", m, 4096, 4096, Mode::BOnly, 1.0, 0});
    if (decodeOnly) {
      for (int m : ms) points.push_back({"decode", m, 4096, 4096, Mode::BOnly, 0.25, 0});
    }
    if (!decodeOnly) points.push_back({"ffn", 4096, 11008, 4096, Mode::Joint, 0.5, 0});
  }
  if (!custom.empty()) points = custom;
  const int warm = ncu ? 0 : 3;
  const int n = ncu ? 1 : reps;
  const bool flush = !ncu;
  Workspace ws;
  std::vector<Row> rows;
  uint64_t seed = 7;
  for (const Point& pt : points) {
    Problem p = bench.make(pt.M, pt.N, pt.K, 0, 0, 0, 0, pt.mode, pt.d, seed++, !ncu);
    const Where where{"perf", pt.label, pt.M, pt.N, pt.K, pt.mode, pt.d};
    bench.poison(p);
    bench.sgemm(p);
    const Check cb = ncu ? Check{} : bench.compare(p);
    const auto tc = bench.time([&] { bench.sgemm(p); }, warm, n, flush, ncu);
    csv.row(where, "cublas", "sgemm", false, tc, ncu ? nullptr : &cb);
    const auto ta = bench.time(
        [&] { ESMM_CUDA_CHECK(esmm::launchAPatterns(p.a(), p.M, p.K, p.lda, p.aPat.get(), bench.stream())); }, warm, n,
        flush, ncu);
    csv.row(where, "a-patterns", "a-patterns", true, ta, nullptr, false);
    std::vector<const esmm::Variant*> vars;
    const esmm::Variant* chosen = esmm::findVariant(esmm::esmmVariantName(pt.M, pt.N, pt.K));
    if (!only.empty()) {
      for (const std::string& name : only) {
        if (const esmm::Variant* v = findAnyVariant(name)) vars.push_back(v);
      }
    } else if (allVariants) {
      vars = everyVariant();
    } else {
      vars.push_back(chosen);
    }
    for (const esmm::Variant* var : vars) {
      const size_t bytes = var->workspaceBytes(pt.M, pt.N, pt.K);
      void* w = ws.ensure(bytes);
      const esmm::EsmmArgs a = p.args();
      bench.poison(p);
      ESMM_CUDA_CHECK(var->launch(a, w, bytes, bench.stream()));
      const Check ce = ncu ? Check{} : bench.compare(p);
      if (!ce.ok(kTol)) {
        std::printf("FAIL %s %s M=%d d=%.3f relFro=%.2e nonFinite=%lld: not timed\n", pt.label, var->name, pt.M, pt.d,
                    ce.relFro, ce.nonFinite);
        continue;
      }
      const auto te =
          bench.time([&] { ESMM_CUDA_CHECK(var->launch(a, w, bytes, bench.stream())); }, warm, n, flush, ncu);
      csv.row(where, "esmm", var->name, var == chosen, te, ncu ? nullptr : &ce);
      const std::string name = std::string(var->name) + (var == chosen ? "*" : "");
      rows.push_back(Row{pt.label, name, pt.M, pt.N, pt.K, pt.d, te.median, te.min, te.max, tc.median,
                         tc.median / te.median, var == chosen ? pt.target : 0.0, ce.relFro, cb.relFro, ta.median});
    }
  }
  std::printf("\n%s, %d SMs, L2 %d MB; median of at least %d timed runs each, %s\n", bench.prop().name,
              bench.prop().multiProcessorCount, bench.prop().l2CacheSize >> 20, n,
              flush ? "L2 flushed before every run" : "no flush (ncu mode)");
  std::printf("%-7s %-22s %5s %5s %5s %6s %9s %9s %9s %9s %7s %6s %8s %8s %8s\n", "mode", "variant(*=dispatch)", "M",
              "N", "K", "d", "esmm_ms", "min_ms", "max_ms", "cublas_ms", "speedup", "target", "err_esmm", "err_cublas",
              "apat_ms");
  for (const Row& r : rows) {
    char target[16] = "";
    if (r.target > 0) std::snprintf(target, sizeof(target), "%s%.2f", r.speedup >= r.target ? ">=" : "<", r.target);
    std::printf("%-7s %-22s %5d %5d %5d %6.3f %9.4f %9.4f %9.4f %9.4f %7.2f %6s %8.1e %8.1e %8.4f\n",
                r.label.c_str(), r.variant.c_str(), r.M, r.N, r.K, r.d, r.esmmMs, r.esmmMin, r.esmmMax, r.cublasMs,
                r.speedup, target, r.errEsmm, r.errCublas, r.apatMs);
  }
}

// cuBLAS SGEMM against every dense-tf32x3 configuration on dense data: 4096³ and LLM-shaped products.
void runDense(Bench& bench, CsvOut& csv, int reps) {
  struct Shape {
    const char* label;
    int M, N, K;
  };
  const Shape shapes[] = {
      {"square", 4096, 4096, 4096},  {"square", 2048, 2048, 2048}, {"ffn-up", 4096, 11008, 4096},
      {"ffn-down", 4096, 4096, 11008}, {"qkv", 4096, 12288, 4096}, {"decode", 16, 11008, 4096},
      {"decode", 64, 11008, 4096},   {"prefill", 512, 4096, 4096},
  };
  std::printf("\n%s: dense data, median of at least %d timed runs each, L2 flushed before every run; default %s\n",
              bench.prop().name, reps, esmm::denseTf32x3VariantName());
  std::printf("%-9s %5s %6s %6s %-34s %9s %9s %8s %8s %8s %8s %8s\n", "shape", "M", "N", "K", "variant", "ms",
              "sgemm_ms", "speedup", "tflops", "relFro", "relMax", "err_sg");
  uint64_t seed = 99;
  for (const Shape& sh : shapes) {
    Problem p = bench.make(sh.M, sh.N, sh.K, 0, 0, 0, 0, Mode::BOnly, 1.0, seed++);
    const Where where{"dense", sh.label, sh.M, sh.N, sh.K, Mode::BOnly, 1.0};
    bench.poison(p);
    bench.sgemm(p);
    const Check cs = bench.compare(p);
    const auto ts = bench.time([&] { bench.sgemm(p); }, 3, reps, true);
    csv.row(where, "cublas", "sgemm", false, ts, &cs);
    for (int v = 0; v < esmm::denseTf32x3VariantCount(); ++v) {
      bench.poison(p);
      bench.dense(p, v);
      const Check c = bench.compare(p);
      if (c.nonFinite != 0 || c.relFro > kTol || c.relMax > kTol) {
        std::printf("FAIL %s %s relFro=%.2e relMax=%.2e nonFinite=%lld: not timed\n", esmm::denseTf32x3VariantNameAt(v),
                    sh.label, c.relFro, c.relMax, c.nonFinite);
        continue;
      }
      const Bench::Stats td = bench.time([&] { bench.dense(p, v); }, 3, reps, true);
      const double t = td.median;
      // The addon runs the default configuration above kDenseDecodeMaxRows rows (the decode path below).
      const bool addonRuns = std::strcmp(esmm::denseTf32x3VariantNameAt(v), esmm::denseTf32x3VariantName()) == 0 &&
                             sh.M > esmm::kDenseDecodeMaxRows;
      csv.row(where, "dense-tf32x3", esmm::denseTf32x3VariantNameAt(v), addonRuns, td, &c);
      std::printf("%-9s %5d %6d %6d %-34s %9.4f %9.4f %8.2f %8.1f %8.1e %8.1e %8.1e\n", sh.label, sh.M, sh.N, sh.K,
                  esmm::denseTf32x3VariantNameAt(v), t, ts.median, ts.median / t, 2.0 * sh.M * sh.N * sh.K / (t * 1e9),
                  c.relFro, c.relMax, cs.relFro);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool checkOnly = false, perfOnly = false, ncu = false, quick = false, allVariants = true, small = false;
  bool decodeOnly = false, denseOnly = false;
  int reps = 30;
  std::vector<std::string> only;
  std::string csvPath, pointList;
  uint64_t seed = 12345;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--check-only") checkOnly = true;
    else if (a == "--perf-only") perfOnly = true;
    else if (a == "--ncu") ncu = true;
    else if (a == "--quick") quick = true;
    else if (a == "--small") small = checkOnly = true;
    else if (a == "--dispatch-only") allVariants = false;
    else if (a == "--decode-sizes") decodeOnly = true;
    else if (a == "--dense-only") denseOnly = true;
    else if (a == "--flush-write") esmm::native::gL2Flush = esmm::native::L2Flush::kWrite;
    else if (a == "--variant" && i + 1 < argc) only.push_back(argv[++i]);
    else if (a == "--reps" && i + 1 < argc) reps = std::max(20, std::atoi(argv[++i]));
    else if (a == "--seed" && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--csv" && i + 1 < argc) csvPath = argv[++i];
    else if (a == "--points" && i + 1 < argc) pointList = argv[++i];
    else {
      std::fprintf(stderr, "usage: harness [--check-only|--perf-only|--ncu|--small] [--quick] [--dispatch-only] [--decode-sizes] "
                           "[--variant ID]... [--dense-only] [--flush-write] "
                           "[--reps N] [--seed S] [--csv FILE] [--points MxNxK:D,...]\n");
      return 2;
    }
  }
  try {
    const std::vector<Point> custom = pointList.empty() ? std::vector<Point>{} : parsePoints(pointList);
    CsvOut csv(csvPath);
    Bench bench;
    int failures = 0;
    if (!perfOnly && !ncu) failures = runChecks(bench, seed, quick, small, denseOnly);
    if (!checkOnly && !denseOnly) runPerf(bench, csv, reps, ncu, allVariants && !ncu, decodeOnly, only, custom);
    if (!checkOnly && !ncu && custom.empty()) runDense(bench, csv, reps);
    return failures == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
