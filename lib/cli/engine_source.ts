/**
 * What build, infer and bench share: the options that say how to get an engine, and getting it
 * (a plan file is loaded; a prototxt is imported and built).
 */
import { promises as fsp } from 'fs';
import { Builder, type BuildConfig } from '../builder/builder';
import type { Precision } from '../builder/exec_graph';
import { INPUT_FORMATS, type InputFormat, type InputOptions } from '../builder/input_format';
import { backendStatus, type BackendChoice } from '../backends';
import { devices } from '../device';
import { Network } from '../network';
import { Engine } from '../runtime/engine';
import { bestPrecision, checkShapes, loadPlugins, PLUGIN, type ModelKind } from './model_options';
import { intOption, optionLabel, UsageError, type CommandSpec, type OptionSpec, type ParsedArgs } from './options';

/** The input-format options (docs/engine.md, "Input formats"), part of ENGINE_OPTIONS. */
export const INPUT_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'inputFormat',
    type: 'string',
    value: INPUT_FORMATS.join('|'),
    help:
      "How the engine takes its image input: float32 NCHW, or uint8 pixels [N, H, W, C] (BGR, RGB, or the network's " +
      'own order) preprocessed on the device',
    default: 'float32',
  },
  {
    name: 'mean',
    type: 'string',
    value: 'a,b,c',
    help: "uint8 input: per-channel means in the network's channel order (one value: every channel); default: the prototxt's transform_param",
  },
  { name: 'meanFile', type: 'string', value: 'mean.binaryproto', help: 'uint8 input: a Caffe mean image [C, H, W] of the image size' },
  { name: 'scale', type: 'string', value: 's', help: 'uint8 input: multiplies (pixel - mean); default: transform_param.scale, else 1' },
  {
    name: 'imageSize',
    type: 'string',
    value: 'HxW',
    help: "uint8 input: the size of the images taken; larger than the network's input is centre-cropped to it (Caffe's crop_size); default: the network's input size",
  },
  {
    name: 'networkOrder',
    type: 'string',
    value: 'bgr|rgb',
    help: "uint8 input: the channel order the network was trained on (BGR for Caffe's models); -rgb / -bgr images are swapped to it",
    default: 'bgr',
  },
];

/** Options of every command that builds an engine from a prototxt. */
export const ENGINE_OPTIONS: readonly OptionSpec[] = [
  { name: 'weights', type: 'string', value: 'file.caffemodel', help: 'Trained weights (default: random weights from --seed)' },
  {
    name: 'precision',
    type: 'string',
    value: 'fp32|tf32|fp16|int8|best',
    help: 'Engine precision; best: the fastest the backend has (int8 on GPUs from sm_61, else fp32)',
    default: 'fp32',
  },
  {
    name: 'backend',
    type: 'string',
    value: 'auto|cpu|cuda|tensorrt',
    help: 'Backend; auto picks tensorrt, then cuda, then cpu',
    default: 'auto',
  },
  { name: 'seed', type: 'string', value: 'N', help: 'Seed of random weights (and of --random inputs)', default: '1' },
  {
    name: 'calib',
    type: 'string',
    value: 'model.calib',
    help: 'INT8: a calibration cache (from `tensorrt-node calibrate` or TensorRT); without one, INT8 calibrates on random data and warns',
  },
  {
    name: 'allowMixedPrecision',
    type: 'boolean',
    help: 'INT8: build even when the cache lacks scales for layers that could run in INT8 (they run in FP32, with a warning); without it such a build is E_CALIBRATION',
  },
  { name: 'noOptimize', type: 'boolean', help: 'Keep every layer as its own node (no BatchNorm folding, no ReLU fusion)' },
  { name: 'device', type: 'string', value: 'N', help: 'cuda: the GPU to build and run on', default: '0' },
  {
    name: 'timingCache',
    type: 'string',
    value: 'file.json',
    help: 'cuda: reuse and update a timing cache of tactics (rebuilds skip timing)',
  },
  {
    name: 'tuneBatch',
    type: 'string',
    value: 'N',
    help: 'cuda: the batch tactics are timed at (default: the max batch, at most 128; sweep uses the same)',
  },
  {
    name: 'maxAuxStreams',
    type: 'string',
    value: 'N',
    help: "cuda: streams beside the main one that run independent branches (inception, shortcuts) concurrently, 0-7; 0 runs layers one by one (trtexec's flag)",
    default: '3',
  },
  { name: 'verbose', type: 'boolean', help: 'Show what the builder chose: the tactic and time of every layer' },
  {
    name: 'inputIOFormats',
    type: 'string',
    value: 'fp32|fp16',
    help: "The form float inputs cross to the device in (trtexec's flag): fp16 halves the bytes copied (converted on the device)",
    default: 'fp32',
  },
  {
    name: 'outputIOFormats',
    type: 'string',
    value: 'fp32|fp16',
    help: 'The form outputs come back in: fp16 halves the bytes copied (`infer -o` still writes float32 .npy files)',
    default: 'fp32',
  },
  ...INPUT_OPTIONS,
  PLUGIN,
];

