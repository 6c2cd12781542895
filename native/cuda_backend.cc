#include "cuda_backend.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#ifdef ESMM_WITH_CUBLAS
#include <cublasLt.h>
#endif

#include "../kernels/accuracy.h"
#include "../kernels/cpu/cpu_kernels.h"
#include "../kernels/esmm.h"
#include "../kernels/generate_gpu.h"
#include "cuda_device.h"
#include "cuda_timing.h"
#include "cuda_util.h"
#include "kernel_registry.h"
#include "limits.h"
#include "sampling.h"
#include "verify.h"

namespace esmm::native {
namespace {

// One lock per device: calls on one device run one at a time, calls on two devices side by side.
std::mutex& deviceMutex(int device) {
  static std::mutex tableMutex;
  static std::map<int, std::unique_ptr<std::mutex>> table;
  std::lock_guard<std::mutex> lock(tableMutex);
  std::unique_ptr<std::mutex>& m = table[device];
  if (!m) m = std::make_unique<std::mutex>();
  return *m;
}

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
// cuBLAS keeps its own workspace and the runtime its context state: leave room for both.
constexpr size_t kHeadroomBytes = size_t(512) << 20;

std::string gib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", bytes / kGiB);
  return buf;
}

template <typename F>
auto onDevice(int device, F&& body) {
  std::lock_guard<std::mutex> lock(deviceMutex(device));
  selectDevice(device);
  try {
    return body();
  } catch (...) {
    recoverDevice();
    throw;
  }
}

#ifdef ESMM_WITH_CUBLAS
// cuBLAS at its best: for a shape, the candidates of cublasLt's heuristic (up to kLtCandidates)
// and the default pick of the classic API are each timed briefly on the same data under the same
// L2 rule; the fastest is kept (per kernel id, shape and device, for the life of the process) and
// then timed with the full protocol.
constexpr int kLtCandidates = 8;
constexpr size_t kLtWorkspaceBytes = size_t(32) << 20;

#define ESMM_LT_CHECK(expr) ESMM_CUBLAS_CHECK(expr)

struct LtChoice {
  bool isDefault = true;
  cublasLtMatmulAlgo_t algo{};
  std::string name;
  std::vector<std::pair<std::string, double>> candidates;  // fastest first
};

std::mutex gChoiceMutex;
std::map<std::tuple<std::string, int, int, int, int>, LtChoice> gChoices;

// Row-major C = A·B as cublasLt's column-major Cᵀ = Bᵀ·Aᵀ: its "A" is our B (N×K, ld N), its
// "B" our A (K×M, ld K), its C ours (N×M, ld N).
class LtGemm {
 public:
  LtGemm(int M, int N, int K, cudaDataType_t ab, cublasComputeType_t compute) {
    ESMM_LT_CHECK(cublasLtCreate(&lt_));
    ESMM_LT_CHECK(cublasLtMatmulDescCreate(&op_, compute, CUDA_R_32F));
    ESMM_LT_CHECK(cublasLtMatrixLayoutCreate(&a_, ab, N, K, N));
    ESMM_LT_CHECK(cublasLtMatrixLayoutCreate(&b_, ab, K, M, K));
    ESMM_LT_CHECK(cublasLtMatrixLayoutCreate(&c_, CUDA_R_32F, N, M, N));
    ESMM_LT_CHECK(cublasLtMatmulPreferenceCreate(&pref_));
    const size_t ws = kLtWorkspaceBytes;
    ESMM_LT_CHECK(cublasLtMatmulPreferenceSetAttribute(pref_, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
  }
  ~LtGemm() {
    if (pref_ != nullptr) cublasLtMatmulPreferenceDestroy(pref_);
    if (c_ != nullptr) cublasLtMatrixLayoutDestroy(c_);
    if (b_ != nullptr) cublasLtMatrixLayoutDestroy(b_);
    if (a_ != nullptr) cublasLtMatrixLayoutDestroy(a_);
    if (op_ != nullptr) cublasLtMatmulDescDestroy(op_);
    if (lt_ != nullptr) cublasLtDestroy(lt_);
  }
  LtGemm(const LtGemm&) = delete;
  LtGemm& operator=(const LtGemm&) = delete;

  std::vector<cublasLtMatmulAlgo_t> heuristic() const {
    cublasLtMatmulHeuristicResult_t results[kLtCandidates] = {};
    int returned = 0;
    const cublasStatus_t st =
        cublasLtMatmulAlgoGetHeuristic(lt_, op_, a_, b_, c_, c_, pref_, kLtCandidates, results, &returned);
    std::vector<cublasLtMatmulAlgo_t> out;
    if (st != CUBLAS_STATUS_SUCCESS) return out;  // no candidate: the default pick stands alone
    for (int i = 0; i < returned; ++i) {
      if (results[i].state == CUBLAS_STATUS_SUCCESS && results[i].workspaceSize <= kLtWorkspaceBytes) {
        out.push_back(results[i].algo);
      }
    }
    return out;
  }

  void run(const cublasLtMatmulAlgo_t& algo, const void* ourA, const void* ourB, float* C, void* ws,
           cudaStream_t s) const {
    const float one = 1.0f, zero = 0.0f;
    ESMM_LT_CHECK(cublasLtMatmul(lt_, op_, &one, ourB, a_, ourA, b_, &zero, C, c_, C, c_, &algo, ws,
                                 kLtWorkspaceBytes, s));
  }

 private:
  cublasLtHandle_t lt_ = nullptr;
  cublasLtMatmulDesc_t op_ = nullptr;
  cublasLtMatrixLayout_t a_ = nullptr, b_ = nullptr, c_ = nullptr;
  cublasLtMatmulPreference_t pref_ = nullptr;
};

std::string describeAlgo(const cublasLtMatmulAlgo_t& algo) {
  int32_t id = 0, splitK = 1;
  uint32_t tile = 0, stages = 0;
  size_t written = 0;
  cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof id, &written);
  cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_TILE_ID, &tile, sizeof tile, &written);
  cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_STAGES_ID, &stages, sizeof stages, &written);
  cublasLtMatmulAlgoConfigGetAttribute(&algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitK, sizeof splitK, &written);
  return "cublasLt algo=" + std::to_string(id) + " tile=" + std::to_string(tile) + " stages=" +
         std::to_string(stages) + " splitK=" + std::to_string(splitK);
}
#endif

