// Builds and inferences run off the JS thread: timers keep firing while they work.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder, Engine, Network } from '../../lib';

const ROOT = path.resolve(__dirname, '../../..');

/** Runs `work` while a 5 ms interval timer ticks; returns the work's duration and the largest gap between ticks. */
async function watchEventLoop<T>(work: () => Promise<T>): Promise<{ result: T; ms: number; maxGap: number; ticks: number }> {
  let last = performance.now();
  let maxGap = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    ticks++;
  }, 5);
  const t0 = performance.now();
  try {
    const result = await work();
    const ms = performance.now() - t0;
    maxGap = Math.max(maxGap, performance.now() - last);
    return { result, ms, maxGap, ticks };
  } finally {
    clearInterval(timer);
  }
}

describe('asynchronous work does not block the event loop', function () {
  this.timeout(180000);

  it('during a long build (VGG16: 138 M random weights generated, prepared and built) and a long inference (VGG16, batch 4)', async () => {
    const net = await Network.fromCaffe(path.join(ROOT, 'models', 'vgg16.prototxt'));
    const {
      result: engine,
      ms,
      maxGap,
      ticks,
    } = await watchEventLoop(() => new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 4 }));
    try {
      assert.ok(ms > 500, `the build took ${ms.toFixed(0)} ms: too short to show anything`);
      // The JS thread plans the graph (milliseconds) and waits; the generous bound allows for a
      // loaded 2-core CI machine where the worker threads compete with it.
      assert.ok(maxGap < 300, `the event loop stalled for ${maxGap.toFixed(0)} ms during a ${ms.toFixed(0)} ms build`);
      assert.ok(ticks > ms / 60, `only ${ticks} timer ticks in ${ms.toFixed(0)} ms`);

      const ctx = engine.createContext();
      const data = Float32Array.from({ length: 4 * 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.01));
      const inference = await watchEventLoop(() => ctx.infer({ data }));
      assert.ok(inference.ms > 300, `the inference took ${inference.ms.toFixed(0)} ms: too short to show anything`);
      assert.ok(
        inference.maxGap < 300,
        `the event loop stalled for ${inference.maxGap.toFixed(0)} ms during a ${inference.ms.toFixed(0)} ms inference`,
      );
      assert.ok(inference.ticks > inference.ms / 60, `only ${inference.ticks} ticks in ${inference.ms.toFixed(0)} ms`);
      assert.equal(inference.result.prob.length, 4000);

      // Two contexts run at the same time: a short call made after a long one on another context
      // finishes first (one context queues its calls; contexts do not wait for each other).
      const other = engine.createContext();
      const finished: string[] = [];
      const long = ctx.infer({ data }).then(() => finished.push('long (batch 4)'));
      const short = other.infer({ data: data.subarray(0, 3 * 224 * 224) }).then(() => finished.push('short (batch 1)'));
      await Promise.all([long, short]);
      assert.deepEqual(finished, ['short (batch 1)', 'long (batch 4)']);
      other.dispose();
      ctx.dispose();

      // Saving and loading a plan of 553 MB of weights (issue 13, item 7: save() used to
      // serialize on the JS thread, ~540 ms for AlexNet).
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-async-'));
      try {
        const file = path.join(dir, 'vgg16.plan');
        const saving = await watchEventLoop(() => engine.save(file));
        assert.ok(
          saving.maxGap < 100,
          `the event loop stalled for ${saving.maxGap.toFixed(0)} ms during a ${saving.ms.toFixed(0)} ms save`,
        );
        const loading = await watchEventLoop(() => Engine.load(file));
        assert.ok(
          loading.maxGap < 100,
          `the event loop stalled for ${loading.maxGap.toFixed(0)} ms during a ${loading.ms.toFixed(0)} ms load`,
        );
        assert.equal(loading.result.name, engine.name);
        loading.result.dispose();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    } finally {
      engine.dispose();
    }
  });

  it("never takes Node's libuv pool: fs.readFile answers while 6 GoogLeNet inferences are in flight", async () => {
    // Issue 14, item 1: infer() used to run on the libuv pool (4 threads), which fs, dns, crypto
    // and zlib share: a small read waited seconds behind the inferences.
    const net = await Network.fromCaffe(path.join(ROOT, 'models', 'googlenet.prototxt'));
    const engine = await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 8 });
    const contexts = Array.from({ length: 6 }, () => engine.createContext());
    const file = path.join(ROOT, 'package.json');
    await fsp.readFile(file);
    try {
      const data = new Float32Array(8 * 3 * 224 * 224).fill(0.25);
      let finished = 0;
      const runs = contexts.map((c) => c.infer({ data }).then(() => finished++));
      const reads: number[] = [];
      while (finished === 0 && reads.length < 20) {
        const t = performance.now();
        await fsp.readFile(file);
        reads.push(performance.now() - t);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await Promise.all(runs);
      reads.sort((a, b) => a - b);
      const median = reads[Math.floor(reads.length / 2)];
      assert.ok(
        reads[reads.length - 1] < 100,
        `the slowest fs.readFile took ${reads[reads.length - 1].toFixed(1)} ms with 6 inferences in flight`,
      );
      assert.ok(median <= 5, `fs.readFile took ${median.toFixed(2)} ms (median of ${reads.length}) with 6 inferences in flight`);
      assert.ok(reads.length >= 5, `only ${reads.length} reads before the first inference finished: too short to show anything`);
    } finally {
      for (const c of contexts) c.dispose();
      engine.dispose();
    }
  });

  it('finished inferences are settled a few at a time: the event loop runs between batches', async () => {
    // A thread-safe function alone settles up to 1000 queued completions in one go; on the GPU a
    // stream of fast inferences held fs.readFile for 1.5 s that way. Now at most 8 are settled
    // before setImmediate callbacks and I/O get a turn.
    const net = await Network.parse(`name: "tiny"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 4 } } }
layer { name: "prob" type: "Softmax" bottom: "data" top: "prob" }`);
    const engine = await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 1 });
    const contexts = Array.from({ length: 40 }, () => engine.createContext());
    const order: string[] = [];
    const pending = contexts.map((c) => c.infer({ data: new Float32Array(4) }).then(() => order.push('infer')));
    // Hold the JS thread while every inference finishes natively, so all 40 wait to be settled.
    const until = Date.now() + 300;
    while (Date.now() < until) {
      /* busy: the addon's threads finish meanwhile */
    }
    setImmediate(() => order.push('immediate'));
    await Promise.all(pending);
    const at = order.indexOf('immediate');
    assert.ok(at > 0 && at <= 8, `the setImmediate callback ran after ${at} settled inferences (of ${contexts.length})`);
    for (const c of contexts) c.dispose();
    engine.dispose();
  });
});
