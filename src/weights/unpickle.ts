import { BadFileError } from '../errors.js';

/**
 * A restricted unpickler: it interprets the opcodes `torch.save` emits (protocols 2–5) and
 * builds plain values. It never imports or calls anything: GLOBAL/STACK_GLOBAL resolve only
 * names on ALLOWED_GLOBALS to inert markers, and everything else is refused.
 */

/** A storage class such as torch.FloatStorage, carrying the safetensors spelling of its dtype. */
export interface StorageType {
  kind: 'storage-type';
  dtype: string;
}

/** What persistent_load returns for a storage; resolved to bytes by the file reader. */
export interface StorageRef {
  kind: 'storage';
  dtype: string;
  key: string;
  /** Elements in the storage. */
  numel: number;
  /** Legacy format only: this storage is a view of `key` starting at `viewOffset` elements. */
  viewOffset?: number;
}

export interface TensorValue {
  kind: 'tensor';
  storage: StorageRef;
  /** Elements from the start of the storage. */
  storageOffset: number;
  shape: number[];
  strides: number[];
}

/**
 * A class the allow-list does not know (a Lightning callback, an AttributeDict, an argparse
 * Namespace): an inert placeholder. It is never imported and never called; constructing it
 * gives a StubObject that keeps its items and state as plain data, so tensors inside it can
 * still be found.
 */
export interface StubClass {
  kind: 'stub-class';
  qualname: string;
}

export interface StubObject {
  kind: 'stub-object';
  qualname: string;
  /** Items set on it as on a dict (a dict subclass), and its BUILD state. */
  items: Map<unknown, unknown>;
  state: unknown[];
}

interface Callable {
  kind: 'callable';
  qualname: string;
  call: (args: unknown[]) => unknown;
}

/** Storage classes by the dtype their elements have (safetensors spelling). */
const STORAGE_DTYPES: Record<string, string> = {
  FloatStorage: 'F32',
  DoubleStorage: 'F64',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

function asIntArray(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x))) {
    throw new PickleError(`${what} is not a tuple of integers`);
  }
  return v as number[];
}

function rebuildTensor(args: unknown[]): TensorValue {
  const [storage, offset, size, stride] = args;
  if (!storage || typeof storage !== 'object' || (storage as StorageRef).kind !== 'storage') {
    throw new PickleError('tensor rebuild without a storage');
  }
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) {
    throw new PickleError('tensor rebuild with a bad storage offset');
  }
  const shape = asIntArray(size, 'tensor size');
  const strides = asIntArray(stride, 'tensor stride');
  if (shape.length !== strides.length) throw new PickleError('tensor size and stride differ in length');
  return { kind: 'tensor', storage: storage as StorageRef, storageOffset: offset, shape: [...shape], strides: [...strides] };
}

const ALLOWED_CALLABLES: Record<string, (args: unknown[]) => unknown> = {
  'torch._utils._rebuild_tensor_v2': rebuildTensor,
  'torch._utils._rebuild_tensor': rebuildTensor,
  'torch._utils._rebuild_parameter': (args) => args[0],
  'collections.OrderedDict': (args) => {
    const m = new Map<unknown, unknown>();
    if (Array.isArray(args[0])) for (const pair of args[0]) if (Array.isArray(pair)) m.set(pair[0], pair[1]);
    return m;
  },
  'torch.Size': (args) => (Array.isArray(args[0]) ? [...args[0]] : []),
};

