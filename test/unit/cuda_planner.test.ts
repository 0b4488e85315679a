/**
 * The cuda backend's planner (native/backends/cuda/planner.h) on execution graphs made by the real
 * pipeline, through a g++-built harness (test/native/cuda_planner_main.cc) that prints every
 * tensor's place, the arena and the schedule over streams. No GPU is needed: planning depends on
 * the graph only. Here: Faster R-CNN's region tensors (rows per image) get their rows, and the arena
 * holds batch x rows of them; index tensors (MAX pooling masks) stay float32 in fp16; independent
 * branches get their own streams, every dependency is waited for, and no two buffers that share
 * bytes can be live at once under that schedule (checked here from the printed schedule alone).
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Network, type Precision } from '../../lib';
import { planExecGraph, planInt8Graph } from '../../lib/builder/exec_graph';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SOURCES = [
  'test/native/cuda_planner_main.cc',
  'native/backends/cuda/planner.cc',
  'native/backends/cuda/schedule.cc',
  'native/backends/cuda/fusion.cc',
  'native/core/lrn_params.cc',
  'native/core/pooling_params.cc',
  'native/core/gemm_node.cc',
  'native/core/op_init.cc',
  'native/core/weights.cc',
  'native/core/memory_plan.cc',
  'native/core/json.cc',
  'native/core/graph.cc',
  'native/core/op_kind.cc',
  'native/core/build_info.cc',
];

interface Place {
  elem: string;
  layout: string;
  rows: number;
  root: string;
  cOffset: number;
  rootC: number;
  offset: number;
  bytes: number;
}
interface Plan {
  arenaPerImage: number;
  tensors: Record<string, Place>;
  lanes: number;
  nodes: { name: string; lane: number; waits: string[]; fuses?: string; merges?: string[]; span?: [number, number]; pools?: string }[];
}
interface GraphJson {
  tensors: { name: string; dims: number[] }[];
  inputs: number[];
  outputs: number[];
  nodes: { name: string; inputs: number[]; outputs: number[] }[];
}

/** happens[j]: the nodes complete before node j starts (program order on a lane, and waits). */
function happensBefore(plan: Plan): Set<number>[] {
  const index = new Map(plan.nodes.map((n, i) => [n.name, i]));
  const tail = new Map<number, number>();
  const anc: Set<number>[] = [];
  plan.nodes.forEach((n, j) => {
    anc.push(new Set());
    if (n.lane < 0) return;
    const preds = n.waits.map((w) => index.get(w)!);
    if (tail.has(n.lane)) preds.push(tail.get(n.lane)!);
    for (const p of preds) {
      assert.ok(p < j, `${n.name} waits for a later node`);
      anc[j].add(p);
      for (const a of anc[p]) anc[j].add(a);
    }
    tail.set(n.lane, j);
  });
  return anc;
}

/**
 * The schedule is safe: every node follows the writers of what it reads (channel slices of one root
 * overlap or not by their channels; a root is all of its channels), and two roots sharing arena bytes
 * are never live together: every access of one is complete before the other is first written
 * (graph inputs live from the start, outputs to the end). An LRN that runs its MAX pooling in one
 * kernel (`fuses`) writes that pooling's outputs too, a node running a group of sibling
 * convolutions (`merges`) every member's, and a convolution pooling its input in its loader
 * (`pools`) reads that pooling's input and writes its output (an observed run runs the pooling
 * right before it). Returns the number of overlapping pairs.
 */