/** --inputIOFormats / --outputIOFormats as BuildConfig.ioFormats (undefined when both are fp32). */
export function ioFormatOptions(spec: CommandSpec, values: ParsedArgs['values']): BuildConfig['ioFormats'] {
  const read = (name: 'inputIOFormats' | 'outputIOFormats'): 'float32' | 'float16' => {
    const v = (values[name] as string | undefined) ?? 'fp32';
    // trtexec writes `fp16:chw`: the layout part is accepted when it is chw (the only one here).
    const m = /^(fp32|fp16)(:chw)?$/.exec(v);
    if (m === null)
      throw new UsageError(`tensorrt-node ${spec.name}: --${name} is fp32 or fp16 (trtexec's fp16:chw also reads), got '${v}'`);
    return m[1] === 'fp16' ? 'float16' : 'float32';
  };
  const inputs = read('inputIOFormats');
  const outputs = read('outputIOFormats');
  return inputs === 'float32' && outputs === 'float32' ? undefined : { inputs, outputs };
}

const INPUT_DETAIL_OPTIONS = ['mean', 'meanFile', 'scale', 'imageSize', 'networkOrder'] as const;

/** --inputFormat and its details as BuildConfig.input (undefined for float32); UsageError for malformed values. */
export function inputOptions(spec: CommandSpec, values: ParsedArgs['values']): InputOptions | undefined {
  const format = (values.inputFormat as string | undefined) ?? 'float32';
  const bad = (what: string) => new UsageError(`tensorrt-node ${spec.name}: ${what}`);
  if (!INPUT_FORMATS.includes(format as InputFormat)) throw bad(`--inputFormat is one of ${INPUT_FORMATS.join(', ')}, got '${format}'`);
  if (format === 'float32') {
    const given = INPUT_DETAIL_OPTIONS.find((o) => values[o] !== undefined);
    if (given !== undefined)
      throw bad(`--${given} describes uint8 images: it goes with --inputFormat uint8-nhwc-bgr, uint8-nhwc-rgb or uint8-nhwc`);
    return undefined;
  }
  const number = (name: string, raw: string): number => {
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v)) throw bad(`--${name} takes numbers, got '${raw}'`);
    return v;
  };
  const mean = values.mean as string | undefined;
  const scale = values.scale as string | undefined;
  const size = values.imageSize as string | undefined;
  const order = values.networkOrder as string | undefined;
  const sizeMatch = size === undefined ? null : /^\s*(\d+)\s*[x,]\s*(\d+)\s*$/.exec(size);
  if (size !== undefined && (sizeMatch === null || Number(sizeMatch[1]) < 1 || Number(sizeMatch[2]) < 1)) {
    throw bad(`--imageSize is <height>x<width> (for example 256x256), got '${size}'`);
  }
  if (order !== undefined && order !== 'bgr' && order !== 'rgb') throw bad(`--networkOrder is bgr or rgb, got '${order}'`);
  if (mean !== undefined && values.meanFile !== undefined) throw bad('give --mean or --meanFile, not both');
  return {
    format: format as InputFormat,
    ...(mean !== undefined ? { mean: mean.split(',').map((m) => number('mean', m)) } : {}),
    ...(values.meanFile !== undefined ? { meanFile: values.meanFile as string } : {}),
    ...(scale !== undefined ? { scale: number('scale', scale) } : {}),
    ...(sizeMatch !== null ? { imageSize: [Number(sizeMatch[1]), Number(sizeMatch[2])] as [number, number] } : {}),
    ...(order !== undefined ? { networkOrder: order } : {}),
  };
}

