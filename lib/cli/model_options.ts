/**
 * The trtexec and giexec options that say which model runs and at what shape: --deploy and
 * --loadEngine (the file argument under another name), --saveEngine, --shapes (the batch, with
 * the other dimensions checked against the network) and the choice behind --best. build, infer
 * and bench read them through engine_source.ts.
 */
import type { BackendName } from '../backends';
import { loadPlugin } from '../network';
import type { Precision } from '../types';
import { NOT_ONNX } from './aliases';
import { intOption, optionLabel, UsageError, type CommandSpec, type OptionSpec, type ParsedArgs } from './options';

/** giexec's (and old trtexec's) name of the prototxt. */
export const DEPLOY: OptionSpec = {
  name: 'deploy',
  type: 'string',
  value: 'deploy.prototxt',
  help: "The Caffe network: the file argument under giexec's name",
};

/** trtexec's name of a plan to run. */
export const LOAD_ENGINE: OptionSpec = {
  name: 'loadEngine',
  type: 'string',
  value: 'file.plan',
  help: "A plan to run: the file argument under trtexec's name (refused unless it reads as a plan)",
};

/** Keep the engine a run built. */
export const SAVE_ENGINE: OptionSpec = {
  name: 'saveEngine',
  type: 'string',
  value: 'file.plan',
  help: 'Also write the engine built from the prototxt as a plan (for --loadEngine next time)',
};

/** trtexec's input shapes. */
export const SHAPES: OptionSpec = {
  name: 'shapes',
  type: 'string',
  value: 'name:NxCxHxW,..',
  help: "Input shapes as trtexec takes them: N is the batch; the other dimensions must be the network's own",
};

/** Layer plugin libraries to load before the model (docs/plugins.md). */
export const PLUGIN: OptionSpec = {
  name: 'plugin',
  type: 'string',
  value: 'lib.so',
  multiple: true,
  help: 'A layer plugin library to load first, for layer types of Caffe forks (repeatable; docs/plugins.md)',
};

/** Loads the --plugin libraries. */
export function loadPlugins(values: ParsedArgs['values']): void {
  for (const file of (values.plugin as string[] | undefined) ?? []) loadPlugin(file);
}

/** What the model file must be, when an option named it. */
export type ModelKind = 'plan' | 'prototxt';

/** The model: the file argument, --deploy or --loadEngine (exactly one), and what it must read as. */
export function modelFile(
  spec: CommandSpec,
  values: ParsedArgs['values'],
  positionals: readonly string[],
): { file: string; expect?: ModelKind } {
  const given: Array<{ file: string; expect?: ModelKind }> = positionals.map((file) => ({ file }));
  if (typeof values.deploy === 'string') given.push({ file: values.deploy, expect: 'prototxt' });
  if (typeof values.loadEngine === 'string') given.push({ file: values.loadEngine, expect: 'plan' });
  if (given.length !== 1) {
    const kind = spec.options.includes(LOAD_ENGINE) ? 'prototxt or plan' : 'deploy.prototxt';
    const ways = ['a file argument', ...[DEPLOY, LOAD_ENGINE].filter((o) => spec.options.includes(o)).map((o) => `--${o.name}`)];
    throw new UsageError(`tensorrt-node ${spec.name}: give one ${kind} (${ways.join(', ')}), got ${given.length}`);
  }
  if (/\.onnx$/i.test(given[0].file)) throw new UsageError(`tensorrt-node ${spec.name}: ${given[0].file}: ${NOT_ONNX}`);
  return given[0];
}

/** --shapes as input name -> dimensions (batch first); UsageError when malformed or the batches differ. */
export function parseShapes(spec: CommandSpec, raw: string): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const entry of raw.split(',')) {
    const at = entry.lastIndexOf(':');
    const dims = entry
      .slice(at + 1)
      .split('x')
      .map((d) => (/^\s*\d+\s*$/.test(d) ? Number(d) : NaN));
    if (at <= 0 || !dims.every((d) => Number.isInteger(d) && d > 0)) {
      throw new UsageError(
        `tensorrt-node ${spec.name}: --shapes takes name:NxCxHxW[,name:...] (for example data:128x3x224x224), got '${entry}'`,
      );
    }
    shapes.set(entry.slice(0, at).trim(), dims);
  }
  const batches = new Set([...shapes.values()].map((d) => d[0]));
  if (batches.size > 1)
    throw new UsageError(
      `tensorrt-node ${spec.name}: --shapes gives different batches (${[...batches].join(', ')}): every input has one batch`,
    );
  return shapes;
}

/** The batch: --batch and --shapes' first dimension, which must agree; undefined when neither is given. */
export function batchOption(spec: CommandSpec, values: ParsedArgs['values']): number | undefined {
  const batch = intOption(spec, 'batch', values.batch as string | undefined, 1, 1 << 20);
  if (typeof values.shapes !== 'string') return batch;
  const fromShapes = [...parseShapes(spec, values.shapes).values()][0][0];
  if (fromShapes > 1 << 20)
    throw new UsageError(`tensorrt-node ${spec.name}: --shapes: the batch must be at most 1048576, got ${fromShapes}`);
  if (batch !== undefined && batch !== fromShapes) {
    throw new UsageError(
      `tensorrt-node ${spec.name}: ${optionLabel(values, 'batch')} says ${batch} but --shapes says a batch of ${fromShapes}: give one`,
    );
  }
  return fromShapes;
}

/** Refuses a --shapes entry that names no input, or whose dimensions after the batch are not the input's. */
export function checkShapes(
  spec: CommandSpec,
  values: ParsedArgs['values'],
  inputs: ReadonlyArray<{ name: string; dims: readonly number[] }>,
): void {
  if (typeof values.shapes !== 'string') return;
  for (const [name, dims] of parseShapes(spec, values.shapes)) {
    const input = inputs.find((t) => t.name === name);
    if (input === undefined) {
      throw new UsageError(
        `tensorrt-node ${spec.name}: --shapes names '${name}', which is not an input (inputs: ${inputs.map((t) => t.name).join(', ')})`,
      );
    }
    const same = dims.length === input.dims.length + 1 && input.dims.every((d, i) => d === dims[i + 1]);
    if (!same) {
      throw new UsageError(
        `tensorrt-node ${spec.name}: --shapes ${name}:${dims.join('x')} does not fit the network: input '${name}' is ` +
          `[N, ${input.dims.join(', ')}] (${['N', ...input.dims].join('x')}); only the batch N can change`,
      );
    }
  }
}

/**
 * --best: the fastest precision a backend has, and why. GPU backends: INT8 (tensor cores, or DP4A
 * from sm_61); layers with no INT8 form run in FP32, as in every INT8 engine here (trtexec would use
 * FP16 for them). A GPU below sm_61 has no fast INT8 or FP16, so FP32. The cpu backend computes
 * FP16 and INT8 as emulations, slower than its FP32.
 */
export function bestPrecision(backend: BackendName, computeCapability?: number): { precision: Precision; why: string } {
  if (backend === 'cpu') return { precision: 'fp32', why: 'the cpu backend emulates fp16 and int8, more slowly than its fp32' };
  if (backend === 'cuda' && computeCapability !== undefined && computeCapability < 61) {
    return { precision: 'fp32', why: `sm_${computeCapability} has no fast int8 or fp16 path` };
  }
  return { precision: 'int8', why: `the fastest on the ${backend} backend; layers with no INT8 form run in fp32` };
}
