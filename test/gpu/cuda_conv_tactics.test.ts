/**
 * Every tactic of every convolution family of the cuda backend (native/backends/cuda/kernels/
 * conv_family.h: stem, tensor-core mma, im2col + mma, SIMT FFMA / DP4A, direct), not only the one tuning
 * picks, against the cpu backend, for a set of convolution shapes in every precision, under the
 * tolerances of cuda_ops.test.ts (test/support/cuda.ts: CUDA_TOLERANCE; INT8 outputs bit exact).
 *
 * How every tactic runs: TRTN_CUDA_FORCE_TACTIC (internal, read by the convolution op at build
 * time) set to `#k` leaves the node's k-th tactic as its only one. A first build with the knob
 * unset says how many tactics the node has (details().layers[].candidates); then one engine per
 * tactic, each checked at batch 1 and 3 with poisoned outputs. The tactic names checked are
 * printed, and each precision must have covered the families the GPU has.
 * Skipped, with the reason printed, where the cuda backend cannot run.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder } from '../../lib';
import type { Engine, Network, Precision } from '../../lib';
import { BATCHES, L, MAX_BATCH, networkOf, type OpCase } from '../support/op_cases';
import { checkOutput, int8Setup, poisonedCudaSuite } from '../support/cuda';
import { count, randomInput } from '../support/reference';

const FORCE = 'TRTN_CUDA_FORCE_TACTIC';
// A tactic that refuses a run's views fails the run instead of handing it to the direct kernel
// (read once per process: set before the first cuda engine runs).
process.env.TRTN_CUDA_STRICT_TACTICS = '1';
// The GEMV tactic with four loads in flight (gemv_<math>_u4) is off unless this is set until these
// tests have passed on a GPU.
process.env.TRTN_CUDA_GEMV_U4 = '1';
// Split K in the tensor-core family (mma_..._k4 / _k8) likewise.
process.env.TRTN_CUDA_MMA_SPLIT_K = '1';
const PRECISIONS: Precision[] = ['fp32', 'tf32', 'fp16', 'int8'];

function conv(name: string, data: number[], param: string): OpCase {
  return { type: 'Convolution', name, inputs: { data }, gemm: true, body: L('conv', 'Convolution', `convolution_param { ${param} }`) };
}

/** The shapes: kernel sizes, strides, groups, dilation, few and odd channel counts. */
const shapes: OpCase[] = [
  conv('1x1 on 32 channels of 9x9 -> 24', [32, 9, 9], 'num_output: 24 kernel_size: 1'),
  conv('3x3 pad 1 on 16 channels of 12x12 -> 40', [16, 12, 12], 'num_output: 40 kernel_size: 3 pad: 1'),
  conv('5x5 pad 2 on 24 channels of 11x11 -> 16', [24, 11, 11], 'num_output: 16 kernel_size: 5 pad: 2'),
  conv('7x7 stride 2 pad 3 on RGB 29x31 -> 16', [3, 29, 31], 'num_output: 16 kernel_size: 7 stride: 2 pad: 3'),
  conv('11x11 stride 4 on RGB 47x47 -> 24 (AlexNet conv1 form)', [3, 47, 47], 'num_output: 24 kernel_size: 11 stride: 4'),
  conv('grouped 3x3 pad 1, 2 groups of 16 -> 2 x 12', [32, 10, 10], 'num_output: 24 kernel_size: 3 pad: 1 group: 2'),
  conv('dilated 3x3 dilation 2 pad 2 on 8 channels -> 8', [8, 13, 13], 'num_output: 8 kernel_size: 3 dilation: 2 pad: 2'),
  conv('odd channels: 3x3 on 7 channels of 9x9 -> 13', [7, 9, 9], 'num_output: 13 kernel_size: 3'),
  conv('odd channels: 1x1 stride 2 on 5 channels of 8x8 -> 3', [5, 8, 8], 'num_output: 3 kernel_size: 1 stride: 2'),
  // The stem family's edges: more tiles than resident CTAs (its persistent loop and double-buffered
  // patches), two channel tiles, 4 / 2 / 1 input channels, dilation, rectangular strides.
  conv('3x3 pad 1 on RGB 256x256 -> 40 (more tiles than resident CTAs)', [3, 256, 256], 'num_output: 40 kernel_size: 3 pad: 1'),
  conv(
    '5x3 stride 2x1 dilation 2 pad 3 on 4 channels of 33x35 -> 136',
    [4, 33, 35],
    'num_output: 136 kernel_h: 5 kernel_w: 3 stride_h: 2 stride_w: 1 dilation: 2 pad: 3',
  ),
  conv('1x1 on 2 channels of 17x19 -> 8', [2, 17, 19], 'num_output: 8 kernel_size: 1'),
  conv('3x3 on 1 channel of 20x20 -> 8', [1, 20, 20], 'num_output: 8 kernel_size: 3'),
  // The GEMV family's form: the kernel is the whole unpadded input (an InnerProduct over an image).
  conv('whole-image 5x5 on 8 channels of 5x5 -> 12', [8, 5, 5], 'num_output: 12 kernel_size: 5'),
  conv('whole-image 3x3 on 7 channels of 3x3 -> 21', [7, 3, 3], 'num_output: 21 kernel_size: 3'),
  // Several K chunks staged in turn, several 16-byte vectors per lane and column (its loads in flight
  // together), a column count that leaves a block's last warps past the end.
  conv('whole-image 12x12 on 64 channels -> 37 (GEMV: K chunks, vectors in flight)', [64, 12, 12], 'num_output: 37 kernel_size: 12'),
];