const PRECISIONS = ['fp32', 'tf32', 'fp16', 'int8'];
/** A precision as the command line gives it: 'best' is chosen once the backend is known. */
export type PrecisionChoice = Precision | 'best';
/** The batch the commands time tactics at unless --tuneBatch says otherwise (at most the max batch). */
export const DEFAULT_TUNE_BATCH = 128;
const BACKENDS = ['auto', 'cpu', 'cuda', 'tensorrt'];

const PLAN_MAGIC = 'TRTNPLAN';
/** File names that say "plan" (TensorRT's own engines included: the plan reader names them). */
const PLAN_NAME = /\.(plan|engine|trt)$/i;

/**
 * True when the first bytes are the plan magic or near it: a prefix of it (truncated), at most 3
 * of its 8 bytes different, or 6 of its bytes in a row within the first 16 (shifted). No text
 * prototxt starts like that, and a damaged plan should get the plan reader's reason.
 */
export function nearPlanMagic(head: Buffer): boolean {
  const text = head.toString('latin1');
  if (text.length === 0) return false;
  if (text.length < PLAN_MAGIC.length) return PLAN_MAGIC.startsWith(text);
  let differ = 0;
  for (let i = 0; i < PLAN_MAGIC.length; i++) if (text[i] !== PLAN_MAGIC[i]) differ++;
  if (differ <= 3) return true;
  for (let i = 0; i + 6 <= PLAN_MAGIC.length; i++) if (text.slice(0, 16).includes(PLAN_MAGIC.slice(i, i + 6))) return true;
  return false;
}

/** True when the file is to be read as a plan: its name ends .plan (.engine, .trt) or it starts near the magic. */
async function isPlan(path: string): Promise<boolean> {
  if (PLAN_NAME.test(path)) return true;
  try {
    const fh = await fsp.open(path, 'r');
    try {
      const head = Buffer.alloc(16);
      const { bytesRead } = await fh.read(head, 0, 16, 0);
      return nearPlanMagic(head.subarray(0, bytesRead));
    } finally {
      await fh.close();
    }
  } catch {
    return false;
  }
}

/** The precision and backend options, checked ('best' where the command's --precision offers it). */
export function engineChoices(
  spec: CommandSpec,
  values: ParsedArgs['values'],
): { precision: PrecisionChoice; backend: BackendChoice; seed: number } {
  const precision = (values.precision as string | undefined) ?? 'fp32';
  const offersBest = spec.options.some((o) => o.name === 'precision' && o.value?.includes('best') === true);
  const known = offersBest ? [...PRECISIONS, 'best'] : PRECISIONS;
  if (!known.includes(precision))
    throw new UsageError(`tensorrt-node ${spec.name}: --precision is one of ${known.join(', ')}, got '${precision}'`);
  const backend = (values.backend as string | undefined) ?? 'auto';
  if (!BACKENDS.includes(backend))
    throw new UsageError(`tensorrt-node ${spec.name}: --backend is one of ${BACKENDS.join(', ')}, got '${backend}'`);
  const seed = intOption(spec, 'seed', values.seed as string | undefined, 0, 0xffffffff) ?? 1;
  return { precision: precision as PrecisionChoice, backend: backend as BackendChoice, seed };
}

