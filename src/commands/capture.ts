import { readFile } from 'node:fs/promises';

import { Option, type Command } from 'commander';
import { z } from 'zod';

import { UsageError } from '../errors.js';
import { captureActivations, type CaptureResult } from '../activations/capture-activations.js';
import { forwardDeviceOf, resolveCaptureBackend } from '../activations/resolve-capture-backend.js';
import { resolveModelFolder } from '../activations/resolve-model-folder.js';
import { tokenizeText } from '../activations/tokenize-text.js';

const optionsSchema = z.object({
  tokens: z.string().optional(),
  text: z.string().min(1).optional(),
  out: z.string().min(1).optional(),
  hfCache: z.string().min(1).optional(),
  offline: z.boolean().optional(),
  json: z.boolean().optional(),
  backend: z.enum(['auto', 'cpu', 'cuda']).optional(),
});

function parseTokens(s: string): number[] {
  const ids = s.split(',').map((x) => x.trim()).filter((x) => x !== '').map(Number);
  if (ids.length === 0 || ids.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new UsageError(`--tokens takes non-negative integer ids separated by commas, got '${s}'`);
  }
  return ids;
}

/** `esmm-bench capture <model>`: one forward pass, the input of every linear layer written as a dump. */
export async function captureCommand(
  source: string,
  raw: unknown,
  write: (line: string) => void,
  resolve: typeof resolveCaptureBackend = resolveCaptureBackend,
): Promise<CaptureResult & { backend: 'cpu' | 'cuda' }> {
  const parsed = optionsSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(`capture: ${parsed.error.issues[0].message}`);
  const opts = parsed.data;
  if ((opts.tokens === undefined) === (opts.text === undefined)) throw new UsageError('capture takes exactly one of --tokens and --text');
  const folder = await resolveModelFolder(source, { ...(opts.hfCache ? { hfCache: opts.hfCache } : {}), ...(opts.offline ? { offline: true } : {}) });
  let tokens: number[];
  if (opts.tokens !== undefined) {
    tokens = parseTokens(opts.tokens);
  } else {
    const text = await readFile(opts.text!, 'utf8').catch(() => {
      throw new UsageError(`--text ${opts.text}: no such file`);
    });
    tokens = await tokenizeText(folder.dir, text);
  }
  const out = opts.out ?? `out/activations/${folder.model.replace(/\//g, '--')}.safetensors`;
  const resolved = resolve(opts.backend ?? 'auto');
  const { backend } = resolved;
  const result = await captureActivations({
    dir: folder.dir,
    tokens,
    out,
    model: folder.model,
    revision: folder.revision,
    backend,
    ...forwardDeviceOf(resolved),
  });
  if (opts.json) {
    write(
      JSON.stringify({
        out,
        model: folder.model,
        revision: folder.revision,
        backend,
        tokens,
        modules: [...result.inputs].map(([module, t]) => ({ module, shape: t.shape, zeros: t.data.reduce((n, v) => n + (v === 0 ? 1 : 0), 0) })),
        top1: result.top1,
      }),
    );
  } else {
    write(`${folder.model}@${folder.revision}: ${tokens.length} tokens on ${backend}, ${result.inputs.size} linear inputs → ${out}`);
    for (const [module, t] of result.inputs) {
      const zeros = t.data.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
      write(`  input.${module}  [${t.shape.join(', ')}]  zeros ${((100 * zeros) / t.data.length).toFixed(2)}%`);
    }
    write(`logits top-1: ${result.top1.join(',')}`);
  }
  return { ...result, backend };
}

export function registerCapture(program: Command): void {
  program
    .command('capture')
    .description("run a checkpoint's own float32 forward pass and dump the input of every linear layer")
    .argument('<model>', 'HF-layout model folder (config.json + weights) or org/name[@revision]')
    .option('--tokens <ids>', 'token ids, comma-separated')
    .option('--text <file>', "text to tokenise with the folder's tokenizer.json")
    .option('--out <file>', 'activation dump to write (default out/activations/<model>.safetensors)')
    .option('--hf-cache <dir>', 'HF cache root for org/name (default $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)')
    .option('--offline', 'take org/name only from the HF cache; never download')
    .addOption(new Option('--backend <b>', 'where the forward pass runs: cuda (every step on the GPU, projections by cuBLAS SGEMM in float32), cpu, or auto (cuda when usable)').choices(['auto', 'cpu', 'cuda']).default('auto'))
    .option('--json', 'print one JSON document')
    .action(async (source: string, raw: Record<string, unknown>) => {
      await captureCommand(source, raw, (line) => void process.stdout.write(line + '\n'));
    });
}
