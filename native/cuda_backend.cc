#include "cuda_backend.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>

#include "../kernels/cpu/cpu_kernels.h"
#include "../kernels/esmm.h"
#include "../kernels/generate_gpu.h"
#include "cpu_backend.h"
#include "cuda_util.h"
#include "limits.h"
#include "verify.h"

namespace esmm::native {
namespace {

std::mutex gDeviceMutex;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
// cuBLAS keeps its own workspace and the runtime its context state: leave room for both.
constexpr size_t kHeadroomBytes = size_t(512) << 20;

std::string gib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", bytes / kGiB);
  return buf;
}

void selectDevice(int device) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    cudaGetLastError();
    fail("NO_DEVICE", std::string("no CUDA device: ") +
                          (e != cudaSuccess ? std::string(cudaGetErrorName(e)) + " (" + cudaGetErrorString(e) + ")"
                                            : "the driver reports 0 devices"));
  }
  if (device < 0 || device >= count) {
    fail("NO_DEVICE", "device " + std::to_string(device) + " not present (" + std::to_string(count) + " device(s))");
  }
  ESMM_CUDA_CHECK(cudaSetDevice(device));
}

// After a failure: a sticky error leaves the context unusable, so reset it (this process only)
// and the next call starts clean.
void recoverDevice() {
  cudaGetLastError();
  if (cudaDeviceSynchronize() != cudaSuccess) {
    cudaDeviceReset();
    cudaGetLastError();
  }
}

template <typename F>
auto onDevice(int device, F&& body) {
  std::lock_guard<std::mutex> lock(gDeviceMutex);
  selectDevice(device);
  try {
    return body();
  } catch (...) {
    recoverDevice();
    throw;
  }
}

// Times `launch` over warm-up + timed runs on `stream`, one event pair per sample; a cold run
// overwrites the L2 (outside the events) before every sample.
template <typename F>
Samples timeOnStream(cudaStream_t stream, int warmup, int runs, uint8_t* flush, size_t flushBytes, F&& launch) {
  for (int i = 0; i < warmup; ++i) {
    if (flush != nullptr) ESMM_CUDA_CHECK(cudaMemsetAsync(flush, i & 0xFF, flushBytes, stream));
    launch();
  }
  std::vector<Event> start(static_cast<size_t>(runs)), stop(static_cast<size_t>(runs));
  for (int i = 0; i < runs; ++i) {
    if (flush != nullptr) ESMM_CUDA_CHECK(cudaMemsetAsync(flush, (warmup + i) & 0xFF, flushBytes, stream));
    ESMM_CUDA_CHECK(cudaEventRecord(start[static_cast<size_t>(i)].get(), stream));
    launch();
    ESMM_CUDA_CHECK(cudaEventRecord(stop[static_cast<size_t>(i)].get(), stream));
  }
  ESMM_CUDA_CHECK(cudaStreamSynchronize(stream));
  Samples s;
  for (int i = 0; i < runs; ++i) {
    float ms = 0.0f;
    ESMM_CUDA_CHECK(cudaEventElapsedTime(&ms, start[static_cast<size_t>(i)].get(), stop[static_cast<size_t>(i)].get()));
    s.ms.push_back(ms);
  }
  return s;
}

bool wantsKernel(const BenchJob& job, const char* id) {
  return std::find(job.kernels.begin(), job.kernels.end(), id) != job.kernels.end();
}

