/**
 * Builder: Network -> Engine, for a backend and a precision, as TensorRT's IBuilder does.
 *
 *   const builder = new Builder({ backend: 'auto' })
 *   const engine = await builder.build(net, { precision: 'fp16', maxBatchSize: 128 })
 *
 * The execution graph is planned here (lib/builder/exec_graph.ts); the weights are prepared and
 * the engine built off the JS thread by the addon.
 */
import {
  backendStatus,
  calibrationBackend,
  checkThreads,
  chooseForGraph,
  resolveBackend,
  type BackendChoice,
  type BackendName,
} from '../backends';
import { readCalibrationCacheFile, type CalibrationCache } from '../calibration/cache';
import {
  asCalibrator,
  Int8MinMaxCalibrator,
  type CalibrationContext,
  type Calibrator,
  type ObservingRunner,
  type TensorRTStyleCalibrator,
} from '../calibration/calibrator';
import { promises as fsp } from 'node:fs';
import { argumentError, callSite, fromNativeAt, IOError, TensorRTNodeError } from '../errors';
import { native } from '../native';
import { uniformBytes, uniformData } from '../random_data';
import { loadPlugin, volume, type Network } from '../network';
import { Engine, type EngineDetails } from '../runtime/engine';
import {
  isPlannerNode,
  nodePrecisions,
  planExecGraph,
  preprocessNames,
  planInt8Graph,
  withIoFormats,
  type ExecGraph,
  type Precision,
  type UnscaledTensor,
} from './exec_graph';
import { arrayOf, boolean, finiteNumber, func, integer, nonEmptyString, object, oneOf, optional, recordOf } from '../validate';
import { checkInputOptions, preprocessOnHost, resolveInput, type InputOptions, type ResolvedInput } from './input_format';
import { planTensor } from '../runtime/plan_file';

/** Messages from the builder, by severity. */
export type LogSeverity = 'warning' | 'info' | 'verbose';

/** Options of the Builder. */
export interface BuilderOptions {
  /** Backend: 'auto' (default) picks tensorrt, then cuda, then cpu. */
  readonly backend?: BackendChoice;
  /** Receives warnings and progress; by default warnings go to process.emitWarning. */
  readonly logger?: (severity: LogSeverity, message: string) => void;
  /** cuda: the GPU to build on (default 0); the engine runs there. */
  readonly device?: number;
  /**
   * cuda: a timing cache file (JSON): tactics timed before on this GPU are taken from it instead
   * of being timed again, and the file is rewritten with this build's timings. Like TensorRT's.
   */
  readonly timingCache?: string;
  /**
   * cpu: the threads this builder's engines compute on (a pool of their own); by default the
   * process-wide pool of TRTN_CPU_THREADS threads, or one per core.
   */
  readonly threads?: number;
  /**
   * Layer plugin libraries to load (loadPlugin) when the builder is made, before the networks it
   * builds are imported or the plans it loads are read.
   */
  readonly plugins?: readonly string[];
}

