import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { z } from 'zod';

import { BadFileError, EsmmError } from '../errors.js';
import { packageRoot } from '../version.js';
import { architectureById, type Architecture } from './architectures.js';

/** The schema file that sits beside the manifests (kept equal to `manifestJsonSchema()` by a test). */
export const MANIFEST_SCHEMA_FILE = 'manifest.schema.json';

const orientation = z.enum(['linear', 'raw']);
const dim = z.number().int().positive();

const linearRule = z.strictObject({
  pattern: z
    .string()
    .min(1)
    .describe('JavaScript regex on the tensor name; named groups `layer` and `module` become labels'),
  orientation: orientation.optional().describe('Overrides the default orientation for the tensors this pattern matches'),
});

export const ManifestSchema = z
  .strictObject({
    $schema: z.string().optional(),
    repo: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/)
      .describe('Hugging Face model id, <org>/<name>'),
    revision: z
      .string()
      .min(1)
      .describe('Pinned 40-hex commit sha, or a branch name when the commit is not pinned (say why in notes)'),
    architecture: z.string().min(1).describe('Built-in architecture id (llama, gpt2, opt, bert); its rules apply unless `linear` is given'),
    orientation: orientation.optional().describe("Default orientation of the linear weights; default: the architecture's"),
    linear: z.array(linearRule).min(1).optional().describe("Which tensors are linear layers; default: the architecture's"),
    labels: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string())
      .optional()
      .describe('Labels added to every row (e.g. pruner, sparsity); they win over labels derived from names'),
    config: z
      .strictObject({
        hidden_size: dim,
        intermediate_size: dim,
        num_hidden_layers: dim,
        num_attention_heads: dim,
        num_key_value_heads: dim.optional(),
        vocab_size: dim.optional(),
      })
      .optional()
      .describe("The checkpoint's config.json sizes, for the reader"),
    expect: z
      .array(
        z.strictObject({
          module: z.string().min(1).describe('The `module` label, e.g. self_attn.q_proj'),
          shape: z.tuple([dim, dim]).describe('Shape as stored in the file'),
          count: dim.describe('How many tensors (one per layer)'),
        }),
      )
      .optional()
      .describe('Shapes the plan must find; a mismatch is reported before anything is downloaded'),
    notes: z.string().optional(),
  })
  .refine((m) => m.linear !== undefined || architectureById(m.architecture) !== undefined, {
    message: 'unknown architecture and no `linear` rules',
    path: ['architecture'],
  });

export type Manifest = z.infer<typeof ManifestSchema>;

/** The JSON Schema of a manifest, for editors (`$schema`) and the README. */
export function manifestJsonSchema(): unknown {
  return z.toJSONSchema(ManifestSchema, { io: 'input' });
}

export function defaultManifestDir(): string {
  return join(packageRoot(), 'weights-manifest');
}

/** Validates one manifest; a bad one is a BadFileError naming the file and the field. */
export function parseManifest(text: string, file: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new BadFileError(file, `not valid JSON (${(err as Error).message})`);
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BadFileError(file, `invalid manifest: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'unknown'}`);
  }
  for (const rule of parsed.data.linear ?? []) {
    try {
      new RegExp(rule.pattern);
    } catch (err) {
      throw new BadFileError(file, `invalid manifest: linear pattern ${rule.pattern}: ${(err as Error).message}`);
    }
  }
  return parsed.data;
}

export interface LoadedManifest {
  file: string;
  manifest: Manifest;
}

/** Every manifest in a folder (the schema file excepted); two for one repo is an error. */
export function loadManifests(dir: string = defaultManifestDir()): LoadedManifest[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json') && n !== MANIFEST_SCHEMA_FILE).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: LoadedManifest[] = [];
  const byRepo = new Map<string, string>();
  for (const name of names) {
    const file = join(dir, name);
    const manifest = parseManifest(readFileSync(file, 'utf8'), file);
    const key = manifest.repo.toLowerCase();
    const other = byRepo.get(key);
    if (other !== undefined) throw new BadFileError(file, `manifest for ${manifest.repo} also given by ${other}`);
    byRepo.set(key, file);
    out.push({ file, manifest });
  }
  return out;
}

/** The manifest for a repo id (case-insensitive, as the hub is), if any. */
export function findManifest(repo: string, dir?: string): LoadedManifest | undefined {
  return loadManifests(dir).find((m) => m.manifest.repo.toLowerCase() === repo.toLowerCase());
}

/** A manifest file given on the command line. */
export function readManifestFile(file: string): LoadedManifest {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new EsmmError('NOT_FOUND', `cannot read manifest ${file}: ${(err as Error).message}`, { file });
  }
  return { file, manifest: parseManifest(text, file) };
}

/** The rules a manifest stands for: its own, else its architecture's, with its overrides. */
export function manifestArchitecture(manifest: Manifest): Architecture {
  const base = architectureById(manifest.architecture);
  return {
    id: manifest.architecture,
    modelTypes: base?.modelTypes ?? [],
    architectures: base?.architectures ?? [],
    orientation: manifest.orientation ?? base?.orientation ?? 'linear',
    linear: manifest.linear ?? base?.linear ?? [],
  };
}
