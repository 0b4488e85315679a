#!/usr/bin/env node
/**
 * Top-1 accuracy of the trained LeNet (models/lenet.prototxt + models/lenet_mnist.caffemodel) on
 * the held-back MNIST test split of scripts/mnist-data.js, through a cpu FP32 engine of ours.
 * When the PyTorch training output is there (train.json, test-pred.npy), it also reports the
 * accuracy PyTorch measured with the same weights and the test samples where the two disagree.
 *
 * Usage: node scripts/mnist-accuracy.js [--prototxt models/lenet.prototxt]
 *          [--weights models/lenet_mnist.caffemodel] [--data data/mnist] [--reference data/lenet]
 * Prints one JSON line. Needs `npx tsc -p tsconfig.json` and the addon built (uses dist/).
 *
 * `evaluate(engine, images, labels)` is exported for other precisions (INT8) to reuse.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const { Builder, Network } = require('../dist/lib');
const { readNpy } = require('../dist/lib/npy');

const BATCH = 100;

/**
 * Runs `images` (Float32Array, N images of the engine's input size, C order) through `engine`
 * in batches of at most 100 (and at most engine.maxBatchSize) and compares the top-1 class of
 * its first output with `labels` (N class indices, any numeric array).
 * @returns {Promise<{ total: number, correct: number, accuracy: number, predictions: Int32Array, seconds: number }>}
 */
async function evaluate(engine, images, labels) {
  const input = engine.inputs[0];
  const output = engine.outputs[0];
  const imageSize = input.dims.reduce((a, b) => a * b, 1);
  const classes = output.dims.reduce((a, b) => a * b, 1);
  const total = labels.length;
  if (images.length !== total * imageSize) {
    throw new RangeError(`Expected ${total} images of ${imageSize} values for images but received ${images.length} values`);
  }
  const batch = Math.min(BATCH, engine.maxBatchSize);
  const predictions = new Int32Array(total);
  let correct = 0;
  const start = process.hrtime.bigint();
  const ctx = engine.createContext();
  try {
    for (let first = 0; first < total; first += batch) {
      const count = Math.min(batch, total - first);
      const data = images.subarray(first * imageSize, (first + count) * imageSize);
      const scores = (await ctx.infer({ [input.name]: data }))[output.name];
      for (let n = 0; n < count; n++) {
        let best = 0;
        for (let c = 1; c < classes; c++) if (scores[n * classes + c] > scores[n * classes + best]) best = c;
        predictions[first + n] = best;
        if (best === labels[first + n]) correct++;
      }
    }
  } finally {
    ctx.dispose();
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { total, correct, accuracy: correct / total, predictions, seconds };
}

/** Images and labels of one split written by scripts/mnist-data.js. */
async function loadSplit(dir, split) {
  const images = await readNpy(path.join(dir, `${split}-images.npy`));
  const labels = await readNpy(path.join(dir, `${split}-labels.npy`));
  if (images.shape.length !== 4 || images.shape[0] !== labels.data.length) {
    throw new Error(`${dir}: ${split} images [${images.shape.join(', ')}] and labels [${labels.shape.join(', ')}] do not match`);
  }
  return { images: images.data, labels: labels.data };
}

/** PyTorch's result for the same weights, when scripts/train_lenet.py's output is in `dir`. */
async function pytorchReference(dir, predictions) {
  const summary = path.join(dir, 'train.json');
  if (!fs.existsSync(summary)) return undefined;
  const trained = JSON.parse(fs.readFileSync(summary, 'utf8'));
  const reference = { accuracy: trained.test_accuracy, correct: trained.test_correct, torch: trained.torch, device: trained.device };
  const predFile = path.join(dir, 'test-pred.npy');
  if (fs.existsSync(predFile)) {
    const theirs = (await readNpy(predFile)).data;
    if (theirs.length === predictions.length) {
      reference.disagreements = [];
      for (let i = 0; i < theirs.length; i++) {
        if (theirs[i] !== predictions[i]) reference.disagreements.push({ sample: i, ours: predictions[i], pytorch: theirs[i] });
      }
    }
  }
  return reference;
}

function parseArgs(argv) {
  const args = {
    prototxt: path.join('models', 'lenet.prototxt'),
    weights: path.join('models', 'lenet_mnist.caffemodel'),
    data: path.join('data', 'mnist'),
    reference: path.join('data', 'lenet'),
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in args) || argv[i + 1] === undefined) {
      throw new Error(`unknown or incomplete option ${argv[i]}; options: ${Object.keys(args).map((k) => `--${k} <path>`).join(' ')}`);
    }
    args[key] = argv[i + 1];
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const { images, labels } = await loadSplit(args.data, 'test');
  const net = await Network.fromCaffe(args.prototxt, { weights: args.weights });
  const engine = await new Builder({ backend: 'cpu' }).build(net, { precision: 'fp32', maxBatchSize: BATCH });
  try {
    const result = await evaluate(engine, images, labels);
    const report = {
      model: args.prototxt, weights: args.weights, backend: engine.backend, precision: engine.precision, batch: BATCH,
      test_samples: result.total, correct: result.correct, accuracy: result.accuracy, seconds: Number(result.seconds.toFixed(3)),
    };
    const reference = await pytorchReference(args.reference, result.predictions);
    if (reference !== undefined) {
      report.pytorch = reference;
      // In samples, not floats: PyTorch's accuracy is a float32 mean.
      report.difference_points = Number((((result.correct - reference.correct) / result.total) * 100).toFixed(4));
    }
    console.log(JSON.stringify(report));
  } finally {
    engine.dispose();
  }
}

module.exports = { evaluate, loadSplit };

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
