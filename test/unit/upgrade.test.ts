/**
 * Tests of lib/caffe/upgrade.ts: the V0 -> V1 -> current upgrades, the legacy input fields, and
 * the include / exclude phase rules, through parsePrototxt (what users call) and through the
 * named steps one at a time. Error cases assert the code, the position and a message fragment.
 */
import { strict as assert } from 'assert';
import { locate } from '../support/helpers';
import * as path from 'path';
import { caffeSchema, parsePrototxt, readPrototxt, type CaffeNetDefinition } from '../../lib/caffe';
import { Message } from '../../lib/caffe/message';
import { parseTextFormat } from '../../lib/caffe/text_format';
import {
  V1_TYPES,
  detectFormat,
  filterByPhase,
  upgradeDataTransform,
  upgradeInputFields,
  upgradeNet,
  upgradeV0PaddingLayers,
  upgradeV0ToV1,
  upgradeV1ToCurrent,
} from '../../lib/caffe/upgrade';
import { ParseError } from '../../lib/errors';

const FILE = 'net.prototxt';
const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'prototxt');

type ParseOptions = Parameters<typeof parsePrototxt>[1];

/** parsePrototxt with file name FILE. */
function load(src: string, options: ParseOptions = {}): CaffeNetDefinition {
  return parsePrototxt(src, { file: FILE, ...options });
}

/** The NetParameter of `src` as read, before any upgrade step. */
function raw(src: string): Message {
  return parseTextFormat(caffeSchema, 'NetParameter', src, { file: FILE }).message;
}

/** The layers of a definition by name (names must be unique). */
function byName(def: CaffeNetDefinition): Map<string, Message> {
  const map = new Map<string, Message>();
  for (const l of def.net.msgs('layer')) {
    assert.ok(!map.has(l.str('name')), `duplicate layer name ${l.str('name')}`);
    map.set(l.str('name'), l);
  }
  return map;
}

/** The names of the layers kept, in order. */
function names(def: CaffeNetDefinition): string[] {
  return def.net.msgs('layer').map((l) => l.str('name'));
}

/** [lr_mult, decay_mult] of each ParamSpec of a layer. */
function params(layer: Message): Array<[number, number]> {
  return layer.msgs('param').map((p) => [p.num('lr_mult'), p.num('decay_mult')]);
}

