import type { Command } from 'commander';

import { describeError, errorCode } from '../errors.js';
import { loadNative } from '../native/index.js';
import type { DeviceInfo, NativeBinding, NativeInfo } from '../native/types.js';
import { VERSION } from '../version.js';

export interface DoctorReport {
  toolkitVersion: string;
  node: string;
  /** null when the addon could not be loaded (then `addonError` says why). */
  addon: NativeInfo | null;
  addonError?: { code: string; message: string };
  devices: DeviceInfo[];
  /** One line: which backend a benchmark would use, and why. */
  verdict: string;
}

/** What the machine offers. Never throws for a missing GPU or addon: that is what it reports. */
export function doctor(deps: { native?: () => NativeBinding } = {}): DoctorReport {
  const report: DoctorReport = { toolkitVersion: VERSION, node: process.version, addon: null, devices: [], verdict: '' };
  let native: NativeBinding;
  try {
    native = (deps.native ?? loadNative)();
  } catch (err) {
    report.addonError = { code: errorCode(err), message: describeError(err) };
    report.verdict = 'no backend: the native addon is not usable (see above)';
    return report;
  }
  report.addon = native.info();
  report.devices = native.devices();
  if (!report.addon.backends.includes('cuda')) {
    report.verdict = 'cpu backend only: the addon was built without CUDA (nvcc not found at build time)';
  } else if (report.devices.length === 0) {
    report.verdict = `cpu backend only: no CUDA device (${report.addon.cuda?.error ?? 'none found'})`;
  } else {
    report.verdict = `cuda backend on ${report.devices.length} device(s)${report.addon.cublas ? '' : ', without cuBLAS baselines'}`;
  }
  return report;
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

export function formatDoctor(r: DoctorReport): string {
  const lines = [`esmm-bench ${r.toolkitVersion} (node ${r.node})`];
  if (r.addon === null) {
    lines.push(`addon:    not loaded [${r.addonError?.code}] ${r.addonError?.message}`);
  } else {
    const a = r.addon;
    lines.push(`addon:    ${a.addonVersion}, backends ${a.backends.join(', ')}`);
    for (const [backend, kernels] of Object.entries(a.kernels)) lines.push(`kernels:  ${backend}: ${kernels.join(', ')}`);
    if (a.cuda) {
      lines.push(`cuda:     runtime ${a.cuda.runtimeVersion || '?'}, driver ${a.cuda.driverVersion || 'none'}${a.cuda.error ? ` (${a.cuda.error})` : ''}`);
    }
    lines.push(`cublas:   ${a.cublas ? a.cublas.version : 'not linked'}`);
    lines.push(`cpu:      ${a.cpuThreads} threads`);
    if (r.devices.length === 0) lines.push('devices:  none');
    for (const d of r.devices) {
      lines.push(
        `device ${d.index}: ${d.name}, sm_${d.computeCapability.replace('.', '')} (${d.computeCapability}), ${d.smCount} SMs, ` +
          `${gib(d.totalMemoryBytes)}, L2 ${(d.l2CacheBytes / 2 ** 20).toFixed(0)} MiB` +
          (d.smClockKHz ? `, SM clock ${(d.smClockKHz / 1000).toFixed(0)} MHz` : '') +
          (d.pciBusId ? `, ${d.pciBusId}` : ''),
      );
    }
  }
  lines.push(`verdict:  ${r.verdict}`);
  return lines.join('\n');
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('show the native addon, its backends, CUDA/cuBLAS versions and the GPUs it sees')
    .option('--json', 'print the report as JSON')
    .action((opts: { json?: boolean }) => {
      const report = doctor();
      process.stdout.write((opts.json ? JSON.stringify(report, null, 2) : formatDoctor(report)) + '\n');
    });
}
