/**
 * Whole networks on the cuda backend against the cpu backend in FP32 (random weights, seeded
 * random inputs): top-1 agreement 100% in fp32 and tf32, at least 99% in fp16 and int8 (calibrated
 * on the GPU with entropy2), and the outputs close. The cpu FP32 result of each network is computed
 * once and shared.
 */
import { strict as assert } from 'assert';
import * as path from 'path';
import { Builder, Network } from '../../lib';
import { Int8EntropyCalibrator2 } from '../../lib/calibration/calibrator';
import { randomBatchSource } from '../../lib/calibration/data';
import type { Precision } from '../../lib';
import { requireCuda } from '../support/cuda';
import { randomInput, relError } from '../support/reference';

const ROOT = path.resolve(__dirname, '../../..');

/** Each network and the images compared. */
const NETWORKS: ReadonlyArray<{ file: string; batch: number }> = [
  { file: 'lenet.prototxt', batch: 64 },
  { file: 'alexnet.prototxt', batch: 32 },
  { file: 'googlenet.prototxt', batch: 32 },
  { file: 'squeezenet1.1.prototxt', batch: 32 },
  { file: 'resnet50.prototxt', batch: 16 },
  { file: 'vgg16.prototxt', batch: 8 },
];
const AGREEMENT: Record<Precision, number> = { fp32: 1, tf32: 1, fp16: 0.99, int8: 0.99 };
const ERROR: Record<Precision, number> = { fp32: 1e-4, tf32: 2e-2, fp16: 5e-2, int8: 0.5 };

function top1(scores: Float32Array, classes: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (scores[i * classes + c] > scores[i * classes + best]) best = c;
    return best;
  });
}

describe('gpu: whole networks, cuda vs cpu FP32', function () {
  this.timeout(600000);
  before(function () {
    requireCuda(this);
  });
  const summary: string[] = [];
  after(() => {
    if (summary.length > 0) console.log(`top-1 agreement with cpu FP32 and relative L2 error of the outputs:\n${summary.join('\n')}`);
  });

  for (const { file, batch } of NETWORKS) {
    describe(file, () => {
      let net: Network;
      let input: Record<string, Float32Array>;
      let reference: Float32Array;
      let classes = 0;
      let output = '';
      before(async () => {
        net = await Network.fromCaffe(path.join(ROOT, 'models', file), { seed: 11 });
        const cpu = await new Builder({ backend: 'cpu' }).build(net, { precision: 'fp32', maxBatchSize: batch });
        const t = cpu.inputs[0];
        input = { [t.name]: randomInput(batch * t.dims.reduce((a, b) => a * b, 1), 1234, -1, 1) };
        output = cpu.outputs[0].name;
        classes = cpu.outputs[0].dims.reduce((a, b) => a * b, 1);
        const ctx = cpu.createContext();
        reference = (await ctx.infer(input))[output];
        ctx.dispose();
        cpu.dispose();
      });
      for (const precision of ['fp32', 'tf32', 'fp16', 'int8'] as Precision[]) {
        it(`${precision}: top-1 agreement >= ${AGREEMENT[precision] * 100}%`, async () => {
          // INT8 calibrated on the GPU (entropy2 on 8 batches of 8 random images; the statistics are
          // counted by the cuda backend), as scripts/int8-accuracy.ts does on the cpu backend.
          const t = net.inputs[0];
          const calibrator = precision !== 'int8' ? undefined
            : new Int8EntropyCalibrator2({ batches: randomBatchSource(t.name, t.shape.slice(1), 8, 8, 7), batchSize: 8 });
          const engine = await new Builder({ backend: 'cuda', logger: () => undefined })
            .build(net, { precision, maxBatchSize: batch, calibrator });
          const ctx = engine.createContext();
          const got = (await ctx.infer(input))[output];
          ctx.dispose();
          engine.dispose();
          const a = top1(got, classes, batch);
          const e = top1(reference, classes, batch);
          const agree = a.filter((v, i) => v === e[i]).length / batch;
          const err = relError(got, reference);
          summary.push(`  ${file.padEnd(20)} ${precision.padEnd(5)} ${(agree * 100).toFixed(1).padStart(6)}%  ${err.toExponential(2)}`);
          assert.ok(got.every(Number.isFinite), 'every output is finite');
          assert.ok(agree >= AGREEMENT[precision], `top-1 agreement ${(agree * 100).toFixed(1)}% over ${batch} images`);
          assert.ok(err < ERROR[precision], `relative L2 error ${err.toExponential(3)}`);
        });
      }
    });
  }
});