/** What to build. */
export interface BuildConfig {
  /** 'fp32' (default), 'tf32', 'fp16' or 'int8'. */
  readonly precision?: Precision;
  /** The largest batch a context will run (default: the network's batch size). */
  readonly maxBatchSize?: number;
  /** Fold BatchNorm / Scale / Bias into convolutions and fuse ReLU (default true). */
  readonly optimize?: boolean;
  /**
   * INT8: the quantization step of each tensor, by tensor name (scale = amax / 127; Caffe top
   * names or IR names). Without scales, a calibrator or a cache, the builder measures ranges on
   * random inputs and warns.
   */
  readonly int8Scales?: Readonly<Record<string, number>>;
  /** INT8: a calibrator (ours, or a TensorRT-style object: see lib/calibration). */
  readonly calibrator?: Calibrator | TensorRTStyleCalibrator;
  /** INT8: a calibration cache (a file path, or one already read); any algorithm is accepted. */
  readonly calibrationCache?: string | CalibrationCache;
  /** INT8 on random data: how many random batches to measure (default 4). */
  readonly calibrationBatches?: number;
  /** cuda: the batch tactics are timed at (default min(maxBatchSize, 32)). */
  readonly tuneBatch?: number;
  /**
   * cuda: how many streams beside the main one run independent branches concurrently (an inception
   * block's four, a ResNet block's projection shortcut): inside the CUDA graph they are parallel
   * nodes, so small layers that leave most of the GPU idle overlap. 0 runs every layer in order on
   * one stream. Default 3; at most 7. TensorRT's setMaxAuxStreams (trtexec --maxAuxStreams); the
   * tensorrt backend does not pass it on yet (TensorRT keeps its own default).
   * `engine.details().streams` is how many the engine uses, each layer's `stream` which.
   */
  readonly maxAuxStreams?: number;
  /**
   * The form float inputs and outputs cross between host and device in (trtexec's
   * --inputIOFormats / --outputIOFormats): 'float32' (default), or 'float16' to halve the bytes
   * copied: infer() then takes and gives Uint16Arrays of float16 bits, converted on the device.
   */
  readonly ioFormats?: { readonly inputs?: 'float32' | 'float16'; readonly outputs?: 'float32' | 'float16' };
  /**
   * INT8: build even when the scales leave out tensors that layers able to run in INT8 read or
   * write; those layers run in FP32, with a warning naming the tensors. Default false: such a
   * build is E_CALIBRATION (a cache made for another network covers only the names they share).
   */
  readonly allowMixedPrecision?: boolean;
  /**
   * The form of the network's image input: by default the network's float32 NCHW input; with a
   * uint8 format the engine takes image pixels [N, H, W, C] under the input's name and
   * preprocesses them on the device (Caffe's transform_param: crop, channel swap, mean, scale).
   * See InputOptions and docs/engine.md, "Input formats". INT8 calibration still sees the
   * network's float input (preprocessed images).
   */
  readonly input?: InputOptions;
}

const PRECISIONS: readonly Precision[] = ['fp32', 'tf32', 'fp16', 'int8'];
const MAX_BATCH = 1 << 20;
const INT8_ONLY = ['calibrator', 'calibrationCache', 'int8Scales', 'allowMixedPrecision'] as const;
const IO_FORMAT = optional(oneOf(['float32', 'float16'] as const));

/** The fields of a BuildConfig checked on their own (the rest depend on the network or on each other). */
const checkConfigFields = object<Omit<BuildConfig, 'maxBatchSize' | 'tuneBatch' | 'calibrator' | 'input'>>(
  {
    precision: optional(oneOf(PRECISIONS)),
    optimize: optional(boolean),
    int8Scales: optional(recordOf(finiteNumber({ min: 0, minExclusive: true }), 'an object of scales by tensor name')),
    calibrationCache: optional(calibrationCacheOption),
    calibrationBatches: optional(integer({ min: 1 })),
    ioFormats: optional(object({ inputs: IO_FORMAT, outputs: IO_FORMAT }, { what: 'an object { inputs?, outputs? }', exact: true })),
    allowMixedPrecision: optional(boolean),
    maxAuxStreams: optional(integer({ min: 0, max: 7, what: 'an integer in [0, 7] (0: one stream)' })),
  },
  { what: 'a build config object' },
);

function calibrationCacheOption(value: unknown, name: string): string | CalibrationCache {
  const isCache = value !== null && typeof value === 'object' && (value as Partial<CalibrationCache>).scales instanceof Map;
  if (typeof value !== 'string' && !isCache) throw argumentError('a cache file path or a parsed calibration cache', name, value);
  return value as string | CalibrationCache;
}

/** INT8-only options need precision 'int8', and one source of scales at most. */
function checkInt8Options(c: BuildConfig, precision: Precision): void {
  for (const key of INT8_ONLY) {
    if (c[key] !== undefined && precision !== 'int8') {
      throw argumentError(`precision 'int8' (${key} only serves INT8 builds)`, 'config.precision', c.precision, 'range');
    }
  }
  if ([c.calibrator, c.calibrationCache, c.int8Scales].filter((x) => x !== undefined).length > 1) {
    throw argumentError('one of int8Scales, calibrator and calibrationCache', 'config', c, 'range');
  }
}

function checkConfig(config: unknown, net: Network): Required<Pick<BuildConfig, 'precision' | 'maxBatchSize' | 'optimize'>> & BuildConfig {
  const c: BuildConfig = checkConfigFields(config, 'config');
  const precision = c.precision ?? 'fp32';
  const maxBatchSize = integer({ min: 1, max: MAX_BATCH, typeWhat: 'a positive integer' })(
    c.maxBatchSize ?? net.batchSize,
    'config.maxBatchSize',
  );
  checkInt8Options(c, precision);
  optional(integer({ min: 1, max: maxBatchSize, what: `an integer in [1, ${maxBatchSize}] (the maxBatchSize)` }))(
    c.tuneBatch,
    'config.tuneBatch',
  );
  return { ...c, precision, maxBatchSize, optimize: c.optimize ?? true, input: checkInputOptions(c.input, net) };
}

