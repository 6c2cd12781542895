#include "kernel_registry.h"

namespace esmm::native {

const std::vector<KernelRegistryEntry>& kernelRegistry() {
  static const std::vector<KernelRegistryEntry> table = [] {
    std::vector<KernelRegistryEntry> t = {
        {"reference", Backend::Cpu, "baseline", true, kFloat32Tolerance,
         "dense float32 GEMM on the CPU over the same 32x32 tiles as esmm, no skipping"},
        {"esmm", Backend::Cpu, "sparse", true, kFloat32Tolerance,
         "float32 ESMM on the CPU: skips zero joint slices and unset k"},
    };
#ifdef ESMM_WITH_CUDA
#ifdef ESMM_WITH_CUBLAS
    t.push_back({"cublas", Backend::Cuda, "baseline", true, kFloat32Tolerance,
                 "cuBLAS float32 GEMM (FP32 cores): fastest of cublasLt's heuristic candidates and cublasSgemm's default"});
#endif
    t.push_back({"dense-tf32x3", Backend::Cuda, "baseline", true, kFloat32Tolerance,
                 "dense float32-accurate 3xTF32 tensor-core GEMM (mma.sync, 128x128x64 tiles, 3-stage cp.async pipeline), no pattern reads"});
#ifdef ESMM_WITH_CUBLAS
    t.push_back({"cublas-tf32", Backend::Cuda, "reference", false, kTf32Tolerance,
                 "cuBLAS GEMM with TF32 tensor-core inputs (not float32-accurate): fastest cublasLt candidate"});
    t.push_back({"cublas-bf16", Backend::Cuda, "reference", false, kBf16Tolerance,
                 "cuBLAS GEMM on bf16 copies of A and B, float32 accumulate (not float32-accurate): fastest cublasLt candidate"});
#endif
    t.push_back({"esmm", Backend::Cuda, "sparse", true, kFloat32Tolerance,
                 "ESMM: joint-sparsity 3xTF32 tensor-core GEMM, variant chosen by shape"});
#endif
    return t;
  }();
  return table;
}

const KernelRegistryEntry* findKernel(Backend backend, const std::string& id) {
  for (const KernelRegistryEntry& e : kernelRegistry()) {
    if (e.backend == backend && id == e.id) return &e;
  }
  return nullptr;
}

std::string kernelListFor(Backend backend) {
  std::string out;
  for (const KernelRegistryEntry& e : kernelRegistry()) {
    if (e.backend != backend) continue;
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
