#include "kernel_registry.h"

namespace esmm::native {
namespace {

#ifdef ESMM_WITH_CUDA
constexpr bool kCudaBuilt = true;
#else
constexpr bool kCudaBuilt = false;
#endif
#ifdef ESMM_WITH_CUBLAS
constexpr bool kCublasBuilt = kCudaBuilt;
#else
constexpr bool kCublasBuilt = false;
#endif

}  // namespace

const std::vector<KernelRegistryEntry>& kernelRegistry() {
  static const std::vector<KernelRegistryEntry> table = {
      {"reference", Backend::Cpu, "baseline", true, kFloat32Tolerance,
       "dense float32 GEMM on the CPU over the same 32x32 tiles as esmm, no skipping", true},
      {"esmm", Backend::Cpu, "sparse", true, kFloat32Tolerance,
       "float32 ESMM on the CPU: skips zero joint slices and unset k", true},
      {"cublas", Backend::Cuda, "baseline", true, kFloat32Tolerance,
       "cuBLAS float32 GEMM (FP32 cores): fastest of cublasLt's heuristic candidates and cublasSgemm's default",
       kCublasBuilt},
      {"dense-tf32x3", Backend::Cuda, "baseline", true, kFloat32Tolerance,
       "dense float32-accurate 3xTF32 tensor-core GEMM, no pattern reads: on Hopper (sm_90a builds) wgmma fed by "
       "TMA with B prepared once per weight; elsewhere mma.sync, 128x128x64 tiles, 3-stage cp.async pipeline",
       kCudaBuilt},
      {"cublas-tf32", Backend::Cuda, "reference", false, kTf32Tolerance,
       "cuBLAS GEMM with TF32 tensor-core inputs (not float32-accurate): fastest cublasLt candidate", kCublasBuilt},
      {"cublas-bf16", Backend::Cuda, "reference", false, kBf16Tolerance,
       "cuBLAS GEMM on bf16 copies of A and B, float32 accumulate (not float32-accurate): fastest cublasLt candidate",
       kCublasBuilt},
      {"esmm", Backend::Cuda, "sparse", true, kFloat32Tolerance,
       "ESMM: joint-sparsity 3xTF32 tensor-core GEMM, variant chosen by shape and k density (the Hopper "
       "mainloop with block skipping, k-granular mma.sync tiles, decode kernels)", kCudaBuilt},
  };
  return table;
}

const KernelRegistryEntry* findKernel(Backend backend, const std::string& id) {
  for (const KernelRegistryEntry& e : kernelRegistry()) {
    if (e.built && e.backend == backend && id == e.id) return &e;
  }
  return nullptr;
}

std::string kernelListFor(Backend backend) {
  std::string out;
  for (const KernelRegistryEntry& e : kernelRegistry()) {
    if (!e.built || e.backend != backend) continue;
    if (!out.empty()) out += ", ";
    out += e.id;
  }
  return out;
}

bool knownKernel(Backend backend, const std::string& id) { return findKernel(backend, id) != nullptr; }

KernelTolerance toleranceFor(Backend backend, const std::string& id) {
  const KernelRegistryEntry* e = findKernel(backend, id);
  return e != nullptr ? e->tolerance : kFloat32Tolerance;
}

}  // namespace esmm::native