/** Options of the Builder constructor, checked. */
const checkBuilderOptions = object<Omit<BuilderOptions, 'backend' | 'threads'>>(
  {
    logger: optional(func<(severity: LogSeverity, message: string) => void>()),
    device: optional(integer({ min: 0, what: 'a GPU index (an integer >= 0)' })),
    timingCache: optional(nonEmptyString('a file path')),
    plugins: optional(arrayOf(nonEmptyString('a plugin library path'), { what: 'an array of plugin library paths' })),
  },
  { allowArray: true },
);

/** A planned graph's JSON, serialised once however often it is asked for (auto's supports check, then the build). */
const GRAPH_JSON = new WeakMap<ExecGraph, string>();
function graphJson(graph: ExecGraph): string {
  let json = GRAPH_JSON.get(graph);
  if (json === undefined) {
    json = JSON.stringify(graph);
    GRAPH_JSON.set(graph, json);
  }
  return json;
}

/** Builds engines. */
export class Builder {
  /** The backend this builder builds for. */
  readonly backend: BackendName;
  /** With backend 'auto': the backends it passed over, and why. */
  readonly skipped: ReadonlyArray<{ readonly name: BackendName; readonly reason: string }>;
  private readonly log: (severity: LogSeverity, message: string) => void;
  /** Backend 'auto': a network with a layer this.backend cannot run builds on the next one that can. */
  private readonly auto: boolean;
  private readonly device: number;
  private readonly timingCache: string | undefined;
  private readonly threads: number;

  constructor(options: BuilderOptions = {}) {
    checkBuilderOptions(options, 'options');
    for (const p of options.plugins ?? []) loadPlugin(p);
    const device = options.device ?? 0;
    this.device = device;
    this.timingCache = options.timingCache;
    this.threads = checkThreads(options.threads, 'options.threads');
    const { backend, skipped } = resolveBackend(options.backend ?? 'auto');
    this.backend = backend;
    this.skipped = skipped;
    this.auto = (options.backend ?? 'auto') === 'auto';
    this.log =
      options.logger ??
      ((severity, message) => {
        if (severity === 'warning') process.emitWarning(message, { code: 'TENSORRT_NODE' });
      });
  }

  /** Builds an engine for `net` (off the JS thread). */
  async build(net: Network, config: BuildConfig = {}): Promise<Engine> {
    if (net === null || typeof net !== 'object' || typeof (net as Network).summary !== 'function') {
      throw argumentError('a Network', 'net', net);
    }
    const c = checkConfig(config, net);
    const input = await resolveInput(net, c.input);
    for (const note of input?.notes ?? []) this.log('info', note);
    const preprocess = input?.spec;
    const extra = preprocessWeights(input);
    if (c.precision !== 'int8') {
      const graph = planExecGraph(net, { precision: c.precision, maxBatchSize: c.maxBatchSize, optimize: c.optimize, preprocess });
      const planned = withIoFormats(graph, c.ioFormats);
      return this.buildGraph(net, planned, c, this.backendFor(planned), extra);
    }
    const int8Scales = await this.int8Scales(net, c, input);
    const { graph, unscaled } = planInt8Graph(net, { maxBatchSize: c.maxBatchSize, optimize: c.optimize, int8Scales, preprocess });
    if (unscaled.length > 0) this.uncovered(unscaled, scaleSource(c), c.allowMixedPrecision === true);
    const planned = withIoFormats(graph, c.ioFormats);
    const engine = await this.buildGraph(net, planned, c, this.backendFor(planned), extra);
    this.reportPrecisions(graph);
    return engine;
  }

