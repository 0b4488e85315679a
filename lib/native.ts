/**
 * Loads the native addon once and exposes its raw functions. Only this module touches the addon;
 * everything else imports from here. The Caffe importer and the network IR do not need the addon,
 * so it is loaded on first use. The candidates, in order (addonCandidates()):
 *   1. the file named by TENSORRT_NODE_ADDON (a developer's own build);
 *   2. in a git checkout: the local builds (build/Release, build-dev/Release of `npm run build:debug`,
 *      build/Debug) and prebuilds/<platform>-<arch>/*.node, newest first, so a prebuilds/ left by
 *      `npm run prebuilds` never shadows a fresher build; in an installed package: the prebuilt
 *      binaries first (what the package ships), then a local build (what `npm rebuild` compiled);
 *   3. node-gyp-build's own rules (TENSORRT_NODE_PREBUILD, prebuilds beside the node executable).
 * A candidate that fails to load (say a prebuild for a newer glibc) is skipped, and its error
 * kept for the message if nothing loads.
 */
import * as fs from 'fs';
import * as path from 'path';
import { TensorRTNodeError } from './errors';
import { addonBuildHint, isCheckout, tensorrtModuleHint } from './install_hints';

/** buildInfo() as the addon returns it. */
/** One GPU as the driver's NVML reports it now (see device.ts gpuStats). */
export interface GpuStat {
  uuid: string;
  name: string;
  memoryTotal: number;
  memoryUsed: number;
  /** Share of the last sample period a kernel ran, 0..1; -1: not reported. */
  utilization: number;
  /** Watts; -1: not reported. */
  powerW: number;
  powerLimitW: number;
}

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
  doneMs?: number;
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

/** A loaded plugin library as the addon describes it. */
export interface NativePluginLibrary {
  readonly name: string;
  readonly version: number;
  readonly path: string;
  readonly layers: ReadonlyArray<{
    readonly type: string;
    readonly paramField: string | null;
    readonly paramNumber: number;
    readonly paramFields: string | null;
    readonly minInputs: number;
    readonly maxInputs: number;
    readonly outputs: number;
    readonly cpu: boolean;
    readonly cuda: boolean;
    readonly cudaTypes: Array<'float32' | 'float16'>;
  }>;
}

