/**
 * IR construction (lib/network/graph.ts through Network.parse): SSA names for in-place layers,
 * producers and consumers, inputs and outputs, the deploy view of training networks, batch size,
 * and the errors of each path. Expected shapes and MACs are worked out by hand in comments.
 */
import { strict as assert } from 'assert';
import { fails } from '../support/helpers';
import { parsePrototxt } from '../../lib/caffe';
import { UnsupportedLayerError } from '../../lib/errors';
import { buildGraph, LAYER_TYPES, Network, type NetworkOptions } from '../../lib/network';
import type { Tensor } from '../../lib/network';

const INPUT = 'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }\n';

function parse(text: string, opts: NetworkOptions = {}): Promise<Network> {
  return Network.parse(text, { file: 'graph.prototxt', ...opts });
}

/** The Input layer `data` [1,3,8,8] followed by `body`. */
function net(body: string, opts: NetworkOptions = {}): Promise<Network> {
  return parse(INPUT + body, opts);
}

function tensor(n: Network, name: string): Tensor {
  const t = n.tensors.get(name);
  assert.ok(t !== undefined, `no tensor '${name}' (have ${[...n.tensors.keys()].join(', ')})`);
  return t;
}

const CONV1 =
  'layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 4 kernel_size: 3 } }\n';
const RELU1 = 'layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }\n';
const POOL1 = 'layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { kernel_size: 2 stride: 2 } }\n';

