// Hopper mainloop check and timing: the wgmma 3xTF32 GEMM (dense, and with ESMM's block-level
// skipping) beside the mma.sync dense kernel, the addon's ESMM dispatch (by shape only: no densities,
// no prepared B), the few-row variants it picks from by density or K (`decode`, `gemv-skip` and its
// dense form, `tf32x3-warp-splitk`: that one transposes A in its call, which the addon's A-pattern
// pass does instead; rows `warp-t` and `splitk-t` run `tf32x3-warp` and the split kernel on A
// transposed ahead, as the addon does; row `gemv` is told the joint k density as the addon tells it,
// `gemv-2s` is not, so it runs the two-slice form) and cuBLAS SGEMM, on the sweep's synthetic
// joint-sparse data. Errors against a float64 GEMM; times are medians of CUDA-event samples of the
// addon's timing loop (native/cuda_timing.h), L2 flushed before each. Writes CSV to stdout. Built and
// run by scripts/kernel-bench.sh (step hopper).
//
//   hopper_bench [shapes MxNxK,...] [densities d,...] [runs] [kernels,...]
//
// A density d is joint (A's 32-row tiles and B's 32-column tiles each keep a k with probability d);
// bd is b-only (A dense, B's tiles keep a k with probability d).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "../../native/cuda_timing.h"
#include "../../native/cuda_util.h"
#include "cpu/cpu_kernels.h"
#include "esmm.h"
#include "generate_gpu.h"
#include "patterns.h"
#include "variants.cuh"
#include "experimental/wgmma_compact.h"
#include "wgmma_tf32x3.h"

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string x;
  while (std::getline(ss, x, ',')) out.push_back(x);
  return out;
}