function checkSchedule(g: GraphJson, plan: Plan): number {
  const anc = happensBefore(plan);
  const byName = new Map(g.nodes.map((n) => [n.name, n]));
  const outs = (i: number) => [
    ...g.nodes[i].outputs,
    ...(byName.get(plan.nodes[i].fuses ?? '')?.outputs ?? []),
    ...(plan.nodes[i].merges ?? []).filter((m) => m !== g.nodes[i].name).flatMap((m) => byName.get(m)?.outputs ?? []),
    ...(byName.get(plan.nodes[i].pools ?? '')?.outputs ?? []),
  ];
  const name = (t: number) => g.tensors[t].name;
  const place = (t: number) => plan.tensors[name(t)];
  const range = (t: number): [number, number] =>
    place(t).root === name(t) ? [0, Infinity] : [place(t).cOffset, place(t).cOffset + (g.tensors[t].dims[0] ?? 1)];
  // A convolution pooling its input in its loader (`pools`) reads that pooling's inputs.
  const ins = (j: number) => [...g.nodes[j].inputs, ...(byName.get(plan.nodes[j].pools ?? '')?.inputs ?? [])];
  const runs = (i: number) => plan.nodes[i].lane >= 0;
  const access = new Map<string, number[]>();
  const writers = new Map<string, number[]>();
  const add = (m: Map<string, number[]>, k: string, i: number) => m.set(k, [...(m.get(k) ?? []), i]);
  g.nodes.forEach((_node, j) => {
    if (!runs(j)) return;
    for (const t of [...ins(j), ...outs(j)]) add(access, place(t).root, j);
    for (const t of outs(j)) add(writers, place(t).root, j);
    for (const t of ins(j)) {
      const [lo, hi] = range(t);
      for (let i = 0; i < j; ++i) {
        if (!runs(i)) continue;
        for (const u of outs(i)) {
          const [ulo, uhi] = range(u);
          if (place(u).root === place(t).root && ulo < hi && lo < uhi) {
            assert.ok(anc[j].has(i), `${g.nodes[j].name} reads ${name(t)} but does not wait for ${g.nodes[i].name}`);
          }
        }
      }
    }
  });
  const fromStart = new Set(g.inputs.map((t) => place(t).root));
  const toEnd = new Set(g.outputs.map((t) => place(t).root));
  const doneBefore = (a: string, b: string) =>
    !toEnd.has(a) &&
    !fromStart.has(b) &&
    (access.get(a) ?? []).length > 0 &&
    (writers.get(b) ?? []).length > 0 &&
    access.get(a)!.every((x) => writers.get(b)!.every((y) => anc[y].has(x)));
  const roots = Object.entries(plan.tensors).filter(([n, p]) => p.root === n && p.bytes > 0);
  let shared = 0;
  for (let x = 0; x < roots.length; ++x) {
    for (let y = x + 1; y < roots.length; ++y) {
      const [a, pa] = roots[x];
      const [b, pb] = roots[y];
      if (pa.offset < pb.offset + pb.bytes && pb.offset < pa.offset + pa.bytes) {
        ++shared;
        assert.ok(doneBefore(a, b) || doneBefore(b, a), `${a} and ${b} share arena bytes while both live`);
      }
    }
  }
  return shared;
}

/** CUDA's include folder (planner.h includes cuda_runtime.h for its types), or '' without one. */
function cudaInclude(): string {
  const homes = [process.env.CUDA_HOME, process.env.CUDA_PATH, '/usr/local/cuda'].filter((h): h is string => !!h);
  try {
    for (const d of fs.readdirSync('/usr/local')) if (/^cuda-\d/.test(d)) homes.push(path.join('/usr/local', d));
  } catch {
    // no /usr/local
  }
  const hit = homes.find((h) => fs.existsSync(path.join(h, 'include', 'cuda_runtime.h')));
  return hit === undefined ? '' : path.join(hit, 'include');
}

const regions = (post: number) =>
  'name: "t"\nlayer { name: "in" type: "Input" top: "scores" top: "deltas" top: "im_info" top: "feat" input_param { ' +
  'shape { dim: 1 dim: 18 dim: 5 dim: 7 } shape { dim: 1 dim: 36 dim: 5 dim: 7 } shape { dim: 1 dim: 3 } ' +
  'shape { dim: 1 dim: 18 dim: 5 dim: 7 } } }\n' +
  'layer { name: "proposal" type: "Python" bottom: "scores" bottom: "deltas" bottom: "im_info" top: "rois" ' +
  `python_param { module: "rpn.proposal_layer" layer: "ProposalLayer" param_str: "'feat_stride': 16\\n'post_nms_topN': ${post}" } }\n` +
  'layer { name: "pool" type: "ROIPooling" bottom: "feat" bottom: "rois" top: "pooled" roi_pooling_param { pooled_h: 3 pooled_w: 2 spatial_scale: 0.0625 } }\n' +
  'layer { name: "relu" type: "ReLU" bottom: "pooled" top: "act" }\n' +
  'layer { name: "fc" type: "InnerProduct" bottom: "act" top: "fc" inner_product_param { num_output: 4 } }\n';

