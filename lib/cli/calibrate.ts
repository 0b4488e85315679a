/** `tensorrt-node calibrate`: make an INT8 calibration cache, or show one. */
import { Builder } from '../builder/builder';
import { DEFAULT_TRT_VERSION, readCalibrationCacheFile, writeCalibrationCacheFile } from '../calibration/cache';
import {
  Int8EntropyCalibrator,
  Int8EntropyCalibrator2,
  Int8LegacyCalibrator,
  Int8MinMaxCalibrator,
  Int8PercentileCalibrator,
  type BatchSource,
  type Calibrator,
} from '../calibration/calibrator';
import { mnistBatches, npyBatches, randomBatchSource } from '../calibration/data';
import { Network } from '../network';
import { engineChoices } from './engine_source';
import { loadPlugins, PLUGIN } from './model_options';
import { formatHelp, intOption, parseCommand, UsageError, type CommandSpec } from './options';

/** The calibrate command's options. */
export const CALIBRATE: CommandSpec = {
  name: 'calibrate',
  summary: 'Calibrate a network for INT8 and write a TensorRT-format calibration cache (or show one).',
  usage:
    'tensorrt-node calibrate <deploy.prototxt> --data <dir|mnist|random> -o <model.calib> [options]\n' +
    '       tensorrt-node calibrate --show <model.calib> [--json]',
  options: [
    {
      name: 'data',
      type: 'string',
      value: 'dir|mnist|random',
      help: "Calibration images: a folder of .npy files ([N, C, H, W] float32), the mnist package's training digits, or random values in [-1, 1)",
    },
    { name: 'output', short: 'o', type: 'string', value: 'model.calib', help: 'The cache to write' },
    {
      name: 'algorithm',
      type: 'string',
      value: 'entropy2|entropy|minmax|legacy|percentile',
      help: 'Calibration algorithm',
      default: 'entropy2',
    },
    { name: 'batches', type: 'string', value: 'N', help: 'Calibration batches to run', default: '50' },
    { name: 'batchSize', type: 'string', value: 'N', help: 'Images per batch', default: '32' },
    { name: 'percentile', type: 'string', value: 'P', help: 'percentile: the percentile of |x| kept', default: '99.99' },
    { name: 'quantile', type: 'string', value: 'Q', help: 'legacy: the quantile of |x| kept', default: '0.9999' },
    { name: 'regressionCutoff', type: 'string', value: 'F', help: 'legacy: at most this fraction of the maximum', default: '1' },
    {
      name: 'trtVersion',
      type: 'string',
      value: 'N',
      help: 'TensorRT version written in the header (e.g. 8601 for 8.6.1; percentile caches have our header, without one)',
      default: String(DEFAULT_TRT_VERSION),
    },
    { name: 'weights', type: 'string', value: 'file.caffemodel', help: 'Trained weights (default: random weights from --seed)' },
    { name: 'backend', type: 'string', value: 'auto|cpu|cuda|tensorrt', help: 'Backend that runs the calibration', default: 'auto' },
    { name: 'seed', type: 'string', value: 'N', help: 'Seed of random weights and random data', default: '1' },
    { name: 'show', type: 'string', value: 'model.calib', help: 'List the tensors and scales of a cache' },
    { name: 'json', type: 'boolean', help: 'With --show: print JSON' },
    PLUGIN,
  ],
  notes: [
    'The cache is TensorRT\'s text format: "TRT-<version>-<Algorithm>", then "tensor: <hex of the float32 scale>" per\n' +
      'line (scale = amax / 127). TensorRT reads the entropy2, entropy, minmax and legacy caches; percentile has no TensorRT\n' +
      'counterpart and its cache starts "TRTN-PercentileCalibration" (ours only).\n' +
      'Build an INT8 engine from it with `tensorrt-node build --precision int8 --calib model.calib`.\n' +
      'entropy2 and minmax calibrate the network before layer fusion, entropy and legacy after it (as TensorRT does);\n' +
      'docs/calibration.md describes every algorithm and choice.',
  ],
  examples: [
    'tensorrt-node calibrate models/lenet.prototxt --weights models/lenet_mnist.caffemodel --data mnist --batches 10 -o lenet.calib',
    'tensorrt-node calibrate models/googlenet.prototxt --data images/ --algorithm percentile --percentile 99.9 -o googlenet.calib',
    'tensorrt-node calibrate --show lenet.calib',
  ],
};

function numberOption(name: string, raw: unknown, lo: number, hi: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= lo || v > hi)
    throw new UsageError(`tensorrt-node calibrate: --${name} must be in (${lo}, ${hi}], got '${String(raw)}'`);
  return v;
}

