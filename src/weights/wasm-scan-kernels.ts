/**
 * WebAssembly SIMD kernels that count zeros and zero 8×32 blocks of float weights straight
 * from their stored words (bf16/f16: sign in bit 15; f32: bit 31), several times faster than
 * scalar JavaScript. The module is a few hundred bytes assembled here, so there is no build
 * step and nothing binary is checked in. Memory is imported so tensor bytes are read straight
 * into it.
 *
 *   band16 / band32(p, rows, rowBytes, groups, lin, out) → zeros
 *       one band of ≤ 8 rows of `groups`×8 elements at p, rows rowBytes apart: ORs each
 *       8-column group's magnitudes into lin[g] (16 bytes each) and stores at `out` the number
 *       of 32-column groups that are all zero in the band (zero raw blocks)
 *   flush32(lin, groups) → zeroLinBlocks
 *       end of a 32-row band: counts the all-zero groups of lin and clears it
 * For band16, rows × groups must stay ≤ 65535 (16-bit lane counters).
 */

const I32 = 0x7f;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const str = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'utf8')];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

// Instructions.
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const i32c = (v: number) => [0x41, ...sleb(v)];
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
const v128load = simd(0x00, 4, 0);
const v128store = simd(0x0b, 4, 0);
const v128and = simd(0x4e);
const v128or = simd(0x50);
const anyTrue = simd(0x53);
const i16x8splat = simd(0x10);
const i16x8eq = simd(0x2d);
const i16x8sub = simd(0x91);
const extaddU = simd(0x7f);
const lane = (l: number) => simd(0x1b, l);
const ADD = 0x6a;
const SUB = 0x6b;
const AND = 0x71;
const OR = 0x72;
const EQ = 0x46;
const EQZ = 0x45;
const GE_U = 0x4f;
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const IF = [0x04, 0x40];
const END = 0x0b;
const brIf = (d: number) => [0x0d, d];
const br = (d: number) => [0x0c, d];
const inc = (local: number, by: number) => [...get(local), ...i32c(by), ADD, ...set(local)];
/** while (local < limit) { body } */
const forLess = (local: number, limit: number, body: number[]) => [
  ...BLOCK,
  ...LOOP,
  ...get(local),
  ...get(limit),
  GE_U,
  ...brIf(1),
  ...body,
  ...br(0),
  END,
  END,
];

function func(locals: [number, number][], body: number[]): number[] {
  const code = [...vec(locals.map(([n, t]) => [...uleb(n), t])), ...body, END];
  return [...uleb(code.length), ...code];
}

const simdLoad = (offset: number) => simd(0x00, 4, offset);
const i32x4splat = simd(0x11);
const i32x4eq = simd(0x37);
const i32x4sub = simd(0xb1);

/**
 * band16 / band32 (p0, k1, rowBytes2, groups3, lin4, out5) → zeros.
 * locals: g6 r7 ptr8 rawZeros9 | v10 zacc11 mask12 zero13 orv14 rawOr15 t16. Walks each
 * 8-column group down the band's rows, so the band's OR stays in a register instead of a
 * memory round trip per row. 16-bit: one vector per group, 16-bit zero counters summed
 * pairwise at the end; 32-bit: two vectors per group, 32-bit counters.
 */
