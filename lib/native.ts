/**
 * Loads the native addon once (prebuilds/ first, then build/Release, through node-gyp-build) and
 * exposes its raw functions. Only this module touches the addon; everything else imports from here.
 * The Caffe importer and the network IR do not need the addon, so it is loaded on first use.
 */
import * as path from 'path';
import { TensorRTNodeError } from './errors';

/** buildInfo() as the addon returns it. */
export interface NativeBuildInfo {
  version: string;
  backends: string[];
  cuda: boolean;
  cudaVersion: string;
  cudaArchs: string[];
  compiler: string;
  buildSystem: string;
  napiVersion: number;
  note: string;
}

/** One GPU as the addon reports it. */
export interface NativeDeviceInfo {
  index: number;
  name: string;
  computeCapability: string;
  major: number;
  minor: number;
  totalMemory: number;
  multiprocessors: number;
  clockKHz: number;
  pciBusId: string;
  uuid: string;
  supported: boolean;
  unsupportedReason: string;
}

/** The addon's exports. */
export interface NativeAddon {
  buildInfo(): NativeBuildInfo;
  devices(checkImages: boolean): { devices: NativeDeviceInfo[]; reason: string; driverVersion: number };
}

/** The package root: dist/lib/native.js sits two folders below it, lib/native.ts one. */
export const PACKAGE_ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');

let addon: NativeAddon | undefined;
let loadError: Error | undefined;

/** The addon; throws E_BACKEND_UNAVAILABLE with the loader's reason when it cannot be loaded. */
export function native(): NativeAddon {
  if (addon !== undefined) return addon;
  if (loadError === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const load = require('node-gyp-build') as (dir: string) => NativeAddon;
      addon = load(PACKAGE_ROOT);
      return addon;
    } catch (err) {
      loadError = err as Error;
    }
  }
  throw new TensorRTNodeError('E_BACKEND_UNAVAILABLE',
    `the tensorrt-node native addon could not be loaded (${loadError.message.split('\n')[0]}); ` +
    'run `npm run build` in a checkout, or reinstall the package', { cause: loadError });
}