describe('cuda backend: the planner (g++ harness)', function () {
  let harness = '';
  let dir = '';

  before(function () {
    this.timeout(300000);
    const include = cudaInclude();
    const gxx = spawnSync('g++', ['--version']);
    if (gxx.error !== undefined || gxx.status !== 0 || include === '') {
      console.log(
        `    (skipped: ${include === '' ? "CUDA's headers (cuda_runtime.h) are" : 'g++ is'} not installed, so the planner harness cannot be built)`,
      );
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-cuda-planner-'));
    harness = path.join(dir, 'cuda_planner');
    const r = spawnSync(
      'g++',
      ['-std=c++17', '-O1', '-Wall', '-Wextra', '-Werror', '-Inative', `-I${include}`, '-DNAPI_VERSION=8', '-o', harness, ...SOURCES],
      { cwd: ROOT, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, `g++ failed:\n${r.stderr}`);
  });

  after(() => {
    if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The harness's plan of `text` (flags: 'nofuse', 'merge'). */
  async function planWith(text: string, precision: Precision, lanes = 1, flags: string[] = []): Promise<{ graph: GraphJson; plan: Plan }> {
    const net = await Network.parse(text, { file: 't.prototxt', seed: 1 });
    const graph = planExecGraph(net, { precision, maxBatchSize: 2 });
    const gpath = path.join(dir, 'graph.json');
    fs.writeFileSync(gpath, JSON.stringify(graph));
    const r = spawnSync(harness, [gpath, String(lanes), ...flags], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    return { graph: graph as unknown as GraphJson, plan: JSON.parse(r.stdout) as Plan };
  }
  const planOf = async (text: string, precision: Precision) => (await planWith(text, precision)).plan;
  /** An INT8 graph (every tensor scaled 0.05) planned on one stream. */
  async function planInt8(text: string, lanes = 1, flags: string[] = []): Promise<{ graph: GraphJson; plan: Plan }> {
    const net = await Network.parse(text, { file: 't.prototxt', seed: 1 });
    const names = planExecGraph(net, { precision: 'fp32', maxBatchSize: 2 }).tensors.map((t) => t.name);
    const graph = planInt8Graph(net, { maxBatchSize: 2, int8Scales: Object.fromEntries(names.map((n) => [n, 0.05])) }).graph;
    const gpath = path.join(dir, 'graph.json');
    fs.writeFileSync(gpath, JSON.stringify(graph));
    const r = spawnSync(harness, [gpath, String(lanes), ...flags], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    return { graph: graph as unknown as GraphJson, plan: JSON.parse(r.stdout) as Plan };
  }

  it("a first layer's RGB input keeps 4 channels a pixel in FP16 and INT8, not 16 bytes; other readers keep 16 bytes", async () => {
    const text = model('alexnet.prototxt');
    const fp16 = (await planWith(text, 'fp16')).plan.tensors.data;
    assert.deepEqual([fp16.elem, fp16.layout, fp16.rootC], ['f16', 'nhwc', 4]);
    const { graph, plan } = await planInt8(text);
    const conv1 = graph.nodes.find((n) => n.name === 'conv1')!;
    const quantized = plan.tensors[graph.tensors[conv1.inputs[0]].name];
    assert.deepEqual([quantized.elem, quantized.layout, quantized.rootC], ['i8', 'nhwc', 4]);
    // A pooling of the image (not a convolution's) needs the 16-byte pixels every view kernel takes.
    const pooled =
      'layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 3 dim: 16 dim: 16 } } }\n' +
      'layer { name: "c" type: "Convolution" bottom: "x" top: "c" convolution_param { num_output: 8 kernel_size: 3 } }\n' +
      'layer { name: "p" type: "Pooling" bottom: "x" top: "p" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }\n';
    assert.equal((await planOf(pooled, 'fp16')).tensors.x.rootC, 8);
    // A grouped convolution of the image likewise (the stem family serves one group).
    const grouped = pooled.replace('kernel_size: 3 }', 'kernel_size: 3 group: 3 num_output: 9 }').replace('num_output: 8 ', '');
    assert.equal((await planOf(grouped.split('\n').slice(0, 2).join('\n'), 'fp16')).tensors.x.rootC, 8);
  });
  const model = (file: string) => fs.readFileSync(path.join(ROOT, 'models', file), 'utf8');

  it('GoogLeNet: the four branches of every inception block run on four streams; one stream keeps node order', async () => {
    for (const precision of ['fp16', 'int8'] as Precision[]) {
      const one = (await planWith(model('googlenet.prototxt'), precision, 1)).plan;
      assert.equal(one.lanes, 1);
      assert.ok(one.nodes.every((n) => n.waits.length === 0 && n.lane <= 0));
      const { graph, plan } = await planWith(model('googlenet.prototxt'), precision, 4);
      assert.equal(plan.lanes, 4, precision);
      const lane = new Map(plan.nodes.map((n) => [n.name, n.lane]));
      const blocks = ['3a', '3b', '4a', '4b', '4c', '4d', '4e', '5a', '5b'];
      for (const b of blocks) {
        const starts = ['1x1', '3x3_reduce', '5x5_reduce', 'pool'].map((k) => lane.get(`inception_${b}/${k}`));
        assert.equal(new Set(starts).size, 4, `inception_${b}: lanes ${starts.join(' ')}`);
        // A branch is a chain on its lane: the 3x3 follows its reduce without a wait.
        assert.equal(lane.get(`inception_${b}/3x3`), lane.get(`inception_${b}/3x3_reduce`));
      }
      assert.ok(checkSchedule(graph, plan) > 0, 'some buffers share bytes');
      // Buffers of concurrent branches may not share bytes; GoogLeNet's arena is set by its first layers.
      assert.ok(plan.arenaPerImage <= 1.1 * one.arenaPerImage, `arena ${plan.arenaPerImage} vs ${one.arenaPerImage}`);
    }
  });

  it('ResNet-50: a projection shortcut runs beside its block; the Eltwise waits for both', async () => {
    const { graph, plan } = await planWith(model('resnet50.prototxt'), 'fp16', 4);
    const node = (n: string) => plan.nodes.find((x) => x.name === n)!;
    assert.notEqual(node('res2a_branch1').lane, node('res2a_branch2a').lane);
    assert.ok(node('res2a').waits.length === 1, `res2a waits for ${node('res2a').waits.join(', ')}`);
    checkSchedule(graph, plan);
  });

  const safety: [string, Precision][] = [
    ['googlenet.prototxt', 'fp32'],
    ['resnet50.prototxt', 'int8'],
    ['squeezenet1.1.prototxt', 'fp16'],
    ['shufflenet_v2.prototxt', 'fp16'],
    ['enet.prototxt', 'fp16'],
    ['ssd300_vgg16.prototxt', 'fp16'],
    ['mobilenet_ssd.prototxt', 'int8'],
    ['faster_rcnn_vgg16.prototxt', 'fp32'],
    ['alexnet.prototxt', 'fp16'],
    ['alexnet.prototxt', 'int8'],
  ];
  for (const [file, precision] of safety) {
    it(`${file} ${precision}: on 1, 2, 3 and 8 streams every dependency is waited for and no live buffers share bytes`, async function () {
      this.timeout(120000);
      for (const lanes of [1, 2, 3, 8]) {
        for (const flags of [[], ['merge', 'poolconv']]) {
          const { graph, plan } = await planWith(model(file), precision, lanes, flags);
          assert.ok(plan.lanes <= lanes);
          checkSchedule(graph, plan);
        }
      }
    });
  }

  /** Each group of sibling convolutions run as one: the runner -> its members in channel order. */
  const merges = (plan: Plan) => Object.fromEntries(plan.nodes.filter((n) => n.merges).map((n) => [n.name, n.merges]));

  for (const precision of ['fp32', 'fp16', 'int8'] as Precision[]) {
    it(`${precision} GoogLeNet with merge: each inception block's 1x1, 3x3_reduce and 5x5_reduce run as one GEMM inside the block's output`, async function () {
      this.timeout(120000);
      const text = model('googlenet.prototxt');
      const plan4 = async (flags: string[]) =>
        precision === 'int8' ? await planInt8(text, 4, flags) : await planWith(text, precision, 4, flags);
      const { graph, plan } = await plan4(['merge']);
      const blocks = ['3a', '3b', '4a', '4b', '4c', '4d', '4e', '5a', '5b'].map((b) => `inception_${b}`);
      assert.deepEqual(
        merges(plan),
        Object.fromEntries(blocks.map((b) => [`${b}/1x1`, [`${b}/3x3_reduce`, `${b}/5x5_reduce`, `${b}/1x1`]])),
      );
      const chunk = precision === 'fp32' ? 4 : precision === 'fp16' ? 8 : 16;
      const dims = new Map(graph.tensors.map((t) => [t.name, t.dims]));
      for (const b of blocks) {
        const [r3, r5, x1, out] = ['3x3_reduce', '5x5_reduce', '1x1', 'output'].map((n) => plan.tensors[`${b}/${n}`]);
        // One root, the block's Concat output: [3x3_reduce | 5x5_reduce | the Concat's channels], each on a chunk.
        for (const p of [r3, r5, x1, out]) assert.equal(p.root, `${b}/output`, b);
        assert.equal(r3.cOffset, 0, b);
        const c = (n: string) => dims.get(`${b}/${n}`)![0];
        const lead = Math.ceil(c('3x3_reduce') / chunk) * chunk + Math.ceil(c('5x5_reduce') / chunk) * chunk;
        assert.equal(r5.cOffset, Math.ceil(c('3x3_reduce') / chunk) * chunk, b);
        assert.deepEqual([x1.cOffset, out.cOffset], [lead, lead], b);
        assert.equal(out.rootC, Math.ceil((lead + c('output')) / chunk) * chunk, b);
        assert.deepEqual(plan.nodes.find((n) => n.name === `${b}/1x1`)?.span, [0, lead + c('1x1')], b);
        for (const n of ['3x3_reduce', '5x5_reduce']) assert.equal(plan.nodes.find((x) => x.name === `${b}/${n}`)?.lane, -1);
      }
      checkSchedule(graph, plan);
      // No more arena than apart (the reduce outputs needed bytes of their own anyway).
      assert.ok(plan.arenaPerImage <= (await plan4([])).plan.arenaPerImage * 1.05);
      assert.deepEqual(merges((await plan4([])).plan), {}, 'merge is off unless asked for');
    });
  }

  /** Each convolution that pools its input in its loader -> that pooling. */
  const pools = (plan: Plan) => Object.fromEntries(plan.nodes.filter((n) => n.pools).map((n) => [n.name, n.pools]));

  for (const precision of ['fp16', 'int8', 'fp32'] as Precision[]) {
    it(`${precision} GoogLeNet with poolconv: each inception block's 3x3 pooling runs in pool_proj's loader${precision === 'fp32' ? ' (not in FP32: no tensor cores)' : ''}`, async function () {
      this.timeout(120000);
      const text = model('googlenet.prototxt');
      const { graph, plan } =
        precision === 'int8' ? await planInt8(text, 4, ['merge', 'poolconv']) : await planWith(text, precision, 4, ['merge', 'poolconv']);
      const blocks = ['3a', '3b', '4a', '4b', '4c', '4d', '4e', '5a', '5b'].map((b) => `inception_${b}`);
      if (precision === 'fp32') {
        assert.deepEqual(pools(plan), {});
        return;
      }
      assert.deepEqual(pools(plan), Object.fromEntries(blocks.map((b) => [`${b}/pool_proj`, `${b}/pool`])));
      for (const b of blocks) {
        assert.equal(plan.nodes.find((n) => n.name === `${b}/pool`)?.lane, -1, `${b}/pool runs nothing`);
        assert.equal(plan.tensors[`${b}/pool`].root, `${b}/pool`);
      }
      // pool_proj reads the block's input (the previous Concat), so it follows that Concat's writers.
      checkSchedule(graph, plan);
      // Not by default. The pooled tensors live only around their convolution (an observed run writes
      // them there), so they share bytes: the arena does not grow.
      const plain = precision === 'int8' ? await planInt8(text, 4, ['merge']) : await planWith(text, precision, 4, ['merge']);
      assert.deepEqual(pools(plain.plan), {});
      assert.ok(plan.arenaPerImage <= plain.plan.arenaPerImage, `${plan.arenaPerImage} > ${plain.plan.arenaPerImage}`);
    });
  }

  it('poolconv: only a 3x3 / stride 1 / pad 1 MAX pooling whose one reader is a 1x1 convolution of whole 16-byte chunks', async () => {
    const head = (c: number) =>
      `name: "p"\nlayer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: ${c} dim: 9 dim: 7 } } }\n`;
    const pool = (param = 'pool: MAX kernel_size: 3 stride: 1 pad: 1') =>
      `layer { name: "q" type: "Pooling" bottom: "x" top: "q" pooling_param { ${param} } }\n`;
    const conv = (window = 'kernel_size: 1', bottom = 'q', name = 'c') =>
      `layer { name: "${name}" type: "Convolution" bottom: "${bottom}" top: "${name}" convolution_param { num_output: 8 ${window} } }\n`;
    const pooled = async (text: string, precision: Precision = 'fp16') => pools((await planWith(text, precision, 1, ['poolconv'])).plan);
    assert.deepEqual(await pooled(head(16) + pool() + conv()), { c: 'q' });
    assert.deepEqual(pools((await planInt8(head(32) + pool() + conv(), 1, ['poolconv'])).plan), { c: 'q' });
    assert.deepEqual(await pooled(head(16) + pool('pool: AVE kernel_size: 3 stride: 1 pad: 1') + conv()), {});
    assert.deepEqual(await pooled(head(16) + pool('pool: MAX kernel_size: 3 stride: 2 pad: 1') + conv()), {});
    assert.deepEqual(await pooled(head(16) + pool('pool: MAX kernel_size: 2 stride: 1') + conv()), {});
    assert.deepEqual(await pooled(head(16) + pool() + conv('kernel_size: 3 pad: 1')), {});
    assert.deepEqual(await pooled(head(12) + pool() + conv()), {}, '12 halves: a partial chunk');
    assert.deepEqual(await pooled(head(16) + pool() + conv() + conv('kernel_size: 1', 'q', 'd')), {}, 'two readers');
    assert.deepEqual(await pooled(head(16) + pool()), {}, 'a network output');
    assert.deepEqual(await pooled(head(16) + pool() + conv(), 'fp32'), {}, 'FP32 has no tensor-core kernel');
  });

  it('merge: only convolutions of one window, activation and output type reading one tensor; outside a Concat the last one keeps its root', async () => {
    const head = 'name: "m"\nlayer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 16 dim: 8 dim: 8 } } }\n';
    const conv = (name: string, out: number, window = 'kernel_size: 1') =>
      `layer { name: "${name}" type: "Convolution" bottom: "x" top: "${name}" convolution_param { num_output: ${out} ${window} } }\n`;
    const relu = (name: string) => `layer { name: "${name}_relu" type: "ReLU" bottom: "${name}" top: "${name}" }\n`;
    const sink = (names: string[]) =>
      names
        .map(
          (n) =>
            `layer { name: "${n}_s" type: "Convolution" bottom: "${n}" top: "${n}_s" convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }\n`,
        )
        .join('') +
      (names.length > 1 ? `layer { name: "sum" type: "Eltwise" ${names.map((n) => `bottom: "${n}_s"`).join(' ')} top: "sum" }\n` : '');
    const merged = async (text: string, precision: Precision = 'fp16') =>
      merges((await planWith(head + text, precision, 1, ['merge'])).plan);
    // Three 1x1 convolutions with ReLU: one group; no Concat, so the last keeps its root and takes the others before it.
    const three = conv('a', 12) + relu('a') + conv('b', 20) + relu('b') + conv('c', 8) + relu('c') + sink(['a', 'b', 'c']);
    assert.deepEqual(await merged(three), { a: ['a', 'b', 'c'] });
    const { plan } = await planWith(head + three, 'fp16', 1, ['merge']);
    assert.deepEqual(
      ['a', 'b', 'c'].map((n) => [plan.tensors[n].root, plan.tensors[n].cOffset]),
      [
        ['c', 0],
        ['c', 16],
        ['c', 40],
      ],
    );
    assert.equal(plan.tensors.c.rootC, 48);
    assert.deepEqual(plan.nodes.find((n) => n.name === 'a')?.span, [0, 48]);
    // Apart: another window, another activation, a network output, a grouped convolution.
    assert.deepEqual(await merged(conv('a', 12) + relu('a') + conv('b', 20, 'kernel_size: 3 pad: 1') + relu('b') + sink(['a', 'b'])), {});
    assert.deepEqual(await merged(conv('a', 12) + relu('a') + conv('b', 20) + sink(['a', 'b'])), {});
    assert.deepEqual(await merged(conv('a', 12) + conv('b', 20) + sink(['a'])), {}, 'b is a network output');
    assert.deepEqual(
      await merged(conv('a', 12, 'kernel_size: 1 group: 4') + conv('b', 20, 'kernel_size: 1 group: 4') + sink(['a', 'b'])),
      {},
    );
    // Two of three alike: those two.
    assert.deepEqual(await merged(conv('a', 12) + relu('a') + conv('b', 20) + conv('c', 8) + relu('c') + sink(['a', 'b', 'c'])), {
      a: ['a', 'c'],
    });
  });

  /** The harness's plan of an execution graph (nofuse: the planner's fusions off). */
  function planGraph(graph: unknown, lanes: number, nofuse = false): Plan {
    const gpath = path.join(dir, 'graph.json');
    fs.writeFileSync(gpath, JSON.stringify(graph));
    const r = spawnSync(harness, [gpath, String(lanes), ...(nofuse ? ['nofuse'] : [])], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    return JSON.parse(r.stdout) as Plan;
  }
  const fusions = (plan: Plan) => Object.fromEntries(plan.nodes.filter((n) => n.fuses).map((n) => [n.name, n.fuses]));

  it('an LRN and a MAX pooling, one the only reader of the other, run as one kernel; the second runs nothing itself', async function () {
    this.timeout(60000);
    for (const precision of ['fp32', 'fp16', 'int8'] as Precision[]) {
      const { graph, plan } =
        precision === 'int8' ? await planInt8(model('alexnet.prototxt')) : await planWith(model('alexnet.prototxt'), precision);
      assert.deepEqual(fusions(plan), { norm1: 'pool1', norm2: 'pool2' }, precision);
      const node = (n: string) => plan.nodes.find((x) => x.name === n)!;
      assert.deepEqual([node('pool1').lane, node('pool2').lane, node('norm1').lane], [-1, -1, 0]);
      // An observed run (calibration) writes the LRN's output: it keeps its bytes.
      assert.ok(plan.tensors.norm1.bytes > 0);
      checkSchedule(graph, plan);
      assert.deepEqual(fusions(planGraph(graph, 1, true)), {}, 'nofuse');
    }
    // GoogLeNet: conv2/norm2 -> pool2 and, pooling first, pool1 -> pool1/norm1.
    const { graph, plan } = await planWith(model('googlenet.prototxt'), 'fp16', 4);
    assert.deepEqual(fusions(plan), { 'pool1/3x3_s2': 'pool1/norm1', 'conv2/norm2': 'pool2/3x3_s2' });
    checkSchedule(graph, plan);
  });

  it('LRN + pooling pairs the fused kernel does not take, or whose LRN output another node needs, run apart', async () => {
    const head = 'layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 16 dim: 9 dim: 9 } } }\n';
    const lrn = (extra = '') => `layer { name: "n" type: "LRN" bottom: "x" top: "n" lrn_param { local_size: 5 ${extra} } }\n`;
    const pool = (param: string, tops = 'top: "p"') =>
      `layer { name: "p" type: "Pooling" bottom: "n" ${tops} pooling_param { ${param} } }\n`;
    const conv = (bottom: string, name = 'c') =>
      `layer { name: "${name}" type: "Convolution" bottom: "${bottom}" top: "${name}" convolution_param { num_output: 8 kernel_size: 1 } }\n`;
    const fused = async (text: string) => fusions(await planOf(head + text, 'fp16'));
    assert.deepEqual(await fused(lrn() + pool('pool: MAX kernel_size: 3 stride: 2') + conv('p')), { n: 'p' });
    assert.deepEqual(await fused(lrn() + pool('pool: MAX kernel_size: 2 stride: 2 pad: 1') + conv('p')), { n: 'p' });
    // The pooled output may be a network output (the fused kernel writes it).
    assert.deepEqual(await fused(lrn() + pool('pool: MAX kernel_size: 3 stride: 2')), { n: 'p' });
    const apart: [string, string][] = [
      ['AVE pooling', lrn() + pool('pool: AVE kernel_size: 3 stride: 2') + conv('p')],
      ['WITHIN_CHANNEL', lrn('norm_region: WITHIN_CHANNEL') + pool('pool: MAX kernel_size: 3 stride: 2') + conv('p')],
      ['stride > kernel', lrn() + pool('pool: MAX kernel_size: 2 stride: 3') + conv('p')],
      ['a kernel past 8', lrn() + pool('pool: MAX kernel_size: 9 stride: 1') + conv('p')],
      [
        'a window of 11 channels',
        lrn().replace('local_size: 5', 'local_size: 11') + pool('pool: MAX kernel_size: 3 stride: 2') + conv('p'),
      ],
      ['a second reader', lrn() + pool('pool: MAX kernel_size: 3 stride: 2') + conv('p') + conv('n', 'd')],
      ['a mask output', lrn() + pool('pool: MAX kernel_size: 3 stride: 2', 'top: "p" top: "m"') + conv('p')],
    ];
    for (const [why, text] of apart) assert.deepEqual(await fused(text), {}, why);
    // Pooling first (any stride); the same refusals.
    const poolFirst = (param: string, tops = 'top: "q"') =>
      `layer { name: "q" type: "Pooling" bottom: "x" ${tops} pooling_param { ${param} } }\n`;
    const lrnAfter = (extra = '') => `layer { name: "m" type: "LRN" bottom: "q" top: "m" lrn_param { local_size: 5 ${extra} } }\n`;
    assert.deepEqual(await fused(poolFirst('pool: MAX kernel_size: 3 stride: 2') + lrnAfter() + conv('m')), { q: 'm' });
    assert.deepEqual(await fused(poolFirst('pool: MAX kernel_size: 2 stride: 3') + lrnAfter() + conv('m')), { q: 'm' });
    const apartPoolFirst: [string, string][] = [
      ['AVE pooling', poolFirst('pool: AVE kernel_size: 3 stride: 2') + lrnAfter() + conv('m')],
      ['WITHIN_CHANNEL', poolFirst('pool: MAX kernel_size: 3 stride: 2') + lrnAfter('norm_region: WITHIN_CHANNEL') + conv('m')],
      ['a second reader', poolFirst('pool: MAX kernel_size: 3 stride: 2') + lrnAfter() + conv('m') + conv('q', 'd')],
    ];
    for (const [why, text] of apartPoolFirst) assert.deepEqual(await fused(text), {}, `pooling first: ${why}`);
    // LRN -> pooling -> LRN: the pooling joins the first LRN only.
    const chain = lrn() + pool('pool: MAX kernel_size: 3 stride: 2') + lrnAfter().replace('bottom: "q"', 'bottom: "p"') + conv('m');
    assert.deepEqual(await fused(chain), { n: 'p' });
  });

  for (const precision of ['fp32', 'fp16'] as Precision[]) {
    it(`${precision}: region tensors carry their rows, image tensors 1; the arena holds rows x each region row`, async () => {
      const small = await planOf(regions(12), precision);
      const t = small.tensors;
      for (const name of ['rois', 'pooled', 'act', 'fc']) assert.equal(t[name].rows, 12, `${name} rows`);
      for (const name of ['scores', 'deltas', 'im_info', 'feat']) assert.equal(t[name].rows, 1, `${name} rows`);
      assert.equal(t.rois.elem, precision === 'fp16' ? 'f16' : 'f32');
      // The region layers take no views: their tensors are whole kLinear ones.
      for (const name of ['rois', 'pooled', 'feat']) assert.equal(t[name].layout, 'linear', `${name} layout`);
      // 300 regions of [18, 3, 2] pooled values (108 a row) are live together with their ReLU's
      // output: the arena holds at least 2 x 300 rows of them per image.
      const big = await planOf(regions(300), precision);
      const bytes = precision === 'fp16' ? 2 : 4;
      assert.ok(big.arenaPerImage >= 2 * 300 * 108 * bytes, `arena ${big.arenaPerImage} bytes an image`);
      assert.ok(big.arenaPerImage - small.arenaPerImage >= 2 * (300 - 12) * 108 * bytes, 'the arena grows with the rows');
    });

    it(`${precision}: a MAX pooling's mask is an index tensor, float32 (float16 rounds integers past 2048)`, async () => {
      const text =
        'layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 2 dim: 128 dim: 256 } } }\n' +
        'layer { name: "pool" type: "Pooling" bottom: "x" top: "p" top: "mask" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }\n' +
        'layer { name: "up" type: "Upsample" bottom: "p" bottom: "mask" top: "y" upsample_param { scale: 2 } }\n';
      const t = (await planOf(text, precision)).tensors;
      assert.equal(t.mask.elem, 'f32');
      assert.equal(t.p.elem, precision === 'fp16' ? 'f16' : 'f32');
    });
  }
});