/** Runs `calibrate`; resolves to the exit code. */
export async function runCalibrate(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values, positionals } = parseCommand(CALIBRATE, argv);
  if (values.help === true) {
    out(formatHelp(CALIBRATE));
    return 0;
  }
  if (values.show !== undefined) {
    if (positionals.length > 0) throw new UsageError('tensorrt-node calibrate: --show takes only the cache file');
    const cache = await readCalibrationCacheFile(values.show as string);
    if (values.json === true) {
      out(
        JSON.stringify(
          {
            version: cache.version,
            algorithm: cache.algorithm,
            scales: Object.fromEntries([...cache.scales].map(([k, v]) => [k, { scale: v, amax: v * 127 }])),
          },
          null,
          2,
        ),
      );
      return 0;
    }
    const made = cache.version === 0 ? "tensorrt-node's own header (TensorRT does not read it)" : `TensorRT ${cache.version}`;
    out(`${values.show as string}: ${made}, ${cache.algorithm}, ${cache.scales.size} tensors`);
    const width = Math.max(6, ...[...cache.scales.keys()].map((k) => k.length));
    out(`${'tensor'.padEnd(width)}  ${'scale'.padStart(13)}  ${'amax'.padStart(11)}`);
    for (const [name, scale] of cache.scales) {
      out(`${name.padEnd(width)}  ${scale.toExponential(6).padStart(13)}  ${(scale * 127).toPrecision(6).padStart(11)}`);
    }
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError(`tensorrt-node calibrate: give one deploy.prototxt, got ${positionals.length} file arguments`);
  const data = values.data as string | undefined;
  if (data === undefined) throw new UsageError('tensorrt-node calibrate: give --data (a folder of .npy files, mnist or random)');
  const output = values.output as string | undefined;
  if (output === undefined) throw new UsageError('tensorrt-node calibrate: give the cache to write with -o <model.calib>');
  const algorithm = (values.algorithm as string | undefined) ?? 'entropy2';
  const batches = intOption(CALIBRATE, 'batches', values.batches as string | undefined, 1, 1e6) ?? 50;
  const batchSize = intOption(CALIBRATE, 'batchSize', values.batchSize as string | undefined, 1, 1 << 16) ?? 32;
  const trtVersion = intOption(CALIBRATE, 'trtVersion', values.trtVersion as string | undefined, 1, 99999999) ?? DEFAULT_TRT_VERSION;
  const { backend, seed } = engineChoices(CALIBRATE, values);
  loadPlugins(values);
  const net = await Network.fromCaffe(positionals[0], { weights: values.weights as string | undefined, seed });
  const input = net.inputs[0];
  const dims = input.shape.slice(1);
  if (net.inputs.length !== 1)
    throw new UsageError('tensorrt-node calibrate: --data feeds networks with one input; use the API for several');
  let source: BatchSource;
  if (data === 'random') source = randomBatchSource(input.name, dims, batchSize, batches, seed);
  else if (data === 'mnist') source = mnistBatches(input.name, dims, batchSize, batches);
  else source = npyBatches(data, input.name, dims, batchSize, batches);
  // Count what calibration actually takes (the data may hold fewer batches than asked for).
  let taken = 0;
  const inner = source;
  source = {
    async *[Symbol.asyncIterator]() {
      for await (const b of inner as AsyncIterable<Record<string, Float32Array>>) {
        taken++;
        yield b;
      }
    },
  };
  const specific: Record<string, string> = { percentile: 'percentile', quantile: 'legacy', regressionCutoff: 'legacy' };
  for (const [option, owner] of Object.entries(specific)) {
    if (values[option] !== undefined && algorithm !== owner) {
      throw new UsageError(`tensorrt-node calibrate: --${option} goes with --algorithm ${owner}`);
    }
  }
  const options = { batches: source, batchSize, maxBatches: batches };
  let calibrator: Calibrator;
  switch (algorithm) {
    case 'entropy2':
      calibrator = new Int8EntropyCalibrator2(options);
      break;
    case 'entropy':
      calibrator = new Int8EntropyCalibrator(options);
      break;
    case 'minmax':
      calibrator = new Int8MinMaxCalibrator(options);
      break;
    case 'legacy':
      calibrator = new Int8LegacyCalibrator({
        ...options,
        quantile: numberOption('quantile', values.quantile, 0, 1, 0.9999),
        regressionCutoff: numberOption('regressionCutoff', values.regressionCutoff, 0, 1, 1),
      });
      break;
    case 'percentile':
      calibrator = new Int8PercentileCalibrator({ ...options, percentile: numberOption('percentile', values.percentile, 0, 100, 99.99) });
      break;
    default:
      throw new UsageError(
        `tensorrt-node calibrate: --algorithm is one of entropy2, entropy, minmax, legacy, percentile, got '${algorithm}'`,
      );
  }
  const builder = new Builder({ backend, logger: (severity, message) => err(`${severity}: ${message}`) });
  const cache = await calibrator.table({ net, observer: (o) => builder.observer(net, o), log: (s, m) => err(`${s}: ${m}`) });
  await writeCalibrationCacheFile(output, { ...cache, version: trtVersion });
  out(`wrote ${output}: ${cache.algorithm}, ${cache.scales.size} tensors, from ${taken} batch(es) of up to ${batchSize} images (${data})`);
  return 0;
}
