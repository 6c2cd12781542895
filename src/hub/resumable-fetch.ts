import { createReadStream } from 'node:fs';

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
  /**
   * The first bytes of the file, left on disk by an interrupted earlier run: the first
   * whole-file GET then asks only for the rest and the body starts with these bytes.
   */
  partial?: { path: string; bytes: number };
}

function rangeStart(res: Response): number | undefined {
  const m = /^bytes (\d+)-\d+\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
  return m ? Number(m[1]) : undefined;
}

function rangeTotal(res: Response): number {
  return Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1] ?? NaN);
}

/**
 * A fetch for the hub library: a whole-file GET whose connection drops mid-body is resumed
 * with `Range: bytes=<received>-` (guarded by If-Range on the ETag), and a download an earlier
 * run left half done continues where it stopped, so the library sees one uninterrupted body.
 * Everything else passes through untouched. The content is checked afterwards (verify-blob).
 */
export function resumableFetch(params: ResumableFetchParams = {}): typeof fetch {
  const base = params.fetch ?? globalThis.fetch;
  const maxAttempts = params.maxAttempts ?? MAX_RESUME_ATTEMPTS;
  let pendingPartial = params.partial;
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    const method = (init?.method ?? 'GET').toUpperCase();
    const whole = method === 'GET' && !headers.has('range');
    const partial = whole && pendingPartial && pendingPartial.bytes > 0 ? pendingPartial : undefined;
    if (partial) pendingPartial = undefined;

    let res: Response;
    let prefix: { path: string; bytes: number } | undefined;
    if (partial) {
      const ranged = new Headers(headers);
      ranged.set('Range', `bytes=${partial.bytes}-`);
      res = await base(input, { ...init, headers: ranged });
      if (res.status === 206 && rangeStart(res) === partial.bytes) {
        prefix = partial;
        params.onResume?.(partial.bytes);
      } else if (res.status !== 200) {
        // The leftover does not fit this file (416: it is as long as the file or longer): start over.
        await res.body?.cancel();
        res = await base(input, init);
      }
    } else {
      res = await base(input, init);
    }
    if (!whole || !res.body || (res.status !== 200 && !prefix)) return res;

    const total = prefix ? rangeTotal(res) : Number(res.headers.get('content-length') ?? NaN);
    const url = res.url || (input instanceof Request ? input.url : String(input));
    const etag = res.headers.get('etag');
    let current = res;
    let received = 0;
    let attempts = 0;

    async function* chunks(): AsyncGenerator<Uint8Array> {
      if (prefix) {
        for await (const chunk of createReadStream(prefix.path, { start: 0, end: prefix.bytes - 1 })) {
          const bytes = new Uint8Array(chunk as Buffer);
          received += bytes.byteLength;
          params.onBytes?.(bytes.byteLength);
          yield bytes;
        }
      }
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
          if (err instanceof EsmmError) throw err;
          if (!Number.isFinite(total) || attempts >= maxAttempts) {
            throw new EsmmError('NETWORK', `download ${url}: ${(err as Error).message} (after ${attempts} resumes)`, { cause: err });
          }
          attempts++;
          params.onResume?.(received);
          const retry = new Headers(headers);
          retry.set('Range', `bytes=${received}-`);
          if (etag && !etag.startsWith('W/')) retry.set('If-Range', etag);
          current = await base(url, { ...init, headers: retry });
          if (current.status !== 206 || rangeStart(current) !== received || !current.body) {
            await current.body?.cancel();
            throw new EsmmError('NETWORK', `download ${url}: cannot resume at byte ${received} (HTTP ${current.status})`);
          }
        } finally {
          // A no-op on a body read to the end; frees the connection when the reader stops early.
          void reader.cancel().catch(() => undefined);
        }
      }
    }

    const outHeaders = new Headers(res.headers);
    outHeaders.delete('content-range');
    if (Number.isFinite(total)) outHeaders.set('content-length', String(total));
    return new Response(ReadableStream.from(chunks()), { status: 200, headers: outHeaders });
  };
}
