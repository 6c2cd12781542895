import { EsmmError } from '../errors.js';
import { architectureForConfig, BUILTIN_ARCHITECTURES, type Architecture, type ModelConfigJson } from './architectures.js';
import { manifestArchitecture, type LoadedManifest } from './manifest.js';

/** The linear-layer rules for a checkpoint: its manifest's, else the built-in rule for its config.json. */
export function resolveRules(
  repo: string,
  config: ModelConfigJson | undefined,
  manifest: LoadedManifest | undefined,
): { arch: Architecture; rules: string } {
  if (manifest) return { arch: manifestArchitecture(manifest.manifest), rules: `manifest ${manifest.file}` };
  if (!config) {
    throw new EsmmError('UNSUPPORTED', `cannot plan ${repo}: no config.json and no manifest, so which tensors are linear layers is unknown`);
  }
  const arch = architectureForConfig(config);
  if (!arch) {
    const known = BUILTIN_ARCHITECTURES.flatMap((a) => a.modelTypes).join(', ');
    throw new EsmmError(
      'UNSUPPORTED',
      `cannot plan ${repo}: config.json model_type ${JSON.stringify(config.model_type)} has no built-in rule (known: ${known}); write a manifest (weights-manifest/README.md)`,
    );
  }
  return { arch, rules: `config.json model_type=${String(config.model_type ?? arch.id)}` };
}