/** The addon's exports (native/addon/*.h document each). */
export interface NativeAddon {
  buildInfo(): NativeBuildInfo;
  devices(checkImages: boolean): { devices: NativeDeviceInfo[]; reason: string; driverVersion: number };
  gpuStats(): { gpus: GpuStat[]; reason: string };
  backends(): Array<{ name: string; available: boolean; reason: string }>;
  supports(backend: string, graphJson: string): Array<{ layer: string; op: string; reason: string }>;
  buildEngine(
    backend: string,
    graphJson: string,
    weights: Float32Array[],
    threads: number,
    options?: { device?: number; tuneBatch?: number; maxAuxStreams?: number; timingCache?: string },
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
  /** wakeAhead: wake the JS thread ahead of a lone call's expected end (spinWait 'auto'; GPU contexts). */
  createContext(engine: NativeHandle, options?: { wakeAhead: boolean }): NativeHandle;
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
  /** Test probe of the completion link (native/addon/js_link_probe.cc): settles after delayUs, optionally waking the JS thread ahead. */
  linkProbe(delayUs: number, holdUs: number, wakeAhead: boolean): Promise<number>;
  /** Loads a layer plugin library (native/include/tensorrt_node_plugin.h), registering its types unless `register` is false; throws E_PLUGIN. */
  loadPlugin(path: string, register?: boolean): NativePluginLibrary;
  /** Registers a layer type written in JavaScript (lib/network/plugins.ts registerLayer); fn absent: shapes only. */
  registerHostedLayer(
    type: string,
    minInputs: number,
    maxInputs: number,
    outputs: number,
    fn?: (inputs: Float32Array[], inDims: number[][], outputs: Float32Array[], outDims: number[][], params: string, batch: number) => void,
  ): void;
  /** A plugin layer type's output shapes (batch first) from its input shapes; throws E_SHAPE / E_PLUGIN. */
  pluginOutputDims(type: string, params: string, inputs: number[][]): number[][];
  createHistograms(tensorCount: number): NativeHandle;
  readHistograms(histograms: NativeHandle): { amax: Float64Array; range: Float64Array; seen: Uint8Array; counts: Float64Array };
}

/** The package root: dist/lib/native.js sits two folders below it, lib/native.ts one. */
export const PACKAGE_ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');

/** The addon's file name in a build folder (CMakeLists.txt and binding.gyp name the target so). */
const ADDON_FILE = 'tensorrt_node.node';

/** The TensorRT module's file name (native/backends/tensorrt/trt_backend.cc). */
const TENSORRT_MODULE_FILE = 'tensorrt_node_trt.so';

/** The local build folders, relative to the package root: cmake-js / node-gyp, `npm run build:debug`, a Debug build. */
const LOCAL_BUILDS: ReadonlyArray<readonly string[]> = [
  ['build', 'Release'],
  ['build-dev', 'Release'],
  ['build', 'Debug'],
];

/**
 * A file the loader tries, and why it is tried there.
 * @internal
 */
export interface AddonCandidate {
  readonly file: string;
  /** variant: a CUDA variant that replaced the binary loaded first (chooseCudaVariant). */
  readonly kind: 'env' | 'prebuild' | 'local' | 'variant';
  readonly why: string;
}

/**
 * How the addon was found: the file, why that one, what failed before it, and where the TensorRT
 * module is looked for (next to the loaded addon, then build/Release).
 */
export interface AddonLoadReport {
  readonly file: string;
  readonly why: string;
  readonly layout: 'checkout' | 'installed';
  /** Candidates tried before it, each with its load error. */
  readonly skipped: readonly string[];
  readonly tensorrtModuleSearch: readonly string[];
  /** A CUDA variant replaced the binary loaded first (chooseCudaVariant): that binary. */
  readonly replaced?: string;
}

let addon: NativeAddon | undefined;
let addonPath: string | undefined;
let loadReport: AddonLoadReport | undefined;
let loadErrors: string[] | undefined;

function mtimeMs(file: string): number | undefined {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Every prebuilt binary for a platform and architecture, in name order (CUDA variants included). */
function prebuiltFiles(root: string, platform: string, arch: string): string[] {
  return nodeFilesIn(path.join(root, 'prebuilds', `${platform}-${arch}`));
}

/** The prebuilt binaries that are candidates of their own (CUDA variants left out: cudaVariants). */
function prebuilds(root: string, platform: string, arch: string): string[] {
  return prebuiltFiles(root, platform, arch).filter((f) => cudaVariantOf(f) === undefined);
}

/** A CUDA version as the driver API gives it (12040) in words ("12.4"). */
export function cudaVersionText(v: number): string {
  return `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;
}

/**
 * The CUDA major version a prebuilt binary names in a tag (`tensorrt-node.cuda12.glibc.node`: 12),
 * or undefined for the default binary. Such a variant is not a candidate of its own: it replaces
 * the default binary when the machine needs it (chooseCudaVariant).
 * @internal
 */
export function cudaVariantOf(file: string): number | undefined {
  const tags = path.basename(file).split('.').slice(1, -1);
  const tag = tags.find((t) => /^cuda\d+$/.test(t));
  return tag === undefined ? undefined : Number(tag.slice(4));
}

/** @internal A prebuilt binary for another CUDA, and that CUDA's major version. */
export interface CudaVariant {
  readonly file: string;
  readonly cuda: number;
}

/** @internal The CUDA variants among the prebuilt binaries of a platform, newest CUDA first. */
export function cudaVariants(root: string, platform: string = process.platform, arch: string = process.arch): CudaVariant[] {
  return prebuiltFiles(root, platform, arch)
    .map((file) => ({ file, cuda: cudaVariantOf(file) ?? 0 }))
    .filter((v) => v.cuda > 0)
    .sort((a, b) => b.cuda - a.cuda);
}

/** What chooseCudaVariant needs of the binary loaded first: its build and what its runtime sees. */
export interface LoadedCuda {
  /** buildInfo().cuda / cudaVersion ("13.0") / cudaArchs (["sm_75", ..., "compute_90"]). */
  readonly cuda: boolean;
  readonly cudaVersion: string;
  readonly cudaArchs: readonly string[];
  /** devices(): the driver's CUDA version (13000; 0 without a driver) and the GPUs it listed. */
  readonly driverVersion: number;
  readonly gpus: ReadonlyArray<{ readonly index: number; readonly name: string; readonly major: number; readonly minor: number }>;
}

/**
 * Whether a CUDA variant must replace the binary loaded first, and why (issue 17): the driver is
 * older than the CUDA the binary was built with (it cannot run it: CUDA 13 needs R580), or a GPU is
 * older than every architecture the binary holds (CUDA 13 compiles nothing below sm_75: Tesla P40
 * and M40 need the CUDA 12 build). For an old driver the newest variant it runs is taken, for an
 * old GPU the oldest (it reaches furthest back). TENSORRT_NODE_CUDA=<major> asks for a variant by
 * its CUDA major version (the default binary's own major, or one the package lacks: none).
 * @internal
 */
export function chooseCudaVariant(
  loaded: LoadedCuda,
  variants: readonly CudaVariant[],
  env: NodeJS.ProcessEnv = process.env,
): { variant: CudaVariant; why: string } | undefined {
  const own = Number.parseInt(loaded.cudaVersion, 10);
  const asked = env.TENSORRT_NODE_CUDA;
  if (asked !== undefined && asked !== '') {
    const v = variants.find((x) => String(x.cuda) === asked);
    return v === undefined ? undefined : { variant: v, why: `the CUDA ${v.cuda} build, named by TENSORRT_NODE_CUDA=${asked}` };
  }
  if (!loaded.cuda || !Number.isFinite(own)) return undefined;
  const runnable = variants.filter((v) => v.cuda < own && (loaded.driverVersion === 0 || v.cuda * 1000 <= loaded.driverVersion));
  if (runnable.length === 0) return undefined;
  const driver = loaded.driverVersion;
  if (driver > 0 && driver < own * 1000) {
    const v = runnable[0];
    return {
      variant: v,
      why: `the CUDA ${v.cuda} build: the driver runs CUDA up to ${cudaVersionText(driver)}, older than this package's CUDA ${loaded.cudaVersion} build needs`,
    };
  }
  const sms = loaded.cudaArchs.map((a) => Number(/^(?:sm|compute)_(\d+)/.exec(a)?.[1])).filter((n) => Number.isFinite(n));
  const floor = sms.length > 0 ? Math.min(...sms) : 0;
  const old = loaded.gpus.find((g) => g.major * 10 + g.minor < floor);
  if (old === undefined) return undefined;
  const v = runnable[runnable.length - 1];
  return {
    variant: v,
    why: `the CUDA ${v.cuda} build: GPU ${old.index} (${old.name}, sm_${old.major}${old.minor}) is older than the CUDA ${loaded.cudaVersion} build's sm_${floor}`,
  };
}

