/**
 * The cuda backend's batch limit (native/backends/cuda/index_range.h): execution graphs made by the
 * real pipeline (prototxt -> Network -> planExecGraph) go through a g++-built harness
 * (test/native/index_range_main.cc) that prints the largest batch every kernel launch indexes
 * correctly, the layer that sets it, and the refusal for the batches asked. No GPU is needed: the
 * limit depends on the graph only (the GEMM rows of 1-D / 2-D Convolutions and InnerProducts,
 * counted in int by the implicit-GEMM kernels; the rows of a Softmax over a dense tensor).
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder, Network, type Precision } from '../../lib';
import { planExecGraph } from '../../lib/builder/exec_graph';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SOURCES = [
  'test/native/index_range_main.cc',
  'native/backends/cuda/index_range.cc',
  'native/core/json.cc',
  'native/core/graph.cc',
  'native/core/op_kind.cc',
  'native/core/weights.cc',
  'native/core/op_init.cc',
  'native/core/softmax_params.cc',
  'native/core/build_info.cc',
];
const INT_MAX = 2147483647;
const GEMM_ROWS = INT_MAX - 256; // conv.cu refuses M > INT_MAX - 256

interface Check {
  batch: number;
  code: string;
  message: string;
}
interface Range {
  maxBatch: number;
  node: string;
  items: string;
  perImage: number;
  bound: number;
  build: string | null;
  checks: Check[];
}

describe('cuda backend: the largest batch an engine indexes (g++ harness)', function () {
  let harness = '';
  let dir = '';

  before(function () {
    this.timeout(300000);
    const gxx = spawnSync('g++', ['--version']);
    if (gxx.error !== undefined || gxx.status !== 0) {
      console.log('    (skipped: g++ is not installed, so the index-range harness cannot be built)');
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-index-range-'));
    harness = path.join(dir, 'index_range');
    const r = spawnSync(
      'g++',
      ['-std=c++17', '-O1', '-Wall', '-Wextra', '-Werror', '-Inative', '-DNAPI_VERSION=8', '-o', harness, ...SOURCES],
      { cwd: ROOT, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, `g++ failed:\n${r.stderr}`);
  });

  after(() => {
    if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
  });

  async function rangeOf(text: string, precision: Precision, maxBatchSize: number, batches: number[] = []): Promise<Range> {
    const net = await Network.parse(text, { file: 't.prototxt' });
    let int8Scales: Record<string, number> | undefined;
    if (precision === 'int8') {
      int8Scales = {};
      for (const t of planExecGraph(net, { precision: 'fp32', maxBatchSize }).tensors) int8Scales[t.name] = 0.05;
    }
    const graph = planExecGraph(net, { precision, maxBatchSize, int8Scales });
    const gpath = path.join(dir, 'graph.json');
    fs.writeFileSync(gpath, JSON.stringify(graph));
    const r = spawnSync(harness, [gpath, ...batches.map(String)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    return JSON.parse(r.stdout) as Range;
  }
  const model = (name: string) => fs.readFileSync(path.join(ROOT, 'models', `${name}.prototxt`), 'utf8');
  const input = (dims: number[]) =>
    `name: "t"\nlayer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 ${dims.map((d) => `dim: ${d}`).join(' ')} } } }\n`;

  // AlexNet conv1: 96 x 55 x 55 outputs, GoogLeNet conv1/7x7_s2: 64 x 112 x 112; the first
  // convolution has the most output pixels, and the GEMM row count is what 32 bits bound.
  const expected = [
    { name: 'alexnet', node: 'conv1', pixels: 55 * 55, max: 709911 },
    { name: 'googlenet', node: 'conv1/7x7_s2', pixels: 112 * 112, max: 171196 },
  ];
  for (const e of expected) {
    for (const precision of ['fp32', 'tf32', 'fp16', 'int8'] as Precision[]) {
      it(`${e.name} ${precision}: batch 4096 runs; the limit is ${e.max}, set by ${e.node}`, async function () {
        this.timeout(60000);
        const r = await rangeOf(model(e.name), precision, 4096, [1, 4096, 65536, e.max, e.max + 1]);
        assert.equal(e.max, Math.floor(GEMM_ROWS / e.pixels));
        assert.deepEqual([r.maxBatch, r.node, r.items, r.perImage, r.bound], [e.max, e.node, 'GEMM rows', e.pixels, GEMM_ROWS]);
        assert.equal(r.build, null);
        assert.deepEqual(
          r.checks.map((c) => c.code),
          ['OK', 'OK', 'OK', 'OK', 'E_INVALID_ARGUMENT'],
        );
        const rows = (e.max + 1) * e.pixels;
        const sci = `${(rows / 1e9).toPrecision(3)}e9`;
        assert.equal(
          r.checks[4].message,
          `batch ${e.max + 1} is beyond what layer '${e.node}' can index with 32-bit offsets ` +
            `(${e.max + 1} x ${e.pixels} = ${sci} GEMM rows > 2^31 - 257); the largest batch this engine runs is ${e.max}`,
        );
      });
    }
  }

  it('refuses to build an engine whose maxBatchSize is beyond the limit, naming the layer and the limit', async function () {
    this.timeout(60000);
    const r = await rangeOf(model('googlenet'), 'int8', 200000);
    assert.equal(
      r.build,
      "maxBatchSize 200000 is beyond what layer 'conv1/7x7_s2' can index with 32-bit offsets " +
        '(200000 x 12544 = 2.51e9 GEMM rows > 2^31 - 257); the largest batch this engine runs is 171196',
    );
    const ok = await rangeOf(model('googlenet'), 'int8', 171196);
    assert.equal(ok.build, null);
  });

  it('a large convolution output: the limit is the GEMM rows over the pixels per image', async function () {
    // 4096 x 4096 output pixels per image: 127 images fit below 2^31 - 257 rows.
    const r = await rangeOf(
      input([4, 4096, 4096]) +
        'layer { name: "big" type: "Convolution" bottom: "data" top: "big" convolution_param { num_output: 8 kernel_size: 1 } }\n',
      'fp16',
      64,
      [127, 128],
    );
    assert.deepEqual([r.maxBatch, r.node, r.perImage], [127, 'big', 4096 * 4096]);
    assert.deepEqual(
      r.checks.map((c) => c.code),
      ['OK', 'E_INVALID_ARGUMENT'],
    );
    assert.match(
      r.checks[1].message,
      /^batch 128 is beyond what layer 'big' can index with 32-bit offsets \(128 x 16777216 = 2\.15e9 GEMM rows > 2\^31 - 257\); the largest batch this engine runs is 127$/,
    );
    const refused = await rangeOf(
      input([4, 4096, 4096]) +
        'layer { name: "big" type: "Convolution" bottom: "data" top: "big" convolution_param { num_output: 8 kernel_size: 1 } }\n',
      'fp32',
      128,
    );
    assert.match(refused.build ?? '', /^maxBatchSize 128 is beyond what layer 'big' can index/);
  });

  it('the smallest limit wins: a later, larger layer sets it', async function () {
    const r = await rangeOf(
      input([3, 64, 64]) +
        'layer { name: "c1" type: "Convolution" bottom: "data" top: "c1" convolution_param { num_output: 8 kernel_size: 3 stride: 2 } }\n' +
        'layer { name: "c2" type: "Convolution" bottom: "data" top: "c2" convolution_param { num_output: 8 kernel_size: 1 } }\n',
      'fp32',
      8,
    );
    assert.deepEqual([r.node, r.perImage, r.maxBatch], ['c2', 64 * 64, Math.floor(GEMM_ROWS / (64 * 64))]);
  });

  it('grouped and 1-D convolutions count their own rows; 3-D ones (the 64-bit direct kernel) are unbounded', async function () {
    const grouped = await rangeOf(
      input([8, 32, 32]) +
        'layer { name: "g" type: "Convolution" bottom: "data" top: "g" convolution_param { num_output: 8 kernel_size: 1 group: 4 } }\n',
      'fp32',
      8,
    );
    assert.deepEqual([grouped.node, grouped.perImage], ['g', 1024]);
    const flat = await rangeOf(
      input([4, 1000]) +
        'layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 8 kernel_size: 1 } }\n',
      'fp32',
      8,
    );
    assert.deepEqual([flat.node, flat.perImage], ['c', 1000]);
    const deep = await rangeOf(
      input([2, 8, 8, 8]) +
        'layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 4 kernel_size: 1 kernel_size: 1 kernel_size: 1 } }\n',
      'fp32',
      8,
    );
    assert.deepEqual([deep.node, deep.maxBatch], ['', INT_MAX]);
  });

  it('an InnerProduct counts one row per image (more with an axis > 1); many outputs per tile bound the rows too', async function () {
    const fc = await rangeOf(
      input([16]) + 'layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" inner_product_param { num_output: 4096 } }\n',
      'fp16',
      8,
    );
    // 4096 outputs: 128 column tiles of 32, so at most 32 x floor(INT_MAX / 128) rows stay below INT_MAX tiles.
    assert.deepEqual(
      [fc.node, fc.perImage, fc.bound, fc.maxBatch],
      ['fc', 1, 32 * Math.floor(INT_MAX / 128), 32 * Math.floor(INT_MAX / 128)],
    );
    const rows = await rangeOf(
      input([300, 16]) +
        'layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" inner_product_param { num_output: 10 axis: 2 } }\n',
      'fp32',
      8,
    );
    assert.deepEqual([rows.node, rows.perImage, rows.maxBatch], ['fc', 300, Math.floor(GEMM_ROWS / 300)]);
  });

  it("region tensors (Faster R-CNN's proposals): an InnerProduct and a Softmax over them count batch x R rows", async function () {
    this.timeout(60000);
    const r = await rangeOf(
      'name: "t"\nlayer { name: "in" type: "Input" top: "scores" top: "deltas" top: "im_info" top: "feat" input_param { ' +
        'shape { dim: 1 dim: 18 dim: 4 dim: 4 } shape { dim: 1 dim: 36 dim: 4 dim: 4 } shape { dim: 1 dim: 3 } ' +
        'shape { dim: 1 dim: 8 dim: 4 dim: 4 } } }\n' +
        'layer { name: "p" type: "Python" bottom: "scores" bottom: "deltas" bottom: "im_info" top: "rois" ' +
        `python_param { module: "rpn.proposal_layer" layer: "ProposalLayer" param_str: "'feat_stride': 16\\n'post_nms_topN': 300" } }\n` +
        'layer { name: "pool" type: "ROIPooling" bottom: "feat" bottom: "rois" top: "pool" roi_pooling_param { pooled_h: 2 pooled_w: 2 } }\n' +
        'layer { name: "fc" type: "InnerProduct" bottom: "pool" top: "fc" inner_product_param { num_output: 4096 } }\n' +
        'layer { name: "sm" type: "Softmax" bottom: "fc" top: "sm" }\n',
      'fp32',
      8,
      [1789569, 1789570],
    );
    // fc: 300 GEMM rows an image (one a region), 4096 columns: the 32-bit bound over 300.
    const bound = Math.min(GEMM_ROWS, Math.floor(INT_MAX / 128) * 32);
    assert.deepEqual([r.node, r.items, r.perImage, r.bound, r.maxBatch], ['fc', 'GEMM rows', 300, bound, Math.floor(bound / 300)]);
    assert.equal(Math.floor(bound / 300), 1789569);
    assert.deepEqual(
      r.checks.map((c) => c.code),
      ['OK', 'E_INVALID_ARGUMENT'],
    );
  });

  it('a Softmax over an inner axis counts batch x outer rows; over the channels it is unbounded', async function () {
    const inner = await rangeOf(
      input([65536, 4]) + 'layer { name: "sm" type: "Softmax" bottom: "data" top: "sm" softmax_param { axis: 2 } }\n',
      'fp32',
      8,
      [32768],
    );
    assert.deepEqual([inner.node, inner.items, inner.perImage, inner.maxBatch], ['sm', 'softmax rows', 65536, 32767]);
    assert.match(
      inner.checks[0].message,
      /^batch 32768 is beyond what layer 'sm' can index with 32-bit offsets \(32768 x 65536 = 2\.15e9 softmax rows > 2\^31 - 1\); the largest batch this engine runs is 32767$/,
    );
    const channels = await rangeOf(input([1000]) + 'layer { name: "sm" type: "Softmax" bottom: "data" top: "sm" }\n', 'fp32', 8);
    assert.deepEqual([channels.node, channels.maxBatch], ['', INT_MAX]);
  });

  it('pooling, LRN, concatenation and element-wise layers never bound the batch (their launches are cut per batch)', async function () {
    const r = await rangeOf(
      input([64, 512, 512]) +
        'layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { pool: MAX kernel_size: 1 stride: 1 } }\n' +
        'layer { name: "n" type: "LRN" bottom: "p" top: "n" lrn_param { local_size: 5 } }\n' +
        'layer { name: "r" type: "ReLU" bottom: "n" top: "r" }\n' +
        'layer { name: "cat" type: "Concat" bottom: "r" bottom: "p" top: "cat" }\n',
      'int8',
      1 << 20,
    );
    assert.deepEqual([r.node, r.maxBatch, r.build], ['', INT_MAX, null]);
  });

  it('Engine.maxRunnableBatch: a cpu engine is bounded only by the int batch', async () => {
    const net = await Network.fromCaffe(path.join(ROOT, 'models', 'lenet.prototxt'), { seed: 1 });
    const engine = await new Builder({ backend: 'cpu', logger: () => undefined }).build(net, { maxBatchSize: 4 });
    assert.equal(engine.maxRunnableBatch, INT_MAX);
    engine.dispose();
  });
});
