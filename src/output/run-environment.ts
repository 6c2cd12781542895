/** What a run record says about the machine: the facts that change a timing between two runs. */
export interface RunEnvironment {
  card: string | null;
  driver: string | null;
  cuda: string | null;
  cublas: string | null;
  /** Maximum SM and memory clocks, MHz, as "sm/mem". */
  clocks: string | null;
  /** Power limit, watts. */
  powerLimit: string | null;
}

export const ENVIRONMENT_FIELDS = ['card', 'driver', 'cuda', 'cublas', 'clocks', 'powerLimit'] as const;

type Json = Record<string, unknown>;

const obj = (v: unknown): Json | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null);
const str = (v: unknown): string | null => (typeof v === 'number' ? String(v) : typeof v === 'string' && v !== '' ? v : null);

/**
 * The environment of a run from its sidecar (run-pipeline / run-sweep write them): the card
 * it ran on, driver, CUDA runtime and cuBLAS versions, clocks and power limit (nvidia-smi
 * before the run, else the device query). On the cpu backend the card is the CPU with its
 * thread count.
 */
export function runEnvironment(record: unknown, fallbackCard: string | null = null): RunEnvironment {
  const r = obj(record) ?? {};
  const params = obj(r.params) ?? {};
  const native = obj(r.native) ?? {};
  const deviceIndex = typeof params.device === 'number' ? params.device : 0;
  const nvml = obj(r.nvml);
  const before = Array.isArray(nvml?.before) ? (nvml.before as unknown[]).map(obj) : [];
  const smi = before.find((g) => g?.index === deviceIndex) ?? before[0] ?? null;
  const devices = Array.isArray(r.devices) ? (r.devices as unknown[]).map(obj) : [];
  const device = devices.find((d) => d?.index === deviceIndex) ?? null;
  const cpu = params.backend === 'cpu';

  const khzToMhz = (v: unknown): string | null => (typeof v === 'number' ? String(Math.round(v / 1000)) : null);
  const sm = str(smi?.['clocks.max.sm']) ?? khzToMhz(device?.smClockKHz);
  const mem = str(smi?.['clocks.max.mem']) ?? khzToMhz(device?.memoryClockKHz);
  return {
    card: cpu ? (typeof native.cpuThreads === 'number' ? `cpu (${native.cpuThreads} threads)` : 'cpu') : (str(device?.name) ?? str(smi?.name) ?? fallbackCard),
    driver: cpu ? null : (str(smi?.driver_version) ?? str(obj(native.cuda)?.driverVersion)),
    cuda: cpu ? null : str(obj(native.cuda)?.runtimeVersion),
    cublas: cpu ? null : str(obj(native.cublas)?.version),
    clocks: cpu || (sm === null && mem === null) ? null : `${sm ?? '?'}/${mem ?? '?'} MHz`,
    powerLimit: cpu ? null : str(smi?.['power.limit']) !== null ? `${str(smi?.['power.limit'])} W` : null,
  };
}

/** The fields whose values differ between two environments (unknown on both sides is no difference). */
export function environmentDifferences(a: RunEnvironment, b: RunEnvironment): (typeof ENVIRONMENT_FIELDS)[number][] {
  return ENVIRONMENT_FIELDS.filter((f) => a[f] !== b[f]);
}
