/**
 * Loads the native addon once and exposes its raw functions. Only this module touches the addon;
 * everything else imports from here. The Caffe importer and the network IR do not need the addon,
 * so it is loaded on first use. Search order:
 *   1. the file named by TENSORRT_NODE_ADDON (a developer's own build);
 *   2. prebuilds/<platform>-<arch>/*.node (the binary shipped in the package);
 *   3. node-gyp-build: build/Release, build/Debug (a local build), then its own prebuild rules.
 * A candidate that fails to load (say a prebuild for a newer glibc) is skipped, and its error
 * kept for the message if nothing loads.
 */
import * as fs from 'fs';
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
  /** The ops an execution graph may hold (native/core/op_kind.h). */
  ops: string[];
  /** Per backend compiled in: the ops it has. */
  backendOps: Record<string, string[]>;
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

/** An engine or context as the addon hands it out (an opaque external). */
export type NativeHandle = { readonly __native: unique symbol };

/**
 * What one execute measured: GPU times (cuda: events around the copies and the compute, in ms)
 * and, when profiling was asked for, every layer's time.
 */
export interface NativeRunTiming {
  h2dMs?: number;
  computeMs?: number;
  d2hMs?: number;
  enqueueMs?: number;
  queueMs?: number;
  layers?: Array<{ name: string; op: string; ms: number }>;
  reformatMs?: number;
  /** A benchmark loop (options.count): one entry per inference; GPU times are 0 unless `gpu`. */
  runs?: QueuedRuns;
  gpu?: boolean;
}

/** Per inference of a benchmark loop: GPU times, and host ms from the call's start (submitted, seen done). */
export interface QueuedRuns {
  h2dMs: Float64Array;
  computeMs: Float64Array;
  d2hMs: Float64Array;
  enqueueMs: Float64Array;
  submitMs: Float64Array;
  doneMs: Float64Array;
}

/** Where a plan file's sections lie (byte offsets) and its length: what the addon's plan writer and reader take. */
export interface NativePlanLayout {
  graphOffset: number;
  weightsOffset: number;
  weightsLength: number;
  backendOffset: number;
  backendLength: number;
  total: number;
}

/** A typed array of a tensor's host form: float32, float16 bits, or uint8 bytes. */
export type NativeArray = Float32Array | Uint16Array | Uint8Array;

/** The addon's exports (native/addon/*.h document each). */
export interface NativeAddon {
  buildInfo(): NativeBuildInfo;
  devices(checkImages: boolean): { devices: NativeDeviceInfo[]; reason: string; driverVersion: number };
  backends(): Array<{ name: string; available: boolean; reason: string }>;
  buildEngine(
    backend: string,
    graphJson: string,
    weights: Float32Array[],
    threads: number,
    options?: { device?: number; tuneBatch?: number; timingCache?: string },
  ): Promise<NativeHandle>;
  loadEngine(
    backend: string,
    graphJson: string,
    weights: Uint8Array,
    section: Uint8Array,
    device?: number,
    threads?: number,
  ): Promise<NativeHandle>;
  serializeEngine(engine: NativeHandle): { weights: Uint8Array; backend: Uint8Array };
  planSectionSizes(engine: NativeHandle): { weights: number; backend: number };
  savePlan(engine: NativeHandle, path: string, head: Uint8Array, layout: NativePlanLayout, graphJson: string): Promise<void>;
  loadPlanFile(
    backend: string,
    graphJson: string,
    path: string,
    layout: NativePlanLayout,
    crc: number,
    device?: number,
    threads?: number,
  ): Promise<NativeHandle>;
  engineInfo(engine: NativeHandle): {
    backend: string;
    activationBytesPerImage: number;
    weightBytes: number;
    maxRunnableBatch: number;
    details: string;
  };
  disposeEngine(engine: NativeHandle): void;
  createContext(engine: NativeHandle): NativeHandle;
  disposeContext(context: NativeHandle): void;
  allocateHost(engine: NativeHandle, bytes: number): ArrayBuffer;
  execute(
    context: NativeHandle,
    batch: number,
    inputs: NativeArray[],
    outputs: NativeArray[],
    histograms?: NativeHandle,
    options?: { profile?: boolean; transfers?: boolean; graphs?: boolean; count?: number; depth?: number; cancel?: NativeHandle },
  ): Promise<NativeRunTiming | undefined>;
  createCancelToken(): NativeHandle;
  cancel(token: NativeHandle): boolean;
  createHistograms(tensorCount: number): NativeHandle;
  readHistograms(histograms: NativeHandle): { amax: Float64Array; range: Float64Array; seen: Uint8Array; counts: Float64Array };
}

/** The package root: dist/lib/native.js sits two folders below it, lib/native.ts one. */
export const PACKAGE_ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');

let addon: NativeAddon | undefined;
let addonPath: string | undefined;
let loadErrors: string[] | undefined;

/** The prebuilt binaries for this platform and architecture, in name order. */
function prebuilds(): string[] {
  const dir = path.join(PACKAGE_ROOT, 'prebuilds', `${process.platform}-${process.arch}`);
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.node'))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

/** In a checkout, a prebuild older than the local build shadows it: say so once. */
function warnIfStale(loaded: string): void {
  if (!loaded.includes(`${path.sep}prebuilds${path.sep}`)) return;
  const local = path.join(PACKAGE_ROOT, 'build', 'Release', 'tensorrt_node.node');
  try {
    if (fs.statSync(local).mtimeMs > fs.statSync(loaded).mtimeMs) {
      process.emitWarning(
        `tensorrt-node loaded ${loaded}, but ${local} is newer: delete prebuilds/ or set ` +
          `TENSORRT_NODE_ADDON=${local} to use the local build`,
        { code: 'TENSORRT_NODE_STALE_PREBUILD' },
      );
    }
  } catch {
    // No local build: nothing to compare.
  }
}

/** The addon; throws E_BACKEND_UNAVAILABLE with every loader's reason when it cannot be loaded. */
export function native(): NativeAddon {
  if (addon !== undefined) return addon;
  if (loadErrors === undefined) {
    loadErrors = [];
    const tries: Array<[string, () => string]> = [];
    const own = process.env.TENSORRT_NODE_ADDON;
    if (own) tries.push([own, () => path.resolve(own)]);
    for (const file of prebuilds()) tries.push([file, () => file]);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    tries.push(['node-gyp-build', () => (require('node-gyp-build') as { path(dir: string): string }).path(PACKAGE_ROOT)]);
    for (const [what, locate] of tries) {
      try {
        const file = locate();
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        addon = require(file) as NativeAddon;
        addonPath = file;
        warnIfStale(file);
        return addon;
      } catch (err) {
        loadErrors.push(`${what}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }
  throw new TensorRTNodeError(
    'E_BACKEND_UNAVAILABLE',
    `the tensorrt-node native addon could not be loaded (${loadErrors.join('; ')}); ` +
      'run `npm run build` in a checkout, or reinstall the package',
  );
}

/** The file the addon was loaded from (after a successful native()). */
export function nativePath(): string | undefined {
  return addonPath;
}
