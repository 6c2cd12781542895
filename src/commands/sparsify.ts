import { Option, type Command } from 'commander';
import { z } from 'zod';

import { UsageError } from '../errors.js';
import { parseSparsifier } from '../activations/parse-sparsifier.js';
import { forwardDeviceOf, resolveCaptureBackend } from '../activations/resolve-capture-backend.js';
import { resolveModelFolder } from '../activations/resolve-model-folder.js';
import { sparsifyDump, type SparsifyResult } from '../activations/sparsify-dump.js';

const optionsSchema = z.object({
  method: z.string().min(1),
  model: z.string().min(1),
  out: z.string().min(1).optional(),
  hfCache: z.string().min(1).optional(),
  offline: z.boolean().optional(),
  json: z.boolean().optional(),
  backend: z.enum(['auto', 'cpu', 'cuda']).optional(),
});

/** `esmm-bench sparsify <dump>`: thresholds from the dump, a second forward pass with them applied, a new dump. */
export async function sparsifyCommand(
  dump: string,
  raw: unknown,
  write: (line: string) => void,
  resolve: typeof resolveCaptureBackend = resolveCaptureBackend,
): Promise<SparsifyResult & { backend: 'cpu' | 'cuda' }> {
  const parsed = optionsSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(`sparsify: ${parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const opts = parsed.data;
  const sparsifier = parseSparsifier(opts.method);
  const folder = await resolveModelFolder(opts.model, { ...(opts.hfCache ? { hfCache: opts.hfCache } : {}), ...(opts.offline ? { offline: true } : {}) });
  const out = opts.out ?? dump.replace(/(\.safetensors)?$/, `.${opts.method.replace(':', '-')}.safetensors`);
  // Both forward passes where capture would run them: on the GPU for a model of real size.
  const resolved = resolve(opts.backend ?? 'auto');
  const { backend } = resolved;
  const result = { ...(await sparsifyDump({ dump, dir: folder.dir, sparsifier, spec: opts.method, out, ...forwardDeviceOf(resolved) })), backend };
  if (opts.json) {
    write(JSON.stringify({ out, method: opts.method, backend, quality: result.quality, modules: result.modules }));
    return result;
  }
  const q = result.quality;
  write(`${opts.method}: max logit drift ${q.maxLogitDrift.toPrecision(4)}, KL ${q.klDivergence.toPrecision(4)} nats/token, top-1 agreement ${(100 * q.top1Agreement).toFixed(1)}% → ${out}`);
  write('module  threshold  element_sparsity  a_tile_density');
  for (const m of result.modules) {
    write(`${m.module}  ${m.threshold < 0 ? '-' : m.threshold.toPrecision(4)}  ${(100 * m.elementSparsity).toFixed(1)}%  ${(100 * m.aTileDensity).toFixed(1)}%`);
  }
  return result;
}

export function registerSparsify(program: Command): void {
  program
    .command('sparsify')
    .description('sparsify the activations of a dump (native, teal:<s>, block:<s>) and measure the quality cost')
    .argument('<dump>', 'activation dump written by capture')
    .requiredOption('--method <m>', 'native | teal:<s> (per-layer magnitude threshold) | block:<s> (zero the weakest 32-token×k column segments)')
    .requiredOption('--model <folder>', 'the model the dump came from: HF-layout folder or org/name[@revision]')
    .option('--out <file>', 'sparsified dump (default <dump>.<method>.safetensors)')
    .option('--hf-cache <dir>', 'HF cache root for org/name')
    .option('--offline', 'take org/name only from the HF cache; never download')
    .option('--json', 'print one JSON document')
    .addOption(new Option('--backend <b>', 'where the two forward passes run: cuda (every step on the GPU), cpu, or auto (cuda when usable)').choices(['auto', 'cpu', 'cuda']).default('auto'))
    .action(async (dump: string, raw: Record<string, unknown>) => {
      await sparsifyCommand(dump, raw, (line) => void process.stdout.write(line + '\n'));
    });
}
