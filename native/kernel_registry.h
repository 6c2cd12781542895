// The one table of kernel ids: per backend, each kernel's role, whether it is float32-accurate and
// the verification bar it must meet. Argument checks, verification and info() all read it.
#pragma once
#include <string>
#include <vector>

#include "bench_job.h"

namespace esmm::native {

// Both errors against the float64 reference must be at or under these.
struct KernelTolerance {
  double relFrobenius;  // ‖C − C64‖_F / ‖C64‖_F
  double maxAbsRel;     // max |C − C64| / max |C64|
};

struct KernelRegistryEntry {
  const char* id;
  Backend backend;
  // 'baseline': a float32-accurate dense GEMM a speedup is stated against; 'sparse': ESMM;
  // 'reference': a lower-precision row (TF32, BF16).
  const char* role;
  bool float32Accurate;
  KernelTolerance tolerance;
  const char* description;
};

// Float32 accumulation over K up to 65536 stays near 1e-6; a skipped k of one tile or a wrong
// element moves one of the two errors far above this.
constexpr KernelTolerance kFloat32Tolerance{1e-5, 1e-5};
constexpr KernelTolerance kTf32Tolerance{5e-3, 1e-2};   // 10-bit mantissa inputs
constexpr KernelTolerance kBf16Tolerance{2e-2, 5e-2};   // 8-bit mantissa inputs

// The kernels this build runs (cuBLAS rows only when linked with cuBLAS; cuda rows only with the
// CUDA backend), cpu first, in table order.
const std::vector<KernelRegistryEntry>& kernelRegistry();
// The entry of `id` on `backend`, or nullptr.
const KernelRegistryEntry* findKernel(Backend backend, const std::string& id);

// "a, b, c": the ids of one backend, for messages.
std::string kernelListFor(Backend backend);
bool knownKernel(Backend backend, const std::string& id);
// The bar of a known kernel (the float32 bar for an unknown id).
KernelTolerance toleranceFor(Backend backend, const std::string& id);

}  // namespace esmm::native
