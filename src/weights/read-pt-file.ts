import { open, type FileHandle } from 'node:fs/promises';

import yauzl from 'yauzl';

import { BadFileError } from '../errors.js';
import { dtypeBytes } from './dtypes.js';
import { storageExtent, type TensorLocation } from './tensor-location.js';
import {
  isStorageType,
  isStubObject,
  isTensorValue,
  pickleFailure,
  PickleError,
  PickleTruncatedError,
  unpickle,
  type StorageRef,
  type TensorValue,
} from './unpickle.js';

/** data.pkl holds only structure; anything this large is not a torch.save pickle. */
export const MAX_PICKLE_BYTES = 256 * 1024 * 1024;

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

interface StorageBytes {
  byteOffset: number;
  bytes: number;
}

/** Named tensors found anywhere in an unpickled object, by dotted path. */
function collectTensors(value: unknown, path: string, out: { name: string; tensor: TensorValue }[]): void {
  if (isTensorValue(value)) {
    out.push({ name: path, tensor: value });
  } else if (value instanceof Map) {
    for (const [k, v] of value) {
      if (typeof k !== 'string' && typeof k !== 'number') continue;
      collectTensors(v, path === '' ? String(k) : `${path}.${k}`, out);
    }
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => collectTensors(v, path === '' ? String(i) : `${path}.${i}`, out));
  } else if (isStubObject(value)) {
    // A dict subclass keeps its items; anything else its state, under the same path.
    collectTensors(value.items, path, out);
    value.state.forEach((v) => collectTensors(v, path, out));
  }
}

function storageFromPid(pid: unknown, legacy: boolean): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) {
    throw new PickleError('pickle persistent id is not a torch storage');
  }
  const [, type, key, , numel, view] = pid;
  if (!isStorageType(type)) throw new PickleError('pickle storage has no storage type');
  if (typeof key !== 'string' || typeof numel !== 'number' || !Number.isInteger(numel) || numel < 0) {
    throw new PickleError('pickle storage id is malformed');
  }
  if (legacy && Array.isArray(view)) {
    const [, offset, viewNumel] = view;
    if (typeof offset !== 'number' || typeof viewNumel !== 'number') throw new PickleError('pickle storage view is malformed');
    return { kind: 'storage', dtype: type.dtype, key, numel: viewNumel, viewOffset: offset };
  }
  return { kind: 'storage', dtype: type.dtype, key, numel };
}

function toLocations(
  file: string,
  root: unknown,
  storages: Map<string, StorageBytes>,
  bigEndian: boolean,
): TensorLocation[] {
  const found: { name: string; tensor: TensorValue }[] = [];
  collectTensors(root, '', found);
  return found.map(({ name, tensor }) => {
    const { storage } = tensor;
    const size = dtypeBytes(storage.dtype) as number;
    const where = storages.get(storage.key);
    if (!where) throw new BadFileError(file, `tensor "${name}" refers to storage ${storage.key}, which the file does not hold`);
    const viewOffset = storage.viewOffset ?? 0;
    const storageNumel = Math.floor(where.bytes / size);
    if (viewOffset + storage.numel > storageNumel) {
      throw new BadFileError(file, `storage ${storage.key} holds ${storageNumel} elements, fewer than its ${viewOffset + storage.numel} declared`);
    }
    const loc: TensorLocation = {
      file,
      name,
      format: 'pt',
      dtype: storage.dtype,
      shape: tensor.shape,
      strides: tensor.strides,
      storageByteOffset: where.byteOffset + viewOffset * size,
      storageOffset: tensor.storageOffset,
      storageNumel: storage.numel,
      bigEndian,
    };
    if (tensor.strides.some((s) => s < 0)) throw new BadFileError(file, `tensor "${name}" has a negative stride`);
    const extent = storageExtent(loc);
    if (extent > storage.numel) {
      throw new BadFileError(file, `tensor "${name}" reaches element ${extent} of a storage with ${storage.numel} elements`);
    }
    return loc;
  });
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: false }, (err, zip) => (err ? reject(err) : resolve(zip)));
  });
}

