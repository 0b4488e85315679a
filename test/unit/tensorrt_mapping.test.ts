/**
 * The tensorrt backend's pure mapping (native/backends/tensorrt/mapping.h): execution graphs made
 * by the real pipeline (prototxt -> Network -> planExecGraph) go through a g++-built harness
 * (test/native/tensorrt_mapping_main.cc) that prints the TensorRT calls as JSON. Every IR op is
 * mapped here, in fp32, tf32, fp16 and int8, and the calls are checked for what they mean: the
 * pooled sizes TensorRT's floor rule gives with our post-padding, Caffe's AVE divisors, weights
 * shapes, activation parameters, Q/DQ scales. No TensorRT is needed (or used).
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadPlugin, Network, type InputOptions, type Precision } from '../../lib';
import { formatMeanFile } from '../../lib/caffe';
import { planExecGraph, type ExecGraph } from '../../lib/builder/exec_graph';
import { resolveInput } from '../../lib/builder/input_format';
import { LAYER_TYPES } from '../../lib/network/types';

interface Call {
  method: string;
  layer: string;
  node: string;
  inputs: string[];
  outputs: string[];
  args: Record<string, number | number[] | string | boolean>;
}
interface Weights {
  id: string;
  type: string;
  dims: number[];
  count: number;
  blob?: string;
  values?: number[];
}
interface Plan {
  strongly_typed: boolean;
  tf32: boolean;
  compute_type: string;
  max_batch: number;
  weights: Weights[];
  calls: Call[];
}
interface Mapped {
  plan?: Plan;
  error?: { code: string; message: string };
  graph: ExecGraph;
  blobs: Float32Array[];
}

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SOURCES = [
  'test/native/tensorrt_mapping_main.cc',
  'native/backends/tensorrt/mapping.cc',
  'native/core/json.cc',
  'native/core/graph.cc',
  'native/core/op_kind.cc',
  'native/core/weights.cc',
  'native/core/op_init.cc',
  'native/core/gemm_node.cc',
  'native/core/build_info.cc',
];

/** Every op of the execution graph; the tests below must map each one. */
const ALL_OPS = [
  'Convolution',
  'Deconvolution',
  'Pooling',
  'LRN',
  'ReLU',
  'PReLU',
  'ELU',
  'Sigmoid',
  'TanH',
  'AbsVal',
  'Power',
  'BNLL',
  'Exp',
  'Log',
  'Threshold',
  'InnerProduct',
  'Softmax',
  'Concat',
  'Eltwise',
  'BatchNorm',
  'Scale',
  'Bias',
  'Flatten',
  'Reshape',
  'Slice',
  'Crop',
  'ArgMax',
  'MVN',
  'Tile',
  'ShuffleChannel',
  'Permute',
  'Normalize',
  'PriorBox',
  'DetectionOutput',
  'Upsample',
  'Interp',
  'Reduction',
  'Embed',
  'Clip',
  'Swish',
  'Plugin',
  'ROIPooling',
  'PSROIPooling',
  'Proposal',
  'Quantize',
  'Preprocess',
];

/** Blob i, element j: positive values that differ per element (variances and factors stay > 0). */
function blobValues(i: number, n: number): Float32Array {
  const v = new Float32Array(n);
  for (let j = 0; j < n; j++) v[j] = 0.25 + ((i * 31 + j * 17) % 64) / 64;
  return v;
}

const input = (dims: number[], name = 'data') =>
  `layer { name: "${name}" type: "Input" top: "${name}" input_param { shape { ${dims.map((d) => `dim: ${d}`).join(' ')} } } }\n`;