/** Asserts that `fn` throws E_PARSE at `at` in FILE with every fragment in its message. */
function expectParseError(fn: () => unknown, at: { line: number; col: number }, fragments: readonly string[]): ParseError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, 'expected a ParseError, but nothing was thrown');
  assert.ok(caught instanceof ParseError, `expected a ParseError, got ${String(caught)}`);
  assert.equal(caught.code, 'E_PARSE');
  assert.deepEqual({ ...caught.position }, { file: FILE, line: at.line, col: at.col }, `position of: ${caught.message}`);
  assert.ok(caught.message.startsWith(`${FILE}:${at.line}:${at.col}: `), caught.message);
  for (const f of fragments) {
    assert.ok(caught.message.includes(f), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(f)}`);
  }
  return caught;
}

/** A V0 layer entry: `layers { layer { <inner> } <outer> }`. */
function v0(inner: string, outer: string): string {
  return `layers {\n  layer { ${inner} }\n  ${outer}\n}\n`;
}

/** What BVLC Caffe's UpgradeV1LayerType returns for each V1 LayerType (written out independently). */
const EXPECTED_V1_TYPES: Readonly<Record<string, string>> = {
  ABSVAL: 'AbsVal',
  ACCURACY: 'Accuracy',
  ARGMAX: 'ArgMax',
  BNLL: 'BNLL',
  CONCAT: 'Concat',
  CONTRASTIVE_LOSS: 'ContrastiveLoss',
  CONVOLUTION: 'Convolution',
  DATA: 'Data',
  DECONVOLUTION: 'Deconvolution',
  DROPOUT: 'Dropout',
  DUMMY_DATA: 'DummyData',
  EUCLIDEAN_LOSS: 'EuclideanLoss',
  ELTWISE: 'Eltwise',
  EXP: 'Exp',
  FLATTEN: 'Flatten',
  HDF5_DATA: 'HDF5Data',
  HDF5_OUTPUT: 'HDF5Output',
  HINGE_LOSS: 'HingeLoss',
  IM2COL: 'Im2col',
  IMAGE_DATA: 'ImageData',
  INFOGAIN_LOSS: 'InfogainLoss',
  INNER_PRODUCT: 'InnerProduct',
  LRN: 'LRN',
  MEMORY_DATA: 'MemoryData',
  MULTINOMIAL_LOGISTIC_LOSS: 'MultinomialLogisticLoss',
  MVN: 'MVN',
  POOLING: 'Pooling',
  POWER: 'Power',
  RELU: 'ReLU',
  SIGMOID: 'Sigmoid',
  SIGMOID_CROSS_ENTROPY_LOSS: 'SigmoidCrossEntropyLoss',
  SILENCE: 'Silence',
  SOFTMAX: 'Softmax',
  SOFTMAX_LOSS: 'SoftmaxWithLoss',
  SPLIT: 'Split',
  SLICE: 'Slice',
  TANH: 'TanH',
  WINDOW_DATA: 'WindowData',
  THRESHOLD: 'Threshold',
};

describe('upgrade: V1 (layers { type: ENUM }) to current', () => {
  const V1_CONV =
    'layers { name: "conv1" type: CONVOLUTION bottom: "data" top: "conv1" blobs_lr: 1 blobs_lr: 2 ' +
    'weight_decay: 1 weight_decay: 0 convolution_param { num_output: 96 kernel_size: 11 stride: 4 } }';

  it('turns a V1 convolution into a LayerParameter with type "Convolution", param specs and its convolution_param', () => {
    const def = load(V1_CONV);
    assert.equal(def.format, 'V1');
    assert.equal(def.net.has('layers'), false, 'no V1 layers remain');
    const layers = def.net.msgs('layer');
    assert.equal(layers.length, 1);
    const l = layers[0];
    assert.equal(l.typeName, 'LayerParameter');
    assert.equal(l.str('name'), 'conv1');
    assert.equal(l.str('type'), 'Convolution');
    assert.deepEqual(l.strs('bottom'), ['data']);
    assert.deepEqual(l.strs('top'), ['conv1']);
    assert.deepEqual(params(l), [
      [1, 1],
      [2, 0],
    ]);
    assert.ok(
      l.msgs('param').every((p) => p.has('lr_mult') && p.has('decay_mult')),
      'both multipliers set explicitly',
    );
    assert.deepEqual(l.sub('convolution_param').toJSON(), { num_output: 96, kernel_size: [11], stride: [4] });
    assert.deepEqual(l.toJSON(), {
      name: 'conv1',
      type: 'Convolution',
      bottom: ['data'],
      top: ['conv1'],
      param: [
        { lr_mult: 1, decay_mult: 1 },
        { lr_mult: 2, decay_mult: 0 },
      ],
      convolution_param: { num_output: 96, kernel_size: [11], stride: [4] },
    });
  });

  it('maps blobs_lr without weight_decay, and param names and blob_share_mode to ParamSpec', () => {
    const def = load('layers { name: "ip" type: INNER_PRODUCT blobs_lr: 0.5 param: "w" param: "b" ' + 'blob_share_mode: PERMISSIVE }');
    const l = def.net.msgs('layer')[0];
    const specs = l.msgs('param');
    assert.equal(specs.length, 2);
    assert.equal(specs[0].num('lr_mult'), 0.5);
    assert.equal(specs[0].has('decay_mult'), false, 'decay_mult left at its default');
    assert.equal(specs[0].num('decay_mult'), 1);
    assert.equal(specs[0].str('name'), 'w');
    assert.equal(specs[0].str('share_mode'), 'PERMISSIVE');
    assert.equal(specs[1].str('name'), 'b');
    assert.equal(specs[1].has('lr_mult'), false);
  });

  it('maps every V1 LayerType to the current type string Caffe uses', () => {
    const keys = Object.keys(V1_TYPES);
    assert.ok(keys.length >= 39, `only ${keys.length} V1 types`);
    for (const [enumName, typeString] of Object.entries(V1_TYPES)) {
      assert.equal(typeof typeString, 'string');
      assert.ok(typeString.length > 0, `${enumName} maps to an empty type`);
      assert.equal(typeString, EXPECTED_V1_TYPES[enumName], `V1 type ${enumName}`);
    }
    assert.deepEqual([...keys].sort(), Object.keys(EXPECTED_V1_TYPES).sort());
    // Every value of the schema's enum except NONE has a mapping.
    const enumValues = [...caffeSchema.enum('V1LayerParameter.LayerType').byName.keys()].filter((v) => v !== 'NONE');
    assert.deepEqual(enumValues.sort(), [...keys].sort());
    // A few spelled out: the irregular ones.
    assert.equal(V1_TYPES.SOFTMAX_LOSS, 'SoftmaxWithLoss');
    assert.equal(V1_TYPES.TANH, 'TanH');
    assert.equal(V1_TYPES.IM2COL, 'Im2col');
    assert.equal(V1_TYPES.HDF5_DATA, 'HDF5Data');
    assert.equal(V1_TYPES.RELU, 'ReLU');
  });

  it('upgrades a V1 layer of every type through parsePrototxt', () => {
    const entries = Object.keys(EXPECTED_V1_TYPES);
    const src = entries.map((t, i) => `layers { name: "l${i}" type: ${t} }`).join('\n');
    const def = load(src);
    assert.equal(def.format, 'V1');
    assert.deepEqual(
      def.net.msgs('layer').map((l) => l.str('type')),
      entries.map((t) => EXPECTED_V1_TYPES[t]),
    );
    // Numeric enum values work too (4 = CONVOLUTION, 17 = POOLING).
    assert.deepEqual(
      load('layers { type: 4 } layers { type: 17 }')
        .net.msgs('layer')
        .map((l) => l.str('type')),
      ['Convolution', 'Pooling'],
    );
  });

  it('rejects a V1 layer of type NONE', () => {
    const src = 'name: "n"\nlayers { name: "nothing" type: NONE }';
    expectParseError(() => load(src), { line: 2, col: 1 }, ["V1 layer 'nothing' has type NONE", 'no current form']);
  });

  it('keeps include / exclude, loss_weight and other shared fields, and moves data-layer transform fields', async () => {
    const def = await readPrototxt(path.join(FIXTURES, 'v1_small.prototxt'), { phase: 'TRAIN' });
    assert.equal(def.format, 'V1');
    assert.deepEqual(names(def), ['data', 'conv1', 'pool1', 'ip1', 'loss']);
    assert.deepEqual(def.removedByPhase, ['prob']);
    const layers = byName(def);
    const data = layers.get('data') as Message;
    assert.equal(data.str('type'), 'Data');
    assert.deepEqual(
      data.msgs('include').map((r) => r.str('phase')),
      ['TRAIN'],
    );
    assert.deepEqual(data.sub('data_param').toJSON(), { source: 'train_lmdb', backend: 'LMDB', batch_size: 64 });
    assert.deepEqual(data.sub('transform_param').toJSON(), { scale: 0.00390625 });
    assert.deepEqual(params(layers.get('conv1') as Message), [
      [1, 1],
      [2, 0],
    ]);
    assert.equal((layers.get('pool1') as Message).sub('pooling_param').str('pool'), 'MAX');
    assert.equal((layers.get('loss') as Message).str('type'), 'SoftmaxWithLoss');
    assert.deepEqual((layers.get('loss') as Message).strs('bottom'), ['ip1', 'label']);
    const lw = load('layers { name: "l" type: EUCLIDEAN_LOSS loss_weight: 2 exclude { phase: TRAIN } }').net.msgs('layer')[0];
    assert.deepEqual(lw.nums('loss_weight'), [2]);
    assert.deepEqual(
      lw.msgs('exclude').map((r) => r.str('phase')),
      ['TRAIN'],
    );
  });
});

describe('upgrade: V0 (layers { layer { ... } }) to current', () => {
  it('upgrades a V0 convolution with its fillers and bias flag', () => {
    const def = load(
      'layers { layer { name: "conv1" type: "conv" num_output: 96 kernelsize: 11 stride: 4 biasterm: false ' +
        'weight_filler { type: "gaussian" std: 0.01 } } bottom: "data" top: "conv1" }',
    );
    assert.equal(def.format, 'V0');
    const l = def.net.msgs('layer')[0];
    assert.equal(l.str('name'), 'conv1');
    assert.equal(l.str('type'), 'Convolution');
    assert.deepEqual(l.strs('bottom'), ['data']);
    assert.deepEqual(l.strs('top'), ['conv1']);
    const cp = l.sub('convolution_param');
    assert.equal(cp.num('num_output'), 96);
    assert.deepEqual(cp.nums('kernel_size'), [11]);
    assert.deepEqual(cp.nums('stride'), [4]);
    assert.equal(cp.has('bias_term'), true);
    assert.equal(cp.bool('bias_term'), false);
    assert.equal(cp.sub('weight_filler').str('type'), 'gaussian');
    assert.equal(cp.sub('weight_filler').num('std'), Math.fround(0.01));
    assert.equal(def.net.has('layers'), false);
  });

  it('upgrades V0 blobs_lr / weight_decay to param specs, and pad / group / bias_filler of a conv', () => {
    const l = load(
      v0(
        'name: "c" type: "conv" num_output: 8 kernelsize: 3 pad: 1 group: 2 ' +
          'bias_filler { type: "constant" value: 0.1 } blobs_lr: 1 blobs_lr: 2 weight_decay: 1 weight_decay: 0',
        'bottom: "x" top: "c"',
      ),
    ).net.msgs('layer')[0];
    assert.deepEqual(params(l), [
      [1, 1],
      [2, 0],
    ]);
    const cp = l.sub('convolution_param');
    assert.deepEqual(cp.nums('pad'), [1]);
    assert.equal(cp.num('group'), 2);
    assert.equal(cp.sub('bias_filler').num('value'), Math.fround(0.1));
  });

  it('upgrades a V0 pool (pool: MAX kernelsize: 3 stride: 2)', () => {
    const l = load(v0('name: "pool1" type: "pool" pool: MAX kernelsize: 3 stride: 2', 'bottom: "a" top: "b"')).net.msgs('layer')[0];
    assert.equal(l.str('type'), 'Pooling');
    assert.deepEqual(l.sub('pooling_param').toJSON(), { pool: 'MAX', kernel_size: 3, stride: 2 });
    const ave = load(v0('name: "p" type: "pool" pool: AVE kernelsize: 2 pad: 1', 'bottom: "a" top: "b"')).net.msgs('layer')[0];
    assert.deepEqual(ave.sub('pooling_param').toJSON(), { pool: 'AVE', kernel_size: 2, pad: 1 });
  });

  it('upgrades a V0 lrn with local_size / alpha / beta / k', () => {
    const l = load(v0('name: "norm1" type: "lrn" local_size: 5 alpha: 0.0001 beta: 0.75 k: 2', 'bottom: "a" top: "b"')).net.msgs(
      'layer',
    )[0];
    assert.equal(l.str('type'), 'LRN');
    assert.deepEqual(l.sub('lrn_param').toJSON(), { local_size: 5, alpha: Math.fround(0.0001), beta: 0.75, k: 2 });
  });

  it('upgrades a V0 innerproduct', () => {
    const l = load(
      v0(
        'name: "fc6" type: "innerproduct" num_output: 4096 biasterm: true ' +
          'weight_filler { type: "gaussian" std: 0.005 } bias_filler { type: "constant" value: 1 }',
        'bottom: "a" top: "fc6"',
      ),
    ).net.msgs('layer')[0];
    assert.equal(l.str('type'), 'InnerProduct');
    const ip = l.sub('inner_product_param');
    assert.equal(ip.num('num_output'), 4096);
    assert.equal(ip.bool('bias_term'), true);
    assert.equal(ip.sub('weight_filler').num('std'), Math.fround(0.005));
    assert.equal(ip.sub('bias_filler').num('value'), 1);
    assert.equal(l.has('convolution_param'), false);
  });

  it('upgrades a V0 dropout with dropout_ratio', () => {
    const l = load(v0('name: "drop6" type: "dropout" dropout_ratio: 0.4', 'bottom: "fc6" top: "fc6"')).net.msgs('layer')[0];
    assert.equal(l.str('type'), 'Dropout');
    assert.equal(l.sub('dropout_param').num('dropout_ratio'), Math.fround(0.4));
    assert.deepEqual(l.strs('bottom'), ['fc6']);
    assert.deepEqual(l.strs('top'), ['fc6']);
  });

  it('upgrades V0 relu and softmax (no parameters)', () => {
    const def = load(
      v0('name: "relu1" type: "relu"', 'bottom: "c" top: "c"') +
        v0('name: "prob" type: "softmax"', 'bottom: "c" top: "prob"') +
        v0('name: "loss" type: "softmax_loss"', 'bottom: "c" bottom: "label"'),
    );
    assert.deepEqual(
      def.net.msgs('layer').map((l) => [l.str('name'), l.str('type')]),
      [
        ['relu1', 'ReLU'],
        ['prob', 'Softmax'],
        ['loss', 'SoftmaxWithLoss'],
      ],
    );
    assert.deepEqual(def.net.msgs('layer')[0].toJSON(), { name: 'relu1', type: 'ReLU', bottom: ['c'], top: ['c'] });
  });

  it('upgrades a V0 concat with concat_dim', () => {
    const l = load(v0('name: "cat" type: "concat" concat_dim: 1', 'bottom: "a" bottom: "b" top: "cat"')).net.msgs('layer')[0];
    assert.equal(l.str('type'), 'Concat');
    assert.deepEqual(l.sub('concat_param').toJSON(), { concat_dim: 1 });
    assert.deepEqual(l.strs('bottom'), ['a', 'b']);
  });

  it('upgrades a V0 data layer to data_param plus transform_param (source/batchsize stay, the rest move)', () => {
    const def = load(
      v0(
        'name: "data" type: "data" source: "train_db" batchsize: 256 cropsize: 227 mirror: true ' +
          'meanfile: "mean.binaryproto" scale: 0.5 rand_skip: 10',
        'top: "data" top: "label"',
      ),
    );
    const l = def.net.msgs('layer')[0];
    assert.equal(l.str('type'), 'Data');
    assert.deepEqual(l.strs('top'), ['data', 'label']);
    assert.deepEqual(l.sub('data_param').toJSON(), { source: 'train_db', batch_size: 256, rand_skip: 10 });
    assert.deepEqual(l.sub('transform_param').toJSON(), { crop_size: 227, mirror: true, mean_file: 'mean.binaryproto', scale: 0.5 });
    assert.ok(
      def.notes.some((n) => n.includes('transform_param')),
      def.notes.join(' | '),
    );
  });

  it('upgrades V0 images, window_data and hdf5_data layers to their own parameter messages', () => {
    const def = load(
      v0(
        'name: "img" type: "images" source: "list.txt" batchsize: 8 new_height: 256 new_width: 320 shuffle_images: true ' +
          'cropsize: 224 mirror: true',
        'top: "img" top: "label"',
      ) +
        v0(
          'name: "win" type: "window_data" source: "windows.txt" batchsize: 4 det_fg_threshold: 0.6 det_bg_threshold: 0.4 ' +
            'det_fg_fraction: 0.3 det_context_pad: 16 det_crop_mode: "square" meanfile: "m.bp"',
          'top: "win" top: "wlabel"',
        ) +
        v0('name: "h5" type: "hdf5_data" source: "h5.txt" batchsize: 2', 'top: "h" top: "hl"'),
    );
    const layers = byName(def);
    const img = layers.get('img') as Message;
    assert.equal(img.str('type'), 'ImageData');
    assert.deepEqual(img.sub('image_data_param').toJSON(), {
      source: 'list.txt',
      batch_size: 8,
      new_height: 256,
      new_width: 320,
      shuffle: true,
    });
    assert.deepEqual(img.sub('transform_param').toJSON(), { crop_size: 224, mirror: true });
    const win = layers.get('win') as Message;
    assert.equal(win.str('type'), 'WindowData');
    assert.deepEqual(win.sub('window_data_param').toJSON(), {
      source: 'windows.txt',
      batch_size: 4,
      fg_threshold: Math.fround(0.6),
      bg_threshold: Math.fround(0.4),
      fg_fraction: Math.fround(0.3),
      context_pad: 16,
      crop_mode: 'square',
    });
    assert.deepEqual(win.sub('transform_param').toJSON(), { mean_file: 'm.bp' });
    const h5 = layers.get('h5') as Message;
    assert.equal(h5.str('type'), 'HDF5Data');
    assert.deepEqual(h5.sub('hdf5_data_param').toJSON(), { source: 'h5.txt', batch_size: 2 });
    assert.equal(h5.has('transform_param'), false);
  });

  it('folds a V0 padding layer into the next convolution as pad, rewiring its bottom', async () => {
    const def = await readPrototxt(path.join(FIXTURES, 'v0_small.prototxt'), { phase: 'TRAIN' });
    assert.equal(def.format, 'V0');
    assert.deepEqual(names(def), ['data', 'conv1', 'relu1', 'pool1', 'norm1', 'fc1', 'drop1', 'prob']);
    const conv = byName(def).get('conv1') as Message;
    assert.deepEqual(conv.strs('bottom'), ['data']);
    assert.deepEqual(conv.sub('convolution_param').nums('pad'), [1]);
    assert.deepEqual(conv.sub('convolution_param').nums('kernel_size'), [3]);
    assert.deepEqual(params(conv), [
      [1, 1],
      [2, 0],
    ]);
    // No layer reads the padding layer's top any more.
    assert.ok(def.net.msgs('layer').every((l) => !l.strs('bottom').includes('pad1')));
  });

  it('folds one V0 padding layer into every convolution that reads it', () => {
    const def = load(
      v0('name: "pad1" type: "padding" pad: 2', 'bottom: "data" top: "pad1"') +
        v0('name: "convA" type: "conv" num_output: 4 kernelsize: 5', 'bottom: "pad1" top: "a"') +
        v0('name: "convB" type: "conv" num_output: 4 kernelsize: 5 pad: 7', 'bottom: "pad1" top: "b"'),
    );
    assert.deepEqual(names(def), ['convA', 'convB']);
    for (const l of def.net.msgs('layer')) {
      assert.deepEqual(l.strs('bottom'), ['data'], l.str('name'));
      assert.deepEqual(l.sub('convolution_param').nums('pad'), [2], `${l.str('name')} takes the padding layer's pad`);
    }
    assert.match(def.notes[0], /folded 1 V0 padding layer/);
  });

  it('rejects a V0 padding layer that feeds a layer other than a convolution', () => {
    const src =
      v0('name: "pad1" type: "padding" pad: 2', 'bottom: "data" top: "pad1"') +
      v0('name: "fc" type: "innerproduct" num_output: 2', 'bottom: "pad1" top: "fc"');
    // The error points at the consumer's `layers` entry (line 5).
    expectParseError(() => load(src), { line: 5, col: 1 }, [
      "V0 padding layer 'pad1' feeds 'fc' (type innerproduct)",
      'only convolution and pooling layers can absorb V0 padding',
    ]);
    const relu = v0('name: "p" type: "padding" pad: 1', 'bottom: "data" top: "p"') + v0('name: "r" type: "relu"', 'bottom: "p" top: "r"');
    expectParseError(() => load(relu), { line: 5, col: 1 }, ["feeds 'r' (type relu)"]);
  });

  it('rejects a V0 padding layer without exactly one bottom and one top', () => {
    const src = v0('name: "pad1" type: "padding" pad: 2', 'bottom: "a" bottom: "b" top: "pad1"');
    expectParseError(() => load(src), { line: 1, col: 1 }, ["V0 padding layer 'pad1' must have one bottom and one top"]);
  });

  // Regression: V0 padding folds into a pooling layer too, as in Caffe's UpgradeV0PaddingLayers.
  it('folds a V0 padding layer into a following pool layer, as Caffe does', () => {
    const def = load(
      v0('name: "pad1" type: "padding" pad: 1', 'bottom: "data" top: "pad1"') +
        v0('name: "pool1" type: "pool" pool: MAX kernelsize: 3 stride: 2', 'bottom: "pad1" top: "pool1"'),
    );
    const l = def.net.msgs('layer')[0];
    assert.equal(l.str('name'), 'pool1');
    assert.deepEqual(l.strs('bottom'), ['data']);
    assert.equal(l.sub('pooling_param').num('pad'), 1);
  });

  it('rejects an unknown V0 layer type, naming it and listing the known ones', () => {
    const src = 'name: "n"\n' + v0('name: "w" type: "warp"', 'bottom: "a" top: "b"');
    // Points at the V0 `layer { }` block of the offending layer.
    const err = expectParseError(() => load(src), locate(src, 'layer {'), [
      "unknown V0 layer type 'warp' in layer 'w'",
      'conv',
      'innerproduct',
      'window_data',
    ]);
    assert.ok(err.expected.startsWith('one of '), err.expected);
  });

  it('rejects a V0 field on a type that does not take it (num_output on a pool layer)', () => {
    const src =
      v0('name: "relu0" type: "relu"', 'bottom: "a" top: "a"') +
      v0('name: "pool1" type: "pool" num_output: 3 kernelsize: 2', 'bottom: "a" top: "b"');
    expectParseError(() => load(src), { line: 6, col: 3 }, [
      "V0 layer 'pool1' of type 'pool' has field 'num_output'",
      'which that type does not take',
    ]);
    expectParseError(() => load(v0('name: "c" type: "conv" dropout_ratio: 0.5', 'bottom: "a" top: "b"')), { line: 2, col: 3 }, [
      "V0 layer 'c' of type 'conv' has field 'dropout_ratio'",
    ]);
  });

  it('rejects a file mixing V0 and V1 layers', () => {
    const src = v0('name: "r" type: "relu"', 'bottom: "a" top: "a"') + 'layers { name: "s" type: SOFTMAX }\n';
    expectParseError(() => load(src), { line: 5, col: 1 }, ['this file mixes V0 layers', 'with V1 layers']);
  });

  // Regression: upgrade errors blame no token, so they must not say "found end of file".
  it('does not claim "found end of file" in upgrade errors', () => {
    const cases = [
      v0('name: "w" type: "warp"', 'bottom: "a" top: "b"'),
      v0('name: "p" type: "pool" num_output: 3', 'bottom: "a" top: "b"'),
      'layers { name: "a" type: RELU }\nlayer { name: "b" type: "ReLU" }\nname: "n"',
      'input: "data"\ninput_dim: 1\nname: "n"',
      'layer { name: "a" include { phase: TRAIN } exclude { phase: TEST } }\nname: "n"',
    ];
    for (const src of cases) {
      const err = thrownBy(() => load(src));
      assert.ok(err instanceof ParseError, `expected a ParseError for ${src}, got ${String(err)}`);
      assert.equal(err.code, 'E_PARSE');
      assert.ok(!err.message.includes('end of file'), err.message);
    }
  });
});

