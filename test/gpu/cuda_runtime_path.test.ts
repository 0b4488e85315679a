/**
 * The runtime path on the GPU (issue 14): calls pipelined on one context (the copies of one overlap
 * the compute of the next) give exactly what one call at a time gives; host arrays from
 * createInputs / createOutputs are used in place; a lone call in pinned memory is computed straight
 * from and into that memory (no staging copies) and gives what the staged path gives; float16 inputs
 * and outputs match the cpu backend; a worker terminated mid-inference ends alone.
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { Builder, fromFloat16, Network, toFloat16, type Precision, type RunTiming } from '../../lib';
import { randomImages, requireCuda } from '../support/cuda';

const ROOT = path.resolve(__dirname, '../../..');
const quiet = { logger: () => undefined };

describe('gpu: the runtime path (pipelining, host arrays in place, float16 inputs and outputs)', function () {
  this.timeout(600000);
  before(function () {
    requireCuda(this);
  });

  for (const precision of ['fp32', 'fp16', 'int8'] as Precision[]) {
    it(`GoogLeNet ${precision}: 12 calls queued on one context equal each call alone, bit for bit`, async () => {
      const net = await Network.fromCaffe(path.join(ROOT, 'models', 'googlenet.prototxt'), { seed: 3 });
      const engine = await new Builder({ backend: 'cuda', ...quiet }).build(net, { precision, maxBatchSize: 16 });
      const ctx = engine.createContext();
      const batches = [16, 16, 8, 16, 1, 16, 16, 4, 16, 16, 16, 2];
      const inputs = batches.map((b, i) => randomImages(engine, b, 100 + i));
      const alone: Float32Array[] = [];
      for (const x of inputs) alone.push((await ctx.infer(x)).prob);
      const queued = await Promise.all(inputs.map((x) => ctx.infer(x)));
      queued.forEach((r, i) =>
        assert.deepEqual(Buffer.from(r.prob.buffer), Buffer.from(alone[i].buffer), `call ${i} (batch ${batches[i]})`),
      );
      // Host arrays in place, two sets alternating as a service would use them.
      const sets = [0, 1].map(() => ({ inputs: engine.createInputs(16), outputs: engine.createOutputs(16) }));
      sets.forEach((s, k) => s.inputs.data.set(inputs[k].data));
      const inPlace = await Promise.all(sets.map((s) => ctx.infer(s.inputs, { outputs: s.outputs })));
      inPlace.forEach((r, k) => {
        assert.equal(r.prob, sets[k].outputs.prob);
        assert.deepEqual(Buffer.from(r.prob.buffer, r.prob.byteOffset, r.prob.byteLength), Buffer.from(alone[k].buffer));
      });
      ctx.dispose();
      engine.dispose();
    });
  }

  it('a lone call in pinned memory runs in place (no staging copies), bit for bit with the staged path, whichever arrays it is given', async () => {
    const net = await Network.fromCaffe(path.join(ROOT, 'models', 'googlenet.prototxt'), { seed: 5 });
    const u8 = { format: 'uint8-nhwc-bgr', mean: [104, 117, 123] } as const;
    for (const input of [undefined, u8]) {
      const engine = await new Builder({ backend: 'cuda', ...quiet }).build(net, {
        precision: 'int8',
        maxBatchSize: 8,
        ...(input ? { input } : {}),
      });
      const ctx = engine.createContext();
      // Three pinned sets and one ordinary array set, at batch 1 and 4, in an order that reuses and
      // alternates addresses (each address set has its own CUDA graph). In place only up to 4 MB of
      // inputs and outputs: float32 batch 4 is 2.4 MB; batch 8 (4.8 MB) is staged, below.
      const sets = [0, 1, 2].map((k) => {
        const s = { inputs: engine.createInputs(8), outputs: engine.createOutputs(8) };
        const n = s.inputs.data.length;
        if (s.inputs.data instanceof Uint8Array) for (let i = 0; i < n; i++) s.inputs.data[i] = (i * 31 + k * 7) & 255;
        else s.inputs.data.set(randomImages(engine, 8, 40 + k).data);
        return s;
      });
      const order = [0, 1, 0, 2, 1, 2, 0];
      for (const batchSize of [1, 4]) {
        // Views of the first `batchSize` images (views of pinned arrays are used in place too).
        const view = (k: number) => {
          const x = sets[k].inputs.data;
          const y = sets[k].outputs.prob;
          return {
            inputs: { data: x.subarray(0, (x.length / 8) * batchSize) },
            outputs: { prob: y.subarray(0, (y.length / 8) * batchSize) },
          };
        };
        process.env.TRTN_CUDA_NO_IN_PLACE = '1';
        const staged = [];
        for (const k of [0, 1, 2]) {
          const r = await ctx.run(view(k).inputs);
          assert.ok(r.timing !== undefined && r.timing.h2dMs > 0, 'the staged path copies in on its own');
          staged.push(Buffer.from(r.outputs.prob.data.slice().buffer));
        }
        delete process.env.TRTN_CUDA_NO_IN_PLACE;
        for (const k of order) {
          const v = view(k);
          const r = await ctx.run(v.inputs, { outputs: v.outputs });
          assert.ok(
            r.timing !== undefined && r.timing.h2dMs === 0 && r.timing.d2hMs === 0 && r.timing.computeMs > 0,
            `set ${k} at batch ${batchSize} ran in place (timing ${JSON.stringify(r.timing)})`,
          );
          assert.equal(r.outputs.prob.data, v.outputs.prob);
          assert.deepEqual(
            Buffer.from(v.outputs.prob.slice().buffer),
            staged[k],
            `set ${k} at batch ${batchSize}, ${input ? 'uint8' : 'float32'} input`,
          );
        }
        // An ordinary array is copied into the context's pinned memory at call time, then used in place too.
        const called = performance.now();
        const r = await ctx.run({ data: view(2).inputs.data.slice() });
        const latency = performance.now() - called;
        assert.equal(r.timing?.h2dMs, 0);
        // doneMs: the lane saw it finish after the submit and the GPU time, before the promise settled.
        const t = r.timing as RunTiming;
        assert.ok(t.doneMs >= t.queueMs + t.enqueueMs && t.doneMs >= t.computeMs * 0.9 && t.doneMs <= latency, JSON.stringify(t));
        assert.deepEqual(Buffer.from(r.outputs.prob.data.slice().buffer), staged[2]);
      }
      if (input === undefined) {
        // Past 4 MB a lone call in pinned memory goes through staging: its copies are timed as copies.
        const r = await ctx.run(sets[0].inputs, { outputs: sets[0].outputs });
        assert.ok(r.timing !== undefined && r.timing.h2dMs > 0 && r.timing.d2hMs > 0, `batch 8 staged: ${JSON.stringify(r.timing)}`);
      }
      ctx.dispose();
      engine.dispose();
    }
  });

  it("spinWait 'auto', true and false give the same answers, in order; 'auto' never holds the event loop long", async () => {
    // 'auto' wakes the JS thread ahead of a lone call's expected end, which then watches for it
    // (bounded): answers must be the same, settle in call order, and timers keep running.
    const net = await Network.fromCaffe(path.join(ROOT, 'models', 'googlenet.prototxt'), { seed: 8 });
    const engine = await new Builder({ backend: 'cuda', ...quiet }).build(net, { precision: 'int8', maxBatchSize: 4 });
    const xs = [1, 2, 1, 4, 1, 1].map((b, i) => randomImages(engine, b, 300 + i));
    const answers = new Map<string, Buffer[]>();
    let worstLag = 0;
    for (const spinWait of [false, 'auto', true] as const) {
      const ctx = engine.createContext({ spinWait });
      const got: Buffer[] = [];
      let last = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        worstLag = Math.max(worstLag, now - last);
        last = now;
      }, 1);
      for (let round = 0; round < 20; round++) {
        for (const x of xs) got.push(Buffer.from((await ctx.infer(x)).prob.buffer));
      }
      // Several outstanding (nothing lone): still in order.
      const order: number[] = [];
      await Promise.all(xs.map((x, i) => ctx.infer(x).then(() => order.push(i))));
      assert.deepEqual(order, [0, 1, 2, 3, 4, 5], `spinWait ${spinWait}: settled in call order`);
      clearInterval(timer);
      answers.set(String(spinWait), got);
      ctx.dispose();
    }
    const base = answers.get('false') as Buffer[];
    for (const mode of ['auto', 'true']) {
      (answers.get(mode) as Buffer[]).forEach((b, i) => assert.deepEqual(b, base[i], `spinWait ${mode}, call ${i}`));
    }
    assert.ok(worstLag < 50, `a 1 ms timer was held up ${worstLag.toFixed(1)} ms at worst`);
    engine.dispose();
  });

  it('callers that keep pinned calls outstanding get them pipelined (copies beside compute), not run one by one', async () => {
    const net = await Network.fromCaffe(path.join(ROOT, 'models', 'googlenet.prototxt'), { seed: 6 });
    const engine = await new Builder({ backend: 'cuda', ...quiet }).build(net, { precision: 'int8', maxBatchSize: 32 });
    const ctx = engine.createContext();
    const sets = [0, 1, 2, 3].map((k) => {
      const set = { inputs: engine.createInputs(32), outputs: engine.createOutputs(32) };
      set.inputs.data.set(randomImages(engine, 32, 60 + k).data);
      return set;
    });
    let staged = 0,
      calls = 0;
    await Promise.all(
      sets.map(async (set) => {
        for (let i = 0; i < 30; i++) {
          const r = await ctx.run(set.inputs, { outputs: set.outputs });
          calls++;
          if ((r.timing?.h2dMs ?? 0) > 0) staged++;
        }
      }),
    );
    // Before the lane watched for new calls while the device ran, most of these ran alone.
    assert.ok(staged >= calls * 0.75, `${staged} of ${calls} calls were pipelined`);
    ctx.dispose();
    engine.dispose();
  });

  it('float16 inputs and outputs: cuda equals the cpu backend within one float16 step', async () => {
    const net = await Network.fromCaffe(path.join(ROOT, 'models', 'alexnet.prototxt'), { seed: 4 });
    const config = { maxBatchSize: 4, ioFormats: { inputs: 'float16', outputs: 'float16' } } as const;
    const gpu = await new Builder({ backend: 'cuda', ...quiet }).build(net, config);
    const cpu = await new Builder({ backend: 'cpu', ...quiet }).build(net, config);
    const x = toFloat16(randomImages(gpu, 4, 7).data);
    const a = fromFloat16((await gpu.createContext().infer<Uint16Array>({ data: x })).prob);
    const b = fromFloat16((await cpu.createContext().infer<Uint16Array>({ data: x })).prob);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 2 ** -14));
    assert.ok(worst <= 2 ** -10, `largest relative difference ${worst}`);
    gpu.dispose();
    cpu.dispose();
  });

  it('a worker terminated while its cuda inference runs ends alone', () => {
    const child = spawnSync(process.execPath, [path.join(__dirname, '..', 'support', 'terminate_child.js'), ROOT, '10', 'cuda'], {
      encoding: 'utf8',
      timeout: 300000,
    });
    assert.equal(child.signal, null, child.stderr.slice(-2000));
    assert.equal(child.status, 0, child.stderr.slice(-2000));
    const r = JSON.parse(child.stdout.trim().split('\n').pop() as string) as { callsSeen: number; agree: boolean };
    assert.equal(r.callsSeen, 10);
    assert.equal(r.agree, true);
  });
});