function zipEntries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    zip.on('entry', (e: yauzl.Entry) => {
      entries.push(e);
      zip.readEntry();
    });
    zip.on('end', () => resolve(entries));
    zip.on('error', reject);
    zip.readEntry();
  });
}

function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err) return reject(err);
      const parts: Buffer[] = [];
      stream.on('data', (c: Buffer) => parts.push(c));
      stream.on('end', () => resolve(Buffer.concat(parts)));
      stream.on('error', reject);
    });
  });
}

/** File offset of a stored entry's bytes: its local header is variable-length. */
async function entryDataOffset(fh: FileHandle, file: string, entry: yauzl.Entry): Promise<number> {
  const head = Buffer.alloc(30);
  const { bytesRead } = await fh.read(head, 0, 30, entry.relativeOffsetOfLocalHeader);
  if (bytesRead < 30 || head.readUInt32LE(0) !== 0x04034b50) {
    throw new BadFileError(file, `zip entry ${entry.fileName} has no valid local header`);
  }
  return entry.relativeOffsetOfLocalHeader + 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
}

/** Tensor locations of a torch.save file, with the classes that became inert placeholders. */
export type PtTensors = TensorLocation[] & { stubbed?: string[] };

function withStubs(locations: TensorLocation[], stubbed: string[]): PtTensors {
  return stubbed.length > 0 ? Object.assign(locations, { stubbed }) : locations;
}

async function readZipPt(file: string): Promise<PtTensors> {
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(file);
  } catch (err) {
    throw new BadFileError(file, `not a readable zip archive (${(err as Error).message})`);
  }
  try {
    let entries: yauzl.Entry[];
    try {
      entries = await zipEntries(zip);
    } catch (err) {
      throw new BadFileError(file, `zip archive is damaged (${(err as Error).message})`);
    }
    const pkl = entries.find((e) => e.fileName === 'data.pkl' || e.fileName.endsWith('/data.pkl'));
    if (!pkl) throw new BadFileError(file, 'zip archive has no data.pkl, so it is not a torch.save file');
    if (pkl.uncompressedSize > MAX_PICKLE_BYTES) throw new BadFileError(file, `data.pkl is ${pkl.uncompressedSize} bytes, over the limit`);
    const prefix = pkl.fileName.slice(0, pkl.fileName.length - 'data.pkl'.length);
    const byName = new Map(entries.map((e) => [e.fileName, e]));
    let bigEndian = false;
    const order = byName.get(`${prefix}byteorder`);
    if (order) {
      const text = (await readEntry(zip, order)).toString('latin1').trim();
      if (text !== 'little' && text !== 'big') throw new BadFileError(file, `byteorder is ${JSON.stringify(text)}`);
      bigEndian = text === 'big';
    }
    const pickle = await readEntry(zip, pkl);
    const used = new Set<string>();
    let root: unknown;
    let stubbed: string[] = [];
    try {
      ({ value: root, stubbed } = unpickle(pickle, {
        persistentLoad: (pid) => {
          const s = storageFromPid(pid, false);
          used.add(s.key);
          return s;
        },
      }));
    } catch (err) {
      pickleFailure(file, err);
    }
    const storages = new Map<string, StorageBytes>();
    const fh = await open(file, 'r');
    try {
      for (const key of used) {
        const entry = byName.get(`${prefix}data/${key}`);
        if (!entry) throw new BadFileError(file, `zip archive has no data/${key} for a storage the pickle names`);
        if (entry.compressionMethod !== 0) {
          throw new BadFileError(file, `data/${key} is compressed; torch.save stores storages uncompressed`, 'UNSUPPORTED');
        }
        const byteOffset = await entryDataOffset(fh, file, entry);
        storages.set(key, { byteOffset, bytes: entry.uncompressedSize });
      }
    } finally {
      await fh.close();
    }
    return withStubs(toLocations(file, root, storages, bigEndian), stubbed);
  } finally {
    zip.close();
  }
}

