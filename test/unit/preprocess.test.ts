/**
 * uint8 image inputs (BuildConfig.input, docs/engine.md "Input formats") on the cpu backend: the
 * Preprocess node against the float64 reference of Caffe's test-phase DataTransformer
 * (test/support/reference.ts) for every option; whole networks with a uint8 input against the
 * float32 engine fed the same values preprocessed on the host (bit for bit, FP32 / FP16 / INT8);
 * transform_param picked up from the prototxt; plans; every argument and file error.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder, Engine, Network, Runtime, type BuildConfig, type InputOptions, type Precision } from '../../lib';
import { formatMeanFile, parseMeanFile } from '../../lib/caffe';
import { planExecGraph, planInt8Graph } from '../../lib/builder/exec_graph';
import { preprocessOnHost, resolveInput } from '../../lib/builder/input_format';
import { nodePrecisions } from '../../lib/builder/exec_graph';
import { mnistSplit } from '../../lib/calibration/data';
import { fails } from '../support/helpers';
import { count, referenceForward, transformImages, SeededRandom, type ImageTransform } from '../support/reference';

const ROOT = path.resolve(__dirname, '../../..');
const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-preprocess-'));
after(() => fs.rmSync(tmpDir, { recursive: true, force: true }));

const cpu = new Builder({ backend: 'cpu', logger: () => undefined });

/** `n` seeded random bytes. */
function bytes(n: number, seed: number): Uint8Array {
  const rng = new SeededRandom(seed);
  return Uint8Array.from({ length: n }, () => rng.int(0, 256));
}

/** A network of one image input [N, C, H, W] that only flattens it: its output is its input. */
function identityNet(c: number, h: number, w: number, transform = ''): Promise<Network> {
  return Network.parse(
    `name: "identity"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 3 dim: ${c} dim: ${h} dim: ${w} } } ${transform} }
layer { name: "flat" type: "Flatten" bottom: "data" top: "flat" }
`,
    { file: path.join(tmpDir, 'identity.prototxt') },
  );
}

/** A small colour classifier: conv, ReLU, pooling, LRN, inner product, softmax. */
function colourNet(h: number, w: number): Promise<Network> {
  return Network.parse(
    `name: "colour"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 3 dim: 3 dim: ${h} dim: ${w} } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 8 kernel_size: 3 pad: 1 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "ip1" type: "InnerProduct" bottom: "pool1" top: "ip1" inner_product_param { num_output: 6 } }
layer { name: "prob" type: "Softmax" bottom: "ip1" top: "prob" }
`,
    { seed: 11, file: path.join(tmpDir, 'colour.prototxt') },
  );
}

/** Runs an engine once at `batch`. */
async function infer(
  engine: Engine,
  inputs: Record<string, Float32Array | Uint8Array>,
  batch: number,
): Promise<Record<string, Float32Array>> {
  const ctx = engine.createContext();
  try {
    return (await ctx.infer(inputs, { batchSize: batch })) as Record<string, Float32Array>;
  } finally {
    ctx.dispose();
  }
}

/** Equal bit for bit (NaN equal to NaN). */
function assertSameBits(a: Float32Array, e: Float32Array, what: string): void {
  assert.equal(a.length, e.length, `${what}: length`);
  const bad = a.findIndex((v, i) => !Object.is(v, e[i]));
  assert.equal(bad, -1, `${what}: [${bad}] = ${a[bad]}, expected ${e[bad]}`);
}