/** @internal The *.node files of a folder in name order (none when it does not exist). */
export function nodeFilesIn(dir: string): string[] {
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

/**
 * The files to try for the package at `root`, in order: TENSORRT_NODE_ADDON; then in a git
 * checkout the local builds and prebuilds newest first (a local build before a prebuild of the same
 * time), in an installed package the prebuilds, then the local builds.
 * @internal
 */
export function addonCandidates(
  root: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: string = process.platform,
  arch: string = process.arch,
): AddonCandidate[] {
  const out: AddonCandidate[] = [];
  const own = env.TENSORRT_NODE_ADDON;
  if (own) out.push({ file: path.resolve(own), kind: 'env', why: 'named by TENSORRT_NODE_ADDON' });
  const local = LOCAL_BUILDS.map((parts) => path.join(root, ...parts, ADDON_FILE)).filter((f) => mtimeMs(f) !== undefined);
  const prebuilt = prebuilds(root, platform, arch);
  if (isCheckout(root)) {
    const found = [
      ...local.map((file) => ({ file, kind: 'local' as const, time: mtimeMs(file) ?? 0 })),
      ...prebuilt.map((file) => ({ file, kind: 'prebuild' as const, time: mtimeMs(file) ?? 0 })),
    ];
    // Array.prototype.sort is stable: equal times keep local builds first.
    found.sort((a, b) => b.time - a.time);
    found.forEach(({ file, kind }, i) =>
      out.push({
        file,
        kind,
        why: `${i === 0 ? 'the newest' : 'an older'} ${kind === 'local' ? 'local build' : 'prebuilt binary'} of this git checkout`,
      }),
    );
  } else {
    for (const file of prebuilt) out.push({ file, kind: 'prebuild', why: `the prebuilt binary of the package for ${platform}-${arch}` });
    for (const file of local) out.push({ file, kind: 'local', why: 'a local build of the installed package (npm rebuild compiled it)' });
  }
  return out;
}

/**
 * Where the TensorRT module is looked for when the addon at `loaded` is used: next to it (where
 * the addon itself looks), then in build/Release, where a cmake-js build with TensorRT leaves it.
 * @internal
 */
export function tensorrtModuleSearch(loaded: string, root: string = PACKAGE_ROOT): string[] {
  const files = [path.join(path.dirname(loaded), TENSORRT_MODULE_FILE), path.join(root, 'build', 'Release', TENSORRT_MODULE_FILE)];
  return files.filter((f, i) => files.findIndex((g) => path.resolve(g) === path.resolve(f)) === i);
}

/**
 * The addon finds its TensorRT module next to its own file, or at TRTN_TENSORRT_MODULE. When the
 * module lies only in build/Release (the addon loaded is a prebuild), point TRTN_TENSORRT_MODULE
 * at it before the addon looks (on first use of a backend); worker processes inherit it. In a
 * worker thread process.env is the thread's own copy, which the addon's getenv() does not see:
 * there the module in build/Release is found only if the main thread loaded the addon first.
 */
function linkTensorRTModule(search: readonly string[]): void {
  if (process.env.TRTN_TENSORRT_MODULE) return;
  const found = search.findIndex((f) => mtimeMs(f) !== undefined);
  if (found > 0) process.env.TRTN_TENSORRT_MODULE = search[found];
}

/** In a checkout, an older prebuild loaded because a newer local build failed: say so once, with why. */
function warnIfStale(chosen: AddonCandidate, candidates: readonly AddonCandidate[], errors: readonly string[]): void {
  if (chosen.kind !== 'prebuild' || !isCheckout(PACKAGE_ROOT)) return;
  const newer = candidates.slice(0, candidates.indexOf(chosen)).filter((c) => c.kind === 'local');
  if (newer.length === 0) return;
  process.emitWarning(
    `tensorrt-node loaded the prebuilt ${chosen.file}, older than the local build ${newer[0].file}, which did not load ` +
      `(${errors.join('; ')}); rebuild it (npm run build) or delete it`,
    { code: 'TENSORRT_NODE_STALE_PREBUILD' },
  );
}

/** Requires one candidate; on success records how it was found and links the TensorRT module. */
function loadCandidate(candidate: AddonCandidate, candidates: readonly AddonCandidate[], errors: string[]): NativeAddon | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(candidate.file) as NativeAddon;
    const search = tensorrtModuleSearch(candidate.file);
    linkTensorRTModule(search);
    warnIfStale(candidate, candidates, errors);
    loadReport = {
      file: candidate.file,
      why: candidate.why,
      layout: isCheckout(PACKAGE_ROOT) ? 'checkout' : 'installed',
      skipped: [...errors],
      tensorrtModuleSearch: search,
    };
    addonPath = candidate.file;
    return loaded;
  } catch (err) {
    errors.push(`${candidate.file}: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

/** TENSORRT_NODE_CUDA naming a CUDA build this package does not hold: say so once (it is ignored). */
function warnIfAskedMissing(first: NativeAddon, variants: readonly CudaVariant[]): void {
  const asked = process.env.TENSORRT_NODE_CUDA;
  if (asked === undefined || asked === '' || variants.some((v) => String(v.cuda) === asked)) return;
  let own = '';
  try {
    own = first.buildInfo().cudaVersion;
  } catch {
    // an addon without buildInfo: say what the package holds
  }
  if (own !== '' && String(Number.parseInt(own, 10)) === asked) return;
  const held = [own !== '' ? `CUDA ${own}` : 'the default binary', ...variants.map((v) => `CUDA ${v.cuda}`)].join(', ');
  process.emitWarning(`TENSORRT_NODE_CUDA=${asked}: this package holds no such build (it has ${held}); the first binary is used`, {
    code: 'TENSORRT_NODE_NO_CUDA_BUILD',
  });
}

/**
 * The binary loaded first, or the CUDA variant the machine needs instead (chooseCudaVariant). Asks
 * the first binary for its build and the driver's devices only when the package holds a variant
 * (that initialises the CUDA driver); a binary named by TENSORRT_NODE_ADDON is kept as it is.
 */
function withCudaVariant(
  first: NativeAddon,
  candidate: AddonCandidate,
  candidates: readonly AddonCandidate[],
  errors: string[],
): NativeAddon {
  if (candidate.kind === 'env') return first;
  const variants = cudaVariants(PACKAGE_ROOT);
  warnIfAskedMissing(first, variants);
  if (variants.length === 0) return first;
  let choice: ReturnType<typeof chooseCudaVariant>;
  try {
    const build = first.buildInfo();
    const list = build.cuda ? first.devices(false) : { driverVersion: 0, devices: [] };
    choice = chooseCudaVariant({ ...build, driverVersion: list.driverVersion, gpus: list.devices }, variants);
  } catch {
    return first;
  }
  if (choice === undefined) return first;
  const next = loadCandidate({ file: choice.variant.file, kind: 'variant', why: choice.why }, candidates, errors);
  if (next === undefined) {
    // The variant does not load here: the first binary stays, its report listing the variant's error.
    loadReport = loadReport === undefined ? undefined : { ...loadReport, skipped: [...errors] };
    return first;
  }
  loadReport = loadReport === undefined ? undefined : { ...loadReport, replaced: candidate.file };
  return next;
}

/** The addon; throws E_BACKEND_UNAVAILABLE with every loader's reason, and how to build it, when it cannot be loaded. */
export function native(): NativeAddon {
  if (addon !== undefined) return addon;
  if (loadErrors === undefined) {
    const errors: string[] = [];
    loadErrors = errors;
    const candidates = addonCandidates(PACKAGE_ROOT);
    for (const candidate of candidates) {
      addon = loadCandidate(candidate, candidates, errors);
      if (addon !== undefined) return (addon = withCudaVariant(addon, candidate, candidates, errors));
    }
    // node-gyp-build's own rules: TENSORRT_NODE_PREBUILD, prebuilds beside the node executable.
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const file = (require('node-gyp-build') as { path(dir: string): string }).path(PACKAGE_ROOT);
      if (!candidates.some((c) => path.resolve(c.file) === path.resolve(file))) {
        addon = loadCandidate({ file, kind: 'prebuild', why: "found by node-gyp-build's rules" }, candidates, errors);
        if (addon !== undefined) return addon;
      }
    } catch (err) {
      errors.push(`node-gyp-build: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new TensorRTNodeError(
    'E_BACKEND_UNAVAILABLE',
    `the tensorrt-node native addon could not be loaded (${loadErrors.join('; ')}); ${addonBuildHint(isCheckout(PACKAGE_ROOT))}`,
  );
}

/**
 * The tensorrt backend's reason as the addon gives it, made to say where the module was looked
 * for (next to the loaded addon and in build/Release) and how to build it where this package is.
 * @internal
 */
export function explainTensorRTReason(reason: string): string {
  if (loadReport === undefined || !/^the TensorRT module is not built: /.test(reason)) return reason;
  const where = loadReport.tensorrtModuleSearch;
  const missing = where.length === 1 ? `${where[0]} does not exist` : `neither ${where.slice(0, -1).join(', ')} nor ${where.at(-1)} exists`;
  return `the TensorRT module is not built: ${missing} (${tensorrtModuleHint(loadReport.layout === 'checkout')})`;
}

/** Why each candidate failed to load, after a native() that threw; undefined before the first native(). */
export function nativeLoadErrors(): readonly string[] | undefined {
  return addon === undefined ? loadErrors : undefined;
}

/** How the addon was found (after a successful native()): the file, why it, what failed before it (for `tensorrt-node info`). */
export function nativeLoadReport(): AddonLoadReport | undefined {
  return loadReport;
}

/** The file the addon was loaded from (after a successful native()). */
export function nativePath(): string | undefined {
  return addonPath;
}