async function readLegacyPt(file: string, fh: FileHandle, fileBytes: number): Promise<PtTensors> {
  // The pickles sit at the start; their length is only known by parsing, so grow the prefix.
  let prefixBytes = Math.min(fileBytes, 1 << 20);
  for (;;) {
    const prefix = Buffer.alloc(prefixBytes);
    await fh.read(prefix, 0, prefixBytes, 0);
    try {
      return await parseLegacy(file, fh, prefix, fileBytes);
    } catch (err) {
      if (err instanceof PickleTruncatedError && prefixBytes < Math.min(fileBytes, MAX_PICKLE_BYTES)) {
        prefixBytes = Math.min(fileBytes, MAX_PICKLE_BYTES, prefixBytes * 4);
        continue;
      }
      pickleFailure(file, err);
    }
  }
}

async function parseLegacy(file: string, fh: FileHandle, prefix: Buffer, fileBytes: number): Promise<PtTensors> {
  const none = (): never => {
    throw new PickleError('legacy header pickles must not refer to storages');
  };
  const magic = unpickle(prefix, { persistentLoad: none });
  if (typeof magic.value !== 'bigint' || magic.value !== LEGACY_MAGIC) {
    throw new BadFileError(file, 'not a torch.save file (neither a zip archive nor the legacy magic number)');
  }
  const protocol = unpickle(prefix, { persistentLoad: none, offset: magic.end });
  if (protocol.value !== LEGACY_PROTOCOL) throw new BadFileError(file, `legacy protocol ${String(protocol.value)} is not ${LEGACY_PROTOCOL}`);
  const sysInfo = unpickle(prefix, { persistentLoad: none, offset: protocol.end });
  const info = sysInfo.value instanceof Map ? sysInfo.value : new Map();
  const bigEndian = info.get('little_endian') === false;
  const dtypes = new Map<string, string>();
  const main = unpickle(prefix, {
    offset: sysInfo.end,
    persistentLoad: (pid) => {
      const s = storageFromPid(pid, true);
      dtypes.set(s.key, s.dtype);
      return s;
    },
  });
  const keys = unpickle(prefix, { persistentLoad: none, offset: main.end });
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) {
    throw new BadFileError(file, 'legacy storage key list is malformed');
  }
  const storages = new Map<string, StorageBytes>();
  let pos = keys.end;
  const numelBuf = Buffer.alloc(8);
  for (const key of keys.value as string[]) {
    const dtype = dtypes.get(key);
    if (!dtype) throw new BadFileError(file, `legacy storage ${key} is listed but never used`);
    const { bytesRead } = await fh.read(numelBuf, 0, 8, pos);
    if (bytesRead < 8) throw new BadFileError(file, `file ends inside the header of storage ${key}`);
    const numel = Number(bigEndian ? numelBuf.readBigInt64BE(0) : numelBuf.readBigInt64LE(0));
    const bytes = numel * (dtypeBytes(dtype) as number);
    if (numel < 0 || pos + 8 + bytes > fileBytes) {
      throw new BadFileError(file, `storage ${key} (${numel} elements) runs past the end of the file (${fileBytes} bytes)`);
    }
    storages.set(key, { byteOffset: pos + 8, bytes });
    pos += 8 + bytes;
  }
  return withStubs(toLocations(file, main.value, storages, bigEndian), main.stubbed);
}

/** Lists every tensor of a torch.save file (zip or legacy layout) without reading tensor data. */
export async function readPtFile(file: string): Promise<PtTensors> {
  const fh = await open(file, 'r');
  let isZip = false;
  try {
    const fileBytes = (await fh.stat()).size;
    const head = Buffer.alloc(Math.min(4, fileBytes));
    await fh.read(head, 0, head.length, 0);
    isZip = head.length === 4 && head.readUInt32LE(0) === 0x04034b50;
    if (!isZip) {
      if (head.length > 0 && head[0] === 0x80) return await readLegacyPt(file, fh, fileBytes);
      throw new BadFileError(file, fileBytes === 0 ? 'file is empty' : 'not a torch.save file (neither a zip archive nor a pickle)');
    }
  } finally {
    await fh.close();
  }
  return readZipPt(file);
}