/** What `fn` throws (undefined when it returns). */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('upgrade: mixing formats', () => {
  it('rejects a file with both layer and layers entries, pointing at the first layer', () => {
    const src = 'name: "n"\nlayers { name: "a" type: RELU }\nlayer { name: "b" type: "ReLU" }\nlayer { name: "c" type: "ReLU" }';
    expectParseError(() => load(src), { line: 3, col: 1 }, ['this file has both `layer` and `layers` (V1) entries']);
    const reversed = 'layer { name: "b" type: "ReLU" }\nlayers { name: "a" type: RELU }';
    expectParseError(() => load(reversed), { line: 1, col: 1 }, ['both `layer` and `layers`']);
  });

  it('rejects a file with both layer and V0 layers entries', () => {
    const src = 'layer { name: "b" type: "ReLU" }\n' + v0('name: "r" type: "relu"', 'bottom: "a" top: "a"');
    expectParseError(() => load(src), { line: 1, col: 1 }, ['both `layer` and `layers`']);
  });
});

describe('upgrade: legacy input fields', () => {
  it('turns input + 4 input_dim into an Input layer named "input", first', () => {
    const def = load(
      'name: "net"\ninput: "data"\ninput_dim: 10\ninput_dim: 3\ninput_dim: 227\ninput_dim: 227\n' +
        'layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" }',
    );
    assert.equal(def.format, 'current');
    const layers = def.net.msgs('layer');
    assert.equal(layers.length, 2);
    const input = layers[0];
    assert.equal(input.str('name'), 'input');
    assert.equal(input.str('type'), 'Input');
    assert.deepEqual(input.strs('top'), ['data']);
    assert.deepEqual(
      input
        .sub('input_param')
        .msgs('shape')
        .map((s) => s.nums('dim')),
      [[10, 3, 227, 227]],
    );
    assert.equal(layers[1].str('name'), 'conv1');
    for (const f of ['input', 'input_dim', 'input_shape']) assert.equal(def.net.has(f), false, `${f} cleared`);
    assert.equal(def.net.str('name'), 'net');
    assert.ok(
      def.notes.some((n) => n.includes('Input layer') && n.includes("'data'")),
      def.notes.join(' | '),
    );
    assert.equal(input.loc?.line, 2, 'the Input layer is placed where `input:` was');
  });

  it('turns two inputs with 8 input_dim values into one Input layer with two shapes', () => {
    const def = load('input: "data"\ninput: "label"\ninput_dim: [10, 3, 227, 227]\ninput_dim: [10, 1, 1, 1]');
    const input = def.net.msgs('layer')[0];
    assert.deepEqual(input.strs('top'), ['data', 'label']);
    assert.deepEqual(
      input
        .sub('input_param')
        .msgs('shape')
        .map((s) => s.nums('dim')),
      [
        [10, 3, 227, 227],
        [10, 1, 1, 1],
      ],
    );
  });

  it('turns input + input_shape blocks into an Input layer (any number of dims per shape)', () => {
    const def = load(
      'input: "data"\ninput_shape { dim: 1 dim: 3 dim: 224 dim: 224 }\ninput: "im_info"\ninput_shape { dim: 1 dim: 3 }\n' +
        'layer { name: "r" type: "ReLU" bottom: "data" top: "data" }',
    );
    const [input, relu] = def.net.msgs('layer');
    assert.equal(input.str('type'), 'Input');
    assert.deepEqual(input.strs('top'), ['data', 'im_info']);
    assert.deepEqual(
      input
        .sub('input_param')
        .msgs('shape')
        .map((s) => s.nums('dim')),
      [
        [1, 3, 224, 224],
        [1, 3],
      ],
    );
    assert.equal(relu.str('name'), 'r');
  });

  it('puts the Input layer in front of upgraded V1 layers', () => {
    const def = load(
      'input: "data"\ninput_dim: 1\ninput_dim: 1\ninput_dim: 28\ninput_dim: 28\n' +
        'layers { name: "ip" type: INNER_PRODUCT bottom: "data" top: "ip" }',
    );
    assert.equal(def.format, 'V1');
    assert.deepEqual(
      def.net.msgs('layer').map((l) => l.str('type')),
      ['Input', 'InnerProduct'],
    );
  });

  it('rejects a wrong number of input_dim values, pointing at the first input_dim', () => {
    const src = 'name: "n"\ninput: "data"\ninput_dim: 10\ninput_dim: 3\ninput_dim: 227';
    expectParseError(() => load(src), { line: 3, col: 1 }, ['1 input(s) need 4 input_dim values, found 3', 'N, C, H, W']);
    expectParseError(() => load('input: "a"\ninput: "b"\ninput_dim: [1, 2, 3, 4, 5]'), { line: 3, col: 1 }, [
      '2 input(s) need 8 input_dim values, found 5',
    ]);
  });

  it('rejects input_dim (or input_shape) without input', () => {
    expectParseError(() => load('name: "n"\ninput_dim: 10\ninput_dim: 3\ninput_dim: 2\ninput_dim: 2'), { line: 2, col: 1 }, [
      'input dimensions given without `input:` names',
    ]);
    expectParseError(() => load('name: "n"\n\ninput_shape { dim: 1 }'), { line: 3, col: 1 }, [
      'input dimensions given without `input:` names',
    ]);
  });

  it('rejects both input_dim and input_shape', () => {
    const src = 'input: "data"\ninput_shape { dim: 1 dim: 3 dim: 2 dim: 2 }\ninput_dim: 1\ninput_dim: 3\ninput_dim: 2\ninput_dim: 2';
    expectParseError(() => load(src), { line: 3, col: 1 }, ['both input_dim and input_shape are given']);
  });

  it('rejects a number of input_shape blocks different from the inputs', () => {
    expectParseError(() => load('input: "a"\ninput: "b"\ninput_shape { dim: 1 }'), { line: 3, col: 1 }, [
      '2 input(s) but 1 input_shape block(s)',
    ]);
  });
});