/** What a command adds to obtainEngine. */
export interface ObtainOptions {
  /**
   * Sees the output names at the first point they are known (after the import, before the build;
   * after loading a plan) and may refuse by throwing, before the work starts.
   */
  checkOutputs?: (names: readonly string[]) => Promise<void>;
  /** The command prints cpuNote() itself when the cpu backend runs: the build log leaves the reasons to it. */
  printsCpuNote?: boolean;
  /** What the file must read as (it came from --loadEngine or --deploy). */
  expect?: ModelKind;
}

/** Options that shape a build, refused with a plan (it is built already). */
const BUILD_ONLY = [
  'weights',
  'precision',
  'noOptimize',
  'calib',
  'allowMixedPrecision',
  'timingCache',
  'tuneBatch',
  'maxAuxStreams',
  'inputFormat',
  'inputIOFormats',
  'outputIOFormats',
  'saveEngine',
  ...INPUT_DETAIL_OPTIONS,
];

/** Refuses a file that is not what --loadEngine / --deploy promised. */
function checkKind(spec: CommandSpec, file: string, plan: boolean, expect: ModelKind | undefined): void {
  if (expect === 'plan' && !plan) {
    throw new UsageError(
      `tensorrt-node ${spec.name}: --loadEngine takes a plan; ${file} reads as a prototxt (give it as the file argument or --deploy)`,
    );
  }
  if (expect === 'prototxt' && plan) {
    throw new UsageError(
      `tensorrt-node ${spec.name}: --deploy takes a prototxt; ${file} reads as a plan (give it as the file argument or --loadEngine)`,
    );
  }
}

/** Loads a plan (the options that shape a build are refused). */
async function loadPlan(
  spec: CommandSpec,
  file: string,
  values: ParsedArgs['values'],
  choice: { backend: BackendChoice; device: number },
  log: (s: string) => void,
  checkOutputs: ObtainOptions['checkOutputs'],
): Promise<{ engine: Engine; built: boolean }> {
  for (const o of BUILD_ONLY) {
    if (values[o] !== undefined)
      throw new UsageError(`tensorrt-node ${spec.name}: ${optionLabel(values, o)} applies to prototxt files, not plans`);
  }
  const { backend, device } = choice;
  const engine = await Engine.load(file, backend === 'auto' ? { device } : { backend, device });
  try {
    checkShapes(spec, values, engine.inputs);
    await checkOutputs?.(engine.outputs.map((t) => t.name));
  } catch (err) {
    engine.dispose();
    throw err;
  }
  log(`loaded plan ${file}: ${engine.backend} backend, ${engine.precision}, max batch ${engine.maxBatchSize}`);
  return { engine, built: false };
}

/** The precision to build: --best becomes the fastest the chosen backend has (said in the log). */
function buildPrecision(choice: PrecisionChoice, backend: Builder['backend'], device: number, log: (s: string) => void): Precision {
  if (choice !== 'best') return choice;
  const gpu = backend === 'cuda' ? devices().devices[device] : undefined;
  const best = bestPrecision(backend, gpu === undefined ? undefined : gpu.major * 10 + gpu.minor);
  log(`--best: ${best.precision} (${best.why})`);
  return best.precision;
}