BenchOutcome benchmarkOnDevice(const BenchJob& job) {
  const int M = job.m, N = job.n, K = job.k;
  const size_t mk = size_t(M) * K, kn = size_t(K) * N, mn = size_t(M) * N;
  const size_t aPatBytes = size_t(numTiles(M)) * numKSlices(K);
  const size_t bPatBytes = size_t(numTiles(N)) * numKSlices(K);

  cudaDeviceProp prop{};
  ESMM_CUDA_CHECK(cudaGetDeviceProperties(&prop, job.device));
  // At least twice the L2, so no line of the previous sample survives.
  const size_t flushBytes = job.coldL2 ? std::max<size_t>(size_t(2) * prop.l2CacheSize, size_t(64) << 20) : 0;
  const bool esmmWanted = wantsKernel(job, "esmm");
  const size_t workspaceBytes = esmmWanted ? esmm::esmmWorkspaceBytes(M, N, K) : 0;
  const bool bf16Wanted = wantsKernel(job, "cublas-bf16");

  // Everything the call allocates on the device, checked before the first allocation.
  const double need = 4.0 * (mk + kn + mn) + 8.0 * (mk + kn + mn) + (bf16Wanted ? 2.0 * (mk + kn) : 0.0) +
                      double(aPatBytes + bPatBytes + flushBytes + workspaceBytes + kHeadroomBytes);
  size_t freeBytes = 0, totalBytes = 0;
  ESMM_CUDA_CHECK(cudaMemGetInfo(&freeBytes, &totalBytes));
  if (need > double(freeBytes)) {
    fail("OUT_OF_MEMORY", "m=" + std::to_string(M) + " k=" + std::to_string(K) + " n=" + std::to_string(N) +
                              " needs " + gib(need) + " GiB on " + prop.name + ", " + gib(double(freeBytes)) +
                              " GiB free");
  }

  Stream stream;
  const cudaStream_t s = stream.get();
  DeviceBuffer<float> A(mk), B(kn), C(mn);
  DeviceBuffer<uint8_t> aPat(aPatBytes), bPat(bPatBytes), flush(flushBytes), workspace(workspaceBytes);

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
  out.aPatterns = timeOnStream(s, job.warmup, job.runs, job.coldL2 ? flush.get() : nullptr, flushBytes,
                               [&] { ESMM_CUDA_CHECK(esmm::launchAPatterns(A.get(), M, K, K, aPat.get(), s)); });
  {
    std::vector<uint8_t> ha(aPatBytes), hb(bPatBytes);
    ESMM_CUDA_CHECK(cudaMemcpyAsync(ha.data(), aPat.get(), aPatBytes, cudaMemcpyDeviceToHost, s));
    ESMM_CUDA_CHECK(cudaMemcpyAsync(hb.data(), bPat.get(), bPatBytes, cudaMemcpyDeviceToHost, s));
    ESMM_CUDA_CHECK(cudaStreamSynchronize(s));
    out.skippedSliceFraction = cpu::skippedSliceFraction(ha.data(), hb.data(), M, N, K);
  }

#ifdef ESMM_WITH_CUBLAS
  CublasHandle handle;
  ESMM_CUBLAS_CHECK(cublasSetStream(handle.get(), s));
  // Plain FP32 SGEMM: TF32 only where a row asks for it by name.
  ESMM_CUBLAS_CHECK(cublasSetMathMode(handle.get(), CUBLAS_DEFAULT_MATH));
#endif

  // Float64 reference on the same A and B. Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ.
  std::vector<double> c64(mn);
  {
    DeviceBuffer<double> A64(mk), B64(kn), C64(mn);
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
    ESMM_CUDA_CHECK(cudaMemcpyAsync(c64.data(), C64.get(), mn * 8, cudaMemcpyDeviceToHost, s));
    ESMM_CUDA_CHECK(cudaStreamSynchronize(s));
  }

  DeviceBuffer<uint16_t> A16(bf16Wanted ? mk : 0), B16(bf16Wanted ? kn : 0);
  if (bf16Wanted) {
    ESMM_CUDA_CHECK(gpu::launchFloatToBf16(A.get(), A16.get(), mk, s));
    ESMM_CUDA_CHECK(gpu::launchFloatToBf16(B.get(), B16.get(), kn, s));
  }

  // cuBLAS runs first so every other kernel can be compared with its output.
  std::vector<std::string> order = job.kernels;
  std::stable_partition(order.begin(), order.end(), [](const std::string& id) { return id == "cublas"; });
  std::vector<float> hostC(mn), cublasC;
  std::vector<KernelOutcome> results;
  const int threads = cpuThreads();

  for (const auto& id : order) {
    KernelOutcome r;
    r.id = id;
    try {
      std::function<void()> launch;
#ifdef ESMM_WITH_CUBLAS
      const float one = 1.0f, zero = 0.0f;
      if (id == "cublas") {
        r.variant = "cublasSgemm";
        launch = [&] {
          ESMM_CUBLAS_CHECK(cublasSgemm(handle.get(), CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &one, B.get(), N, A.get(), K,
                                        &zero, C.get(), N));
        };
      } else if (id == "cublas-tf32") {
        r.variant = "cublasGemmEx-tf32";
        launch = [&] {
          ESMM_CUBLAS_CHECK(cublasGemmEx(handle.get(), CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &one, B.get(), CUDA_R_32F, N,
                                         A.get(), CUDA_R_32F, K, &zero, C.get(), CUDA_R_32F, N,
                                         CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT));
        };
      } else if (id == "cublas-bf16") {
        r.variant = "cublasGemmEx-bf16";
        launch = [&] {
          ESMM_CUBLAS_CHECK(cublasGemmEx(handle.get(), CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &one, B16.get(), CUDA_R_16BF,
                                         N, A16.get(), CUDA_R_16BF, K, &zero, C.get(), CUDA_R_32F, N,
                                         CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
        };
      }
#else
      if (id != "esmm") fail("NO_BACKEND", "this addon was built without cuBLAS");
#endif
      if (id == "esmm") {
        r.variant = esmm::esmmVariantName(M, N, K);
        const esmm::EsmmArgs args{A.get(), B.get(), C.get(), M, N, K, K, N, N, aPat.get(), bPat.get()};
        launch = [&, args] { ESMM_CUDA_CHECK(esmm::launchEsmm(args, workspace.get(), workspaceBytes, s)); };
      }
      // NaN in every element: one the kernel never writes fails the check below.
      ESMM_CUDA_CHECK(cudaMemsetAsync(C.get(), 0xFF, mn * 4, s));
      r.time = timeOnStream(s, job.warmup, job.runs, job.coldL2 ? flush.get() : nullptr, flushBytes, launch);
      ESMM_CUDA_CHECK(cudaMemcpyAsync(hostC.data(), C.get(), mn * 4, cudaMemcpyDeviceToHost, s));
      ESMM_CUDA_CHECK(cudaStreamSynchronize(s));

      const Accuracy acc = compare(hostC.data(), c64.data(), mn, threads);
      r.checked = true;
      r.relErrFrobenius = acc.relErrFrobenius;
      r.maxAbsErrRel = acc.maxAbsErrRel;
      if (id == "cublas") {
        cublasC = hostC;
      } else if (!cublasC.empty()) {
        r.maxAbsErrRelVsCublas = maxAbsErrRel(hostC.data(), cublasC.data(), mn);
      }
      if (acc.nonFinite > 0) {
        r.errorCode = "WRONG_RESULT";
        r.error = std::to_string(acc.nonFinite) + " elements are NaN/Inf (unwritten, or non-finite input)";
      } else if (!(acc.relErrFrobenius <= toleranceFor(id))) {
        r.errorCode = "WRONG_RESULT";
        r.error = "relative error " + std::to_string(acc.relErrFrobenius) + " vs float64 above tolerance " +
                  std::to_string(toleranceFor(id));
      } else {
        r.ok = true;
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