  /**
   * Tensors of INT8-capable layers without a scale: E_CALIBRATION, or with allowMixedPrecision a
   * warning, naming them (the first ten, and how many more) with the layers they keep in FP32.
   */
  private uncovered(unscaled: readonly UnscaledTensor[], source: string, allowed: boolean): void {
    const SHOWN = 10;
    const layers = new Set(unscaled.flatMap((u) => u.nodes));
    const named =
      unscaled
        .slice(0, SHOWN)
        .map((u) => `'${u.tensor}' (${u.nodes.join(', ')})`)
        .join(', ') + (unscaled.length > SHOWN ? `, and ${unscaled.length - SHOWN} more (the verbose log lists them all)` : '');
    for (const u of unscaled) this.log('verbose', `  no INT8 scale: '${u.tensor}' (${u.nodes.join(', ')})`);
    const what = `${unscaled.length} tensor(s) that INT8 layers read or write have no scale in ${source}: ${named}`;
    if (allowed) {
      this.log('warning', `${what}; ${layers.size} layer(s) run in FP32 instead of INT8 (allowMixedPrecision)`);
      return;
    }
    throw new TensorRTNodeError(
      'E_CALIBRATION',
      `${what}; ${layers.size} layer(s) would run in FP32 instead of INT8. ` +
        'Scales made for another network (or an older version of this one) cover only the names they share: calibrate ' +
        'this network (tensorrt-node calibrate), or allow mixed precision (allowMixedPrecision: true; CLI ' +
        '--allowMixedPrecision) to build with those layers in FP32',
    );
  }

  /** After an INT8 build: how many layers run in INT8 (info), and how each other one runs (verbose). */
  private reportPrecisions(graph: ExecGraph): void {
    const counts = nodePrecisions(graph);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const others = Object.entries(counts)
      .filter(([p]) => p !== 'int8')
      .map(([p, n]) => `${n} in ${p.toUpperCase()}`);
    this.log('info', `INT8: ${counts.int8 ?? 0} of ${total} layers run in INT8${others.length > 0 ? `, ${others.join(', ')}` : ''}`);
    for (const n of graph.nodes)
      if (!isPlannerNode(n) && n.precision !== 'int8') this.log('verbose', `  ${n.name} (${n.op}): ${n.precision}`);
  }

  /**
   * INT8 scales from, in order: int8Scales, a calibrator, a cache, or random data (with a warning;
   * random images, preprocessed, for a uint8 input).
   */
  private async int8Scales(
    net: Network,
    c: BuildConfig & { maxBatchSize: number },
    input?: ResolvedInput,
  ): Promise<Record<string, number>> {
    if (c.int8Scales !== undefined) return { ...c.int8Scales };
    // The tensorrt backend runs TensorRT's engines, which cannot collect our histograms:
    // calibration runs on cuda (or cpu) and its scales go into the TensorRT network as Q/DQ.
    const calibrateOn = this.backend === 'tensorrt' ? calibrationBackend() : this.backend;
    if (calibrateOn !== this.backend)
      this.log('info', `INT8 calibration runs on the ${calibrateOn} backend (TensorRT engines do not collect histograms)`);
    const context: CalibrationContext = { net, observer: (o) => this.observer(net, o, calibrateOn), log: this.log };
    if (c.calibrator !== undefined) {
      const cache = await asCalibrator(c.calibrator).table(context);
      checkCacheMatches(cache, net, this.log);
      return Object.fromEntries(cache.scales);
    }
    if (c.calibrationCache !== undefined) {
      const cache = typeof c.calibrationCache === 'string' ? await readCalibrationCacheFile(c.calibrationCache) : c.calibrationCache;
      checkCacheMatches(cache, net, this.log);
      return Object.fromEntries(cache.scales);
    }
    this.log(
      'warning',
      'INT8 without calibration data: scales come from random inputs in [-1, 1), so accuracy will be ' +
        'poor; give a calibrator, a calibration cache (CLI: --calib) or int8Scales for a real engine',
    );
    const batchSize = Math.min(c.maxBatchSize, 8);
    const batches = randomBatches(net, batchSize, c.calibrationBatches ?? 4, input);
    const calibrator = new Int8MinMaxCalibrator({ batches, batchSize });
    return Object.fromEntries((await calibrator.table(context)).scales);
  }

  /**
   * The backend `graph` builds on: this.backend, unless the builder is 'auto' and this.backend lacks
   * a layer of it (Backend::supports, per layer and its parameters): then the next available
   * backend that runs every layer, said in a warning. A named backend is kept (its build refuses
   * the layer with E_UNSUPPORTED_LAYER, naming it).
   */
  private backendFor(graph: ExecGraph): BackendName {
    if (!this.auto || this.backend === 'cpu') return this.backend;
    const json = graphJson(graph);
    const lacks = (b: BackendName) => native().supports(b, json);
    if (lacks(this.backend).length === 0) return this.backend;
    const { backend, skipped } = chooseForGraph(backendStatus(), lacks);
    const why = skipped.filter((s) => s.name !== backend).map((s) => `${s.name}: ${s.reason}`);
    this.log('warning', `backend 'auto': '${graph.name}' builds on ${backend} (${why.join('; ')})`);
    return backend;
  }

