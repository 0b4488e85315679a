/**
 * Shape inference per IR layer type, against Caffe's rules (BVLC caffe, src/caffe/layers/*.cpp).
 *
 * Every expected shape, blob shape and MAC count below is worked out by hand in a comment from
 * Caffe's formulas; none comes from calling the code under test. Every error check in a layer's
 * build function has a test asserting E_SHAPE, that the message names the layer ("layer 'x' (Type)")
 * and what is wrong.
 *
 * MACs as lib/network counts them (the whole batch): Convolution = output elements x (C_in / group)
 * x kernel volume; Deconvolution = input elements x (C_out / group) x kernel volume; InnerProduct =
 * M x K x N (M = dims before axis, K = dims from axis); every other layer 0.
 */
import { strict as assert } from 'assert';
import { fails } from '../support/helpers';
import { ShapeError } from '../../lib/errors';
import { LAYER_TYPES, Network, type NetworkOptions } from '../../lib/network';
import type { AnyLayer, Shape } from '../../lib/network';

type NetOptions = NetworkOptions & { dims?: readonly number[] };

/** Parses a whole prototxt text. */
function parse(text: string, opts: NetworkOptions = {}): Promise<Network> {
  return Network.parse(text, { file: 'shapes.prototxt', ...opts });
}

/** An Input layer `data` of shape `dims` (default [1, 3, 8, 8]) followed by `body`. */
async function net(body: string, opts: NetOptions = {}): Promise<Network> {
  const { dims = [1, 3, 8, 8], ...rest } = opts;
  const input = `layer { name: "data" type: "Input" top: "data" input_param { shape { ${dims.map((d) => `dim: ${d}`).join(' ')} } } }\n`;
  return parse(input + body, rest);
}

/** One Input layer `in` with one top per entry of `shapes` (per-top shapes), then `body`. */
function inputs(shapes: Record<string, readonly number[]>, body: string, opts: NetworkOptions = {}): Promise<Network> {
  const tops = Object.keys(shapes)
    .map((t) => `top: "${t}"`)
    .join(' ');
  const dims = Object.values(shapes)
    .map((s) => `shape { ${s.map((d) => `dim: ${d}`).join(' ')} }`)
    .join(' ');
  return parse(`layer { name: "in" type: "Input" ${tops} input_param { ${dims} } }\n${body}`, opts);
}

/** One layer's text; bottoms default to `data`, tops to the layer name. */
function layer(
  name: string,
  type: string,
  param = '',
  bottoms: string | readonly string[] = 'data',
  tops: string | readonly string[] = name,
): string {
  const list = (v: string | readonly string[]) => (typeof v === 'string' ? [v] : v);
  const b = list(bottoms)
    .map((x) => `bottom: "${x}"`)
    .join(' ');
  const t = list(tops)
    .map((x) => `top: "${x}"`)
    .join(' ');
  return `layer { name: "${name}" type: "${type}" ${b} ${t} ${param} }\n`;
}

function shapeOf(n: Network, tensor: string): Shape {
  const t = n.tensors.get(tensor);
  assert.ok(t !== undefined, `no tensor '${tensor}' (have ${[...n.tensors.keys()].join(', ')})`);
  return t.shape;
}

function layerOf(n: Network, name: string): AnyLayer {
  const l = n.layer(name);
  assert.ok(l !== undefined, `no layer '${name}'`);
  return l;
}

/** Attributes of a layer as a plain record (for partial checks). */
function attrsOf(n: Network, name: string): Record<string, unknown> {
  return layerOf(n, name).attrs as unknown as Record<string, unknown>;
}

/** A build-time E_SHAPE of layer `name` (type `type`): the message names it and says `what`; layerName is set. */
async function buildFails(p: Promise<unknown>, name: string, type: string, ...what: Array<string | RegExp>): Promise<void> {
  const err = await fails(p, 'E_SHAPE', `layer '${name}' (${type})`, ...what);
  assert.ok(err instanceof ShapeError);
  assert.equal(err.layerName, name);
}

/** Layer types with a describe block here; the last test checks it is every IR type. */
const covered = new Set<string>();
function describeType(type: string, fn: () => void): void {
  covered.add(type);
  describe(type, fn);
}

