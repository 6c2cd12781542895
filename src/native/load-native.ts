import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { EsmmError, type ErrorCode } from '../errors.js';
import { packageRoot } from '../version.js';
import type { DeviceTensors, NativeBinding } from './types.js';

/** Where cmake-js puts the addon, relative to the package root. */
export const ADDON_RELATIVE_PATH = join('build', 'Release', 'esmm_native.node');

/** Codes the addon rejects with; anything else is reported as INTERNAL. */
const NATIVE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'NO_DEVICE',
  'OUT_OF_MEMORY',
  'CUDA_ERROR',
  'CUBLAS_ERROR',
  'SHAPE',
  'NO_BACKEND',
  'USAGE',
  'INTERNAL',
]);

const require = createRequire(import.meta.url);
let cached: NativeBinding | undefined;

/**
 * The native addon (build/Release/esmm_native.node under the package root), loaded once.
 * `ESMM_NATIVE_ADDON` names another build of it. Throws EsmmError('NO_BACKEND') listing every
 * likely cause when it cannot be loaded.
 */
export function loadNative(): NativeBinding {
  if (cached) return cached;
  const file = process.env.ESMM_NATIVE_ADDON || join(packageRoot(), ADDON_RELATIVE_PATH);
  let raw: NativeBinding;
  try {
    raw = require(file) as NativeBinding;
  } catch (err) {
    throw new EsmmError('NO_BACKEND', explainLoadFailure(file, err), { file, cause: err });
  }
  cached = wrapBinding(raw);
  return cached;
}

function explainLoadFailure(file: string, err: unknown): string {
  const fix = 'Fix: run `npm run build:native` in the package folder (needs cmake ≥ 3.18 and a C++17 compiler; nvcc for the CUDA backend).';
  if (!existsSync(file)) return `native addon ${file}: not built. ${fix}`;
  const why = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
  const causes = [
    'a stale or partial build (e.g. an undefined symbol)',
    'a build from another machine, CPU architecture or Node.js version (wrong ELF class, file too short, NODE_MODULE_VERSION)',
    "a CUDA library it links (cuBLAS) missing at run time: set LD_LIBRARY_PATH to the CUDA toolkit's lib64, or rebuild here",
  ];
  return `native addon ${file} could not be loaded: ${why}. Possible causes: ${causes.join('; ')}. ${fix}`;
}

/** A JS error from the addon as an EsmmError with its code, thrown with the caller's stack. */
function toEsmmError(err: unknown, callSite: { stack?: string }): EsmmError {
  const message = err instanceof Error ? err.message : String(err);
  const raw = err && typeof err === 'object' && 'code' in err ? String((err as { code: unknown }).code) : 'INTERNAL';
  const code: ErrorCode = NATIVE_CODES.has(raw as ErrorCode) ? (raw as ErrorCode) : 'INTERNAL';
  const wrapped = new EsmmError(code, message, { cause: err });
  const frames = (callSite.stack ?? '').split('\n').slice(1).join('\n');
  wrapped.stack = `${wrapped.name} [${code}]: ${message}\n${frames}`;
  return wrapped;
}

function wrapBinding(raw: NativeBinding): NativeBinding {
  const sync = <A extends unknown[], R>(fn: (...args: A) => R) => {
    const wrapped = (...args: A): R => {
      const callSite: { stack?: string } = {};
      Error.captureStackTrace(callSite, wrapped);
      try {
        return fn.apply(raw, args);
      } catch (err) {
        throw toEsmmError(err, callSite);
      }
    };
    return wrapped;
  };
  const async = <P, R>(fn: (params: P) => Promise<R>) => {
    const wrapped = async (params: P): Promise<R> => {
      const callSite: { stack?: string } = {};
      Error.captureStackTrace(callSite, wrapped);
      try {
        return await fn.call(raw, params);
      } catch (err) {
        throw toEsmmError(err, callSite);
      }
    };
    return wrapped;
  };
  return {
    info: sync(raw.info),
    devices: sync(raw.devices),
    computePatterns: async(raw.computePatterns),
    benchmark: async(raw.benchmark),
    ...(typeof raw.benchmarkSync === 'function' ? { benchmarkSync: sync(raw.benchmarkSync) } : {}),
    gemm:
      typeof raw.gemm === 'function'
        ? async(raw.gemm)
        : () => Promise.reject(new EsmmError('NO_BACKEND', 'this build of the native addon has no gemm: rebuild it with `npm run build:native`')),
    deviceTensors: wrapDeviceTensors(raw.deviceTensors, async),
  };
}

const DEVICE_TENSOR_STEPS = [
  'upload', 'download', 'free', 'embed', 'linear', 'rmsNorm', 'layerNorm', 'rope', 'attention', 'activation', 'gatedActivation', 'add', 'sliceColumns',
] as const satisfies ReadonlyArray<keyof DeviceTensors>;

/** Every step wrapped like the other async exports; an addon built before deviceTensors rejects each with NO_BACKEND. */
function wrapDeviceTensors(raw: DeviceTensors | undefined, wrap: <P, R>(fn: (params: P) => Promise<R>) => (params: P) => Promise<R>): DeviceTensors {
  const steps = Object.fromEntries(
    DEVICE_TENSOR_STEPS.map((name) => {
      const fn = raw?.[name] as ((params: unknown) => Promise<unknown>) | undefined;
      const step =
        typeof fn === 'function'
          ? wrap((params: unknown) => fn.call(raw, params))
          : () => Promise.reject(new EsmmError('NO_BACKEND', 'this build of the native addon has no deviceTensors: rebuild it with `npm run build:native`'));
      return [name, step];
    }),
  );
  return steps as unknown as DeviceTensors;
}
