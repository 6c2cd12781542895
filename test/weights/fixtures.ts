import { writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';

/** One tensor for a hand-written safetensors file. */
export interface StEntry {
  name: string;
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/** Serialises a safetensors file; `header` overrides let tests break it on purpose. */
export function safetensorsBytes(entries: StEntry[], header?: Record<string, unknown>): Buffer {
  const h: Record<string, unknown> = {};
  let offset = 0;
  for (const e of entries) {
    h[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.data.length] };
    offset += e.data.length;
  }
  const json = Buffer.from(JSON.stringify(header ?? h));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...entries.map((e) => Buffer.from(e.data))]);
}

export function writeSafetensors(file: string, entries: StEntry[], header?: Record<string, unknown>): void {
  writeFileSync(file, safetensorsBytes(entries, header));
}

export function f32Bytes(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
export function f64Bytes(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float64Array.from(values).buffer);
}
export function u16Bytes(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Uint16Array.from(values).buffer);
}

/** Bits of each value as `fn` maps it, without going through a plain array. */
export function mapToU16(values: Float32Array, fn: (v: number) => number): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = fn(values[i]);
  return out;
}

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);
/** bf16 bits of a float32 value (truncation; tests pick values that are exact in bf16). */
export function bf16Bits(x: number): number {
  scratch[0] = x;
  return scratchBits[0] >>> 16;
}

/** A minimal stored (uncompressed) zip, as torch.save writes. */
export function zipBytes(files: { name: string; data: Uint8Array }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const name = Buffer.from(f.name);
    const crc = crc32(f.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(f.data.length, 18);
    local.writeUInt32LE(f.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(f.data.length, 20);
    central.writeUInt32LE(f.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, Buffer.from(f.data));
    centrals.push(central, name);
    offset += 30 + name.length + f.data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** Builds pickle bytes from opcodes; strings are written as SHORT_BINUNICODE. */
export class PickleWriter {
  private parts: number[] = [0x80, 2];
  op(...bytes: number[]): this {
    this.parts.push(...bytes);
    return this;
  }
  str(s: string): this {
    const b = Buffer.from(s);
    return this.op(0x8c, b.length, ...b);
  }
  int(n: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return this.op(0x4a, ...b);
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...Buffer.from(`${module}\n${name}\n`));
  }
  mark(): this {
    return this.op(0x28);
  }
  tuple(): this {
    return this.op(0x74);
  }
  /** torch._utils._rebuild_tensor_v2(storage(key), offset, shape, stride, False, OrderedDict()). */
  tensor(storageClass: string, key: string, numel: number, offset: number, shape: number[], stride: number[]): this {
    this.global('torch._utils', '_rebuild_tensor_v2').mark();
    this.mark().str('storage').global('torch', storageClass).str(key).str('cpu').int(numel).tuple().op(0x51);
    this.int(offset).mark();
    shape.forEach((d) => this.int(d));
    this.tuple().mark();
    stride.forEach((d) => this.int(d));
    this.tuple().op(0x89).global('collections', 'OrderedDict').op(0x29, 0x52);
    return this.tuple().op(0x52);
  }
  bytes(): Uint8Array {
    return new Uint8Array([...this.parts, 0x2e]);
  }
}

/** A torch.save-style zip: archive/data.pkl plus one stored entry per storage. */
export function ptZipBytes(pickle: Uint8Array, storages: Record<string, Uint8Array>, byteorder = 'little'): Buffer {
  return zipBytes([
    { name: 'archive/data.pkl', data: pickle },
    { name: 'archive/byteorder', data: Buffer.from(byteorder) },
    ...Object.entries(storages).map(([k, data]) => ({ name: `archive/data/${k}`, data })),
  ]);
}