describe('graph: IR construction', () => {
  describe('in-place layers', () => {
    it('names the final value conv1 and the convolution output conv1#0', async () => {
      // conv1 [1,4,6,6] (k3 on 8); relu in place; pool k2 s2: ceil((6 - 2) / 2) + 1 = 3
      const n = await net(CONV1 + RELU1 + POOL1);
      assert.deepEqual([...n.tensors.keys()].sort(), ['conv1', 'conv1#0', 'data', 'pool1']);
      const before = tensor(n, 'conv1#0');
      const after = tensor(n, 'conv1');
      assert.deepEqual(before, {
        name: 'conv1#0',
        caffeName: 'conv1',
        shape: [1, 4, 6, 6],
        producer: 'conv1',
        consumers: ['relu1'],
        rows: 1,
      });
      assert.deepEqual(after, { name: 'conv1', caffeName: 'conv1', shape: [1, 4, 6, 6], producer: 'relu1', consumers: ['pool1'], rows: 1 });
      assert.deepEqual(tensor(n, 'pool1').shape, [1, 4, 3, 3]);
      const byName = new Map(n.layers.map((l) => [l.name, l]));
      assert.deepEqual(byName.get('conv1')?.outputs, ['conv1#0']);
      assert.deepEqual(byName.get('relu1')?.inputs, ['conv1#0']);
      assert.deepEqual(byName.get('relu1')?.outputs, ['conv1']);
      assert.deepEqual(byName.get('pool1')?.inputs, ['conv1']);
      assert.deepEqual(tensor(n, 'data').consumers, ['conv1']);
    });

    it('numbers a chain of in-place layers #0, #1 in write order', async () => {
      const n = await net(CONV1 + RELU1 + 'layer { name: "scale1" type: "Scale" bottom: "conv1" top: "conv1" }\n' + POOL1);
      assert.deepEqual(tensor(n, 'conv1#0'), {
        name: 'conv1#0',
        caffeName: 'conv1',
        shape: [1, 4, 6, 6],
        producer: 'conv1',
        consumers: ['relu1'],
        rows: 1,
      });
      assert.deepEqual(tensor(n, 'conv1#1'), {
        name: 'conv1#1',
        caffeName: 'conv1',
        shape: [1, 4, 6, 6],
        producer: 'relu1',
        consumers: ['scale1'],
        rows: 1,
      });
      assert.deepEqual(tensor(n, 'conv1'), {
        name: 'conv1',
        caffeName: 'conv1',
        shape: [1, 4, 6, 6],
        producer: 'scale1',
        consumers: ['pool1'],
        rows: 1,
      });
      assert.deepEqual(
        n.layers.map((l) => [l.name, l.inputs, l.outputs]),
        [
          ['data', [], ['data']],
          ['conv1', ['data'], ['conv1#0']],
          ['relu1', ['conv1#0'], ['conv1#1']],
          ['scale1', ['conv1#1'], ['conv1']],
          ['pool1', ['conv1'], ['pool1']],
        ],
      );
    });

    it('keeps the plain name for an in-place final output', async () => {
      const n = await net(
        'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "prob" inner_product_param { num_output: 5 } }\n' +
          'layer { name: "sm" type: "Softmax" bottom: "prob" top: "prob" }\n',
      );
      assert.deepEqual(n.outputs, [{ name: 'prob', shape: [1, 5] }]);
      assert.deepEqual(tensor(n, 'prob#0').consumers, ['sm']);
    });

    it('skips an SSA name that the file already uses as a top', async () => {
      // 'x' is written twice (conv, then relu in place); the file also has a top named 'x#0', so the
      // first 'x' takes the next free name 'x#0#'.
      const n = await net(
        'layer { name: "c" type: "Convolution" bottom: "data" top: "x" convolution_param { num_output: 2 kernel_size: 1 } }\n' +
          'layer { name: "r" type: "ReLU" bottom: "x" top: "x" }\n' +
          'layer { name: "p" type: "Power" bottom: "x" top: "x#0" }\n',
      );
      assert.deepEqual(tensor(n, 'x#0#'), { name: 'x#0#', caffeName: 'x', shape: [1, 2, 8, 8], producer: 'c', consumers: ['r'], rows: 1 });
      assert.equal(tensor(n, 'x').producer, 'r');
      assert.equal(tensor(n, 'x#0').producer, 'p');
      assert.equal(tensor(n, 'x#0').caffeName, 'x#0');
      assert.equal(new Set(n.layers.flatMap((l) => l.outputs)).size, n.tensors.size, 'every tensor has one producer');
    });
  });

  describe('fan-out, inputs and outputs', () => {
    it('lists every consumer of a tensor, in file order', async () => {
      const n = await net(
        'layer { name: "c" type: "ReLU" bottom: "data" top: "rc" }\n' +
          'layer { name: "a" type: "Sigmoid" bottom: "data" top: "ra" }\n' +
          'layer { name: "b" type: "TanH" bottom: "data" top: "rb" }\n',
      );
      assert.deepEqual(tensor(n, 'data').consumers, ['c', 'a', 'b']);
      assert.equal(tensor(n, 'data').producer, 'data');
    });

    it('makes each top of a Split layer its own tensor with its own consumers', async () => {
      const n = await net(
        'layer { name: "split" type: "Split" bottom: "data" top: "s1" top: "s2" }\n' +
          'layer { name: "r1" type: "ReLU" bottom: "s1" top: "r1" }\n' +
          'layer { name: "r2" type: "ReLU" bottom: "s2" top: "r2" }\n',
      );
      assert.deepEqual(tensor(n, 's1').consumers, ['r1']);
      assert.deepEqual(tensor(n, 's2').consumers, ['r2']);
      assert.equal(tensor(n, 's1').producer, 'split');
    });

    it('makes every tensor nobody reads an output, and lists the inputs', async () => {
      // a: conv k3 -> [1,4,6,6]; b: max pool k2 s2 -> ceil((8 - 2) / 2) + 1 = 4 -> [1,3,4,4]
      const n = await net(
        'layer { name: "a" type: "Convolution" bottom: "data" top: "a" convolution_param { num_output: 4 kernel_size: 3 } }\n' +
          'layer { name: "b" type: "Pooling" bottom: "data" top: "b" pooling_param { kernel_size: 2 stride: 2 } }\n',
      );
      assert.deepEqual(n.inputs, [{ name: 'data', shape: [1, 3, 8, 8] }]);
      assert.deepEqual(n.outputs, [
        { name: 'a', shape: [1, 4, 6, 6] },
        { name: 'b', shape: [1, 3, 4, 4] },
      ]);
    });

    it('lists several inputs, and leaves an unread input out of the outputs', async () => {
      const n = await parse(
        'layer { name: "in" type: "Input" top: "x" top: "y" input_param { shape { dim: 2 dim: 3 } shape { dim: 2 dim: 5 } } }\n' +
          'layer { name: "r" type: "ReLU" bottom: "x" top: "r" }\n',
      );
      assert.deepEqual(n.inputs, [
        { name: 'x', shape: [2, 3] },
        { name: 'y', shape: [2, 5] },
      ]);
      assert.deepEqual(n.outputs, [{ name: 'r', shape: [2, 3] }]);
    });
  });

  describe("NVCaffe files (NVIDIA's Caffe fork)", () => {
    it('read its net and layer type fields and its BatchNorm / Convolution engine fields, which change nothing here', async () => {
      const header = 'default_forward_type: FLOAT16\ndefault_backward_type: FLOAT16\ndefault_forward_math: FLOAT\nglobal_grad_scale: 32\n';
      const body = CONV1.replace(
        'convolution_param {',
        'forward_type: FLOAT16 forward_math: FLOAT convolution_param { cudnn_convolution_algo_seeker: FINDEX',
      );
      const n = await Network.parse(
        header + INPUT + body + 'layer { name: "bn" type: "BatchNorm" bottom: "conv1" top: "conv1" batch_norm_param { engine: CUDNN } }\n',
      );
      const plain = await Network.parse(INPUT + CONV1 + 'layer { name: "bn" type: "BatchNorm" bottom: "conv1" top: "conv1" }\n');
      assert.deepEqual(
        n.layers.map((l) => [l.type, l.attrs, l.blobs]),
        plain.layers.map((l) => [l.type, l.attrs, l.blobs]),
      );
    });

    it("a BatchNorm with scale_bias (or either of its fillers, as NVCaffe takes them) is NVCaffe's: a Scale with a bias", async () => {
      for (const param of ['scale_bias: true', 'scale_filler { type: "constant" value: 1 }', 'bias_filler { type: "constant" }']) {
        const g = await net(CONV1 + `layer { name: "bn" type: "BatchNorm" bottom: "conv1" top: "conv1" batch_norm_param { ${param} } }\n`);
        const bn = g.layer('bn');
        assert.equal(bn?.type, 'Scale', param);
        assert.deepEqual(bn?.blobs, [[4], [4]]);
        assert.ok(
          g.notes.some((n) => n.startsWith("BatchNorm with NVCaffe's scale_bias runs as a Scale") && n.endsWith(": layer 'bn'")),
          param,
        );
      }
      const plain = await net(CONV1 + 'layer { name: "bn" type: "BatchNorm" bottom: "conv1" top: "conv1" }\n');
      assert.equal(plain.layer('bn')?.type, 'BatchNorm');
    });
  });

  describe('errors', () => {
    it('rejects a bottom that no earlier layer writes (E_PARSE naming it and the layer)', async () => {
      const err = await fails(
        net(CONV1 + 'layer { name: "late" type: "ReLU" bottom: "nothere" top: "late" }\n'),
        'E_PARSE',
        "layer 'late' reads 'nothere', which no earlier layer writes",
        'graph.prototxt:3:1',
      );
      assert.equal((err as unknown as { token: string }).token, 'nothere');
    });

    it('rejects a bottom written only by a later layer (E_PARSE)', async () => {
      await fails(net('layer { name: "r" type: "ReLU" bottom: "conv1" top: "r" }\n' + CONV1), 'E_PARSE', "reads 'conv1'");
    });

    it('rejects a top that a second layer writes other than in place (E_PARSE, Caffe: "produced by multiple sources")', async () => {
      // Caffe's Net::AppendTop allows a rewrite only when top i == bottom i.
      await fails(
        net(CONV1 + 'layer { name: "again" type: "Pooling" bottom: "data" top: "conv1" pooling_param { kernel_size: 2 } }\n'),
        'E_PARSE',
        "layer 'again' writes 'conv1'",
        "layer 'conv1' already wrote",
      );
      // In place on bottom 0 but written as top 1: not in place either.
      await fails(
        net(CONV1 + 'layer { name: "sp" type: "Split" bottom: "conv1" top: "s0" top: "conv1" }\n'),
        'E_PARSE',
        "layer 'sp' writes 'conv1'",
      );
    });

    it('names the phase-excluded layer that writes a missing bottom (E_PARSE)', async () => {
      const text =
        INPUT +
        'layer { name: "tr" type: "ReLU" bottom: "data" top: "t" include { phase: TRAIN } }\n' +
        'layer { name: "use" type: "Sigmoid" bottom: "t" top: "u" }\n';
      await fails(parse(text), 'E_PARSE', "layer 'use' reads 't'", "layer 'tr'");
    });

    // A network without inputs or without a layer that computes is useless to every command.
    it('rejects a network with no inputs or no layers (E_PARSE): an empty file, only a name, only inputs', async () => {
      await fails(parse(''), 'E_PARSE', 'graph.prototxt:1:1', 'the network has no inputs and no layers');
      await fails(parse('name: "x"\n'), 'E_PARSE', 'the network has no inputs and no layers');
      await fails(parse(INPUT), 'E_PARSE', "the network has no layers besides its input(s) ('data')");
      await fails(parse('input: "data"\ninput_shape { dim: 1 dim: 3 dim: 4 dim: 4 }\n'), 'E_PARSE', 'no layers besides its input');
      // Layers the deploy view drops leave nothing either.
      await fails(
        parse('layer { name: "d" type: "Data" top: "data" top: "label" }\n'),
        'E_PARSE',
        'no inputs and no layers',
        'dropped training-only layer(s): d (Data)',
      );
    });

    it('rejects duplicate layer names (E_PARSE)', async () => {
      await fails(
        net(CONV1 + 'layer { name: "conv1" type: "ReLU" bottom: "conv1" top: "r" }\n'),
        'E_PARSE',
        "two layers are named 'conv1'",
        'graph.prototxt:3:1',
      );
    });

    it('rejects a layer without a name (E_PARSE)', async () => {
      await fails(net('layer { type: "ReLU" bottom: "data" top: "r" }\n'), 'E_PARSE', 'a ReLU layer has no name');
    });

    for (const [type, param] of [['Reorg', '']]) {
      it(`rejects the unsupported type ${type} (E_UNSUPPORTED_LAYER naming type and layer, listing the known types)`, async () => {
        const err = await fails(
          net(CONV1 + `layer { name: "odd" type: "${type}" bottom: "conv1" top: "odd" ${param} }\n`),
          'E_UNSUPPORTED_LAYER',
          `layer 'odd' has type '${type}'`,
          'graph.prototxt:3:1',
          'Known types: ',
          'A layer plugin library can add it (loadPlugin, CLI --plugin',
        );
        assert.ok(err instanceof UnsupportedLayerError);
        assert.equal(err.layerName, 'odd');
        assert.equal(err.layerType, type);
        const listed = err.message.slice(err.message.indexOf('Known types: ') + 'Known types: '.length).split(', ');
        for (const known of ['Convolution', 'Pooling', 'InnerProduct', 'Softmax', 'Concat', 'SoftmaxWithLoss', 'Data']) {
          assert.ok(listed.includes(known), `known types lack ${known}: ${listed.join(', ')}`);
        }
        for (const known of LAYER_TYPES) assert.ok(listed.includes(known), `known types lack ${known}`);
        assert.ok(!listed.includes(type));
        assert.deepEqual(err.knownTypes, listed);
      });
    }

    it('rejects an unsupported type even after layers that fail nothing (no partial network)', async () => {
      await fails(
        net(CONV1 + RELU1 + POOL1 + 'layer { name: "det" type: "ROIAlign" bottom: "pool1" top: "det" }\n'),
        'E_UNSUPPORTED_LAYER',
        "'ROIAlign'",
        "layer 'det'",
      );
    });
  });

  describe('deploy view of training networks', () => {
    const DROPPED =
      'name: "Dropped"\n' +
      'layer { name: "mem" type: "MemoryData" top: "data" top: "label" memory_data_param { batch_size: 2 channels: 3 height: 8 width: 8 } }\n' +
      'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 10 } }\n' +
      'layer { name: "prob" type: "Softmax" bottom: "ip" top: "prob" }\n' +
      'layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }\n' +
      'layer { name: "accuracy" type: "Accuracy" bottom: "ip" bottom: "label" top: "accuracy" }\n' +
      'layer { name: "silence" type: "Silence" bottom: "prob" }\n';

    it('drops SoftmaxWithLoss, Accuracy and Silence with a note', async () => {
      const n = await parse(DROPPED);
      assert.deepEqual(
        n.layers.map((l) => [l.name, l.type]),
        [
          ['mem', 'Input'],
          ['ip', 'InnerProduct'],
          ['prob', 'Softmax'],
        ],
      );
      assert.ok(!n.tensors.has('loss') && !n.tensors.has('accuracy'));
      const note = n.notes.find((x) => x.includes('dropped training-only'));
      assert.ok(note !== undefined, `no note on dropped layers: ${JSON.stringify(n.notes)}`);
      for (const part of ['loss (SoftmaxWithLoss)', 'accuracy (Accuracy)', 'silence (Silence)']) {
        assert.ok(note.includes(part), `${note} lacks ${part}`);
      }
      // ip's only kept reader is prob; the dropped readers are not consumers
      assert.deepEqual(tensor(n, 'ip').consumers, ['prob']);
      // prob is read only by the dropped Silence layer: an output
      assert.deepEqual(n.outputs, [{ name: 'prob', shape: [2, 10] }]);
    });

    it('turns MemoryData into an input of its own shape and drops the label only losses read', async () => {
      // memory_data_param: batch_size 2, channels 3, height 8, width 8 -> [2,3,8,8]
      const n = await parse(DROPPED);
      assert.deepEqual(n.inputs, [{ name: 'data', shape: [2, 3, 8, 8] }]);
      assert.ok(!n.tensors.has('label'), 'label is read only by dropped layers');
      assert.deepEqual(n.layers[0].outputs, ['data']);
      assert.ok(
        n.notes.some((x) => x.includes("data layer 'mem' (MemoryData) became input 'data'")),
        JSON.stringify(n.notes),
      );
      // ip: K = 3*8*8 = 192; MACs = 2 x 192 x 10 = 3840
      assert.equal(n.layer('ip')?.macs, 3840);
    });

    it('turns DummyData into inputs of its own shapes (shape per top, one shape, legacy fields)', async () => {
      const cat = 'layer { name: "cat" type: "Concat" bottom: "a" bottom: "b" top: "cat" }\n';
      const perTop = await parse(
        'layer { name: "dummy" type: "DummyData" top: "a" top: "b" dummy_data_param { shape { dim: 2 dim: 3 } shape { dim: 2 dim: 5 } } }\n' +
          cat,
      );
      assert.deepEqual(perTop.inputs, [
        { name: 'a', shape: [2, 3] },
        { name: 'b', shape: [2, 5] },
      ]);
      // 3 + 5 = 8
      assert.deepEqual(tensor(perTop, 'cat').shape, [2, 8]);
      const one = await parse(
        'layer { name: "dummy" type: "DummyData" top: "a" top: "b" dummy_data_param { shape { dim: 2 dim: 3 } } }\n' + cat,
      );
      assert.deepEqual(one.inputs, [
        { name: 'a', shape: [2, 3] },
        { name: 'b', shape: [2, 3] },
      ]);
      const legacy = await parse(
        'layer { name: "dummy" type: "DummyData" top: "a" dummy_data_param { num: 2 channels: 3 height: 4 width: 5 } }\n' +
          'layer { name: "r" type: "ReLU" bottom: "a" top: "r" }\n',
      );
      assert.deepEqual(legacy.inputs, [{ name: 'a', shape: [2, 3, 4, 5] }]);
    });

    const DATA =
      'layer { name: "src" type: "Data" top: "data" top: "label" data_param { source: "train_lmdb" batch_size: 64 } }\n' +
      'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 10 } }\n' +
      'layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }\n';

    it('turns a Data layer into an input when inputShapes gives its shape', async () => {
      const n = await parse(DATA, { inputShapes: { data: [4, 1, 28, 28] } });
      assert.deepEqual(n.inputs, [{ name: 'data', shape: [4, 1, 28, 28] }]);
      assert.deepEqual(
        n.layers.map((l) => [l.name, l.type]),
        [
          ['src', 'Input'],
          ['ip', 'InnerProduct'],
        ],
      );
      assert.deepEqual(n.outputs, [{ name: 'ip', shape: [4, 10] }]);
      assert.ok(!n.tensors.has('label'));
      assert.ok(
        n.notes.some((x) => x.includes("data layer 'src' (Data) became input 'data'")),
        JSON.stringify(n.notes),
      );
    });

    it('rejects a Data layer without inputShapes, telling the user to pass them (E_SHAPE)', async () => {
      await fails(parse(DATA), 'E_SHAPE', "input 'data' has no shape", 'inputShapes', "layer 'src'");
    });

    it("rejects a kept layer that reads a loss layer's top (E_SHAPE)", async () => {
      await fails(
        parse(DATA + 'layer { name: "scaled" type: "Power" bottom: "loss" top: "scaled" }\n', { inputShapes: { data: [1, 1, 28, 28] } }),
        'E_SHAPE',
        "layer 'scaled' (Power) reads 'loss'",
        "training-only layer 'loss' (SoftmaxWithLoss)",
      );
    });

    // Caffe's MemoryData shapes the label [batch_size]; each top keeps its own shape.
    it("shapes MemoryData's label [batch_size] when a kept layer reads it", async () => {
      const n = await parse(
        'layer { name: "mem" type: "MemoryData" top: "data" top: "label" memory_data_param { batch_size: 2 channels: 3 height: 8 width: 8 } }\n' +
          'layer { name: "lab" type: "Power" bottom: "label" top: "lab" }\n' +
          'layer { name: "r" type: "ReLU" bottom: "data" top: "r" }\n',
      );
      assert.deepEqual(n.inputs, [
        { name: 'data', shape: [2, 3, 8, 8] },
        { name: 'label', shape: [2] },
      ]);
    });

    const TRAIN_VAL =
      'name: "LeNetTrainVal"\n' +
      'layer { name: "mnist" type: "Data" top: "data" top: "label" include { phase: TRAIN } data_param { source: "train_lmdb" batch_size: 64 } }\n' +
      'layer { name: "mnist" type: "Data" top: "data" top: "label" include { phase: TEST } data_param { source: "test_lmdb" batch_size: 100 } }\n' +
      'layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 20 kernel_size: 5 } }\n' +
      'layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }\n' +
      'layer { name: "ip1" type: "InnerProduct" bottom: "pool1" top: "ip1" inner_product_param { num_output: 500 } }\n' +
      'layer { name: "relu1" type: "ReLU" bottom: "ip1" top: "ip1" }\n' +
      'layer { name: "ip2" type: "InnerProduct" bottom: "ip1" top: "ip2" inner_product_param { num_output: 10 } }\n' +
      'layer { name: "accuracy" type: "Accuracy" bottom: "ip2" bottom: "label" top: "accuracy" include { phase: TEST } }\n' +
      'layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip2" bottom: "label" top: "loss" }\n';

    it('gives the deploy view of a train_val net (TEST phase by default)', async () => {
      const n = await parse(TRAIN_VAL, { inputShapes: { data: [1, 1, 28, 28] } });
      assert.equal(n.name, 'LeNetTrainVal');
      assert.deepEqual(
        n.layers.map((l) => [l.name, l.type]),
        [
          ['mnist', 'Input'],
          ['conv1', 'Convolution'],
          ['pool1', 'Pooling'],
          ['ip1', 'InnerProduct'],
          ['relu1', 'ReLU'],
          ['ip2', 'InnerProduct'],
        ],
      );
      assert.deepEqual(n.inputs, [{ name: 'data', shape: [1, 1, 28, 28] }]);
      assert.deepEqual(n.outputs, [{ name: 'ip2', shape: [1, 10] }]);
      // conv1: (28 - 5) + 1 = 24 -> [1,20,24,24]; pool1: ceil((24 - 2) / 2) + 1 = 12 -> [1,20,12,12]
      assert.deepEqual(tensor(n, 'conv1').shape, [1, 20, 24, 24]);
      assert.deepEqual(tensor(n, 'pool1').shape, [1, 20, 12, 12]);
      assert.deepEqual(tensor(n, 'ip1').shape, [1, 500]);
      assert.deepEqual(tensor(n, 'ip1#0').consumers, ['relu1']);
      // MACs: conv1 20*24*24 x 1 x 25 = 288000; ip1 20*12*12 = 2880 x 500 = 1440000; ip2 500 x 10 = 5000
      assert.equal(n.summary().totals.macs, 288000 + 1440000 + 5000);
      const notes = n.notes.join('\n');
      assert.match(notes, /removed for phase TEST: mnist/);
      assert.match(notes, /data layer 'mnist' \(Data\) became input 'data'/);
      assert.match(notes, /dropped training-only layer\(s\): accuracy \(Accuracy\), loss \(SoftmaxWithLoss\)/);
    });

    it('applies the TRAIN phase rules when asked', async () => {
      const n = await parse(TRAIN_VAL, { phase: 'TRAIN', inputShapes: { data: [64, 1, 28, 28] } });
      assert.deepEqual(n.inputs, [{ name: 'data', shape: [64, 1, 28, 28] }]);
      assert.match(n.notes.join('\n'), /removed for phase TRAIN: mnist, accuracy/);
      assert.match(n.notes.join('\n'), /dropped training-only layer\(s\): loss \(SoftmaxWithLoss\)/);
    });

    it('rejects the train_val net without inputShapes (E_SHAPE naming data and inputShapes)', async () => {
      await fails(parse(TRAIN_VAL), 'E_SHAPE', "input 'data' has no shape", 'inputShapes');
    });
  });

  describe('batch size', () => {
    // conv1 [N,4,6,6] (k3 on 8), pool k2 s2 -> ceil((6 - 2) / 2) + 1 = 3 -> [N,4,3,3], ip 10, softmax
    // MACs at batch 1: conv 4*6*6 x 3 x 9 = 3888; ip 36 x 10 = 360; total 4248
    const BODY =
      CONV1 +
      RELU1 +
      POOL1 +
      'layer { name: "ip" type: "InnerProduct" bottom: "pool1" top: "ip" inner_product_param { num_output: 10 } }\n' +
      'layer { name: "prob" type: "Softmax" bottom: "ip" top: "prob" }\n';

    it('has the pinned MACs at batch 1', async () => {
      const n = await net(BODY);
      assert.equal(n.layer('conv1')?.macs, 3888);
      assert.equal(n.layer('ip')?.macs, 360);
      assert.equal(n.summary().totals.macs, 4248);
      assert.equal(n.batchSize, 1);
    });

    it('changes dimension 0 of every tensor and scales MACs linearly', async () => {
      const one = await net(BODY);
      for (const batch of [2, 3, 8]) {
        const n = await net(BODY, { batchSize: batch });
        assert.equal(n.batchSize, batch);
        assert.deepEqual(n.inputs, [{ name: 'data', shape: [batch, 3, 8, 8] }]);
        assert.deepEqual([...n.tensors.keys()], [...one.tensors.keys()]);
        for (const [name, t] of one.tensors) {
          assert.deepEqual(tensor(n, name).shape, [batch, ...t.shape.slice(1)], name);
        }
        for (const l of one.layers) assert.equal(n.layer(l.name)?.macs, l.macs * batch, l.name);
        assert.equal(n.summary().totals.macs, 4248 * batch);
        assert.equal(n.summary().perImage.macs, 4248);
        assert.equal(n.summary().totals.params, one.summary().totals.params, 'weights do not depend on the batch');
      }
    });

    it('gives the same network through withBatchSize', async () => {
      const n = (await net(BODY)).withBatchSize(4);
      assert.deepEqual(n.inputs, [{ name: 'data', shape: [4, 3, 8, 8] }]);
      assert.deepEqual(n.outputs, [{ name: 'prob', shape: [4, 10] }]);
      assert.equal(n.summary().totals.macs, 4 * 4248);
    });

    it('changes dimension 0 of every input', async () => {
      const n = await parse(
        'layer { name: "in" type: "Input" top: "x" top: "y" input_param { shape { dim: 1 dim: 3 } shape { dim: 2 dim: 5 } } }\n' +
          'layer { name: "rx" type: "ReLU" bottom: "x" top: "rx" }\nlayer { name: "ry" type: "ReLU" bottom: "y" top: "ry" }\n',
        { batchSize: 6 },
      );
      assert.deepEqual(n.inputs, [
        { name: 'x', shape: [6, 3] },
        { name: 'y', shape: [6, 5] },
      ]);
      assert.deepEqual(n.outputs, [
        { name: 'rx', shape: [6, 3] },
        { name: 'ry', shape: [6, 5] },
      ]);
    });

    // inputShapes keys must name inputs: a typo is an argument error, not a silently ignored entry.
    it('rejects inputShapes that name no input', async () => {
      await assert.rejects(net(BODY, { inputShapes: { dta: [2, 3, 8, 8] } }), {
        name: 'RangeError',
        message: 'Expected the name of an input of the network (data) for options.inputShapes but received type string ("dta")',
      });
    });
  });

  describe('buildGraph', () => {
    it('builds the IR from a parsed definition with the LayerParameter of each layer', () => {
      const def = parsePrototxt('name: "G"\n' + INPUT + CONV1 + RELU1, { file: 'g.prototxt' });
      const g = buildGraph(def, { batchSize: 2 });
      assert.equal(g.name, 'G');
      assert.deepEqual(
        g.layers.map((l) => l.name),
        ['data', 'conv1', 'relu1'],
      );
      assert.deepEqual([...g.params.keys()], ['data', 'conv1', 'relu1']);
      assert.equal(g.params.get('conv1')?.sub('convolution_param').num('num_output'), 4);
      assert.deepEqual(g.inputs, [{ name: 'data', shape: [2, 3, 8, 8] }]);
      assert.deepEqual(g.outputs, [{ name: 'conv1', shape: [2, 4, 6, 6] }]);
      assert.deepEqual(g.notes, []);
      assert.deepEqual(g.layers[1].loc, { file: 'g.prototxt', line: 3, col: 1 });
    });

    it('takes inputShapes', () => {
      const g = buildGraph(parsePrototxt(INPUT + CONV1), { inputShapes: { data: [1, 3, 10, 10] } });
      // (10 - 3) + 1 = 8
      assert.deepEqual(g.outputs, [{ name: 'conv1', shape: [1, 4, 8, 8] }]);
    });
  });
});
