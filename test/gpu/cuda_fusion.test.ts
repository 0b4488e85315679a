/**
 * The LRN / MAX pooling fusions (native/backends/cuda/fusion.h, kernels/lrn_pool.cu): an engine that
 * runs an LRN with the pooling after it, or a pooling with the LRN after it, as one kernel gives
 * exactly the outputs of the same engine
 * built without TRTN_CUDA_FUSION=1 (each op on its own; same tactics from one timing cache), in
 * every precision, call after call, with the CUDA graph and without, with poisoned activations;
 * INT8 engines calibrate through the fused engine (an observed run writes the LRN's output too),
 * so equal outputs also mean equal scales. A plan keeps its fusions; details() names them.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder, Network, Runtime } from '../../lib';
import type { Engine, Precision } from '../../lib';
import { randomImages, requireCuda, sameBits, sameOutputs } from '../support/cuda';

const ROOT = path.resolve(__dirname, '../../..');

/**
 * Two LRN + pooling pairs and a pooling + LRN pair with odd sizes: ceil-mode edge windows, a window of
 * 9 channels, 24 and 20 channels (8-channel groups, one partial), every output written into one Concat.
 */
const ODD =
  'name: "odd"\n' +
  'layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 5 dim: 23 dim: 21 } } }\n' +
  'layer { name: "c1" type: "Convolution" bottom: "x" top: "c1" convolution_param { num_output: 24 kernel_size: 3 pad: 1 } }\n' +
  'layer { name: "r1" type: "ReLU" bottom: "c1" top: "c1" }\n' +
  'layer { name: "n1" type: "LRN" bottom: "c1" top: "n1" lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 } }\n' +
  'layer { name: "p1" type: "Pooling" bottom: "n1" top: "p1" pooling_param { pool: MAX kernel_size: 3 stride: 2 } }\n' +
  'layer { name: "c2" type: "Convolution" bottom: "x" top: "c2" convolution_param { num_output: 20 kernel_size: 3 pad: 1 } }\n' +
  'layer { name: "n2" type: "LRN" bottom: "c2" top: "n2" lrn_param { local_size: 9 alpha: 0.001 beta: 0.75 k: 2 } }\n' +
  'layer { name: "p2" type: "Pooling" bottom: "n2" top: "p2" pooling_param { pool: MAX kernel_size: 3 stride: 2 } }\n' +
  'layer { name: "q3" type: "Pooling" bottom: "c2" top: "q3" pooling_param { pool: MAX kernel_size: 3 stride: 2 } }\n' +
  'layer { name: "n3" type: "LRN" bottom: "q3" top: "n3" lrn_param { local_size: 3 alpha: 0.01 beta: 0.75 } }\n' +
  'layer { name: "cat" type: "Concat" bottom: "p1" bottom: "p2" bottom: "n3" top: "cat" }\n' +
  'layer { name: "c3" type: "Convolution" bottom: "cat" top: "c3" convolution_param { num_output: 16 kernel_size: 1 } }\n';

// The INT8 LRN's integer form (off by default until the GPU tests pass), so that the fused kernels'
// form of it is compared with the LRN op's (read once per process).
process.env.TRTN_CUDA_LRN_Q = '1';

describe('gpu: LRN + MAX pooling as one kernel', function () {
  this.timeout(600000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-cuda-fusion-'));
  before(function () {
    requireCuda(this);
  });
  afterEach(() => {
    delete process.env.TRTN_CUDA_POISON;
    delete process.env.TRTN_CUDA_FUSION;
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** pairs: [first, second] of each fused pair (the second runs inside the first). */
  async function compare(net: Network, precision: Precision, pairs: [string, string][], label: string): Promise<void> {
    const timingCache = path.join(tmp, `${label}-${precision}.json`);
    const builder = new Builder({ backend: 'cuda', timingCache, logger: () => undefined });
    process.env.TRTN_CUDA_FUSION = '0';
    const apart = await builder.build(net, { precision, maxBatchSize: 16 });
    process.env.TRTN_CUDA_FUSION = '1';
    const fused = await builder.build(net, { precision, maxBatchSize: 16 });
    const engines: Engine[] = [apart, fused];
    try {
      assert.equal(apart.details().fusions, 0);
      assert.equal(fused.details().fusions, pairs.length, label);
      const layer = (name: string) => fused.details().layers!.find((l) => l.name === name)!;
      for (const [first, second] of pairs) {
        assert.equal(layer(second).tactic, `fused into '${first}'`);
        assert.equal(layer(second).stream, -1);
        assert.match(layer(first).tactic, /^(lrn_max_pool|max_pool_lrn) \(with /);
      }
      process.env.TRTN_CUDA_POISON = '1';
      const a = apart.createContext();
      const b = fused.createContext();
      try {
        for (let call = 0; call < 8; ++call) {
          const batch = [16, 5, 16, 1][call % 4];
          const inputs = randomImages(apart, batch, 200 + call);
          const cudaGraph = call % 3 !== 2;
          const want = await a.benchInfer(inputs, { batchSize: batch, cudaGraph });
          sameBits(await b.benchInfer(inputs, { batchSize: batch, cudaGraph }), want, `${label} ${precision} call ${call}`);
        }
        const inputs = randomImages(apart, 16, 99);
        const profiled = await b.infer(inputs, { profile: true });
        sameBits(profiled, await a.infer(inputs), `${label} ${precision}: a profiled call`);
        const ms = new Map(b.lastProfile!.layers.map((l) => [l.name, l.ms]));
        for (const [first, second] of pairs) {
          assert.ok(ms.get(first)! > 0, `${first} is timed`);
          assert.ok(ms.get(second)! < ms.get(first)!, `${second} runs inside ${first}`);
        }
      } finally {
        a.dispose();
        b.dispose();
      }
      const loaded = await Runtime.deserialize(fused.serialize());
      engines.push(loaded);
      assert.equal(loaded.details().fusions, pairs.length, 'the plan keeps its fusions');
      await sameOutputs(loaded, apart, `${label} ${precision}: the loaded plan`);
    } finally {
      for (const e of engines) e.dispose();
    }
  }

  for (const precision of ['fp32', 'fp16', 'int8'] as Precision[]) {
    it(`AlexNet ${precision}: norm1 + pool1 and norm2 + pool2 fused give the unfused engine's outputs bit for bit`, async () => {
      const net = await Network.fromCaffe(path.join(ROOT, 'models', 'alexnet.prototxt'), { seed: 3 });
      await compare(
        net,
        precision,
        [
          ['norm1', 'pool1'],
          ['norm2', 'pool2'],
        ],
        'alexnet',
      );
    });
    it(`odd shapes ${precision}: both orders, edge windows, 9-channel windows, outputs inside a Concat`, async () => {
      const net = await Network.parse(ODD, { file: 'odd.prototxt', seed: 5 });
      await compare(
        net,
        precision,
        [
          ['n1', 'p1'],
          ['n2', 'p2'],
          ['q3', 'n3'],
        ],
        'odd',
      );
    });
  }

  for (const precision of ['fp16', 'int8'] as Precision[]) {
    it(`GoogLeNet ${precision}: pool1 + norm1 and norm2 + pool2 fused on four streams give the unfused engine's outputs`, async () => {
      const net = await Network.fromCaffe(path.join(ROOT, 'models', 'googlenet.prototxt'), { seed: 4 });
      const pairs: [string, string][] = [
        ['pool1/3x3_s2', 'pool1/norm1'],
        ['conv2/norm2', 'pool2/3x3_s2'],
      ];
      await compare(net, precision, pairs, 'googlenet');
    });
  }
});