bool wantsKernel(const BenchJob& job, const char* id) {
  return std::find(job.kernels.begin(), job.kernels.end(), id) != job.kernels.end();
}

// Test-only planted fault (ESMM_TEST_FAULT=skip-k at call time): clears one set bit of the A
// patterns of the last 32-row tile, so ESMM skips that k there. Verification must fail the row.
// ESMM_TEST_FAULT=skip-k: the k of the lowest set bit of the first nonzero pattern byte of A's last
// row tile is dropped: its bit is cleared in A's patterns, and, for the paths that do not read
// patterns bit by bit (the Hopper mainloop), ESMM gets a copy of A with that k zero in those rows.
// Returns that k, or -1 when no fault is planted.
int plantSkipKFault(uint8_t* aPatDevice, const std::vector<uint8_t>& hostA, int M, int K, cudaStream_t s) {
  const char* f = std::getenv("ESMM_TEST_FAULT");
  if (f == nullptr || std::string(f) != "skip-k") return -1;
  const int slices = numKSlices(K);
  const size_t tile = static_cast<size_t>(numTiles(M) - 1);
  for (int sl = 0; sl < slices; ++sl) {
    const uint8_t byte = hostA[tile * slices + sl];
    if (byte == 0) continue;
    const uint8_t cleared = static_cast<uint8_t>(byte & (byte - 1));  // lowest set bit off
    ESMM_CUDA_CHECK(cudaMemcpyAsync(aPatDevice + tile * slices + sl, &cleared, 1, cudaMemcpyHostToDevice, s));
    ESMM_CUDA_CHECK(cudaStreamSynchronize(s));
    int bit = 0;
    while (((byte >> bit) & 1) == 0) ++bit;
    return sl * kBK + bit;
  }
  return -1;
}