describe('upgrade: phase rules (include / exclude)', () => {
  const PHASED = [
    'layer { name: "data_train" type: "Data" top: "data" include { phase: TRAIN } }',
    'layer { name: "data_test" type: "Data" top: "data" include { phase: TEST } }',
    'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" }',
    'layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" top: "loss" exclude { phase: TEST } }',
    'layer { name: "acc" type: "Accuracy" bottom: "ip" top: "acc" exclude { phase: TRAIN } }',
  ].join('\n');

  it('drops include { phase: TRAIN } layers in TEST (the default) and keeps them in TRAIN', () => {
    const test = load(PHASED);
    assert.deepEqual(names(test), ['data_test', 'ip', 'acc']);
    assert.deepEqual(test.removedByPhase, ['data_train', 'loss']);
    assert.deepEqual(
      test.excluded.map((l) => l.str('name')),
      ['data_train', 'loss'],
    );
    assert.deepEqual(names(load(PHASED, { phase: 'TEST' })), ['data_test', 'ip', 'acc']);
    const train = load(PHASED, { phase: 'TRAIN' });
    assert.deepEqual(names(train), ['data_train', 'ip', 'loss']);
    assert.deepEqual(train.removedByPhase, ['data_test', 'acc']);
  });

  it('drops exclude { phase: TEST } layers in TEST only', () => {
    const src = 'layer { name: "a" exclude { phase: TEST } }\nlayer { name: "b" }';
    assert.deepEqual(names(load(src)), ['b']);
    assert.deepEqual(names(load(src, { phase: 'TRAIN' })), ['a', 'b']);
  });

  it('applies min_level / max_level against level (0 by default)', () => {
    const src = [
      'layer { name: "min1" include { min_level: 1 } }',
      'layer { name: "max1" include { max_level: 1 } }',
      'layer { name: "x2" exclude { min_level: 2 } }',
      'layer { name: "band" include { min_level: 1 max_level: 2 } }',
    ].join('\n');
    assert.deepEqual(names(load(src)), ['max1', 'x2']);
    assert.deepEqual(names(load(src, { level: 1 })), ['min1', 'max1', 'x2', 'band']);
    assert.deepEqual(names(load(src, { level: 2 })), ['min1', 'band']);
    assert.deepEqual(names(load(src, { level: 3 })), ['min1']);
    assert.deepEqual(names(load(src, { level: -1 })), ['max1', 'x2']);
  });

  it('applies stage (all required) and not_stage (none allowed) against stages', () => {
    const src = [
      'layer { name: "deploy_only" include { stage: "deploy" } }',
      'layer { name: "both" include { stage: "a" stage: "b" } }',
      'layer { name: "not_deploy" include { not_stage: "deploy" } }',
      'layer { name: "x_or_y" include { stage: "x" } include { stage: "y" } }',
      'layer { name: "drop_in_train" exclude { stage: "train" } }',
      'layer { name: "always" }',
    ].join('\n');
    assert.deepEqual(names(load(src)), ['not_deploy', 'drop_in_train', 'always']);
    assert.deepEqual(names(load(src, { stages: ['deploy'] })), ['deploy_only', 'drop_in_train', 'always']);
    assert.deepEqual(names(load(src, { stages: ['a'] })), ['not_deploy', 'drop_in_train', 'always']);
    assert.deepEqual(names(load(src, { stages: ['a', 'b', 'y'] })), ['both', 'not_deploy', 'x_or_y', 'drop_in_train', 'always']);
    assert.deepEqual(names(load(src, { stages: ['train', 'x'] })), ['not_deploy', 'x_or_y', 'always']);
  });

  it('combines phase, level and stage in one rule (all must hold)', () => {
    const src = 'layer { name: "r" include { phase: TRAIN min_level: 1 stage: "s" } }';
    assert.deepEqual(names(load(src, { phase: 'TRAIN', level: 1, stages: ['s'] })), ['r']);
    assert.deepEqual(names(load(src, { phase: 'TEST', level: 1, stages: ['s'] })), []);
    assert.deepEqual(names(load(src, { phase: 'TRAIN', level: 0, stages: ['s'] })), []);
    assert.deepEqual(names(load(src, { phase: 'TRAIN', level: 1, stages: [] })), []);
  });

  it("uses the file's own state { } when no option is given, and lets options override it", () => {
    const src =
      'state { phase: TRAIN level: 2 stage: "s" }\n' +
      'layer { name: "train" include { phase: TRAIN } }\nlayer { name: "test" include { phase: TEST } }\n' +
      'layer { name: "lvl2" include { min_level: 2 } }\nlayer { name: "stage_s" include { stage: "s" } }';
    assert.deepEqual(names(load(src)), ['train', 'lvl2', 'stage_s']);
    assert.deepEqual(names(load(src, { phase: 'TEST' })), ['test', 'lvl2', 'stage_s']);
    assert.deepEqual(names(load(src, { level: 0, stages: [] })), ['train']);
    // A state without a phase leaves the default, TEST.
    assert.deepEqual(names(load('state { level: 1 }\nlayer { name: "t" include { phase: TEST } }')), ['t']);
  });

  it('rejects a layer with both include and exclude rules', () => {
    const src = 'name: "n"\nlayer { name: "a" }\nlayer {\n  name: "both"\n  include { phase: TRAIN }\n  exclude { phase: TEST }\n}';
    expectParseError(() => load(src), { line: 3, col: 1 }, ["layer 'both' has both include and exclude rules"]);
  });

  it('filters upgraded V0 and V1 layers too', () => {
    const v1 = 'layers { name: "t" type: RELU include { phase: TRAIN } }\nlayers { name: "e" type: RELU exclude { phase: TRAIN } }';
    assert.deepEqual(names(load(v1)), ['e']);
    assert.deepEqual(names(load(v1, { phase: 'TRAIN' })), ['t']);
  });
});