/** Loads the plan at `file`, or imports the prototxt and builds an engine for `maxBatchSize`. */
export async function obtainEngine(
  spec: CommandSpec,
  file: string,
  values: ParsedArgs['values'],
  maxBatchSize: number | undefined,
  log: (s: string) => void,
  options: ObtainOptions = {},
): Promise<{ engine: Engine; net?: Network; built: boolean }> {
  const { checkOutputs } = options;
  const { precision: choice, backend, seed } = engineChoices(spec, values);
  const device = intOption(spec, 'device', values.device as string | undefined, 0, 1024) ?? 0;
  const input = inputOptions(spec, values);
  const ioFormats = ioFormatOptions(spec, values);
  loadPlugins(values);
  const plan = await isPlan(file);
  checkKind(spec, file, plan, options.expect);
  if (plan) return loadPlan(spec, file, values, { backend, device }, log, checkOutputs);
  const net = await Network.fromCaffe(file, { weights: values.weights as string | undefined, seed });
  checkShapes(
    spec,
    values,
    net.inputs.map((t) => ({ name: t.name, dims: t.shape.slice(1) })),
  );
  await checkOutputs?.(net.outputs.map((t) => t.name));
  const verbose = values.verbose === true;
  const builder = new Builder({
    backend,
    device,
    timingCache: values.timingCache as string | undefined,
    logger: (severity, message) => {
      if (severity !== 'verbose' || verbose) log(severity === 'verbose' ? message : `${severity}: ${message}`);
    },
  });
  // Said once: a command whose output carries cpuNote() would otherwise list the same reasons twice.
  if (builder.skipped.length > 0 && !(options.printsCpuNote === true && builder.backend === 'cpu')) {
    log(`backend ${builder.backend} (skipped ${builder.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})`);
  }
  const t0 = performance.now();
  const calib = values.calib as string | undefined;
  const precision = buildPrecision(choice, builder.backend, device, log);
  for (const o of ['calib', 'allowMixedPrecision']) {
    if (values[o] !== undefined && precision !== 'int8')
      throw new UsageError(`tensorrt-node ${spec.name}: --${o} goes with --precision int8`);
  }
  const maxBatch = maxBatchSize ?? net.batchSize;
  const tuneBatch =
    intOption(spec, 'tuneBatch', values.tuneBatch as string | undefined, 1, maxBatch) ?? Math.min(maxBatch, DEFAULT_TUNE_BATCH);
  const maxAuxStreams = intOption(spec, 'maxAuxStreams', values.maxAuxStreams as string | undefined, 0, 7);
  const engine = await builder.build(net, {
    precision,
    maxBatchSize: maxBatch,
    optimize: values.noOptimize !== true,
    ...(builder.backend !== 'cpu' ? { tuneBatch } : {}),
    ...(maxAuxStreams !== undefined ? { maxAuxStreams } : {}),
    ...(calib !== undefined ? { calibrationCache: calib } : {}),
    ...(values.allowMixedPrecision === true ? { allowMixedPrecision: true } : {}),
    ...(input !== undefined ? { input } : {}),
    ...(ioFormats !== undefined ? { ioFormats } : {}),
  });
  log(
    `built ${net.name || file} for the ${engine.backend} backend, ${precision}, max batch ${engine.maxBatchSize} ` +
      `in ${((performance.now() - t0) / 1000).toFixed(2)} s`,
  );
  await saveEngine(engine, values.saveEngine, log);
  return { engine, net, built: true };
}

/** --saveEngine: writes the built engine as a plan (the engine is disposed if that fails). */
async function saveEngine(engine: Engine, file: unknown, log: (s: string) => void): Promise<void> {
  if (typeof file !== 'string') return;
  try {
    await engine.save(file);
  } catch (err) {
    engine.dispose();
    throw err;
  }
  log(`saved the engine as ${file}`);
}

/** Why no GPU backend ran, for the notes of commands that ran on the cpu backend. */
export function cpuNote(): string {
  const gpu = backendStatus()
    .filter((b) => b.name !== 'cpu' && !b.available)
    .map((b) => `${b.name}: ${b.reason}`);
  return gpu.length > 0 ? `ran on the cpu backend (${gpu.join('; ')})` : 'ran on the cpu backend';
}
