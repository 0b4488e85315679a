/**
 * Independent branches on auxiliary streams (native/backends/cuda/schedule.h; BuildConfig
 * maxAuxStreams): an engine on four streams gives exactly the outputs of the same engine on one
 * (same tactics, from one timing cache) over many calls, with the CUDA graph and without, with
 * poisoned activations (a read before its write shows as NaN); a plan keeps its streams; per-layer
 * profiles (which run on one stream) agree too. The addon's own checks: a stream count out of range
 * that skipped the JavaScript validation, a plan whose auxStreams is not an integer.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder, Network, Runtime } from '../../lib';
import type { Precision } from '../../lib';
import { planExecGraph } from '../../lib/builder/exec_graph';
import { readPlan, writePlan } from '../../lib/runtime/plan_file';
import { randomImages, requireCuda, sameBits } from '../support/cuda';
import { fails } from '../support/helpers';

const ROOT = path.resolve(__dirname, '../../..');

describe('gpu: independent branches on auxiliary streams', function () {
  this.timeout(600000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-cuda-streams-'));
  before(function () {
    requireCuda(this);
  });
  afterEach(() => delete process.env.TRTN_CUDA_POISON);
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('the addon refuses maxAuxStreams out of range (E_INVALID_ARGUMENT) and a plan whose auxStreams is not an integer (E_PLAN_CORRUPT)', async () => {
    const net = await Network.fromCaffe(path.join(ROOT, 'models', 'lenet.prototxt'), { seed: 1 });
    const builder = new Builder({ backend: 'cuda', logger: () => undefined });
    // buildGraph (internal) hands its options to the addon unchecked: the addon's own range check.
    const graph = planExecGraph(net, { precision: 'fp32', maxBatchSize: 2 });
    await fails(builder.buildGraph(net, graph, { maxAuxStreams: 9 }, 'cuda'), 'E_INVALID_ARGUMENT', 'maxAuxStreams is 9');
    const engine = await builder.build(net, { maxBatchSize: 2 });
    const contents = readPlan(engine.serialize());
    engine.dispose();
    const section = JSON.parse(Buffer.from(contents.backend).toString('utf8')) as Record<string, unknown>;
    section.auxStreams = 'three';
    const { sections: _s, formatVersion: _f, ...header } = contents.header;
    const forged = writePlan(header, contents.graphJson, contents.weights, Buffer.from(JSON.stringify(section)));
    await fails(Runtime.deserialize(forged), 'E_PLAN_CORRUPT', 'auxStreams is not an integer');
  });

  const cases: [string, Precision, number][] = [
    ['googlenet.prototxt', 'int8', 4],
    ['googlenet.prototxt', 'fp16', 4],
    ['resnet50.prototxt', 'fp32', 2],
    ['squeezenet1.1.prototxt', 'fp16', 2],
  ];
  for (const [file, precision, streams] of cases) {
    it(`${file} ${precision}: ${streams} streams give one stream's outputs bit for bit, graph or not, call after call`, async () => {
      const net = await Network.fromCaffe(path.join(ROOT, 'models', file), { seed: 7 });
      // One timing cache: both engines run the same kernels, so their outputs are the same bits.
      const timingCache = path.join(tmp, `${file}-${precision}.json`);
      const builder = new Builder({ backend: 'cuda', timingCache, logger: () => undefined });
      const one = await builder.build(net, { precision, maxBatchSize: 16, maxAuxStreams: 0 });
      const many = await builder.build(net, { precision, maxBatchSize: 16 });
      try {
        assert.equal(one.details().streams, 1);
        assert.equal(many.details().maxAuxStreams, 3);
        assert.equal(many.details().streams, streams);
        assert.deepEqual(
          many.details().layers?.map((l) => l.tactic),
          one.details().layers?.map((l) => l.tactic),
          'the same tactics',
        );
        const used = new Set((many.details().layers ?? []).map((l) => l.stream).filter((s) => s !== undefined && s >= 0));
        assert.equal(used.size, streams, 'every stream runs layers');
        process.env.TRTN_CUDA_POISON = '1';
        const a = one.createContext();
        const b = many.createContext();
        try {
          for (let call = 0; call < 12; ++call) {
            const batch = [16, 5, 16, 1][call % 4];
            const inputs = randomImages(one, batch, 100 + call);
            const cudaGraph = call % 3 !== 2;
            const want = await a.benchInfer(inputs, { batchSize: batch, cudaGraph });
            const got = await b.benchInfer(inputs, { batchSize: batch, cudaGraph });
            sameBits(got, want, `call ${call} (batch ${batch}${cudaGraph ? '' : ', no CUDA graph'})`);
          }
          const inputs = randomImages(one, 16, 99);
          const profiled = await b.infer(inputs, { profile: true });
          sameBits(profiled, await a.infer(inputs), 'a profiled call');
        } finally {
          a.dispose();
          b.dispose();
        }
        const loaded = await Runtime.deserialize(many.serialize());
        try {
          assert.equal(loaded.details().streams, streams, 'the plan keeps its streams');
          assert.equal(loaded.details().maxAuxStreams, 3);
        } finally {
          loaded.dispose();
        }
      } finally {
        one.dispose();
        many.dispose();
      }
    });
  }
});
