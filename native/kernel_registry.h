// The one table of kernel ids: per backend, each kernel's role, whether it is float32-accurate, the
// verification bar it must meet and whether this build runs it. Argument checks, verification and
// info() all read it; the TypeScript side derives every list of ids from info().registry.
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
  // Whether this build runs it: cuda rows need the CUDA backend, cuBLAS rows cuBLAS linked. Rows this
  // build does not run are listed all the same, so every build knows every id (a CPU-only build
  // reads and reports results a GPU build wrote).
  bool built;
};

// Float32 accumulation over K up to 65536 stays near 1e-6; a skipped k of one tile or a wrong
// element moves one of the two errors far above this.
constexpr KernelTolerance kFloat32Tolerance{1e-5, 1e-5};
constexpr KernelTolerance kTf32Tolerance{5e-3, 1e-2};   // 10-bit mantissa inputs
constexpr KernelTolerance kBf16Tolerance{2e-2, 5e-2};   // 8-bit mantissa inputs

// Every kernel of every backend, cpu first; per backend, the float32-accurate dense baselines
// come first, the SGEMM-class one (cuBLAS SGEMM, the CPU reference) before the others.
const std::vector<KernelRegistryEntry>& kernelRegistry();
// The entry of `id` on `backend` when this build runs it, or nullptr.
const KernelRegistryEntry* findKernel(Backend backend, const std::string& id);

// "a, b, c": the ids of one backend this build runs, for messages.
std::string kernelListFor(Backend backend);
bool knownKernel(Backend backend, const std::string& id);
// The bar of a known kernel (the float32 bar for an unknown id).
KernelTolerance toleranceFor(Backend backend, const std::string& id);

}  // namespace esmm::native
