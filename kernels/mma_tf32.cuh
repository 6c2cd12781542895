// 3xTF32 on the tensor cores, shared by the tensor-core ESMM kernels: x = hi + lo in tf32, and
// hi·hi + hi·lo + lo·hi summed by mma.sync m16n8k8 is float32-accurate (the lo·lo term is below float32
// rounding). A warp owns one 32×32 block of C (2 × 4 MMA tiles) and is fed compacted k: the shared-
// memory offsets of the k its joint pattern keeps, eight per MMA k-step.
#pragma once
#include <cstdint>

namespace esmm::mma {

__device__ __forceinline__ void mmaTf32(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  // Not volatile: the compiler may interleave independent MMAs with the loads around them.
  asm(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// m16n8k4: A (row g, k t), (row g+8, k t); B (k t, column g); C as m16n8k8. Two of these do one
// m16n8k8's work, but each operand is a register pair or a single register, so fragments loaded as
// 16-byte vectors feed it in place (an m16n8k8 A operand is an aligned register quad that such
// loads fill only with moves: ~38 moves a k-step in tf32x3-warp, ncu, kernel-notes v23a).
__device__ __forceinline__ void mmaTf32K4(float (&c)[4], uint32_t a0, uint32_t a1, uint32_t b) {
  asm(
      "mma.sync.aligned.m16n8k4.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(b));
}

// x = hi + lo exactly; hi keeps the 10 explicit mantissa bits tf32 has, and the MMA reads lo's top
// 19 bits, so the pair carries 21+ significant bits.
__device__ __forceinline__ void splitTf32(float x, uint32_t& hi, uint32_t& lo) {
  const uint32_t h = __float_as_uint(x) & 0xFFFFE000u;
  hi = h;
  lo = __float_as_uint(x - __uint_as_float(h));
}

// x = hi + lo exactly, hi rounded to nearest tf32 (ties away): lo then takes either sign, so the
// hardware's truncation of lo and the dropped lo·lo term carry no bias (with the truncating split
// above every product comes out short by ~2^-21 of itself, a bias that adds up coherently over K).
__device__ __forceinline__ void splitTf32Rn(float x, uint32_t& hi, uint32_t& lo) {
  const uint32_t h = (__float_as_uint(x) + 0x1000u) & 0xFFFFE000u;
  hi = h;
  lo = __float_as_uint(x - __uint_as_float(h));
}

// The tensor cores add into their float32 accumulator without round-to-nearest (measured: summing all
// of K = 65536 in the MMA accumulator gave a relative error of 2.7e-4); so the MMAs add into a short-
// lived accumulator `part` that joins the running sum on the FP32 pipes every kFlushSteps k-steps (128
// products per element),
// which keeps the error below 1e-6 at any K tested (to 65536).
constexpr int kFlushSteps = 16;

struct WarpAcc {
  float acc[2][4][4];
  float part[2][4][4];
  int pending;  // k-steps in part

  __device__ __forceinline__ void zero() {
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j)
#pragma unroll
        for (int r = 0; r < 4; ++r) acc[i][j][r] = part[i][j][r] = 0.f;
    pending = 0;
  }

  __device__ __forceinline__ void flush() {
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j)
#pragma unroll
        for (int r = 0; r < 4; ++r) {
          acc[i][j][r] += part[i][j][r];
          part[i][j][r] = 0.f;
        }
    pending = 0;
  }

  __device__ __forceinline__ void flushIfDue() {
    if (pending >= kFlushSteps) flush();
  }

  // One k-step from the raw fragment values (A: rows g, g+8 at k t, then at k t+4, per 16-row tile;
  // B: k t, k t+4 at column g, per 8 columns): split, then small terms first; the 8 tiles' MMAs are
  // independent, so each chain of 3 is interleaved.
  __device__ __forceinline__ void step(const float (&ra)[2][4], const float (&rb)[4][2]) {
    uint32_t aHi[2][4], aLo[2][4], bHi[4][2], bLo[4][2];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
      for (int r = 0; r < 4; ++r) splitTf32(ra[i][r], aHi[i][r], aLo[i][r]);
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int r = 0; r < 2; ++r) splitTf32(rb[j][r], bHi[j][r], bLo[j][r]);
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j) mmaTf32(part[i][j], aLo[i], bHi[j]);
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j) mmaTf32(part[i][j], aHi[i], bLo[j]);
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j) mmaTf32(part[i][j], aHi[i], bHi[j]);
    ++pending;
  }

  // One k-step from 16-byte fragments as two m16n8k4 halves: half h takes the lane's k slot t + 4h,
  // whose values are a[h] (rows 4g … 4g+3: tile i's fragment rows g, g+8 are components 2i, 2i+1) and
  // b[h] (columns 4g … 4g+3: component j is column g of n-tile j). The products of step(), small
  // terms first as there; only the register operands differ.
  __device__ __forceinline__ void stepK4(const float4 (&a)[2], const float4 (&b)[2]) {
    uint32_t aHi[2][4], aLo[2][4], bHi[2][4], bLo[2][4];
    auto split4 = [](const float4& x, uint32_t (&hi)[4], uint32_t (&lo)[4]) {
      splitTf32(x.x, hi[0], lo[0]);
      splitTf32(x.y, hi[1], lo[1]);
      splitTf32(x.z, hi[2], lo[2]);
      splitTf32(x.w, hi[3], lo[3]);
    };
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      split4(a[h], aHi[h], aLo[h]);
      split4(b[h], bHi[h], bLo[h]);
    }
    // One term (A's part × B's part) over both halves and the 2 × 4 tiles.
    auto term = [&](const uint32_t (&aX)[2][4], const uint32_t (&bX)[2][4]) {
#pragma unroll
      for (int h = 0; h < 2; ++h)
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
          for (int j = 0; j < 4; ++j) mmaTf32K4(part[i][j], aX[h][2 * i], aX[h][2 * i + 1], bX[h][j]);
    };
    term(aLo, bHi);
    term(aHi, bLo);
    term(aHi, bHi);
    // Twice the accumulator additions of step() (each truncates, see kFlushSteps): counted as two
    // steps, so part joins the sum after the same number of additions.
    pending += 2;
  }

  // The MMA k-steps of one group of cnt compacted k. kList[0..31] holds per position the shared-memory
  // offsets of its k (A in the low 16 bits, B in the high); positions past cnt point at zeros. The
  // A element of fragment row r sits at As[offA + r * kARowStep], the B element of column c at
  // Bs[offB + c]; As / Bs already include the warp's row / column and the lane's group g.
  template <int kARowStep>
  __device__ __forceinline__ void steps(const float* As, const float* Bs, const uint32_t* kList, int cnt, int t) {
    // Raw fragment values of one k-step (8 compacted k): A (row g, k t), (row g+8, k t), (row g,
    // k t+4), (row g+8, k t+4) per 16-row tile; B (k t, column g), (k t+4, column g) per 8 columns.
    using Frag = float[2][4];
    using FragB = float[4][2];
    auto loadStep = [&](int base, Frag& ra, FragB& rb) {
      const uint32_t o0 = kList[base + t];
      const uint32_t o1 = kList[base + t + 4];
      const float* a0 = As + (o0 & 0xFFFFu);
      const float* a1 = As + (o1 & 0xFFFFu);
      const float* b0 = Bs + (o0 >> 16);
      const float* b1 = Bs + (o1 >> 16);
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        ra[i][0] = a0[(16 * i) * kARowStep];
        ra[i][1] = a0[(16 * i + 8) * kARowStep];
        ra[i][2] = a1[(16 * i) * kARowStep];
        ra[i][3] = a1[(16 * i + 8) * kARowStep];
      }
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        rb[j][0] = b0[8 * j];
        rb[j][1] = b1[8 * j];
      }
    };
    // Two register sets in turn: the next step's shared-memory reads overlap this step's MMAs without
    // copies between iterations.
    float ra0[2][4], rb0[4][2], ra1[2][4], rb1[4][2];
    loadStep(0, ra0, rb0);
    for (int base = 0; base < cnt; base += 16) {
      const bool second = base + 8 < cnt;
      if (second) loadStep(base + 8, ra1, rb1);
      step(ra0, rb0);
      if (second) {
        if (base + 16 < cnt) loadStep(base + 16, ra0, rb0);
        step(ra1, rb1);
      }
    }
  }

  // C fragment: (row g, columns 2t, 2t+1), (row g+8, same columns) of each MMA tile. row0 / col0:
  // the warp's first row and column of C.
  __device__ __forceinline__ void store(float* C, int ldc, int M, int N, int row0, int col0, int g, int t,
                                        bool vecC) {
    flush();
#pragma unroll
    for (int i = 0; i < 2; ++i) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int row = row0 + 16 * i + g + 8 * h;
        if (row >= M) continue;
        float* out = C + static_cast<size_t>(row) * ldc;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const int col = col0 + 8 * j + 2 * t;
          const float x = acc[i][j][2 * h];
          const float y = acc[i][j][2 * h + 1];
          if (vecC && col + 2 <= N) {
            *reinterpret_cast<float2*>(out + col) = make_float2(x, y);
          } else {
            if (col < N) out[col] = x;
            if (col + 1 < N) out[col + 1] = y;
          }
        }
      }
    }
  }
};

}  // namespace esmm::mma