  /**
   * @internal The observing run calibration works on (calibration/calibrator.ts ObservingRunner):
   * an FP32 engine of `net` on `backend` whose runs add every float tensor to its histogram.
   */
  async observer(
    net: Network,
    o: { readonly batchSize: number; readonly afterFusion: boolean },
    backend: BackendName = this.backend,
  ): Promise<ObservingRunner> {
    const graph = planExecGraph(net, { precision: 'fp32', maxBatchSize: o.batchSize, optimize: o.afterFusion });
    const engine = await this.buildGraph(net, graph, {}, backend);
    const histograms = native().createHistograms(graph.tensors.length);
    const context = engine.createContext();
    return {
      inputs: engine.inputs,
      observe: async (batch, images) => {
        await context.inferObserved(batch, histograms, { batchSize: images });
      },
      read: () => ({ names: graph.tensors.map((t) => t.name), ...native().readHistograms(histograms) }),
      dispose: () => {
        context.dispose();
        engine.dispose();
      },
    };
  }

  /**
   * @internal Builds an engine from a planned graph, taking the weights from `net` (those named in
   * `extra`, such as a Preprocess node's mean image, from there).
   */
  async buildGraph(
    net: Network,
    graph: ExecGraph,
    tuning: Pick<BuildConfig, 'tuneBatch' | 'maxAuxStreams'> = {},
    backend: BackendName = this.backend,
    extra: ReadonlyMap<string, Float32Array> = new Map(),
  ): Promise<Engine> {
    const json = graphJson(graph);
    const timingCache = this.timingCache === undefined ? undefined : await readTimingCache(this.timingCache);
    let handle;
    const site = callSite();
    try {
      // The raw weights are handed over, not held here: the addon lets go of them once it has
      // prepared its own copy, so they can be collected while the backend builds.
      const names = graph.weights.map((w) => w.name);
      const fromNet = await net.loadWeights(names.filter((n) => !extra.has(n)));
      const weights = names.map((n) => extra.get(n) ?? (fromNet.shift() as Float32Array));
      const building = native().buildEngine(backend, json, weights, this.threads, {
        device: this.device,
        tuneBatch: tuning.tuneBatch,
        maxAuxStreams: tuning.maxAuxStreams,
        timingCache,
      });
      handle = await building;
    } catch (err) {
      throw fromNativeAt(err, site);
    }
    const details = JSON.parse(native().engineInfo(handle).details) as EngineDetails;
    const engine = new Engine(
      handle,
      {
        name: graph.name,
        backend,
        precision: graph.precision,
        maxBatchSize: graph.maxBatchSize,
        deviceArch: details.sm === undefined ? null : `sm_${details.sm}`,
        createdAt: new Date().toISOString(),
        inputs: graph.inputs.map((id) => planTensor(graph, id)),
        outputs: graph.outputs.map((id) => planTensor(graph, id)),
      },
      json,
    );
    this.report(details);
    if (this.timingCache !== undefined && details.timingCache !== undefined) {
      await writeTimingCache(this.timingCache, details.timingCache);
    }
    return engine;
  }

  /** Verbose log of what the backend chose: the GPU, each layer's tactic, the memory plan. */
  private report(d: EngineDetails): void {
    if (d.layers === undefined) return;
    const timed = d.layers.filter((l) => l.ms !== undefined).length;
    const cached = d.layers.filter((l) => l.fromCache).length;
    this.log(
      'info',
      `cuda engine on GPU ${d.device} (${d.deviceName}, sm_${d.sm}): ${timed} layer(s) timed at batch ` +
        `${d.tuneBatch} in ${(d.tuneSeconds ?? 0).toFixed(2)} s, ${cached} from the timing cache; ` +
        `${d.elidedConcats} concat(s) elided, ${d.nhwcTensors} NHWC tensor(s)` +
        (d.fusions ? `, ${d.fusions} LRN + pooling pair(s) fused` : '') +
        (d.merges ? `, ${d.merges} group(s) of sibling convolutions merged` : '') +
        (d.pooledConvs ? `, ${d.pooledConvs} pooling(s) in a convolution's loader` : '') +
        (d.streams !== undefined ? `, ${d.streams} stream(s)` : ''),
    );
    for (const l of d.layers) {
      this.log(
        'verbose',
        `  ${l.name} (${l.op}, ${l.precision}): ${l.tactic}` +
          ((d.streams ?? 1) > 1 && l.stream !== undefined && l.stream > 0 ? ` [stream ${l.stream}]` : '') +
          (l.ms !== undefined ? ` ${l.ms.toFixed(4)} ms of ${l.candidates} tactic(s)` : l.fromCache ? ' (timing cache)' : ''),
      );
    }
  }
}

