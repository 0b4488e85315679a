/**
 * Engines for a model version: a built .plan is loaded, a Caffe network is imported and built
 * from the config's parameters (precision, calibration cache, backend, input format ...), once per
 * GPU its instances go on. The config's inputs and outputs are checked against the engine.
 */
import * as path from 'path';
import { Builder, type BuildConfig } from '../builder/builder';
import type { Precision } from '../builder/exec_graph';
import { INPUT_FORMATS, type InputFormat, type InputOptions } from '../builder/input_format';
import type { BackendChoice } from '../backends';
import { TensorRTNodeError } from '../errors';
import type { IoDType } from '../types';
import { Network } from '../network';
import { Engine, Runtime, type TensorDesc } from '../runtime/engine';
import type { ModelConfig, TensorConfig, WireDType } from './config';
import type { ModelSource } from './repository';

/** The KServe data type of an engine tensor's host form. */
export const WIRE_OF_DTYPE: Readonly<Record<IoDType, WireDType>> = { float32: 'FP32', float16: 'FP16', uint8: 'UINT8' };

/** What loading needs from the server. */
export interface EngineOptions {
  /** Backend of models whose parameters name none. */
  readonly backend: BackendChoice;
  /** Devices to build on (one engine each); [0] when none is given. */
  readonly devices: readonly number[];
  readonly log: (message: string) => void;
}

function configError(model: string, message: string): TensorRTNodeError {
  return new TensorRTNodeError('E_INVALID_ARGUMENT', `model '${model}': ${message}`);
}

function precisionOf(config: ModelConfig): Precision {
  const p = config.parameters.precision ?? 'fp32';
  if (!['fp32', 'tf32', 'fp16', 'int8'].includes(p))
    throw configError(config.name, `parameter precision is fp32, tf32, fp16 or int8, got '${p}'`);
  return p as Precision;
}

function backendOf(config: ModelConfig, fallback: BackendChoice): BackendChoice {
  const b = config.parameters.backend ?? fallback;
  if (!['auto', 'cpu', 'cuda', 'tensorrt'].includes(b))
    throw configError(config.name, `parameter backend is auto, cpu, cuda or tensorrt, got '${b}'`);
  return b as BackendChoice;
}

function numbers(config: ModelConfig, key: 'mean' | 'scale', raw: string): number[] {
  const v = raw.split(',').map((s) => Number(s.trim()));
  if (v.some((x) => !Number.isFinite(x))) throw configError(config.name, `parameter ${key} takes numbers, got '${raw}'`);
  return v;
}

/** The parameters input_format, mean, scale, image_size, network_order as BuildConfig.input. */
function inputOptions(config: ModelConfig, dir: string): InputOptions | undefined {
  const p = config.parameters;
  const format = p.input_format ?? 'float32';
  if (!INPUT_FORMATS.includes(format as InputFormat))
    throw configError(config.name, `parameter input_format is one of ${INPUT_FORMATS.join(', ')}, got '${format}'`);
  if (format === 'float32') return undefined;
  const size = p.image_size === undefined ? undefined : /^\s*(\d+)\s*x\s*(\d+)\s*$/.exec(p.image_size);
  if (size === null) throw configError(config.name, `parameter image_size is <height>x<width>, got '${p.image_size}'`);
  const order = p.network_order;
  if (order !== undefined && order !== 'bgr' && order !== 'rgb')
    throw configError(config.name, `parameter network_order is bgr or rgb, got '${order}'`);
  const mean = p.mean;
  return {
    format: format as InputFormat,
    ...(mean !== undefined && /\.binaryproto$/.test(mean) ? { meanFile: path.resolve(dir, mean) } : {}),
    ...(mean !== undefined && !/\.binaryproto$/.test(mean) ? { mean: numbers(config, 'mean', mean) } : {}),
    ...(p.scale !== undefined ? { scale: numbers(config, 'scale', p.scale)[0] } : {}),
    ...(size !== undefined ? { imageSize: [Number(size[1]), Number(size[2])] as [number, number] } : {}),
    ...(order !== undefined ? { networkOrder: order } : {}),
  };
}

