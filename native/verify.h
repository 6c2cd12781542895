// Checks a float32 result against the float64 reference on the host.
#pragma once
#include <cstddef>
#include <string>

namespace esmm::native {

struct Accuracy {
  double relErrFrobenius = 0.0;  // ‖C − R‖_F / ‖R‖_F (absolute norm when ‖R‖ is 0)
  double maxAbsErrRel = 0.0;     // max |C − R| / max |R| (absolute when max |R| is 0)
  size_t nonFinite = 0;          // NaN/Inf elements (of C or R): unwritten output or non-finite input; norms skip them
};

Accuracy compare(const float* c, const double* ref, size_t count, int threads);
// Same measure against a float32 reference (another kernel's output, e.g. cuBLAS).
double maxAbsErrRel(const float* c, const float* ref, size_t count);

// Largest acceptable ‖C − C64‖_F / ‖C64‖_F for a kernel id: far above honest rounding error of
// that precision, far below what a wrong result gives.
double toleranceFor(const std::string& kernelId);

}  // namespace esmm::native
