/**
 * INT8 calibrators with TensorRT's names and semantics, in Node's idiom:
 *
 *   const calibrator = new Int8EntropyCalibrator2({ batches, batchSize: 32, cacheFile: 'model.calib' })
 *   const engine = await builder.build(net, { precision: 'int8', calibrator })
 *
 * `batches` is an (async) iterable of `{ [inputName]: Float32Array }`. A calibrator with a cache
 * file reads it when it exists (and was made by the same algorithm), else calibrates and writes
 * it. Calibration runs an FP32 engine of the network over the batches while the backend collects
 * a histogram of every tensor (activations never cross into JS); thresholds come from the
 * histograms (lib/calibration/thresholds.ts) and scale = threshold / 127.
 * A TensorRT-style object (getBatchSize / getBatch / readCalibrationCache / writeCalibrationCache)
 * is accepted too (asCalibrator).
 */
import { promises as fsp } from 'fs';
import { argumentError, IOError, TensorRTNodeError } from '../errors';
import { anyObject, boolean, finiteNumber, integer, nonEmptyString, object, optional } from '../validate';
import type { Network } from '../network';
import {
  DEFAULT_TRT_VERSION,
  formatCalibrationCache,
  parseCalibrationCache,
  writeCalibrationCacheFile,
  type CacheAlgorithm,
  type CalibrationCache,
} from './cache';
import { entropyThreshold, legacyThreshold, minmaxThreshold, percentileThreshold, type Histogram } from './thresholds';

/** Calibration algorithms. */
export type CalibrationAlgorithm = 'entropy2' | 'entropy' | 'minmax' | 'legacy' | 'percentile';

/** One calibration batch: a Float32Array per input name, batch-major NCHW. */
export type CalibrationBatch = Readonly<Record<string, Float32Array>>;

/** Where batches come from. */
export type BatchSource = Iterable<CalibrationBatch> | AsyncIterable<CalibrationBatch>;

/** Options of every calibrator. */
export interface CalibratorOptions {
  /** The calibration data (needed unless the cache file exists). */
  readonly batches?: BatchSource;
  /** Images per batch (the last batch may hold fewer). */
  readonly batchSize: number;
  /** Read this cache when it exists; write it after calibrating. */
  readonly cacheFile?: string;
  /** Stop after this many batches. */
  readonly maxBatches?: number;
  /** Use a cache file made by another algorithm instead of refusing it. */
  readonly force?: boolean;
}

/** The histograms an observing run collected: one entry per tensor of the network it ran. */
export interface ObservedTensors {
  /** IR tensor names, in the order of the arrays below. */
  readonly names: readonly string[];
  readonly amax: Float64Array;
  readonly range: Float64Array;
  /** 1 where the tensor was observed (float tensors), 0 elsewhere. */
  readonly seen: Uint8Array;
  /** 2048 bins per tensor, tensor after tensor. */
  readonly counts: Float64Array;
}

/**
 * What calibration runs on (a port the builder provides, so calibration knows nothing of graphs,
 * engines or the addon): an FP32 run of the network that adds every float tensor's values to its
 * histogram.
 */
export interface ObservingRunner {
  /** The run's inputs: what every batch holds. */
  readonly inputs: ReadonlyArray<{ readonly name: string; readonly dims: readonly number[] }>;
  /** Runs `images` images of a batch, observing every float tensor. */
  observe(batch: Readonly<Record<string, Float32Array>>, images: number): Promise<void>;
  /** The histograms so far. */
  read(): ObservedTensors;
  dispose(): void;
}

/** What a build needs from calibration: a table of scales by Caffe tensor name. */
export interface CalibrationContext {
  readonly net: Network;
  /**
   * An observing run of `net` taking up to `batchSize` images, with the build's fusions
   * (`afterFusion`: BatchNorm / Scale folded, ReLU fused, so the tensors are the engine's) or
   * without them (every layer's output observed).
   */
  readonly observer: (options: { readonly batchSize: number; readonly afterFusion: boolean }) => Promise<ObservingRunner>;
  readonly log: (severity: 'warning' | 'info' | 'verbose', message: string) => void;
}

const CACHE_NAMES: Readonly<Record<CalibrationAlgorithm, CacheAlgorithm>> = {
  entropy2: 'EntropyCalibration2',
  entropy: 'EntropyCalibration',
  minmax: 'MinMaxCalibration',
  legacy: 'LegacyCalibration',
  percentile: 'PercentileCalibration',
};