function band(bits: 16 | 32): number[] {
  const half = bits === 16;
  const countVector = (offset: number) => [
    ...get(8),
    ...simdLoad(offset),
    ...get(12),
    ...v128and,
    ...set(10),
    ...get(11),
    ...get(10),
    ...get(13),
    ...(half ? i16x8eq : i32x4eq),
    ...(half ? i16x8sub : i32x4sub),
    ...set(11),
    ...get(14),
    ...get(10),
    ...v128or,
    ...set(14),
  ];
  return func(
    [
      [4, I32],
      [7, V128],
    ],
    [
      ...(half ? [...i32c(0x7fff), ...i16x8splat] : [...i32c(0x7fffffff), ...i32x4splat]),
      ...set(12),
      ...forLess(6, 3, [
        ...get(13),
        ...set(14),
        ...get(0),
        ...set(8),
        ...i32c(0),
        ...set(7),
        ...forLess(7, 1, [...countVector(0), ...(half ? [] : countVector(16)), ...get(8), ...get(2), ADD, ...set(8), ...inc(7, 1)]),
        ...get(4),
        ...get(4),
        ...v128load,
        ...get(14),
        ...v128or,
        ...v128store,
        ...get(15),
        ...get(14),
        ...v128or,
        ...set(15),
        ...get(6),
        ...i32c(3),
        AND,
        ...i32c(3),
        EQ,
        ...get(6),
        ...i32c(1),
        ADD,
        ...get(3),
        EQ,
        OR,
        ...IF,
        ...get(9),
        ...get(15),
        ...anyTrue,
        EQZ,
        ADD,
        ...set(9),
        ...get(13),
        ...set(15),
        END,
        ...inc(0, half ? 16 : 32),
        ...inc(4, 16),
        ...inc(6, 1),
      ]),
      ...get(5),
      ...get(9),
      0x36, // i32.store
      2,
      0,
      ...get(11),
      ...(half ? extaddU : []),
      ...set(16),
      ...get(16),
      ...lane(0),
      ...get(16),
      ...lane(1),
      ADD,
      ...get(16),
      ...lane(2),
      ADD,
      ...get(16),
      ...lane(3),
      ADD,
    ],
  );
}

// flush32(lin0, groups1) locals: g2 zeros3 | zero4
const flush32 = func(
  [
    [2, I32],
    [1, V128],
  ],
  [
    ...forLess(2, 1, [
      ...get(3),
      ...get(0),
      ...v128load,
      ...anyTrue,
      EQZ,
      ADD,
      ...set(3),
      ...get(0),
      ...get(4),
      ...v128store,
      ...inc(0, 16),
      ...inc(2, 1),
    ]),
    ...get(3),
  ],
);

const moduleBytes = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(
    1,
    vec([
      [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32]]), ...vec([[I32]])],
      [0x60, ...vec([[I32], [I32]]), ...vec([[I32]])],
    ]),
  ),
  ...section(2, vec([[...str('env'), ...str('memory'), 0x02, 0x00, 0x01]])),
  ...section(3, vec([[0], [0], [1]])),
  ...section(
    7,
    vec([
      [...str('band16'), 0x00, 0],
      [...str('band32'), 0x00, 1],
      [...str('flush32'), 0x00, 2],
    ]),
  ),
  ...section(10, vec([band(16), band(32), flush32])),
]);

/** The slice of the WebAssembly API used here (the project's TypeScript lib has no DOM types). */
interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => WasmMemory;
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

export interface ScanKernels {
  memory: WasmMemory;
  band16(p: number, rows: number, rowBytes: number, groups: number, lin: number, out: number): number;
  band32(p: number, rows: number, rowBytes: number, groups: number, lin: number, out: number): number;
  flush32(lin: number, groups: number): number;
}

let compiled: object | null | undefined;
/** Instances not in use; reusing them keeps memory mappings and warmed-up code. */
const free: ScanKernels[] = [];

/** Largest column count one band16 call of 8 rows can count without lane overflow (band32 uses the same bound). */
export const SCAN_KERNEL_MAX_COLS = 65528;

/**
 * Kernels over a memory of at least `bytes`, or null where WebAssembly SIMD is missing.
 * Hand them back with releaseScanKernels; read `memory.buffer` after this call, since
 * growing the memory replaces it.
 */
export function acquireScanKernels(bytes: number): ScanKernels | null {
  if (compiled === undefined) {
    try {
      compiled = wasm ? new wasm.Module(moduleBytes) : null;
    } catch {
      compiled = null;
    }
  }
  if (compiled === null || !wasm) return null;
  const pages = Math.ceil(bytes / 65536);
  let k = free.pop();
  if (!k) {
    const memory = new wasm.Memory({ initial: pages });
    const { exports } = new wasm.Instance(compiled, { env: { memory } });
    k = { memory, ...(exports as unknown as Omit<ScanKernels, 'memory'>) };
  }
  const have = k.memory.buffer.byteLength / 65536;
  if (have < pages) k.memory.grow(pages - have);
  return k;
}

export function releaseScanKernels(k: ScanKernels): void {
  free.push(k);
}
