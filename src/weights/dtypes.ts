import type { SourceDtype } from './types.js';

/** Bytes per element of every dtype safetensors defines whole bytes for. */
export const DTYPE_BYTES: Readonly<Record<string, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  U64: 8,
  I32: 4,
  U32: 4,
  I16: 2,
  U16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
  C64: 8,
  F8_E4M3: 1,
  F8_E4M3FNUZ: 1,
  F8_E5M2: 1,
  F8_E5M2FNUZ: 1,
  F8_E8M0: 1,
  E8M0: 1,
};

/** Dtypes this toolkit converts to float32; everything else is listed and skipped. */
export const FLOAT_DTYPES: ReadonlySet<string> = new Set(['F64', 'F32', 'F16', 'BF16']);

export function isFloatDtype(dtype: SourceDtype): boolean {
  return FLOAT_DTYPES.has(dtype);
}

export function dtypeBytes(dtype: SourceDtype): number | undefined {
  return DTYPE_BYTES[dtype];
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE half → float32 bits; exact (every half is a float32). */
function halfToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return sign | 0x7f800000 | (mant << 13);
  if (exp !== 0) return sign | ((exp + 112) << 23) | (mant << 13);
  if (mant === 0) return sign;
  // Subnormal half: normalise into the float32 exponent range.
  let e = 113;
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return sign | (e << 23) | ((m & 0x3ff) << 13);
}

let halfTable: Float32Array | undefined;

/** All 65536 half values as float32, built once: a lookup beats bit twiddling per element. */
export function halfLookup(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      u32Scratch[0] = halfToF32Bits(h) >>> 0;
      halfTable[h] = f32Scratch[0];
    }
  }
  return halfTable;
}

/**
 * Converts `count` little-endian elements of `dtype` starting at byte `byteOffset` of `src`
 * into `dst` from `dstOffset`. bf16/f16 widen exactly; f64 rounds to nearest float32.
 */
export function convertToF32(
  dtype: SourceDtype,
  src: Uint8Array,
  byteOffset: number,
  count: number,
  dst: Float32Array,
  dstOffset: number,
): void {
  const size = dtypeBytes(dtype);
  if (size === undefined || !FLOAT_DTYPES.has(dtype)) throw new Error(`no float32 conversion for dtype ${dtype}`);
  const at = src.byteOffset + byteOffset;
  // Typed-array views need element alignment; an odd offset takes one copy to realign.
  const aligned = at % size === 0 ? src : src.slice(byteOffset, byteOffset + count * size);
  const base = aligned === src ? at : aligned.byteOffset;
  const buf = aligned.buffer;
  switch (dtype) {
    case 'F32':
      dst.set(new Float32Array(buf, base, count), dstOffset);
      return;
    case 'F64':
      // TypedArray#set converts each double with round-to-nearest-even.
      dst.set(new Float64Array(buf, base, count), dstOffset);
      return;
    case 'BF16': {
      const inp = new Uint16Array(buf, base, count);
      const out = new Uint32Array(dst.buffer, dst.byteOffset + 4 * dstOffset, count);
      for (let i = 0; i < count; i++) out[i] = inp[i] << 16;
      return;
    }
    default: {
      const table = halfLookup();
      const inp = new Uint16Array(buf, base, count);
      for (let i = 0; i < count; i++) dst[dstOffset + i] = table[inp[i]];
    }
  }
}

/** Reverses the byte order of every `size`-byte element in place (big-endian pickles). */
export function swapBytes(buf: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= buf.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = buf[a];
      buf[a] = buf[b];
      buf[b] = t;
    }
  }
}