describe('tensorrt backend: IR -> TensorRT call mapping (g++ harness)', function () {
  let harness = '';
  let dir = '';
  const mappedOps = new Set<string>();
  /** Ops the mapping refuses on purpose (TensorRT runs them as plugins), each with a test that it says so. */
  const refusedOps = new Set<string>();

  before(function () {
    this.timeout(300000);
    const gxx = spawnSync('g++', ['--version']);
    if (gxx.error !== undefined || gxx.status !== 0) {
      console.log('    (skipped: g++ is not installed, so the mapping harness cannot be built)');
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-mapping-'));
    harness = path.join(dir, 'tensorrt_mapping');
    const params = fs
      .readdirSync(path.join(ROOT, 'native/core'))
      .filter((f) => f.endsWith('_params.cc'))
      .map((f) => `native/core/${f}`);
    const r = spawnSync(
      'g++',
      ['-std=c++17', '-O1', '-Wall', '-Wextra', '-Werror', '-Inative', '-DNAPI_VERSION=8', '-o', harness, ...SOURCES, ...params],
      { cwd: ROOT, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, `g++ failed:\n${r.stderr}`);
  });

  after(() => {
    if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
  });

  async function map(
    body: string,
    precision: Precision = 'fp32',
    opts: { maxBatch?: number; int8Scales?: Record<string, number>; optimize?: boolean; input?: InputOptions } = {},
  ): Promise<Mapped> {
    const net = await Network.parse(`name: "t"\n${body}`, { file: 't.prototxt' });
    const preprocess = (await resolveInput(net, opts.input))?.spec;
    const graph = planExecGraph(net, {
      precision,
      maxBatchSize: opts.maxBatch ?? 4,
      optimize: opts.optimize,
      int8Scales: opts.int8Scales,
      preprocess,
    });
    const blobs = graph.weights.map((w, i) =>
      blobValues(
        i,
        w.dims.reduce((a, b) => a * b, 1),
      ),
    );
    const gpath = path.join(dir, 'graph.json');
    const wpath = path.join(dir, 'weights.f32');
    fs.writeFileSync(gpath, JSON.stringify(graph));
    fs.writeFileSync(wpath, Buffer.concat(blobs.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))));
    const r = spawnSync(harness, [gpath, wpath], { encoding: 'utf8' });
    const out = JSON.parse(r.stdout) as { error?: { code: string; message: string } } & Partial<Plan>;
    if (out.error !== undefined) {
      assert.equal(r.status, 1);
      return { error: out.error, graph, blobs };
    }
    assert.equal(r.status, 0, r.stderr);
    for (const n of graph.nodes) mappedOps.add(n.op);
    return { plan: out as Plan, graph, blobs };
  }

  async function plan(
    body: string,
    precision: Precision = 'fp32',
    opts: Parameters<typeof map>[2] = {},
  ): Promise<Plan & { graph: ExecGraph; blobs: Float32Array[] }> {
    const m = await map(body, precision, opts);
    assert.ok(m.plan !== undefined, `mapping failed: ${JSON.stringify(m.error)}`);
    return { ...m.plan, graph: m.graph, blobs: m.blobs };
  }

  const callsOf = (p: Plan, node: string) => p.calls.filter((c) => c.node === node);
  const methodsOf = (p: Plan, node: string) => callsOf(p, node).map((c) => c.method);
  function only(p: Plan, node: string, method: string): Call {
    const cs = callsOf(p, node).filter((c) => c.method === method);
    assert.equal(cs.length, 1, `expected one ${method} for '${node}', got ${cs.length} (${methodsOf(p, node).join(', ')})`);
    return cs[0];
  }
  const weights = (p: Plan, id: string): Weights => {
    const w = p.weights.find((x) => x.id === id);
    assert.ok(w !== undefined, `no weights '${id}'`);
    return w;
  };
  const dimsOf = (g: ExecGraph, name: string) => {
    const t = g.tensors.find((x) => x.name === name);
    assert.ok(t !== undefined, `no tensor ${name}`);
    return [...t.dims];
  };
  const layer = (p: Plan, name: string): Call => {
    const c = p.calls.find((x) => x.layer === name);
    assert.ok(c !== undefined, `no layer '${name}'`);
    return c;
  };
  /** The producer of `name` among the calls. */
  const producer = (p: Plan, name: string) => p.calls.find((c) => c.outputs.includes(name));

  describe('network inputs, outputs and precisions', () => {
    const NET =
      input([1, 3, 8, 8]) +
      'layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 4 kernel_size: 3 } }\n';

    it('fp32: a strongly typed network, TF32 off, a dynamic batch with a 1..maxBatch profile', async () => {
      const p = await plan(NET, 'fp32', { maxBatch: 16 });
      assert.equal(p.strongly_typed, true);
      assert.equal(p.tf32, false);
      assert.equal(p.compute_type, 'kFLOAT');
      const inp = p.calls[0];
      assert.equal(inp.method, 'addInput');
      assert.deepEqual(inp.args.dimensions, [-1, 3, 8, 8]);
      assert.equal(inp.args.type, 'kFLOAT');
      assert.deepEqual([inp.args.profileMin, inp.args.profileOpt, inp.args.profileMax], [1, 16, 16]);
      const last = p.calls[p.calls.length - 1];
      assert.equal(last.method, 'markOutput');
      assert.deepEqual(last.inputs, ['conv1']);
      assert.equal(weights(p, 'conv1/weights').type, 'kFLOAT');
    });

    it('tf32: only the builder flag differs', async () => {
      const p = await plan(NET, 'tf32');
      assert.equal(p.tf32, true);
      assert.equal(p.compute_type, 'kFLOAT');
    });

    it('fp16: the input is cast to half, weights are half, the output is cast back to float', async () => {
      const p = await plan(NET, 'fp16');
      assert.equal(p.compute_type, 'kHALF');
      assert.equal(p.tf32, false);
      const toHalf = p.calls.find((c) => c.method === 'addCast' && c.inputs[0] === 'data');
      assert.ok(toHalf !== undefined);
      assert.equal(toHalf.args.toType, 'kHALF');
      assert.deepEqual(only(p, 'conv1', 'addConvolutionNd').inputs, ['data/half']);
      assert.deepEqual(only(p, 'conv1', 'addConvolutionNd').outputs, ['conv1/half']);
      assert.equal(weights(p, 'conv1/weights').type, 'kHALF');
      assert.equal(weights(p, 'conv1/bias').type, 'kHALF');
      const back = producer(p, 'conv1');
      assert.ok(back !== undefined);
      assert.equal(back.method, 'addCast');
      assert.equal(back.args.toType, 'kFLOAT');
    });
  });

  describe('Convolution and Deconvolution', () => {
    it('maps kernel, stride, symmetric pre/post padding, dilation, groups and KCRS weights', async () => {
      const p = await plan(
        input([1, 4, 9, 9]) +
          'layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 6 kernel_h: 3 kernel_w: 2 stride_h: 2 stride_w: 1 pad_h: 1 pad_w: 0 dilation: 2 group: 2 } }\n',
      );
      const c = only(p, 'c', 'addConvolutionNd');
      assert.equal(c.args.nbOutputMaps, 6);
      assert.deepEqual(c.args.kernelSize, [3, 2]);
      assert.deepEqual(c.args.stride, [2, 1]);
      assert.deepEqual(c.args.prePadding, [1, 0]);
      assert.deepEqual(c.args.postPadding, [1, 0]);
      assert.deepEqual(c.args.dilation, [2, 2]);
      assert.equal(c.args.nbGroups, 2);
      assert.deepEqual(weights(p, c.args.kernelWeights as string).dims, [6, 2, 3, 2]);
      assert.deepEqual(weights(p, c.args.biasWeights as string).dims, [6]);
      // TensorRT's floor rule with these settings gives the graph's output dims.
      const out = dimsOf(p.graph, 'c');
      const k = c.args.kernelSize as number[];
      [9, 9].forEach((inSize, a) => {
        const ext = (c.args.dilation as number[])[a] * (k[a] - 1) + 1;
        const o =
          Math.floor(
            (inSize + (c.args.prePadding as number[])[a] + (c.args.postPadding as number[])[a] - ext) / (c.args.stride as number[])[a],
          ) + 1;
        assert.equal(o, out[a + 1]);
      });
    });

    it('folded BatchNorm + Scale leave one convolution; a fused leaky ReLU becomes kLEAKY_RELU with its slope', async () => {
      const p = await plan(
        input([1, 3, 8, 8]) +
          'layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 4 kernel_size: 3 } }\n' +
          'layer { name: "bn" type: "BatchNorm" bottom: "c" top: "c" }\n' +
          'layer { name: "sc" type: "Scale" bottom: "c" top: "c" scale_param { bias_term: true } }\n' +
          'layer { name: "r" type: "ReLU" bottom: "c" top: "c" relu_param { negative_slope: 0.1 } }\n',
      );
      assert.deepEqual(
        p.graph.nodes.map((n) => n.op),
        ['Convolution'],
      );
      assert.deepEqual(methodsOf(p, 'c'), ['addConvolutionNd', 'addActivation']);
      const act = only(p, 'c', 'addActivation');
      assert.equal(act.args.type, 'kLEAKY_RELU');
      assert.equal(act.args.alpha, Math.fround(0.1));
      assert.equal(act.outputs[0], p.graph.tensors[p.graph.outputs[0]].name);
    });

    it('a 1-D convolution runs as 2-D through reshapes', async () => {
      const p = await plan(
        input([1, 2, 10]) +
          'layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 3 kernel_size: 3 pad: 1 } }\n',
      );
      assert.deepEqual(methodsOf(p, 'c'), ['addShuffle', 'addConvolutionNd', 'addShuffle']);
      const c = only(p, 'c', 'addConvolutionNd');
      assert.deepEqual(c.args.kernelSize, [3, 1]);
      assert.deepEqual(c.args.prePadding, [1, 0]);
      assert.deepEqual(weights(p, 'c/weights').dims, [3, 2, 3, 1]);
      assert.deepEqual(callsOf(p, 'c')[0].args.reshapeDimensions, [0, 2, 10, 1]);
      assert.deepEqual(callsOf(p, 'c')[2].args.reshapeDimensions, [0, 3, 10]);
    });

    it('a convolution over 4 spatial axes is E_UNSUPPORTED_LAYER naming the node', async () => {
      const m = await map(
        input([1, 1, 3, 3, 3, 3]) +
          'layer { name: "c4" type: "Convolution" bottom: "data" top: "c4" convolution_param { num_output: 2 kernel_size: 2 } }\n',
      );
      assert.equal(m.error?.code, 'E_UNSUPPORTED_LAYER');
      assert.match(m.error?.message ?? '', /'c4' \(Convolution\).*4/);
    });

    it('Deconvolution: addDeconvolutionNd with CKRS weights [C_in, C_out / group, k, k]', async () => {
      const p = await plan(
        input([1, 4, 5, 5]) +
          'layer { name: "d" type: "Deconvolution" bottom: "data" top: "d" convolution_param { num_output: 6 kernel_size: 4 stride: 2 pad: 1 group: 2 } }\n',
      );
      const d = only(p, 'd', 'addDeconvolutionNd');
      assert.deepEqual(weights(p, d.args.kernelWeights as string).dims, [4, 3, 4, 4]);
      assert.deepEqual([d.args.stride, d.args.prePadding, d.args.postPadding, d.args.nbGroups], [[2, 2], [1, 1], [1, 1], 2]);
      // TensorRT: (in - 1) s + k - pre - post = Caffe's deconvolution size.
      assert.equal((5 - 1) * 2 + 4 - 1 - 1, dimsOf(p.graph, 'd')[1]);
    });
  });

  describe('Pooling', () => {
    const pool = (h: number, param: string, top = 'p') =>
      input([1, 2, h, h]) + `layer { name: "p" type: "Pooling" bottom: "data" top: "${top}" pooling_param { ${param} } }\n`;

    /** TensorRT's pooled size (explicit padding, round down) from the call's own arguments. */
    function trtSize(c: Call, inSize: number, axis: number): number {
      const k = (c.args.windowSize as number[])[axis];
      const s = (c.args.stride as number[])[axis];
      return Math.floor((inSize + (c.args.prePadding as number[])[axis] + (c.args.postPadding as number[])[axis] - k) / s) + 1;
    }

    const geometries: Array<[number, string]> = [
      [6, 'pool: MAX kernel_size: 3 stride: 2'], // ceil adds one window: post 1
      [6, 'pool: MAX kernel_size: 3 stride: 2 pad: 1'], // ceil, padded
      [5, 'pool: MAX kernel_size: 2 stride: 2 pad: 1'], // Caffe drops the window starting in the padding
      [7, 'pool: MAX kernel_size: 3 stride: 2 round_mode: FLOOR'],
      [8, 'pool: AVE kernel_size: 3 stride: 3 pad: 2'],
      [13, 'pool: MAX kernel_size: 3 stride: 2'], // AlexNet's pool5 geometry
    ];
    for (const [h, param] of geometries) {
      it(`post-padding gives Caffe's pooled size: input ${h}, ${param}`, async () => {
        const p = await plan(pool(h, param));
        const c = only(p, 'p', 'addPoolingNd');
        assert.equal(c.args.paddingMode, 'kEXPLICIT_ROUND_DOWN');
        const out = dimsOf(p.graph, 'p');
        assert.equal(trtSize(c, h, 0), out[1]);
        assert.equal(trtSize(c, h, 1), out[2]);
        assert.deepEqual(c.args.prePadding, (c.args.prePadding as number[]).map(() => /pad: (\d)/.exec(param)?.[1] ?? 0).map(Number));
      });
    }

    it('ceil mode: post-padding = pad + 1 where the last window needs it', async () => {
      const p = await plan(pool(6, 'pool: MAX kernel_size: 3 stride: 2 pad: 1'));
      const c = only(p, 'p', 'addPoolingNd');
      // out = ceil((6 + 2 - 3) / 2) + 1 = 4; the last window [5, 8) needs 2 past the input.
      assert.deepEqual(dimsOf(p.graph, 'p'), [2, 4, 4]);
      assert.deepEqual(c.args.prePadding, [1, 1]);
      assert.deepEqual(c.args.postPadding, [2, 2]);
      assert.equal(c.args.type, 'kMAX');
    });

    it("AVE counts padding and corrects the windows that reach the extra post-padding to Caffe's divisor", async () => {
      const p = await plan(pool(6, 'pool: AVE kernel_size: 3 stride: 2 pad: 1'));
      const c = only(p, 'p', 'addPoolingNd');
      assert.equal(c.args.type, 'kAVERAGE');
      assert.equal(c.args.averageCountExcludesPadding, false);
      const mul = only(p, 'p', 'addElementWise');
      assert.equal(mul.args.operation, 'kPROD');
      const w = weights(p, 'p/ave_divisor_correction');
      assert.deepEqual(w.dims, [1, 1, 4, 4]);
      // Windows along an axis start at -1, 1, 3, 5; Caffe clips them to [-1, 7): sizes 3, 3, 3, 2.
      // TensorRT's padded input is [-1, 8): every window is 3. Factor = 9 / (caffe_h * caffe_w).
      const caffe = [3, 3, 3, 2];
      const want: number[] = [];
      for (const a of caffe) for (const b of caffe) want.push(9 / (a * b));
      assert.deepEqual(w.values, want);
    });

    it('AVE without extra post-padding needs no correction (floor mode, or ceil that divides evenly)', async () => {
      for (const param of ['pool: AVE kernel_size: 3 stride: 2 pad: 1 round_mode: FLOOR', 'pool: AVE kernel_size: 3 stride: 1 pad: 1']) {
        const p = await plan(pool(6, param));
        assert.deepEqual(methodsOf(p, 'p'), ['addPoolingNd'], param);
        const c = only(p, 'p', 'addPoolingNd');
        assert.deepEqual(c.args.postPadding, c.args.prePadding);
      }
    });

    it('global pooling takes the whole plane as its window', async () => {
      const p = await plan(pool(7, 'pool: AVE global_pooling: true'));
      const c = only(p, 'p', 'addPoolingNd');
      assert.deepEqual(c.args.windowSize, [7, 7]);
      assert.deepEqual(dimsOf(p.graph, 'p'), [2, 1, 1]);
    });

    it('STOCHASTIC (test phase) is sum(x^2) / sum(x): two average pools over one window, divided', async () => {
      const p = await plan(pool(6, 'pool: STOCHASTIC kernel_size: 2 stride: 2'));
      assert.deepEqual(methodsOf(p, 'p'), ['addElementWise', 'addPoolingNd', 'addPoolingNd', 'addElementWise']);
      const [sq, , , div] = callsOf(p, 'p');
      assert.equal(sq.args.operation, 'kPROD');
      assert.deepEqual(sq.inputs, ['data', 'data']);
      assert.equal(div.args.operation, 'kDIV');
    });

    it('a MAX mask output: the TRTN_Node plugin (TensorRT pooling has no argmax output); the mask stays float32 in fp16', async () => {
      const text =
        input([1, 2, 6, 6]) +
        'layer { name: "pm" type: "Pooling" bottom: "data" top: "pm" top: "mask" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }\n';
      const p = await plan(text);
      const c = only(p, 'pm', 'addPluginV3');
      assert.deepEqual([c.inputs, c.outputs], [['data'], ['pm', 'mask']]);
      const h = await plan(text, 'fp16');
      // Half: the input cast to float for the plugin; the pooled values cast back to half for
      // readers and kept float32 for the output; the mask (indices) never rounded to half.
      assert.deepEqual(methodsOf(h, 'pm'), ['addCast', 'addPluginV3', 'addCast', 'addIdentity']);
      const hc = only(h, 'pm', 'addPluginV3');
      assert.deepEqual([hc.inputs, hc.outputs], [['pm/input0_float'], ['pm/output0_float', 'mask']]);
      assert.equal(producer(h, 'pm')?.method, 'addIdentity');
      assert.equal(producer(h, 'mask')?.method, 'addPluginV3');
    });
  });

  describe('LRN', () => {
    const lrn = (param: string) =>
      input([1, 20, 5, 5]) + `layer { name: "n" type: "LRN" bottom: "data" top: "n" lrn_param { ${param} } }\n`;

    it("ACROSS_CHANNELS up to window 15 is addLRN with Caffe's parameters unchanged", async () => {
      const p = await plan(lrn('local_size: 5 alpha: 0.0001 beta: 0.75 k: 2'));
      const c = only(p, 'n', 'addLRN');
      assert.deepEqual([c.args.window, c.args.alpha, c.args.beta, c.args.k], [5, Math.fround(0.0001), 0.75, 2]);
    });

    it('ACROSS_CHANNELS over 15 is composed: x^2, a [size, 1] average along C, (k + alpha avg)^-beta, times x', async () => {
      const p = await plan(lrn('local_size: 17 alpha: 0.5 beta: 0.75 k: 2'));
      assert.equal(callsOf(p, 'n').filter((c) => c.method === 'addLRN').length, 0);
      const view = callsOf(p, 'n').find((c) => c.method === 'addShuffle');
      assert.deepEqual(view?.args.reshapeDimensions, [0, 1, 20, 25]);
      const pool = only(p, 'n', 'addPoolingNd');
      assert.deepEqual(
        [pool.args.windowSize, pool.args.prePadding, pool.args.postPadding],
        [
          [17, 1],
          [8, 0],
          [8, 0],
        ],
      );
      assert.equal(pool.args.averageCountExcludesPadding, false);
      const sc = only(p, 'n', 'addScale');
      assert.deepEqual(weights(p, sc.args.shift as string).values, [2]);
      assert.deepEqual(weights(p, sc.args.scale as string).values, [0.5]);
      assert.deepEqual(weights(p, sc.args.power as string).values, [-0.75]);
      const last = callsOf(p, 'n').at(-1) as Call;
      assert.equal(last.args.operation, 'kPROD');
      assert.equal(last.inputs[0], 'data');
    });

    it('WITHIN_CHANNEL is composed: a size x size average with pad (size - 1) / 2, (1 + alpha avg)^-beta (k unused)', async () => {
      const p = await plan(lrn('local_size: 3 alpha: 0.5 beta: 0.75 k: 2 norm_region: WITHIN_CHANNEL'));
      const pool = only(p, 'n', 'addPoolingNd');
      assert.deepEqual(
        [pool.args.windowSize, pool.args.prePadding, pool.args.postPadding],
        [
          [3, 3],
          [1, 1],
          [1, 1],
        ],
      );
      const sc = only(p, 'n', 'addScale');
      assert.deepEqual(weights(p, sc.args.shift as string).values, [1]);
    });
  });

  describe('activations', () => {
    const act = (type: string, param = '', dims = [1, 2, 3, 3]) =>
      input(dims) + `layer { name: "a" type: "${type}" bottom: "data" top: "a" ${param} }\n`;
    const cases: Array<[string, string, string[], (p: Plan) => void]> = [
      ['ReLU', '', ['addActivation'], (p) => assert.equal(only(p, 'a', 'addActivation').args.type, 'kRELU')],
      [
        'ReLU',
        'relu_param { negative_slope: 0.25 }',
        ['addActivation'],
        (p) => {
          const c = only(p, 'a', 'addActivation');
          assert.deepEqual([c.args.type, c.args.alpha], ['kLEAKY_RELU', 0.25]);
        },
      ],
      [
        'ELU',
        'elu_param { alpha: 0.5 }',
        ['addActivation'],
        (p) => {
          const c = only(p, 'a', 'addActivation');
          assert.deepEqual([c.args.type, c.args.alpha], ['kELU', 0.5]);
        },
      ],
      ['Sigmoid', '', ['addActivation'], (p) => assert.equal(only(p, 'a', 'addActivation').args.type, 'kSIGMOID')],
      ['TanH', '', ['addActivation'], (p) => assert.equal(only(p, 'a', 'addActivation').args.type, 'kTANH')],
      ['AbsVal', '', ['addUnary'], (p) => assert.equal(only(p, 'a', 'addUnary').args.operation, 'kABS')],
      [
        'BNLL',
        '',
        ['addActivation'],
        (p) => {
          const c = only(p, 'a', 'addActivation');
          assert.deepEqual([c.args.type, c.args.alpha, c.args.beta], ['kSOFTPLUS', 1, 1]);
        },
      ],
      [
        'Power',
        'power_param { power: 2 scale: 0.5 shift: 1 }',
        ['addScale'],
        (p) => {
          const c = only(p, 'a', 'addScale');
          assert.equal(c.args.mode, 'kUNIFORM');
          assert.deepEqual(
            [c.args.shift, c.args.scale, c.args.power].map((id) => weights(p, id as string).values),
            [[1], [0.5], [2]],
          );
        },
      ],
      [
        'Power',
        'power_param { power: 0 scale: 3 shift: 2 }',
        ['addScale'],
        (p) => {
          // Caffe's constant case: x^0 = 1 whatever the input: 0 x + 1.
          const c = only(p, 'a', 'addScale');
          assert.deepEqual(
            [c.args.shift, c.args.scale, c.args.power].map((id) => weights(p, id as string).values),
            [[1], [0], [1]],
          );
        },
      ],
      [
        'Exp',
        'exp_param { base: 2 scale: 3 shift: 1 }',
        ['addScale', 'addUnary'],
        (p) => {
          const c = only(p, 'a', 'addScale');
          assert.deepEqual(weights(p, c.args.scale as string).values, [Math.fround(3 * Math.LN2)]);
          assert.deepEqual(weights(p, c.args.shift as string).values, [Math.fround(Math.LN2)]);
          assert.equal(only(p, 'a', 'addUnary').args.operation, 'kEXP');
        },
      ],
      ['Exp', '', ['addUnary'], (p) => assert.equal(only(p, 'a', 'addUnary').args.operation, 'kEXP')],
      [
        'Log',
        'log_param { base: 10 scale: 2 shift: 1 }',
        ['addScale', 'addUnary', 'addScale'],
        (p) => {
          const [pre, , post] = callsOf(p, 'a');
          assert.deepEqual(
            [pre.args.shift, pre.args.scale].map((id) => weights(p, id as string).values),
            [[1], [2]],
          );
          assert.deepEqual(weights(p, post.args.scale as string).values, [Math.fround(1 / Math.LN10)]);
        },
      ],
      [
        'Threshold',
        'threshold_param { threshold: 0.5 }',
        ['addConstant', 'addElementWise', 'addCast'],
        (p) => {
          assert.equal(only(p, 'a', 'addElementWise').args.operation, 'kGREATER');
          assert.deepEqual(weights(p, 'a/threshold').values, [0.5]);
          assert.deepEqual(weights(p, 'a/threshold').dims, [1, 1, 1, 1]);
          assert.equal(only(p, 'a', 'addCast').args.toType, 'kFLOAT');
        },
      ],
      [
        'Clip',
        'clip_param { min: -1 max: 2 }',
        ['addActivation'],
        (p) => {
          const c = only(p, 'a', 'addActivation');
          assert.deepEqual([c.args.type, c.args.alpha, c.args.beta], ['kCLIP', -1, 2]);
        },
      ],
      [
        'Swish',
        'swish_param { beta: 2 }',
        ['addScale', 'addActivation', 'addElementWise'],
        (p) => {
          const mul = only(p, 'a', 'addElementWise');
          assert.deepEqual([mul.args.operation, mul.inputs[0]], ['kPROD', 'data']);
        },
      ],
      ['Swish', '', ['addActivation', 'addElementWise'], () => undefined],
    ];
    for (const [type, param, methods, check] of cases) {
      it(`${type} ${param}`.trim(), async () => {
        const p = await plan(act(type, param));
        assert.deepEqual(methodsOf(p, 'a'), methods);
        check(p);
      });
    }

    it('Power on a 2-D tensor goes through a [N, V, 1, 1] view (the Scale layer needs 4 dims)', async () => {
      const p = await plan(act('Power', 'power_param { power: 3 }', [1, 10]));
      assert.deepEqual(methodsOf(p, 'a'), ['addShuffle', 'addScale', 'addShuffle']);
      assert.deepEqual(callsOf(p, 'a')[0].args.reshapeDimensions, [0, 10, 1, 1]);
      assert.deepEqual(callsOf(p, 'a')[2].args.reshapeDimensions, [0, 10]);
    });

    it('PReLU: per-channel slopes as a [1, C, 1, 1] constant; a shared slope as [1, 1, 1, 1]', async () => {
      const p = await plan(act('PReLU'));
      assert.deepEqual(methodsOf(p, 'a'), ['addConstant', 'addParametricReLU']);
      assert.deepEqual(weights(p, 'a/slope').dims, [1, 2, 1, 1]);
      assert.equal(weights(p, 'a/slope').blob, 'a/0');
      const s = await plan(act('PReLU', 'prelu_param { channel_shared: true }'));
      assert.deepEqual(weights(s, 'a/slope').dims, [1, 1, 1, 1]);
    });
  });

  describe('InnerProduct', () => {
    it('flattens to [N, K], multiplies by the [N_out, K] constant transposed, adds a [1, N_out] bias', async () => {
      const p = await plan(
        input([1, 3, 4, 4]) + 'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 5 } }\n',
      );
      assert.deepEqual(methodsOf(p, 'ip'), ['addShuffle', 'addConstant', 'addMatrixMultiply', 'addConstant', 'addElementWise']);
      assert.deepEqual(callsOf(p, 'ip')[0].args.reshapeDimensions, [0, 48]);
      assert.deepEqual(weights(p, 'ip/weights').dims, [5, 48]);
      const mm = only(p, 'ip', 'addMatrixMultiply');
      assert.deepEqual([mm.args.op0, mm.args.op1], ['kNONE', 'kTRANSPOSE']);
      assert.deepEqual(weights(p, 'ip/bias').dims, [1, 5]);
      assert.equal(only(p, 'ip', 'addElementWise').args.operation, 'kSUM');
    });

    it('transpose: [K, N_out] weights, no transpose in the multiply; axis 2 keeps a row dimension', async () => {
      const p = await plan(
        input([1, 3, 4, 4]) +
          'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 5 transpose: true axis: 2 bias_term: false } }\n',
      );
      assert.deepEqual(callsOf(p, 'ip')[0].args.reshapeDimensions, [0, 3, 16]);
      assert.deepEqual(weights(p, 'ip/weights').dims, [1, 16, 5]);
      assert.equal(only(p, 'ip', 'addMatrixMultiply').args.op1, 'kNONE');
      assert.equal(callsOf(p, 'ip').filter((c) => c.method === 'addElementWise').length, 0, 'no bias term, no add');
      assert.deepEqual(dimsOf(p.graph, 'ip'), [3, 5]);
    });
  });

  describe('structure', () => {
    it('Softmax: the axis as a bit mask', async () => {
      const p = await plan(input([1, 10, 2]) + 'layer { name: "s" type: "Softmax" bottom: "data" top: "s" softmax_param { axis: 2 } }\n');
      assert.equal(only(p, 's', 'addSoftMax').args.axes, 1 << 2);
    });

    it("Concat along its axis; Eltwise SUM with coefficients, PROD and MAX in Caffe's input order, with a fused ReLU", async () => {
      const base =
        input([1, 2, 3, 3]) +
        'layer { name: "a" type: "Sigmoid" bottom: "data" top: "a" }\nlayer { name: "b" type: "TanH" bottom: "data" top: "b" }\n';
      const c = await plan(
        base + 'layer { name: "c" type: "Concat" bottom: "a" bottom: "b" bottom: "a" top: "c" concat_param { axis: 1 } }\n',
      );
      const cat = only(c, 'c', 'addConcatenation');
      assert.deepEqual([cat.inputs, cat.args.axis], [['a', 'b', 'a'], 1]);

      const s = await plan(
        base +
          'layer { name: "e" type: "Eltwise" bottom: "a" bottom: "b" top: "e" eltwise_param { operation: SUM coeff: 1 coeff: -0.5 } }\n' +
          'layer { name: "r" type: "ReLU" bottom: "e" top: "e" }\n',
      );
      assert.deepEqual(methodsOf(s, 'e'), ['addConstant', 'addElementWise', 'addElementWise', 'addActivation']);
      assert.deepEqual(weights(s, 'e/coeff1').values, [-0.5]);
      const [, scaled, sum] = callsOf(s, 'e');
      assert.deepEqual([scaled.inputs, scaled.args.operation], [['b', 'e/coeff1'], 'kPROD']);
      assert.deepEqual([sum.inputs, sum.args.operation], [['a', 'e/scaled1'], 'kSUM']);
      for (const [op, trt] of [
        ['PROD', 'kPROD'],
        ['MAX', 'kMAX'],
      ]) {
        const q = await plan(
          base + `layer { name: "e" type: "Eltwise" bottom: "a" bottom: "b" bottom: "a" top: "e" eltwise_param { operation: ${op} } }\n`,
        );
        assert.deepEqual(
          callsOf(q, 'e').map((x) => x.args.operation),
          [trt, trt],
        );
        assert.deepEqual(callsOf(q, 'e')[1].inputs, ['e/acc1', 'a']);
      }
    });

    it('Flatten and Reshape: a shuffle keeping the batch through the 0 placeholder', async () => {
      const p = await plan(
        input([1, 2, 3, 4]) +
          'layer { name: "f" type: "Flatten" bottom: "data" top: "f" }\n' +
          'layer { name: "r" type: "Reshape" bottom: "f" top: "r" reshape_param { shape { dim: 0 dim: 4 dim: -1 } } }\n',
      );
      assert.deepEqual(only(p, 'f', 'addShuffle').args.reshapeDimensions, [0, 24]);
      assert.deepEqual(only(p, 'r', 'addShuffle').args.reshapeDimensions, [0, 4, 6]);
      assert.equal(only(p, 'r', 'addShuffle').args.zeroIsPlaceholder, true);
    });

    it('Slice: one addSlice per part, the batch size taken from the running shape', async () => {
      const p = await plan(
        input([1, 6, 2, 2]) +
          'layer { name: "s" type: "Slice" bottom: "data" top: "s0" top: "s1" slice_param { axis: 1 slice_point: 2 } }\n',
      );
      const slices = callsOf(p, 's').filter((c) => c.method === 'addSlice' && c.inputs[0] === 'data');
      assert.equal(slices.length, 2);
      assert.deepEqual(
        slices.map((c) => c.args.start),
        [
          [0, 0, 0, 0],
          [0, 2, 0, 0],
        ],
      );
      assert.deepEqual(
        slices.map((c) => c.args.size),
        [
          [-1, 2, 2, 2],
          [-1, 4, 2, 2],
        ],
      );
      assert.deepEqual(
        slices.map((c) => c.outputs[0]),
        ['s0', 's1'],
      );
      // Input 2 (the size) is the batch (from addShape) joined with the static per-image dims.
      const size = producer(p, slices[1].inputs[2]);
      assert.equal(size?.method, 'addConcatenation');
      assert.deepEqual(weights(p, size?.inputs[1] as string).values, [4, 2, 2]);
      assert.equal(weights(p, size?.inputs[1] as string).type, 'kINT64');
      assert.equal(producer(p, size?.inputs[0] as string)?.method, 'addSlice');
      assert.equal(callsOf(p, 's').filter((c) => c.method === 'addShape').length, 1);
    });

    it("Crop: a slice at the offsets to the reference input's dims", async () => {
      const p = await plan(
        input([1, 2, 8, 8]) +
          input([1, 2, 5, 4], 'ref') +
          'layer { name: "c" type: "Crop" bottom: "data" bottom: "ref" top: "c" crop_param { axis: 2 offset: 1 offset: 3 } }\n',
      );
      const s = callsOf(p, 'c').filter((c) => c.method === 'addSlice' && c.inputs[0] === 'data');
      assert.equal(s.length, 1);
      assert.deepEqual(
        [s[0].args.start, s[0].args.size, s[0].args.stride],
        [
          [0, 0, 1, 3],
          [-1, 2, 5, 4],
          [1, 1, 1, 1],
        ],
      );
    });

    it('Tile: the input concatenated `tiles` times along the axis', async () => {
      const p = await plan(input([1, 2, 3]) + 'layer { name: "t" type: "Tile" bottom: "data" top: "t" tile_param { axis: 1 tiles: 3 } }\n');
      const c = only(p, 't', 'addConcatenation');
      assert.deepEqual([c.inputs, c.args.axis], [['data', 'data', 'data'], 1]);
    });
  });

  describe('ShuffleChannel', () => {
    it('one shuffle viewing [N, group, C / group, plane] with the middle axes swapped, then the input shape', async () => {
      const p = await plan(
        input([1, 6, 2, 3]) + 'layer { name: "s" type: "ShuffleChannel" bottom: "data" top: "s" shuffle_channel_param { group: 3 } }\n',
      );
      assert.deepEqual(methodsOf(p, 's'), ['addShuffle', 'addShuffle']);
      const [swap, back] = callsOf(p, 's');
      assert.deepEqual(swap.args.reshapeDimensions, [0, 3, 2, 6]);
      assert.deepEqual(swap.args.secondTranspose, [0, 2, 1, 3]);
      assert.deepEqual(back.args.reshapeDimensions, [0, 6, 2, 3]);
      assert.equal(back.outputs[0], p.graph.tensors[p.graph.outputs[0]].name);
    });
  });

  describe('SSD layers', () => {
    it('Permute: one shuffle with the order as its first transpose', async () => {
      const p = await plan(
        input([1, 6, 2, 3]) +
          'layer { name: "p" type: "Permute" bottom: "data" top: "p" permute_param { order: 0 order: 2 order: 3 order: 1 } }\n',
      );
      assert.deepEqual(methodsOf(p, 'p'), ['addShuffle']);
      assert.deepEqual(only(p, 'p', 'addShuffle').args.firstTranspose, [0, 2, 3, 1]);
    });

    it('Normalize: x^2, a sum over the channels (or the image), + eps, sqrt, divide, times the scale per channel', async () => {
      for (const [param, axes] of [
        ['norm_param { across_spatial: false channel_shared: false }', 0b10],
        ['', 0b1110],
      ] as const) {
        const p = await plan(input([1, 4, 3, 3]) + `layer { name: "n" type: "Normalize" bottom: "data" top: "n" ${param} }\n`);
        assert.deepEqual(methodsOf(p, 'n'), [
          'addElementWise',
          'addReduce',
          'addConstant',
          'addElementWise',
          'addUnary',
          'addElementWise',
          'addConstant',
          'addElementWise',
        ]);
        const reduce = only(p, 'n', 'addReduce');
        assert.deepEqual([reduce.args.operation, reduce.args.reduceAxes, reduce.args.keepDimensions], ['kSUM', axes, true]);
        assert.equal(only(p, 'n', 'addUnary').args.operation, 'kSQRT');
        const ops = callsOf(p, 'n')
          .filter((c) => c.method === 'addElementWise')
          .map((c) => c.args.operation);
        assert.deepEqual(ops, ['kPROD', 'kSUM', 'kDIV', 'kPROD']);
        const last = callsOf(p, 'n').at(-1);
        assert.equal(last?.outputs[0], p.graph.tensors[p.graph.outputs[0]].name);
      }
    });

    const ssd =
      'layer { name: "in" type: "Input" top: "f" top: "img" top: "loc" top: "conf" input_param { shape { dim: 1 dim: 2 dim: 2 dim: 2 } ' +
      'shape { dim: 1 dim: 3 dim: 20 dim: 20 } shape { dim: 1 dim: 16 } shape { dim: 1 dim: 8 } } }\n' +
      'layer { name: "pb" type: "PriorBox" bottom: "f" bottom: "img" top: "pb" prior_box_param { min_size: 4 } }\n' +
      'layer { name: "n" type: "DetectionOutput" bottom: "loc" bottom: "conf" bottom: "pb" top: "n" ' +
      'detection_output_param { num_classes: 2 nms_param { nms_threshold: 0.45 top_k: 5 } keep_top_k: 4 code_type: CENTER_SIZE } }\n';

    it("PriorBox: the boxes as a float32 constant of one image, repeated over the feature map's batch by a clamping slice", async () => {
      const p = await plan(ssd);
      assert.deepEqual(methodsOf(p, 'pb'), ['addConstant', 'addShape', 'addSlice', 'addConstant', 'addConcatenation', 'addSlice']);
      // 2 x 2 cells of one 4-pixel box over a 20-pixel image: step 10, centres at 5 and 15; the
      // variances (0.1 by default) in the second row.
      const w = weights(p, 'pb/boxes');
      assert.deepEqual([w.type, w.dims], ['kFLOAT', [1, 2, 16]]);
      const v = w.values ?? [];
      assert.deepEqual(v.slice(0, 8), [3 / 20, 3 / 20, 7 / 20, 7 / 20, 13 / 20, 3 / 20, 17 / 20, 7 / 20].map(Math.fround));
      assert.deepEqual(v.slice(16, 20), [0.1, 0.1, 0.1, 0.1].map(Math.fround));
      const repeat = callsOf(p, 'pb').at(-1);
      assert.deepEqual(repeat?.inputs, ['pb/boxes', '', 'pb/repeat_size']);
      assert.deepEqual([repeat?.args.start, repeat?.args.size, repeat?.args.mode], [[0, 0, 0], [-1, 2, 16], 'kCLAMP']);
      assert.deepEqual(only(p, 'pb', 'addConcatenation').inputs, ['f/batch', 'pb/repeat_size_rest']);
      assert.deepEqual(repeat?.outputs, ['pb']);
    });

    it('DetectionOutput: the TRTN_Node plugin carrying the node as a graph of its own, which parses and maps again', async () => {
      const p = await plan(ssd);
      assert.deepEqual(methodsOf(p, 'n'), ['addPluginV3']);
      const c = only(p, 'n', 'addPluginV3');
      assert.deepEqual([c.inputs, c.outputs], [['loc', 'conf', 'pb'], ['n']]);
      assert.deepEqual([c.args.pluginName, c.args.pluginVersion, c.args.pluginNamespace], ['TRTN_Node', '1', 'trtn']);
      const sub = JSON.parse(c.args.graph as string) as ExecGraph;
      const node = p.graph.nodes.find((x) => x.name === 'n');
      assert.ok(node !== undefined);
      assert.equal(sub.precision, 'fp32');
      assert.equal(sub.maxBatchSize, p.graph.maxBatchSize);
      assert.equal(sub.nodes.length, 1);
      assert.deepEqual([sub.nodes[0].name, sub.nodes[0].op, sub.nodes[0].precision], ['n', 'DetectionOutput', 'fp32']);
      assert.deepEqual(sub.nodes[0].attrs, node.attrs);
      assert.deepEqual(
        sub.tensors.map((t) => [t.name, t.dims]),
        ['loc', 'conf', 'pb', 'n'].map((name) => [name, dimsOf(p.graph, name)]),
      );
      assert.deepEqual([sub.inputs, sub.outputs, sub.nodes[0].inputs, sub.nodes[0].outputs], [[0, 1, 2], [3], [0, 1, 2], [3]]);
      // parse_graph accepts it: mapped as a network, it is the same plugin call.
      const gpath = path.join(dir, 'sub.json');
      const wpath = path.join(dir, 'sub.f32');
      fs.writeFileSync(gpath, c.args.graph as string);
      fs.writeFileSync(wpath, Buffer.alloc(0));
      const r = spawnSync(harness, [gpath, wpath], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const again = JSON.parse(r.stdout) as Plan;
      const c2 = again.calls.find((x) => x.method === 'addPluginV3');
      assert.deepEqual([c2?.inputs, c2?.outputs, c2?.args.graph], [['loc', 'conf', 'pb'], ['n'], c.args.graph]);
    });

    it('fp16 SSD: the plugin reads the float32 boxes and float casts of the rest, and its output is never rounded to half', async () => {
      const p = await plan(ssd, 'fp16');
      assert.deepEqual(methodsOf(p, 'pb').slice(-2), ['addSlice', 'addCast']);
      assert.deepEqual(callsOf(p, 'pb').at(-2)?.outputs, ['pb/float']);
      const c = only(p, 'n', 'addPluginV3');
      assert.deepEqual(c.inputs, ['n/input0_float', 'n/input1_float', 'pb/float']);
      assert.deepEqual(methodsOf(p, 'n'), ['addCast', 'addCast', 'addPluginV3', 'addCast', 'addIdentity']);
      assert.equal(producer(p, 'n/input0_float')?.inputs[0], 'loc/half');
      assert.deepEqual(c.outputs, ['n/output0_float']);
      // The graph output: the plugin's float32 result itself (an identity), its half copy for readers.
      const out = producer(p, 'n');
      assert.deepEqual([out?.method, out?.inputs], ['addIdentity', ['n/output0_float']]);
      assert.equal(producer(p, 'n/half')?.args.toType, 'kHALF');
    });

    it('Upsample (nearest): one resize to the runtime batch and [C, H_out, W_out], asymmetric, rounded down', async () => {
      const p = await plan(
        input([1, 2, 3, 5]) + 'layer { name: "n" type: "Upsample" bottom: "data" top: "n" upsample_param { scale: 2 pad_out_w: true } }\n',
      );
      // The runtime batch (shape, slice), then [C, H_out, W_out] after it: 3 x 2, 5 x 2 - 1.
      assert.deepEqual(methodsOf(p, 'n'), ['addShape', 'addSlice', 'addConstant', 'addConcatenation', 'addResize']);
      assert.deepEqual(weights(p, 'n/size_rest').values, [2, 6, 9]);
      const r = only(p, 'n', 'addResize');
      assert.deepEqual(r.inputs, ['data', 'n/size']);
      assert.deepEqual(
        [r.args.resizeMode, r.args.coordinateTransformation, r.args.nearestRounding, r.args.selectorForSinglePixel],
        ['kNEAREST', 'kASYMMETRIC', 'kFLOOR', 'kUPPER'],
      );
      assert.deepEqual(only(p, 'n', 'addConcatenation').inputs, ['data/batch', 'n/size_rest']);
      mappedOps.add('Upsample');
    });

    it('Interp: the pad_beg / pad_end crop as a slice, then a bilinear resize with aligned corners', async () => {
      const p = await plan(
        input([1, 2, 7, 7]) +
          'layer { name: "n" type: "Interp" bottom: "data" top: "n" interp_param { zoom_factor: 2 pad_beg: -1 pad_end: -1 } }\n',
      );
      // Cropped to 5 x 5 (the runtime batch, then the slice), zoomed: 5 + 4 (2 - 1) = 9.
      assert.deepEqual(methodsOf(p, 'n'), [
        'addShape',
        'addSlice',
        'addConstant',
        'addConcatenation',
        'addSlice',
        'addConstant',
        'addConcatenation',
        'addResize',
      ]);
      assert.deepEqual(callsOf(p, 'n')[4].args.start, [0, 0, 1, 1]);
      assert.deepEqual(weights(p, 'n/size_rest').values, [2, 9, 9]);
      const r = only(p, 'n', 'addResize');
      assert.deepEqual(r.inputs, ['n/cropped', 'n/size']);
      assert.deepEqual([r.args.resizeMode, r.args.coordinateTransformation], ['kLINEAR', 'kALIGN_CORNERS']);
      // Without a crop the input is resized as it is.
      const plain = await plan(
        input([1, 2, 7, 7]) + 'layer { name: "n" type: "Interp" bottom: "data" top: "n" interp_param { height: 4 width: 3 } }\n',
      );
      assert.deepEqual(methodsOf(plain, 'n'), ['addShape', 'addSlice', 'addConstant', 'addConcatenation', 'addResize']);
      assert.deepEqual(weights(plain, 'n/size_rest').values, [2, 4, 3]);
      mappedOps.add('Interp');
    });

    it('ENet max unpooling (a MAX pooling with its mask, then Upsample): two TRTN_Node plugins, the mask read as it is', async () => {
      const text =
        input([1, 2, 6, 6]) +
        'layer { name: "pm" type: "Pooling" bottom: "data" top: "pm" top: "mask" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }\n' +
        'layer { name: "n" type: "Upsample" bottom: "pm" bottom: "mask" top: "n" upsample_param { scale: 2 } }\n';
      for (const precision of ['fp32', 'fp16'] as const) {
        const p = await plan(text, precision);
        const c = only(p, 'n', 'addPluginV3');
        // fp16: the pooling plugin's float32 result, not its half copy.
        assert.deepEqual(c.inputs, [precision === 'fp32' ? 'pm' : 'pm/output0_float', 'mask']);
        const sub = JSON.parse(c.args.graph as string) as ExecGraph;
        assert.deepEqual([sub.nodes[0].op, sub.tensors.map((t) => t.name)], ['Upsample', ['pm', 'mask', 'n']]);
      }
    });
    it("Plugin (a loaded library's layer type): the TRTN_Node plugin, which runs it through the cuda backend", async () => {
      const so = path.join(dir, 'libexample_plugin.so');
      const r = spawnSync(
        'g++',
        [
          '-std=c++17',
          '-shared',
          '-fPIC',
          `-I${path.join(ROOT, 'native')}`,
          '-o',
          so,
          path.join(ROOT, 'examples', 'plugins', 'example_plugin.cc'),
        ],
        {
          encoding: 'utf8',
        },
      );
      assert.equal(r.status, 0, r.stderr);
      loadPlugin(so);
      const p = await plan(input([1, 2, 3, 3]) + 'layer { name: "n" type: "HardSigmoid" bottom: "data" top: "n" }\n');
      const c = only(p, 'n', 'addPluginV3');
      const sub = JSON.parse(c.args.graph as string) as ExecGraph;
      assert.equal(sub.nodes[0].op, 'Plugin');
      assert.deepEqual(sub.nodes[0].attrs, p.graph.nodes[0].attrs);
    });
    it('Proposal, ROIPooling, PSROIPooling (region layers): TRTN_Node plugins; what follows reads a row per region', async () => {
      const text =
        'layer { name: "in" type: "Input" top: "scores" top: "deltas" top: "im_info" top: "feat" input_param { ' +
        'shape { dim: 1 dim: 18 dim: 2 dim: 2 } shape { dim: 1 dim: 36 dim: 2 dim: 2 } shape { dim: 1 dim: 3 } shape { dim: 1 dim: 18 dim: 2 dim: 2 } } }\n' +
        'layer { name: "n" type: "Python" bottom: "scores" bottom: "deltas" bottom: "im_info" top: "rois" ' +
        'python_param { module: "rpn.proposal_layer" layer: "ProposalLayer" param_str: "\'feat_stride\': 16, \'post_nms_topN\': 7" } }\n' +
        'layer { name: "roi" type: "ROIPooling" bottom: "feat" bottom: "rois" top: "pooled" roi_pooling_param { pooled_w: 2 pooled_h: 2 spatial_scale: 0.0625 } }\n' +
        'layer { name: "ps" type: "PSROIPooling" bottom: "feat" bottom: "rois" top: "ps" psroi_pooling_param { output_dim: 2 group_size: 3 spatial_scale: 0.0625 } }\n' +
        'layer { name: "fc" type: "InnerProduct" bottom: "pooled" top: "fc" inner_product_param { num_output: 4 } }\n';
      for (const precision of ['fp32', 'fp16'] as const) {
        const p = await plan(text, precision);
        const rows = p.graph.tensors.find((t) => t.name === 'rois')?.rows;
        assert.equal(rows, 7);
        const proposal = only(p, 'n', 'addPluginV3');
        const sub = JSON.parse(proposal.args.graph as string) as ExecGraph;
        assert.deepEqual(
          sub.tensors.map((t) => [t.name, t.rows ?? 1]),
          [
            ['scores', 1],
            ['deltas', 1],
            ['im_info', 1],
            ['rois', 7],
          ],
        );
        const roi = only(p, 'roi', 'addPluginV3');
        assert.deepEqual(roi.inputs, precision === 'fp32' ? ['feat', 'rois'] : ['roi/input0_float', 'n/output0_float']);
        const ps = JSON.parse(only(p, 'ps', 'addPluginV3').args.graph as string) as ExecGraph;
        assert.deepEqual([ps.nodes[0].op, ps.tensors.map((t) => t.rows ?? 1)], ['PSROIPooling', [1, 7, 7]]);
        // The InnerProduct over the pooled regions is TensorRT's own, its batch dimension images x rows.
        assert.ok(methodsOf(p, 'fc').includes('addMatrixMultiply'));
      }
    });
  });

  describe('reductions, normalisation and lookups', () => {
    it('ArgMax without an axis: top-k over the flattened image, indices as floats then the values, shaped like Caffe', async () => {
      const p = await plan(
        input([1, 3, 2, 2]) + 'layer { name: "m" type: "ArgMax" bottom: "data" top: "m" argmax_param { top_k: 2 out_max_val: true } }\n',
      );
      assert.deepEqual(methodsOf(p, 'm'), ['addShuffle', 'addTopK', 'addCast', 'addConcatenation', 'addShuffle']);
      const k = only(p, 'm', 'addTopK');
      assert.deepEqual([k.args.operation, k.args.k, k.args.reduceAxes], ['kMAX', 2, 2]);
      const cat = only(p, 'm', 'addConcatenation');
      assert.deepEqual(cat.inputs, ['m/indices_float', 'm/values']);
      assert.deepEqual(callsOf(p, 'm')[4].args.reshapeDimensions, [0, ...dimsOf(p.graph, 'm')]);
    });

    it('ArgMax with an axis: top-k along it; outMaxVal gives the values', async () => {
      const a = await plan(
        input([1, 5, 3]) + 'layer { name: "m" type: "ArgMax" bottom: "data" top: "m" argmax_param { top_k: 2 axis: 1 } }\n',
      );
      assert.deepEqual(methodsOf(a, 'm'), ['addTopK', 'addCast']);
      assert.equal(only(a, 'm', 'addTopK').args.reduceAxes, 2);
      const v = await plan(
        input([1, 5, 3]) +
          'layer { name: "m" type: "ArgMax" bottom: "data" top: "m" argmax_param { top_k: 1 axis: 2 out_max_val: true } }\n',
      );
      assert.deepEqual(methodsOf(v, 'm'), ['addTopK', 'addIdentity']);
      assert.equal(only(v, 'm', 'addTopK').args.reduceAxes, 4);
    });

    it('Reduction: SUMSQ squares, reduces the axes from `axis` on, then multiplies by coeff; MEAN is kAVG; ASUM takes kABS', async () => {
      const r = (op: string, coeff = 1) =>
        input([1, 2, 3, 4]) +
        `layer { name: "r" type: "Reduction" bottom: "data" top: "r" reduction_param { operation: ${op} axis: 2 coeff: ${coeff} } }\n`;
      const sq = await plan(r('SUMSQ', 2));
      assert.deepEqual(methodsOf(sq, 'r'), ['addElementWise', 'addReduce', 'addConstant', 'addElementWise']);
      const red = only(sq, 'r', 'addReduce');
      assert.deepEqual([red.args.operation, red.args.reduceAxes, red.args.keepDimensions], ['kSUM', 0b1100, false]);
      assert.deepEqual(weights(sq, 'r/coeff').dims, [1, 1]);
      const mean = await plan(r('MEAN'));
      assert.deepEqual(methodsOf(mean, 'r'), ['addReduce']);
      assert.equal(only(mean, 'r', 'addReduce').args.operation, 'kAVG');
      const asum = await plan(r('ASUM'));
      assert.deepEqual(methodsOf(asum, 'r'), ['addUnary', 'addReduce']);
    });

    it('MVN: mean over each channel (or the image), eps added to the standard deviation as Caffe does', async () => {
      const m = (param: string) => input([1, 3, 4, 4]) + `layer { name: "v" type: "MVN" bottom: "data" top: "v" mvn_param { ${param} } }\n`;
      const p = await plan(m('normalize_variance: true eps: 0.001'));
      assert.deepEqual(methodsOf(p, 'v'), [
        'addReduce',
        'addElementWise',
        'addElementWise',
        'addReduce',
        'addUnary',
        'addConstant',
        'addElementWise',
        'addElementWise',
      ]);
      assert.deepEqual(
        callsOf(p, 'v')
          .filter((c) => c.method === 'addReduce')
          .map((c) => c.args.reduceAxes),
        [0b1100, 0b1100],
      );
      assert.equal(only(p, 'v', 'addUnary').args.operation, 'kSQRT');
      const [, , , , sqrt, , addEps, div] = callsOf(p, 'v');
      assert.deepEqual(addEps.inputs, [sqrt.outputs[0], 'v/eps']);
      assert.deepEqual(weights(p, 'v/eps').values, [Math.fround(0.001)]);
      assert.equal(div.args.operation, 'kDIV');
      const across = await plan(m('normalize_variance: false across_channels: true'));
      assert.deepEqual(methodsOf(across, 'v'), ['addReduce', 'addElementWise']);
      assert.equal(only(across, 'v', 'addReduce').args.reduceAxes, 0b1110);
    });

    it('Embed: indices cast to int32, a gather of table rows, the bias added', async () => {
      const p = await plan(
        input([1, 4]) +
          'layer { name: "e" type: "Embed" bottom: "data" top: "e" embed_param { num_output: 3 input_dim: 10 bias_term: true } }\n',
      );
      assert.deepEqual(methodsOf(p, 'e'), ['addCast', 'addConstant', 'addGather', 'addConstant', 'addElementWise']);
      assert.equal(only(p, 'e', 'addCast').args.toType, 'kINT32');
      assert.deepEqual(weights(p, 'e/table').dims, [10, 3]);
      assert.equal(only(p, 'e', 'addGather').args.axis, 0);
      assert.deepEqual(weights(p, 'e/bias').dims, [1, 1, 3]);
    });

    it('BatchNorm (not folded): a channel shift by -mean, then a channel scale by 1 / sqrt(var + eps)', async () => {
      const p = await plan(
        input([1, 3, 4, 4]) + 'layer { name: "bn" type: "BatchNorm" bottom: "data" top: "bn" batch_norm_param { eps: 0.001 } }\n',
      );
      assert.deepEqual(methodsOf(p, 'bn'), ['addScaleNd', 'addScaleNd']);
      const [center, norm] = callsOf(p, 'bn');
      assert.deepEqual([center.args.mode, center.args.channelAxis, center.args.scale], ['kCHANNEL', 1, '']);
      const [mean, variance, factor] = p.blobs;
      const sf = 1 / factor[0];
      assert.deepEqual(
        weights(p, center.args.shift as string).values,
        [...mean].map((m) => -Math.fround(m * sf)),
      );
      const eps = Math.fround(0.001);
      const inv = weights(p, norm.args.scale as string).values as number[];
      inv.forEach((v, c) => assert.equal(v, Math.fround(1 / Math.sqrt(variance[c] * sf + eps))));
    });

    it('BatchNorm on a 2-D input uses broadcast constants; with batch statistics it is composed from reduces', async () => {
      const p = await plan(input([1, 3]) + 'layer { name: "bn" type: "BatchNorm" bottom: "data" top: "bn" }\n');
      assert.deepEqual(methodsOf(p, 'bn'), ['addConstant', 'addConstant', 'addElementWise', 'addElementWise']);
      assert.deepEqual(weights(p, 'bn/neg_mean').dims, [1, 3]);
      const b = await plan(
        input([1, 3, 2, 2]) +
          'layer { name: "bn" type: "BatchNorm" bottom: "data" top: "bn" batch_norm_param { use_global_stats: false } }\n',
      );
      const reduces = callsOf(b, 'bn').filter((c) => c.method === 'addReduce');
      // Every axis but the channels: the batch (0) and the plane (2, 3).
      assert.deepEqual(
        reduces.map((c) => c.args.reduceAxes),
        [0b1101, 0b1101],
      );
    });

    it('Scale and Bias: one addScaleNd per channel, broadcast constants over other axes, a second input reshaped', async () => {
      const base = input([1, 3, 4, 4]);
      const s = await plan(base + 'layer { name: "s" type: "Scale" bottom: "data" top: "s" scale_param { bias_term: true } }\n');
      const c = only(s, 's', 'addScaleNd');
      assert.deepEqual([weights(s, c.args.scale as string).blob, weights(s, c.args.shift as string).blob], ['s/0', 's/1']);
      const b = await plan(base + 'layer { name: "b" type: "Bias" bottom: "data" top: "b" }\n');
      const bc = only(b, 'b', 'addScaleNd');
      assert.deepEqual([bc.args.scale, weights(b, bc.args.shift as string).blob], ['', 'b/0']);
      const wide = await plan(base + 'layer { name: "s" type: "Scale" bottom: "data" top: "s" scale_param { axis: 1 num_axes: 2 } }\n');
      assert.deepEqual(methodsOf(wide, 's'), ['addConstant', 'addElementWise']);
      assert.deepEqual(weights(wide, 's/scale').dims, [1, 3, 4, 1]);
      const two = await plan(
        base + input([1, 3], 'g') + 'layer { name: "s" type: "Scale" bottom: "data" bottom: "g" top: "s" scale_param { axis: 0 } }\n',
      );
      assert.deepEqual(methodsOf(two, 's'), ['addShuffle', 'addElementWise']);
      assert.deepEqual(callsOf(two, 's')[0].args.reshapeDimensions, [0, 3, 1, 1]);
    });
  });

  describe('INT8: explicit quantization from the calibration scales', () => {
    const NET =
      input([1, 3, 8, 8]) +
      'layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 4 kernel_size: 3 } }\n' +
      'layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }\n' +
      'layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }\n' +
      'layer { name: "ip" type: "InnerProduct" bottom: "pool1" top: "ip" inner_product_param { num_output: 5 } }\n' +
      'layer { name: "prob" type: "Softmax" bottom: "ip" top: "prob" }\n';
    const scales = { data: 0.02, conv1: 0.05, pool1: 0.05, ip: 0.1 };

    it("Quantize nodes and int8 tensors become Q/DQ pairs with the tensors' scales; GEMM weights are int8 constants dequantized per channel", async () => {
      const p = await plan(NET, 'int8', { int8Scales: scales });
      const ops = p.graph.nodes.map((n) => `${n.op}:${n.precision}`);
      assert.deepEqual(ops, ['Quantize:int8', 'Convolution:int8', 'Pooling:int8', 'InnerProduct:int8', 'Softmax:fp32']);
      assert.equal(p.tf32, false);
      // data -> Q/DQ (scale 0.02), consumed by the convolution as a float tensor.
      const q = p.calls.find((c) => c.method === 'addQuantize' && c.inputs[0] === 'data');
      assert.ok(q !== undefined);
      assert.deepEqual(weights(p, q.inputs[1]).values, [Math.fround(0.02)]);
      assert.deepEqual(weights(p, q.inputs[1]).dims, []);
      assert.equal(q.args.outputType, 'kINT8');
      const dq = producer(p, 'data/int8');
      assert.equal(dq?.method, 'addDequantize');
      // The convolution reads the dequantized tensor and a dequantized int8 kernel (input 1).
      const conv = only(p, 'conv1', 'addConvolutionNd');
      assert.deepEqual(conv.inputs, ['data/int8', 'conv1/kernel']);
      assert.equal(conv.args.kernelWeights, '');
      assert.equal(weights(p, conv.args.biasWeights as string).type, 'kFLOAT');
      const kdq = layer(p, 'conv1/kernel_dequantize');
      assert.equal(kdq.args.axis, 0);
      assert.equal(weights(p, 'conv1/weights').type, 'kINT8');
      assert.deepEqual(weights(p, 'conv1/weights').dims, [4, 3, 3, 3]);
      assert.deepEqual(weights(p, 'conv1/wscale').dims, [4]);
      // The convolution's int8 output (ReLU fused): its float result is quantized with 0.05.
      const convQ = p.calls.find((c) => c.method === 'addQuantize' && c.inputs[0] === 'conv1/real');
      assert.ok(convQ !== undefined);
      assert.deepEqual(weights(p, convQ.inputs[1]).values, [Math.fround(0.05)]);
      assert.equal(producer(p, 'conv1/real')?.method, 'addActivation');
      // Pooling keeps the scale; the inner product (K = 4 x 3 x 3: conv 6x6, pooled ceil to 3x3)
      // dequantizes its [5, 36] int8 weights along axis 0.
      const ipdq = layer(p, 'ip/weights_dequantize');
      assert.equal(ipdq.args.axis, 0);
      assert.deepEqual(weights(p, 'ip/weights').dims, [5, 36]);
      // The inner product writes float for the fp32 Softmax: no Q/DQ after it.
      assert.equal(p.calls.filter((c) => c.method === 'addQuantize' && c.inputs[0].startsWith('ip')).length, 0);
    });

    it('a transposed INT8 inner product dequantizes along its output axis (1)', async () => {
      const p = await plan(
        input([1, 8]) +
          'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 5 transpose: true } }\n' +
          'layer { name: "r" type: "ReLU" bottom: "ip" top: "out" }\n',
        'int8',
        { int8Scales: { data: 0.1, ip: 0.1 }, optimize: false },
      );
      assert.equal(layer(p, 'ip/weights_dequantize').args.axis, 1);
      assert.deepEqual(weights(p, 'ip/weights').dims, [8, 5]);
    });

    it('INT8 Concat, Eltwise SUM, LRN and Reshape run on dequantized values and requantize their int8 outputs', async () => {
      const p = await plan(
        input([1, 2, 4, 4]) +
          'layer { name: "a" type: "Convolution" bottom: "data" top: "a" convolution_param { num_output: 2 kernel_size: 1 } }\n' +
          'layer { name: "b" type: "Convolution" bottom: "data" top: "b" convolution_param { num_output: 2 kernel_size: 1 } }\n' +
          'layer { name: "e" type: "Eltwise" bottom: "a" bottom: "b" top: "e" }\n' +
          'layer { name: "n" type: "LRN" bottom: "e" top: "n" lrn_param { local_size: 3 } }\n' +
          'layer { name: "c" type: "Concat" bottom: "n" bottom: "a" top: "c" }\n' +
          'layer { name: "f" type: "Flatten" bottom: "c" top: "f" }\n' +
          'layer { name: "ip" type: "InnerProduct" bottom: "f" top: "ip" inner_product_param { num_output: 3 } }\n',
        'int8',
        { int8Scales: { data: 0.1, a: 0.2, b: 0.2, e: 0.3, n: 0.05, c: 0.05, f: 0.05, ip: 1 } },
      );
      const int8 = p.graph.nodes.filter((n) => n.precision === 'int8').map((n) => n.op);
      assert.deepEqual(int8, ['Quantize', 'Convolution', 'Convolution', 'Eltwise', 'LRN', 'Concat', 'Flatten', 'InnerProduct']);
      for (const t of p.graph.tensors.filter((x) => x.dtype === 'int8')) {
        const dq = producer(p, t.name);
        assert.equal(dq?.method, 'addDequantize', t.name);
        const q = producer(p, dq?.inputs[0] as string);
        assert.equal(q?.method, 'addQuantize', t.name);
        assert.deepEqual(weights(p, q?.inputs[1] as string).values, [Math.fround(t.scale as number)], t.name);
      }
    });
  });

  describe('Preprocess: uint8 image inputs', () => {
    const NET =
      input([1, 3, 4, 5]) +
      'layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 2 kernel_size: 1 } }\n';
    const RGB: InputOptions = { format: 'uint8-nhwc-rgb', mean: [104, 117, 123], scale: 0.5, imageSize: [7, 8] };
    const chain = (p: Plan) => callsOf(p, 'data/preprocess').map((c) => c.method);

    it('fp32: a kUINT8 input [-1, H_in, W_in, C]; cast, NCHW transpose, channel gather, mean, crop, scale, in float', async () => {
      const p = await plan(NET, 'fp32', { input: RGB });
      const inp = p.calls[0];
      assert.deepEqual([inp.method, inp.args.type, inp.args.dimensions], ['addInput', 'kUINT8', [-1, 7, 8, 3]]);
      assert.deepEqual(chain(p), [
        'addCast',
        'addShuffle',
        'addConstant',
        'addGather',
        'addConstant',
        'addElementWise',
        'addShape',
        'addSlice',
        'addConstant',
        'addConcatenation',
        'addSlice',
        'addConstant',
        'addElementWise',
      ]);
      assert.equal(only(p, 'data/preprocess', 'addCast').args.toType, 'kFLOAT');
      assert.deepEqual(only(p, 'data/preprocess', 'addShuffle').args.firstTranspose, [0, 3, 1, 2]);
      assert.equal(only(p, 'data/preprocess', 'addGather').args.axis, 1);
      assert.deepEqual(weights(p, 'data/preprocess/channel_order'), {
        id: 'data/preprocess/channel_order',
        type: 'kINT32',
        dims: [3],
        count: 3,
        values: [2, 1, 0],
      });
      assert.deepEqual(weights(p, 'data/preprocess/mean').dims, [1, 3, 1, 1]);
      assert.deepEqual(weights(p, 'data/preprocess/mean').values, [104, 117, 123]);
      assert.deepEqual(weights(p, 'data/preprocess/scale').values, [0.5]);
      const crop = layer(p, 'data/preprocess/crop');
      assert.deepEqual(
        [crop.args.start, crop.args.size],
        [
          [0, 0, 1, 1],
          [-1, 3, 4, 5],
        ],
      );
      const [sub, mul] = callsOf(p, 'data/preprocess').filter((c) => c.method === 'addElementWise');
      assert.deepEqual([sub.args.operation, mul.args.operation, mul.outputs], ['kSUB', 'kPROD', ['data/preprocessed']]);
      assert.deepEqual(only(p, 'conv1', 'addConvolutionNd').inputs, ['data/preprocessed']);
    });

    it('fp16: the bytes are not cast to half on the way in; the float result is, at the end', async () => {
      const p = await plan(NET, 'fp16', { input: RGB });
      assert.equal(p.calls.filter((c) => c.method === 'addCast' && c.inputs[0] === 'data').length, 1);
      assert.equal(callsOf(p, 'data/preprocess')[0].args.toType, 'kFLOAT');
      const last = callsOf(p, 'data/preprocess').pop();
      assert.deepEqual([last?.method, last?.args.toType, last?.outputs], ['addCast', 'kHALF', ['data/preprocessed']]);
      assert.equal(weights(p, 'data/preprocess/mean').type, 'kFLOAT');
    });

    it('int8: the Preprocess node writes the int8 input tensor through its Q/DQ pair (the Quantize fused in)', async () => {
      const p = await plan(NET, 'int8', { input: RGB, int8Scales: { data: 0.5, conv1: 0.1 } });
      assert.deepEqual(
        p.graph.nodes.map((n) => `${n.op}:${n.precision}`),
        ['Preprocess:int8', 'Convolution:int8'],
      );
      // The float result (scaled last) is quantized with the input's scale and dequantized for conv1.
      assert.equal(producer(p, 'data/int8/real')?.args.operation, 'kPROD');
      const q = p.calls.find((c) => c.method === 'addQuantize' && c.inputs[0] === 'data/int8/real');
      assert.deepEqual(weights(p, q?.inputs[1] as string).values, [0.5]);
      assert.deepEqual(only(p, 'conv1', 'addConvolutionNd').inputs, ['data/int8', 'conv1/kernel']);
    });

    it('a mean image is a [1, C, H_in, W_in] constant from the blob, subtracted before the crop', async () => {
      const file = path.join(dir, 'mean.binaryproto');
      fs.writeFileSync(file, formatMeanFile([3, 7, 8], new Float32Array(168).fill(1)));
      const p = await plan(NET, 'fp32', { input: { format: 'uint8-nhwc-bgr', meanFile: file, imageSize: [7, 8] } });
      assert.deepEqual(weights(p, 'data/preprocess/mean'), {
        id: 'data/preprocess/mean',
        type: 'kFLOAT',
        dims: [1, 3, 7, 8],
        count: 168,
        blob: 'data/preprocess/0',
      });
      assert.deepEqual(chain(p).slice(0, 4), ['addCast', 'addShuffle', 'addConstant', 'addElementWise']);
    });

    it("nothing to do (grayscale bytes in the network's order, no mean, scale 1): cast, transpose, identity", async () => {
      const p = await plan(
        input([1, 1, 4, 4]) + 'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 2 } }\n',
        'fp32',
        { input: { format: 'uint8-nhwc' } },
      );
      assert.deepEqual(chain(p), ['addCast', 'addShuffle', 'addIdentity']);
      assert.deepEqual(callsOf(p, 'data/preprocess').pop()?.outputs, ['data/preprocessed']);
    });
  });

  describe('fp16 details', () => {
    it('constants made here (coefficients, correction factors) are half like the tensors they meet', async () => {
      const p = await plan(
        input([1, 2, 6, 6]) +
          'layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }\n' +
          'layer { name: "e" type: "Eltwise" bottom: "p" bottom: "p" top: "e" eltwise_param { coeff: 2 coeff: 3 } }\n',
        'fp16',
      );
      assert.equal(weights(p, 'p/ave_divisor_correction').type, 'kHALF');
      assert.equal(weights(p, 'e/coeff0').type, 'kHALF');
      assert.equal(producer(p, 'e')?.method, 'addCast');
    });
  });

  describe('plan consistency (checked in native code for every plan above)', () => {
    it('every call reads tensors written before it and every weights id resolves (GoogLeNet and AlexNet, all precisions)', async function () {
      this.timeout(120000);
      for (const model of ['googlenet', 'alexnet']) {
        const text = fs.readFileSync(path.join(ROOT, 'models', `${model}.prototxt`), 'utf8').replace(/^name:.*$/m, '');
        for (const precision of ['fp32', 'fp16', 'tf32'] as Precision[]) {
          const p = await plan(text, precision, { maxBatch: 2 });
          const written = new Set<string>();
          for (const c of p.calls) {
            for (const i of c.inputs) if (i !== '') assert.ok(written.has(i), `${model} ${precision}: ${c.layer} reads ${i} first`);
            for (const o of c.outputs) written.add(o);
          }
          assert.equal(p.calls.filter((c) => c.method === 'markOutput').length, p.graph.outputs.length);
        }
      }
    });
  });

  describe('coverage', () => {
    it('mapped every op of the execution graph (or refused it on purpose, with a test)', () => {
      const missing = ALL_OPS.filter((op) => !mappedOps.has(op) && !refusedOps.has(op));
      assert.deepEqual(missing, []);
    });

    it('ALL_OPS is every IR layer type that executes, plus Quantize and Preprocess (a new layer type needs a mapping test)', () => {
      const executed = LAYER_TYPES.filter((t) => t !== 'Input' && t !== 'Dropout' && t !== 'Split');
      assert.deepEqual([...ALL_OPS].sort(), [...executed, 'Quantize', 'Preprocess'].sort());
    });
  });
});
