/**
 * Two convolution fusions of the cuda planner, each against the same network built without it:
 * - sibling convolutions as one GEMM (planner.cc merge_siblings, conv.cu init_merged;
 *   TRTN_CUDA_MERGE=1 while it is new): convolutions of one window, activation and output type
 *   reading one tensor, placed side by side in one root and run by the first of them;
 * - a 3x3 MAX pooling in the loader of the 1x1 convolution reading it (fusion.h pool_conv_fusable,
 *   conv_mma.cu's POOL kernels; TRTN_CUDA_POOL_CONV=1 while it is new): GoogLeNet's pool -> pool_proj.
 * Outputs: INT8 bit for bit (both builds get the same scales, every tensor its own), FP16 / TF32 /
 * FP32 within rounding (another tile may be chosen), call after call, with and without the CUDA
 * graph, over poisoned activations, on four streams; every POOL tactic forced in turn; a loaded plan
 * keeps its fusions whatever the environment says; details() and the profile name them.
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

/**
 * A MAX pooling 3x3 / stride 1 / pad 1 over 48 channels (three int8 chunks, six of float16, twelve
 * of float32) of an 11 x 13 image (windows clipped at every edge), read only by a 1x1 convolution
 * writing into a Concat; the Concat's other input reads the same image.
 */
const POOLED =
  'name: "pooled"\n' +
  'layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 5 dim: 11 dim: 13 } } }\n' +
  'layer { name: "c0" type: "Convolution" bottom: "x" top: "c0" convolution_param { num_output: 48 kernel_size: 3 pad: 1 } }\n' +
  'layer { name: "q" type: "Pooling" bottom: "c0" top: "q" pooling_param { pool: MAX kernel_size: 3 stride: 1 pad: 1 } }\n' +
  'layer { name: "c" type: "Convolution" bottom: "q" top: "c" convolution_param { num_output: 24 kernel_size: 1 } }\n' +
  'layer { name: "rc" type: "ReLU" bottom: "c" top: "c" }\n' +
  'layer { name: "d" type: "Convolution" bottom: "c0" top: "d" convolution_param { num_output: 16 kernel_size: 1 } }\n' +
  'layer { name: "cat" type: "Concat" bottom: "d" bottom: "c" top: "cat" }\n';

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

