/** What this addon was built with, and which GPUs this process can use. */
import { boolean, object, optional } from './validate';
import { native, type GpuStat, type NativeBuildInfo, type NativeDeviceInfo } from './native';

/** Facts fixed when the addon was compiled. */
export type BuildInfo = Readonly<NativeBuildInfo>;

/** One visible GPU. `supported` is false (with the reason) when our CUDA code cannot run on it. */
export type DeviceInfo = Readonly<NativeDeviceInfo>;

/** The GPUs this process can see; when there are none, `reason` says why ("no NVIDIA driver" ...). */
export interface DeviceList {
  readonly devices: readonly DeviceInfo[];
  readonly reason: string;
  /** CUDA driver API version (e.g. 13000), 0 when there is no driver. */
  readonly driverVersion: number;
}

/** Options of devices(). */
export interface DevicesOptions {
  /**
   * Run a one-thread probe kernel on each GPU to prove the addon has code for its architecture.
   * This creates a CUDA context per GPU (hundreds of MB of GPU memory each); off by default.
   */
  readonly checkImages?: boolean;
}

/** Package version, backends compiled in, CUDA version and GPU architectures of this addon. */
export function buildInfo(): BuildInfo {
  return native().buildInfo();
}

/** Lists the GPUs. Never throws on a machine without a GPU or driver: the list is empty and `reason` says why. */
export function devices(options: DevicesOptions = {}): DeviceList {
  object<DevicesOptions>({ checkImages: optional(boolean) }, { allowArray: true })(options, 'options');
  return native().devices(options.checkImages === true);
}

/** What the GPUs report now; when there are none (no driver), `reason` says why. */
export interface GpuStats {
  readonly gpus: ReadonlyArray<Readonly<GpuStat>>;
  readonly reason: string;
}

/**
 * Memory used, utilisation and power of every GPU now, from the driver's management library (NVML,
 * loaded when first asked; matched to devices() by uuid). Cheap enough to call per metrics scrape.
 * Never throws for a missing driver: the list is empty and `reason` says why.
 */
export function gpuStats(): GpuStats {
  return native().gpuStats();
}
