// Shape limits and argument checks shared by the backends.
#pragma once
#include <cstdint>
#include <string>

#include "bench_job.h"

namespace esmm::native {

// The kernels index with int: every dimension and every matrix's element count must fit.
constexpr int64_t kMaxElements = 2147483647;

// Throws SHAPE when m×k, k×n, m×n are not valid matrix shapes or a given operand has the wrong length.
void checkShape(const BenchJob& job);
void checkMatrix(const char* what, int64_t rows, int64_t cols);

}  // namespace esmm::native
