/** `tensorrt-node infer`: run a network on .npy inputs (or random ones) and write .npy outputs. */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { readNpy, writeNpy } from '../npy';
import { uniformData } from '../random_data';
import type { Engine } from '../runtime/engine';
import { shape as fmtShape } from './format';
import { batchOption, ENGINE_OPTIONS, engineChoices, obtainEngine } from './engine_source';
import { formatHelp, parseCommand, UsageError, type CommandSpec } from './options';

/** The infer command's options. */
export const INFER: CommandSpec = {
  name: 'infer',
  summary: 'Run a network (prototxt or plan) on NumPy inputs and write its outputs as .npy files.',
  usage: 'tensorrt-node infer <deploy.prototxt|file.plan> (--input x.npy | --random) --output y.npy [options]',
  options: [
    { name: 'input', short: 'i', type: 'string', multiple: true, value: '[name=]x.npy',
      help: 'Input array, NCHW with the batch first (name= when the network has several inputs); float16/32/64 or integer, either byte order, read as float32' },
    { name: 'random', type: 'boolean', help: 'Use random inputs, uniform in [-1, 1), from --seed' },
    { name: 'batch', type: 'string', value: 'N', help: 'Batch of --random inputs', default: '1' },
    { name: 'output', short: 'o', type: 'string', value: 'y.npy|dir', help: 'Output file, or a folder for <output name>.npy files (required)' },
    ...ENGINE_OPTIONS,
  ],
  notes: ['Output names with "/" are written with "_" in the folder form (conv1/7x7_s2 -> conv1_7x7_s2.npy).'],
  examples: [
    'tensorrt-node infer models/lenet.prototxt --weights lenet.caffemodel --input digits.npy --output prob.npy',
    'tensorrt-node infer googlenet.plan --random --batch 4 --output out/',
  ],
};

async function loadInputs(engine: Engine, specs: string[], names: readonly string[]): Promise<{ inputs: Record<string, Float32Array>; batch: number }> {
  const byName = new Map<string, string>();
  for (const s of specs) {
    const eq = s.indexOf('=');
    const [name, file] = eq > 0 && !s.slice(0, eq).includes(path.sep) ? [s.slice(0, eq), s.slice(eq + 1)] : [names.length === 1 ? names[0] : '', s];
    if (name === '') throw new UsageError(`tensorrt-node infer: the network has inputs ${names.join(', ')}: give --input name=file.npy for each`);
    if (!names.includes(name)) throw new UsageError(`tensorrt-node infer: '${name}' is not an input (inputs: ${names.join(', ')})`);
    byName.set(name, file);
  }
  for (const n of names) if (!byName.has(n)) throw new UsageError(`tensorrt-node infer: no --input for '${n}'`);
  const inputs: Record<string, Float32Array> = {};
  let batch = -1;
  for (const t of engine.inputs) {
    const file = byName.get(t.name) as string;
    const arr = await readNpy(file);
    const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
    const n = same(arr.shape, t.dims) ? 1 : same(arr.shape.slice(1), t.dims) ? arr.shape[0] : -1;
    if (n < 1) {
      throw new UsageError(`tensorrt-node infer: ${file} has shape ${fmtShape(arr.shape)}; input '${t.name}' takes [N, ${t.dims.join(', ')}]`);
    }
    if (batch !== -1 && n !== batch) throw new UsageError(`tensorrt-node infer: inputs disagree on the batch (${batch} and ${n})`);
    batch = n;
    inputs[t.name] = arr.data;
  }
  return { inputs, batch };
}

/** Runs `infer`; resolves to the exit code. */
export async function runInfer(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values, positionals } = parseCommand(INFER, argv);
  if (values.help === true) {
    out(formatHelp(INFER));
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`tensorrt-node infer: give one prototxt or plan, got ${positionals.length} file arguments`);
  const specs = (values.input as string[] | undefined) ?? [];
  const random = values.random === true;
  if (random === (specs.length > 0)) throw new UsageError('tensorrt-node infer: give --input files or --random (one of the two)');
  const output = values.output as string | undefined;
  if (output === undefined) throw new UsageError('tensorrt-node infer: give --output (a .npy file, or a folder)');
  const { seed } = engineChoices(INFER, values);
  const randomBatch = batchOption(INFER, values) ?? 1;
  if (!random && values.batch !== undefined) throw new UsageError('tensorrt-node infer: --batch goes with --random; with --input the batch is the arrays\' first dimension');
  // The batch of .npy inputs is only known after reading them; build for it then.
  let batch = randomBatch;
  if (!random) {
    const probe = await readNpy(specs[0].includes('=') && !specs[0].startsWith(path.sep) ? specs[0].slice(specs[0].indexOf('=') + 1) : specs[0]);
    batch = probe.shape.length > 0 ? probe.shape[0] : 1;
  }
  const { engine } = await obtainEngine(INFER, positionals[0], values, Math.max(1, batch), err);
  const ctx = engine.createContext();
  try {
    let inputs: Record<string, Float32Array>;
    if (random) {
      inputs = {};
      engine.inputs.forEach((t, i) => { inputs[t.name] = uniformData(randomBatch * t.dims.reduce((a, b) => a * b, 1), seed + i); });
    } else {
      ({ inputs, batch } = await loadInputs(engine, specs, engine.inputs.map((t) => t.name)));
      if (batch > engine.maxBatchSize) throw new UsageError(`tensorrt-node infer: the plan runs at most ${engine.maxBatchSize} images, the input has ${batch}`);
    }
    const outputs = await ctx.infer(inputs, { batchSize: random ? randomBatch : batch });
    const n = random ? randomBatch : batch;
    const isDir = output.endsWith('/') || output.endsWith(path.sep) || engine.outputs.length > 1 ||
      (await fsp.stat(output).then((s) => s.isDirectory(), () => false));
    if (isDir) await fsp.mkdir(output, { recursive: true });
    for (const t of engine.outputs) {
      const file = isDir ? path.join(output, `${t.name.replace(/[/\\]/g, '_')}.npy`) : output;
      await writeNpy(file, [n, ...t.dims], outputs[t.name]);
      out(`${t.name} [${[n, ...t.dims].join(', ')}] -> ${file}`);
    }
  } finally {
    ctx.dispose();
    engine.dispose();
  }
  return 0;
}
