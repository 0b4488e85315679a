/** `tensorrt-node infer`: run a network on .npy inputs (or random ones) and write .npy outputs. */
import { constants as fsConstants, promises as fsp } from 'fs';
import * as path from 'path';
import { IOError } from '../errors';
import { fromFloat16, toFloat16 } from '../float16';
import { readNpy, writeNpy } from '../npy';
import { randomInputData } from '../random_data';
import type { Engine, HostArray } from '../runtime/engine';
import { count, shape as fmtShape } from './format';
import { ENGINE_OPTIONS, engineChoices, obtainEngine } from './engine_source';
import { batchOption, DEPLOY, LOAD_ENGINE, modelFile, SAVE_ENGINE, SHAPES } from './model_options';
import { formatHelp, parseCommand, UsageError, type CommandSpec } from './options';

/** The infer command's options. */
export const INFER: CommandSpec = {
  name: 'infer',
  summary: 'Run a network (prototxt or plan) on NumPy inputs and write its outputs as .npy files.',
  usage: 'tensorrt-node infer <deploy.prototxt|file.plan> (--input x.npy | --random) --output y.npy [options]',
  options: [
    LOAD_ENGINE,
    DEPLOY,
    {
      name: 'input',
      short: 'i',
      type: 'string',
      multiple: true,
      value: '[name=]x.npy',
      help:
        'Input array, NCHW with the batch first (name= when the network has several inputs); float16/32/64 or integer, either byte order, read as float32; ' +
        'a uint8 input (--inputFormat uint8-...) takes uint8 images [N, H, W, C]',
    },
    { name: 'random', type: 'boolean', help: 'Use random inputs, uniform in [-1, 1) (random bytes for a uint8 input), from --seed' },
    { name: 'batch', type: 'string', value: 'N', help: 'Batch of --random inputs', default: '1' },
    { ...SHAPES, help: `${SHAPES.help} (with --random)` },
    {
      name: 'output',
      short: 'o',
      type: 'string',
      value: 'y.npy|dir',
      help: 'A .npy file (one output), or a folder for <output name>.npy files (required; checked before the build)',
    },
    SAVE_ENGINE,
    ...ENGINE_OPTIONS,
  ],
  notes: [
    '--output is a folder when it ends with "/", is a folder already, or the network has several outputs and\n' +
      'it does not end in .npy; a .npy file name with several outputs is refused (the message lists them). The path\n' +
      'is checked for writing as soon as the output names are known, before the engine is built. Output names with\n' +
      '"/" are written with "_" in the folder form (conv1/7x7_s2 -> conv1_7x7_s2.npy).',
  ],
  examples: [
    'tensorrt-node infer models/lenet.prototxt --weights lenet.caffemodel --input digits.npy --output prob.npy',
    'tensorrt-node infer models/lenet.prototxt --weights lenet.caffemodel --inputFormat uint8-nhwc --scale 0.00390625 --input digits-u8.npy -o prob.npy',
    'tensorrt-node infer googlenet.plan --random --batch 4 --output out/',
  ],
};

async function loadInputs(
  engine: Engine,
  specs: string[],
  names: readonly string[],
): Promise<{ inputs: Record<string, HostArray>; batch: number }> {
  const byName = new Map<string, string>();
  for (const s of specs) {
    const eq = s.indexOf('=');
    const [name, file] =
      eq > 0 && !s.slice(0, eq).includes(path.sep) ? [s.slice(0, eq), s.slice(eq + 1)] : [names.length === 1 ? names[0] : '', s];
    if (name === '')
      throw new UsageError(`tensorrt-node infer: the network has inputs ${names.join(', ')}: give --input name=file.npy for each`);
    if (!names.includes(name)) throw new UsageError(`tensorrt-node infer: '${name}' is not an input (inputs: ${names.join(', ')})`);
    byName.set(name, file);
  }
  for (const n of names) if (!byName.has(n)) throw new UsageError(`tensorrt-node infer: no --input for '${n}'`);
  const inputs: Record<string, HostArray> = {};
  let batch = -1;
  for (const t of engine.inputs) {
    const file = byName.get(t.name) as string;
    const arr = await readNpy(file);
    if (t.dtype === 'uint8' && arr.uint8 === undefined) {
      throw new UsageError(
        `tensorrt-node infer: ${file} holds '${arr.descr}' values; input '${t.name}' takes uint8 images ` +
          `[N, ${t.dims.join(', ')}] (a '|u1' .npy: numpy's uint8)`,
      );
    }
    const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
    const n = same(arr.shape, t.dims) ? 1 : same(arr.shape.slice(1), t.dims) ? arr.shape[0] : -1;
    if (n < 1) {
      throw new UsageError(
        `tensorrt-node infer: ${file} has shape ${fmtShape(arr.shape)}; input '${t.name}' takes [N, ${t.dims.join(', ')}]`,
      );
    }
    if (batch !== -1 && n !== batch) throw new UsageError(`tensorrt-node infer: inputs disagree on the batch (${batch} and ${n})`);
    batch = n;
    inputs[t.name] = t.dtype === 'uint8' ? (arr.uint8 as Uint8Array) : t.dtype === 'float16' ? toFloat16(arr.data) : arr.data;
  }
  return { inputs, batch };
}