/**
 * A cache must belong to the network: refused (E_CALIBRATION) when none of its tensors is in it
 * (an empty cache included); tensors it has that the network lacks are reported.
 */
function checkCacheMatches(cache: CalibrationCache, net: Network, log: (severity: LogSeverity, message: string) => void): void {
  const names = new Set([...net.tensors.values()].flatMap((t) => [t.name, t.caffeName]));
  const unknown = [...cache.scales.keys()].filter((n) => !names.has(n));
  if (unknown.length === cache.scales.size) {
    throw new TensorRTNodeError(
      'E_CALIBRATION',
      cache.scales.size === 0
        ? 'the calibration cache lists no tensors'
        : `none of the ${unknown.length} tensors of the calibration cache is in ${net.name || 'the network'} ` +
            `(first: '${unknown[0]}'): it belongs to another network`,
    );
  }
  if (unknown.length > 0) {
    log(
      'warning',
      `${unknown.length} tensor(s) of the calibration cache are not in the network (e.g. '${unknown[0]}'); ` + 'their scales are ignored',
    );
  }
}

/** The weights a Preprocess node brings (its mean image), by exec-graph weight name. */
function preprocessWeights(input: ResolvedInput | undefined): ReadonlyMap<string, Float32Array> {
  if (input?.meanImage === undefined) return new Map();
  return new Map([[preprocessNames(input.spec.input).meanImage, input.meanImage]]);
}

/** Where a build's INT8 scales come from, for messages. */
function scaleSource(c: BuildConfig): string {
  if (c.int8Scales !== undefined) return 'int8Scales';
  if (c.calibrationCache !== undefined) return 'the calibration cache';
  return c.calibrator !== undefined ? "the calibrator's table" : 'the random-data calibration';
}

/** A timing cache file's entries ({} when the file does not exist yet). */
async function readTimingCache(path: string): Promise<string> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '{}';
    throw new IOError(`cannot read timing cache ${path}: ${(err as Error).message}`, path, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new TensorRTNodeError('E_PARSE', `timing cache ${path} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TensorRTNodeError('E_PARSE', `timing cache ${path} is not a JSON object of tactics`);
  }
  return JSON.stringify(parsed);
}

async function writeTimingCache(path: string, entries: Readonly<Record<string, string>>): Promise<void> {
  try {
    // Written beside and renamed over: processes sharing the file (bench --gpus workers) never
    // read a half-written cache.
    const tmp = `${path}.${process.pid}.tmp`;
    await fsp.writeFile(tmp, JSON.stringify(entries, null, 1) + '\n');
    await fsp.rename(tmp, path);
  } catch (err) {
    throw new IOError(`cannot write timing cache ${path}: ${(err as Error).message}`, path, { cause: err });
  }
}

/**
 * `count` batches of uniform [-1, 1) inputs, seeded; an input taken as uint8 images gets uniform
 * random images, preprocessed as the engine will.
 */
function randomBatches(net: Network, batchSize: number, count: number, input?: ResolvedInput): Array<Record<string, Float32Array>> {
  return Array.from({ length: count }, (_, b) =>
    Object.fromEntries(
      net.inputs.map((t, k) => {
        const seed = 0x9e3779b9 + 131 * b + k;
        const dims = t.shape.slice(1);
        if (input === undefined || input.spec.input !== t.name) return [t.name, uniformData(batchSize * volume(dims), seed)];
        const [h, w] = input.spec.imageSize;
        return [
          t.name,
          preprocessOnHost(input, dims as [number, number, number], uniformBytes(batchSize * h * w * dims[0], seed), batchSize),
        ];
      }),
    ),
  );
}
