// Deterministic test data shared by the CPU backend and the GPU generator (kernels/generate.cu):
// element values are a pure function of (seed, position), so both backends build identical
// matrices for a seed, and a GPU run can be replayed on the CPU.
#pragma once
#include <cstddef>
#include <cstdint>

#ifdef __CUDACC__
#define ESMM_HD __host__ __device__
#else
#define ESMM_HD
#endif

namespace esmm::gen {

// Independent random streams, so A values, B values and the two pattern draws never correlate.
enum Stream : uint64_t { kStreamA = 1, kStreamB = 2, kStreamAGroups = 3, kStreamBGroups = 4 };

// How a matrix is filled.
enum class Fill : int {
  Dense = 0,      // every element random nonzero
  RowTiles = 1,   // A of the joint generator: (32-row tile, column k) groups kept with probability d
  ColTiles = 2,   // B: (row k, 32-column tile) groups kept with probability d
};

// splitmix64 finalizer: a good 64-bit mix, cheap on both CPU and GPU.
ESMM_HD inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

ESMM_HD inline uint64_t hash3(uint64_t seed, uint64_t stream, uint64_t index) {
  return mix64(mix64(seed ^ (stream << 56)) + index);
}

// Uniform in (-1, 1), never 0: a kept element must set its pattern bit.
ESMM_HD inline float nonzeroValue(uint64_t seed, uint64_t stream, uint64_t index) {
  const int64_t r = static_cast<int64_t>(hash3(seed, stream, index) >> 40);  // 24 bits
  return static_cast<float>((static_cast<double>(r - (1 << 23)) + 0.5) * (1.0 / (1 << 23)));
}

// True with probability `density` (exactly never at 0, always at 1).
ESMM_HD inline bool keepGroup(uint64_t seed, uint64_t stream, uint64_t index, double density) {
  const double u = static_cast<double>(hash3(seed, stream, index) >> 11) * (1.0 / 9007199254740992.0);
  return u < density;
}

// Element (r, c) of a rows×cols matrix filled as `fill` says. `stream` picks A or B values;
// `groupStream` the pattern draw.
ESMM_HD inline float element(uint64_t seed, uint64_t stream, uint64_t groupStream, Fill fill, double density,
                             int r, int c, int cols) {
  if (fill == Fill::RowTiles) {
    const uint64_t group = static_cast<uint64_t>(r / 32) * static_cast<uint64_t>(cols) + static_cast<uint64_t>(c);
    if (!keepGroup(seed, groupStream, group, density)) return 0.0f;
  } else if (fill == Fill::ColTiles) {
    const uint64_t numColTiles = static_cast<uint64_t>((cols + 31) / 32);
    const uint64_t group = static_cast<uint64_t>(r) * numColTiles + static_cast<uint64_t>(c / 32);
    if (!keepGroup(seed, groupStream, group, density)) return 0.0f;
  }
  return nonzeroValue(seed, stream, static_cast<uint64_t>(r) * static_cast<uint64_t>(cols) + static_cast<uint64_t>(c));
}

}  // namespace esmm::gen
