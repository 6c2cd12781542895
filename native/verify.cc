#include "verify.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <mutex>

#include "../kernels/cpu/parallel.h"

namespace esmm::native {

Accuracy compare(const float* c, const double* ref, size_t count, int threads) {
  double errSq = 0.0, refSq = 0.0, maxErr = 0.0, maxRef = 0.0;
  size_t nonFinite = 0;
  std::mutex mu;
  cpu::parallelFor(static_cast<long>(count), threads, [&](long b, long e) {
    double le = 0.0, lr = 0.0, lm = 0.0, lmr = 0.0;
    size_t ln = 0;
    for (long i = b; i < e; ++i) {
      const double r = ref[i];
      const double v = c[i];
      if (!std::isfinite(v) || !std::isfinite(r)) {
        ++ln;
        continue;
      }
      const double d = std::fabs(v - r);
      le += d * d;
      lr += r * r;
      lm = std::max(lm, d);
      lmr = std::max(lmr, std::fabs(r));
    }
    std::lock_guard<std::mutex> lock(mu);
    errSq += le;
    refSq += lr;
    maxErr = std::max(maxErr, lm);
    maxRef = std::max(maxRef, lmr);
    nonFinite += ln;
  });
  return accuracyFromSums(errSq, refSq, maxErr, maxRef, nonFinite);
}

Accuracy accuracyFromSums(double errSq, double refSq, double maxErr, double maxRef, size_t nonFinite) {
  Accuracy acc;
  acc.nonFinite = nonFinite;
  acc.relErrFrobenius = refSq > 0 ? std::sqrt(errSq / refSq) : std::sqrt(errSq);
  acc.maxAbsErrRel = maxAbsErrRelFromSums(maxErr, maxRef);
  return acc;
}

double maxAbsErrRelFromSums(double maxErr, double maxRef) { return maxRef > 0 ? maxErr / maxRef : maxErr; }

namespace {

std::string sci(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2e", x);
  return buf;
}

// "" when the run passes, else why not.
std::string failure(const char* run, const Accuracy& a, double tolFro, double tolMax) {
  if (a.nonFinite > 0) {
    return std::string(run) + ": " + std::to_string(a.nonFinite) +
           " elements are NaN/Inf (unwritten, or non-finite input)";
  }
  if (a.relErrFrobenius <= tolFro && a.maxAbsErrRel <= tolMax) return "";
  return std::string(run) + ": relative Frobenius error " + sci(a.relErrFrobenius) +
         (a.relErrFrobenius <= tolFro ? " <= " : " > ") + sci(tolFro) + ", max error " + sci(a.maxAbsErrRel) +
         (a.maxAbsErrRel <= tolMax ? " <= " : " > ") + sci(tolMax) + " (vs float64)";
}

}  // namespace

Verdict judge(const Accuracy& first, const Accuracy& last, double tolRelFrobenius, double tolMaxAbsRel) {
  Verdict v;
  v.relErrFrobenius = std::max(first.relErrFrobenius, last.relErrFrobenius);
  v.maxAbsErrRel = std::max(first.maxAbsErrRel, last.maxAbsErrRel);
  const std::string f = failure("first timed run", first, tolRelFrobenius, tolMaxAbsRel);
  const std::string l = failure("last timed run", last, tolRelFrobenius, tolMaxAbsRel);
  if (f.empty() && l.empty()) {
    v.ok = true;
    return v;
  }
  v.errorCode = "WRONG_RESULT";
  v.error = f.empty() ? l : (l.empty() ? f : f + "; " + l);
  return v;
}

}  // namespace esmm::native
