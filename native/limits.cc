#include "limits.h"

#include "../kernels/patterns.h"
#include "errors.h"

namespace esmm::native {

void checkMatrix(const char* what, int64_t rows, int64_t cols) {
  if (rows < 1 || cols < 1) {
    fail("SHAPE", std::string(what) + " is " + std::to_string(rows) + "×" + std::to_string(cols) +
                      ": every dimension must be at least 1");
  }
  if (rows * cols > kMaxElements) {
    fail("SHAPE", std::string(what) + " is " + std::to_string(rows) + "×" + std::to_string(cols) + " = " +
                      std::to_string(rows * cols) + " elements, more than the " + std::to_string(kMaxElements) +
                      " the kernels can index");
  }
}

void checkShape(const BenchJob& job) {
  checkMatrix("A (m×k)", job.m, job.k);
  checkMatrix("B (k×n)", job.k, job.n);
  checkMatrix("C (m×n)", job.m, job.n);
  const auto mk = static_cast<size_t>(job.m) * static_cast<size_t>(job.k);
  const auto kn = static_cast<size_t>(job.k) * static_cast<size_t>(job.n);
  if (!job.a.empty() && job.a.size() != mk) {
    fail("SHAPE", "a has " + std::to_string(job.a.size()) + " elements, m×k = " + std::to_string(mk));
  }
  if (!job.b.empty() && job.b.size() != kn) {
    fail("SHAPE", "b has " + std::to_string(job.b.size()) + " elements, k×n = " + std::to_string(kn));
  }
  const auto patBytes = static_cast<size_t>(numTiles(job.n)) * static_cast<size_t>(numKSlices(job.k));
  if (!job.bPatterns.empty() && job.bPatterns.size() != patBytes) {
    fail("SHAPE", "bPatterns has " + std::to_string(job.bPatterns.size()) + " bytes, k×n needs " +
                      std::to_string(patBytes));
  }
}

}  // namespace esmm::native
