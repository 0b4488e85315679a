/**
 * Sibling convolutions run as one GEMM (native/backends/cuda/planner.cc merge_siblings, conv.cu
 * init_merged; TRTN_CUDA_MERGE=1 while it is new): convolutions of one window, activation and output
 * type reading one tensor are placed side by side in one root and run by the first of them as one
 * convolution. An engine built so gives the outputs of the same network built without it: INT8 bit
 * for bit (both builds get the same scales, every tensor its own, so the members' epilogues differ),
 * FP16 / FP32 within rounding (the merged GEMM may take another tile than each member did), call
 * after call, with and without the CUDA graph, over poisoned activations, on four streams; a loaded
 * plan keeps its merges whatever the environment says; details() and the profile name them.
 */
import { strict as assert } from 'assert';
import * as path from 'path';
import { Builder, Network, Runtime } from '../../lib';
import type { Engine, Precision } from '../../lib';
import { planExecGraph } from '../../lib/builder/exec_graph';
import { randomImages, requireCuda, sameBits, sameOutputs } from '../support/cuda';

const ROOT = path.resolve(__dirname, '../../..');

/**
 * Three 1x1 convolutions of odd widths reading one tensor: `c` is the Concat's first input (the
 * anchor), `a` and `b` move in front of the Concat's channels; each reduce feeds a 3x3 convolution.
 */
const SMALL =
  'name: "siblings"\n' +
  'layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 24 dim: 13 dim: 11 } } }\n' +
  'layer { name: "a" type: "Convolution" bottom: "x" top: "a" convolution_param { num_output: 12 kernel_size: 1 } }\n' +
  'layer { name: "ra" type: "ReLU" bottom: "a" top: "a" }\n' +
  'layer { name: "b" type: "Convolution" bottom: "x" top: "b" convolution_param { num_output: 20 kernel_size: 1 } }\n' +
  'layer { name: "rb" type: "ReLU" bottom: "b" top: "b" }\n' +
  'layer { name: "c" type: "Convolution" bottom: "x" top: "c" convolution_param { num_output: 8 kernel_size: 1 } }\n' +
  'layer { name: "rc" type: "ReLU" bottom: "c" top: "c" }\n' +
  'layer { name: "sa" type: "Convolution" bottom: "a" top: "sa" convolution_param { num_output: 16 kernel_size: 3 pad: 1 } }\n' +
  'layer { name: "sb" type: "Convolution" bottom: "b" top: "sb" convolution_param { num_output: 8 kernel_size: 3 pad: 1 } }\n' +
  'layer { name: "cat" type: "Concat" bottom: "c" bottom: "sa" bottom: "sb" top: "cat" }\n' +
  'layer { name: "o" type: "Convolution" bottom: "cat" top: "o" convolution_param { num_output: 10 kernel_size: 1 } }\n';

/** Two siblings outside any Concat: the last, `b`, keeps its root and takes `a` in front of it. */
const PLAIN =
  'name: "plain"\n' +
  'layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 40 dim: 9 dim: 14 } } }\n' +
  'layer { name: "a" type: "Convolution" bottom: "x" top: "a" convolution_param { num_output: 28 kernel_size: 3 pad: 1 } }\n' +
  'layer { name: "b" type: "Convolution" bottom: "x" top: "b" convolution_param { num_output: 36 kernel_size: 3 pad: 1 } }\n' +
  'layer { name: "sa" type: "Convolution" bottom: "a" top: "sa" convolution_param { num_output: 8 kernel_size: 1 } }\n' +
  'layer { name: "sb" type: "Convolution" bottom: "b" top: "sb" convolution_param { num_output: 8 kernel_size: 1 } }\n' +
  'layer { name: "sum" type: "Eltwise" bottom: "sa" bottom: "sb" top: "sum" }\n';

/** A scale per tensor (0.02 .. 0.06, by name), the same for both builds. */
function scalesOf(net: Network): Record<string, number> {
  const names = planExecGraph(net, { precision: 'fp32', maxBatchSize: 2 }).tensors.map((t) => t.name);
  const hash = (s: string) => [...s].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) % 9973, 7);
  return Object.fromEntries(names.map((n) => [n, 0.02 + 0.01 * (hash(n) % 5)]));
}

/** Largest |x - y| over the largest |y|, per output. */
function close(a: Record<string, unknown>, b: Record<string, unknown>, tol: number, what: string): void {
  for (const name of Object.keys(b)) {
    const x = a[name] as Float32Array;
    const y = b[name] as Float32Array;
    assert.equal(x.length, y.length, `${what}: ${name} length`);
    let diff = 0;
    let top = 0;
    for (let i = 0; i < y.length; ++i) {
      diff = Math.max(diff, Math.abs(x[i] - y[i]));
      top = Math.max(top, Math.abs(y[i]));
    }
    assert.ok(Number.isFinite(diff) && diff <= tol * top, `${what}: ${name} differs by ${diff} (largest value ${top})`);
  }
}

