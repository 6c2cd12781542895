import type { DeviceTensor, DeviceTensors } from '../native/types.js';
import type { ForwardDevice } from './types.js';

/** The steps of DeviceTensors that make a tensor. */
type MakingStep = 'embed' | 'linear' | 'rmsNorm' | 'layerNorm' | 'attention' | 'gatedActivation' | 'sliceColumns';

/**
 * The device tensors of one forward pass: each tensor it uploads or makes is tracked until freed,
 * so the pass can hand back everything left, whether it ends or fails part-way.
 */
export class DeviceScope {
  readonly steps: DeviceTensors;
  private readonly device: number;
  private readonly live = new Set<DeviceTensor>();

  constructor(device: ForwardDevice) {
    this.steps = device.tensors;
    this.device = device.index;
  }

  async upload(data: Float32Array): Promise<DeviceTensor> {
    return this.track(await this.steps.upload({ data, device: this.device }));
  }

  async make<K extends MakingStep>(step: K, params: Parameters<DeviceTensors[K]>[0]): Promise<DeviceTensor> {
    const run = this.steps[step] as (p: typeof params) => Promise<DeviceTensor>;
    return this.track(await run.call(this.steps, params));
  }

  download(x: DeviceTensor): Promise<Float32Array> {
    return this.steps.download({ x });
  }

  /** Frees the tensors given (undefined entries are skipped). */
  async free(...xs: Array<DeviceTensor | undefined>): Promise<void> {
    const tensors = xs.filter((x): x is DeviceTensor => x !== undefined);
    if (tensors.length === 0) return;
    await this.steps.free({ tensors });
    for (const x of tensors) this.live.delete(x);
  }

  /** Frees every tensor still held. */
  close(): Promise<void> {
    return this.free(...this.live);
  }

  private track(x: DeviceTensor): DeviceTensor {
    this.live.add(x);
    return x;
  }
}

/**
 * Runs fn with a fresh scope on the device and frees what it leaves. When fn fails, its error is
 * the one thrown (a failure to free after it, a device reset say, is not).
 */
export async function withDeviceScope<T>(device: ForwardDevice, fn: (dev: DeviceScope) => Promise<T>): Promise<T> {
  const dev = new DeviceScope(device);
  let result: T;
  try {
    result = await fn(dev);
  } catch (err) {
    await dev.close().catch(() => {});
    throw err;
  }
  await dev.close();
  return result;
}
