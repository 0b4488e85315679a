// The Builder / Engine / ExecutionContext API: argument checks, disposal, queueing, backends.
import { strict as assert } from 'assert';
import { backendStatus, buildInfo, Builder, DisposedError, Engine, Network, resolveBackend, type LayerProfile } from '../../lib';
import { native, type NativeHandle } from '../../lib/native';

const NET = `
name: "two"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 4 dim: 4 } } }
layer { name: "pool" type: "Pooling" bottom: "data" top: "pool" pooling_param { pool: AVE kernel_size: 2 stride: 2 } }
layer { name: "prob" type: "Softmax" bottom: "pool" top: "prob" }
layer { name: "p2" type: "Pooling" bottom: "data" top: "p2" pooling_param { pool: MAX kernel_size: 4 } }`;
const IMAGE = 32;
/** A network slow enough on the cpu backend (a 1024 x 1024 image, 9 x 9 max-pooling) to hold a queue. */
const SLOW = `
name: "slow"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 1 dim: 1024 dim: 1024 } } }
layer { name: "pool" type: "Pooling" bottom: "data" top: "pool" pooling_param { pool: MAX kernel_size: 9 stride: 1 } }`;

function data(batch: number, seed = 1): Float32Array {
  return Float32Array.from({ length: batch * IMAGE }, (_, i) => Math.sin((i + 1) * seed * 0.71));
}

