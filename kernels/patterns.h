// Sparsity-pattern layout shared by the GPU kernels, the CPU reference and the pattern cache.
#pragma once
#include <cstdint>

namespace esmm {

constexpr int kBK = 8;     // K-slice width: one pattern byte covers 8 consecutive k
constexpr int kTile = 32;  // rows of A / columns of B covered by one pattern byte

inline int numKSlices(int K) { return (K + kBK - 1) / kBK; }
inline int numTiles(int n) { return (n + kTile - 1) / kTile; }

// A (M×K): aPat[mTile * numKSlices(K) + s], bit j set when column s*8+j holds a nonzero
// in rows [mTile*32, mTile*32+32) ∩ [0, M).
// B (K×N): bPat[nTile * numKSlices(K) + s], bit j set when row s*8+j holds a nonzero
// in columns [nTile*32, nTile*32+32) ∩ [0, N).
// Bits for k >= K are always clear. NaN counts as nonzero.

}  // namespace esmm
