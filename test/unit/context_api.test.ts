// ExecutionContext.run() (Tensor results with dims, each call's own timing and profile), AbortSignal
// cancellation of queued calls, the per-context queue bound (issue 14, item 4), and spinWait.
import { strict as assert } from 'assert';
import { Builder, Network, Tensor, type Engine } from '../../lib';

const NET = `
name: "two"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 4 dim: 4 } } }
layer { name: "pool" type: "Pooling" bottom: "data" top: "pool" pooling_param { pool: AVE kernel_size: 2 stride: 2 } }
layer { name: "prob" type: "Softmax" bottom: "pool" top: "prob" }`;
/** Slow enough on the cpu backend (a 1024 x 1024 image, 9 x 9 max-pooling) to hold a queue. */
const SLOW = `
name: "slow"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 1 dim: 1024 dim: 1024 } } }
layer { name: "pool" type: "Pooling" bottom: "data" top: "pool" pooling_param { pool: MAX kernel_size: 9 stride: 1 } }`;

function data(batch: number, seed = 1): Float32Array {
  return Float32Array.from({ length: batch * 32 }, (_, i) => Math.sin((i + 1) * seed * 0.37));
}

describe('execution context: run(), AbortSignal, maxQueue', function () {
  this.timeout(60000);
  let engine: Engine;
  let slow: Engine;
  before(async () => {
    engine = await new Builder({ backend: 'cpu' }).build(await Network.parse(NET), { maxBatchSize: 4 });
    slow = await new Builder({ backend: 'cpu' }).build(await Network.parse(SLOW), { maxBatchSize: 1 });
  });
  after(() => {
    engine.dispose();
    slow.dispose();
  });

  it('run() resolves to Tensors with dims and type, and each call its own profile', async () => {
    const ctx = engine.createContext();
    const flat = await ctx.infer({ data: data(3) });
    const [plain, profiled] = await Promise.all([ctx.run({ data: data(3) }), ctx.run({ data: data(2) }, { profile: true })]);
    const prob = plain.outputs.prob;
    assert.ok(prob instanceof Tensor);
    assert.equal(prob.type, 'float32');
    assert.deepEqual(prob.dims, [3, 2, 2, 2]);
    assert.equal(prob.size, 24);
    assert.deepEqual(Array.from(prob.data), Array.from(flat.prob));
    assert.equal(plain.profile, undefined, 'the plain call has no profile, though a profiled one was queued with it');
    assert.equal(profiled.profile?.batch, 2);
    assert.deepEqual(
      profiled.profile?.layers.map((l) => l.name),
      ['pool', 'prob'],
    );
    assert.equal(plain.timing, undefined, 'the cpu backend has no GPU times');
    // A Tensor as input: its dims say the batch.
    const fromTensor = await ctx.run({ data: new Tensor('float32', data(3), [3, 2, 4, 4]) });
    assert.deepEqual(Array.from(fromTensor.outputs.prob.data), Array.from(flat.prob));
    await assert.rejects(ctx.run({ data: new Tensor('float32', data(3), [3, 32]) }), {
      name: 'RangeError',
      message: /Tensor of dims \[batch, 2, 4, 4\]/,
    });
    await assert.rejects(ctx.run(null as never), { name: 'TypeError' });
    ctx.dispose();
  });

  it('Tensor checks its type, data and dims', () => {
    assert.throws(() => new Tensor('float32', new Uint8Array(4), [4]), { name: 'TypeError', message: /typed array of float32/ });
    assert.throws(() => new Tensor('float32', new Float32Array(4), [2, 3]), { name: 'RangeError', message: /6 elements/ });
    assert.throws(() => new Tensor('int4' as never, new Float32Array(4), [4]), { name: 'TypeError' });
    assert.deepEqual(new Tensor('uint8', new Uint8Array(6), [2, 3]).dims, [2, 3]);
  });

  it('an AbortSignal cancels a queued call at once (E_ABORTED); a call already running finishes', async () => {
    const ctx = slow.createContext();
    const image = new Float32Array(1024 * 1024).fill(1);
    const aborted = AbortSignal.abort('gone');
    await assert.rejects(ctx.infer({ data: image }, { signal: aborted }), { code: 'E_ABORTED' });
    const running = new AbortController();
    const queued = new AbortController();
    const first = ctx.infer({ data: image }, { signal: running.signal });
    const second = ctx.infer({ data: image }, { signal: queued.signal });
    const t0 = performance.now();
    queued.abort();
    let firstDone = false;
    void first.then(() => {
      firstDone = true;
    });
    await assert.rejects(second, { code: 'E_ABORTED' });
    assert.equal(firstDone, false, 'the queued call rejected before the one ahead of it finished');
    assert.ok(performance.now() - t0 < 50, 'rejected at once');
    await new Promise((r) => setTimeout(r, 50));
    running.abort(); // it has started by now (or finished): it finishes as it would have
    assert.equal((await first).pool.length, 1016 * 1016);
    assert.equal((await ctx.infer({ data: image })).pool[0], 1, 'the context keeps working');
    await assert.rejects(ctx.infer({ data: image }, { signal: 'no' as never }), {
      name: 'TypeError',
      message: /AbortSignal for options.signal/,
    });
    ctx.dispose();
  });

  it('maxQueue bounds the calls waiting on a context: more reject with E_BUSY', async () => {
    const ctx = slow.createContext({ maxQueue: 2 });
    const image = new Float32Array(1024 * 1024);
    const a = ctx.infer({ data: image });
    const b = ctx.infer({ data: image });
    await assert.rejects(ctx.infer({ data: image }), { code: 'E_BUSY', message: /2 call\(s\) waiting \(maxQueue 2\)/ });
    await Promise.all([a, b]);
    assert.equal((await ctx.infer({ data: image })).pool.length, 1016 * 1016, 'accepted again once the queue drained');
    assert.throws(() => slow.createContext({ maxQueue: 0 }), { name: 'RangeError' });
    assert.throws(() => slow.createContext({ maxQueue: 'x' as never }), { name: 'TypeError' });
    ctx.dispose();
  });

  it('spinWait keeps the event loop turning while calls are outstanding, and stops when none are', async () => {
    const immediates = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Immediate').length;
    const settle = async (): Promise<void> => {
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    };
    const image = new Float32Array(1024 * 1024);
    const plain = slow.createContext();
    const spinning = slow.createContext({ spinWait: true });
    assert.equal(spinning.spinWait, true);
    await settle();
    const a = plain.infer({ data: image });
    const base = immediates(); // whatever else is scheduled (the runner's, the addon's own)
    const b = spinning.infer({ data: image });
    const c = spinning.infer({ data: image });
    assert.equal(immediates(), base + 1, 'one spinner per context, however many calls');
    const [ra, rb, rc] = await Promise.all([a, b, c]);
    assert.deepEqual(rb.pool, ra.pool);
    assert.deepEqual(rc.pool, ra.pool);
    // Calls one after another: each starts before the chain of ticks saw the queue empty, and must
    // keep that chain, not start one of its own (chains piled up: spinWait cost 400 us a call).
    const scheduled: number[] = [];
    for (let i = 0; i < 20; i++) {
      const call = spinning.infer({ data: image });
      scheduled.push(immediates());
      await call;
    }
    assert.ok(Math.max(...scheduled) <= scheduled[0], `still one spinner after calls one after another: ${scheduled.join(' ')}`);
    await settle();
    assert.ok(immediates() <= base, 'the spinner stopped with the last call');
    assert.throws(() => slow.createContext({ spinWait: 1 as never }), {
      name: 'TypeError',
      message: /a boolean or 'auto' for options\.spinWait/,
    });
    assert.equal(plain.spinWait, 'auto', "the default: wake ahead of a lone call's end (GPU contexts)");
    const asleep = slow.createContext({ spinWait: false });
    assert.equal(asleep.spinWait, false);
    assert.equal(slow.createContext({ spinWait: 'auto' }).spinWait, 'auto');
    asleep.dispose();
    plain.dispose();
    spinning.dispose();
  });

  it("errors of native work carry the caller's stack (sharp's way)", async function callerOfTheFailingInference() {
    const ctx = slow.createContext();
    process.env.TRTN_CPU_ARENA_LIMIT = '16';
    try {
      const err: Error = await ctx.infer({ data: new Float32Array(1024 * 1024) }).then(
        () => new Error('resolved'),
        (e: unknown) => e as Error,
      );
      assert.equal((err as { code?: string }).code, 'E_OUT_OF_MEMORY');
      assert.match(err.stack ?? '', /callerOfTheFailingInference/, err.stack);
    } finally {
      delete process.env.TRTN_CPU_ARENA_LIMIT;
      ctx.dispose();
    }
  });
});
