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
// The measures from their sums (Σ (c − r)², Σ r², max |c − r|, max |r|): compare()'s last step, and
// the whole of it where the sums come from the device (kernels/accuracy.h).
Accuracy accuracyFromSums(double errSq, double refSq, double maxErr, double maxRef, size_t nonFinite);
// max |c − r| / max |r| (absolute when max |r| is 0), also against another kernel's output.
double maxAbsErrRelFromSums(double maxErr, double maxRef);

// The verdict on a kernel's output: the first and the last timed run are both checked against
// the kernel's bar (kernel_registry.h); the worse errors of the two are reported.
struct Verdict {
  bool ok = false;
  std::string errorCode;  // "WRONG_RESULT" when not ok
  std::string error;      // names the run that failed and both errors against the bar
  double relErrFrobenius = 0.0;  // worse of the two runs
  double maxAbsErrRel = 0.0;
};

Verdict judge(const Accuracy& first, const Accuracy& last, double tolRelFrobenius, double tolMaxAbsRel);

}  // namespace esmm::native
