/** Stable error codes. The CLI maps them to exit codes (2 for usage, 1 otherwise). */
export type ErrorCode =
  | 'USAGE'
  | 'BAD_FILE'
  | 'UNSUPPORTED'
  | 'UNSAFE_PICKLE'
  | 'NOT_FOUND'
  | 'NO_BACKEND'
  | 'NO_DEVICE'
  | 'OUT_OF_MEMORY'
  | 'CUDA_ERROR'
  | 'CUBLAS_ERROR'
  | 'SHAPE'
  | 'CACHE'
  | 'NETWORK'
  | 'OFFLINE'
  | 'INTEGRITY'
  | 'INTERNAL';

/** Base error: a message of the form "<what failed> <path>: <why>" and a stable code. */
export class EsmmError extends Error {
  readonly code: ErrorCode;
  readonly file?: string;
  constructor(code: ErrorCode, message: string, options?: { file?: string; cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'EsmmError';
    this.code = code;
    if (options?.file !== undefined) this.file = options.file;
  }
}

export class UsageError extends EsmmError {
  constructor(message: string) {
    super('USAGE', message);
    this.name = 'UsageError';
  }
}

/** A malformed or unsupported weight file. */
export class BadFileError extends EsmmError {
  constructor(file: string, why: string, code: ErrorCode = 'BAD_FILE') {
    super(code, `${file}: ${why}`, { file });
    this.name = 'BadFileError';
  }
}

/** One line for the user, whatever was thrown. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? String(err);
  return String(err);
}

export function errorCode(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return 'INTERNAL';
}
