#!/usr/bin/env node
/**
 * Packs the LeNet weights of scripts/train_lenet.py (.npy files) into a Caffe .caffemodel for
 * models/lenet.prototxt, with the package's own writer.
 *
 * Usage: node scripts/lenet-caffemodel.js [weightsDir] [out]
 *   weightsDir  folder with conv1.w.npy, conv1.b.npy ... ip2.b.npy (default data/lenet)
 *   out         default models/lenet_mnist.caffemodel
 * Needs `npx tsc -p tsconfig.json` first (uses dist/).
 */
'use strict';

const path = require('path');
const { readNpy } = require('../dist/lib/npy');
const { caffeSchema, Message, writeCaffemodel } = require('../dist/lib/caffe');

/** Layers of models/lenet.prototxt that have weights: name, Caffe type, blob shapes [weights, bias]. */
const LAYERS = [
  { name: 'conv1', type: 'Convolution', shapes: [[20, 1, 5, 5], [20]] },
  { name: 'conv2', type: 'Convolution', shapes: [[50, 20, 5, 5], [50]] },
  { name: 'ip1', type: 'InnerProduct', shapes: [[500, 800], [500]] },
  { name: 'ip2', type: 'InnerProduct', shapes: [[10, 500], [10]] },
];

/** Reads `<dir>/<name>.npy` and checks it has `shape`. */
async function blob(dir, name, shape) {
  const file = path.join(dir, `${name}.npy`);
  const array = await readNpy(file);
  if (array.shape.join(',') !== shape.join(',')) {
    throw new Error(`${file}: expected shape [${shape.join(', ')}] but the file holds [${array.shape.join(', ')}]`);
  }
  return { shape, data: array.data };
}

async function main() {
  const dir = process.argv[2] ?? path.join('data', 'lenet');
  const out = process.argv[3] ?? path.join('models', 'lenet_mnist.caffemodel');
  const layers = [];
  for (const { name, type, shapes } of LAYERS) {
    const param = new Message(caffeSchema, caffeSchema.message('LayerParameter'));
    param.set('name', name);
    param.set('type', type);
    layers.push({ param, blobs: [await blob(dir, `${name}.w`, shapes[0]), await blob(dir, `${name}.b`, shapes[1])] });
  }
  const header = new Message(caffeSchema, caffeSchema.message('NetParameter'));
  header.set('name', 'LeNet');
  await writeCaffemodel(out, header, layers);
  const values = layers.reduce((n, l) => n + l.blobs.reduce((m, b) => m + b.data.length, 0), 0);
  console.log(JSON.stringify({ out, layers: layers.length, parameters: values }));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