describe('upgrade: format and notes', () => {
  it("reports 'current' and no notes for a current-format net", () => {
    const def = load('name: "n"\nlayer { name: "r" type: "ReLU" }');
    assert.equal(def.format, 'current');
    assert.deepEqual(def.notes, []);
    assert.deepEqual(def.warnings, []);
    assert.equal(def.file, FILE);
  });

  it("reports 'V1' with one note for the V1 step", () => {
    const def = load('layers { name: "r" type: RELU }');
    assert.equal(def.format, 'V1');
    assert.equal(def.notes.length, 1);
    assert.match(def.notes[0], /V1 layers .* to the current format/);
  });

  it("reports 'V0' with a note per step taken, in order", async () => {
    const def = await readPrototxt(path.join(FIXTURES, 'v0_small.prototxt'));
    assert.equal(def.format, 'V0');
    assert.equal(def.notes.length, 4, def.notes.join(' | '));
    assert.match(def.notes[0], /folded 1 V0 padding layer/);
    assert.match(def.notes[1], /V0 layers .* to V1/);
    assert.match(def.notes[2], /moved 4 data-transformation field\(s\) to transform_param/);
    assert.match(def.notes[3], /V1 layers .* to the current format/);
    // Only the steps that acted leave a note.
    const plain = load(v0('name: "r" type: "relu"', 'bottom: "a" top: "a"'));
    assert.equal(plain.format, 'V0');
    assert.equal(plain.notes.length, 2, plain.notes.join(' | '));
  });

  it("reports 'current' with the input note for a net that only has legacy inputs", () => {
    const def = load('input: "data"\ninput_dim: 1\ninput_dim: 3\ninput_dim: 8\ninput_dim: 8');
    assert.equal(def.format, 'current');
    assert.deepEqual(def.notes, ["turned the legacy input fields into an Input layer ('data')"]);
  });

  it('detectFormat tells V0, V1 and current apart', () => {
    assert.equal(detectFormat(raw('layer { name: "a" }')), 'current');
    assert.equal(detectFormat(raw('name: "empty"')), 'current');
    assert.equal(detectFormat(raw('layers { name: "a" type: RELU }')), 'V1');
    assert.equal(detectFormat(raw(v0('name: "r" type: "relu"', ''))), 'V0');
    assert.equal(detectFormat(raw('layers { name: "a" type: RELU }\n' + v0('name: "r" type: "relu"', ''))), 'V0');
  });
});

