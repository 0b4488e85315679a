/**
 * Independent branches on auxiliary streams (native/backends/cuda/schedule.h; BuildConfig
 * maxAuxStreams): an engine on four streams gives exactly the outputs of the same engine on one
 * (same tactics, from one timing cache) over many calls, with the CUDA graph and without, with
 * poisoned activations (a read before its write shows as NaN); a plan keeps its streams; per-layer
 * profiles (which run on one stream) agree too.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder, Network, Runtime } from '../../lib';
import type { Engine, Precision } from '../../lib';
import { requireCuda } from '../support/cuda';
import { randomInput } from '../support/reference';

const ROOT = path.resolve(__dirname, '../../..');

function imagesFor(engine: Engine, batch: number, seed: number): Record<string, Float32Array> {
  return Object.fromEntries(engine.inputs.map((t, i) => [t.name, randomInput(batch * t.dims.reduce((a, b) => a * b, 1), seed + i, -1, 1)]));
}

function sameBits(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>, what: string): void {
  for (const name of Object.keys(a)) {
    const x = a[name] as Float32Array;
    const y = b[name] as Float32Array;
    assert.equal(x.length, y.length, `${what}: ${name} length`);
    const bad = x.findIndex((v, i) => !Object.is(v, y[i]));
    assert.equal(bad, -1, `${what}: ${name}[${bad}] ${x[bad]} vs ${y[bad]}`);
    assert.ok(x.every(Number.isFinite), `${what}: ${name} has a non-finite value`);
  }
}

describe('gpu: independent branches on auxiliary streams', function () {
  this.timeout(600000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-cuda-streams-'));
  before(function () {
    requireCuda(this);
  });
  afterEach(() => delete process.env.TRTN_CUDA_POISON);
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

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
            const inputs = imagesFor(one, batch, 100 + call);
            const cudaGraph = call % 3 !== 2;
            const want = await a.benchInfer(inputs, { batchSize: batch, cudaGraph });
            const got = await b.benchInfer(inputs, { batchSize: batch, cudaGraph });
            sameBits(got, want, `call ${call} (batch ${batch}${cudaGraph ? '' : ', no CUDA graph'})`);
          }
          const inputs = imagesFor(one, 16, 99);
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