BenchOutcome benchmarkOnDevice(const BenchJob& job) {
  const int M = job.m, N = job.n, K = job.k;
  const size_t mk = size_t(M) * K, kn = size_t(K) * N, mn = size_t(M) * N;
  const size_t aPatBytes = size_t(numTiles(M)) * numKSlices(K);
  const size_t bPatBytes = size_t(numTiles(N)) * numKSlices(K);
  const SamplingRule rule = samplingRuleFor(job);

  cudaDeviceProp prop{};
  ESMM_CUDA_CHECK(cudaGetDeviceProperties(&prop, job.device));
  // At least twice the L2, so no line of the previous sample survives.
  const size_t flushBytes = job.coldL2 ? l2FlushBytes(prop.l2CacheSize) : 0;
  const bool esmmWanted = wantsKernel(job, "esmm");
  // One scratch buffer serves the kernels in turn: ESMM's and the dense baseline's small-M split-K sums.
  const size_t workspaceBytes = std::max(esmmWanted ? esmm::esmmWorkspaceBytes(M, N, K) : 0,
                                         wantsKernel(job, "dense-tf32x3") ? esmm::denseWorkspaceBytes(M, N, K) : 0);
  const bool bf16Wanted = wantsKernel(job, "cublas-bf16");
  const bool ltWanted = wantsKernel(job, "cublas") || wantsKernel(job, "cublas-tf32") || bf16Wanted;
#ifdef ESMM_WITH_CUBLAS
  const size_t ltBytes = ltWanted ? kLtWorkspaceBytes : 0;
#else
  const size_t ltBytes = 0;
  (void)ltWanted;
#endif

  // Everything the call allocates on the device, checked before the first allocation: A, B, C, the
  // copy of the first timed run's C and cuBLAS's C in float32, the float64 reference's A, B, C,
  // bf16 copies.
  // B prepared once for the Hopper path of esmm and dense-tf32x3 (0 where it does not run).
  const size_t preparedBytes =
      esmmWanted || wantsKernel(job, "dense-tf32x3") ? esmm::preparedBBytes(M, N, K) : 0;
  const double need = 4.0 * (mk + kn + 3 * mn) + 8.0 * (mk + kn + mn) + (bf16Wanted ? 2.0 * (mk + kn) : 0.0) +
                      double(aPatBytes + bPatBytes + flushBytes + workspaceBytes + ltBytes + preparedBytes +
                             kHeadroomBytes);
  size_t freeBytes = 0, totalBytes = 0;
  ESMM_CUDA_CHECK(cudaMemGetInfo(&freeBytes, &totalBytes));
  if (need > double(freeBytes)) {
    fail("OUT_OF_MEMORY", "m=" + std::to_string(M) + " k=" + std::to_string(K) + " n=" + std::to_string(N) +
                              " needs " + gib(need) + " GiB on " + prop.name + ", " + gib(double(freeBytes)) +
                              " GiB free");
  }

  Stream stream;
  const cudaStream_t s = stream.get();
  DeviceBuffer<float> A(mk), B(kn), C(mn), firstC(mn);
  DeviceBuffer<uint8_t> aPat(aPatBytes), bPat(bPatBytes), flush(flushBytes), workspace(workspaceBytes), ltSpace(ltBytes);
  DeviceBuffer<float> bPrepared(preparedBytes / sizeof(float));

  const auto aFill = job.synthetic && job.mode == SyntheticMode::Joint ? gen::Fill::RowTiles : gen::Fill::Dense;
  if (!job.a.empty()) {
    ESMM_CUDA_CHECK(cudaMemcpyAsync(A.get(), job.a.data(), mk * 4, cudaMemcpyHostToDevice, s));
  } else {
    ESMM_CUDA_CHECK(gpu::launchGenerate(A.get(), M, K, K, job.seed, gen::kStreamA, gen::kStreamAGroups, aFill,
                                        job.density, s));
  }
  if (!job.b.empty()) {
    ESMM_CUDA_CHECK(cudaMemcpyAsync(B.get(), job.b.data(), kn * 4, cudaMemcpyHostToDevice, s));
  } else {
    ESMM_CUDA_CHECK(gpu::launchGenerate(B.get(), K, N, N, job.seed, gen::kStreamB, gen::kStreamBGroups,
                                        gen::Fill::ColTiles, job.density, s));
  }
  if (!job.bPatterns.empty()) {
    ESMM_CUDA_CHECK(cudaMemcpyAsync(bPat.get(), job.bPatterns.data(), bPatBytes, cudaMemcpyHostToDevice, s));
  } else {
    ESMM_CUDA_CHECK(esmm::launchBPatterns(B.get(), K, N, N, bPat.get(), s));
  }

  BenchOutcome out;
  out.backend = Backend::Cuda;
  out.device = std::string(prop.name) + " (cuda:" + std::to_string(job.device) + ")";
  // Where ESMM will run a k-list kernel (B's density says so before A's patterns exist), the A-pattern
  // pass also writes A transposed, which those kernels read: one read of A per call instead of two.
  // The A-pattern time then includes the transpose. Skipped when the memory is not there.
  // B's patterns on the host, read here and for the densities after the A-pattern pass.
  std::vector<uint8_t> hb(bPatBytes);
  ESMM_CUDA_CHECK(cudaMemcpyAsync(hb.data(), bPat.get(), bPatBytes, cudaMemcpyDeviceToHost, s));
  ESMM_CUDA_CHECK(cudaStreamSynchronize(s));
  DeviceBuffer<float> aT(0);
  if (esmmWanted) {
    const size_t aTBytes = esmm::aTransposedBytes(M, K);
    size_t freeNow = 0, totalNow = 0;
    ESMM_CUDA_CHECK(cudaMemGetInfo(&freeNow, &totalNow));
    if (esmm::esmmWantsTransposedA(M, N, K, cpu::patternDensity(hb.data(), N, K)) &&
        aTBytes + kHeadroomBytes <= freeNow) {
      aT = DeviceBuffer<float>(aTBytes / sizeof(float));
    }
  }
  {
    // The pattern time: exactly `runs` samples (reported, not compared).
    SamplingRule patRule = rule;
    patRule.stdevTarget = 0;
    out.aPatterns = timeOnStream(s, patRule, job.coldL2 ? flush.get() : nullptr, flushBytes, [&] {
      if (aT.get() != nullptr) {
        ESMM_CUDA_CHECK(esmm::launchAPatternsTransposed(A.get(), M, K, K, aPat.get(), aT.get(), s));
      } else {
        ESMM_CUDA_CHECK(esmm::launchAPatterns(A.get(), M, K, K, aPat.get(), s));
      }
    });
  }
  if (preparedBytes > 0) {
    // Once per weight, like B's patterns: timed the same way, reported beside them, not per call.
    SamplingRule prepRule = rule;
    prepRule.stdevTarget = 0;
    out.bPrepare = timeOnStream(s, prepRule, job.coldL2 ? flush.get() : nullptr, flushBytes, [&] {
      ESMM_CUDA_CHECK(esmm::launchPrepareB(B.get(), K, N, N, bPrepared.get(), s));
    });
  }
  int faultK = -1;
  double aDensity = -1.0;       // for the dispatcher (esmm::EsmmArgs::aDensity)
  double blockKDensity = -1.0;  // and (esmm::EsmmArgs::blockKDensity) where the Hopper path can run
  {
    std::vector<uint8_t> ha(aPatBytes);
    ESMM_CUDA_CHECK(cudaMemcpyAsync(ha.data(), aPat.get(), aPatBytes, cudaMemcpyDeviceToHost, s));
    ESMM_CUDA_CHECK(cudaStreamSynchronize(s));
    out.skippedSliceFraction = cpu::skippedSliceFraction(ha.data(), hb.data(), M, N, K);
    out.kDensity = cpu::kDensity(ha.data(), hb.data(), M, N, K);
    aDensity = cpu::patternDensity(ha.data(), M, K);
    if (esmmWanted && preparedBytes > 0) blockKDensity = esmm::esmmBlockKDensity(ha.data(), hb.data(), M, N, K);
    faultK = plantSkipKFault(aPat.get(), ha, M, K, s);
  }
  DeviceBuffer<float> faultA(faultK >= 0 ? mk : 0);
  if (faultK >= 0) {
    const int row0 = (numTiles(M) - 1) * kTile;
    ESMM_CUDA_CHECK(cudaMemcpyAsync(faultA.get(), A.get(), mk * 4, cudaMemcpyDeviceToDevice, s));
    ESMM_CUDA_CHECK(cudaMemset2DAsync(faultA.get() + size_t(row0) * K + faultK, size_t(K) * 4, 0, 4,
                                      size_t(M - row0), s));
  }

#ifdef ESMM_WITH_CUBLAS
  CublasHandle handle;
  ESMM_CUBLAS_CHECK(cublasSetStream(handle.get(), s));
  // Plain FP32 SGEMM: TF32 only where a row asks for it by name.
  ESMM_CUBLAS_CHECK(cublasSetMathMode(handle.get(), CUBLAS_DEFAULT_MATH));
#endif

  // Float64 reference on the same A and B. Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ. It stays on
  // the device: outputs are checked there (kernels/accuracy.h), so neither they nor the reference
  // cross to the host, and two GPUs' workers do not contend for host memory bandwidth.
  DeviceBuffer<double> C64(mn), errScratch(gpu::kErrorScratchDoubles);
  {
    DeviceBuffer<double> A64(mk), B64(kn);
    ESMM_CUDA_CHECK(gpu::launchFloatToDouble(A.get(), A64.get(), mk, s));
    ESMM_CUDA_CHECK(gpu::launchFloatToDouble(B.get(), B64.get(), kn, s));
#ifdef ESMM_WITH_CUBLAS
    const double one = 1.0, zero = 0.0;
    ESMM_CUBLAS_CHECK(cublasDgemm(handle.get(), CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &one, B64.get(), N, A64.get(), K,
                                  &zero, C64.get(), N));
    out.reference = "cublasDgemm";
#else
    ESMM_CUDA_CHECK(gpu::launchGemm64(A64.get(), B64.get(), C64.get(), M, N, K, s));
    out.reference = "gpu-fp64-tiled";
#endif
    ESMM_CUDA_CHECK(cudaStreamSynchronize(s));
  }
  // An output's error sums against a reference on the device: the float64 one, or cuBLAS's C.
  const auto sumsOf = [&](const float* c, const auto* ref) {
    gpu::ErrorSums sums;
    ESMM_CUDA_CHECK(gpu::errorSums(c, ref, mn, errScratch.get(), &sums, s));
    return sums;
  };
  const auto check = [&](const float* c) {
    const gpu::ErrorSums sums = sumsOf(c, C64.get());
    return accuracyFromSums(sums.errSq, sums.refSq, sums.maxErr, sums.maxRef, size_t(sums.nonFinite));
  };

  DeviceBuffer<uint16_t> A16(bf16Wanted ? mk : 0), B16(bf16Wanted ? kn : 0);
  if (bf16Wanted) {
    ESMM_CUDA_CHECK(gpu::launchFloatToBf16(A.get(), A16.get(), mk, s));
    ESMM_CUDA_CHECK(gpu::launchFloatToBf16(B.get(), B16.get(), kn, s));
  }

  // cuBLAS runs first so every other kernel can be compared with its output.
  std::vector<std::string> order = job.kernels;
  std::stable_partition(order.begin(), order.end(), [](const std::string& id) { return id == "cublas"; });
  // cuBLAS's output, kept for the other kernels' max error against it.
  const bool keepCublasC = wantsKernel(job, "cublas") && job.kernels.size() > 1;
  DeviceBuffer<float> cublasC(keepCublasC ? mn : 0);
  bool haveCublasC = false;
  std::vector<KernelOutcome> results;
  uint8_t* flushPtr = job.coldL2 ? flush.get() : nullptr;

  for (const auto& id : order) {
    KernelOutcome r;
    r.id = id;
    try {
      std::function<void()> launch;
#ifdef ESMM_WITH_CUBLAS
      if (id == "cublas" || id == "cublas-tf32" || id == "cublas-bf16") {
        const bool bf16 = id == "cublas-bf16";
        const cublasComputeType_t compute = id == "cublas-tf32" ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
        const void* ourA = bf16 ? static_cast<const void*>(A16.get()) : A.get();
        const void* ourB = bf16 ? static_cast<const void*>(B16.get()) : B.get();
        auto lt = std::make_shared<LtGemm>(M, N, K, bf16 ? CUDA_R_16BF : CUDA_R_32F, compute);
        // The classic API's default pick for the same product.
        std::function<void()> plain;
        std::string plainName;
        const float one = 1.0f, zero = 0.0f;
        if (id == "cublas") {
          plainName = "cublasSgemm default";
          plain = [&, one, zero] {
            ESMM_CUBLAS_CHECK(cublasSgemm(handle.get(), CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &one, B.get(), N, A.get(),
                                          K, &zero, C.get(), N));
          };
        } else {
          plainName = "cublasGemmEx default";
          plain = [&, one, zero, bf16, ourA, ourB, compute] {
            ESMM_CUBLAS_CHECK(cublasGemmEx(handle.get(), CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &one, ourB,
                                           bf16 ? CUDA_R_16BF : CUDA_R_32F, N, ourA, bf16 ? CUDA_R_16BF : CUDA_R_32F,
                                           K, &zero, C.get(), CUDA_R_32F, N, compute, CUBLAS_GEMM_DEFAULT));
          };
        }
        const auto key = std::make_tuple(id, M, N, K, job.device);
        LtChoice choice;
        bool cached = false;
        {
          std::lock_guard<std::mutex> lock(gChoiceMutex);
          const auto it = gChoices.find(key);
          if (it != gChoices.end()) {
            choice = it->second;
            cached = true;
          }
        }
        if (!cached) {
          // A short timing of each candidate: same data, same L2 rule, the median of 5.
          SamplingRule quick;
          quick.warmup = 1;
          quick.minRuns = 5;
          quick.stdevTarget = 0;
          std::vector<std::tuple<double, std::string, bool, cublasLtMatmulAlgo_t>> timed;
          timed.emplace_back(medianOf(timeOnStream(s, quick, flushPtr, flushBytes, plain).ms), plainName, true,
                             cublasLtMatmulAlgo_t{});
          const std::vector<cublasLtMatmulAlgo_t> algos = lt->heuristic();
          for (const cublasLtMatmulAlgo_t& algo : algos) {
            try {
              const double ms = medianOf(
                  timeOnStream(s, quick, flushPtr, flushBytes, [&] { lt->run(algo, ourA, ourB, C.get(), ltSpace.get(), s); })
                      .ms);
              timed.emplace_back(ms, describeAlgo(algo), false, algo);
            } catch (const NativeError&) {
              // A candidate that refuses to run is dropped, unless it broke the context.
              cudaGetLastError();
              if (cudaStreamSynchronize(s) != cudaSuccess) throw;
            }
          }
          std::stable_sort(timed.begin(), timed.end(),
                           [](const auto& x, const auto& y) { return std::get<0>(x) < std::get<0>(y); });
          choice.isDefault = std::get<2>(timed.front());
          choice.algo = std::get<3>(timed.front());
          choice.name = std::get<1>(timed.front()) + " (best of " + std::to_string(timed.size()) + ")";
          for (const auto& t : timed) choice.candidates.emplace_back(std::get<1>(t), std::get<0>(t));
          std::lock_guard<std::mutex> lock(gChoiceMutex);
          gChoices[key] = choice;
        }
        r.variant = choice.name;
        r.candidates = choice.candidates;
        if (choice.isDefault) {
          launch = plain;
        } else {
          const cublasLtMatmulAlgo_t algo = choice.algo;
          launch = [&, lt, algo, ourA, ourB] { lt->run(algo, ourA, ourB, C.get(), ltSpace.get(), s); };
        }
      }
#else
      if (id != "esmm" && id != "dense-tf32x3") fail("NO_BACKEND", "this addon was built without cuBLAS");
#endif
      if (id == "esmm") {
        // The planted fault changes A after the patterns: that call transposes its own A.
        const esmm::EsmmArgs args{faultK >= 0 ? faultA.get() : A.get(), B.get(), C.get(), M, N, K, K, N, N,
                                  aPat.get(), bPat.get(),
                                  preparedBytes > 0 ? bPrepared.get() : nullptr, out.kDensity, aDensity,
                                  faultK >= 0 ? nullptr : aT.get(), blockKDensity};
        r.variant = esmm::esmmVariantName(args);
        launch = [&, args] { ESMM_CUDA_CHECK(esmm::launchEsmm(args, workspace.get(), workspaceBytes, s)); };
      } else if (id == "dense-tf32x3") {
        const esmm::DenseArgs args{A.get(), B.get(), C.get(), M, N, K, K, N, N,
                                   preparedBytes > 0 ? bPrepared.get() : nullptr};
        r.variant = esmm::denseVariantName(args);
        launch = [&, args] { ESMM_CUDA_CHECK(esmm::launchDense(args, workspace.get(), workspaceBytes, s)); };
      }
      // NaN in every element before the warm-up and again before the first timed sample: an
      // element a run never writes fails the check. The first sample's C is copied aside
      // (outside its events) and checked as well as the last.
      ESMM_CUDA_CHECK(cudaMemsetAsync(C.get(), 0xFF, mn * 4, s));
      r.time = timeOnStream(
          s, rule, flushPtr, flushBytes, launch, &r, [&] { ESMM_CUDA_CHECK(cudaMemsetAsync(C.get(), 0xFF, mn * 4, s)); },
          [&] { ESMM_CUDA_CHECK(cudaMemcpyAsync(firstC.get(), C.get(), mn * 4, cudaMemcpyDeviceToDevice, s)); });
      const Accuracy first = check(firstC.get());
      const Accuracy last = check(C.get());
      const KernelTolerance tol = toleranceFor(Backend::Cuda, id);
      const Verdict v = judge(first, last, tol.relFrobenius, tol.maxAbsRel);
      r.checked = true;
      r.relErrFrobenius = v.relErrFrobenius;
      r.maxAbsErrRel = v.maxAbsErrRel;
      r.ok = v.ok;
      r.errorCode = v.errorCode;
      r.error = v.error;
      if (id == "cublas" && keepCublasC) {
        ESMM_CUDA_CHECK(cudaMemcpyAsync(cublasC.get(), C.get(), mn * 4, cudaMemcpyDeviceToDevice, s));
        haveCublasC = true;
      } else if (id != "cublas" && haveCublasC) {
        const gpu::ErrorSums sums = sumsOf(C.get(), cublasC.get());
        r.maxAbsErrRelVsCublas = maxAbsErrRelFromSums(sums.maxErr, sums.maxRef);
      }
    } catch (const NativeError& e) {
      // A kernel that fails without breaking the context becomes a failed row; a sticky error
      // fails the whole call (and resets the device on the way out).
      cudaGetLastError();
      if (cudaStreamSynchronize(s) != cudaSuccess) throw;
      r.ok = false;
      r.error = e.what();
      r.errorCode = e.code();
    }
    if (!r.ok) r.time.ms.clear();
    results.push_back(std::move(r));
  }
  for (const auto& id : job.kernels) {
    const auto it = std::find_if(results.begin(), results.end(), [&](const KernelOutcome& k) { return k.id == id; });
    out.kernels.push_back(*it);
  }
  return out;
}

}  // namespace

