// Hopper mainloop check and timing: the wgmma 3xTF32 GEMM (dense, and with ESMM's block-level
// skipping) beside the mma.sync dense kernel, the addon's ESMM dispatch and cuBLAS SGEMM, on the
// sweep's synthetic joint-sparse data. Errors against a float64 GEMM; times are medians of CUDA-event
// timed runs with L2 flushed before each. Writes CSV to stdout.
//
//   hopper_bench [shapes MxNxK,...] [densities d,...] [runs]
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

#include "esmm.h"
#include "generate_gpu.h"
#include "patterns.h"
#include "wgmma_tf32x3.h"

#define CK(x)                                                                                     \
  do {                                                                                            \
    cudaError_t e_ = (x);                                                                         \
    if (e_ != cudaSuccess) {                                                                      \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      std::exit(1);                                                                               \
    }                                                                                             \
  } while (0)

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
  cublasHandle_t h;
  if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) return 1;
  cudaStream_t s;
  CK(cudaStreamCreate(&s));
  cublasSetStream(h, s);
  const size_t flushBytes = 256u << 20;
  void* flush;
  CK(cudaMalloc(&flush, flushBytes));
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  std::printf("M,N,K,density,kernel,median_ms,tflops,rel_fro\n");
  for (const std::string& shape : split(shapes)) {
    int M, N, K;
    if (std::sscanf(shape.c_str(), "%dx%dx%d", &M, &N, &K) != 3) return 2;
    for (const std::string& dstr : split(dens)) {
      const double d = std::atof(dstr.c_str());
      float *A, *B, *C;
      uint8_t *aPat, *bPat;
      CK(cudaMalloc(&A, sizeof(float) * M * K));
      CK(cudaMalloc(&B, sizeof(float) * K * N));
      CK(cudaMalloc(&C, sizeof(float) * M * N));
      CK(cudaMalloc(&aPat, esmm::numTiles(M) * esmm::numKSlices(K)));
      CK(cudaMalloc(&bPat, esmm::numTiles(N) * esmm::numKSlices(K)));
      using esmm::gen::Fill;
      CK(esmm::gpu::launchGenerate(A, M, K, K, 7, esmm::gen::kStreamA, esmm::gen::kStreamAGroups,
                                   d < 1 ? Fill::RowTiles : Fill::Dense, d, s));
      CK(esmm::gpu::launchGenerate(B, K, N, N, 7, esmm::gen::kStreamB, esmm::gen::kStreamBGroups,
                                   d < 1 ? Fill::ColTiles : Fill::Dense, d, s));
      CK(esmm::launchAPatterns(A, M, K, K, aPat, s));
      CK(esmm::launchBPatterns(B, K, N, N, bPat, s));
      // float64 reference
      double *A64, *B64, *C64;
      CK(cudaMalloc(&A64, sizeof(double) * M * K));
      CK(cudaMalloc(&B64, sizeof(double) * K * N));
      CK(cudaMalloc(&C64, sizeof(double) * M * N));
      CK(esmm::gpu::launchFloatToDouble(A, A64, size_t(M) * K, s));
      CK(esmm::gpu::launchFloatToDouble(B, B64, size_t(K) * N, s));
      CK(esmm::gpu::launchGemm64(A64, B64, C64, M, N, K, s));
      std::vector<double> ref(size_t(M) * N);
      CK(cudaMemcpyAsync(ref.data(), C64, sizeof(double) * M * N, cudaMemcpyDeviceToHost, s));
      CK(cudaStreamSynchronize(s));
      const size_t ws = std::max({esmm::hopperGemmWorkspaceBytes(M, N, K), esmm::esmmWorkspaceBytes(M, N, K),
                                  esmm::denseWorkspaceBytes(M, N, K)});
      void* work;
      CK(cudaMalloc(&work, ws));
      float* prep;
      CK(cudaMalloc(&prep, esmm::hopperBPreparedBytes(N, K)));
      CK(esmm::launchHopperPrepareB(B, K, N, N, prep, s));
      const esmm::DenseArgs da{A, B, C, M, N, K, K, N, N, prep};
      const esmm::EsmmArgs ea{A, B, C, M, N, K, K, N, N, aPat, bPat};
      struct K_ {
        const char* name;
        std::function<void()> run;
      };
      const float one = 1.f, zero = 0.f;
      std::vector<K_> ks = {
          {"sgemm", [&] { cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &one, B, N, A, K, &zero, C, N); }},
          {"dense-mma", [&] { CK(esmm::launchDenseTf32x3(da, s)); }},
          {"dense-auto", [&] { CK(esmm::launchDense(da, work, ws, s)); }},
          {"hopper-dense", [&] { CK(esmm::launchHopperGemm(da, prep, nullptr, nullptr, work, ws, s)); }},
          {"esmm", [&] { CK(esmm::launchEsmm(ea, work, ws, s)); }},
          {"hopper-esmm", [&] { CK(esmm::launchHopperGemm(da, prep, aPat, bPat, work, ws, s)); }},
          {"prepare-b", [&] { CK(esmm::launchHopperPrepareB(B, K, N, N, prep, s)); }},
      };
      std::vector<float> out(size_t(M) * N);
      for (const K_& k : ks) {
        CK(cudaMemsetAsync(C, 0, sizeof(float) * M * N, s));
        k.run();
        CK(cudaStreamSynchronize(s));
        CK(cudaMemcpy(out.data(), C, sizeof(float) * M * N, cudaMemcpyDeviceToHost));
        double num = 0, den = 0;
        for (size_t i = 0; i < out.size(); ++i) {
          num += (out[i] - ref[i]) * (out[i] - ref[i]);
          den += ref[i] * ref[i];
        }
        std::vector<float> t;
        for (int r = 0; r < runs; ++r) {
          CK(cudaMemsetAsync(flush, r & 0xFF, flushBytes, s));
          CK(cudaEventRecord(e0, s));
          k.run();
          CK(cudaEventRecord(e1, s));
          CK(cudaEventSynchronize(e1));
          float ms;
          CK(cudaEventElapsedTime(&ms, e0, e1));
          t.push_back(ms);
        }
        const double med = median(t);
        std::printf("%d,%d,%d,%g,%s,%.4f,%.1f,%.2e\n", M, N, K, d, k.name, med, 2.0 * M * N * K / med / 1e9,
                    std::sqrt(num / (den > 0 ? den : 1)));
        std::fflush(stdout);
      }
      cudaFree(A), cudaFree(B), cudaFree(C), cudaFree(aPat), cudaFree(bPat), cudaFree(A64), cudaFree(B64),
          cudaFree(C64), cudaFree(work), cudaFree(prep);
    }
  }
  return 0;
}