/** Builds (or loads) the model's engine on the first device and copies it to the others. */
export async function loadEngines(source: ModelSource, options: EngineOptions): Promise<Engine[]> {
  const first = await firstEngine(source, options, options.devices[0] ?? 0);
  const engines = [first];
  try {
    checkTensors(source.config, first);
    if (options.devices.length > 1 && first.backend !== 'cpu') {
      const plan = first.serialize();
      for (const device of options.devices.slice(1)) engines.push(await Runtime.deserialize(plan, { device }));
    }
  } catch (err) {
    for (const e of engines) e.dispose();
    throw err;
  }
  return engines;
}

async function firstEngine(source: ModelSource, options: EngineOptions, device: number): Promise<Engine> {
  const { config, files } = source;
  const backend = backendOf(config, options.backend);
  if (files.kind === 'plan') {
    const engine = await Engine.load(files.plan, backend === 'auto' ? { device } : { backend, device });
    if (engine.maxBatchSize < config.maxBatchSize) {
      engine.dispose();
      throw configError(config.name, `the plan runs at most batch ${engine.maxBatchSize}, max_batch_size is ${config.maxBatchSize}`);
    }
    return engine;
  }
  const seed = config.parameters.seed !== undefined ? Number(config.parameters.seed) : 1;
  if (!Number.isInteger(seed) || seed < 0)
    throw configError(config.name, `parameter seed is a non-negative integer, got '${config.parameters.seed}'`);
  const net = await Network.fromCaffe(files.prototxt, { seed, ...(files.caffemodel !== undefined ? { weights: files.caffemodel } : {}) });
  const builder = new Builder({
    backend,
    device,
    logger: (s, m) => {
      if (s === 'warning') options.log(`model '${config.name}': ${m}`);
    },
  });
  const input = inputOptions(config, source.dir);
  const build: BuildConfig = {
    precision: precisionOf(config),
    maxBatchSize: config.maxBatchSize,
    ...(config.parameters.calibration_cache !== undefined
      ? { calibrationCache: path.resolve(source.dir, config.parameters.calibration_cache) }
      : {}),
    ...(input !== undefined ? { input } : {}),
  };
  return builder.build(net, build);
}

/** The config's declared tensors must be the engine's: names, data types, dims, formats. */
function checkTensors(config: ModelConfig, engine: Engine): void {
  if (config.inputs.length > 0) {
    const names = config.inputs
      .map((t) => t.name)
      .sort()
      .join(', ');
    const want = engine.inputs
      .map((t) => t.name)
      .sort()
      .join(', ');
    if (names !== want) throw configError(config.name, `config inputs (${names}) are not the engine's (${want})`);
  }
  for (const c of config.inputs) checkTensor(config.name, c, engine.inputs, 'input');
  for (const c of config.outputs) checkTensor(config.name, c, engine.outputs, 'output');
}

function checkTensor(model: string, c: TensorConfig, tensors: readonly TensorDesc[], what: string): void {
  const t = tensors.find((x) => x.name === c.name);
  if (t === undefined)
    throw configError(model, `${what} '${c.name}' is not one of the engine's (${tensors.map((x) => x.name).join(', ')})`);
  const wire = WIRE_OF_DTYPE[t.dtype];
  if (c.dataType !== undefined && c.dataType !== wire)
    throw configError(model, `${what} '${c.name}' is ${wire} in the engine, the config says ${c.dataType}`);
  if (c.dims !== undefined && c.dims.join(',') !== t.dims.join(',')) {
    throw configError(model, `${what} '${c.name}' has dims [${t.dims.join(', ')}] in the engine, the config says [${c.dims.join(', ')}]`);
  }
  const nhwc = t.dtype === 'uint8';
  if ((c.format === 'FORMAT_NHWC' && !nhwc) || (c.format === 'FORMAT_NCHW' && nhwc)) {
    throw configError(
      model,
      `input '${c.name}' is ${nhwc ? 'FORMAT_NHWC (uint8 images)' : 'FORMAT_NCHW'} in the engine, the config says ${c.format}`,
    );
  }
}
