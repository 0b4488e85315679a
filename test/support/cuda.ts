/** Helpers of the GPU tests (test/gpu): the skip, and the cuda-vs-cpu comparison rules. */
import { strict as assert } from 'assert';
import { backendStatus } from '../../lib';
import { planExecGraph } from '../../lib/builder/exec_graph';
import { Builder } from '../../lib';
import type { Engine, Network, Precision } from '../../lib';
import { isFloat16, MAX_BATCH } from './op_cases';
import { randomInput, referenceForward, relError } from './reference';

/** Skips the suite (printing why, never silently) when the cuda backend cannot run here. */
export function requireCuda(ctx: Mocha.Context): void {
  const cuda = backendStatus().find((b) => b.name === 'cuda');
  if (cuda === undefined || !cuda.available) {
    console.log(`      cuda tests skipped: ${cuda === undefined ? 'unknown backend' : cuda.reason}`);
    ctx.skip();
  }
}

/** Seeded random inputs in [-1, 1) for `batch` images of every input of `engine` (input i: seed + i). */
export function randomImages(engine: Engine, batch: number, seed: number): Record<string, Float32Array> {
  return Object.fromEntries(engine.inputs.map((t, i) => [t.name, randomInput(batch * t.dims.reduce((a, b) => a * b, 1), seed + i, -1, 1)]));
}

/** Every output of `a` equals `b`'s bit for bit (Object.is: NaN and -0 too) and is finite. */
export function sameBits(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>, what: string): void {
  for (const name of Object.keys(a)) {
    const x = a[name] as Float32Array;
    const y = b[name] as Float32Array;
    assert.equal(x.length, y.length, `${what}: ${name} length`);
    const bad = x.findIndex((v, i) => !Object.is(v, y[i]));
    assert.equal(bad, -1, `${what}: ${name}[${bad}] ${x[bad]} vs ${y[bad]}`);
    assert.ok(x.every(Number.isFinite), `${what}: ${name} has a non-finite value`);
  }
}

/**
 * `a` and `b` give equal outputs (`same`, default sameBits) for seeded random inputs of `batch`
 * images, each on a context of its own (disposed after).
 */
export async function sameOutputs(
  a: Engine,
  b: Engine,
  what: string,
  same: (x: Record<string, unknown>, y: Record<string, unknown>, what: string) => void = sameBits,
  batch = 3,
): Promise<void> {
  const inputs = randomImages(b, batch, 5);
  const c = a.createContext();
  const d = b.createContext();
  try {
    same(await c.infer(inputs), await d.infer(inputs), what);
  } finally {
    c.dispose();
    d.dispose();
  }
}

/**
 * Mocha hooks for a GPU suite: skip where the cuda backend cannot run, and poison the GPU's
 * activation memory (NaN) while the suite runs, so a value the GPU never writes cannot pass.
 */
export function poisonedCudaSuite(): void {
  before(function () {
    requireCuda(this);
    process.env.TRTN_CUDA_POISON = '1';
  });
  after(() => {
    delete process.env.TRTN_CUDA_POISON;
  });
}

/**
 * Relative L2 error the cuda backend may have against the cpu backend, per precision:
 *   - fp32: < 1e-5 (the same float32 arithmetic, another summation order);
 *   - tf32: < 1e-4 (both backends round the same operands; sums differ in order);
 *   - fp16: every output a float16 value, < 4e-3 (both round every tensor to float16; a different
 *     summation order can move a value by one float16 step);
 *   - int8: outputs of INT8 nodes equal bit for bit (docs/int8.md), float nodes < 1e-5.
 */
export const CUDA_TOLERANCE: Record<Precision, number> = { fp32: 1e-5, tf32: 1e-4, fp16: 4e-3, int8: 1e-5 };
/** Ops that run in INT8 in an int8 engine. */
export const INT8_OPS = new Set(['Convolution', 'InnerProduct', 'Pooling', 'ReLU', 'Concat', 'Eltwise', 'Flatten', 'Reshape', 'LRN']);
/** INT8 ops whose results may differ from the cpu's by a step (docs/int8.md: LRN's pow). */
const INT8_WITHIN_A_STEP = new Set(['LRN']);

