// The benchmark's output check on the device: the sums behind native/verify.h's Accuracy,
// reduced in a fixed order (the same bits on every run and every card), so a multi-gigabyte
// output is checked without copying it, or its float64 reference, to the host.
#pragma once
#include <cstddef>
#include <cuda_runtime_api.h>

namespace esmm::gpu {

// Over the n elements of c against ref:
//   errSq = Σ (c − ref)², refSq = Σ ref², maxErr = max |c − ref|, maxRef = max |ref|,
//   nonFinite = elements where c or ref is NaN/Inf (left out of the four above).
struct ErrorSums {
  double errSq = 0.0;
  double refSq = 0.0;
  double maxErr = 0.0;
  double maxRef = 0.0;
  double nonFinite = 0.0;  // a count, exact up to 2^53
};

// Device scratch the two launches below need, in doubles.
constexpr size_t kErrorScratchDoubles = 1024 * 5 + 5;

// c against a float64 reference; *out (host) holds the sums when the call returns, so it
// synchronises s.
cudaError_t errorSums(const float* c, const double* ref, size_t n, double* scratch, ErrorSums* out, cudaStream_t s);
// c against another float32 output (no element is left out: a NaN difference counts as an
// infinite error, so a NaN output never looks closer than a finite one); nonFinite stays 0.
cudaError_t errorSums(const float* c, const float* ref, size_t n, double* scratch, ErrorSums* out, cudaStream_t s);

}  // namespace esmm::gpu