/** The names a pickle may ask for; exported so the refusal message and docs stay in step. */
export const ALLOWED_GLOBALS: readonly string[] = [
  ...Object.keys(ALLOWED_CALLABLES),
  ...Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`),
];

/**
 * Modules whose names can run code, read files or reach the interpreter: refused outright,
 * never stubbed. Names under torch that are not on the allow-list are refused too
 * (torch.storage._load_from_bytes would run torch.load).
 */
const REFUSED_MODULES = new Set([
  '__builtin__', '__main__', '_codecs', '_io', '_pickle', '_posixsubprocess', 'asyncio', 'bdb', 'builtins', 'code',
  'codecs', 'codeop', 'commands', 'copyreg', 'copy_reg', 'ctypes', 'dill', 'distutils', 'ensurepip', 'functools', 'gc',
  'glob', 'http', 'imp', 'importlib', 'inspect', 'io', 'joblib', 'marshal', 'multiprocessing', 'nt', 'numpy.testing',
  'operator', 'os', 'pathlib', 'pdb', 'pickle', 'pip', 'pkgutil', 'platform', 'posix', 'pty', 'pydoc', 'runpy', 'setuptools',
  'shelve', 'shutil', 'signal', 'site', 'smtplib', 'socket', 'ssl', 'subprocess', 'sys', 'sysconfig', 'tempfile',
  'threading', 'timeit', 'torch', 'types', 'urllib', 'webbrowser', 'zipimport',
]);

function isRefusedModule(module: string): boolean {
  for (let m = module; m !== ''; m = m.includes('.') ? m.slice(0, m.lastIndexOf('.')) : '') {
    if (REFUSED_MODULES.has(m)) return true;
  }
  return false;
}

/** Raised inside the unpickler; the caller turns it into a BadFileError naming the file. */
export class PickleError extends Error {
  constructor(
    message: string,
    readonly unsafe = false,
  ) {
    super(message);
  }
}

/** The input ended before STOP: legacy readers retry with more bytes. */
export class PickleTruncatedError extends PickleError {
  constructor() {
    super('pickle data ends before its STOP opcode');
  }
}

function resolveGlobal(module: string, name: string, stubbed: Set<string>): Callable | StorageType | StubClass {
  const qualname = `${module}.${name}`;
  if (Object.hasOwn(ALLOWED_CALLABLES, qualname)) return { kind: 'callable', qualname, call: ALLOWED_CALLABLES[qualname] };
  if (module === 'torch' && Object.hasOwn(STORAGE_DTYPES, name)) {
    return { kind: 'storage-type', dtype: STORAGE_DTYPES[name] };
  }
  if (isRefusedModule(module) || !/^[A-Za-z_][\w.]*$/.test(qualname)) {
    throw new PickleError(`pickle asks for ${qualname}, which is not on the allow-list`, true);
  }
  stubbed.add(qualname);
  return { kind: 'stub-class', qualname };
}

function isStubClass(v: unknown): v is StubClass {
  return typeof v === 'object' && v !== null && (v as StubClass).kind === 'stub-class';
}

export function isStubObject(v: unknown): v is StubObject {
  return typeof v === 'object' && v !== null && (v as StubObject).kind === 'stub-object';
}

function stubObject(cls: StubClass, args: unknown): StubObject {
  return { kind: 'stub-object', qualname: cls.qualname, items: new Map(), state: [args] };
}

const MARK = Symbol('mark');

export interface UnpickleOptions {
  persistentLoad: (pid: unknown) => unknown;
  /** Where to start in `data`. */
  offset?: number;
}

export interface UnpickleResult {
  value: unknown;
  /** Classes that became inert placeholders, by qualified name. */
  stubbed: string[];
  /** Offset just past STOP, where a following pickle would begin. */
  end: number;
}

/** Interprets one pickle from `data`. Throws PickleError on anything unsafe or malformed. */
export function unpickle(data: Uint8Array, options: UnpickleOptions): UnpickleResult {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const decoder = new TextDecoder('utf-8');
  const latin1 = new TextDecoder('latin1');
  let pos = options.offset ?? 0;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const stubbed = new Set<string>();

  const need = (n: number): void => {
    if (pos + n > data.length) throw new PickleTruncatedError();
  };
  const u8 = (): number => {
    need(1);
    return data[pos++];
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = (): number => {
    need(4);
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new PickleError('pickle length field too large');
    return Number(v);
  };
  const bytes = (n: number): Uint8Array => {
    need(n);
    const b = data.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const line = (): string => {
    const nl = data.indexOf(0x0a, pos);
    if (nl < 0) throw new PickleTruncatedError();
    const s = latin1.decode(data.subarray(pos, nl));
    pos = nl + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0 || stack.length <= (marks.at(-1) ?? -1)) throw new PickleError('pickle stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw new PickleError('pickle stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) throw new PickleError('pickle MARK missing');
    return stack.splice(m);
  };
  const littleEndianSigned = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const parseIntLine = (s: string): number | bigint | boolean => {
    if (s === '00') return false;
    if (s === '01') return true;
    const t = s.endsWith('L') ? s.slice(0, -1) : s;
    if (!/^[-+]?\d+$/.test(t)) throw new PickleError(`pickle INT ${JSON.stringify(s)} is not an integer`);
    const v = BigInt(t);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (isStubObject(target)) target = target.items;
    if (!(target instanceof Map)) throw new PickleError('pickle SETITEM on something that is not a dict');
    for (let i = 0; i + 1 < items.length; i += 2) target.set(items[i], items[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[]): void => {
    if (!Array.isArray(target)) throw new PickleError('pickle APPEND on something that is not a list');
    target.push(...items);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) throw new PickleError('pickle protocol above 5');
        break;
      case 0x95: // FRAME: framing is only a read-ahead hint
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) throw new PickleError('pickle ends with a malformed stack');
        return { value: stack[0], end: pos, stubbed: [...stubbed] };
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        if (marks.length && marks.at(-1) === stack.length) marks.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x49: // INT
        stack.push(parseIntLine(line()));
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4c: // LONG
        stack.push(parseIntLine(line()));
        break;
      case 0x8a: // LONG1
        stack.push(littleEndianSigned(bytes(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(littleEndianSigned(bytes(i32())));
        break;
      case 0x46: // FLOAT
        stack.push(Number.parseFloat(line()));
        break;
      case 0x47: {
        // BINFLOAT (big-endian)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x53: {
        // STRING: a quoted Python literal; only simple quoting is accepted
        const s = line();
        const m = /^(['"])(.*)\1$/s.exec(s);
        if (!m) throw new PickleError('pickle STRING is not quoted');
        stack.push(m[2]);
        break;
      }
      case 0x54: // BINSTRING
        stack.push(latin1.decode(bytes(i32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1.decode(bytes(u8())));
        break;
      case 0x56: // UNICODE (raw-unicode-escape; ASCII suffices for state-dict keys)
        stack.push(line());
        break;
      case 0x58: // BINUNICODE
        stack.push(decoder.decode(bytes(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(decoder.decode(bytes(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(decoder.decode(bytes(u64())));
        break;
      case 0x42: // BINBYTES
        stack.push(bytes(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(bytes(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(bytes(u64()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        stack.push([a, b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push([a, b, c]);
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const m = new Map();
        setItems(m, items);
        stack.push(m);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) throw new PickleError('pickle ADDITEMS on something that is not a set');
        for (const it of items) s.add(it);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(new Set(popMark()));
        break;
      case 0x67: {
        // GET
        const k = Number.parseInt(line(), 10);
        if (!memo.has(k)) throw new PickleError(`pickle memo ${k} is missing`);
        stack.push(memo.get(k));
        break;
      }
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) throw new PickleError(`pickle memo ${k} is missing`);
        stack.push(memo.get(k));
        break;
      }
      case 0x70: // PUT
        memo.set(Number.parseInt(line(), 10), top());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        stack.push(resolveGlobal(module, name, stubbed));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') {
          throw new PickleError('pickle STACK_GLOBAL without string names');
        }
        stack.push(resolveGlobal(module, name, stubbed));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop() as Callable | StorageType | StubClass | undefined;
        if (isStubClass(fn)) {
          stack.push(stubObject(fn, args));
          break;
        }
        if (!fn || typeof fn !== 'object' || (fn as Callable).kind !== 'callable') {
          throw new PickleError('pickle REDUCE on something that is not an allowed function', true);
        }
        if (!Array.isArray(args)) throw new PickleError('pickle REDUCE arguments are not a tuple');
        stack.push((fn as Callable).call(args));
        break;
      }
      case 0x62: {
        // BUILD: a state dict's OrderedDict carries `_metadata` as instance state, which is
        // inert data and dropped; state on anything else would mean running a __setstate__.
        const state = pop();
        const target = top();
        if (isStubObject(target)) {
          target.state.push(state);
          break;
        }
        const inert = state === null || (state instanceof Map && (target instanceof Map || state.size === 0));
        if (!inert) throw new PickleError('pickle BUILD sets object state, which is not on the allow-list', true);
        break;
      }
      case 0x50: // PERSID
        stack.push(options.persistentLoad(line()));
        break;
      case 0x51: // BINPERSID
        stack.push(options.persistentLoad(pop()));
        break;
      case 0x81: {
        // NEWOBJ: cls.__new__(cls, *args); only a placeholder class may be constructed
        const args = pop();
        const cls = pop();
        if (!isStubClass(cls)) {
          throw new PickleError(`pickle constructs an object (opcode 0x${op.toString(16)}), which is not on the allow-list`, true);
        }
        stack.push(stubObject(cls, args));
        break;
      }
      case 0x92: // NEWOBJ_EX
      case 0x69: // INST
      case 0x6f: // OBJ
        throw new PickleError(`pickle constructs an object (opcode 0x${op.toString(16)}), which is not on the allow-list`, true);
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: // EXT4
        throw new PickleError('pickle uses the extension registry, which is not on the allow-list', true);
      case 0x97: // NEXT_BUFFER
      case 0x98: // READONLY_BUFFER
        throw new PickleError('pickle uses out-of-band buffers, which are not supported');
      default:
        throw new PickleError(`unknown pickle opcode 0x${op.toString(16)} at byte ${pos - 1}`);
    }
  }
}

/** Re-throws a PickleError as a BadFileError naming `file`, with the right code. */
export function pickleFailure(file: string, err: unknown): never {
  if (err instanceof PickleError) {
    throw new BadFileError(file, err.message, err.unsafe ? 'UNSAFE_PICKLE' : 'BAD_FILE');
  }
  throw err;
}

export function isStorageType(v: unknown): v is StorageType {
  return typeof v === 'object' && v !== null && (v as StorageType).kind === 'storage-type';
}

export function isTensorValue(v: unknown): v is TensorValue {
  return typeof v === 'object' && v !== null && (v as TensorValue).kind === 'tensor';
}
