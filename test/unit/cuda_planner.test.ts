/**
 * The cuda backend's planner (native/backends/cuda/planner.h) on execution graphs made by the real
 * pipeline, through a g++-built harness (test/native/cuda_planner_main.cc) that prints every
 * tensor's place and the arena's bytes per image. No GPU is needed: planning depends on the graph
 * only. Here: Faster R-CNN's region tensors (rows per image) get their rows, and the arena holds
 * batch x rows of them; index tensors (MAX pooling masks) stay float32 in fp16.
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Network, type Precision } from '../../lib';
import { planExecGraph } from '../../lib/builder/exec_graph';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SOURCES = [
  'test/native/cuda_planner_main.cc',
  'native/backends/cuda/planner.cc',
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
}
interface Plan {
  arenaPerImage: number;
  tensors: Record<string, Place>;
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

  async function planOf(text: string, precision: Precision): Promise<Plan> {
    const net = await Network.parse(text, { file: 't.prototxt', seed: 1 });
    const graph = planExecGraph(net, { precision, maxBatchSize: 2 });
    const gpath = path.join(dir, 'graph.json');
    fs.writeFileSync(gpath, JSON.stringify(graph));
    const r = spawnSync(harness, [gpath], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    return JSON.parse(r.stdout) as Plan;
  }

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
