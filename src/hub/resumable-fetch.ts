import { EsmmError } from '../errors.js';

/** How many times one body download may be resumed after the connection drops. */
export const MAX_RESUME_ATTEMPTS = 5;

export interface ResumableFetchParams {
  fetch?: typeof fetch;
  /** Called with the size of every chunk of a whole-file body as it arrives. */
  onBytes?: (bytes: number) => void;
  /** Called once per resume with the byte offset it restarts from. */
  onResume?: (offset: number) => void;
  maxAttempts?: number;
}

/**
 * A fetch for the hub library: a whole-file GET whose connection drops mid-body is resumed
 * with `Range: bytes=<received>-` (guarded by If-Range on the ETag), so the library sees one
 * uninterrupted body. Everything else passes through untouched.
 */
export function resumableFetch(params: ResumableFetchParams = {}): typeof fetch {
  const base = params.fetch ?? globalThis.fetch;
  const maxAttempts = params.maxAttempts ?? MAX_RESUME_ATTEMPTS;
  return async (input, init) => {
    const res = await base(input, init);
    const headers = new Headers(init?.headers);
    const method = (init?.method ?? 'GET').toUpperCase();
    if (method !== 'GET' || headers.has('range') || res.status !== 200 || !res.body) return res;
    const total = Number(res.headers.get('content-length') ?? NaN);
    const url = res.url || (input instanceof Request ? input.url : String(input));
    const etag = res.headers.get('etag');
    let current = res;
    let received = 0;
    let attempts = 0;

    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (;;) {
        const reader = current.body!.getReader();
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            received += value.byteLength;
            params.onBytes?.(value.byteLength);
            yield value;
          }
          if (!Number.isFinite(total) || received === total) return;
          if (received > total) throw new EsmmError('INTEGRITY', `download ${url}: got ${received} bytes, more than the announced ${total}`);
          throw new Error(`connection closed after ${received} of ${total} bytes`);
        } catch (err) {
          if (err instanceof EsmmError || !Number.isFinite(total) || attempts >= maxAttempts) {
            if (err instanceof EsmmError) throw err;
            throw new EsmmError('NETWORK', `download ${url}: ${(err as Error).message} (after ${attempts} resumes)`, { cause: err });
          }
          attempts++;
          params.onResume?.(received);
          const retry = new Headers(headers);
          retry.set('Range', `bytes=${received}-`);
          if (etag && !etag.startsWith('W/')) retry.set('If-Range', etag);
          current = await base(url, { ...init, headers: retry });
          const range = current.headers.get('content-range') ?? '';
          if (current.status !== 206 || !range.startsWith(`bytes ${received}-`) || !current.body) {
            await current.body?.cancel();
            throw new EsmmError('NETWORK', `download ${url}: cannot resume at byte ${received} (HTTP ${current.status} ${range})`);
          }
        } finally {
          // A no-op on a body read to the end; frees the connection when the reader stops early.
          void reader.cancel().catch(() => undefined);
        }
      }
    }

    return new Response(ReadableStream.from(chunks()), { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}