describe('engine API', () => {
  let net: Network;
  let engine: Engine;
  before(async () => {
    net = await Network.parse(NET);
    engine = await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 4 });
  });
  after(() => engine.dispose());

  describe('backends', () => {
    it('lists every backend with availability and a reason', () => {
      const status = backendStatus();
      assert.deepEqual(
        status.map((s) => s.name),
        ['tensorrt', 'cuda', 'cpu'],
      );
      assert.equal(status.find((s) => s.name === 'cpu')?.available, true);
      for (const s of status) if (!s.available) assert.match(s.reason, /\S/);
    });

    it("'auto' says why it skipped the backends it passed over", () => {
      const { backend, skipped } = resolveBackend('auto');
      const unavailable = backendStatus()
        .filter((s) => !s.available)
        .map((s) => s.name);
      assert.deepEqual(
        skipped.map((s) => s.name),
        unavailable.filter((n) => ['tensorrt', 'cuda', 'cpu'].indexOf(n) < ['tensorrt', 'cuda', 'cpu'].indexOf(backend)),
      );
      const b = new Builder();
      assert.equal(b.backend, backend);
      assert.deepEqual(b.skipped, skipped);
    });

    it('an unavailable backend is E_BACKEND_UNAVAILABLE (or E_NO_DEVICE) with the reason', () => {
      const missing = backendStatus().find((s) => !s.available);
      if (missing === undefined) return;
      assert.throws(
        () => new Builder({ backend: missing.name }),
        (err: unknown) => (err as { code: string }).code === 'E_BACKEND_UNAVAILABLE' || (err as { code: string }).code === 'E_NO_DEVICE',
      );
    });

    it('the cuda backend says why it cannot run: E_NO_DEVICE without a GPU or driver, and auto falls back', function () {
      const cuda = backendStatus().find((s) => s.name === 'cuda');
      assert.ok(cuda !== undefined);
      if (cuda.available) {
        assert.equal(new Builder({ backend: 'cuda' }).backend, 'cuda');
        return;
      }
      if (buildInfo().cuda) {
        // Compiled in, but no GPU here: the reason names the driver or the GPU.
        assert.match(cuda.reason, /GPU|driver/);
        assert.throws(
          () => new Builder({ backend: 'cuda' }),
          (err: unknown) => (err as { code: string }).code === 'E_NO_DEVICE' && (err as Error).message.includes(cuda.reason),
        );
      } else {
        assert.match(cuda.reason, /not built/);
      }
      assert.notEqual(new Builder({ backend: 'auto' }).backend, 'cuda');
      assert.throws(() => new Builder({ device: -1 }), /GPU index/);
      assert.throws(() => new Builder({ timingCache: '' }), /file path/);
    });

    it('checks the backend name', () => {
      assert.throws(() => new Builder({ backend: 'gpu' as never }), {
        name: 'TypeError',
        message: "Expected 'auto', 'cpu', 'cuda' or 'tensorrt' for backend but received type string (\"gpu\")",
      });
    });
  });

  describe('Builder.build arguments', () => {
    const cases: Array<[unknown, string, string]> = [
      [
        { precision: 'fp64' },
        'TypeError',
        "Expected 'fp32', 'tf32', 'fp16' or 'int8' for config.precision but received type string (\"fp64\")",
      ],
      [{ maxBatchSize: 0 }, 'RangeError', 'Expected an integer in [1, 1048576] for config.maxBatchSize but received type number (0)'],
      [{ maxBatchSize: '4' }, 'TypeError', 'Expected a positive integer for config.maxBatchSize but received type string ("4")'],
      [{ optimize: 1 }, 'TypeError', 'Expected a boolean for config.optimize but received type number (1)'],
      [{ int8Scales: { data: -1 } }, 'RangeError', 'Expected a positive number for config.int8Scales.data but received type number (-1)'],
      [{ calibrationBatches: 0 }, 'RangeError', 'Expected a positive integer for config.calibrationBatches but received type number (0)'],
      [
        { maxAuxStreams: 8 },
        'RangeError',
        'Expected an integer in [0, 7] (0: one stream) for config.maxAuxStreams but received type number (8)',
      ],
      [
        { maxAuxStreams: 1.5 },
        'RangeError',
        'Expected an integer in [0, 7] (0: one stream) for config.maxAuxStreams but received type number (1.5)',
      ],
      [null, 'TypeError', 'Expected a build config object for config but received null'],
    ];
    for (const [config, name, message] of cases) {
      it(`rejects ${JSON.stringify(config)}`, async () => {
        await assert.rejects(new Builder({ backend: 'cpu' }).build(net, config as never), { name, message });
      });
    }
    it('rejects something that is not a Network', async () => {
      await assert.rejects(new Builder({ backend: 'cpu' }).build({} as never), {
        name: 'TypeError',
        message: 'Expected a Network for net but received an object',
      });
    });
    it('rejects a network whose tensors do not keep the batch first (E_SHAPE)', async () => {
      const flat = await Network.parse(`layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 } } }
        layer { name: "r" type: "Reshape" bottom: "data" top: "r" reshape_param { shape { dim: -1 } } }`);
      await assert.rejects(new Builder({ backend: 'cpu' }).build(flat), {
        code: 'E_SHAPE',
        message: /tensor 'r' of layer 'r' does not keep the batch in dimension 0/,
      });
    });
  });

  describe('infer', () => {
    it('describes inputs and outputs and runs any batch up to maxBatchSize', async () => {
      assert.deepEqual(engine.inputs, [{ name: 'data', dims: [2, 4, 4], shape: [4, 2, 4, 4], dtype: 'float32' }]);
      assert.deepEqual(engine.outputs.map((t) => t.name).sort(), ['p2', 'prob']);
      const ctx = engine.createContext();
      for (const batch of [1, 3, 4]) {
        const out = await ctx.infer({ data: data(batch) });
        assert.equal(out.prob.length, batch * 8);
        assert.equal(out.p2.length, batch * 2);
      }
      ctx.dispose();
    });

    it('gives each image the same result whatever the batch', async () => {
      const ctx = engine.createContext();
      const four = await ctx.infer({ data: data(4) });
      const one = await ctx.infer({ data: data(4).subarray(2 * IMAGE, 3 * IMAGE) });
      assert.deepEqual(Array.from(one.prob), Array.from(four.prob.subarray(16, 24)));
      ctx.dispose();
    });

    it('writes into caller-provided output arrays (longer ones too)', async () => {
      const ctx = engine.createContext();
      const prob = new Float32Array(100).fill(-7);
      const out = await ctx.infer({ data: data(2) }, { outputs: { prob } });
      assert.equal(out.prob.buffer, prob.buffer);
      assert.equal(out.prob.length, 16);
      assert.ok(prob.subarray(0, 16).every((v) => v > 0 && v < 1));
      assert.equal(prob[16], -7);
      ctx.dispose();
    });

    it('throws clear argument errors', async () => {
      const ctx = engine.createContext();
      const cases: Array<[unknown, unknown, string, string]> = [
        [{ image: data(1) }, {}, 'RangeError', 'Expected an input name (data) for inputs.image but received type string ("image")'],
        [{}, {}, 'TypeError', 'Expected a Float32Array for inputs.data but received undefined'],
        [
          { data: new Float64Array(32) },
          {},
          'TypeError',
          'Expected a Float32Array for inputs.data but received an instance of Float64Array',
        ],
        [
          { data: new Float32Array(33) },
          {},
          'RangeError',
          "Expected a length that is a multiple of 32 (one image of 'data') for inputs.data but received an instance of Float32Array",
        ],
        [
          { data: data(5) },
          {},
          'RangeError',
          "Expected at most 4 images (the engine's maxBatchSize) of 32 values for inputs.data but received an instance of Float32Array",
        ],
        [
          { data: data(2) },
          { batchSize: 3 },
          'RangeError',
          'Expected a Float32Array of 96 values (batch 3 x [2, 4, 4]) for inputs.data but received an instance of Float32Array',
        ],
        [
          { data: data(2) },
          { batchSize: 9 },
          'RangeError',
          "Expected an integer in [1, 4] (the engine's maxBatchSize) for options.batchSize but received type number (9)",
        ],
        [
          { data: data(2) },
          { batchSize: '2' },
          'TypeError',
          'Expected a positive integer for options.batchSize but received type string ("2")',
        ],
        [
          { data: data(2) },
          { outputs: { prob: new Float32Array(3) } },
          'RangeError',
          'Expected a Float32Array of at least 16 values for options.outputs.prob but received an instance of Float32Array',
        ],
        [
          { data: data(2) },
          { outputs: { prob: [] } },
          'TypeError',
          'Expected a Float32Array for options.outputs.prob but received an Array of length 0',
        ],
        [
          { data: data(2) },
          { outputs: { nope: new Float32Array(3) } },
          'RangeError',
          'Expected an output name (prob, p2) for options.outputs.nope but received type string ("nope")',
        ],
        [null, {}, 'TypeError', 'Expected an object of typed arrays by input name for inputs but received null'],
        [{ data: data(1) }, 5, 'TypeError', 'Expected an options object for options but received type number (5)'],
        [{ data: data(1) }, { profile: 'yes' }, 'TypeError', 'Expected a boolean for options.profile but received type string ("yes")'],
      ];
      for (const [inputs, options, name, message] of cases) {
        // A function that returns a promise rejects; it never throws (issue 13, item 8).
        let promise: Promise<unknown> | undefined;
        assert.doesNotThrow(() => {
          promise = ctx.infer(inputs as never, options as never);
        }, message);
        await assert.rejects(promise as Promise<unknown>, { name, message }, message);
      }
      ctx.dispose();
    });

    it('profile: true times every layer, in node order, and leaves the outputs unchanged', async () => {
      const ctx = engine.createContext();
      const last = (): LayerProfile | undefined => ctx.lastProfile;
      const plain = await ctx.infer({ data: data(3) });
      assert.equal(last(), undefined);
      const profiled = await ctx.infer({ data: data(3) }, { profile: true });
      assert.deepEqual(Array.from(profiled.prob), Array.from(plain.prob));
      const p = last();
      assert.ok(p !== undefined);
      assert.equal(p.batch, 3);
      assert.deepEqual(
        p.layers.map((l) => `${l.name}:${l.op}`),
        ['pool:Pooling', 'prob:Softmax', 'p2:Pooling'],
      );
      for (const l of p.layers) assert.ok(Number.isFinite(l.ms) && l.ms >= 0, `${l.name}: ${l.ms}`);
      // A later plain call keeps the last profile.
      await ctx.infer({ data: data(1) });
      assert.equal(last()?.batch, 3);
      ctx.dispose();
    });

    it('infer() and run() refuse the benchmark knobs (transfers, cudaGraph): bench-only, through benchInfer', async () => {
      const ctx = engine.createContext();
      await assert.rejects(ctx.infer({ data: data(1) }, { transfers: false } as never), {
        name: 'TypeError',
        message: /no options.transfers \(a benchmark knob: tensorrt-node bench --noDataTransfers/,
      });
      await assert.rejects(ctx.run({ data: data(1) }, { cudaGraph: false } as never), {
        name: 'TypeError',
        message: /no options.cudaGraph/,
      });
      ctx.dispose();
    });

    it('transfers: false (benchmarks) neither reads the inputs nor writes the outputs', async () => {
      const ctx = engine.createContext();
      const first = await ctx.infer({ data: data(2) });
      const prob = new Float32Array(16).fill(-3);
      await ctx.benchInfer({ data: data(2, 5) }, { transfers: false, outputs: { prob } });
      assert.ok(
        prob.every((v) => v === -3),
        'outputs untouched',
      );
      const again = await ctx.benchInfer({ data: data(2) }, { cudaGraph: false });
      assert.deepEqual(Array.from(again.prob), Array.from(first.prob));
      await assert.rejects(ctx.benchInfer({ data: data(1) }, { transfers: 0 as never }), {
        name: 'TypeError',
        message: 'Expected a boolean for options.transfers but received type number (0)',
      });
      ctx.dispose();
    });

    it('transfers: false runs without host arrays: inputs left out (batchSize given), outputs come back empty', async () => {
      const ctx = engine.createContext();
      const out = await ctx.benchInfer({}, { transfers: false, batchSize: 4 });
      assert.deepEqual(Object.keys(out).sort(), ['p2', 'prob']);
      assert.equal(out.prob.length, 0);
      // A given output is still checked and left alone; a given input must still hold the batch.
      const prob = new Float32Array(32).fill(7);
      await ctx.benchInfer({}, { transfers: false, batchSize: 4, outputs: { prob } });
      assert.ok(prob.every((v) => v === 7));
      await assert.rejects(ctx.benchInfer({}, { transfers: false }), {
        name: 'TypeError',
        message: /Expected a Float32Array \(or options.batchSize, with transfers: false\) for inputs.data/,
      });
      await assert.rejects(ctx.benchInfer({ data: data(1) }, { transfers: false, batchSize: 2 }), { name: 'RangeError' });
      await assert.rejects(ctx.infer({}), { name: 'TypeError', message: /Expected a Float32Array for inputs.data/ });
      await assert.rejects(ctx.benchInfer({}, { transfers: false, batchSize: 5 }), { name: 'RangeError' });
      // The context keeps working with copies afterwards.
      const again = await ctx.infer({ data: data(2) });
      assert.equal(again.prob.length, 16);
      ctx.dispose();
    });

    it('inferMany (the bench loop): count inferences, outputs of the last, host times per inference', async () => {
      const ctx = engine.createContext();
      const first = await ctx.infer({ data: data(3) });
      const prob = new Float32Array(24);
      const { runs, gpu } = await ctx.inferMany({ data: data(3) }, { outputs: { prob } }, 5, 2);
      assert.equal(gpu, false, 'the cpu backend has no GPU times');
      assert.equal(runs.doneMs.length, 5);
      for (let i = 0; i < 5; i++) {
        assert.ok(runs.submitMs[i] <= runs.doneMs[i] && (i === 0 || runs.doneMs[i - 1] <= runs.submitMs[i]), `run ${i} in order`);
        assert.ok(runs.enqueueMs[i] > 0 && runs.computeMs[i] === 0);
      }
      assert.deepEqual(Array.from(prob), Array.from(first.prob));
      // Without copies nothing is needed but the batch size.
      assert.equal((await ctx.inferMany({}, { transfers: false, batchSize: 4 }, 1, 8)).runs.doneMs.length, 1);
      await assert.rejects(ctx.inferMany({ data: data(1) }, {}, 0, 1), {
        name: 'RangeError',
        message: /integer in \[1, 1048576\] for count/,
      });
      await assert.rejects(ctx.inferMany({ data: data(1) }, {}, 2, 9), { name: 'RangeError', message: /integer in \[1, 8\] for depth/ });
      await assert.rejects(ctx.inferMany({ data: data(1) }, { profile: true }, 2, 2), {
        name: 'TypeError',
        message: /per-layer profiles time one inference at a time/,
      });
      await assert.rejects(ctx.inferMany({ data: 'x' as never }, {}, 2, 2), { name: 'TypeError' });
      // The addon checks the loop's numbers itself too (NaN, fractions, out of range).
      const handle = (ctx as unknown as { handle: NativeHandle }).handle;
      for (const bad of [{ count: NaN }, { count: 2.5 }, { count: 1e300 }, { depth: 0 }, { depth: 9 }, { count: '2' }]) {
        assert.throws(
          () => native().execute(handle, 1, [data(1)], [new Float32Array(8)], undefined, bad as never),
          { name: 'TypeError', message: /execute options: count is an integer in \[0, 1048576\], depth in \[1, 8\]/ },
          JSON.stringify(bad),
        );
      }
      ctx.dispose();
      await assert.rejects(ctx.inferMany({ data: data(1) }, {}, 2, 2), { code: 'E_DISPOSED' });
    });

    it('TRTN_CPU_ARENA_LIMIT (a test hook) must be a number of bytes; over it a batch is E_OUT_OF_MEMORY', async () => {
      for (const [limit, code, message] of [
        ['1G', 'E_INVALID_ARGUMENT', /TRTN_CPU_ARENA_LIMIT \(a test hook\) must be a number of bytes, got '1G'/],
        ['16', 'E_OUT_OF_MEMORY', /cannot allocate \d+ bytes of activations for batch 2 \(TRTN_CPU_ARENA_LIMIT is 16\)/],
      ] as const) {
        const ctx = engine.createContext();
        process.env.TRTN_CPU_ARENA_LIMIT = limit;
        try {
          await assert.rejects(ctx.infer({ data: data(2) }), { code, message });
        } finally {
          delete process.env.TRTN_CPU_ARENA_LIMIT;
        }
        assert.equal((await ctx.infer({ data: data(2) })).prob.length, 16, 'the context works once the hook is gone');
        ctx.dispose();
      }
    });

    it('copies the inputs when infer() is called: arrays changed afterwards do not change queued answers', async () => {
      // Issue 13, item 2: the inputs used to be read when the queued call started.
      const ctx = engine.createContext();
      const expected = Array.from((await ctx.infer({ data: data(2, 3) })).prob);
      const arrays = [data(2, 3), data(2, 3), data(2, 3)];
      const pending = arrays.map((a) => ctx.infer({ data: a }));
      for (const a of arrays) a.fill(0);
      for (const p of pending) assert.deepEqual(Array.from((await p).prob), expected);
      // A caller's output array is written when the promise settles, not before.
      const prob = new Float32Array(16).fill(-1);
      const written = ctx.infer({ data: data(2, 3) }, { outputs: { prob } });
      assert.ok(prob.every((v) => v === -1));
      assert.equal((await written).prob, prob);
      assert.deepEqual(Array.from(prob), expected);
      ctx.dispose();
    });

    it('createInputs / createOutputs: host arrays the engine uses in place (no copy on the host)', async () => {
      const ctx = engine.createContext();
      const inputs = engine.createInputs(2);
      const outputs = engine.createOutputs(2);
      assert.deepEqual(Object.keys(inputs), ['data']);
      assert.ok(inputs.data instanceof Float32Array && inputs.data.length === 2 * IMAGE);
      assert.deepEqual(Object.keys(outputs).sort(), ['p2', 'prob']);
      assert.equal(outputs.prob.length, 16);
      inputs.data.set(data(2, 3));
      const expected = Array.from((await ctx.infer({ data: data(2, 3) })).prob);
      const result = await ctx.infer(inputs, { outputs });
      assert.equal(result.prob, outputs.prob, 'the results are the arrays passed in');
      assert.deepEqual(Array.from(outputs.prob), expected);
      // In place means read when the inference runs: a change made while it waits behind a slow
      // call is seen (an ordinary array is copied when infer() is called: test 'copies the inputs').
      const slow = await new Builder({ backend: 'cpu' }).build(await Network.parse(SLOW), { maxBatchSize: 1 });
      const slowInputs = slow.createInputs(1);
      const slowCtx = slow.createContext();
      const blocker = slowCtx.infer({ data: new Float32Array(1024 * 1024).fill(1) });
      const inPlace = slowCtx.infer(slowInputs);
      slowInputs.data.fill(2);
      await blocker;
      assert.ok(
        (await inPlace).pool.every((v) => v === 2),
        'the in-place input was read when the inference ran',
      );
      slowCtx.dispose();
      slow.dispose();
      assert.throws(() => engine.createInputs(0), { name: 'RangeError', message: /integer in \[1, 4\]/ });
      assert.throws(() => engine.createOutputs(5), { name: 'RangeError' });
      ctx.dispose();
    });

    it('runs calls on one context in call order, and contexts in parallel', async () => {
      const a = engine.createContext();
      const b = engine.createContext();
      const order: number[] = [];
      const runs = [1, 2, 3, 4].map((n) =>
        a.infer({ data: data(n, n) }).then((out) => {
          order.push(n);
          return out;
        }),
      );
      const other = b.infer({ data: data(2, 9) });
      const results = await Promise.all(runs);
      assert.deepEqual(order, [1, 2, 3, 4]);
      results.forEach((r, i) => assert.equal(r.prob.length, (i + 1) * 8));
      assert.equal((await other).prob.length, 16);
      a.dispose();
      b.dispose();
    });
  });

  describe('dispose', () => {
    it('a disposed context rejects with E_DISPOSED; calls queued before dispose still run', async () => {
      const ctx = engine.createContext();
      const queued = ctx.infer({ data: data(1) });
      ctx.dispose();
      assert.equal((await queued).prob.length, 8);
      await assert.rejects(
        ctx.infer({ data: data(1) }),
        (err: unknown) => err instanceof DisposedError && (err as DisposedError).code === 'E_DISPOSED',
      );
      ctx.dispose();
    });

    it('a disposed engine refuses new contexts and serialize, but its contexts keep working', async () => {
      const e = await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 2 });
      const ctx = e.createContext();
      e.dispose();
      assert.equal(e.disposed, true);
      assert.throws(() => e.createContext(), { code: 'E_DISPOSED', message: 'this engine was disposed' });
      assert.throws(() => e.serialize(), { code: 'E_DISPOSED' });
      assert.throws(() => e.memory(), { code: 'E_DISPOSED' });
      assert.equal((await ctx.infer({ data: data(2) })).prob.length, 16);
      ctx.dispose();
      e.dispose();
    });

    it('works with `using` and `await using`', async () => {
      let escaped: import('../../lib').ExecutionContext | undefined;
      {
        await using ctx = engine.createContext();
        escaped = ctx;
        await ctx.infer({ data: data(1) });
      }
      assert.equal(escaped.disposed, true);
      {
        using e = await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 1 });
        assert.equal(e.disposed, false);
      }
    });
  });
});

