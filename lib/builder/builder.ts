/**
 * Builder: Network -> Engine, for a backend and a precision, as TensorRT's IBuilder does.
 *
 *   const builder = new Builder({ backend: 'auto' })
 *   const engine = await builder.build(net, { precision: 'fp16', maxBatchSize: 128 })
 *
 * The execution graph is planned here (lib/builder/exec_graph.ts); the weights are prepared and
 * the engine built off the JS thread by the addon.
 */
import { resolveBackend, type BackendChoice, type BackendName } from '../backends';
import { argumentError, fromNative } from '../errors';
import { native } from '../native';
import type { Network } from '../network';
import { Engine } from '../runtime/engine';
import { planExecGraph, type ExecGraph, type Precision } from './exec_graph';

/** Messages from the builder, by severity. */
export type LogSeverity = 'warning' | 'info' | 'verbose';

/** Options of the Builder. */
export interface BuilderOptions {
  /** Backend: 'auto' (default) picks tensorrt, then cuda, then cpu. */
  readonly backend?: BackendChoice;
  /** Receives warnings and progress; by default warnings go to process.emitWarning. */
  readonly logger?: (severity: LogSeverity, message: string) => void;
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
   * INT8: the quantization step of each tensor, by tensor name (scale = amax / 127). Without it
   * (and without a calibrator) the builder measures ranges on random inputs and warns.
   */
  readonly int8Scales?: Readonly<Record<string, number>>;
  /** INT8 without scales: how many random batches to measure (default 4). */
  readonly calibrationBatches?: number;
}

const PRECISIONS: readonly Precision[] = ['fp32', 'tf32', 'fp16', 'int8'];

function checkConfig(config: unknown, net: Network): Required<Pick<BuildConfig, 'precision' | 'maxBatchSize' | 'optimize'>> & BuildConfig {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw argumentError('a build config object', 'config', config);
  const c = config as BuildConfig;
  const precision = c.precision ?? 'fp32';
  if (!PRECISIONS.includes(precision)) throw argumentError("'fp32', 'tf32', 'fp16' or 'int8'", 'config.precision', precision);
  const maxBatchSize = c.maxBatchSize ?? net.batchSize;
  if (typeof maxBatchSize !== 'number') throw argumentError('a positive integer', 'config.maxBatchSize', maxBatchSize);
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1 || maxBatchSize > 1 << 20) {
    throw argumentError('an integer in [1, 1048576]', 'config.maxBatchSize', maxBatchSize, 'range');
  }
  if (c.optimize !== undefined && typeof c.optimize !== 'boolean') throw argumentError('a boolean', 'config.optimize', c.optimize);
  if (c.int8Scales !== undefined) {
    if (c.int8Scales === null || typeof c.int8Scales !== 'object' || Array.isArray(c.int8Scales)) {
      throw argumentError('an object of scales by tensor name', 'config.int8Scales', c.int8Scales);
    }
    for (const [name, s] of Object.entries(c.int8Scales)) {
      if (typeof s !== 'number' || !(s > 0) || !Number.isFinite(s)) throw argumentError('a positive number', `config.int8Scales.${name}`, s, 'range');
    }
  }
  if (c.calibrationBatches !== undefined &&
      (typeof c.calibrationBatches !== 'number' || !Number.isInteger(c.calibrationBatches) || c.calibrationBatches < 1)) {
    throw argumentError('a positive integer', 'config.calibrationBatches', c.calibrationBatches);
  }
  return { ...c, precision, maxBatchSize, optimize: c.optimize ?? true };
}

/** Builds engines. */
export class Builder {
  /** The backend this builder builds for. */
  readonly backend: BackendName;
  /** With backend 'auto': the backends it passed over, and why. */
  readonly skipped: ReadonlyArray<{ readonly name: BackendName; readonly reason: string }>;
  private readonly log: (severity: LogSeverity, message: string) => void;