describe('gpu: convolution fusions (sibling convolutions as one GEMM, pooling in the loader)', function () {
  this.timeout(600000);
  before(function () {
    requireCuda(this);
  });
  const FUSIONS = ['TRTN_CUDA_MERGE', 'TRTN_CUDA_POOL_CONV', 'TRTN_CUDA_FORCE_TACTIC'];
  afterEach(() => {
    delete process.env.TRTN_CUDA_POISON;
    for (const v of FUSIONS) delete process.env[v];
  });

  /** What one comparison expects of the fused engine. */
  interface Expect {
    /** The switches the fused build sets to 1 (the plain build sets them to 0). */
    readonly flags: string[];
    /** Each layer that runs others -> those others. */
    readonly inside: Record<string, string[]>;
    /** The others' tactic: "merged into '<runner>'" or "fused into '<runner>'". */
    readonly word: 'merged' | 'fused';
    /** details() counts: merges, pooledConvs. */
    readonly counts: { merges?: number; pooledConvs?: number };
    /** A tactic forced on both builds (TRTN_CUDA_FORCE_TACTIC), if any. */
    readonly tactic?: string;
  }

  async function compare(net: Network, precision: Precision, want: Expect, label: string): Promise<void> {
    const builder = new Builder({ backend: 'cuda', logger: () => undefined });
    const config = { precision, maxBatchSize: 16, ...(precision === 'int8' ? { int8Scales: scalesOf(net) } : {}) };
    if (want.tactic !== undefined) process.env.TRTN_CUDA_FORCE_TACTIC = want.tactic;
    for (const v of want.flags) process.env[v] = '0';
    const apart = await builder.build(net, config);
    for (const v of want.flags) process.env[v] = '1';
    const fused = await builder.build(net, config);
    for (const v of FUSIONS) delete process.env[v];
    const engines: Engine[] = [apart, fused];
    const same = (x: Record<string, unknown>, y: Record<string, unknown>, what: string) =>
      precision === 'int8' ? sameBits(x, y, what) : close(x, y, precision === 'fp16' ? 2e-2 : 1e-4, what);
    try {
      for (const [key, n] of Object.entries(want.counts)) {
        assert.equal(apart.details()[key as keyof typeof want.counts], 0, `${label}: ${key} apart`);
        assert.equal(fused.details()[key as keyof typeof want.counts], n, `${label}: ${key}`);
      }
      const layer = (name: string) => fused.details().layers!.find((l) => l.name === name)!;
      for (const [runner, others] of Object.entries(want.inside)) {
        assert.doesNotMatch(layer(runner).tactic, /into/);
        if (want.tactic !== undefined) assert.equal(layer(runner).tactic, want.tactic);
        for (const m of others) {
          assert.equal(layer(m).tactic, `${want.word} into '${runner}'`);
          assert.equal(layer(m).stream, -1);
        }
      }
      process.env.TRTN_CUDA_POISON = '1';
      const a = apart.createContext();
      const b = fused.createContext();
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
        for (const [runner, others] of Object.entries(want.inside)) {
          assert.ok(ms.get(runner)! > 0, `${runner} is timed`);
          for (const m of others) assert.ok(ms.get(m)! < ms.get(runner)!, `${m} runs inside ${runner}`);
        }
      } finally {
        a.dispose();
        b.dispose();
      }
      const loaded = await Runtime.deserialize(fused.serialize());
      engines.push(loaded);
      for (const [key, n] of Object.entries(want.counts)) {
        assert.equal(loaded.details()[key as keyof typeof want.counts], n, `the plan keeps its ${key}`);
      }
      await sameOutputs(loaded, fused, `${label} ${precision}: the loaded plan`);
    } finally {
      for (const e of engines) e.dispose();
    }
  }

  const merges = (inside: Record<string, string[]>): Expect => ({
    flags: ['TRTN_CUDA_MERGE'],
    inside,
    word: 'merged',
    counts: { merges: Object.keys(inside).length },
  });
  const blocks = ['3a', '3b', '4a', '4b', '4c', '4d', '4e', '5a', '5b'].map((b) => `inception_${b}`);

  for (const precision of ['fp32', 'fp16', 'int8'] as Precision[]) {
    it(`odd widths ${precision}: a, b and c as one GEMM (gaps between them, c inside the Concat) give the separate convolutions' outputs`, async () => {
      const net = await Network.parse(SMALL, { file: 'siblings.prototxt', seed: 6 });
      await compare(net, precision, merges({ a: ['b', 'c'] }), 'small');
    });
    it(`3x3 siblings ${precision}: a and b as one GEMM outside any Concat (b keeps its root)`, async () => {
      const net = await Network.parse(PLAIN, { file: 'plain.prototxt', seed: 8 });
      await compare(net, precision, merges({ a: ['b'] }), 'plain');
    });
  }

  for (const precision of ['fp16', 'int8'] as Precision[]) {
    it(`GoogLeNet ${precision}: the nine inception blocks' 1x1 / 3x3_reduce / 5x5_reduce as one GEMM each, on four streams`, async () => {
      const net = await Network.fromCaffe(path.join(ROOT, 'models', 'googlenet.prototxt'), { seed: 4 });
      await compare(
        net,
        precision,
        merges(Object.fromEntries(blocks.map((b) => [`${b}/1x1`, [`${b}/3x3_reduce`, `${b}/5x5_reduce`]]))),
        'googlenet',
      );
    });
  }

  const pooling = (tactic?: string): Expect => ({
    flags: ['TRTN_CUDA_POOL_CONV'],
    inside: { c: ['q'] },
    word: 'fused',
    counts: { pooledConvs: 1 },
    ...(tactic !== undefined ? { tactic } : {}),
  });
  /** The POOL tactics (conv_mma.cu kMmaPoolTile): tile and K bytes a stage, stages. */
  const POOL_TILES: [number, number, number, number][] = [
    [128, 64, 64, 4],
    [64, 64, 64, 4],
    [64, 64, 128, 3],
    [64, 32, 128, 4],
    [32, 64, 128, 4],
  ];
  for (const precision of ['tf32', 'fp16', 'int8'] as Precision[]) {
    const math = { tf32: ['tf32', 4], fp16: ['f16', 2], int8: ['i8', 1] }[precision as 'tf32' | 'fp16' | 'int8'];
    it(`pooling in the loader ${precision}: every POOL tactic gives the pooling and the convolution's outputs (edges, 3 chunks, a Concat slice)`, async () => {
      const net = await Network.parse(POOLED, { file: 'pooled.prototxt', seed: 9 });
      await compare(net, precision, pooling(), 'pooled');
      for (const [bm, bn, kb, st] of POOL_TILES) {
        const name = `mma_${math[0]}_${bm}x${bn}x${kb / (math[1] as number)}_s${st}_pool`;
        await compare(net, precision, pooling(name), `pooled ${name}`);
      }
    });
  }

  for (const precision of ['fp16', 'int8'] as Precision[]) {
    it(`GoogLeNet ${precision}: merged siblings and every inception pooling in pool_proj's loader, on four streams`, async () => {
      const net = await Network.fromCaffe(path.join(ROOT, 'models', 'googlenet.prototxt'), { seed: 4 });
      const want: Expect = {
        flags: ['TRTN_CUDA_MERGE', 'TRTN_CUDA_POOL_CONV'],
        inside: Object.fromEntries(blocks.map((b) => [`${b}/pool_proj`, [`${b}/pool`]])),
        word: 'fused',
        counts: { merges: 9, pooledConvs: 9 },
      };
      await compare(net, precision, want, 'googlenet pooled');
    });
  }
});