describe('upgrade: the named steps one at a time', () => {
  it('upgradeV0PaddingLayers folds padding but leaves the net in V0 form', () => {
    const net = raw(
      v0('name: "pad1" type: "padding" pad: 3', 'bottom: "data" top: "pad1"') +
        v0('name: "conv1" type: "conv" num_output: 2 kernelsize: 3', 'bottom: "pad1" top: "conv1"'),
    );
    assert.match(upgradeV0PaddingLayers(net) ?? '', /folded 1 V0 padding layer/);
    const layers = net.msgs('layers');
    assert.equal(layers.length, 1);
    assert.equal(layers[0].sub('layer').str('name'), 'conv1');
    assert.equal(layers[0].sub('layer').num('pad'), 3);
    assert.deepEqual(layers[0].strs('bottom'), ['data']);
    assert.equal(detectFormat(net), 'V0');
    assert.equal(upgradeV0PaddingLayers(raw('layers { name: "a" type: RELU }')), undefined);
  });

  it('upgradeV0ToV1 gives V1 layers with enum types and parameter messages', () => {
    const net = raw(v0('name: "conv1" type: "conv" num_output: 2 kernelsize: 3 blobs_lr: 1', 'bottom: "x" top: "y"'));
    assert.match(upgradeV0ToV1(net) ?? '', /V0 layers .* to V1/);
    assert.equal(detectFormat(net), 'V1');
    const l = net.msgs('layers')[0];
    assert.equal(l.typeName, 'V1LayerParameter');
    assert.equal(l.str('type'), 'CONVOLUTION');
    assert.equal(l.str('name'), 'conv1');
    assert.deepEqual(l.nums('blobs_lr'), [1]);
    assert.deepEqual(l.sub('convolution_param').toJSON(), { num_output: 2, kernel_size: [3] });
    assert.deepEqual(l.strs('bottom'), ['x']);
    assert.equal(l.has('layer'), false);
    // Nothing to do on V1 or current nets.
    const v1 = raw('layers { name: "a" type: RELU }');
    assert.equal(upgradeV0ToV1(v1), undefined);
    assert.deepEqual(v1.toJSON(), { layers: [{ name: 'a', type: 'RELU' }] });
  });

  it('upgradeDataTransform moves transform fields of V1 and current data layers', () => {
    const net = raw('layers { name: "d" type: DATA data_param { source: "s" mirror: true crop_size: 10 } }');
    assert.equal(upgradeDataTransform(net), 'moved 2 data-transformation field(s) to transform_param');
    const l = net.msgs('layers')[0];
    assert.deepEqual(l.sub('data_param').toJSON(), { source: 's' });
    assert.deepEqual(l.sub('transform_param').toJSON(), { mirror: true, crop_size: 10 });
    const cur = raw('layer { name: "i" type: "ImageData" image_data_param { mean_file: "m" } transform_param { scale: 2 } }');
    assert.match(upgradeDataTransform(cur) ?? '', /moved 1 /);
    assert.deepEqual(cur.msgs('layer')[0].sub('transform_param').toJSON(), { scale: 2, mean_file: 'm' });
    assert.equal(upgradeDataTransform(raw('layer { name: "d" type: "Data" data_param { source: "s" } }')), undefined);
  });

  it('upgradeV1ToCurrent does nothing on current nets', () => {
    const net = raw('layer { name: "a" type: "ReLU" }');
    assert.equal(upgradeV1ToCurrent(net), undefined);
    assert.deepEqual(net.toJSON(), { layer: [{ name: 'a', type: 'ReLU' }] });
  });

  it('upgradeInputFields does nothing without inputs', () => {
    const net = raw('layer { name: "a" type: "ReLU" }');
    assert.equal(upgradeInputFields(net), undefined);
    assert.equal(net.msgs('layer').length, 1);
  });

  it('upgradeInputFields drops a legacy input: that gives no dimensions (as Caffe does), with a note', () => {
    const net = raw('input: "data"\nlayer { name: "a" type: "ReLU" }');
    const note = upgradeInputFields(net);
    assert.ok(note !== undefined && note.includes('data'), String(note));
    assert.equal(net.has('input'), false);
    assert.deepEqual(
      net.msgs('layer').map((l) => l.str('name')),
      ['a'],
      'no Input layer is made',
    );
  });

  it('upgradeNet runs the steps in Caffe order and reports the original format', () => {
    const net = raw(v0('name: "d" type: "data" source: "s" cropsize: 4', 'top: "d"'));
    const { format, notes } = upgradeNet(net);
    assert.equal(format, 'V0');
    assert.deepEqual(
      notes.map((n) => n.split(' ')[0]),
      ['upgraded', 'moved', 'upgraded'],
    );
    assert.deepEqual(net.toJSON(), {
      layer: [{ name: 'd', type: 'Data', top: ['d'], data_param: { source: 's' }, transform_param: { crop_size: 4 } }],
    });
  });

  it('filterByPhase works on a current net directly and returns the removed layers', () => {
    const net = raw('layer { name: "a" include { phase: TRAIN } }\nlayer { name: "b" }');
    const removed = filterByPhase(net);
    assert.deepEqual(
      removed.map((l) => l.str('name')),
      ['a'],
    );
    assert.deepEqual(
      net.msgs('layer').map((l) => l.str('name')),
      ['b'],
    );
    const again = raw('layer { name: "a" include { phase: TRAIN } }\nlayer { name: "b" }');
    assert.deepEqual(filterByPhase(again, { phase: 'TRAIN' }), []);
    assert.equal(again.msgs('layer').length, 2);
  });
});