/** INT8 scales for every tensor: amax / 127 of the float64 reference on the given batch-MAX_BATCH inputs. */
export function referenceScales(net: Network, inputs: Record<string, Float32Array>): Record<string, number> {
  const values = referenceForward(net.withBatchSize(MAX_BATCH), inputs);
  const scales: Record<string, number> = {};
  for (const [name, v] of values) {
    let amax = 0;
    for (const x of v) if (Number.isFinite(x)) amax = Math.max(amax, Math.abs(x));
    scales[name] = amax > 0 ? amax / 127 : 1 / 127;
  }
  return scales;
}

/** Which outputs of an int8 engine must match the cpu exactly, and which within a step. */
export interface Int8Outputs {
  readonly exact: Set<string>;
  /** Downstream of an INT8 LRN: a step here and there. */
  readonly step: Set<string>;
}

/** Exact: outputs of INT8 nodes with no LRN upstream (node order is topological). */
export function int8Outputs(net: Network, int8Scales: Record<string, number>): Int8Outputs {
  const exact = new Set<string>();
  const step = new Set<string>();
  const graph = planExecGraph(net, { precision: 'int8', maxBatchSize: MAX_BATCH, optimize: true, int8Scales });
  const inexact = new Set<number>();
  for (const node of graph.nodes) {
    const tainted = INT8_WITHIN_A_STEP.has(node.op) || node.inputs.some((t) => inexact.has(t));
    for (const t of node.outputs) {
      if (tainted) {
        inexact.add(t);
        step.add(graph.tensors[t].name);
      } else if (node.precision === 'int8' && INT8_OPS.has(node.op)) exact.add(graph.tensors[t].name);
    }
  }
  return { exact, step };
}

/**
 * For an int8 build: scales from the float64 reference on the inputs `inputsAt` gives for a
 * MAX_BATCH fp32 cpu engine of `net`, and which outputs must then match exactly. Nothing for
 * other precisions.
 */
export async function int8Setup(
  net: Network,
  precision: Precision,
  inputsAt: (probe: Engine) => Record<string, Float32Array>,
): Promise<{ int8Scales?: Record<string, number>; int8?: Int8Outputs }> {
  if (precision !== 'int8') return {};
  const probe = await new Builder({ backend: 'cpu' }).build(net, { precision: 'fp32', maxBatchSize: MAX_BATCH });
  const int8Scales = referenceScales(net, inputsAt(probe));
  probe.dispose();
  return { int8Scales, int8: int8Outputs(net, int8Scales) };
}

/**
 * Asserts one cuda output against the cpu's under CUDA_TOLERANCE (`int8`: the engine's exact and
 * step outputs); returns the relative L2 error (0 for bit-exact INT8 outputs).
 */
export function checkOutput(
  name: string,
  got: Float32Array,
  want: Float32Array,
  precision: Precision,
  where: string,
  int8?: Int8Outputs,
): number {
  if (precision === 'int8' && int8?.exact.has(name)) {
    const bad = got.findIndex((v, i) => !Object.is(v, want[i]) && !(Number.isNaN(v) && Number.isNaN(want[i])));
    assert.equal(bad, -1, `${where}: INT8 result [${bad}] = ${got[bad]}, cpu gives ${want[bad]} (must be bit exact)`);
    return 0;
  }
  const nan = got.findIndex((v, i) => Number.isNaN(v) && !Number.isNaN(want[i]));
  assert.equal(nan, -1, `${where}: [${nan}] is NaN (never written?), cpu gives ${want[nan]}`);
  if (precision === 'fp16') {
    const bad = got.findIndex((v) => !isFloat16(v));
    assert.equal(bad, -1, `${where}: [${bad}] = ${got[bad]} is not a float16 value`);
  }
  const err = relError(got, want);
  const tolerance = precision === 'int8' && int8?.step.has(name) ? 1e-2 : CUDA_TOLERANCE[precision];
  assert.ok(err < tolerance, `${where}: relative L2 error ${err.toExponential(3)} >= ${tolerance}`);
  return err;
}
