/**
 * INT8 accuracy study (issue 4), on the cpu backend whose INT8 arithmetic is the contract every
 * backend matches (docs/int8.md):
 *  - the trained LeNet (models/lenet_mnist.caffemodel) on the held-back MNIST test split: top-1
 *    of FP32 and of INT8 for every calibrator, calibrated on 1, 10 and 50 batches of 32 training
 *    digits;
 *  - AlexNet and GoogLeNet with random weights: INT8 against FP32 on random images (top-1
 *    agreement and the relative error of the probabilities), calibrated on random images.
 *   node dist/scripts/int8-accuracy.js [--json results/accuracy/int8-<date>.json] [--quick]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder, Network } from '../lib';
import {
  Int8EntropyCalibrator,
  Int8EntropyCalibrator2,
  Int8LegacyCalibrator,
  Int8MinMaxCalibrator,
  Int8PercentileCalibrator,
  type Calibrator,
  type CalibratorOptions,
} from '../lib/calibration/calibrator';
import { mnistSplit, randomBatchSource } from '../lib/calibration/data';
import type { Engine } from '../lib/runtime/engine';

const ROOT = path.resolve(__dirname, '../..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { evaluate } = require(path.join(ROOT, 'scripts', 'mnist-accuracy.js')) as {
  evaluate(engine: Engine, images: Float32Array, labels: Float32Array): Promise<{ correct: number; total: number; accuracy: number }>;
};

const ALGORITHMS: Array<[string, (o: CalibratorOptions) => Calibrator]> = [
  ['entropy2', (o) => new Int8EntropyCalibrator2(o)],
  ['entropy', (o) => new Int8EntropyCalibrator(o)],
  ['minmax', (o) => new Int8MinMaxCalibrator(o)],
  ['legacy', (o) => new Int8LegacyCalibrator(o)],
  ['percentile', (o) => new Int8PercentileCalibrator(o)],
];
const BATCH = 32;

function* digitBatches(images: Float32Array, count: number): Generator<Record<string, Float32Array>> {
  for (let b = 0; b < count; b++) yield { data: images.slice(b * BATCH * 784, (b + 1) * BATCH * 784) };
}

async function lenet(quick: boolean): Promise<unknown> {
  const { train, test } = mnistSplit();
  const net = await Network.fromCaffe(path.join(ROOT, 'models', 'lenet.prototxt'), {
    weights: path.join(ROOT, 'models', 'lenet_mnist.caffemodel'),
  });
  const builder = new Builder({ backend: 'cpu', logger: () => undefined });
  const fp32 = await builder.build(net, { precision: 'fp32', maxBatchSize: 100 });
  const base = await evaluate(fp32, test.images, test.labels);
  fp32.dispose();
  console.log(`LeNet FP32: ${(100 * base.accuracy).toFixed(2)}% (${base.correct}/${base.total})`);
  const rows: unknown[] = [];
  for (const [name, make] of ALGORITHMS) {
    for (const batches of quick ? [10] : [1, 10, 50]) {
      const calibrator = make({ batches: digitBatches(train.images, batches), batchSize: BATCH });
      const engine = await builder.build(net, { precision: 'int8', maxBatchSize: 100, calibrator });
      const r = await evaluate(engine, test.images, test.labels);
      engine.dispose();
      const delta = 100 * (r.accuracy - base.accuracy);
      rows.push({
        algorithm: name,
        calibrationBatches: batches,
        calibrationImages: batches * BATCH,
        accuracy: r.accuracy,
        correct: r.correct,
        deltaPoints: delta,
      });
      console.log(
        `LeNet INT8 ${name.padEnd(10)} ${String(batches).padStart(2)} batches: ${(100 * r.accuracy).toFixed(2)}% (${delta >= 0 ? '+' : ''}${delta.toFixed(2)} points)`,
      );
    }
  }
  return { model: 'models/lenet.prototxt + models/lenet_mnist.caffemodel', testImages: test.count, fp32: base, int8: rows };
}

function relError(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

function top1(p: Float32Array, n: number, classes: number): number {
  let best = 0;
  for (let c = 1; c < classes; c++) if (p[n * classes + c] > p[n * classes + best]) best = c;
  return best;
}

async function randomWeights(model: string, images: number): Promise<unknown> {
  const net = await Network.fromCaffe(path.join(ROOT, 'models', `${model}.prototxt`));
  const dims = net.inputs[0].shape.slice(1);
  const builder = new Builder({ backend: 'cpu', logger: () => undefined });
  const fp32 = await builder.build(net, { precision: 'fp32', maxBatchSize: 8 });
  const calibrator = new Int8EntropyCalibrator2({ batches: randomBatchSource('data', dims, 8, 8, 7), batchSize: 8 });
  const int8 = await builder.build(net, { precision: 'int8', maxBatchSize: 8, calibrator });
  let agree = 0;
  let err = 0;
  const source = randomBatchSource('data', dims, 8, images / 8, 99);
  for (const batch of source as Iterable<Record<string, Float32Array>>) {
    const a = (await fp32.createContext().infer(batch)).prob;
    const q = (await int8.createContext().infer(batch)).prob;
    for (let n = 0; n < 8; n++) if (top1(a, n, 1000) === top1(q, n, 1000)) agree++;
    err += relError(q, a) / (images / 8);
  }
  fp32.dispose();
  int8.dispose();
  console.log(
    `${model} (random weights) INT8 vs FP32: top-1 agreement ${agree}/${images}, mean relative error of the probabilities ${err.toExponential(2)}`,
  );
  return {
    model: `models/${model}.prototxt`,
    weights: 'random (he, seed 1)',
    calibration: 'entropy2, 8 batches of 8 random images',
    images,
    top1Agreement: agree / images,
    meanRelativeError: err,
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const jsonAt = args.indexOf('--json');
  const result = {
    what: 'INT8 accuracy on the cpu backend (its INT8 arithmetic is the contract of every backend)',
    date: new Date().toISOString(),
    node: process.version,
    cpu: os.cpus()[0]?.model,
    lenet: await lenet(quick),
    random: [await randomWeights('alexnet', quick ? 16 : 64), await randomWeights('googlenet', quick ? 16 : 64)],
  };
  if (jsonAt >= 0) fs.writeFileSync(args[jsonAt + 1], `${JSON.stringify(result, null, 2)}\n`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