describe('gpu: sibling convolutions as one GEMM', function () {
  this.timeout(600000);
  before(function () {
    requireCuda(this);
  });
  afterEach(() => {
    delete process.env.TRTN_CUDA_POISON;
    delete process.env.TRTN_CUDA_MERGE;
  });

  /** groups: runner -> its other members. */
  async function compare(net: Network, precision: Precision, groups: Record<string, string[]>, label: string): Promise<void> {
    const builder = new Builder({ backend: 'cuda', logger: () => undefined });
    const config = { precision, maxBatchSize: 16, ...(precision === 'int8' ? { int8Scales: scalesOf(net) } : {}) };
    process.env.TRTN_CUDA_MERGE = '0';
    const apart = await builder.build(net, config);
    process.env.TRTN_CUDA_MERGE = '1';
    const merged = await builder.build(net, config);
    delete process.env.TRTN_CUDA_MERGE;
    const engines: Engine[] = [apart, merged];
    const same = (x: Record<string, unknown>, y: Record<string, unknown>, what: string) =>
      precision === 'int8' ? sameBits(x, y, what) : close(x, y, precision === 'fp16' ? 2e-2 : 1e-4, what);
    try {
      assert.equal(apart.details().merges, 0);
      assert.equal(merged.details().merges, Object.keys(groups).length, label);
      const layer = (name: string) => merged.details().layers!.find((l) => l.name === name)!;
      for (const [runner, others] of Object.entries(groups)) {
        assert.doesNotMatch(layer(runner).tactic, /into/);
        for (const m of others) {
          assert.equal(layer(m).tactic, `merged into '${runner}'`);
          assert.equal(layer(m).stream, -1);
        }
      }
      process.env.TRTN_CUDA_POISON = '1';
      const a = apart.createContext();
      const b = merged.createContext();
      try {
        for (let call = 0; call < 6; ++call) {
          const batch = [16, 5, 1][call % 3];
          const inputs = randomImages(apart, batch, 300 + call);
          const cudaGraph = call % 2 === 0;
          const want = await a.benchInfer(inputs, { batchSize: batch, cudaGraph });
          same(await b.benchInfer(inputs, { batchSize: batch, cudaGraph }), want, `${label} ${precision} call ${call}`);
        }
        const inputs = randomImages(apart, 16, 77);
        same(await b.infer(inputs, { profile: true }), await a.infer(inputs), `${label} ${precision}: a profiled call`);
        const ms = new Map(b.lastProfile!.layers.map((l) => [l.name, l.ms]));
        for (const [runner, others] of Object.entries(groups)) {
          assert.ok(ms.get(runner)! > 0, `${runner} is timed`);
          for (const m of others) assert.ok(ms.get(m)! < ms.get(runner)!, `${m} runs inside ${runner}`);
        }
      } finally {
        a.dispose();
        b.dispose();
      }
      const loaded = await Runtime.deserialize(merged.serialize());
      engines.push(loaded);
      assert.equal(loaded.details().merges, Object.keys(groups).length, 'the plan keeps its merges');
      await sameOutputs(loaded, merged, `${label} ${precision}: the loaded plan`);
    } finally {
      for (const e of engines) e.dispose();
    }
  }

  for (const precision of ['fp32', 'fp16', 'int8'] as Precision[]) {
    it(`odd widths ${precision}: a, b and c as one GEMM (gaps between them, c inside the Concat) give the separate convolutions' outputs`, async () => {
      const net = await Network.parse(SMALL, { file: 'siblings.prototxt', seed: 6 });
      await compare(net, precision, { a: ['b', 'c'] }, 'small');
    });
  }

  for (const precision of ['fp16', 'int8'] as Precision[]) {
    it(`GoogLeNet ${precision}: the nine inception blocks' 1x1 / 3x3_reduce / 5x5_reduce as one GEMM each, on four streams`, async () => {
      const net = await Network.fromCaffe(path.join(ROOT, 'models', 'googlenet.prototxt'), { seed: 4 });
      const blocks = ['3a', '3b', '4a', '4b', '4c', '4d', '4e', '5a', '5b'].map((b) => `inception_${b}`);
      const groups = Object.fromEntries(blocks.map((b) => [`${b}/1x1`, [`${b}/3x3_reduce`, `${b}/5x5_reduce`]]));
      await compare(net, precision, groups, 'googlenet');
    });
  }

  for (const precision of ['fp32', 'fp16', 'int8'] as Precision[]) {
    it(`3x3 siblings ${precision}: a and b as one GEMM outside any Concat (b keeps its root)`, async () => {
      const net = await Network.parse(PLAIN, { file: 'plain.prototxt', seed: 8 });
      await compare(net, precision, { a: ['b'] }, 'plain');
    });
  }
});