describe('layer shapes (Caffe rules)', () => {
  describeType('Input', () => {
    it('gives every top the one shape when one shape is given', async () => {
      // (A network needs a layer besides its inputs: the ReLU reads 'a'; 'b' stays unread.)
      const n = await parse(
        'layer { name: "in" type: "Input" top: "a" top: "b" input_param { shape { dim: 2 dim: 3 } } }\n' + layer('r', 'ReLU', '', 'a'),
      );
      assert.deepEqual(shapeOf(n, 'a'), [2, 3]);
      assert.deepEqual(shapeOf(n, 'b'), [2, 3]);
      assert.deepEqual(n.inputs, [
        { name: 'a', shape: [2, 3] },
        { name: 'b', shape: [2, 3] },
      ]);
      assert.deepEqual(layerOf(n, 'in').blobs, []);
      assert.equal(layerOf(n, 'in').macs, 0);
      assert.deepEqual(n.outputs, [{ name: 'r', shape: [2, 3] }], 'input tensors, even unread ones, are not outputs');
    });

    it('gives one shape per top when one per top is given', async () => {
      const n = await inputs({ a: [2, 3], b: [4, 5, 6] }, layer('r', 'ReLU', '', 'b'));
      assert.deepEqual(shapeOf(n, 'a'), [2, 3]);
      assert.deepEqual(shapeOf(n, 'b'), [4, 5, 6]);
    });

    it('rejects a shape count that is neither 1 nor the top count (E_SHAPE)', async () => {
      const text = 'layer { name: "in" type: "Input" top: "a" top: "b" top: "c" input_param { shape { dim: 1 } shape { dim: 2 } } }';
      await buildFails(parse(text), 'in', 'Input', '3 tops but 2 shapes');
    });

    it('takes inputShapes over the file and shapes downstream from it', async () => {
      // conv k3 on 16x16: (16 - 3) / 1 + 1 = 14
      const n = await net(layer('c', 'Convolution', 'convolution_param { num_output: 4 kernel_size: 3 }'), {
        inputShapes: { data: [2, 3, 16, 16] },
      });
      assert.deepEqual(shapeOf(n, 'data'), [2, 3, 16, 16]);
      assert.deepEqual(shapeOf(n, 'c'), [2, 4, 14, 14]);
      assert.deepEqual(n.inputs, [{ name: 'data', shape: [2, 3, 16, 16] }]);
    });

    it('takes an inputShapes entry of another rank', async () => {
      const n = await net(layer('r', 'ReLU'), { inputShapes: { data: [4, 10] } });
      assert.deepEqual(shapeOf(n, 'r'), [4, 10]);
    });

    it('replaces dimension 0 with batchSize', async () => {
      const n = await net(layer('r', 'ReLU'), { batchSize: 5 });
      assert.deepEqual(shapeOf(n, 'data'), [5, 3, 8, 8]);
      assert.deepEqual(shapeOf(n, 'r'), [5, 3, 8, 8]);
    });

    it('applies batchSize on top of inputShapes', async () => {
      const n = await net(layer('r', 'ReLU'), { inputShapes: { data: [2, 3, 16, 16] }, batchSize: 7 });
      assert.deepEqual(shapeOf(n, 'data'), [7, 3, 16, 16]);
    });

    it('rejects a top without a shape, naming it and inputShapes (E_SHAPE)', async () => {
      await buildFails(parse('layer { name: "in" type: "Input" top: "a" }'), 'in', 'Input', "input 'a' has no shape", 'inputShapes');
    });

    it('takes the shape of a shapeless top from inputShapes', async () => {
      const n = await parse(`layer { name: "in" type: "Input" top: "a" }\n${layer('r', 'ReLU', '', 'a')}`, { inputShapes: { a: [3, 2] } });
      assert.deepEqual(shapeOf(n, 'a'), [3, 2]);
    });

    it('rejects a dimension that is 0 or negative (E_SHAPE)', async () => {
      await buildFails(net('', { dims: [1, 0, 4] }), 'data', 'Input', 'input dimensions must be > 0', '[1, 0, 4]');
      await buildFails(net('', { dims: [1, -2, 4] }), 'data', 'Input', 'input dimensions must be > 0');
    });
  });

  describeType('Convolution', () => {
    const conv = (param: string, opts: NetOptions = {}) => net(layer('c', 'Convolution', `convolution_param { ${param} }`), opts);

    it('computes output, blobs and MACs of a plain 3x3 convolution', async () => {
      // [1,3,8,8], 4 outputs, k3: (8 - 3) / 1 + 1 = 6 -> [1,4,6,6]
      // weights [num_output, C/group, kh, kw] = [4,3,3,3], bias [4]
      // MACs = 1*4*6*6 outputs x 3 channels x 9 = 144 x 27 = 3888
      const n = await conv('num_output: 4 kernel_size: 3');
      assert.deepEqual(shapeOf(n, 'c'), [1, 4, 6, 6]);
      const l = layerOf(n, 'c');
      assert.deepEqual(l.blobs, [[4, 3, 3, 3], [4]]);
      assert.equal(l.macs, 3888);
      assert.deepEqual(attrsOf(n, 'c'), {
        numOutput: 4,
        kernel: [3, 3],
        stride: [1, 1],
        pad: [0, 0],
        dilation: [1, 1],
        group: 1,
        biasTerm: true,
        axis: 1,
      });
    });

    it('rounds the output size down (floor)', async () => {
      // 8, k3, s2: floor((8 - 3) / 2) + 1 = floor(2.5) + 1 = 3 (ceil would give 4)
      const n = await conv('num_output: 4 kernel_size: 3 stride: 2');
      assert.deepEqual(shapeOf(n, 'c'), [1, 4, 3, 3]);
      // MACs = 1*4*3*3 x 3 x 9 = 36 x 27 = 972
      assert.equal(layerOf(n, 'c').macs, 972);
    });

    it('adds padding on both sides', async () => {
      // 8, k3, p1: (8 + 2 - 3) / 1 + 1 = 8
      const n = await conv('num_output: 4 kernel_size: 3 pad: 1');
      assert.deepEqual(shapeOf(n, 'c'), [1, 4, 8, 8]);
    });

    it('combines stride and pad like AlexNet conv1 and ResNet conv1', async () => {
      // AlexNet: 227, k11, s4: (227 - 11) / 4 + 1 = 54 + 1 = 55
      const a = await conv('num_output: 96 kernel_size: 11 stride: 4', { dims: [1, 3, 227, 227] });
      assert.deepEqual(shapeOf(a, 'c'), [1, 96, 55, 55]);
      // MACs = 96*55*55 x 3 x 121 = 290400 x 363 = 105415200
      assert.equal(layerOf(a, 'c').macs, 105415200);
      // ResNet: 224, k7, s2, p3: floor((224 + 6 - 7) / 2) + 1 = floor(111.5) + 1 = 112
      const r = await conv('num_output: 64 kernel_size: 7 stride: 2 pad: 3', { dims: [1, 3, 224, 224] });
      assert.deepEqual(shapeOf(r, 'c'), [1, 64, 112, 112]);
    });

    it('uses the dilated kernel extent for the size but the kernel volume for MACs', async () => {
      // k3, dilation 2: extent 2*(3-1)+1 = 5; (8 - 5) / 1 + 1 = 4 -> [1,4,4,4]
      // MACs = 1*4*4*4 x 3 x 9 = 64 x 27 = 1728 (kernel volume 9, not 25)
      const n = await conv('num_output: 4 kernel_size: 3 dilation: 2');
      assert.deepEqual(shapeOf(n, 'c'), [1, 4, 4, 4]);
      assert.deepEqual(layerOf(n, 'c').blobs, [[4, 3, 3, 3], [4]]);
      assert.equal(layerOf(n, 'c').macs, 1728);
    });

    it('divides weights and MACs by group', async () => {
      // [1,4,8,8], 6 outputs, group 2, k3 -> [1,6,6,6]
      // weights [6, 4/2, 3, 3] = [6,2,3,3]
      // MACs = 6*6*6 x (4/2) x 9 = 216 x 18 = 3888 (group 1 would be 216 x 36 = 7776)
      const n = await conv('num_output: 6 kernel_size: 3 group: 2', { dims: [1, 4, 8, 8] });
      assert.deepEqual(shapeOf(n, 'c'), [1, 6, 6, 6]);
      assert.deepEqual(layerOf(n, 'c').blobs, [[6, 2, 3, 3], [6]]);
      assert.equal(layerOf(n, 'c').macs, 3888);
      const g1 = await conv('num_output: 6 kernel_size: 3', { dims: [1, 4, 8, 8] });
      assert.equal(layerOf(g1, 'c').macs, 7776);
    });

    it('handles depthwise convolution (group = channels)', async () => {
      // [1,4,8,8], 4 outputs, group 4, k3, p1 -> (8 + 2 - 3) + 1 = 8 -> [1,4,8,8]
      // weights [4,1,3,3]; MACs = 4*8*8 x 1 x 9 = 2304
      const n = await conv('num_output: 4 kernel_size: 3 pad: 1 group: 4', { dims: [1, 4, 8, 8] });
      assert.deepEqual(shapeOf(n, 'c'), [1, 4, 8, 8]);
      assert.deepEqual(layerOf(n, 'c').blobs, [[4, 1, 3, 3], [4]]);
      assert.equal(layerOf(n, 'c').macs, 2304);
    });

    it('takes kernel_h / kernel_w', async () => {
      // [1,3,10,12], kh 3, kw 5: H (10 - 3) + 1 = 8, W (12 - 5) + 1 = 8 -> [1,2,8,8]
      // weights [2,3,3,5]; MACs = 2*8*8 x 3 x 15 = 128 x 45 = 5760
      const n = await conv('num_output: 2 kernel_h: 3 kernel_w: 5', { dims: [1, 3, 10, 12] });
      assert.deepEqual(shapeOf(n, 'c'), [1, 2, 8, 8]);
      assert.deepEqual(layerOf(n, 'c').blobs, [[2, 3, 3, 5], [2]]);
      assert.equal(layerOf(n, 'c').macs, 5760);
    });

    it('takes pad_h / pad_w', async () => {
      // [1,3,10,12], k3, pad_h 1, pad_w 0: H (10 + 2 - 3) + 1 = 10, W (12 - 3) + 1 = 10
      const n = await conv('num_output: 2 kernel_size: 3 pad_h: 1 pad_w: 0', { dims: [1, 3, 10, 12] });
      assert.deepEqual(shapeOf(n, 'c'), [1, 2, 10, 10]);
      assert.deepEqual(attrsOf(n, 'c').pad, [1, 0]);
    });

    it('takes stride_h / stride_w', async () => {
      // [1,3,10,12], k3, stride_h 1, stride_w 3: H (10 - 3) / 1 + 1 = 8, W floor((12 - 3) / 3) + 1 = 4
      const n = await conv('num_output: 2 kernel_size: 3 stride_h: 1 stride_w: 3', { dims: [1, 3, 10, 12] });
      assert.deepEqual(shapeOf(n, 'c'), [1, 2, 8, 4]);
      assert.deepEqual(attrsOf(n, 'c').stride, [1, 3]);
    });

    it('takes one value per spatial axis in kernel_size / stride / pad / dilation', async () => {
      // [1,3,10,12], kernel [3,5], stride [1,2], pad [0,1], dilation [1,1]
      // H: (10 + 0 - 3) / 1 + 1 = 8; W: floor((12 + 2 - 5) / 2) + 1 = floor(4.5) + 1 = 5
      // MACs = 2*8*5 x 3 x 15 = 80 x 45 = 3600
      const n = await conv('num_output: 2 kernel_size: 3 kernel_size: 5 stride: 1 stride: 2 pad: 0 pad: 1 dilation: 1 dilation: 1', {
        dims: [1, 3, 10, 12],
      });
      assert.deepEqual(shapeOf(n, 'c'), [1, 2, 8, 5]);
      assert.deepEqual(layerOf(n, 'c').blobs, [[2, 3, 3, 5], [2]]);
      assert.equal(layerOf(n, 'c').macs, 3600);
      const a = attrsOf(n, 'c');
      assert.deepEqual(
        [a.kernel, a.stride, a.pad, a.dilation],
        [
          [3, 5],
          [1, 2],
          [0, 1],
          [1, 1],
        ],
      );
    });

    it('applies one dilation value per axis', async () => {
      // [1,3,10,12], k3, dilation [1,2]: H extent 3 -> 8; W extent 5 -> (12 - 5) + 1 = 8
      const n = await conv('num_output: 2 kernel_size: 3 dilation: 1 dilation: 2', { dims: [1, 3, 10, 12] });
      assert.deepEqual(shapeOf(n, 'c'), [1, 2, 8, 8]);
    });

    it('rejects a list with neither 1 nor one value per spatial axis (E_SHAPE)', async () => {
      await buildFails(
        conv('num_output: 2 kernel_size: 3 kernel_size: 3 kernel_size: 3'),
        'c',
        'Convolution',
        'kernel_size has 3 values; give 1 or 2',
      );
      await buildFails(
        conv('num_output: 2 kernel_size: 3 stride: 1 stride: 1 stride: 1'),
        'c',
        'Convolution',
        'stride has 3 values; give 1 or 2',
      );
    });

    it('convolves 3-D (N-D) inputs', async () => {
      // [1,2,6,8,10], 4 outputs, k3, p1, s2: floor((d + 2 - 3) / 2) + 1 -> 6: 3, 8: 4, 10: 5
      // weights [4,2,3,3,3]; MACs = 4*3*4*5 x 2 x 27 = 240 x 54 = 12960
      const n = await conv('num_output: 4 kernel_size: 3 pad: 1 stride: 2', { dims: [1, 2, 6, 8, 10] });
      assert.deepEqual(shapeOf(n, 'c'), [1, 4, 3, 4, 5]);
      assert.deepEqual(layerOf(n, 'c').blobs, [[4, 2, 3, 3, 3], [4]]);
      assert.equal(layerOf(n, 'c').macs, 12960);
    });

    it('takes per-axis kernels in 3-D', async () => {
      // [1,2,4,8,8], kernel [1,3,3]: 4, 6, 6 -> [1,4,4,6,6]
      // MACs = 4*4*6*6 x 2 x 9 = 576 x 18 = 10368
      const n = await conv('num_output: 4 kernel_size: 1 kernel_size: 3 kernel_size: 3', { dims: [1, 2, 4, 8, 8] });
      assert.deepEqual(shapeOf(n, 'c'), [1, 4, 4, 6, 6]);
      assert.deepEqual(layerOf(n, 'c').blobs, [[4, 2, 1, 3, 3], [4]]);
      assert.equal(layerOf(n, 'c').macs, 10368);
    });

    it('rejects kernel_h / kernel_w on a 3-D convolution (E_SHAPE)', async () => {
      await buildFails(
        conv('num_output: 4 kernel_h: 3 kernel_w: 3', { dims: [1, 2, 6, 8, 10] }),
        'c',
        'Convolution',
        'apply to 2-D inputs only',
        '3 spatial axes',
      );
    });

    it('takes the channel axis from axis', async () => {
      // [1,1,3,8,8] with axis 2: channels 3, spatial [8,8]; k3 -> [1,1,4,6,6]
      // MACs = 1*1*4*6*6 x 3 x 9 = 3888
      const n = await conv('num_output: 4 kernel_size: 3 axis: 2', { dims: [1, 1, 3, 8, 8] });
      assert.deepEqual(shapeOf(n, 'c'), [1, 1, 4, 6, 6]);
      assert.deepEqual(layerOf(n, 'c').blobs, [[4, 3, 3, 3], [4]]);
      assert.equal(layerOf(n, 'c').macs, 3888);
    });

    it('convolves several bottoms into as many tops with one set of weights', async () => {
      // each [1,3,8,8] -> [1,4,6,6]; MACs = 2 x 3888 = 7776; weights shared: [4,3,3,3], [4]
      const n = await inputs(
        { a: [1, 3, 8, 8], b: [1, 3, 8, 8] },
        layer('c', 'Convolution', 'convolution_param { num_output: 4 kernel_size: 3 }', ['a', 'b'], ['ca', 'cb']),
      );
      assert.deepEqual(shapeOf(n, 'ca'), [1, 4, 6, 6]);
      assert.deepEqual(shapeOf(n, 'cb'), [1, 4, 6, 6]);
      assert.deepEqual(layerOf(n, 'c').blobs, [[4, 3, 3, 3], [4]]);
      assert.equal(layerOf(n, 'c').macs, 7776);
    });

    it('rejects bottoms of different shapes (E_SHAPE)', async () => {
      await buildFails(
        inputs(
          { a: [1, 3, 8, 8], b: [1, 3, 9, 8] },
          layer('c', 'Convolution', 'convolution_param { num_output: 4 kernel_size: 3 }', ['a', 'b'], ['ca', 'cb']),
        ),
        'c',
        'Convolution',
        'all bottoms of a convolution must have one shape',
        '[1, 3, 9, 8]',
      );
    });

    it('rejects a top count other than the bottom count (E_SHAPE)', async () => {
      await fails(
        inputs(
          { a: [1, 3, 8, 8], b: [1, 3, 8, 8] },
          layer('c', 'Convolution', 'convolution_param { num_output: 4 kernel_size: 3 }', ['a', 'b'], ['ca']),
        ),
        'E_SHAPE',
        "layer 'c' (Convolution)",
        'one top per bottom',
        '2 bottoms and 1 tops',
      );
    });

    it('has only the weights blob with bias_term: false', async () => {
      const n = await conv('num_output: 4 kernel_size: 3 bias_term: false');
      assert.deepEqual(layerOf(n, 'c').blobs, [[4, 3, 3, 3]]);
      assert.equal(layerOf(n, 'c').macs, 3888);
    });

    it('rejects input channels that group does not divide (E_SHAPE)', async () => {
      await buildFails(
        conv('num_output: 4 kernel_size: 3 group: 2'),
        'c',
        'Convolution',
        'input channels (3) must be divisible by group (2)',
      );
    });

    it('rejects num_output that group does not divide (E_SHAPE)', async () => {
      await buildFails(
        conv('num_output: 5 kernel_size: 3 group: 2', { dims: [1, 4, 8, 8] }),
        'c',
        'Convolution',
        'num_output (5) must be divisible by group (2)',
      );
    });

    it('rejects kernel_size together with kernel_h / kernel_w (E_SHAPE)', async () => {
      await buildFails(conv('num_output: 4 kernel_size: 3 kernel_h: 3 kernel_w: 3'), 'c', 'Convolution', 'not both');
    });

    it('rejects kernel_h without kernel_w (E_SHAPE)', async () => {
      // Caffe reads kernel_w() = 0 and fails "Filter dimensions must be nonzero".
      await buildFails(conv('num_output: 4 kernel_h: 3'), 'c', 'Convolution', 'kernel_h and kernel_w must be given together');
    });

    it('rejects a missing kernel size (E_SHAPE)', async () => {
      await buildFails(conv('num_output: 4'), 'c', 'Convolution', 'kernel_size is required');
    });

    it('rejects an output size below 1 (E_SHAPE)', async () => {
      // 8, k11: (8 - 11) / 1 + 1 = -2
      await buildFails(conv('num_output: 4 kernel_size: 11'), 'c', 'Convolution', 'spatial axis 0', 'output size -2');
    });

    it('rejects num_output 0 or missing (E_SHAPE)', async () => {
      await buildFails(conv('kernel_size: 3'), 'c', 'Convolution', 'num_output must be > 0');
      await buildFails(conv('num_output: 0 kernel_size: 3'), 'c', 'Convolution', 'num_output must be > 0');
    });

    it('rejects zero group, kernel, stride or dilation (E_SHAPE)', async () => {
      await buildFails(conv('num_output: 4 kernel_size: 3 group: 0'), 'c', 'Convolution', 'group must be > 0');
      await buildFails(conv('num_output: 4 kernel_size: 0'), 'c', 'Convolution', 'kernel sizes must be > 0');
      await buildFails(conv('num_output: 4 kernel_size: 3 stride: 0'), 'c', 'Convolution', 'strides must be > 0');
      await buildFails(conv('num_output: 4 kernel_size: 3 dilation: 0'), 'c', 'Convolution', 'dilations must be > 0');
    });

    it('rejects an input without a spatial axis after the channel axis (E_SHAPE)', async () => {
      await buildFails(conv('num_output: 4 kernel_size: 1', { dims: [2, 3] }), 'c', 'Convolution', 'at least one spatial axis');
    });

    it('rejects an out-of-range channel axis (E_SHAPE)', async () => {
      await buildFails(conv('num_output: 4 kernel_size: 1 axis: 4'), 'c', 'Convolution', 'axis 4 is out of range for a 4-D input');
    });

    // Caffe's convolution reads a lone pad_h with pad_w at its default 0.
    it('takes pad_h alone, with pad_w 0 as Caffe does', async () => {
      // [1,3,10,12], k3, pad_h 1 (pad_w 0): H (10 + 2 - 3) + 1 = 10, W (12 - 3) + 1 = 10
      const n = await conv('num_output: 2 kernel_size: 3 pad_h: 1', { dims: [1, 3, 10, 12] });
      assert.deepEqual(shapeOf(n, 'c'), [1, 2, 10, 10]);
    });
  });

  describeType('Deconvolution', () => {
    const deconv = (param: string, opts: NetOptions = {}) => net(layer('d', 'Deconvolution', `convolution_param { ${param} }`), opts);

    it('computes output = stride (in - 1) + kernel extent - 2 pad, blobs [C_in, C_out/group, kh, kw] and MACs', async () => {
      // [1,4,5,5], 2 outputs, k4, s2, p1: 2*(5 - 1) + 4 - 2 = 10 -> [1,2,10,10]
      // weights [C_in, C_out/group, kh, kw] = [4,2,4,4], bias [2]
      // MACs = input elements 4*5*5 = 100 x (2/1) x 16 = 3200
      // (the same as the forward conv [1,2,10,10] -> [1,4,5,5]: 100 outputs x 2 x 16)
      const n = await deconv('num_output: 2 kernel_size: 4 stride: 2 pad: 1', { dims: [1, 4, 5, 5] });
      assert.deepEqual(shapeOf(n, 'd'), [1, 2, 10, 10]);
      assert.deepEqual(layerOf(n, 'd').blobs, [[4, 2, 4, 4], [2]]);
      assert.equal(layerOf(n, 'd').macs, 3200);
    });

    it('divides by group', async () => {
      // [1,4,5,5], 6 outputs, group 2, k3, s1: 1*(5 - 1) + 3 - 0 = 7 -> [1,6,7,7]
      // weights [4, 6/2, 3, 3] = [4,3,3,3]; MACs = 100 x 3 x 9 = 2700
      const n = await deconv('num_output: 6 kernel_size: 3 group: 2', { dims: [1, 4, 5, 5] });
      assert.deepEqual(shapeOf(n, 'd'), [1, 6, 7, 7]);
      assert.deepEqual(layerOf(n, 'd').blobs, [[4, 3, 3, 3], [6]]);
      assert.equal(layerOf(n, 'd').macs, 2700);
    });

    it('uses the dilated kernel extent', async () => {
      // 5, k3, dilation 2: extent 5; 1*(5 - 1) + 5 = 9
      const n = await deconv('num_output: 2 kernel_size: 3 dilation: 2', { dims: [1, 4, 5, 5] });
      assert.deepEqual(shapeOf(n, 'd'), [1, 2, 9, 9]);
    });

    it('has only the weights blob with bias_term: false', async () => {
      const n = await deconv('num_output: 2 kernel_size: 4 stride: 2 pad: 1 bias_term: false', { dims: [1, 4, 5, 5] });
      assert.deepEqual(layerOf(n, 'd').blobs, [[4, 2, 4, 4]]);
    });

    it('rejects an output size below 1 (E_SHAPE)', async () => {
      // 1, k1, p1: 1*(1 - 1) + 1 - 2 = -1
      await buildFails(deconv('num_output: 2 kernel_size: 1 pad: 1', { dims: [1, 4, 1, 1] }), 'd', 'Deconvolution', 'output size -1');
    });

    it('rejects channels that group does not divide (E_SHAPE)', async () => {
      await buildFails(
        deconv('num_output: 4 kernel_size: 2 group: 2', { dims: [1, 3, 5, 5] }),
        'd',
        'Deconvolution',
        'input channels (3) must be divisible by group (2)',
      );
    });
  });

  describeType('Pooling', () => {
    const pool = (param: string, opts: NetOptions = {}, tops: string | string[] = 'p') =>
      net(layer('p', 'Pooling', `pooling_param { ${param} }`, 'data', tops), opts);

    it('rounds up: 112 -> 56 with kernel 3 stride 2, no blobs, no MACs', async () => {
      // ceil((112 - 3) / 2) + 1 = ceil(54.5) + 1 = 56
      const n = await pool('pool: MAX kernel_size: 3 stride: 2', { dims: [1, 2, 112, 112] });
      assert.deepEqual(shapeOf(n, 'p'), [1, 2, 56, 56]);
      assert.deepEqual(layerOf(n, 'p').blobs, []);
      assert.equal(layerOf(n, 'p').macs, 0);
      assert.deepEqual(attrsOf(n, 'p'), {
        method: 'MAX',
        global: false,
        roundMode: 'CEIL',
        kernel: [3, 3],
        stride: [2, 2],
        pad: [0, 0],
      });
    });

    it('rounds up: 13 -> 6 with kernel 3 stride 2', async () => {
      // ceil((13 - 3) / 2) + 1 = 5 + 1 = 6
      const n = await pool('pool: AVE kernel_size: 3 stride: 2', { dims: [1, 2, 13, 13] });
      assert.deepEqual(shapeOf(n, 'p'), [1, 2, 6, 6]);
    });

    it('rounds up where floor would not: 8 -> 4 with kernel 3 stride 2', async () => {
      // ceil((8 - 3) / 2) + 1 = ceil(2.5) + 1 = 4
      const n = await pool('kernel_size: 3 stride: 2');
      assert.deepEqual(shapeOf(n, 'p'), [1, 3, 4, 4]);
    });

    it('keeps the last window when it starts inside the padded input: 7, k3, s2, p1 -> 4', async () => {
      // ceil((7 + 2 - 3) / 2) + 1 = 4; last start (4 - 1) * 2 = 6 < 7 + 1 -> kept: 4
      const n = await pool('kernel_size: 3 stride: 2 pad: 1', { dims: [1, 2, 7, 7] });
      assert.deepEqual(shapeOf(n, 'p'), [1, 2, 4, 4]);
    });

    it('drops the last window when it would start in the padding: 5, k2, s2, p1 -> 3', async () => {
      // ceil((5 + 2 - 2) / 2) + 1 = ceil(2.5) + 1 = 4; last start (4 - 1) * 2 = 6 >= 5 + 1 -> 3
      const n = await pool('kernel_size: 2 stride: 2 pad: 1', { dims: [1, 2, 5, 5] });
      assert.deepEqual(shapeOf(n, 'p'), [1, 2, 3, 3]);
    });

    it('does not clip without padding, even when the last window starts past the input', async () => {
      // 5, k1, s3, p0: ceil((5 - 1) / 3) + 1 = ceil(1.33) + 1 = 3 (start 6 >= 5, but Caffe clips only with pad)
      const n = await pool('kernel_size: 1 stride: 3', { dims: [1, 2, 5, 5] });
      assert.deepEqual(shapeOf(n, 'p'), [1, 2, 3, 3]);
    });

    it('rounds down with round_mode: FLOOR', async () => {
      // 112: floor((112 - 3) / 2) + 1 = 54 + 1 = 55; 8: floor(2.5) + 1 = 3
      const a = await pool('kernel_size: 3 stride: 2 round_mode: FLOOR', { dims: [1, 2, 112, 112] });
      assert.deepEqual(shapeOf(a, 'p'), [1, 2, 55, 55]);
      assert.equal(attrsOf(a, 'p').roundMode, 'FLOOR');
      const b = await pool('kernel_size: 3 stride: 2 round_mode: FLOOR');
      assert.deepEqual(shapeOf(b, 'p'), [1, 3, 3, 3]);
    });

    it('takes kernel_h / kernel_w and stride_h / stride_w', async () => {
      // [1,2,10,12], kh 2, kw 3, sh 2, sw 3: H ceil((10 - 2) / 2) + 1 = 5, W ceil((12 - 3) / 3) + 1 = 4
      const n = await pool('kernel_h: 2 kernel_w: 3 stride_h: 2 stride_w: 3', { dims: [1, 2, 10, 12] });
      assert.deepEqual(shapeOf(n, 'p'), [1, 2, 5, 4]);
    });

    it('pools the whole input with global_pooling', async () => {
      const n = await pool('pool: AVE global_pooling: true', { dims: [1, 2, 7, 5] });
      assert.deepEqual(shapeOf(n, 'p'), [1, 2, 1, 1]);
      assert.deepEqual(attrsOf(n, 'p').kernel, [7, 5]);
      assert.equal(attrsOf(n, 'p').global, true);
    });

    it('rejects a kernel size given with global_pooling (E_SHAPE)', async () => {
      await buildFails(pool('global_pooling: true kernel_size: 3'), 'p', 'Pooling', 'global_pooling', 'do not give a kernel size');
      await buildFails(pool('global_pooling: true kernel_h: 3 kernel_w: 3'), 'p', 'Pooling', 'do not give a kernel size');
    });

    it('rejects pad or stride with global_pooling (E_SHAPE)', async () => {
      await buildFails(pool('global_pooling: true stride: 2'), 'p', 'Pooling', 'pad must be 0 and stride 1');
      await buildFails(pool('global_pooling: true pad: 1'), 'p', 'Pooling', 'pad must be 0 and stride 1');
    });

    it('gives MAX pooling a second top (the mask) of the same shape', async () => {
      const n = await pool('pool: MAX kernel_size: 3 stride: 2', { dims: [1, 2, 112, 112] }, ['p', 'mask']);
      assert.deepEqual(shapeOf(n, 'p'), [1, 2, 56, 56]);
      assert.deepEqual(shapeOf(n, 'mask'), [1, 2, 56, 56]);
    });

    it('rejects a second top for AVE pooling (E_SHAPE)', async () => {
      await buildFails(pool('pool: AVE kernel_size: 2', {}, ['p', 'mask']), 'p', 'Pooling', 'only MAX pooling has a second top');
    });

    it('rejects pad >= kernel (E_SHAPE)', async () => {
      await buildFails(pool('kernel_size: 2 pad: 2'), 'p', 'Pooling', 'pad [2, 2] must be smaller than the kernel [2, 2]');
    });

    it('rejects a non-4-D input (E_SHAPE)', async () => {
      await buildFails(pool('kernel_size: 2', { dims: [1, 2, 8] }), 'p', 'Pooling', 'needs a 4-D input', '[1, 2, 8]');
      await buildFails(pool('kernel_size: 2', { dims: [1, 2, 4, 4, 4] }), 'p', 'Pooling', 'needs a 4-D input');
    });

    it('rejects a missing kernel size (E_SHAPE)', async () => {
      await buildFails(pool('pool: MAX'), 'p', 'Pooling', 'needs kernel_size');
    });

    it('rejects kernel_size together with kernel_h / kernel_w, or kernel_h alone (E_SHAPE)', async () => {
      await buildFails(pool('kernel_size: 2 kernel_h: 2 kernel_w: 2'), 'p', 'Pooling', 'not both');
      await buildFails(pool('kernel_h: 2'), 'p', 'Pooling', 'kernel_h and kernel_w must be given together');
    });

    it('rejects zero kernel or stride (E_SHAPE)', async () => {
      await buildFails(pool('kernel_size: 0'), 'p', 'Pooling', 'kernel size must be > 0');
      await buildFails(pool('kernel_size: 2 stride: 0'), 'p', 'Pooling', 'stride must be > 0');
    });

    it('rejects an input smaller than the kernel (E_SHAPE)', async () => {
      // 1, k3, s2: ceil((1 - 3) / 2) + 1 = ceil(-1) + 1 = 0
      await buildFails(pool('kernel_size: 3 stride: 2', { dims: [1, 2, 1, 1] }), 'p', 'Pooling', 'smaller than the kernel');
    });

    // Caffe clips both axes whenever either is padded (`if (pad_h_ || pad_w_)` in PoolingLayer::Reshape).
    it('clips both axes when only one is padded, as Caffe does', async () => {
      // [1,2,5,5], kernel 1x3, stride 3x1, pad 0x1
      // H: ceil((5 + 0 - 1) / 3) + 1 = 3; pad_w != 0, so clip: (3 - 1) * 3 = 6 >= 5 + 0 -> 2
      // W: ceil((5 + 2 - 3) / 1) + 1 = 5; (5 - 1) * 1 = 4 < 5 + 1 -> 5
      const n = await pool('kernel_h: 1 kernel_w: 3 stride_h: 3 stride_w: 1 pad_h: 0 pad_w: 1', { dims: [1, 2, 5, 5] });
      assert.deepEqual(shapeOf(n, 'p'), [1, 2, 2, 5]);
    });

    // Caffe refuses padding on STOCHASTIC pooling ("Padding implemented only for average and max pooling").
    it('rejects padding on STOCHASTIC pooling, as Caffe does (E_SHAPE)', async () => {
      await buildFails(pool('pool: STOCHASTIC kernel_size: 3 pad: 1'), 'p', 'Pooling', 'STOCHASTIC');
    });
  });

  describeType('LRN', () => {
    it('keeps the shape, with no blobs or MACs', async () => {
      const n = await net(layer('n', 'LRN', 'lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 }'), { dims: [1, 4, 5, 5] });
      assert.deepEqual(shapeOf(n, 'n'), [1, 4, 5, 5]);
      assert.deepEqual(layerOf(n, 'n').blobs, []);
      assert.equal(layerOf(n, 'n').macs, 0);
      // Caffe's float fields are 32-bit: alpha 0.0001 is read as Math.fround(0.0001).
      assert.deepEqual(attrsOf(n, 'n'), { localSize: 5, alpha: Math.fround(0.0001), beta: 0.75, k: 1, region: 'ACROSS_CHANNELS' });
    });

    it('rejects an even local_size (E_SHAPE)', async () => {
      await buildFails(net(layer('n', 'LRN', 'lrn_param { local_size: 4 }')), 'n', 'LRN', 'local_size must be odd, got 4');
    });

    it('rejects a non-4-D input (E_SHAPE)', async () => {
      await buildFails(net(layer('n', 'LRN'), { dims: [1, 4] }), 'n', 'LRN', 'needs a 4-D input');
    });
  });

  describe('elementwise neuron layers', () => {
    const neurons: Array<[string, string]> = [
      ['ReLU', 'relu_param { negative_slope: 0.1 }'],
      ['ELU', 'elu_param { alpha: 0.5 }'],
      ['Sigmoid', ''],
      ['TanH', ''],
      ['AbsVal', ''],
      ['Power', 'power_param { power: 2 scale: 3 shift: 1 }'],
      ['BNLL', ''],
      ['Exp', 'exp_param { base: 2 }'],
      ['Log', 'log_param { base: 10 }'],
      ['Threshold', 'threshold_param { threshold: 0.5 }'],
      ['Clip', 'clip_param { min: -1 max: 1 }'],
      ['Swish', 'swish_param { beta: 2 }'],
      ['Dropout', 'dropout_param { dropout_ratio: 0.3 }'],
    ];
    for (const [type, param] of neurons) {
      describeType(type, () => {
        it('keeps the shape, with no blobs or MACs', async () => {
          const n = await net(layer('x', type, param), { dims: [2, 3, 4] });
          assert.deepEqual(shapeOf(n, 'x'), [2, 3, 4]);
          assert.deepEqual(layerOf(n, 'x').blobs, []);
          assert.equal(layerOf(n, 'x').macs, 0);
        });

        it('takes exactly one bottom (E_SHAPE)', async () => {
          await fails(net(layer('x', type, param, ['data', 'data'])), 'E_SHAPE', `layer 'x' (${type}) takes 1 bottom(s), got 2`);
        });
      });
    }

    it('reads the neuron parameters', async () => {
      const n = await net(neurons.map(([type, param], i) => layer(`x${i}`, type, param)).join(''), { dims: [2, 3] });
      // float fields are 32-bit, as in Caffe
      assert.deepEqual(attrsOf(n, 'x0'), { negativeSlope: Math.fround(0.1) });
      assert.deepEqual(attrsOf(n, 'x1'), { alpha: 0.5 });
      assert.deepEqual(attrsOf(n, 'x5'), { power: 2, scale: 3, shift: 1 });
      assert.deepEqual(attrsOf(n, 'x7'), { base: 2, scale: 1, shift: 0 });
      assert.deepEqual(attrsOf(n, 'x8'), { base: 10, scale: 1, shift: 0 });
      assert.deepEqual(attrsOf(n, 'x9'), { threshold: 0.5 });
      assert.deepEqual(attrsOf(n, 'x10'), { min: -1, max: 1 });
      assert.deepEqual(attrsOf(n, 'x11'), { beta: 2 });
      assert.deepEqual(attrsOf(n, 'x12'), { ratio: Math.fround(0.3) });
    });

    it('Exp / Log: base -1 (e, the default) and base > 0 are accepted', async () => {
      const n = await net(
        layer('e1', 'Exp') + layer('e2', 'Exp', 'exp_param { base: 0.5 }') + layer('l1', 'Log', 'log_param { base: -1 }'),
      );
      assert.equal(attrsOf(n, 'e1').base, -1);
      assert.equal(attrsOf(n, 'e2').base, 0.5);
      assert.equal(attrsOf(n, 'l1').base, -1);
    });

    it('Exp / Log: reject base 0 or a negative base other than -1 (E_SHAPE)', async () => {
      await buildFails(net(layer('e', 'Exp', 'exp_param { base: 0 }')), 'e', 'Exp', 'Exp base must be > 0, or -1 for e; got 0');
      await buildFails(net(layer('e', 'Exp', 'exp_param { base: -2 }')), 'e', 'Exp', 'got -2');
      await buildFails(net(layer('l', 'Log', 'log_param { base: 0 }')), 'l', 'Log', 'Log base must be > 0, or -1 for e; got 0');
      await buildFails(net(layer('l', 'Log', 'log_param { base: -0.5 }')), 'l', 'Log', 'got -0.5');
    });

    it('Clip: accepts min == max and rejects min > max (E_SHAPE)', async () => {
      const n = await net(layer('c', 'Clip', 'clip_param { min: 2 max: 2 }'));
      assert.deepEqual(attrsOf(n, 'c'), { min: 2, max: 2 });
      await buildFails(net(layer('c', 'Clip', 'clip_param { min: 1 max: 0 }')), 'c', 'Clip', 'Clip min 1 is above max 0');
    });

    it('Clip: rejects a missing min or max (E_SHAPE)', async () => {
      await buildFails(net(layer('c', 'Clip', 'clip_param { min: 1 }')), 'c', 'Clip', 'Clip needs both min and max');
      await buildFails(net(layer('c', 'Clip')), 'c', 'Clip', 'Clip needs both min and max');
    });

    it('Dropout: rejects a ratio outside [0, 1) (E_SHAPE)', async () => {
      await buildFails(
        net(layer('d', 'Dropout', 'dropout_param { dropout_ratio: 1 }')),
        'd',
        'Dropout',
        'dropout_ratio must be in [0, 1), got 1',
      );
      await buildFails(net(layer('d', 'Dropout', 'dropout_param { dropout_ratio: -0.5 }')), 'd', 'Dropout', 'got -0.5');
      const n = await net(layer('d', 'Dropout'));
      assert.equal(attrsOf(n, 'd').ratio, 0.5);
    });
  });

  describeType('PReLU', () => {
    it('learns one slope per channel: blob [C]', async () => {
      const n = await net(layer('p', 'PReLU'), { dims: [1, 4, 5, 5] });
      assert.deepEqual(shapeOf(n, 'p'), [1, 4, 5, 5]);
      assert.deepEqual(layerOf(n, 'p').blobs, [[4]]);
      assert.equal(layerOf(n, 'p').macs, 0);
    });

    it('learns one shared slope with channel_shared', async () => {
      // Caffe's blob is 0-axis (vector<int>(0)) with count 1, and so is the IR's; lib/caffe's reader
      // gives a BlobProto without shape fields the same 0-axis shape, so caffemodels match.
      const n = await net(layer('p', 'PReLU', 'prelu_param { channel_shared: true }'), { dims: [1, 4, 5, 5] });
      assert.deepEqual(layerOf(n, 'p').blobs, [[]]);
      assert.equal(attrsOf(n, 'p').channelShared, true);
    });

    it('rejects an input without a channel axis (E_SHAPE)', async () => {
      await buildFails(net(layer('p', 'PReLU'), { dims: [6] }), 'p', 'PReLU', 'needs at least (N, C)');
    });
  });

  describeType('InnerProduct', () => {
    const ip = (param: string, dims: readonly number[] = [2, 3, 4, 5]) =>
      net(layer('ip', 'InnerProduct', `inner_product_param { ${param} }`), { dims });

    it('flattens from axis 1: [2,3,4,5] -> [2,10]', async () => {
      // K = 3*4*5 = 60; weights [N, K] = [10,60], bias [10]; MACs = M 2 x K 60 x N 10 = 1200
      const n = await ip('num_output: 10');
      assert.deepEqual(shapeOf(n, 'ip'), [2, 10]);
      assert.deepEqual(layerOf(n, 'ip').blobs, [[10, 60], [10]]);
      assert.equal(layerOf(n, 'ip').macs, 1200);
      assert.deepEqual(attrsOf(n, 'ip'), { numOutput: 10, biasTerm: true, axis: 1, transpose: false, inputSize: 60 });
    });

    it('flattens from axis 2: [2,3,4,5] -> [2,3,7]', async () => {
      // K = 4*5 = 20; weights [7,20]; MACs = M (2*3 = 6) x 20 x 7 = 840
      const n = await ip('num_output: 7 axis: 2');
      assert.deepEqual(shapeOf(n, 'ip'), [2, 3, 7]);
      assert.deepEqual(layerOf(n, 'ip').blobs, [[7, 20], [7]]);
      assert.equal(layerOf(n, 'ip').macs, 840);
    });

    it('takes axis -1 as the last axis: [2,3,4,5] -> [2,3,4,7]', async () => {
      // K = 5; weights [7,5]; MACs = (2*3*4 = 24) x 5 x 7 = 840
      const n = await ip('num_output: 7 axis: -1');
      assert.deepEqual(shapeOf(n, 'ip'), [2, 3, 4, 7]);
      assert.deepEqual(layerOf(n, 'ip').blobs, [[7, 5], [7]]);
      assert.equal(layerOf(n, 'ip').macs, 840);
      assert.equal(attrsOf(n, 'ip').axis, 3);
    });

    it('stores transposed weights as [K, N]', async () => {
      const n = await ip('num_output: 10 transpose: true');
      assert.deepEqual(layerOf(n, 'ip').blobs, [[60, 10], [10]]);
      assert.equal(layerOf(n, 'ip').macs, 1200);
    });

    it('has only the weights blob with bias_term: false', async () => {
      const n = await ip('num_output: 10 bias_term: false');
      assert.deepEqual(layerOf(n, 'ip').blobs, [[10, 60]]);
    });

    it('rejects num_output 0 (E_SHAPE)', async () => {
      await buildFails(ip('num_output: 0'), 'ip', 'InnerProduct', 'num_output must be > 0');
    });

    it('rejects an out-of-range axis (E_SHAPE)', async () => {
      await buildFails(ip('num_output: 10 axis: 4'), 'ip', 'InnerProduct', 'inner product axis 4 is out of range for a 4-D input');
      await buildFails(ip('num_output: 10 axis: -5'), 'ip', 'InnerProduct', 'axis -5 is out of range');
    });
  });

  describeType('Softmax', () => {
    it('keeps the shape along axis 1 by default', async () => {
      const n = await net(layer('s', 'Softmax'), { dims: [2, 10] });
      assert.deepEqual(shapeOf(n, 's'), [2, 10]);
      assert.deepEqual(attrsOf(n, 's'), { axis: 1 });
    });

    it('canonicalises a negative axis', async () => {
      // -1 on 4 axes -> 3
      const n = await net(layer('s', 'Softmax', 'softmax_param { axis: -1 }'), { dims: [2, 3, 4, 5] });
      assert.deepEqual(attrsOf(n, 's'), { axis: 3 });
    });

    it('rejects an out-of-range axis (E_SHAPE)', async () => {
      await buildFails(
        net(layer('s', 'Softmax', 'softmax_param { axis: 2 }'), { dims: [2, 10] }),
        's',
        'Softmax',
        'softmax axis 2 is out of range for a 2-D input',
      );
    });
  });

  describeType('Concat', () => {
    const cat = (a: number[], b: number[], param = '') =>
      inputs({ a, b }, layer('cat', 'Concat', param ? `concat_param { ${param} }` : '', ['a', 'b']));

    it('concatenates channels (axis 1) by default', async () => {
      // 2 + 3 = 5
      const n = await cat([1, 2, 4, 4], [1, 3, 4, 4]);
      assert.deepEqual(shapeOf(n, 'cat'), [1, 5, 4, 4]);
      assert.deepEqual(attrsOf(n, 'cat'), { axis: 1 });
      assert.equal(layerOf(n, 'cat').macs, 0);
    });

    it('concatenates along axis 2 and axis -1', async () => {
      // H 4 + 3 = 7
      assert.deepEqual(shapeOf(await cat([1, 2, 4, 4], [1, 2, 3, 4], 'axis: 2'), 'cat'), [1, 2, 7, 4]);
      // -1 -> axis 3: W 4 + 6 = 10
      assert.deepEqual(shapeOf(await cat([1, 2, 4, 4], [1, 2, 4, 6], 'axis: -1'), 'cat'), [1, 2, 4, 10]);
    });

    it('takes the legacy concat_dim', async () => {
      // concat_dim 0: N 1 + 2 = 3
      const n = await cat([1, 2, 4, 4], [2, 2, 4, 4], 'concat_dim: 0');
      assert.deepEqual(shapeOf(n, 'cat'), [3, 2, 4, 4]);
      assert.deepEqual(attrsOf(n, 'cat'), { axis: 0 });
    });

    it('concatenates three bottoms, and passes one bottom through', async () => {
      // 1 + 2 + 3 = 6
      const n = await inputs(
        { a: [2, 1], b: [2, 2], c: [2, 3] },
        layer('cat', 'Concat', '', ['a', 'b', 'c']) + layer('one', 'Concat', '', 'a'),
      );
      assert.deepEqual(shapeOf(n, 'cat'), [2, 6]);
      assert.deepEqual(shapeOf(n, 'one'), [2, 1]);
    });

    it('rejects inputs that differ outside the axis (E_SHAPE)', async () => {
      await buildFails(cat([1, 2, 4, 4], [1, 3, 5, 4]), 'cat', 'Concat', 'must match outside axis 1', '[1, 3, 5, 4]');
    });

    it('rejects inputs of another rank (E_SHAPE)', async () => {
      await buildFails(cat([1, 2, 4, 4], [1, 2, 4]), 'cat', 'Concat', 'need 4 axes');
    });

    it('rejects axis together with concat_dim (E_SHAPE)', async () => {
      await buildFails(cat([1, 2, 4, 4], [1, 3, 4, 4], 'axis: 1 concat_dim: 1'), 'cat', 'Concat', 'either axis or concat_dim, not both');
    });

    it('rejects an out-of-range axis or concat_dim (E_SHAPE)', async () => {
      await buildFails(cat([1, 2], [1, 3], 'axis: 2'), 'cat', 'Concat', 'concat axis 2 is out of range');
      await buildFails(cat([1, 2], [1, 3], 'concat_dim: 2'), 'cat', 'Concat', 'concat_dim 2 is out of range for a 2-D input');
    });
  });

  describeType('Eltwise', () => {
    const elt = (param: string, a: number[] = [1, 2, 4, 4], b: number[] = [1, 2, 4, 4]) =>
      inputs({ a, b }, layer('e', 'Eltwise', param ? `eltwise_param { ${param} }` : '', ['a', 'b']));

    it('keeps the shape; SUM with coefficient 1 per input by default', async () => {
      const n = await elt('');
      assert.deepEqual(shapeOf(n, 'e'), [1, 2, 4, 4]);
      assert.deepEqual(attrsOf(n, 'e'), { operation: 'SUM', coeff: [1, 1] });
      assert.deepEqual(layerOf(n, 'e').blobs, []);
      assert.equal(layerOf(n, 'e').macs, 0);
    });

    it('takes one coefficient per input for SUM', async () => {
      const n = await elt('operation: SUM coeff: 1 coeff: -1');
      assert.deepEqual(attrsOf(n, 'e'), { operation: 'SUM', coeff: [1, -1] });
    });

    it('rejects a coefficient count other than the input count (E_SHAPE)', async () => {
      await buildFails(elt('coeff: 1 coeff: 1 coeff: 1'), 'e', 'Eltwise', 'one coefficient per input: 2 inputs, 3 coefficients');
    });

    it('rejects coefficients with PROD (E_SHAPE)', async () => {
      await buildFails(elt('operation: PROD coeff: 1 coeff: 2'), 'e', 'Eltwise', 'Eltwise PROD takes no coefficients');
    });

    it('rejects inputs of different shapes (E_SHAPE)', async () => {
      await buildFails(elt('operation: MAX', [1, 2, 4, 4], [1, 2, 4, 5]), 'e', 'Eltwise', 'must have one shape', '[1, 2, 4, 5]');
      await buildFails(elt('', [1, 2, 4, 4], [1, 2, 4]), 'e', 'Eltwise', 'must have one shape');
    });

    it('takes two or more bottoms (E_SHAPE)', async () => {
      await fails(inputs({ a: [1, 2] }, layer('e', 'Eltwise', '', 'a')), 'E_SHAPE', "layer 'e' (Eltwise) takes 2 or more bottom(s), got 1");
    });

    // Caffe refuses coefficients for PROD only; MAX ignores them, so such files load.
    it('accepts (and ignores) coefficients with MAX, as Caffe does', async () => {
      const n = await elt('operation: MAX coeff: 1 coeff: 2');
      assert.deepEqual(shapeOf(n, 'e'), [1, 2, 4, 4]);
    });
  });

  describeType('BatchNorm', () => {
    it('keeps the shape; blobs mean [C], variance [C], factor [1]', async () => {
      const n = await net(layer('bn', 'BatchNorm'), { dims: [1, 4, 5, 5] });
      assert.deepEqual(shapeOf(n, 'bn'), [1, 4, 5, 5]);
      assert.deepEqual(layerOf(n, 'bn').blobs, [[4], [4], [1]]);
      assert.equal(layerOf(n, 'bn').macs, 0);
      assert.equal(attrsOf(n, 'bn').useGlobalStats, true);
      assert.equal(attrsOf(n, 'bn').channels, 4);
    });

    it('takes 1 channel for a 1-D input (Caffe: num_axes == 1 ? 1 : shape(1))', async () => {
      const n = await net(layer('bn', 'BatchNorm'), { dims: [6] });
      assert.deepEqual(layerOf(n, 'bn').blobs, [[1], [1], [1]]);
    });
  });

  describeType('Scale', () => {
    const sc = (param: string, dims: readonly number[] = [1, 4, 5, 5]) =>
      net(layer('s', 'Scale', param ? `scale_param { ${param} }` : ''), { dims });

    it('learns a scale over axis 1 by default: blob [C]', async () => {
      const n = await sc('');
      assert.deepEqual(shapeOf(n, 's'), [1, 4, 5, 5]);
      assert.deepEqual(layerOf(n, 's').blobs, [[4]]);
      assert.equal(layerOf(n, 's').macs, 0);
    });

    it('adds a bias blob of the same shape with bias_term', async () => {
      const n = await sc('bias_term: true');
      assert.deepEqual(layerOf(n, 's').blobs, [[4], [4]]);
    });

    it('takes the blob shape from axis and num_axes', async () => {
      // axis 1, num_axes 2 -> shape[1:3] = [4,5]
      assert.deepEqual(layerOf(await sc('axis: 1 num_axes: 2'), 's').blobs, [[4, 5]]);
      // num_axes -1 -> shape[1:] = [4,5,5]
      assert.deepEqual(layerOf(await sc('num_axes: -1'), 's').blobs, [[4, 5, 5]]);
      // num_axes 0 -> a scalar blob []
      assert.deepEqual(layerOf(await sc('num_axes: 0'), 's').blobs, [[]]);
      // axis -3 on 4 axes -> 1
      assert.deepEqual(layerOf(await sc('axis: -3'), 's').blobs, [[4]]);
      // axis 0, num_axes -1 -> the whole shape
      assert.deepEqual(layerOf(await sc('axis: 0 num_axes: -1', [2, 3]), 's').blobs, [[2, 3]]);
    });

    it('rejects axis + num_axes past the input (E_SHAPE)', async () => {
      // 2 + 3 = 5 > 4
      await buildFails(sc('axis: 2 num_axes: 3'), 's', 'Scale', 'scale axis 2 with num_axes 3 runs past input [1, 4, 5, 5]');
    });

    it('rejects num_axes below -1 (E_SHAPE)', async () => {
      await buildFails(sc('num_axes: -2'), 's', 'Scale', 'scale num_axes must be >= -1, got -2');
    });

    it('rejects an out-of-range axis (E_SHAPE)', async () => {
      await buildFails(sc('axis: 4'), 's', 'Scale', 'scale axis 4 is out of range');
    });

    it('takes the scale from a second bottom (no scale blob)', async () => {
      const n = await inputs({ x: [1, 4, 5, 5], g: [4] }, layer('s', 'Scale', '', ['x', 'g']));
      assert.deepEqual(shapeOf(n, 's'), [1, 4, 5, 5]);
      assert.deepEqual(layerOf(n, 's').blobs, []);
      assert.equal(attrsOf(n, 's').fromInput, true);
    });

    it("with a second bottom and bias_term, learns a bias of the second bottom's shape", async () => {
      const n = await inputs({ x: [1, 4, 5, 5], g: [4, 5] }, layer('s', 'Scale', 'scale_param { bias_term: true }', ['x', 'g']));
      assert.deepEqual(layerOf(n, 's').blobs, [[4, 5]]);
    });

    it('rejects a second bottom that does not match the input from axis (E_SHAPE)', async () => {
      await buildFails(
        inputs({ x: [1, 4, 5, 5], g: [3] }, layer('s', 'Scale', '', ['x', 'g'])),
        's',
        'Scale',
        'scale operand [3] must match input [1, 4, 5, 5] from axis 1',
      );
    });

    it('rejects a second bottom that runs past the input (E_SHAPE)', async () => {
      // axis 2 + 3 axes = 5 > 4
      await buildFails(
        inputs({ x: [1, 4, 5, 5], g: [5, 5, 5] }, layer('s', 'Scale', 'scale_param { axis: 2 }', ['x', 'g'])),
        's',
        'Scale',
        'does not fit input [1, 4, 5, 5] at axis 2',
      );
    });

    it('takes at most two bottoms (E_SHAPE)', async () => {
      await fails(
        inputs({ x: [1, 4], g: [4], h: [4] }, layer('s', 'Scale', '', ['x', 'g', 'h'])),
        'E_SHAPE',
        "layer 's' (Scale) takes 1 to 2 bottom(s), got 3",
      );
    });
  });

  describeType('Bias', () => {
    it('learns a bias over axis 1 by default: blob [C]', async () => {
      const n = await net(layer('b', 'Bias'), { dims: [1, 4, 5, 5] });
      assert.deepEqual(shapeOf(n, 'b'), [1, 4, 5, 5]);
      assert.deepEqual(layerOf(n, 'b').blobs, [[4]]);
    });

    it('takes the blob shape from axis and num_axes', async () => {
      const n = await net(layer('b', 'Bias', 'bias_param { axis: 2 num_axes: -1 }'), { dims: [1, 4, 5, 6] });
      assert.deepEqual(layerOf(n, 'b').blobs, [[5, 6]]);
    });

    it('takes the bias from a second bottom (no blob)', async () => {
      const n = await inputs({ x: [1, 4, 5, 5], c: [4] }, layer('b', 'Bias', '', ['x', 'c']));
      assert.deepEqual(shapeOf(n, 'b'), [1, 4, 5, 5]);
      assert.deepEqual(layerOf(n, 'b').blobs, []);
    });

    it('rejects a mismatching second bottom and a blob past the input (E_SHAPE)', async () => {
      await buildFails(
        inputs({ x: [1, 4, 5, 5], c: [5] }, layer('b', 'Bias', '', ['x', 'c'])),
        'b',
        'Bias',
        'bias operand [5] must match input',
      );
      await buildFails(
        net(layer('b', 'Bias', 'bias_param { axis: 3 num_axes: 2 }'), { dims: [1, 4, 5, 5] }),
        'b',
        'Bias',
        'bias axis 3 with num_axes 2 runs past input',
      );
    });
  });

  describeType('Flatten', () => {
    const flat = (param: string) => net(layer('f', 'Flatten', param ? `flatten_param { ${param} }` : ''), { dims: [2, 3, 4, 5] });

    it('flattens everything after the batch by default: [2,3,4,5] -> [2,60]', async () => {
      // 3*4*5 = 60
      const n = await flat('');
      assert.deepEqual(shapeOf(n, 'f'), [2, 60]);
      assert.deepEqual(attrsOf(n, 'f'), { axis: 1, endAxis: 3 });
    });

    it('starts at axis: axis 2 -> [2,3,20]; axis 0 -> [120]', async () => {
      assert.deepEqual(shapeOf(await flat('axis: 2'), 'f'), [2, 3, 20]);
      assert.deepEqual(shapeOf(await flat('axis: 0'), 'f'), [120]);
    });

    it('stops at end_axis: axis 1 end_axis 2 -> [2,12,5]; end_axis -2 is the same', async () => {
      // 3*4 = 12
      assert.deepEqual(shapeOf(await flat('axis: 1 end_axis: 2'), 'f'), [2, 12, 5]);
      assert.deepEqual(shapeOf(await flat('end_axis: -2'), 'f'), [2, 12, 5]);
    });

    it('rejects end_axis before axis (E_SHAPE)', async () => {
      await buildFails(flat('axis: 3 end_axis: 1'), 'f', 'Flatten', 'flatten end_axis 1 is before axis 3');
    });

    it('rejects out-of-range axes (E_SHAPE)', async () => {
      await buildFails(flat('axis: 4'), 'f', 'Flatten', 'flatten axis 4 is out of range for a 4-D input');
      await buildFails(flat('end_axis: -5'), 'f', 'Flatten', 'flatten end_axis -5 is out of range');
    });

    // Caffe's Flatten and Reshape refuse in-place use ("does not allow in-place computation").
    it('rejects in-place Flatten and Reshape, as Caffe does (E_SHAPE)', async () => {
      await fails(net(layer('f', 'Flatten', '', 'data', 'data')), 'E_SHAPE', "layer 'f' (Flatten)", 'cannot run in place');
      await fails(
        net(layer('r', 'Reshape', 'reshape_param { shape { dim: 0 dim: -1 } }', 'data', 'data')),
        'E_SHAPE',
        "layer 'r' (Reshape)",
        'cannot run in place',
      );
    });
  });

  describeType('Reshape', () => {
    const rs = (param: string, dims: readonly number[] = [2, 8]) => net(layer('r', 'Reshape', `reshape_param { ${param} }`), { dims });

    it("follows caffe.proto's examples on a 2 x 8 input -> 2 x 2 x 4", async () => {
      for (const p of [
        'shape { dim: 2 dim: 2 dim: 4 }',
        'shape { dim: 0 dim: 2 dim: 4 }', // 0 copies input dim 0 = 2
        'shape { dim: 0 dim: 2 dim: -1 }', // -1 = 16 / (2*2) = 4
        'shape { dim: 0 dim: -1 dim: 4 }', // -1 = 16 / (2*4) = 2
        'shape { dim: 2 dim: 4 } axis: 1', // keep [2], replace [8] by [2,4]
        'shape { dim: 2 dim: 4 } axis: -2', // start = 2 + (-2) + 1 = 1, as axis 1
      ]) {
        const n = await rs(p);
        assert.deepEqual(shapeOf(n, 'r'), [2, 2, 4], p);
      }
    });

    it('counts a negative axis from the end: axis -3 on 2 axes starts at 0', async () => {
      // start = 2 + (-3) + 1 = 0, so the shape replaces every axis: [4,4] (16 values).
      const n = await rs('shape { dim: 4 dim: 4 } axis: -3');
      assert.deepEqual(shapeOf(n, 'r'), [4, 4]);
      // caffe.proto lists `shape { dim: 2 dim: 4 } axis: -3` among its 2 x 2 x 4 examples, but Caffe's
      // ReshapeLayer::Reshape computes start 0 there, giving [2,4] (8 values): a count change, as here.
      await buildFails(rs('shape { dim: 2 dim: 4 } axis: -3'), 'r', 'Reshape', 'changes the count');
    });

    it('limits the reshape with num_axes (caffe.proto: 1 x 2 x 8 and 2 x 1 x 8)', async () => {
      // [0,1) replaced by [1,2]: [1,2] + [8]
      assert.deepEqual(shapeOf(await rs('shape { dim: 1 dim: 2 } num_axes: 1'), 'r'), [1, 2, 8]);
      // nothing replaced, [1] inserted at 0: [1] + [2,8]
      assert.deepEqual(shapeOf(await rs('shape { dim: 1 } num_axes: 0'), 'r'), [1, 2, 8]);
      // [1] inserted at 1: [2] + [1] + [8]
      assert.deepEqual(shapeOf(await rs('shape { dim: 1 } axis: 1 num_axes: 0'), 'r'), [2, 1, 8]);
    });

    it('shape { dim: 0 dim: -1 } on [2,3,4,5] -> [2,60]', async () => {
      // 0 -> 2; -1 = 120 / 2 = 60
      const n = await rs('shape { dim: 0 dim: -1 }', [2, 3, 4, 5]);
      assert.deepEqual(shapeOf(n, 'r'), [2, 60]);
      assert.deepEqual(attrsOf(n, 'r'), { shape: [0, -1], axis: 0, numAxes: -1 });
    });

    it('axis 1 num_axes 2 on [2,3,4,5]: [6,2] -> [2,6,2,5]; [-1] -> [2,12,5]', async () => {
      // replaced [3,4] (12 values) by [6,2]
      assert.deepEqual(shapeOf(await rs('shape { dim: 6 dim: 2 } axis: 1 num_axes: 2', [2, 3, 4, 5]), 'r'), [2, 6, 2, 5]);
      // -1 = 120 / (2*5) = 12
      assert.deepEqual(shapeOf(await rs('shape { dim: -1 } axis: 1 num_axes: 2', [2, 3, 4, 5]), 'r'), [2, 12, 5]);
      // 0 copies input axis 1 + 0 = 3: [2] + [3,4] + [5]
      assert.deepEqual(shapeOf(await rs('shape { dim: 0 dim: 4 } axis: 1 num_axes: 2', [2, 3, 4, 5]), 'r'), [2, 3, 4, 5]);
    });

    it('rejects two -1 dims (E_SHAPE)', async () => {
      await buildFails(rs('shape { dim: -1 dim: -1 }'), 'r', 'Reshape', 'has more than one -1');
    });

    it('rejects a change of the element count (E_SHAPE)', async () => {
      // 2*7 = 14 != 16
      await buildFails(rs('shape { dim: 2 dim: 7 }'), 'r', 'Reshape', 'changes the count', '(16 values)', '(14)');
    });

    it('rejects a -1 that cannot be inferred (E_SHAPE)', async () => {
      // 16 % 3 != 0
      await buildFails(rs('shape { dim: 3 dim: -1 }'), 'r', 'Reshape', 'cannot infer the -1 dim');
    });

    it('rejects a 0 with no input axis to copy (E_SHAPE)', async () => {
      await buildFails(rs('shape { dim: 0 dim: 0 dim: 0 }'), 'r', 'Reshape', 'reshape dim 2 is 0 but the input has no axis 2 to copy');
    });

    it('rejects dims below -1 (E_SHAPE)', async () => {
      await buildFails(rs('shape { dim: -2 dim: -8 }'), 'r', 'Reshape', 'reshape dims must be >= -1');
    });

    it('rejects out-of-range axis / num_axes (E_SHAPE)', async () => {
      await buildFails(rs('shape { dim: 16 } axis: 3'), 'r', 'Reshape', 'reshape axis 3 is out of range for a 2-D input');
      // -4 -> 2 - 4 + 1 = -1
      await buildFails(rs('shape { dim: 16 } axis: -4'), 'r', 'Reshape', 'reshape axis -4 is out of range');
      await buildFails(rs('shape { dim: 16 } num_axes: -2'), 'r', 'Reshape', 'reshape num_axes must be >= -1, got -2');
      // 1 + 2 = 3 > 2
      await buildFails(rs('shape { dim: 8 } axis: 1 num_axes: 2'), 'r', 'Reshape', 'runs past input [2, 8]');
    });
  });

  describeType('Split', () => {
    it('copies the bottom to every top', async () => {
      const n = await net(layer('s', 'Split', '', 'data', ['s1', 's2', 's3']), { dims: [2, 3] });
      for (const t of ['s1', 's2', 's3']) assert.deepEqual(shapeOf(n, t), [2, 3]);
      assert.equal(layerOf(n, 's').macs, 0);
    });

    it('takes one or more tops (E_SHAPE)', async () => {
      await fails(net(layer('s', 'Split', '', 'data', [])), 'E_SHAPE', "layer 's' (Split) takes 1 or more top(s), got 0");
    });
  });

  describeType('Slice', () => {
    const sl = (param: string, tops: string[], dims: readonly number[] = [2, 6, 4]) =>
      net(layer('s', 'Slice', param ? `slice_param { ${param} }` : '', 'data', tops), { dims });

    it('slices at slice_point along axis 1', async () => {
      // [2,6,4] at 1 and 4: 1, 4 - 1 = 3, 6 - 4 = 2
      const n = await sl('slice_point: 1 slice_point: 4', ['a', 'b', 'c']);
      assert.deepEqual(shapeOf(n, 'a'), [2, 1, 4]);
      assert.deepEqual(shapeOf(n, 'b'), [2, 3, 4]);
      assert.deepEqual(shapeOf(n, 'c'), [2, 2, 4]);
      assert.deepEqual(attrsOf(n, 's'), { axis: 1, points: [1, 4] });
    });

    it('splits evenly without slice points', async () => {
      // 6 / 3 = 2
      const n = await sl('', ['a', 'b', 'c']);
      for (const t of ['a', 'b', 'c']) assert.deepEqual(shapeOf(n, t), [2, 2, 4]);
      assert.deepEqual(attrsOf(n, 's'), { axis: 1, points: [2, 4] });
    });

    it('slices along axis -1', async () => {
      // axis 2 of size 4: at 3 -> 3, 1
      const n = await sl('axis: -1 slice_point: 3', ['a', 'b']);
      assert.deepEqual(shapeOf(n, 'a'), [2, 6, 3]);
      assert.deepEqual(shapeOf(n, 'b'), [2, 6, 1]);
    });

    it('takes the legacy slice_dim', async () => {
      // slice_dim 2, size 4 into 2 -> 2 each
      const n = await sl('slice_dim: 2', ['a', 'b']);
      assert.deepEqual(shapeOf(n, 'a'), [2, 6, 2]);
      assert.deepEqual(shapeOf(n, 'b'), [2, 6, 2]);
    });

    it('passes the whole input to a single top', async () => {
      assert.deepEqual(shapeOf(await sl('', ['a']), 'a'), [2, 6, 4]);
    });

    it('rejects an uneven split (E_SHAPE)', async () => {
      // 6 % 4 != 0
      await buildFails(sl('', ['a', 'b', 'c', 'd']), 's', 'Slice', 'axis 1 of size 6 does not split evenly into 4 tops');
    });

    it('rejects slice points that do not increase within (0, dim) (E_SHAPE)', async () => {
      await buildFails(sl('slice_point: 4 slice_point: 1', ['a', 'b', 'c']), 's', 'Slice', 'slice points must increase within (0, 6)');
      await buildFails(sl('slice_point: 2 slice_point: 2', ['a', 'b', 'c']), 's', 'Slice', 'must increase');
      await buildFails(sl('slice_point: 0', ['a', 'b']), 's', 'Slice', 'must increase');
      await buildFails(sl('slice_point: 6', ['a', 'b']), 's', 'Slice', 'must increase within (0, 6); got [6]');
    });

    it('rejects a slice point count other than tops - 1 (E_SHAPE)', async () => {
      await buildFails(sl('slice_point: 2', ['a', 'b', 'c']), 's', 'Slice', '3 tops need 2 slice points, got 1');
    });

    it('rejects axis together with slice_dim, and out-of-range axes (E_SHAPE)', async () => {
      await buildFails(sl('axis: 1 slice_dim: 1', ['a', 'b']), 's', 'Slice', 'either axis or slice_dim, not both');
      await buildFails(sl('slice_dim: 3', ['a', 'b']), 's', 'Slice', 'slice_dim 3 is out of range for a 3-D input');
      await buildFails(sl('axis: -4', ['a', 'b']), 's', 'Slice', 'slice axis -4 is out of range');
    });
  });

  describeType('Crop', () => {
    const crop = (param: string, a: number[] = [1, 3, 10, 12], b: number[] = [1, 3, 6, 8]) =>
      inputs({ a, b }, layer('c', 'Crop', param ? `crop_param { ${param} }` : '', ['a', 'b']));

    it('crops the spatial axes (axis 2) to the reference at offset 0 by default', async () => {
      const n = await crop('');
      assert.deepEqual(shapeOf(n, 'c'), [1, 3, 6, 8]);
      assert.deepEqual(attrsOf(n, 'c'), { axis: 2, offsets: [0, 0] });
    });

    it('applies one offset to every cropped axis', async () => {
      // 10 - 2 = 8 >= 6, 12 - 2 = 10 >= 8
      const n = await crop('offset: 2');
      assert.deepEqual(shapeOf(n, 'c'), [1, 3, 6, 8]);
      assert.deepEqual(attrsOf(n, 'c').offsets, [2, 2]);
    });

    it('takes one offset per cropped axis', async () => {
      // 10 - 4 = 6 >= 6, 12 - 3 = 9 >= 8
      const n = await crop('offset: 4 offset: 3');
      assert.deepEqual(attrsOf(n, 'c').offsets, [4, 3]);
    });

    it('crops from axis 1, keeping the axes before it', async () => {
      // out = [a0] + b[1..] = [1,2,6,8]; offsets for axes 1, 2, 3
      const n = await crop('axis: 1 offset: 1 offset: 2 offset: 3', [1, 3, 10, 12], [5, 2, 6, 8]);
      assert.deepEqual(shapeOf(n, 'c'), [1, 2, 6, 8]);
      assert.deepEqual(attrsOf(n, 'c'), { axis: 1, offsets: [1, 2, 3] });
    });

    it('crops every axis with axis 0, and axis -1 only the last', async () => {
      assert.deepEqual(shapeOf(await crop('axis: 0', [2, 3, 10, 12], [1, 2, 6, 8]), 'c'), [1, 2, 6, 8]);
      assert.deepEqual(shapeOf(await crop('axis: -1', [1, 3, 10, 12], [1, 1, 1, 8]), 'c'), [1, 3, 10, 8]);
    });

    it('rejects a crop too large for the offset (E_SHAPE)', async () => {
      // 10 - 5 = 5 < 6
      await buildFails(crop('offset: 5'), 'c', 'Crop', 'cannot crop axis 2 of [1, 3, 10, 12] to 6 at offset 5');
      // reference larger than the input: 10 - 0 < 11
      await buildFails(crop('', [1, 3, 10, 12], [1, 3, 11, 8]), 'c', 'Crop', 'cannot crop axis 2');
    });

    it('rejects an offset count other than 0, 1 or the cropped axes (E_SHAPE)', async () => {
      await buildFails(crop('offset: 1 offset: 1 offset: 1'), 'c', 'Crop', 'give 0, 1 or 2 values', 'got 3');
    });

    it('rejects inputs of different rank and an out-of-range axis (E_SHAPE)', async () => {
      await buildFails(crop('', [1, 3, 10, 12], [1, 6, 8]), 'c', 'Crop', 'same number of axes');
      await buildFails(crop('axis: 4'), 'c', 'Crop', 'crop axis 4 is out of range');
    });

    it('takes exactly two bottoms (E_SHAPE)', async () => {
      await fails(inputs({ a: [1, 3, 4, 4] }, layer('c', 'Crop', '', 'a')), 'E_SHAPE', "layer 'c' (Crop) takes 2 bottom(s), got 1");
    });
  });

  describeType('Tile', () => {
    it('repeats along axis', async () => {
      // [2,3,4] axis 1 x3 -> [2,9,4]
      const n = await net(layer('t', 'Tile', 'tile_param { tiles: 3 }'), { dims: [2, 3, 4] });
      assert.deepEqual(shapeOf(n, 't'), [2, 9, 4]);
      assert.deepEqual(attrsOf(n, 't'), { axis: 1, tiles: 3 });
      // axis -1 x2 -> [2,3,8]
      const m = await net(layer('t', 'Tile', 'tile_param { axis: -1 tiles: 2 }'), { dims: [2, 3, 4] });
      assert.deepEqual(shapeOf(m, 't'), [2, 3, 8]);
    });

    it('rejects missing or non-positive tiles and an out-of-range axis (E_SHAPE)', async () => {
      await buildFails(net(layer('t', 'Tile')), 't', 'Tile', 'tiles must be > 0, got 0');
      await buildFails(net(layer('t', 'Tile', 'tile_param { tiles: -1 }')), 't', 'Tile', 'tiles must be > 0, got -1');
      await buildFails(net(layer('t', 'Tile', 'tile_param { axis: 4 tiles: 2 }')), 't', 'Tile', 'tile axis 4 is out of range');
    });
  });

  describeType('ShuffleChannel', () => {
    it('keeps the shape; group defaults to 1', async () => {
      const n = await net(layer('s', 'ShuffleChannel', 'shuffle_channel_param { group: 3 }'), { dims: [2, 6, 4, 5] });
      assert.deepEqual(shapeOf(n, 's'), [2, 6, 4, 5]);
      assert.deepEqual(attrsOf(n, 's'), { group: 3 });
      assert.deepEqual(attrsOf(await net(layer('s', 'ShuffleChannel'), { dims: [2, 6, 4, 5] }), 's'), { group: 1 });
    });

    it('rejects a group that does not divide the channels, and group 0 (E_SHAPE)', async () => {
      await buildFails(
        net(layer('s', 'ShuffleChannel', 'shuffle_channel_param { group: 4 }'), { dims: [2, 6, 4, 5] }),
        's',
        'ShuffleChannel',
        'the 6 channels of [2, 6, 4, 5] do not split into 4 groups',
      );
      await buildFails(
        net(layer('s', 'ShuffleChannel', 'shuffle_channel_param { group: 0 }'), { dims: [2, 6, 4, 5] }),
        's',
        'ShuffleChannel',
        'group must be a positive integer, got 0',
      );
    });
  });

  describe('ConvolutionDepthwise / DepthwiseConvolution (MobileNet ports)', () => {
    it('are Convolutions with group = the input channels, whatever group the file gives', async () => {
      for (const type of ['ConvolutionDepthwise', 'DepthwiseConvolution']) {
        const n = await net(layer('dw', type, 'convolution_param { num_output: 6 kernel_size: 3 pad: 1 group: 2 }'), {
          dims: [1, 6, 5, 5],
        });
        assert.equal(layerOf(n, 'dw').type, 'Convolution');
        assert.equal(attrsOf(n, 'dw').group, 6);
        assert.deepEqual(layerOf(n, 'dw').blobs, [[6, 1, 3, 3], [6]]);
        // A channel multiplier of 2.
        const m = await net(layer('dw', type, 'convolution_param { num_output: 12 kernel_size: 3 }'), { dims: [1, 6, 5, 5] });
        assert.deepEqual(shapeOf(m, 'dw'), [1, 12, 3, 3]);
      }
      await buildFails(
        net(layer('dw', 'ConvolutionDepthwise', 'convolution_param { num_output: 4 kernel_size: 3 }'), { dims: [1, 6, 5, 5] }),
        'dw',
        'Convolution',
        'a depthwise convolution needs num_output (4) to be a multiple of the input channels (6)',
      );
    });
  });

  describeType('Permute', () => {
    it('moves the axes; the order is filled with the missing axes in order', async () => {
      const n = await net(layer('p', 'Permute', 'permute_param { order: 0 order: 2 order: 3 order: 1 }'), { dims: [2, 6, 4, 5] });
      assert.deepEqual(shapeOf(n, 'p'), [2, 4, 5, 6]);
      const partial = await net(layer('p', 'Permute', 'permute_param { order: 0 order: 3 }'), { dims: [2, 6, 4, 5] });
      assert.deepEqual(attrsOf(partial, 'p'), { order: [0, 3, 1, 2] });
      assert.deepEqual(shapeOf(partial, 'p'), [2, 5, 6, 4]);
    });

    it('rejects a repeated or out-of-range axis and a moved batch (E_SHAPE)', async () => {
      const perm = (order: string) => net(layer('p', 'Permute', `permute_param { ${order} }`), { dims: [2, 6, 4, 5] });
      await buildFails(perm('order: 0 order: 2 order: 2'), 'p', 'Permute', 'names an axis twice');
      await buildFails(perm('order: 0 order: 4'), 'p', 'Permute', 'names axis 4');
      await buildFails(perm('order: 1 order: 0'), 'p', 'Permute', 'moves the batch axis', 'starting with 0');
      await buildFails(
        perm('order: 0 order: 1 order: 2 order: 3 order: 4'),
        'p',
        'Permute',
        'order has 5 axes; the input [2, 6, 4, 5] has 4',
      );
    });
  });

  describeType('Normalize', () => {
    it('keeps the shape; one scale value shared (a 0-axis blob) or one per channel', async () => {
      const shared = await net(layer('n', 'Normalize'), { dims: [2, 6, 4, 5] });
      assert.deepEqual(shapeOf(shared, 'n'), [2, 6, 4, 5]);
      assert.deepEqual(attrsOf(shared, 'n'), { acrossSpatial: true, channelShared: true, eps: 1e-10 });
      assert.deepEqual(layerOf(shared, 'n').blobs, [[]]);
      const per = await net(layer('n', 'Normalize', 'norm_param { across_spatial: false channel_shared: false }'), { dims: [2, 6, 4, 5] });
      assert.deepEqual(layerOf(per, 'n').blobs, [[6]]);
    });

    it('rejects an input without channels and a negative eps (E_SHAPE)', async () => {
      await buildFails(net(layer('n', 'Normalize'), { dims: [6] }), 'n', 'Normalize', 'needs at least (N, C)');
      await buildFails(net(layer('n', 'Normalize', 'norm_param { eps: -1 }'), { dims: [2, 6] }), 'n', 'Normalize', 'eps must be');
    });
  });

  describeType('PriorBox', () => {
    const pb = (param: string, feature = [1, 8, 3, 4], image = [1, 3, 30, 40]) =>
      inputs({ f: feature, img: image }, layer('p', 'PriorBox', `prior_box_param { ${param} }`, ['f', 'img']));

    it('writes [N, 2, 4 x cells x priors per cell] and resolves sizes, steps and ratios', async () => {
      const n = await pb('min_size: 4 max_size: 9 aspect_ratio: 2 aspect_ratio: 3 aspect_ratio: 2.0000001');
      // Ratios 1, 2, 1/2, 3, 1/3 (the near-duplicate of 2 dropped): 5 per min size, + 1 for the max size.
      assert.deepEqual(shapeOf(n, 'p'), [1, 2, 3 * 4 * 6 * 4]);
      const a = attrsOf(n, 'p');
      assert.equal(a.priorsPerCell, 6);
      assert.deepEqual(
        a.aspectRatios,
        [1, 2, 0.5, 3, 1 / 3].map((x) => (x === 2 || x === 3 || x === 1 ? x : x)),
      );
      assert.deepEqual([a.imageHeight, a.imageWidth, a.stepH, a.stepW], [30, 40, 10, 10]);
      assert.deepEqual(a.variances, [0.1, 0.1, 0.1, 0.1]);
      const noFlip = await pb('min_size: 4 min_size: 8 aspect_ratio: 2 flip: false img_size: 60 step: 7');
      assert.equal(attrsOf(noFlip, 'p').priorsPerCell, 4);
      assert.deepEqual([attrsOf(noFlip, 'p').imageHeight, attrsOf(noFlip, 'p').stepW], [60, 7]);
    });

    it('rejects missing or inconsistent sizes, bad variances and conflicting size fields (E_SHAPE)', async () => {
      await buildFails(pb(''), 'p', 'PriorBox', 'needs at least one min_size');
      await buildFails(pb('min_size: 4 max_size: 3'), 'p', 'PriorBox', 'max_size 3 must be above its min_size 4');
      await buildFails(pb('min_size: 4 max_size: 8 max_size: 9'), 'p', 'PriorBox', 'give one max per min');
      await buildFails(pb('min_size: 4 variance: 0.1 variance: 0.2'), 'p', 'PriorBox', 'takes 1 or 4 variance values');
      await buildFails(pb('min_size: 4 img_size: 30 img_h: 30 img_w: 30'), 'p', 'PriorBox', 'not both');
      await buildFails(pb('min_size: 4 step_h: 8'), 'p', 'PriorBox', 'step_h and step_w must both be given');
      await buildFails(pb('min_size: 4', [1, 8, 3]), 'p', 'PriorBox', 'must be a feature map');
      await buildFails(pb('min_size: 4', [1, 8, 3, 4], [1, 3, 30]), 'p', 'PriorBox', 'input 1 must be the image');
      await buildFails(pb('min_size: 0'), 'p', 'PriorBox', 'min_size must be > 0, got 0');
      await buildFails(pb('min_size: 4 aspect_ratio: -2'), 'p', 'PriorBox', 'aspect_ratio must be > 0, got -2');
      await buildFails(pb('min_size: 4 variance: 0'), 'p', 'PriorBox', 'variance must be > 0, got 0');
      await buildFails(pb('min_size: 4 img_size: 0'), 'p', 'PriorBox', 'img_size must be > 0, got 0');
    });
  });

  describeType('DetectionOutput', () => {
    const det = (param: string, loc = [2, 40], conf = [2, 30], prior = [1, 2, 40]) =>
      inputs({ loc, conf, prior }, layer('d', 'DetectionOutput', `detection_output_param { ${param} }`, ['loc', 'conf', 'prior']));

    it('writes [N, 1, max detections, 7]: keep_top_k, or every class x top_k when there is none', async () => {
      const n = await det('num_classes: 3 keep_top_k: 5 nms_param { top_k: 4 }');
      assert.deepEqual(shapeOf(n, 'd'), [2, 1, 5, 7]);
      const a = attrsOf(n, 'd');
      assert.deepEqual([a.numPriors, a.topK, a.keepTopK, a.codeType, a.confidenceThreshold], [10, 4, 5, 'CORNER', -3.4028234663852886e38]);
      // No keep_top_k: 2 foreground classes x min(top_k, 10 priors).
      assert.deepEqual(shapeOf(await det('num_classes: 3 nms_param { top_k: 4 }'), 'd'), [2, 1, 8, 7]);
      assert.deepEqual(shapeOf(await det('num_classes: 3 background_label_id: -1'), 'd'), [2, 1, 30, 7]);
      // Nothing can be kept: one row (Caffe's "no detection" row).
      assert.deepEqual(shapeOf(await det('num_classes: 3 keep_top_k: 0'), 'd'), [2, 1, 1, 7]);
    });

    it('rejects inputs that do not match the priors and bad parameters (E_SHAPE)', async () => {
      await buildFails(det('keep_top_k: 5'), 'd', 'DetectionOutput', 'needs num_classes');
      await buildFails(det('num_classes: 4'), 'd', 'DetectionOutput', 'conf [2, 30] must hold 10 priors x 4 classes');
      await buildFails(
        det('num_classes: 3 share_location: false'),
        'd',
        'DetectionOutput',
        'loc [2, 40] must hold 10 priors x 3 location class(es)',
      );
      await buildFails(
        det('num_classes: 3', [2, 40], [2, 30], [1, 3, 40]),
        'd',
        'DetectionOutput',
        "must be PriorBox's [N, 2, 4 * priors]",
      );
      await buildFails(det('num_classes: 3 nms_param { eta: 1.5 }'), 'd', 'DetectionOutput', 'eta must be in (0, 1]');
      await buildFails(det('num_classes: 3 keep_top_k: -2'), 'd', 'DetectionOutput', 'keep_top_k must be >= -1');
      await buildFails(det('num_classes: 0'), 'd', 'DetectionOutput', 'num_classes must be >= 1, got 0');
      await buildFails(det('num_classes: 3 nms_param { nms_threshold: -0.5 }'), 'd', 'DetectionOutput', 'nms_threshold must be >= 0');
      await buildFails(det('num_classes: 3 nms_param { top_k: -3 }'), 'd', 'DetectionOutput', 'top_k must be >= -1, got -3');
      await buildFails(det('num_classes: 3', [3, 40]), 'd', 'DetectionOutput', 'must have the same batch');
    });
  });

  describeType('Upsample', () => {
    it('scales (scale, scale_h / scale_w, pad_out) or takes a size; a second input makes it max unpooling', async () => {
      const up = (param: string) => net(layer('u', 'Upsample', `upsample_param { ${param} }`), { dims: [1, 3, 4, 5] });
      assert.deepEqual(shapeOf(await up('scale: 2'), 'u'), [1, 3, 8, 10]);
      assert.deepEqual(shapeOf(await up('scale_h: 3 scale_w: 2 pad_out_w: true'), 'u'), [1, 3, 12, 9]);
      assert.deepEqual(shapeOf(await up('upsample_h: 7 upsample_w: 11'), 'u'), [1, 3, 7, 11]);
      assert.deepEqual(attrsOf(await up('scale: 2'), 'u'), { mode: 'nearest' });
      const unpool = await net(
        layer('p', 'Pooling', 'pooling_param { pool: MAX kernel_size: 2 stride: 2 }', 'data', ['p', 'm']) +
          layer('u', 'Upsample', 'upsample_param { scale: 2 }', ['p', 'm']),
        { dims: [1, 3, 8, 8] },
      );
      assert.deepEqual([shapeOf(unpool, 'u'), attrsOf(unpool, 'u')], [[1, 3, 8, 8], { mode: 'unpool' }]);
    });

    it('rejects a zero scale, a mask of another shape and a 2-D input (E_SHAPE)', async () => {
      await buildFails(
        net(layer('u', 'Upsample', 'upsample_param { scale: 0 }'), { dims: [1, 3, 4, 5] }),
        'u',
        'Upsample',
        'scale must be a positive integer',
      );
      await buildFails(
        inputs({ a: [1, 3, 4, 5], b: [1, 3, 4, 4] }, layer('u', 'Upsample', '', ['a', 'b'])),
        'u',
        'Upsample',
        "must have the values' shape",
      );
      await buildFails(net(layer('u', 'Upsample'), { dims: [1, 3] }), 'u', 'Upsample', 'takes [N, C, H, W]');
      await buildFails(
        net(layer('u', 'Upsample', 'upsample_param { upsample_h: 0 upsample_w: 4 }'), { dims: [1, 3, 4, 5] }),
        'u',
        'Upsample',
        'output 0 x 4 is empty',
      );
      await buildFails(
        inputs({ a: [1, 3, 4, 5], b: [1, 3, 4, 5] }, layer('u', 'Upsample', 'upsample_param { upsample_h: 3 upsample_w: 9 }', ['a', 'b'])),
        'u',
        'Upsample',
        "max unpooling needs an output at least the input's size",
      );
    });
  });

  describeType('Interp', () => {
    const ip = (param: string, dims = [1, 2, 9, 7]) => net(layer('i', 'Interp', `interp_param { ${param} }`), { dims });
    it("follows DeepLab's size rules: height / width, zoom, shrink (then zoom), crops; or a second input's size", async () => {
      assert.deepEqual(shapeOf(await ip('height: 5 width: 3'), 'i'), [1, 2, 5, 3]);
      assert.deepEqual(shapeOf(await ip('zoom_factor: 4'), 'i'), [1, 2, 9 + 8 * 3, 7 + 6 * 3]);
      assert.deepEqual(shapeOf(await ip('shrink_factor: 2'), 'i'), [1, 2, 5, 4]);
      assert.deepEqual(shapeOf(await ip('shrink_factor: 2 zoom_factor: 3'), 'i'), [1, 2, 13, 10]);
      const cropped = await ip('zoom_factor: 2 pad_beg: -1 pad_end: -1');
      assert.deepEqual([shapeOf(cropped, 'i'), attrsOf(cropped, 'i')], [[1, 2, 13, 9], { padBeg: -1, padEnd: -1 }]);
      const sized = await inputs({ a: [1, 2, 4, 4], b: [1, 5, 10, 12] }, layer('i', 'Interp', '', ['a', 'b']));
      assert.deepEqual(shapeOf(sized, 'i'), [1, 2, 10, 12]);
    });

    it('rejects no size, positive pads and pads that leave nothing (E_SHAPE)', async () => {
      await buildFails(ip(''), 'i', 'Interp', 'needs height and width, zoom_factor or shrink_factor');
      await buildFails(ip('zoom_factor: 2 pad_beg: 1'), 'i', 'Interp', 'pads must be <= 0');
      await buildFails(ip('zoom_factor: 2 pad_beg: -4 pad_end: -4', [1, 2, 8, 8]), 'i', 'Interp', 'leave nothing');
      await buildFails(ip('zoom_factor: 0'), 'i', 'Interp', 'shrink_factor and zoom_factor must be >= 1');
      await buildFails(ip('height: 5 width: 3', [1, 2, 9]), 'i', 'Interp', 'takes [N, C, H, W]');
      await buildFails(
        inputs({ a: [1, 2, 4, 4], b: [1, 5] }, layer('i', 'Interp', '', ['a', 'b'])),
        'i',
        'Interp',
        'second input gives the size',
      );
    });
  });

  // Region layers: Faster R-CNN's regions lead with batch x R rows (docs/network.md, "Region layers").
  const PROPOSAL =
    'layer { name: "p" type: "Python" bottom: "s" bottom: "d" bottom: "info" top: "rois" top: "sc" ' +
    'python_param { module: "rpn.proposal_layer" layer: "ProposalLayer" param_str: "\'feat_stride\': 16\\n\'post_nms_topN\': 7" } }\n';
  const regionInputs = (n: number, c: number) => inputs({ s: [n, 18, 3, 4], d: [n, 36, 3, 4], info: [n, 3], f: [n, c, 3, 4] }, PROPOSAL);

  describeType('Proposal', () => {
    it('gives [N x post_nms_topN, 5] regions and [N x post_nms_topN, 1] scores, rows post_nms_topN', async () => {
      const n = await regionInputs(2, 8);
      assert.deepEqual(
        [shapeOf(n, 'rois'), shapeOf(n, 'sc')],
        [
          [14, 5],
          [14, 1],
        ],
      );
      assert.equal(n.tensors.get('rois')?.rows, 7);
      assert.deepEqual(attrsOf(n, 'p').postNmsTopN, 7);
      assert.deepEqual(attrsOf(n, 'p').scales, [8, 16, 32]);
    });
    it('rejects scores and deltas that do not fit the anchors (E_SHAPE)', async () => {
      await buildFails(
        inputs({ s: [1, 10, 3, 4], d: [1, 36, 3, 4], info: [1, 3], f: [1, 8, 3, 4] }, PROPOSAL),
        'p',
        'Proposal',
        '2 per anchor',
      );
      await buildFails(
        inputs({ s: [1, 18, 3, 4], d: [1, 36, 3, 5], info: [1, 3], f: [1, 8, 3, 4] }, PROPOSAL),
        'p',
        'Proposal',
        'box deltas',
      );
    });
  });

  describeType('ROIPooling', () => {
    it('gives [N x R, C, pooled_h, pooled_w], one row per region', async () => {
      const n = await inputs(
        { s: [2, 18, 3, 4], d: [2, 36, 3, 4], info: [2, 3], f: [2, 8, 3, 4] },
        PROPOSAL +
          'layer { name: "r" type: "ROIPooling" bottom: "f" bottom: "rois" top: "r" roi_pooling_param { pooled_h: 2 pooled_w: 3 spatial_scale: 0.5 } }\n',
      );
      assert.deepEqual(shapeOf(n, 'r'), [14, 8, 2, 3]);
      assert.deepEqual(attrsOf(n, 'r'), { pooledH: 2, pooledW: 3, spatialScale: 0.5 });
      assert.equal(n.tensors.get('r')?.rows, 7);
    });
  });

  describeType('PSROIPooling', () => {
    it('gives [N x R, output_dim, g, g] and needs output_dim x g^2 input channels (E_SHAPE otherwise)', async () => {
      const ps = (c: number) =>
        inputs(
          { s: [1, 18, 3, 4], d: [1, 36, 3, 4], info: [1, 3], f: [1, c, 3, 4] },
          PROPOSAL +
            'layer { name: "q" type: "PSROIPooling" bottom: "f" bottom: "rois" top: "q" psroi_pooling_param { spatial_scale: 1 output_dim: 2 group_size: 2 } }\n',
        );
      assert.deepEqual(shapeOf(await ps(8), 'q'), [7, 2, 2, 2]);
      await buildFails(ps(9), 'q', 'PSROIPooling', 'needs output_dim x group_size^2 = 8 input channels');
    });
  });

  describeType('ArgMax', () => {
    const am = (param: string, dims: readonly number[]) => net(layer('a', 'ArgMax', param ? `argmax_param { ${param} }` : ''), { dims });

    it('without axis: (N, 1, top_k) padded to 3 axes', async () => {
      // [2,10] -> [2, 1, 1]
      assert.deepEqual(shapeOf(await am('', [2, 10]), 'a'), [2, 1, 1]);
      // top_k 3 -> [2, 1, 3]
      assert.deepEqual(shapeOf(await am('top_k: 3', [2, 10]), 'a'), [2, 1, 3]);
    });

    it('without axis, out_max_val makes axis 1 hold 2 (index and value)', async () => {
      assert.deepEqual(shapeOf(await am('out_max_val: true', [2, 10]), 'a'), [2, 2, 1]);
      assert.deepEqual(shapeOf(await am('out_max_val: true top_k: 3', [2, 10]), 'a'), [2, 2, 3]);
    });

    it('without axis on a 4-D input keeps 4 axes: (N, 1 or 2, top_k, 1)', async () => {
      assert.deepEqual(shapeOf(await am('', [2, 3, 4, 5]), 'a'), [2, 1, 1, 1]);
      assert.deepEqual(shapeOf(await am('out_max_val: true top_k: 2', [2, 3, 4, 5]), 'a'), [2, 2, 2, 1]);
    });

    it('with axis: that axis becomes top_k; out_max_val adds no axis', async () => {
      assert.deepEqual(shapeOf(await am('axis: 1 top_k: 2', [2, 3, 4, 5]), 'a'), [2, 2, 4, 5]);
      assert.deepEqual(shapeOf(await am('axis: 1 top_k: 2 out_max_val: true', [2, 3, 4, 5]), 'a'), [2, 2, 4, 5]);
      // axis -1 -> 3
      assert.deepEqual(shapeOf(await am('axis: -1 top_k: 3', [2, 3, 4, 5]), 'a'), [2, 3, 4, 3]);
    });

    it('rejects top_k above the values per image or the axis size, and top_k 0 (E_SHAPE)', async () => {
      await buildFails(am('top_k: 11', [2, 10]), 'a', 'ArgMax', 'top_k 11 is larger than the 10 values per image');
      await buildFails(am('axis: 1 top_k: 4', [2, 3, 4, 5]), 'a', 'ArgMax', 'top_k 4 is larger than axis 1');
      await buildFails(am('top_k: 0', [2, 10]), 'a', 'ArgMax', 'top_k must be >= 1, got 0');
      await buildFails(am('axis: 2', [2, 10]), 'a', 'ArgMax', 'argmax axis 2 is out of range');
    });
  });

  describeType('MVN', () => {
    it('keeps the shape', async () => {
      const n = await net(layer('m', 'MVN', 'mvn_param { across_channels: true }'), { dims: [2, 3, 4, 5] });
      assert.deepEqual(shapeOf(n, 'm'), [2, 3, 4, 5]);
      // eps default 1e-9 (caffe.proto)
      assert.deepEqual(attrsOf(n, 'm'), { normalizeVariance: true, acrossChannels: true, eps: 1e-9 });
    });

    it('rejects an input without a channel axis (E_SHAPE)', async () => {
      await buildFails(net(layer('m', 'MVN'), { dims: [6] }), 'm', 'MVN', 'needs at least (N, C)');
    });
  });

  describeType('Reduction', () => {
    it('keeps the axes before axis: all (axis 0, the default) -> scalar []', async () => {
      const n = await net(layer('r', 'Reduction'), { dims: [2, 3, 4] });
      assert.deepEqual(shapeOf(n, 'r'), []);
    });

    it('axis 1 -> [2]; axis -1 -> [2,3]', async () => {
      assert.deepEqual(
        shapeOf(await net(layer('r', 'Reduction', 'reduction_param { operation: MEAN axis: 1 }'), { dims: [2, 3, 4] }), 'r'),
        [2],
      );
      const n = await net(layer('r', 'Reduction', 'reduction_param { operation: SUMSQ axis: -1 }'), { dims: [2, 3, 4] });
      assert.deepEqual(shapeOf(n, 'r'), [2, 3]);
      assert.deepEqual(attrsOf(n, 'r'), { operation: 'SUMSQ', axis: 2, coeff: 1 });
    });

    it('rejects an out-of-range axis (E_SHAPE)', async () => {
      await buildFails(
        net(layer('r', 'Reduction', 'reduction_param { axis: 3 }'), { dims: [2, 3, 4] }),
        'r',
        'Reduction',
        'reduction axis 3 is out of range for a 3-D input',
      );
    });
  });

  describeType('Embed', () => {
    it('appends num_output; blobs [input_dim, num_output] and [num_output]; no MACs', async () => {
      // [2,5] -> [2,5,8]
      const n = await net(layer('e', 'Embed', 'embed_param { num_output: 8 input_dim: 100 }'), { dims: [2, 5] });
      assert.deepEqual(shapeOf(n, 'e'), [2, 5, 8]);
      assert.deepEqual(layerOf(n, 'e').blobs, [[100, 8], [8]]);
      assert.equal(layerOf(n, 'e').macs, 0);
    });

    it('has only the weights blob with bias_term: false', async () => {
      const n = await net(layer('e', 'Embed', 'embed_param { num_output: 8 input_dim: 100 bias_term: false }'), { dims: [2, 5] });
      assert.deepEqual(layerOf(n, 'e').blobs, [[100, 8]]);
    });

    it('rejects missing num_output or input_dim (E_SHAPE)', async () => {
      await buildFails(net(layer('e', 'Embed', 'embed_param { input_dim: 100 }')), 'e', 'Embed', 'num_output must be > 0');
      await buildFails(net(layer('e', 'Embed', 'embed_param { num_output: 8 }')), 'e', 'Embed', 'input_dim must be > 0');
    });

    it('rejects a scalar input (E_SHAPE)', async () => {
      // Reduction over everything gives []
      await buildFails(
        net(layer('r', 'Reduction') + layer('e', 'Embed', 'embed_param { num_output: 8 input_dim: 10 }', 'r'), { dims: [2, 3] }),
        'e',
        'Embed',
        'non-scalar input',
      );
    });
  });

  describe('bottom and top counts', () => {
    it('names the allowed count when a layer has too many or too few (E_SHAPE)', async () => {
      await fails(
        net(layer('ip', 'InnerProduct', 'inner_product_param { num_output: 2 }', 'data', ['a', 'b'])),
        'E_SHAPE',
        "layer 'ip' (InnerProduct) takes 1 top(s), got 2",
      );
      await fails(
        net(layer('p', 'Pooling', 'pooling_param { kernel_size: 2 }', 'data', ['a', 'b', 'c'])),
        'E_SHAPE',
        "layer 'p' (Pooling) takes 1 to 2 top(s), got 3",
      );
      await fails(
        net(layer('c', 'Convolution', 'convolution_param { num_output: 2 kernel_size: 1 }', [], [])),
        'E_SHAPE',
        "layer 'c' (Convolution) takes 1 or more bottom(s), got 0",
      );
      await fails(
        net(layer('i', 'Input', 'input_param { shape { dim: 1 } }', 'data', 'x')),
        'E_SHAPE',
        "layer 'i' (Input) takes 0 bottom(s), got 1",
      );
      await fails(net(layer('s', 'Softmax', '', 'data', [])), 'E_SHAPE', "layer 's' (Softmax) takes 1 top(s), got 0");
    });

    // ShapeError.layerName is set for count errors as for build errors.
    it('sets ShapeError.layerName for count errors too', async () => {
      const err = await fails(net(layer('r', 'ReLU', '', ['data', 'data'])), 'E_SHAPE', "layer 'r' (ReLU)");
      assert.ok(err instanceof ShapeError);
      assert.equal(err.layerName, 'r');
    });
  });

  it('has a describe block for every IR layer type', () => {
    assert.deepEqual(
      // Plugin layers take the library's shapes: test/unit/plugins.test.ts.
      [...LAYER_TYPES].filter((t) => t !== 'Plugin' && !covered.has(t)),
      [],
    );
  });
});
