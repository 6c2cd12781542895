#include "cpu_kernels.h"

#include <algorithm>
#include <cstddef>
#include <vector>

#include "parallel.h"

namespace esmm::cpu {
namespace {

// Columns of C kept hot while K is streamed: 512 floats (2 KiB) stay in L1 across the k loop.
constexpr int kColBlock = 512;

inline size_t at(int r, int c, int ld) { return static_cast<size_t>(r) * static_cast<size_t>(ld) + c; }

void gemmRows64(const float* A, const float* B, double* C, int rowBegin, int rowEnd, int N, int K, int lda, int ldb,
                int ldc) {
  for (int i = rowBegin; i < rowEnd; ++i) {
    double* c = C + at(i, 0, ldc);
    std::fill(c, c + N, 0.0);
    for (int j0 = 0; j0 < N; j0 += kColBlock) {
      const int j1 = std::min(N, j0 + kColBlock);
      for (int k = 0; k < K; ++k) {
        const double a = A[at(i, k, lda)];
        const float* b = B + at(k, 0, ldb);
        for (int j = j0; j < j1; ++j) c[j] += a * static_cast<double>(b[j]);
      }
    }
  }
}

// One task per 32×32 block of C, accumulated in a local tile as a GPU warp would. With kSkip the
// joint pattern drops whole slices and single k; without it every k is computed, so the dense
// float32 baseline and ESMM differ only by the skipping.
template <bool kSkip>
void tiledGemm(const float* A, const float* B, float* C, int M, int N, int K, int lda, int ldb, int ldc,
               const uint8_t* aPat, const uint8_t* bPat, int threads) {
  const int slices = numKSlices(K);
  const int mTiles = numTiles(M);
  const int nTiles = numTiles(N);
  parallelFor(static_cast<long>(mTiles) * nTiles, threads, [&](long begin, long end) {
    float acc[kTile][kTile];
    for (long task = begin; task < end; ++task) {
      const int mt = static_cast<int>(task / nTiles);
      const int nt = static_cast<int>(task % nTiles);
      const int r0 = mt * kTile, rows = std::min(kTile, M - r0);
      const int c0 = nt * kTile, cols = std::min(kTile, N - c0);
      for (auto& row : acc) std::fill(row, row + kTile, 0.0f);
      for (int s = 0; s < slices; ++s) {
        const unsigned joint =
            kSkip ? aPat[static_cast<size_t>(mt) * slices + s] & bPat[static_cast<size_t>(nt) * slices + s] : 0xFFu;
        if (joint == 0) continue;
        for (int j = 0; j < kBK && s * kBK + j < K; ++j) {
          if (!(joint & (1u << j))) continue;
          const int k = s * kBK + j;
          const float* b = B + at(k, c0, ldb);
          for (int r = 0; r < rows; ++r) {
            const float a = A[at(r0 + r, k, lda)];
            for (int c = 0; c < cols; ++c) acc[r][c] += a * b[c];
          }
        }
      }
      for (int r = 0; r < rows; ++r) std::copy(acc[r], acc[r] + cols, C + at(r0 + r, c0, ldc));
    }
  });
}

}  // namespace

void aPatterns(const float* A, int M, int K, int lda, uint8_t* aPat) {
  const int slices = numKSlices(K);
  for (int t = 0; t < numTiles(M); ++t) {
    const int r1 = std::min(M, (t + 1) * kTile);
    for (int s = 0; s < slices; ++s) {
      uint8_t bits = 0;
      for (int j = 0; j < kBK && s * kBK + j < K; ++j) {
        const int k = s * kBK + j;
        for (int r = t * kTile; r < r1; ++r) {
          // `!= 0` is true for NaN, which must count as nonzero.
          if (A[at(r, k, lda)] != 0.0f) {
            bits |= static_cast<uint8_t>(1u << j);
            break;
          }
        }
      }
      aPat[static_cast<size_t>(t) * slices + s] = bits;
    }
  }
}

void bPatterns(const float* B, int K, int N, int ldb, uint8_t* bPat) {
  const int slices = numKSlices(K);
  for (int t = 0; t < numTiles(N); ++t) {
    const int c1 = std::min(N, (t + 1) * kTile);
    for (int s = 0; s < slices; ++s) {
      uint8_t bits = 0;
      for (int j = 0; j < kBK && s * kBK + j < K; ++j) {
        const float* row = B + at(s * kBK + j, 0, ldb);
        for (int c = t * kTile; c < c1; ++c) {
          if (row[c] != 0.0f) {
            bits |= static_cast<uint8_t>(1u << j);
            break;
          }
        }
      }
      bPat[static_cast<size_t>(t) * slices + s] = bits;
    }
  }
}

void gemmReference64(const float* A, const float* B, double* C, int M, int N, int K, int lda, int ldb, int ldc,
                     int threads) {
  parallelFor(M, threads, [&](long b, long e) {
    gemmRows64(A, B, C, static_cast<int>(b), static_cast<int>(e), N, K, lda, ldb, ldc);
  });
}

void gemmReference32(const float* A, const float* B, float* C, int M, int N, int K, int lda, int ldb, int ldc,
                     int threads) {
  tiledGemm<false>(A, B, C, M, N, K, lda, ldb, ldc, nullptr, nullptr, threads);
}

void esmm(const float* A, const float* B, float* C, int M, int N, int K, int lda, int ldb, int ldc,
          const uint8_t* aPat, const uint8_t* bPat, int threads) {
  tiledGemm<true>(A, B, C, M, N, K, lda, ldb, ldc, aPat, bPat, threads);
}

void generate(float* out, int rows, int cols, uint64_t seed, uint64_t stream, uint64_t groupStream, gen::Fill fill,
              double density, int threads) {
  parallelFor(rows, threads, [&](long b, long e) {
    for (long r = b; r < e; ++r) {
      for (int c = 0; c < cols; ++c) {
        out[at(static_cast<int>(r), c, cols)] =
            gen::element(seed, stream, groupStream, fill, density, static_cast<int>(r), c, cols);
      }
    }
  });
}

double skippedSliceFraction(const uint8_t* aPat, const uint8_t* bPat, int M, int N, int K) {
  const int slices = numKSlices(K);
  const int mTiles = numTiles(M);
  const int nTiles = numTiles(N);
  // Count per slice how many B tiles have each pattern value: then every A tile's skip count is a
  // sum over 256 values instead of a loop over all N tiles.
  std::vector<uint32_t> hist(static_cast<size_t>(slices) * 256, 0);
  for (int nt = 0; nt < nTiles; ++nt) {
    for (int s = 0; s < slices; ++s) ++hist[static_cast<size_t>(s) * 256 + bPat[static_cast<size_t>(nt) * slices + s]];
  }
  // Sum over subsets (8 bits): sub[s][m] = number of B tiles whose byte is a subset of m, so the
  // B tiles disjoint from an A byte a are sub[s][~a].
  std::vector<uint32_t>& sub = hist;
  for (int s = 0; s < slices; ++s) {
    uint32_t* f = &sub[static_cast<size_t>(s) * 256];
    for (int bit = 0; bit < 8; ++bit) {
      for (int m = 0; m < 256; ++m) {
        if (m & (1 << bit)) f[m] += f[m ^ (1 << bit)];
      }
    }
  }
  double skipped = 0.0;
  for (int mt = 0; mt < mTiles; ++mt) {
    for (int s = 0; s < slices; ++s) {
      skipped += sub[static_cast<size_t>(s) * 256 + (~aPat[static_cast<size_t>(mt) * slices + s] & 0xFF)];
    }
  }
  const double total = static_cast<double>(mTiles) * nTiles * slices;
  return total > 0 ? skipped / total : 0.0;
}

double kDensity(const uint8_t* aPat, const uint8_t* bPat, int M, int N, int K) {
  const int slices = numKSlices(K);
  const int mTiles = numTiles(M);
  const int nTiles = numTiles(N);
  // Per k: (A tiles with the bit) × (B tiles with the bit) pairs have it jointly.
  double joint = 0.0;
  std::vector<uint32_t> aCount(8), bCount(8);
  for (int s = 0; s < slices; ++s) {
    std::fill(aCount.begin(), aCount.end(), 0u);
    std::fill(bCount.begin(), bCount.end(), 0u);
    for (int mt = 0; mt < mTiles; ++mt) {
      const uint8_t a = aPat[static_cast<size_t>(mt) * slices + s];
      for (int bit = 0; bit < 8; ++bit) aCount[bit] += (a >> bit) & 1u;
    }
    for (int nt = 0; nt < nTiles; ++nt) {
      const uint8_t b = bPat[static_cast<size_t>(nt) * slices + s];
      for (int bit = 0; bit < 8; ++bit) bCount[bit] += (b >> bit) & 1u;
    }
    for (int bit = 0; bit < 8 && s * 8 + bit < K; ++bit) joint += double(aCount[bit]) * double(bCount[bit]);
  }
  return joint / (double(mTiles) * double(nTiles) * double(K));
}

double patternDensity(const uint8_t* pat, int rows, int K) {
  const int slices = numKSlices(K);
  const int tiles = numTiles(rows);
  size_t set = 0;
  for (int t = 0; t < tiles; ++t) {
    for (int s = 0; s < slices; ++s) {
      const int valid = std::min(8, K - s * 8);
      set += static_cast<size_t>(__builtin_popcount(pat[static_cast<size_t>(t) * slices + s] & ((1u << valid) - 1u)));
    }
  }
  return static_cast<double>(set) / (double(tiles) * double(K));
}

}  // namespace esmm::cpu
