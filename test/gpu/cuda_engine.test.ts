/**
 * The cuda backend as an engine: plans (round trip, another architecture), out-of-memory that
 * leaves everything working, contexts in parallel, the timing cache, GPU timings, no GPU at all,
 * calibration on the GPU and LeNet's INT8 accuracy equal to the cpu backend's.
 */
import { strict as assert } from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder, Network, Runtime } from '../../lib';
import type { Engine } from '../../lib';
import { readPlan, writePlan } from '../../lib/runtime/plan_file';
import { Int8EntropyCalibrator2 } from '../../lib/calibration/calibrator';
import { mnistSplit } from '../../lib/calibration/data';
import { randomImages, requireCuda } from '../support/cuda';
import { fails } from '../support/helpers';

const ROOT = path.resolve(__dirname, '../../..');
const model = (f: string) => path.join(ROOT, 'models', f);
const quiet = { logger: () => undefined };

async function runOnce(engine: Engine, inputs: Record<string, Float32Array>, batch?: number): Promise<Record<string, Float32Array>> {
  const ctx = engine.createContext();
  try {
    return await ctx.infer(inputs, batch === undefined ? {} : { batchSize: batch });
  } finally {
    ctx.dispose();
  }
}

describe('gpu: the cuda engine', function () {
  this.timeout(600000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-cuda-engine-'));
  before(function () {
    requireCuda(this);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('names its GPU architecture, chooses tactics, and round-trips through a plan bit for bit', async () => {
    const net = await Network.fromCaffe(model('googlenet.prototxt'), { seed: 3 });
    const engine = await new Builder({ backend: 'cuda', ...quiet }).build(net, { precision: 'fp16', maxBatchSize: 8 });
    assert.match(engine.meta.deviceArch ?? '', /^sm_\d+$/);
    const details = engine.details();
    assert.ok(
      (details.layers ?? []).some((l) => l.candidates > 1 && l.ms !== undefined),
      'some layer had tactics timed',
    );
    assert.ok((details.elidedConcats ?? 0) >= 9, `GoogLeNet's inception concats are written in place (${details.elidedConcats})`);
    const inputs = randomImages(engine, 8, 5);
    const before = await runOnce(engine, inputs);
    const plan = engine.serialize();
    const loaded = await Runtime.deserialize(plan);
    assert.deepEqual(
      loaded.details().layers?.map((l) => l.tactic),
      details.layers?.map((l) => l.tactic),
    );
    const after = await runOnce(loaded, inputs);
    for (const name of Object.keys(before)) assert.deepEqual(after[name], before[name]);
    engine.dispose();
    loaded.dispose();

    // The same plan claiming another architecture in its cuda section: E_PLAN_ARCH, from the addon.
    const contents = readPlan(plan);
    const section = JSON.parse(Buffer.from(contents.backend).toString('utf8')) as { sm: number };
    section.sm = section.sm === 75 ? 80 : 75;
    const { sections: _s, formatVersion: _f, ...header } = contents.header;
    const forged = writePlan(header, contents.graphJson, contents.weights, Buffer.from(JSON.stringify(section)));
    await fails(Runtime.deserialize(forged), 'E_PLAN_ARCH', `sm_${section.sm}`);
  });

  it('a batch that does not fit in GPU memory is E_OUT_OF_MEMORY; smaller batches and other engines keep working', async () => {
    // 8192 channels of 64x64 per image: 128 MiB of float32 activations; 2048 images need 256 GiB.
    const text =
      'name: "big"\nlayer { name: "in" type: "Input" top: "data" input_param { shape { dim: 2048 dim: 3 dim: 64 dim: 64 } } }\n' +
      'layer { name: "wide" type: "Convolution" bottom: "data" top: "wide" convolution_param { num_output: 8192 kernel_size: 1 } }\n' +
      'layer { name: "pool" type: "Pooling" bottom: "wide" top: "pool" pooling_param { pool: AVE global_pooling: true } }\n';
    const net = await Network.parse(text, { seed: 1 });
    const big = await new Builder({ backend: 'cuda', ...quiet }).build(net, { precision: 'fp32', maxBatchSize: 2048, tuneBatch: 2 });
    const other = await new Builder({ backend: 'cuda', ...quiet }).build(await Network.fromCaffe(model('lenet.prototxt'), { seed: 1 }), {
      maxBatchSize: 4,
    });
    const ctx = big.createContext();
    const err = await fails(ctx.infer(randomImages(big, 2048, 1)), 'E_OUT_OF_MEMORY', 'bytes', 'free');
    assert.match(err.message, /\d{11,} bytes/, 'names the bytes needed');
    const small = await ctx.infer(randomImages(big, 2, 1), { batchSize: 2 });
    assert.ok(small.pool.every(Number.isFinite));
    const lenet = await runOnce(other, randomImages(other, 4, 2));
    assert.ok(Object.values(lenet)[0].every(Number.isFinite));
    ctx.dispose();
    big.dispose();
    other.dispose();
  });

  it('runs several contexts of one engine at the same time with the same results', async () => {
    const net = await Network.fromCaffe(model('alexnet.prototxt'), { seed: 4 });
    const engine = await new Builder({ backend: 'cuda', ...quiet }).build(net, { precision: 'fp16', maxBatchSize: 16 });
    const inputs = randomImages(engine, 16, 9);
    const contexts = [0, 1, 2, 3].map(() => engine.createContext());
    const results = await Promise.all(contexts.map((c) => c.infer(inputs)));
    for (const r of results.slice(1)) assert.deepEqual(r, results[0]);
    const t = contexts[0].lastTiming;
    assert.ok(t !== undefined && t.computeMs > 0 && t.h2dMs > 0 && t.d2hMs > 0, `GPU timings ${JSON.stringify(t)}`);
    contexts.forEach((c) => c.dispose());
    engine.dispose();
  });

  it('profiles every layer with CUDA events: same outputs, times that add up to about the compute time', async () => {
    const net = await Network.fromCaffe(model('googlenet.prototxt'), { seed: 4 });
    const engine = await new Builder({ backend: 'cuda', ...quiet }).build(net, { precision: 'fp16', maxBatchSize: 8 });
    const inputs = randomImages(engine, 8, 3);
    const ctx = engine.createContext();
    const plain = await ctx.infer(inputs);
    const profiled = await ctx.infer(inputs, { profile: true });
    assert.deepEqual(profiled, plain);
    const p = ctx.lastProfile;
    const t = ctx.lastTiming;
    assert.ok(p !== undefined && t !== undefined);
    const layers = engine.details().layers ?? [];
    assert.deepEqual(
      p.layers.map((l) => l.name),
      layers.map((l) => l.name),
    );
    const convs = p.layers.filter((l) => l.op === 'Convolution');
    assert.ok(convs.length > 50 && convs.every((l) => l.ms > 0), 'every convolution takes time');
    // Elided concatenations run nothing.
    assert.ok(
      p.layers.filter((l) => l.op === 'Concat').every((l) => l.ms < 0.01),
      JSON.stringify(p.layers.filter((l) => l.op === 'Concat')),
    );
    const sum = p.layers.reduce((a, l) => a + l.ms, 0) + p.reformatMs;
    assert.ok(Math.abs(sum - t.computeMs) <= 0.05 * t.computeMs + 0.05, `layers ${sum} ms vs compute ${t.computeMs} ms`);
    ctx.dispose();
    engine.dispose();
  });

  it('runs without copies (transfers: false) and without CUDA graphs, with the same results', async () => {
    const net = await Network.fromCaffe(model('alexnet.prototxt'), { seed: 4 });
    const engine = await new Builder({ backend: 'cuda', ...quiet }).build(net, { precision: 'int8', maxBatchSize: 8 });
    const inputs = randomImages(engine, 8, 5);
    const ctx = engine.createContext();
    const plain = await ctx.infer(inputs);
    const noGraph = await ctx.benchInfer(inputs, { cudaGraph: false });
    assert.deepEqual(noGraph, plain);
    const out = Object.fromEntries(engine.outputs.map((t) => [t.name, new Float32Array(8 * t.dims.reduce((a, b) => a * b, 1)).fill(7)]));
    await ctx.benchInfer(inputs, { transfers: false, outputs: out });
    assert.ok(
      Object.values(out).every((a) => a.every((v) => v === 7)),
      'no output copied back',
    );
    const t = ctx.lastTiming;
    assert.ok(t !== undefined && t.h2dMs < 0.05 && t.d2hMs < 0.05 && t.computeMs > 0, JSON.stringify(t));
    // The device kept the last inputs: a normal call still gives the same answer.
    assert.deepEqual(await ctx.infer(inputs), plain);
    // No host arrays at all: inputs left out, outputs come back empty, the device reruns its
    // last inputs; a larger batch than ever copied grows the device buffers only.
    const none = await ctx.benchInfer({}, { transfers: false, batchSize: 8 });
    assert.ok(Object.values(none).every((a) => a.length === 0));
    assert.ok((ctx.lastTiming?.computeMs ?? 0) > 0);
    const big = await new Builder({ backend: 'cuda', ...quiet }).build(net, { precision: 'int8', maxBatchSize: 64 });
    const bigCtx = big.createContext();
    await bigCtx.benchInfer({}, { transfers: false, batchSize: 64 });
    const small = randomImages(big, 8, 5);
    assert.deepEqual(await bigCtx.infer(small), await runOnce(big, small), 'copies after a copy-free run of a larger batch');
    bigCtx.dispose();
    big.dispose();
    assert.deepEqual(await ctx.infer(inputs), plain);
    ctx.dispose();
    engine.dispose();
  });

  it('inferMany queues inferences (bench --inflight): same outputs, GPU times for each, in order', async () => {
    const net = await Network.fromCaffe(model('googlenet.prototxt'), { seed: 6 });
    const engine = await new Builder({ backend: 'cuda', ...quiet }).build(net, { precision: 'fp16', maxBatchSize: 16 });
    const inputs = randomImages(engine, 16, 3);
    const ctx = engine.createContext();
    const plain = await ctx.infer(inputs);
    for (const [count, depth, transfers] of [
      [12, 2, true],
      [12, 4, false],
      [1, 8, true],
      [5, 1, true],
    ] as const) {
      const out = Object.fromEntries(
        engine.outputs.map((t) => [t.name, new Float32Array(16 * t.dims.reduce((a, b) => a * b, 1)).fill(-5)]),
      );
      const { runs, gpu } = await ctx.inferMany(transfers ? inputs : {}, { transfers, batchSize: 16, outputs: out }, count, depth);
      const what = `count ${count} depth ${depth} transfers ${transfers}`;
      assert.equal(gpu, true, what);
      assert.equal(runs.computeMs.length, count, what);
      for (let i = 0; i < count; i++) {
        assert.ok(runs.computeMs[i] > 0 && runs.submitMs[i] <= runs.doneMs[i], `${what}: run ${i}`);
        if (i > 0) assert.ok(runs.doneMs[i] >= runs.doneMs[i - 1], `${what}: done in order`);
        assert.ok(transfers ? runs.h2dMs[i] > 0 : runs.h2dMs[i] < 0.05, `${what}: h2d ${runs.h2dMs[i]}`);
      }
      if (transfers) assert.deepEqual(out, plain, `${what}: the outputs of the last inference`);
      else
        assert.ok(
          Object.values(out).every((a) => a.every((v) => v === -5)),
          `${what}: nothing copied back`,
        );
    }
    // Queued inferences keep the GPU busy: their wall time is close to the sum of their GPU times.
    const { runs } = await ctx.inferMany(inputs, { batchSize: 16, transfers: false }, 40, 2);
    const gpuMs = Array.from(runs.computeMs).reduce((a, b) => a + b, 0);
    const wallMs = runs.doneMs[39] - runs.submitMs[0];
    console.log(`      40 queued GoogLeNet fp16 batch 16: ${wallMs.toFixed(2)} ms wall, ${gpuMs.toFixed(2)} ms GPU compute`);
    assert.ok(wallMs < gpuMs * 1.5 + 1, `wall ${wallMs} ms vs GPU ${gpuMs} ms`);
    // A plain call still works after the loop.
    assert.deepEqual(await ctx.infer(inputs), plain);
    ctx.dispose();
    engine.dispose();
  });

  it('keeps tactics in a timing cache file, and a new process takes every one from it', async () => {
    const cache = path.join(tmp, 'timing.json');
    const net = await Network.fromCaffe(model('squeezenet1.1.prototxt'), { seed: 2 });
    const first = await new Builder({ backend: 'cuda', timingCache: cache, ...quiet }).build(net, { precision: 'fp16', maxBatchSize: 8 });
    const entries = JSON.parse(fs.readFileSync(cache, 'utf8')) as Record<string, string>;
    const tuned = (first.details().layers ?? []).filter((l) => l.candidates > 1);
    assert.ok(tuned.length > 0 && Object.keys(entries).length > 0, 'the cache file has entries');
    assert.ok(
      tuned.some((l) => l.ms !== undefined),
      'the first build timed tactics',
    );
    first.dispose();
    // A fresh process (an empty in-memory cache) builds the same network from the file alone.
    const script = `
      const t = require(${JSON.stringify(path.join(ROOT, 'dist', 'lib'))});
      (async () => {
        const net = await t.Network.fromCaffe(${JSON.stringify(model('squeezenet1.1.prototxt'))}, { seed: 2 });
        const e = await new t.Builder({ backend: 'cuda', timingCache: ${JSON.stringify(cache)}, logger: () => {} })
          .build(net, { precision: 'fp16', maxBatchSize: 8 });
        const layers = e.details().layers.filter((l) => l.candidates > 1);
        console.log(JSON.stringify({ fromCache: layers.filter((l) => l.fromCache).length, timed: layers.filter((l) => l.ms !== undefined).length,
          tactics: layers.map((l) => l.tactic) }));
      })();`;
    const r = JSON.parse(execFileSync(process.execPath, ['-e', script]).toString()) as {
      fromCache: number;
      timed: number;
      tactics: string[];
    };
    assert.equal(r.timed, 0);
    assert.equal(r.fromCache, tuned.length);
    assert.deepEqual(
      r.tactics,
      tuned.map((l) => l.tactic),
    );
  });

  it('without a visible GPU: cuda is unavailable with the reason, E_NO_DEVICE when asked for, auto falls back to cpu', () => {
    const script = `
      const t = require(${JSON.stringify(path.join(ROOT, 'dist', 'lib'))});
      const cuda = t.backendStatus().find((b) => b.name === 'cuda');
      let code = 'none';
      try { new t.Builder({ backend: 'cuda' }); } catch (e) { code = e.code; }
      console.log(JSON.stringify({ cuda, code, auto: new t.Builder({ backend: 'auto' }).backend }));`;
    const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, CUDA_VISIBLE_DEVICES: '' } }).toString();
    const r = JSON.parse(out) as { cuda: { available: boolean; reason: string }; code: string; auto: string };
    assert.equal(r.cuda.available, false);
    assert.match(r.cuda.reason, /GPU/);
    assert.equal(r.code, 'E_NO_DEVICE');
    assert.notEqual(r.auto, 'cuda');
  });

  it("calibrates on the GPU and gives LeNet the cpu backend's INT8 accuracy", async () => {
    const { train, test } = mnistSplit();
    const net = await Network.fromCaffe(model('lenet.prototxt'), { weights: path.join(ROOT, 'models', 'lenet_mnist.caffemodel') });
    const batches = Array.from({ length: 10 }, (_, b) => ({ data: train.images.slice(b * 32 * 784, (b + 1) * 32 * 784) }));
    const cacheFile = path.join(tmp, 'lenet.cache');
    // Calibrated on the GPU (cuda FP32 engine observed tensor by tensor).
    const gpuBuilder = new Builder({ backend: 'cuda', ...quiet });
    await gpuBuilder.build(net, {
      precision: 'int8',
      maxBatchSize: 100,
      calibrator: new Int8EntropyCalibrator2({ batches, batchSize: 32, cacheFile }),
    });
    assert.ok(fs.existsSync(cacheFile), 'the calibration cache was written');
    // Both backends from the same cache: the same INT8 network.
    const accuracy = async (backend: 'cpu' | 'cuda') => {
      const engine = await new Builder({ backend, ...quiet }).build(net, {
        precision: 'int8',
        maxBatchSize: 100,
        calibrationCache: cacheFile,
      });
      const ctx = engine.createContext();
      let correct = 0;
      for (let first = 0; first < test.count; first += 100) {
        const n = Math.min(100, test.count - first);
        const { prob } = await ctx.infer({ data: test.images.subarray(first * 784, (first + n) * 784) });
        for (let i = 0; i < n; i++) {
          let best = 0;
          for (let c = 1; c < 10; c++) if (prob[i * 10 + c] > prob[i * 10 + best]) best = c;
          if (best === test.labels[first + i]) correct++;
        }
      }
      ctx.dispose();
      engine.dispose();
      return correct / test.count;
    };
    const cpu = await accuracy('cpu');
    const gpu = await accuracy('cuda');
    console.log(`      LeNet INT8 accuracy: cpu ${(100 * cpu).toFixed(2)}%, cuda ${(100 * gpu).toFixed(2)}%`);
    assert.equal(gpu, cpu);
    assert.ok(cpu > 0.96);
  });
});