function isIterable(x: unknown): x is BatchSource {
  return (
    x !== null &&
    typeof x === 'object' &&
    (typeof (x as Iterable<unknown>)[Symbol.iterator] === 'function' ||
      typeof (x as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function')
  );
}

const BATCH_COUNT = integer({ min: 1, max: 1 << 20, typeWhat: 'a positive integer' });

/** The options every calibrator takes, checked (batches or a cacheFile is checked after). */
const checkCalibratorOptions = object<Omit<CalibratorOptions, 'batchSize'>>(
  {
    batches: optional(iterableOfBatches),
    cacheFile: optional(nonEmptyString('a path string')),
    maxBatches: optional(BATCH_COUNT),
    force: optional(boolean),
  },
  { allowArray: true },
);

function iterableOfBatches(value: unknown, name: string): BatchSource {
  if (!isIterable(value)) throw argumentError('an iterable or async iterable of batches', name, value);
  return value as BatchSource;
}

/** A fraction in (0, 1] (the legacy calibrator's quantile and regression cutoff). */
const FRACTION = finiteNumber({ min: 0, minExclusive: true, max: 1 });

/** The base of the calibrators: data, cache handling and the calibration run. */
export abstract class Calibrator {
  /** The algorithm. */
  abstract readonly algorithm: CalibrationAlgorithm;
  /** True when calibration runs on the fused network (TensorRT's entropy v1 and legacy). */
  abstract readonly afterFusion: boolean;
  readonly batchSize: number;
  protected readonly options: CalibratorOptions;

  constructor(options: CalibratorOptions) {
    anyObject()(options, 'options');
    this.batchSize = BATCH_COUNT(options.batchSize, 'options.batchSize');
    checkCalibratorOptions(options, 'options');
    if (options.batches === undefined && options.cacheFile === undefined) {
      throw argumentError('batches or a cacheFile', 'options', options);
    }
    this.options = options;
  }

  /** The header name of this algorithm in cache files. */
  get cacheAlgorithm(): CacheAlgorithm {
    return CACHE_NAMES[this.algorithm];
  }

  /** A tensor's threshold (amax) from its histogram; 0 means no range (the tensor stays float). */
  abstract threshold(h: Histogram): number;

  /** @internal The cache's text when there is one, or undefined. */
  protected async readCache(): Promise<string | undefined> {
    if (this.options.cacheFile === undefined) return undefined;
    try {
      return await fsp.readFile(this.options.cacheFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new IOError(`cannot read calibration cache ${this.options.cacheFile}: ${(err as Error).message}`, this.options.cacheFile, {
        cause: err,
      });
    }
  }

  /** @internal Stores a finished table. */
  protected async writeCache(cache: CalibrationCache): Promise<void> {
    if (this.options.cacheFile !== undefined) await writeCalibrationCacheFile(this.options.cacheFile, cache);
  }

  /** @internal The batches to run, for a network with these input names. */
  protected batches(_names: string[]): BatchSource | undefined {
    return this.options.batches;
  }

  /** @internal The scales for a build: from the cache, or by calibrating (then cached). */
  async table(ctx: CalibrationContext): Promise<CalibrationCache> {
    const text = await this.readCache();
    if (text !== undefined) {
      const cache = parseCalibrationCache(text, this.options.cacheFile);
      checkAlgorithm(cache, this.cacheAlgorithm, this.options.force === true, this.options.cacheFile ?? 'the cache');
      ctx.log('info', `INT8 scales of ${cache.scales.size} tensors from ${this.options.cacheFile ?? 'the cache'} (${cache.algorithm})`);
      return cache;
    }
    const names = ctx.net.inputs.map((i) => i.name);
    const source = this.batches(names);
    if (source === undefined) {
      throw new TensorRTNodeError(
        'E_CALIBRATION',
        `the calibration cache ${this.options.cacheFile ?? ''} does not exist and no batches were given`,
      );
    }
    const cache = await runCalibration(ctx, this, source);
    await this.writeCache(cache);
    return cache;
  }
}

/**
 * Refuses a cache made by another algorithm unless forced.
 * @internal
 */
export function checkAlgorithm(cache: CalibrationCache, expected: string, force: boolean, where: string): void {
  if (cache.algorithm !== expected && !force) {
    throw new TensorRTNodeError(
      'E_CALIBRATION',
      `${where} was made by ${cache.algorithm}, not ${expected}: ` +
        'calibrate again (delete the file), or pass force: true to use it anyway',
    );
  }
}

/** Entropy calibration on the network before layer fusion (TensorRT's IInt8EntropyCalibrator2). */
export class Int8EntropyCalibrator2 extends Calibrator {
  readonly algorithm = 'entropy2';
  readonly afterFusion = false;
  threshold(h: Histogram): number {
    return entropyThreshold(h);
  }
}

/** Entropy calibration on the fused network (TensorRT's original IInt8EntropyCalibrator). */
export class Int8EntropyCalibrator extends Calibrator {
  readonly algorithm = 'entropy';
  readonly afterFusion = true;
  threshold(h: Histogram): number {
    return entropyThreshold(h);
  }
}

/** The largest |x| seen (TensorRT's IInt8MinMaxCalibrator). */
export class Int8MinMaxCalibrator extends Calibrator {
  readonly algorithm = 'minmax';
  readonly afterFusion = false;
  threshold(h: Histogram): number {
    return minmaxThreshold(h);
  }
}

/** Options of the legacy calibrator. */
export interface LegacyCalibratorOptions extends CalibratorOptions {
  /** Quantile of |x| kept (default 0.9999). */
  readonly quantile?: number;
  /** At most this fraction of the maximum (default 1). */
  readonly regressionCutoff?: number;
}

/** TensorRT's IInt8LegacyCalibrator as we read its description: a quantile, capped at a fraction of the max. */
export class Int8LegacyCalibrator extends Calibrator {
  readonly algorithm = 'legacy';
  readonly afterFusion = true;
  readonly quantile: number;
  readonly regressionCutoff: number;

  constructor(options: LegacyCalibratorOptions) {
    super(options);
    this.quantile = FRACTION(options.quantile ?? 0.9999, 'options.quantile');
    this.regressionCutoff = FRACTION(options.regressionCutoff ?? 1, 'options.regressionCutoff');
  }

  threshold(h: Histogram): number {
    return legacyThreshold(h, this.quantile, this.regressionCutoff);
  }
}

/** Options of the percentile calibrator. */
export interface PercentileCalibratorOptions extends CalibratorOptions {
  /** Percentile of |x| kept (default 99.99). */
  readonly percentile?: number;
}

/** The given percentile of |x| (as pytorch-quantization's percentile calibration). */
export class Int8PercentileCalibrator extends Calibrator {
  readonly algorithm = 'percentile';
  readonly afterFusion = false;
  readonly percentile: number;

  constructor(options: PercentileCalibratorOptions) {
    super(options);
    this.percentile = finiteNumber({ min: 0, minExclusive: true, max: 100 })(options.percentile ?? 99.99, 'options.percentile');
  }

  threshold(h: Histogram): number {
    return percentileThreshold(h, this.percentile);
  }
}

/** A calibrator in TensorRT's interface (IInt8Calibrator), as Node users might port one. */
export interface TensorRTStyleCalibrator {
  getBatchSize(): number;
  /** The next batch for these input names, or null / undefined when there are no more. */
  getBatch(names: string[]): CalibrationBatch | null | undefined | Promise<CalibrationBatch | null | undefined>;
  readCalibrationCache?(): string | Uint8Array | null | undefined | Promise<string | Uint8Array | null | undefined>;
  writeCalibrationCache?(cache: Uint8Array): void | Promise<void>;
  /** 'entropy2' (default), 'entropy', 'minmax', 'legacy', or TensorRT's enum names (kENTROPY_CALIBRATION_2 ...). */
  getAlgorithm?(): string;
}

const TRT_ALGORITHMS: Readonly<Record<string, CalibrationAlgorithm>> = {
  entropy2: 'entropy2',
  entropy: 'entropy',
  minmax: 'minmax',
  legacy: 'legacy',
  percentile: 'percentile',
  kENTROPY_CALIBRATION_2: 'entropy2',
  kENTROPY_CALIBRATION: 'entropy',
  kMINMAX_CALIBRATION: 'minmax',
  kLEGACY_CALIBRATION: 'legacy',
};

/** A Calibrator, or a TensorRT-style object wrapped as one. */
export function asCalibrator(x: unknown): Calibrator {
  if (x instanceof Calibrator) return x;
  const t = x as TensorRTStyleCalibrator;
  if (x === null || typeof x !== 'object' || typeof t.getBatchSize !== 'function' || typeof t.getBatch !== 'function') {
    throw argumentError('a Calibrator or an object with getBatchSize() and getBatch(names)', 'calibrator', x);
  }
  const name = typeof t.getAlgorithm === 'function' ? t.getAlgorithm() : 'entropy2';
  const algorithm = TRT_ALGORITHMS[name];
  if (algorithm === undefined) throw argumentError(`one of ${Object.keys(TRT_ALGORITHMS).join(', ')}`, 'calibrator.getAlgorithm()', name);
  return new AdaptedCalibrator(t, algorithm);
}

/** A TensorRT-style calibrator behind the Calibrator interface. */
class AdaptedCalibrator extends Calibrator {
  readonly afterFusion: boolean;
  private readonly inner: Calibrator;

  constructor(
    private readonly source: TensorRTStyleCalibrator,
    readonly algorithm: CalibrationAlgorithm,
  ) {
    super({ batchSize: source.getBatchSize(), batches: [] });
    const ctors = {
      entropy2: Int8EntropyCalibrator2,
      entropy: Int8EntropyCalibrator,
      minmax: Int8MinMaxCalibrator,
      legacy: Int8LegacyCalibrator,
      percentile: Int8PercentileCalibrator,
    };
    this.inner = new ctors[algorithm]({ batchSize: this.batchSize, batches: [] });
    this.afterFusion = this.inner.afterFusion;
  }

  threshold(h: Histogram): number {
    return this.inner.threshold(h);
  }

  protected override async readCache(): Promise<string | undefined> {
    const c = await this.source.readCalibrationCache?.();
    if (c === null || c === undefined || c.length === 0) return undefined;
    return typeof c === 'string' ? c : Buffer.from(c).toString('utf8');
  }

  protected override async writeCache(cache: CalibrationCache): Promise<void> {
    await this.source.writeCalibrationCache?.(new Uint8Array(Buffer.from(formatCalibrationCache(cache), 'utf8')));
  }

  protected override batches(names: string[]): BatchSource {
    const source = this.source;
    return {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const b = await source.getBatch(names);
          if (b === null || b === undefined) return;
          yield b;
        }
      },
    };
  }
}

/** Checks one batch against the engine's inputs; returns its number of images. */
function checkBatch(engine: Pick<ObservingRunner, 'inputs'>, batch: unknown, index: number, batchSize: number): number {
  if (batch === null || typeof batch !== 'object')
    throw argumentError('an object of Float32Array by input name', `batches[${index}]`, batch);
  const names = engine.inputs.map((t) => t.name);
  for (const key of Object.keys(batch)) {
    if (!names.includes(key)) throw argumentError(`an input name (${names.join(', ')})`, `batches[${index}].${key}`, key, 'range');
  }
  let images = -1;
  for (const t of engine.inputs) {
    const data = (batch as Record<string, unknown>)[t.name];
    if (!(data instanceof Float32Array)) throw argumentError('a Float32Array', `batches[${index}].${t.name}`, data);
    const per = t.dims.reduce((a, b) => a * b, 1);
    const n = data.length / per;
    if (!Number.isInteger(n) || n < 1 || n > batchSize) {
      throw argumentError(`1 to ${batchSize} images of ${per} values (the batch size)`, `batches[${index}].${t.name}`, data, 'range');
    }
    if (images !== -1 && n !== images)
      throw argumentError(`${images} image${images === 1 ? '' : 's'}, as the other inputs`, `batches[${index}].${t.name}`, data, 'range');
    images = n;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        throw new RangeError(`Expected finite values for batches[${index}].${t.name} but received ${data[i]} at index ${i}`);
      }
    }
  }
  return images;
}

