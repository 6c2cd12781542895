import { HubApiError, SafetensorParseError } from '@huggingface/hub';

import { EsmmError } from '../errors.js';

/** Maps what the hub library throws to one clear EsmmError: "<what failed>: <why>". */
export function hubError(err: unknown, what: string): EsmmError {
  if (err instanceof EsmmError) return err;
  if (err instanceof HubApiError) {
    const why = err.message.split('. URL:')[0] ?? err.message;
    if (err.statusCode === 401 || err.statusCode === 403) {
      return new EsmmError('NETWORK', `${what}: access denied (HTTP ${err.statusCode}; a gated or private repo needs HF_TOKEN with access): ${why}`, { cause: err });
    }
    if (err.statusCode === 404) return new EsmmError('NOT_FOUND', `${what}: not found on the hub (HTTP 404): ${why}`, { cause: err });
    return new EsmmError('NETWORK', `${what}: HTTP ${err.statusCode}: ${why}`, { cause: err });
  }
  if (err instanceof SafetensorParseError) return new EsmmError('BAD_FILE', `${what}: ${err.message}`, { cause: err });
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e instanceof TypeError && /fetch failed|terminated/.test(e.message)) {
    const cause = e.cause?.code ?? e.cause?.message ?? e.message;
    return new EsmmError('NETWORK', `${what}: cannot reach the hub (${cause}); use --offline to run from the cache`, { cause: err });
  }
  return new EsmmError('INTERNAL', `${what}: ${e?.message ?? String(err)}`, { cause: err });
}