double median(std::vector<float> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::string shapes = argc > 1 ? argv[1] : "4096x4096x4096";
  const std::string dens = argc > 2 ? argv[2] : "1,0.5";
  const int runs = argc > 3 ? std::atoi(argv[3]) : 20;
  // Optional: only these kernels (names as in the CSV), e.g. for a profiler run.
  const std::vector<std::string> only = argc > 4 ? split(argv[4]) : std::vector<std::string>{};
  cublasHandle_t h;
  if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) return 1;
  cudaStream_t s;
  ESMM_CUDA_CHECK(cudaStreamCreate(&s));
  cublasSetStream(h, s);
  const size_t flushBytes = 256u << 20;
  void* flush;
  ESMM_CUDA_CHECK(cudaMalloc(&flush, flushBytes));
  std::printf("M,N,K,density,kernel,median_ms,tflops,rel_fro\n");
  for (const std::string& shape : split(shapes)) {
    int M, N, K;
    if (std::sscanf(shape.c_str(), "%dx%dx%d", &M, &N, &K) != 3) return 2;
    for (const std::string& dstr : split(dens)) {
      const bool bOnly = !dstr.empty() && dstr[0] == 'b';
      const double d = std::atof(dstr.c_str() + (bOnly ? 1 : 0));
      float *A, *B, *C;
      uint8_t *aPat, *bPat;
      ESMM_CUDA_CHECK(cudaMalloc(&A, sizeof(float) * M * K));
      ESMM_CUDA_CHECK(cudaMalloc(&B, sizeof(float) * K * N));
      ESMM_CUDA_CHECK(cudaMalloc(&C, sizeof(float) * M * N));
      ESMM_CUDA_CHECK(cudaMalloc(&aPat, esmm::numTiles(M) * esmm::numKSlices(K)));
      ESMM_CUDA_CHECK(cudaMalloc(&bPat, esmm::numTiles(N) * esmm::numKSlices(K)));
      using esmm::gen::Fill;
      ESMM_CUDA_CHECK(esmm::gpu::launchGenerate(A, M, K, K, 7, esmm::gen::kStreamA, esmm::gen::kStreamAGroups,
                                   d < 1 && !bOnly ? Fill::RowTiles : Fill::Dense, d, s));
      ESMM_CUDA_CHECK(esmm::gpu::launchGenerate(B, K, N, N, 7, esmm::gen::kStreamB, esmm::gen::kStreamBGroups,
                                   d < 1 ? Fill::ColTiles : Fill::Dense, d, s));
      ESMM_CUDA_CHECK(esmm::launchAPatterns(A, M, K, K, aPat, s));
      ESMM_CUDA_CHECK(esmm::launchBPatterns(B, K, N, N, bPat, s));
      // float64 reference
      double *A64, *B64, *C64;
      ESMM_CUDA_CHECK(cudaMalloc(&A64, sizeof(double) * M * K));
      ESMM_CUDA_CHECK(cudaMalloc(&B64, sizeof(double) * K * N));
      ESMM_CUDA_CHECK(cudaMalloc(&C64, sizeof(double) * M * N));
      ESMM_CUDA_CHECK(esmm::gpu::launchFloatToDouble(A, A64, size_t(M) * K, s));
      ESMM_CUDA_CHECK(esmm::gpu::launchFloatToDouble(B, B64, size_t(K) * N, s));
      ESMM_CUDA_CHECK(esmm::gpu::launchGemm64(A64, B64, C64, M, N, K, s));
      std::vector<double> ref(size_t(M) * N);
      ESMM_CUDA_CHECK(cudaMemcpyAsync(ref.data(), C64, sizeof(double) * M * N, cudaMemcpyDeviceToHost, s));
      ESMM_CUDA_CHECK(cudaStreamSynchronize(s));
      const esmm::Variant* splitK = esmm::findVariant("tf32x3-warp-splitk");
      const esmm::Variant* decode = esmm::findVariant("decode");
      const esmm::Variant* gemv = esmm::findVariant("gemv-skip");
      const esmm::Variant* warp = esmm::findVariant("tf32x3-warp");
      if (splitK == nullptr || decode == nullptr || gemv == nullptr || warp == nullptr) return 3;
      const size_t ws = std::max({esmm::hopperGemmWorkspaceBytes(M, N, K), esmm::esmmWorkspaceBytes(M, N, K),
                                  esmm::denseWorkspaceBytes(M, N, K), splitK->workspaceBytes(M, N, K),
                                  decode->workspaceBytes(M, N, K), gemv->workspaceBytes(M, N, K),
                                  warp->workspaceBytes(M, N, K)});
      void* work;
      ESMM_CUDA_CHECK(cudaMalloc(&work, ws));
      float* prep;
      ESMM_CUDA_CHECK(cudaMalloc(&prep, esmm::hopperBPreparedBytes(N, K)));
      ESMM_CUDA_CHECK(esmm::launchHopperPrepareB(B, K, N, N, prep, s));
      void* compact;
      ESMM_CUDA_CHECK(cudaMalloc(&compact, esmm::hopperCompactBBytes(N, K)));
      ESMM_CUDA_CHECK(esmm::launchHopperCompactB(B, K, N, N, bPat, compact, s));
      const size_t cws = std::max<size_t>(esmm::hopperCompactGemmWorkspaceBytes(M, N, K), 16);
      void* cwork;
      ESMM_CUDA_CHECK(cudaMalloc(&cwork, cws));
      // A transposed as the addon's A-pattern pass writes it (rows whose pattern bit is clear stay
      // zero here), for the warp kernels' rows as the addon runs them.
      float* aT;
      const size_t aTBytes = esmm::aTransposedBytes(M, K);
      ESMM_CUDA_CHECK(cudaMalloc(&aT, aTBytes));
      ESMM_CUDA_CHECK(cudaMemsetAsync(aT, 0, aTBytes, s));
      ESMM_CUDA_CHECK(esmm::launchAPatternsTransposed(A, M, K, K, aPat, aT, s));
      const esmm::DenseArgs da{A, B, C, M, N, K, K, N, N, prep};
      const esmm::EsmmArgs ea{A, B, C, M, N, K, K, N, N, aPat, bPat};
      esmm::EsmmArgs eaK = ea;
      {
        // The joint k density, computed as the addon computes it (the GEMV's form depends on it).
        std::vector<uint8_t> ha(size_t(esmm::numTiles(M)) * esmm::numKSlices(K));
        std::vector<uint8_t> hb(size_t(esmm::numTiles(N)) * esmm::numKSlices(K));
        ESMM_CUDA_CHECK(cudaMemcpy(ha.data(), aPat, ha.size(), cudaMemcpyDeviceToHost));
        ESMM_CUDA_CHECK(cudaMemcpy(hb.data(), bPat, hb.size(), cudaMemcpyDeviceToHost));
        eaK.kDensity = esmm::cpu::kDensity(ha.data(), hb.data(), M, N, K);
      }
      esmm::EsmmArgs eat = ea;
      eat.aTransposed = aT;
      struct K_ {
        const char* name;
        std::function<void()> run;
      };
      const float one = 1.f, zero = 0.f;
      std::vector<K_> ks = {
          {"sgemm", [&] { cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &one, B, N, A, K, &zero, C, N); }},
          {"dense-mma", [&] { ESMM_CUDA_CHECK(esmm::launchDenseTf32x3(da, s)); }},
          {"dense-auto", [&] { ESMM_CUDA_CHECK(esmm::launchDense(da, work, ws, s)); }},
          {"hopper-dense", [&] { ESMM_CUDA_CHECK(esmm::launchHopperGemm(da, prep, nullptr, nullptr, work, ws, s)); }},
          {"esmm", [&] { ESMM_CUDA_CHECK(esmm::launchEsmm(ea, work, ws, s)); }},
          {"hopper-esmm", [&] { ESMM_CUDA_CHECK(esmm::launchHopperGemm(da, prep, aPat, bPat, work, ws, s)); }},
          {"decode", [&] { ESMM_CUDA_CHECK(decode->launch(ea, work, ws, s)); }},
          {"warp-splitk", [&] { ESMM_CUDA_CHECK(splitK->launch(ea, work, ws, s)); }},
          {"warp-t", [&] { ESMM_CUDA_CHECK(warp->launch(eat, work, ws, s)); }},
          {"splitk-t", [&] { ESMM_CUDA_CHECK(splitK->launch(eat, work, ws, s)); }},
          {"gemv", [&] { ESMM_CUDA_CHECK(gemv->launch(eaK, work, ws, s)); }},
          {"gemv-2s", [&] { ESMM_CUDA_CHECK(gemv->launch(ea, work, ws, s)); }},
          {"dense-gemv", [&] { ESMM_CUDA_CHECK(esmm::launchDenseGemv(da, work, ws, s)); }},
          {"compact", [&] { ESMM_CUDA_CHECK(esmm::launchHopperCompactGemm(da, compact, cwork, cws, s)); }},
          {"prepare-b", [&] { ESMM_CUDA_CHECK(esmm::launchHopperPrepareB(B, K, N, N, prep, s)); }},
          {"compact-b", [&] { ESMM_CUDA_CHECK(esmm::launchHopperCompactB(B, K, N, N, bPat, compact, s)); }},
      };
      std::vector<float> out(size_t(M) * N);
      for (const K_& k : ks) {
        if (!only.empty() && std::find(only.begin(), only.end(), k.name) == only.end()) continue;
        ESMM_CUDA_CHECK(cudaMemsetAsync(C, 0, sizeof(float) * M * N, s));
        k.run();
        ESMM_CUDA_CHECK(cudaStreamSynchronize(s));
        ESMM_CUDA_CHECK(cudaMemcpy(out.data(), C, sizeof(float) * M * N, cudaMemcpyDeviceToHost));
        double num = 0, den = 0;
        for (size_t i = 0; i < out.size(); ++i) {
          num += (out[i] - ref[i]) * (out[i] - ref[i]);
          den += ref[i] * ref[i];
        }
        // The addon's timing loop: `runs` samples exactly, L2 flushed before each.
        esmm::native::SamplingRule rule;
        rule.warmup = 2;
        rule.minRuns = runs;
        rule.stdevTarget = 0;
        const esmm::native::Samples smp =
            esmm::native::timeOnStream(s, rule, static_cast<uint8_t*>(flush), flushBytes, k.run);
        const std::vector<float> t(smp.ms.begin(), smp.ms.end());
        const double med = median(t);
        std::printf("%d,%d,%d,%s,%s,%.4f,%.1f,%.2e\n", M, N, K, dstr.c_str(), k.name, med, 2.0 * M * N * K / med / 1e9,
                    std::sqrt(num / (den > 0 ? den : 1)));
        std::fflush(stdout);
      }
      cudaFree(A), cudaFree(B), cudaFree(C), cudaFree(aPat), cudaFree(bPat), cudaFree(A64), cudaFree(B64),
          cudaFree(C64), cudaFree(work), cudaFree(prep), cudaFree(compact), cudaFree(cwork), cudaFree(aT);
    }
  }
  return 0;
}