describe('engine API: running out of memory', function () {
  this.timeout(60000);
  it('a batch whose activations do not fit is E_OUT_OF_MEMORY with the bytes asked; smaller batches still run', async () => {
    // 2^26 floats (256 MB) per image between a tiny input and a tiny output: batch 4096 asks for 1 TB.
    const net = await Network.parse(`layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 1 } } }
      layer { name: "big" type: "Tile" bottom: "data" top: "big" tile_param { axis: 1 tiles: 67108864 } }
      layer { name: "sum" type: "Reduction" bottom: "big" top: "sum" reduction_param { operation: SUM axis: 1 } }`);
    const engine = await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 4096 });
    const ctx = engine.createContext();
    await assert.rejects(ctx.infer({ data: new Float32Array(4096).fill(1) }), (err: unknown) => {
      const e = err as { code: string; message: string };
      assert.equal(e.code, 'E_OUT_OF_MEMORY');
      assert.match(e.message, /cannot allocate 10995\d{8} bytes of activations for batch 4096; \d+ bytes of host memory free/);
      return true;
    });
    const small = await ctx.infer({ data: Float32Array.of(0.5, 2) });
    assert.deepEqual(Array.from(small.sum), [0.5 * 67108864, 2 * 67108864]);
    ctx.dispose();
    engine.dispose();
  });
});
