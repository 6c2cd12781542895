// Plain C++ reference of the patterns and the GEMM, with the GPU kernels' semantics.
#pragma once
#include <cstdint>

#include "../generate.h"
#include "../patterns.h"

namespace esmm::cpu {

void aPatterns(const float* A, int M, int K, int lda, uint8_t* aPat);
void bPatterns(const float* B, int K, int N, int ldb, uint8_t* bPat);

// C64 = A·B accumulated in double (the verification reference).
void gemmReference64(const float* A, const float* B, double* C, int M, int N, int K, int lda, int ldb, int ldc,
                     int threads);
// C = A·B accumulated in float32 over the same 32×32 tiles as esmm() but without skipping: the
// CPU baseline ESMM is timed against ('reference').
void gemmReference32(const float* A, const float* B, float* C, int M, int N, int K, int lda, int ldb, int ldc,
                     int threads);
// Float32 ESMM on the CPU: skips every (32-row tile, 32-col tile, slice) whose joint pattern is 0
// and every k whose joint bit is clear.
void esmm(const float* A, const float* B, float* C, int M, int N, int K, int lda, int ldb, int ldc,
          const uint8_t* aPat, const uint8_t* bPat, int threads);

// out (rows×cols, dense) filled with gen::element(...), identical to the GPU generator.
void generate(float* out, int rows, int cols, uint64_t seed, uint64_t stream, uint64_t groupStream, gen::Fill fill,
              double density, int threads);

// Fraction of (mTile, nTile, slice) triples whose joint pattern aPat & bPat is zero.
double skippedSliceFraction(const uint8_t* aPat, const uint8_t* bPat, int M, int N, int K);
// Fraction of (mTile, nTile, k) triples, k < K, where both aPat and bPat have k's bit: the share
// of the k ESMM multiplies (per-k joint density).
double kDensity(const uint8_t* aPat, const uint8_t* bPat, int M, int N, int K);
// Fraction of (tile, k) pairs, k < K, whose bit is set in one operand's patterns (rows: M for A's
// patterns, N for B's).
double patternDensity(const uint8_t* pat, int rows, int K);

}  // namespace esmm::cpu