/** Where each output goes: one file, or `<name>.npy` in a folder. */
interface OutputTarget {
  folder: boolean;
  fileOf(name: string): string;
}

/** An output path's folder form: a trailing separator, an existing folder, or several outputs and no .npy name. */
async function outputTarget(output: string, names: readonly string[]): Promise<OutputTarget> {
  const existingDir = await fsp.stat(output).then(
    (s) => s.isDirectory(),
    () => false,
  );
  const folder = output.endsWith('/') || output.endsWith(path.sep) || existingDir || (names.length > 1 && !/\.npy$/i.test(output));
  if (!folder && names.length > 1) {
    throw new UsageError(
      `tensorrt-node infer: --output ${output} is one file, but the network has ${names.length} outputs ` +
        `(${names.join(', ')}): give a folder (--output ${output.replace(/\.npy$/i, '')}/) for one <output name>.npy each`,
    );
  }
  return { folder, fileOf: (name) => (folder ? path.join(output, `${name.replace(/[/\\]/g, '_')}.npy`) : output) };
}

/** Fails with E_IO unless the target can be written: the folder made (or there) and writable, or the file's folder writable. */
async function checkWritable(output: string, target: OutputTarget): Promise<void> {
  const where = target.folder ? output : path.dirname(path.resolve(output));
  try {
    if (target.folder) await fsp.mkdir(output, { recursive: true });
    const s = await fsp.stat(where);
    if (!s.isDirectory()) throw new Error(`${where} is not a folder`);
    await fsp.access(where, fsConstants.W_OK);
    if (!target.folder) {
      const existing = await fsp.stat(output).catch(() => undefined);
      if (existing !== undefined) await fsp.access(output, fsConstants.W_OK);
    }
  } catch (err) {
    throw new IOError(`cannot write --output ${output}: ${(err as Error).message}`, output, { cause: err });
  }
}

/** Runs `infer`; resolves to the exit code. */
export async function runInfer(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values, positionals } = parseCommand(INFER, argv);
  if (values.help === true) {
    out(formatHelp(INFER));
    return 0;
  }
  const model = modelFile(INFER, values, positionals);
  const specs = (values.input as string[] | undefined) ?? [];
  const random = values.random === true;
  if (random === specs.length > 0) throw new UsageError('tensorrt-node infer: give --input files or --random (one of the two)');
  const output = values.output as string | undefined;
  if (output === undefined || output === '') throw new UsageError('tensorrt-node infer: give --output (a .npy file, or a folder)');
  const { seed } = engineChoices(INFER, values);
  const randomBatch = batchOption(INFER, values) ?? 1;
  for (const o of ['batch', 'shapes']) {
    if (!random && values[o] !== undefined)
      throw new UsageError(`tensorrt-node infer: --${o} goes with --random; with --input the batch is the arrays' first dimension`);
  }
  // The batch of .npy inputs is only known after reading them; build for it then.
  let batch = randomBatch;
  if (!random) {
    const probe = await readNpy(
      specs[0].includes('=') && !specs[0].startsWith(path.sep) ? specs[0].slice(specs[0].indexOf('=') + 1) : specs[0],
    );
    batch = probe.shape.length > 0 ? probe.shape[0] : 1;
  }
  // The output path is checked as soon as the output names are known, before the build.
  let target: OutputTarget | undefined;
  const { engine } = await obtainEngine(INFER, model.file, values, Math.max(1, batch), err, {
    ...(model.expect !== undefined ? { expect: model.expect } : {}),
    checkOutputs: async (names) => {
      target = await outputTarget(output, names);
      await checkWritable(output, target);
    },
  });
  const to = target as OutputTarget;
  const ctx = engine.createContext();
  try {
    let inputs: Record<string, HostArray>;
    if (random) {
      inputs = {};
      engine.inputs.forEach((t, i) => {
        inputs[t.name] = randomInputData(t.dtype, randomBatch * t.dims.reduce((a, b) => a * b, 1), seed + i);
      });
    } else {
      ({ inputs, batch } = await loadInputs(
        engine,
        specs,
        engine.inputs.map((t) => t.name),
      ));
      if (batch > engine.maxBatchSize)
        throw new UsageError(`tensorrt-node infer: the plan runs at most ${count(engine.maxBatchSize, 'image')}, the input has ${batch}`);
    }
    const outputs = await ctx.infer(inputs, { batchSize: random ? randomBatch : batch });
    const n = random ? randomBatch : batch;
    for (const t of engine.outputs) {
      const file = to.fileOf(t.name);
      const values = outputs[t.name];
      // float16 outputs (--outputIOFormats fp16) are written as float32 values.
      await writeNpy(file, [n, ...t.dims], values instanceof Uint16Array ? fromFloat16(values) : (values as Float32Array));
      out(`${t.name} [${[n, ...t.dims].join(', ')}] -> ${file}`);
    }
  } finally {
    ctx.dispose();
    engine.dispose();
  }
  return 0;
}