describe('uint8 image inputs (Preprocess)', function () {
  this.timeout(120000);

  describe("the Preprocess node against the float64 reference of Caffe's transform", () => {
    interface OpCase {
      readonly name: string;
      readonly dims: [number, number, number];
      readonly input: InputOptions;
      readonly transform?: string;
      readonly meanImage?: boolean;
      /** What the reference applies. */
      readonly expect: Omit<ImageTransform, 'dims' | 'imageSize' | 'meanImage'>;
    }
    const cases: OpCase[] = [
      {
        name: 'BGR images into a BGR network: mean values, no swap',
        dims: [3, 5, 7],
        input: { format: 'uint8-nhwc-bgr', mean: [104, 117, 123] },
        expect: { swapChannels: false, scale: 1, mean: [104, 117, 123] },
      },
      {
        name: 'RGB images into a BGR network: swap, crop 8x10 -> 5x7, scale',
        dims: [3, 5, 7],
        input: { format: 'uint8-nhwc-rgb', mean: [104.5, 117.25, 123.75], scale: 0.017, imageSize: [8, 10] },
        expect: { swapChannels: true, scale: Math.fround(0.017), mean: [104.5, 117.25, 123.75] },
      },
      {
        name: 'RGB images into an RGB network: one mean value for every channel, odd crop',
        dims: [3, 4, 5],
        input: { format: 'uint8-nhwc-rgb', networkOrder: 'rgb', mean: [128], imageSize: [7, 6] },
        expect: { swapChannels: false, scale: 1, mean: [128, 128, 128] },
      },
      {
        name: 'BGR images into an RGB network',
        dims: [3, 3, 3],
        input: { format: 'uint8-nhwc-bgr', networkOrder: 'rgb' },
        expect: { swapChannels: true, scale: 1, mean: [0, 0, 0] },
      },
      {
        name: 'grayscale (LeNet-style): scale 1/256, crop 9x9 -> 6x6',
        dims: [1, 6, 6],
        input: { format: 'uint8-nhwc', scale: 0.00390625, imageSize: [9, 9] },
        expect: { swapChannels: false, scale: 0.00390625, mean: [0] },
      },
      {
        name: 'two channels',
        dims: [2, 3, 5],
        input: { format: 'uint8-nhwc', mean: [3, 250] },
        expect: { swapChannels: false, scale: 1, mean: [3, 250] },
      },
      {
        name: 'four channels (RGBA as it comes)',
        dims: [4, 5, 4],
        input: { format: 'uint8-nhwc', mean: [1, 2, 3, 4], scale: -0.5 },
        expect: { swapChannels: false, scale: -0.5, mean: [1, 2, 3, 4] },
      },
      {
        name: 'a mean image, cropped with the image (8x9 -> 5x6)',
        dims: [3, 5, 6],
        meanImage: true,
        input: { format: 'uint8-nhwc-rgb', imageSize: [8, 9], scale: 0.0078125 },
        expect: { swapChannels: true, scale: 0.0078125 },
      },
      {
        name: 'transform_param of the Input layer: mean_value and scale',
        dims: [3, 4, 6],
        transform: 'transform_param { mean_value: 104 mean_value: 117 mean_value: 123 scale: 0.5 mirror: true }',
        input: { format: 'uint8-nhwc-bgr' },
        expect: { swapChannels: false, scale: 0.5, mean: [104, 117, 123] },
      },
      {
        name: 'options override transform_param field by field',
        dims: [3, 4, 6],
        transform: 'transform_param { mean_value: 104 mean_value: 117 mean_value: 123 scale: 0.5 }',
        input: { format: 'uint8-nhwc-bgr', mean: [1, 2, 3] },
        expect: { swapChannels: false, scale: 0.5, mean: [1, 2, 3] },
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const [ch, h, w] = c.dims;
        const imageSize = c.input.imageSize ?? [h, w];
        let meanImage: Float32Array | undefined;
        let input = c.input;
        if (c.meanImage === true) {
          const rng = new SeededRandom(5);
          meanImage = Float32Array.from({ length: ch * imageSize[0] * imageSize[1] }, () => rng.uniform(60, 160));
          const file = path.join(tmpDir, `mean-${c.dims.join('x')}.binaryproto`);
          fs.writeFileSync(file, formatMeanFile([ch, imageSize[0], imageSize[1]], meanImage));
          input = { ...input, meanFile: file };
        }
        const net = await identityNet(ch, h, w, c.transform ?? '');
        const engine = await cpu.build(net, { maxBatchSize: 3, input });
        assert.deepEqual(
          engine.inputs.map((t) => [t.name, t.dtype, t.dims]),
          [['data', 'uint8', [imageSize[0], imageSize[1], ch]]],
        );
        const resolved = await resolveInput(net, { ...input });
        for (const batch of [1, 3]) {
          const images = bytes(batch * imageSize[0] * imageSize[1] * ch, 17 + batch);
          const { flat } = await infer(engine, { data: images }, batch);
          const want = transformImages(images, batch, { ...c.expect, dims: c.dims, imageSize, meanImage });
          const bad = flat.findIndex((v, i) => !(Math.abs(v - want[i]) <= 1e-6 * Math.max(1, Math.abs(want[i]))));
          assert.equal(bad, -1, `batch ${batch}: [${bad}] = ${flat[bad]}, the reference gives ${want[bad]}`);
          // And bit for bit what the documented float32 arithmetic gives.
          assertSameBits(flat, preprocessOnHost(resolved as NonNullable<typeof resolved>, c.dims, images, batch), `batch ${batch}`);
        }
        engine.dispose();
      });
    }

    it('a Float32Array for a uint8 input is a TypeError naming Uint8Array; a Uint8ClampedArray or a Buffer is taken', async () => {
      const engine = await cpu.build(await identityNet(3, 2, 2), { maxBatchSize: 3, input: { format: 'uint8-nhwc-bgr' } });
      const ctx = engine.createContext();
      await assert.rejects(
        ctx.infer({ data: new Float32Array(12) }),
        (e: Error) => e instanceof TypeError && /a Uint8Array for inputs\.data/.test(e.message),
      );
      await assert.rejects(
        ctx.infer({ data: new Uint8Array(11) }),
        (e: Error) => e instanceof RangeError && /multiple of 12/.test(e.message),
      );
      const images = bytes(12, 3);
      const a = (await ctx.infer({ data: images })).flat;
      assertSameBits((await ctx.infer({ data: new Uint8ClampedArray(images) as unknown as Uint8Array })).flat, a, 'Uint8ClampedArray');
      assertSameBits((await ctx.infer({ data: Buffer.from(images) })).flat, a, 'Buffer');
      // The engine's own host arrays (used in place) are bytes for a uint8 input.
      const { data } = engine.createInputs(1);
      assert.ok(data instanceof Uint8Array && data.length === 12, `createInputs gave ${data.constructor.name} of ${data.length}`);
      data.set(images);
      assertSameBits((await ctx.infer({ data })).flat, a, 'createInputs');
      ctx.dispose();
      engine.dispose();
    });
  });

  describe('whole networks: the uint8 engine equals the float32 engine fed the host-preprocessed images', () => {
    it('the trained LeNet on MNIST digits as bytes (scale 1/256): the same scores, bit for bit, in FP32', async () => {
      const { test } = mnistSplit();
      const n = 100;
      const net = await Network.fromCaffe(path.join(ROOT, 'models', 'lenet.prototxt'), {
        weights: path.join(ROOT, 'models', 'lenet_mnist.caffemodel'),
      });
      const floatEngine = await cpu.build(net, { maxBatchSize: n });
      const byteEngine = await cpu.build(net, { maxBatchSize: n, input: { format: 'uint8-nhwc', scale: 0.00390625 } });
      const pixels = Uint8Array.from(test.images.subarray(0, n * 784), (v) => v * 256);
      const want = (await infer(floatEngine, { data: test.images.subarray(0, n * 784) }, n)).prob;
      const got = (await infer(byteEngine, { data: pixels }, n)).prob;
      assertSameBits(got, want, 'prob');
      let correct = 0;
      for (let i = 0; i < n; i++) {
        const scores = got.subarray(i * 10, i * 10 + 10);
        if (scores.indexOf(Math.max(...scores)) === test.labels[i]) correct++;
      }
      assert.ok(correct >= 90, `${correct} of ${n} digits right`);
      floatEngine.dispose();
      byteEngine.dispose();
    });

    const input: InputOptions = { format: 'uint8-nhwc-rgb', mean: [104, 117, 123], scale: 0.0171, imageSize: [11, 13] };
    for (const precision of ['fp32', 'fp16', 'int8'] as Precision[]) {
      it(`a colour network with crop, swap, mean and scale in ${precision.toUpperCase()}`, async () => {
        const net = await colourNet(8, 8);
        const batch = 3;
        const images = bytes(batch * 11 * 13 * 3, 99);
        const resolved = await resolveInput(net, input);
        const floats = preprocessOnHost(resolved as NonNullable<typeof resolved>, [3, 8, 8], images, batch);
        let config: BuildConfig = { precision, maxBatchSize: batch };
        if (precision === 'int8') {
          const values = referenceForward(net.withBatchSize(batch), { data: floats });
          const int8Scales: Record<string, number> = {};
          for (const [name, v] of values) int8Scales[name] = Math.max(...v.map(Math.abs)) / 127 || 1;
          config = { ...config, int8Scales };
          // The input's Quantize is fused into the Preprocess node.
          const graph = planInt8Graph(net, { maxBatchSize: batch, int8Scales, preprocess: resolved?.spec }).graph;
          assert.deepEqual(
            graph.nodes.slice(0, 2).map((x) => [x.op, x.precision]),
            [
              ['Preprocess', 'int8'],
              ['Convolution', 'int8'],
            ],
          );
          assert.equal(graph.nodes.filter((x) => x.op === 'Quantize').length, 0);
          assert.equal(graph.tensors[graph.nodes[0].outputs[0]].dtype, 'int8');
        }
        const floatEngine = await cpu.build(net, config);
        const byteEngine = await cpu.build(net, { ...config, input });
        const want = (await infer(floatEngine, { data: floats }, batch)).prob;
        const got = (await infer(byteEngine, { data: images }, batch)).prob;
        assertSameBits(got, want, `prob (${precision})`);
        assert.deepEqual(byteEngine.inputs[0], { name: 'data', dims: [11, 13, 3], shape: [batch, 11, 13, 3], dtype: 'uint8' });
        floatEngine.dispose();
        byteEngine.dispose();
      });
    }

    it('INT8 with a float reader of the input too: Preprocess -> float tensor -> Quantize, bit for bit', async () => {
      const net = await Network.parse(
        `name: "branches"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 6 dim: 6 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 4 kernel_size: 3 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "squash" type: "Sigmoid" bottom: "data" top: "squash" }
`,
        { seed: 3 },
      );
      const batch = 2;
      const chain: InputOptions = { format: 'uint8-nhwc-bgr', mean: [120], scale: 0.02, imageSize: [7, 8] };
      const images = bytes(batch * 7 * 8 * 3, 12);
      const resolved = await resolveInput(net, chain);
      const floats = preprocessOnHost(resolved as NonNullable<typeof resolved>, [3, 6, 6], images, batch);
      const int8Scales: Record<string, number> = {};
      for (const [name, v] of referenceForward(net, { data: floats })) int8Scales[name] = Math.max(...v.map(Math.abs)) / 127 || 1;
      const graph = planInt8Graph(net, { maxBatchSize: batch, int8Scales, preprocess: resolved?.spec }).graph;
      assert.deepEqual(
        graph.nodes.slice(0, 2).map((x) => [x.op, x.precision, x.outputs.map((t) => graph.tensors[t].name)]),
        [
          ['Preprocess', 'fp32', ['data/preprocessed']],
          ['Quantize', 'int8', ['data/int8']],
        ],
      );
      const config: BuildConfig = { precision: 'int8', maxBatchSize: batch, int8Scales };
      const floatEngine = await cpu.build(net, config);
      const byteEngine = await cpu.build(net, { ...config, input: chain });
      const want = await infer(floatEngine, { data: floats }, batch);
      const got = await infer(byteEngine, { data: images }, batch);
      for (const name of ['pool1', 'squash']) assertSameBits(got[name], want[name], name);
      floatEngine.dispose();
      byteEngine.dispose();
    });

    it('a plan keeps the uint8 input: header, graph and results', async () => {
      const net = await colourNet(8, 8);
      const engine = await cpu.build(net, { maxBatchSize: 2, input: { ...input, meanFile: undefined } });
      const images = bytes(2 * 11 * 13 * 3, 5);
      const want = (await infer(engine, { data: images }, 2)).prob;
      const plan = engine.serialize();
      const file = path.join(tmpDir, 'colour.plan');
      await engine.save(file);
      engine.dispose();
      for (const loaded of [await Runtime.deserialize(plan), await Engine.load(file)]) {
        assert.deepEqual(
          loaded.inputs.map((t) => [t.name, t.dtype, t.dims]),
          [['data', 'uint8', [11, 13, 3]]],
        );
        assertSameBits((await infer(loaded, { data: images }, 2)).prob, want, 'prob after the plan');
        loaded.dispose();
      }
    });
  });

  describe('the execution graph', () => {
    it('the input keeps its name and id as uint8 [H_in, W_in, C]; a Preprocess node writes what the network read', async () => {
      const net = await colourNet(8, 8);
      const resolved = await resolveInput(net, { format: 'uint8-nhwc-bgr', imageSize: [9, 10] });
      const graph = planExecGraph(net, { precision: 'fp16', maxBatchSize: 1, preprocess: resolved?.spec });
      assert.deepEqual(graph.tensors[graph.inputs[0]], { name: 'data', dims: [9, 10, 3], dtype: 'uint8' });
      const [pre, conv] = graph.nodes;
      assert.deepEqual([pre.op, pre.name, pre.precision, pre.inputs], ['Preprocess', 'data/preprocess', 'fp16', graph.inputs]);
      assert.deepEqual(pre.attrs, { swapChannels: false, offset: [0, 1], scale: 1, mean: [0, 0, 0] });
      assert.deepEqual(graph.tensors[pre.outputs[0]], { name: 'data/preprocessed', dims: [3, 8, 8], dtype: 'float32' });
      assert.deepEqual(conv.inputs, pre.outputs);
      assert.deepEqual(nodePrecisions(graph), { fp16: 4 }, "Preprocess is not one of the network's layers");
    });

    it('only a Preprocess node may read image bytes (the native graph check)', async () => {
      const net = await identityNet(3, 2, 2);
      const resolved = await resolveInput(net, { format: 'uint8-nhwc-bgr' });
      const graph = planExecGraph(net, { precision: 'fp32', maxBatchSize: 1, preprocess: resolved?.spec });
      const flat = graph.nodes[1];
      const bad = { ...graph, nodes: [{ ...flat, inputs: graph.inputs }] };
      await fails(
        cpu.buildGraph(net, bad),
        'E_INVALID_ARGUMENT',
        "node 'flat' reads 'data': only a Preprocess node reads uint8 image bytes",
      );
    });

    it('a mean image is a weight of the Preprocess node', async () => {
      const net = await colourNet(4, 4);
      const file = path.join(tmpDir, 'mean-3x6x6.binaryproto');
      fs.writeFileSync(file, formatMeanFile([3, 6, 6], new Float32Array(108).fill(100)));
      const resolved = await resolveInput(net, { format: 'uint8-nhwc-bgr', imageSize: [6, 6], meanFile: file });
      assert.equal(resolved?.meanImage?.length, 108);
      const graph = planExecGraph(net, { precision: 'fp32', maxBatchSize: 1, preprocess: resolved?.spec });
      const pre = graph.nodes[0];
      assert.deepEqual(
        pre.weights.map((i) => graph.weights[i]),
        [{ name: 'data/preprocess/0', dims: [3, 6, 6] }],
      );
      assert.equal('mean' in pre.attrs, false);
    });
  });

  describe('transform_param from the prototxt', () => {
    it('a mean_file is found beside the prototxt; force_color and mirror are reported as ignored', async () => {
      const dir = fs.mkdtempSync(path.join(tmpDir, 'proto-'));
      fs.mkdirSync(path.join(dir, 'data'));
      const mean = Float32Array.from({ length: 3 * 4 * 4 }, (_, i) => i % 7);
      fs.writeFileSync(path.join(dir, 'data', 'mean.binaryproto'), formatMeanFile([3, 4, 4], mean));
      const file = path.join(dir, 'net.prototxt');
      fs.writeFileSync(
        file,
        `layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 4 dim: 4 } }
  transform_param { mean_file: "data/mean.binaryproto" force_color: true mirror: true } }
layer { name: "flat" type: "Flatten" bottom: "data" top: "flat" }\n`,
      );
      const net = await Network.fromCaffe(file);
      const resolved = await resolveInput(net, { format: 'uint8-nhwc-bgr' });
      assert.deepEqual([...(resolved?.meanImage ?? [])], [...mean]);
      assert.match(resolved?.notes.join('\n') ?? '', /mean image .*mean\.binaryproto \(transform_param of layer 'data'\)/);
      assert.match(resolved?.notes.join('\n') ?? '', /mirror .* ignored/);
      assert.match(resolved?.notes.join('\n') ?? '', /force_color .* ignored/);
      const logged: string[] = [];
      const engine = await new Builder({ backend: 'cpu', logger: (s, m) => logged.push(`${s}: ${m}`) }).build(net, {
        input: { format: 'uint8-nhwc-bgr' },
      });
      assert.ok(
        logged.some((l) => /^info: input 'data': uint8-nhwc-bgr images 4x4, mean image/.test(l)),
        logged.join('\n'),
      );
      const images = bytes(48, 1);
      const { flat } = await infer(engine, { data: images }, 1);
      assertSameBits(
        flat,
        Float32Array.from(
          transformImages(images, 1, { dims: [3, 4, 4], imageSize: [4, 4], swapChannels: false, scale: 1, meanImage: mean }),
        ),
        'flat',
      );
      engine.dispose();
    });

    it("a data layer's transform_param counts too (train_val prototxts)", async () => {
      const net = await Network.parse(
        `layer { name: "mnist" type: "Data" top: "data" top: "label" include { phase: TEST }
  transform_param { scale: 0.00390625 } data_param { source: "x" batch_size: 2 } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 2 } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }\n`,
        { inputShapes: { data: [2, 1, 3, 3] } },
      );
      assert.deepEqual(net.inputTransform('data'), {
        layer: 'mnist',
        scale: 0.00390625,
        meanValue: [],
        mirror: false,
        forceColor: false,
        forceGray: false,
      });
      assert.equal((await resolveInput(net, { format: 'uint8-nhwc' }))?.spec.scale, 0.00390625);
    });
  });

  describe('errors', () => {
    const build = async (input: unknown, c = 3, h = 4, w = 4, transform = '') =>
      cpu.build(await identityNet(c, h, w, transform), { input } as BuildConfig);
    const rejects = async (input: unknown, type: typeof TypeError | typeof RangeError, ...parts: RegExp[]) => {
      await assert.rejects(build(input), (e: Error) => {
        assert.ok(e instanceof type, `${e.name}: ${e.message}`);
        for (const p of parts) assert.match(e.message, p);
        return true;
      });
    };

    it('argument mistakes are TypeError / RangeError naming the option', async () => {
      await rejects({ format: 'uint8' }, TypeError, /config\.input\.format/, /'uint8-nhwc-bgr'/);
      await rejects('uint8-nhwc-bgr', TypeError, /config\.input/);
      await rejects({ format: 'uint8-nhwc-bgr', mean: [1, 2] }, RangeError, /1 or 3 mean values/, /config\.input\.mean/);
      await rejects({ format: 'uint8-nhwc-bgr', mean: [1, NaN, 3] }, TypeError, /finite numbers/);
      await rejects({ format: 'uint8-nhwc-bgr', imageSize: [3, 8] }, RangeError, /at least 4x4/, /config\.input\.imageSize/);
      await rejects({ format: 'uint8-nhwc-bgr', imageSize: [4.5, 8] }, TypeError, /\[height, width\]/);
      await rejects({ format: 'uint8-nhwc-bgr', mean: [1], meanFile: 'm.binaryproto' }, RangeError, /one of mean and meanFile/);
      await rejects({ format: 'uint8-nhwc-bgr', scale: Infinity }, RangeError, /a finite number for config\.input\.scale/);
      await rejects({ format: 'uint8-nhwc-bgr', networkOrder: 'grb' }, TypeError, /'bgr' or 'rgb'/);
      await rejects({ format: 'uint8-nhwc-bgr', name: 'image' }, RangeError, /an input of identity \('data'\)/);
      await rejects({ format: 'float32', scale: 2 }, RangeError, /a uint8 format \(scale describes uint8 images\)/);
      await assert.rejects(
        build({ format: 'uint8-nhwc-rgb' }, 1),
        (e: Error) => e instanceof RangeError && /'uint8-nhwc'.*1 channel\)/.test(e.message),
      );
      await assert.rejects(build({ format: 'uint8-nhwc' }, 5), (e: Error) => e instanceof RangeError && /1 to 4 channels/.test(e.message));
    });

    it('mean files: missing (E_IO), not a blob (E_PARSE), the wrong size (E_SHAPE, naming the image size to use)', async () => {
      await fails(build({ format: 'uint8-nhwc-bgr', meanFile: path.join(tmpDir, 'none.binaryproto') }), 'E_IO', 'none.binaryproto');
      const junk = path.join(tmpDir, 'junk.binaryproto');
      fs.writeFileSync(junk, Buffer.from('not a protobuf at all, just text'));
      await fails(build({ format: 'uint8-nhwc-bgr', meanFile: junk }), 'E_PARSE', 'junk.binaryproto');
      const big = path.join(tmpDir, 'big.binaryproto');
      fs.writeFileSync(big, formatMeanFile([3, 6, 7], new Float32Array(126)));
      await fails(
        build({ format: 'uint8-nhwc-bgr', meanFile: big }),
        'E_SHAPE',
        'is [3, 6, 7]',
        'takes [3, 4, 4]',
        'imageSize [6, 7]',
        '--imageSize 6x7',
      );
      await fails(build({ format: 'uint8-nhwc-bgr', meanFile: big, imageSize: [6, 6] }), 'E_SHAPE', 'is [3, 6, 7]', 'takes [3, 6, 6]');
    });

    it('transform_param mistakes: the wrong mean_value count (E_SHAPE), both means (E_INVALID_ARGUMENT), a missing mean_file (E_IO)', async () => {
      await fails(
        build({ format: 'uint8-nhwc-bgr' }, 3, 4, 4, 'transform_param { mean_value: 1 mean_value: 2 }'),
        'E_SHAPE',
        "layer 'data'",
        '2 mean_value entries for 3 channels',
      );
      await fails(
        build({ format: 'uint8-nhwc-bgr' }, 3, 4, 4, 'transform_param { mean_value: 1 mean_file: "m.binaryproto" }'),
        'E_INVALID_ARGUMENT',
        'both mean_file and mean_value',
      );
      await fails(
        build({ format: 'uint8-nhwc-bgr' }, 3, 4, 4, 'transform_param { mean_file: "nowhere/m.binaryproto" }'),
        'E_IO',
        'nowhere/m.binaryproto',
        '--meanFile',
      );
      // Options replace the file's mean: neither mistake matters then.
      (await build({ format: 'uint8-nhwc-bgr', mean: [0] }, 3, 4, 4, 'transform_param { mean_value: 1 mean_value: 2 }')).dispose();
    });
  });

  describe('mean files', () => {
    it('round trip; BlobShape and legacy shapes, float and double payloads, [1, C, H, W] taken as [C, H, W]', () => {
      const data = Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 3);
      const parsed = parseMeanFile(formatMeanFile([2, 3, 4], data));
      assert.deepEqual(parsed.shape, [2, 3, 4]);
      assert.deepEqual([...parsed.data], [...data]);
      // BlobShape { dim: 1 dim: 2 dim: 3 dim: 4 } (field 7) with double_data (field 8, packed).
      const dims = Buffer.from([0x0a, 0x04, 1, 2, 3, 4]);
      const doubles = Buffer.alloc(24 * 8);
      data.forEach((v, i) => doubles.writeDoubleLE(v, i * 8));
      const bytes = Buffer.concat([Buffer.from([0x3a, dims.length]), dims, Buffer.from([0x42, 0xc0, 0x01]), doubles]);
      const shaped = parseMeanFile(bytes);
      assert.deepEqual(shaped.shape, [2, 3, 4]);
      assert.deepEqual([...shaped.data], [...data]);
      assert.throws(() => parseMeanFile(formatMeanFile([2, 3, 4], data.subarray(1))), /needs 24 values but the blob has 23/);
      assert.equal(count([2, 3, 4]), 24);
    });
  });
});