  constructor(options: BuilderOptions = {}) {
    if (options === null || typeof options !== 'object') throw argumentError('an options object', 'options', options);
    if (options.logger !== undefined && typeof options.logger !== 'function') {
      throw argumentError('a function', 'options.logger', options.logger);
    }
    const { backend, skipped } = resolveBackend(options.backend ?? 'auto');
    this.backend = backend;
    this.skipped = skipped;
    this.log = options.logger ?? ((severity, message) => {
      if (severity === 'warning') process.emitWarning(message, { code: 'TENSORRT_NODE' });
    });
  }

  /** Builds an engine for `net` (off the JS thread). */
  async build(net: Network, config: BuildConfig = {}): Promise<Engine> {
    if (net === null || typeof net !== 'object' || typeof (net as Network).summary !== 'function') {
      throw argumentError('a Network', 'net', net);
    }
    const c = checkConfig(config, net);
    let scales = c.int8Scales;
    if (c.precision === 'int8' && scales === undefined) {
      this.log('warning', 'INT8 without calibration: tensor ranges are measured on random inputs in [-1, 1], so ' +
        'accuracy will be poor; give int8Scales (or a calibrator) for a real engine');
      scales = await this.randomRanges(net, c.maxBatchSize, c.optimize, c.calibrationBatches ?? 4);
    }
    const graph = planExecGraph(net, { precision: c.precision, maxBatchSize: c.maxBatchSize, optimize: c.optimize, int8Scales: scales });
    return this.buildGraph(net, graph);
  }

  /** @internal Builds an engine from a planned graph, taking the weights from `net`. */
  async buildGraph(net: Network, graph: ExecGraph): Promise<Engine> {
    const weights = await net.loadWeights(graph.weights.map((w) => w.name));
    const json = JSON.stringify(graph);
    let handle;
    try {
      handle = await native().buildEngine(this.backend, json, weights, 0);
    } catch (err) {
      throw fromNative(err);
    }
    return new Engine(handle, {
      name: graph.name, backend: this.backend, precision: graph.precision, maxBatchSize: graph.maxBatchSize,
      deviceArch: null, createdAt: new Date().toISOString(),
      inputs: graph.inputs.map((id) => ({ name: graph.tensors[id].name, dims: graph.tensors[id].dims })),
      outputs: graph.outputs.map((id) => ({ name: graph.tensors[id].name, dims: graph.tensors[id].dims })),
    }, json);
  }

  /** Per-tensor amax / 127 measured by an FP32 engine on uniform(-1, 1) inputs. */
  private async randomRanges(net: Network, maxBatch: number, optimize: boolean, batches: number): Promise<Record<string, number>> {
    const graph = planExecGraph(net, { precision: 'fp32', maxBatchSize: Math.min(maxBatch, 8), optimize });
    const engine = await this.buildGraph(net, graph);
    const ctx = engine.createContext();
    const amax = new Float64Array(graph.tensors.length).fill(0);
    try {
      let seed = 0x9e3779b9;
      const next = () => {
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        return ((seed >>> 0) / 4294967296) * 2 - 1;
      };
      for (let b = 0; b < batches; b++) {
        const inputs: Record<string, Float32Array> = {};
        for (const t of engine.inputs) {
          const data = new Float32Array(graph.maxBatchSize * t.dims.reduce((x, y) => x * y, 1));
          for (let i = 0; i < data.length; i++) data[i] = next();
          inputs[t.name] = data;
        }
        const { ranges } = await ctx.inferWithRanges(inputs);
        ranges.forEach((r, i) => { amax[i] = Math.max(amax[i], r); });
      }
    } finally {
      ctx.dispose();
      engine.dispose();
    }
    const scales: Record<string, number> = {};
    graph.tensors.forEach((t, i) => { if (amax[i] > 0) scales[t.name] = amax[i] / 127; });
    return scales;
  }
}