BenchOutcome runCudaBenchmark(const BenchJob& job) {
  checkShape(job);
  return onDevice(job.device, [&] { return benchmarkOnDevice(job); });
}

std::vector<uint8_t> cudaPatterns(const PatternJob& job) {
  checkMatrix(job.operandA ? "A" : "B", job.rows, job.cols);
  const size_t count = size_t(job.rows) * size_t(job.cols);
  if (job.data.size() != count) {
    fail("SHAPE", "data has " + std::to_string(job.data.size()) + " elements, rows×cols = " + std::to_string(count));
  }
  return onDevice(job.device, [&] {
    const int tiles = numTiles(job.operandA ? job.rows : job.cols);
    const int slices = numKSlices(job.operandA ? job.cols : job.rows);
    std::vector<uint8_t> out(size_t(tiles) * size_t(slices));
    Stream stream;
    DeviceBuffer<float> data(count);
    DeviceBuffer<uint8_t> pat(out.size());
    ESMM_CUDA_CHECK(cudaMemcpyAsync(data.get(), job.data.data(), count * 4, cudaMemcpyHostToDevice, stream.get()));
    if (job.operandA) {
      ESMM_CUDA_CHECK(esmm::launchAPatterns(data.get(), job.rows, job.cols, job.cols, pat.get(), stream.get()));
    } else {
      ESMM_CUDA_CHECK(esmm::launchBPatterns(data.get(), job.rows, job.cols, job.cols, pat.get(), stream.get()));
    }
    ESMM_CUDA_CHECK(cudaMemcpyAsync(out.data(), pat.get(), out.size(), cudaMemcpyDeviceToHost, stream.get()));
    ESMM_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
    return out;
  });
}

}  // namespace esmm::native