const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-cuda-tactics-'));
after(() => fs.rmSync(tmpDir, { recursive: true, force: true }));

function inputsFor(engine: Engine, batch: number, salt: number): Record<string, Float32Array> {
  const t = engine.inputs[0];
  return { [t.name]: randomInput(batch * count(t.dims), 500 + 17 * batch + salt) };
}

function poisoned(engine: Engine, batch: number): Record<string, Float32Array> {
  return Object.fromEntries(engine.outputs.map((o) => [o.name, new Float32Array(batch * count(o.dims)).fill(NaN)]));
}

/** Builds with TRTN_CUDA_FORCE_TACTIC set to `forced` (unset for undefined), restoring it after. */
async function buildForced(net: Network, config: object, forced: string | undefined): Promise<Engine> {
  const before = process.env[FORCE];
  if (forced === undefined) delete process.env[FORCE];
  else process.env[FORCE] = forced;
  try {
    return await new Builder({ backend: 'cuda' }).build(net, config);
  } finally {
    if (before === undefined) delete process.env[FORCE];
    else process.env[FORCE] = before;
  }
}

function convLayer(engine: Engine): { tactic: string; candidates: number } {
  const layer = (engine.details().layers ?? []).find((l) => l.op === 'Convolution');
  assert.ok(layer !== undefined, 'the engine has a Convolution layer');
  return layer;
}

/** Tactic names checked per precision, for the family coverage check. */
const checked = new Map<Precision, Set<string>>(PRECISIONS.map((p) => [p, new Set<string>()]));
let sm = 0;

async function runEveryTactic(c: OpCase, salt: number, precision: Precision): Promise<void> {
  const net = await networkOf(c, tmpDir);
  const { int8Scales, int8 } = await int8Setup(net, precision, (probe) => inputsFor(probe, MAX_BATCH, salt));
  const config = { precision, maxBatchSize: MAX_BATCH, int8Scales };
  const cpu = await new Builder({ backend: 'cpu' }).build(net, config);
  const listing = await buildForced(net, config, undefined);
  const { candidates } = convLayer(listing);
  sm = listing.details().sm ?? sm;
  listing.dispose();
  const cc = cpu.createContext();
  const names: string[] = [];
  const failures: string[] = [];
  try {
    for (let k = 0; k < candidates; k++) {
      const gpu = await buildForced(net, config, `#${k}`);
      const { tactic } = convLayer(gpu);
      names.push(tactic);
      checked.get(precision)?.add(tactic);
      const gc = gpu.createContext();
      try {
        for (const batch of BATCHES) {
          const inputs = inputsFor(cpu, batch, salt);
          const want = await cc.infer(inputs, { batchSize: batch });
          const got = await gc.infer(inputs, { batchSize: batch, outputs: poisoned(gpu, batch) });
          for (const o of gpu.outputs) {
            checkOutput(o.name, got[o.name], want[o.name], precision, `tactic ${tactic}, output '${o.name}' at batch ${batch}`, int8);
          }
        }
      } catch (e) {
        failures.push((e as Error).message);
      } finally {
        gc.dispose();
        gpu.dispose();
      }
    }
  } finally {
    cc.dispose();
    cpu.dispose();
  }
  // Tactic names are unique (a tile split over other warps adds _w<warps>): plans and tactic
  // caches name tactics, so two with one name would be one tactic to them.
  console.log(`        ${precision}: ${names.join(' ')}`);
  assert.equal(new Set(names).size, names.length, `tactic names are unique (${names.join(', ')})`);
  assert.equal(names.length, candidates, `each of the ${candidates} tactics was built (${names.join(', ')})`);
  assert.deepEqual(failures, [], `${failures.length} of ${candidates} tactics failed`);
}

/** The families each precision must have run on a GPU of compute capability `sm`. */
function expectedFamilies(precision: Precision): string[] {
  const tensorCores = sm >= 80 && precision !== 'fp32';
  const label = { fp32: 'f32', tf32: 'tf32', fp16: 'f16', int8: 'i8' }[precision];
  const families = ['direct', `gemv_${label}`];
  if (tensorCores) families.push(`mma_${label}_`);
  if (tensorCores && (precision === 'fp16' || precision === 'int8')) families.push(`im2col_mma_${label}_`, `stem_${label}_`);
  if (precision === 'int8') families.push('dp4a_');
  else if (precision === 'fp32' || !tensorCores) families.push(`simt_${label}_`);
  return families;
}

describe('gpu: every tactic of every cuda convolution family vs the cpu backend', function () {
  this.timeout(600000);
  poisonedCudaSuite();

  shapes.forEach((c, salt) => {
    describe(c.name, () => {
      for (const precision of PRECISIONS) it(precision, () => runEveryTactic(c, salt, precision));
    });
  });

  describe('family coverage', () => {
    for (const precision of PRECISIONS) {
      it(`${precision} ran every family the GPU has`, () => {
        const names = [...(checked.get(precision) ?? [])];
        for (const prefix of expectedFamilies(precision)) {
          assert.ok(
            names.some((n) => n === prefix || n.startsWith(prefix)),
            `no ${prefix}* tactic ran in ${precision} (sm ${sm}): ${names.join(', ')}`,
          );
        }
        // Split K (SIMT / DP4A) is listed for the small shapes here (few tiles, enough K tiles).
        if (precision === 'fp32' || precision === 'int8') {
          assert.ok(
            names.some((n) => /_k[48]$/.test(n)),
            `no split-K tactic ran in ${precision}: ${names.join(', ')}`,
          );
        }
      });
    }
  });
});