/** Runs calibration: an FP32 engine over the batches, histograms in the backend, thresholds here. */
async function runCalibration(ctx: CalibrationContext, calibrator: Calibrator, source: BatchSource): Promise<CalibrationCache> {
  const runner = await ctx.observer({ batchSize: calibrator.batchSize, afterFusion: calibrator.afterFusion });
  const max = (calibrator as unknown as { options: CalibratorOptions }).options.maxBatches ?? Infinity;
  let count = 0;
  const t0 = performance.now();
  let stats: ObservedTensors;
  try {
    for await (const batch of source) {
      const images = checkBatch(runner, batch, count, calibrator.batchSize);
      await runner.observe(batch, images);
      count++;
      if (count >= max) break;
    }
    stats = runner.read();
  } finally {
    runner.dispose();
  }
  if (count === 0) throw new TensorRTNodeError('E_CALIBRATION', 'the calibration data gave no batches');
  const bins = stats.counts.length / stats.names.length;
  // Scales by Caffe name: the final value of an in-place chain names the chain (as TensorRT's
  // Caffe parser names every tensor by its top).
  const scales = new Map<string, number>();
  const owner = new Map<string, string>();
  stats.names.forEach((name, id) => {
    if (stats.seen[id] === 0) return;
    const caffe = ctx.net.tensors.get(name)?.caffeName ?? name;
    if (owner.has(caffe) && owner.get(caffe) === caffe) return;
    const h: Histogram = { counts: stats.counts.subarray(id * bins, (id + 1) * bins), range: stats.range[id], amax: stats.amax[id] };
    const threshold = calibrator.threshold(h);
    scales.set(caffe, threshold > 0 ? Math.fround(threshold / 127) : 0);
    owner.set(caffe, name);
  });
  ctx.log(
    'info',
    `calibrated ${scales.size} tensors with ${calibrator.algorithm} over ${count} batch${count === 1 ? '' : 'es'} in ` +
      `${((performance.now() - t0) / 1000).toFixed(2)} s`,
  );
  return { version: DEFAULT_TRT_VERSION, algorithm: calibrator.cacheAlgorithm, scales };
}
