/**
 * Benchmark of the path from a JavaScript caller to the GPU and back (issue 14's bars): one engine,
 * the same batch, timed several ways in one process, each against the engine's own GPU compute time:
 *   gpu-compute      inferences queued without copies (trtexec's --noDataTransfers): the ceiling
 *   f32-serial       infer() from an ordinary Float32Array, one call at a time (await each)
 *   f32-inflight     the same with `--inflight` calls outstanding (a service with several requests)
 *   f32-pinned       float32 inputs and outputs in engine.createInputs / createOutputs arrays (used in
 *                    place: no host copy), `--inflight` calls outstanding, one array set per call
 *   batch1-overhead  batch 1, one call at a time: host latency minus GPU compute time (a lone call in
 *                    pinned memory runs in place: no staging copies; batch1-staged: the same with
 *                    TRTN_CUDA_NO_IN_PLACE=1, the staging slots' copies; batch1-spin: a context
 *                    with spinWait true, the event loop kept awake while the call is out;
 *                    batch1-sleep: spinWait false, the event loop asleep until the answer wakes
 *                    it; the default 'auto' wakes it ahead of the call's expected end)
 *   u8-...           the same network taking uint8 BGR images (preprocessed on the device):
 *                    u8-pinned (the issue's bar: >= 0.85x) and u8-batch1-overhead (<= 40 us)
 *   fs-under-load    fs.promises.readFile latency while 6 contexts infer in a loop
 *   fixed cost       a one-layer network, batch 1, one call at a time, on the cpu backend (the async
 *                    path alone: JS, the context's thread, the wake-up of the JS thread) and on the
 *                    GPU (plus launch, copies and the device's own latency)
 * Prints a table and writes one JSON document (--out) with the GPU, driver, commit and settings.
 *   node dist/scripts/bench-js-path.js [--model googlenet] [--precision int8] [--batch 128]
 *     [--seconds 3] [--inflight 4] [--backend cuda] [--out file.json]
 */
import { promises as fsp } from 'fs';
import * as fs from 'fs';
import * as path from 'path';
import { Builder, devices, Network, type Engine, type ExecutionContext, type HostArray, type Precision, type RunTiming } from '../lib';
import { uniformData } from '../lib/random_data';

const ROOT = path.resolve(__dirname, '../..');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** One way of calling the engine, measured. */
interface Row {
  readonly variant: string;
  readonly batch: number;
  readonly imagesPerSecond: number;
  /** Images/s over the engine's GPU-compute images/s at the same batch. */
  readonly ofGpuCompute?: number;
  readonly latencyMs?: number;
  readonly hostOverheadMs?: number;
  /** Medians of the calls' GPU times (H2D, compute, D2H; ms) and host submit time, when the backend has them. */
  readonly phases?: {
    readonly h2dMs: number;
    readonly computeMs: number;
    readonly d2hMs: number;
    readonly enqueueMs: number;
    readonly queueMs: number;
    /** From the context's thread seeing the call done to its promise settling in JS (latency minus doneMs). */
    readonly toJsMs: number;
  };
  readonly calls: number;
  readonly note?: string;
}

function volume(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Random inputs: floats in [-1, 1), or bytes for uint8 inputs. */
function inputsFor(engine: Engine, batch: number): Record<string, HostArray> {
  return Object.fromEntries(
    engine.inputs.map((t, k) => {
      const n = batch * volume(t.dims);
      if (t.dtype !== 'uint8') return [t.name, uniformData(n, 11 + k)];
      const bytes = new Uint8Array(n);
      for (let i = 0; i < n; i++) bytes[i] = (i * 2654435761 + k) >>> 24;
      return [t.name, bytes];
    }),
  );
}

/** Median GPU compute ms of one inference at `batch`, queued two deep without copies. */
async function gpuComputeMs(ctx: ExecutionContext, batch: number, seconds: number): Promise<number> {
  await ctx.inferMany({}, { transfers: false, batchSize: batch }, 10, 2);
  const { runs, gpu } = await ctx.inferMany({}, { transfers: false, batchSize: batch }, 20, 2);
  const once = median(Array.from(gpu ? runs.computeMs : runs.enqueueMs));
  const count = Math.max(20, Math.min(5000, Math.round((seconds * 1000) / Math.max(once, 0.01))));
  const timed = await ctx.inferMany({}, { transfers: false, batchSize: batch }, count, 2);
  return median(Array.from(timed.gpu ? timed.runs.computeMs : timed.runs.enqueueMs));
}

/** Arrays one caller passes: inputs, and (pinned runs) the output arrays. */
interface CallSet {
  readonly inputs: Record<string, HostArray>;
  readonly outputs?: Record<string, HostArray>;
}

/**
 * Calls run() for `seconds` keeping one call outstanding per set (sets.length in all); images/s,
 * median latency and median GPU compute time.
 */
async function timedCalls(
  ctx: ExecutionContext,
  sets: readonly CallSet[],
  batch: number,
  seconds: number,
): Promise<{ imagesPerSecond: number; latencyMs: number; calls: number; phases?: Row['phases'] }> {
  const call = (set: CallSet) => ctx.run(set.inputs, set.outputs === undefined ? {} : { outputs: set.outputs });
  for (let i = 0; i < 3; i++) await Promise.all(sets.map(call));
  const latencies: number[] = [];
  const timings: RunTiming[] = [];
  const toJs: number[] = [];
  let calls = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const lane = async (set: CallSet): Promise<void> => {
    while (performance.now() < end) {
      const s = performance.now();
      const r = await call(set);
      const latency = performance.now() - s;
      latencies.push(latency);
      if (r.timing !== undefined) {
        timings.push(r.timing);
        if (r.timing.doneMs > 0) toJs.push(latency - r.timing.doneMs);
      }
      calls++;
    }
  };
  await Promise.all(sets.map(lane));
  const wall = (performance.now() - t0) / 1000;
  const phase = (k: keyof RunTiming) => median(timings.map((t) => t[k]));
  return {
    imagesPerSecond: (calls * batch) / wall,
    latencyMs: median(latencies),
    calls,
    ...(timings.length > 0
      ? {
          phases: {
            h2dMs: phase('h2dMs'),
            computeMs: phase('computeMs'),
            d2hMs: phase('d2hMs'),
            enqueueMs: phase('enqueueMs'),
            queueMs: phase('queueMs'),
            toJsMs: toJs.length > 0 ? median(toJs) : 0,
          },
        }
      : {}),
  };
}

async function fsUnderLoad(engine: Engine, batch: number): Promise<{ medianMs: number; maxMs: number; reads: number }> {
  // Six contexts each inferring in a loop (harder than six calls in flight: the JS thread copies
  // every call's inputs and settles every result).
  const contexts = Array.from({ length: 6 }, () => engine.createContext());
  const inputs = inputsFor(engine, batch);
  const file = path.join(ROOT, 'package.json');
  await fsp.readFile(file);
  let running = true;
  const load = contexts.map(async (c) => {
    while (running) await c.infer(inputs);
  });
  await new Promise((r) => setTimeout(r, 200));
  const reads: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    await fsp.readFile(file);
    reads.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 10));
  }
  running = false;
  await Promise.all(load);
  for (const c of contexts) c.dispose();
  return { medianMs: median(reads), maxMs: Math.max(...reads), reads: reads.length };
}

/** The variants one engine is timed in (rows named `${prefix}-...`), against its own GPU compute time. */
async function measure(
  engine: Engine,
  prefix: string,
  batch: number,
  seconds: number,
  inflight: number,
  plainToo: boolean,
): Promise<Row[]> {
  const ctx = engine.createContext();
  const rows: Row[] = [];
  const computeMs = await gpuComputeMs(ctx, batch, seconds);
  const ceiling = batch / (computeMs / 1000);
  rows.push({
    variant: `${prefix}-gpu-compute`,
    batch,
    imagesPerSecond: ceiling,
    ofGpuCompute: 1,
    latencyMs: computeMs,
    calls: 0,
    note: 'no copies, 2 queued',
  });
  const inputs = inputsFor(engine, batch);
  const plain = (k: number): CallSet[] => Array.from({ length: k }, () => ({ inputs }));
  const pinned = (k: number, b: number): CallSet[] =>
    Array.from({ length: k }, () => {
      const set = { inputs: engine.createInputs(b), outputs: engine.createOutputs(b) };
      for (const [name, a] of Object.entries(inputsFor(engine, b))) set.inputs[name].set(a);
      return set;
    });
  const variants: Array<readonly [string, CallSet[], string]> = [
    ...(plainToo
      ? ([
          [`${prefix}-serial`, plain(1), '1 call outstanding, an ordinary array'],
          [`${prefix}-inflight`, plain(inflight), `${inflight} calls outstanding, an ordinary array (copied at call time)`],
        ] as const)
      : []),
    [`${prefix}-pinned`, pinned(inflight, batch), `${inflight} calls outstanding, createInputs / createOutputs arrays (no host copy)`],
  ];
  for (const [variant, sets, note] of variants) {
    const r = await timedCalls(ctx, sets, batch, seconds);
    rows.push({
      variant,
      batch,
      imagesPerSecond: r.imagesPerSecond,
      ofGpuCompute: r.imagesPerSecond / ceiling,
      latencyMs: r.latencyMs,
      phases: r.phases,
      calls: r.calls,
      note,
    });
  }
  if (batch > 1) {
    const one = engine.createContext();
    const c1 = await gpuComputeMs(one, 1, seconds / 2);
    const spinner = engine.createContext({ spinWait: true });
    const sleeper = engine.createContext({ spinWait: false });
    const modes = [
      ['overhead', one, " (spinWait 'auto', the default)"],
      ['staged', one, ', TRTN_CUDA_NO_IN_PLACE=1'],
      ['spin', spinner, ', spinWait true'],
      ['sleep', sleeper, ', spinWait false'],
    ] as const;
    for (const [mode, context, how] of modes) {
      if (mode === 'staged') process.env.TRTN_CUDA_NO_IN_PLACE = '1';
      const r = await timedCalls(context, pinned(1, 1), 1, seconds);
      delete process.env.TRTN_CUDA_NO_IN_PLACE;
      rows.push({
        variant: `${prefix}-batch1-${mode}`,
        batch: 1,
        imagesPerSecond: r.imagesPerSecond,
        latencyMs: r.latencyMs,
        hostOverheadMs: r.latencyMs - c1,
        phases: r.phases,
        calls: r.calls,
        note: `createInputs arrays, one call at a time${how}; GPU compute ${c1.toFixed(4)} ms`,
      });
    }
    spinner.dispose();
    sleeper.dispose();
    one.dispose();
  }
  ctx.dispose();
  return rows;
}

/** Median latency of one-at-a-time run() calls on a one-layer network (the fixed cost of a call). */
async function fixedCost(
  backend: 'cpu' | 'cuda',
  seconds: number,
): Promise<{ backend: string; latencyMs: number; computeMs?: number; calls: number }> {
  const net = await Network.parse(
    `name: "tiny" input: "data" input_shape { dim: 1 dim: 16 dim: 1 dim: 1 }
    layer { name: "ip" type: "InnerProduct" bottom: "data" top: "prob" inner_product_param { num_output: 4 } }`,
    { seed: 1 },
  );
  const engine = await new Builder({ backend, logger: () => undefined }).build(net, { maxBatchSize: 1 });
  const ctx = engine.createContext();
  const set = { inputs: engine.createInputs(1), outputs: engine.createOutputs(1) };
  const r = await timedCalls(ctx, [set], 1, seconds);
  ctx.dispose();
  engine.dispose();
  return { backend, latencyMs: r.latencyMs, computeMs: r.phases?.computeMs, calls: r.calls };
}

async function main(): Promise<void> {
  const model = arg('model', 'googlenet');
  const precision = arg('precision', 'int8') as Precision;
  const batch = Number(arg('batch', '128'));
  const seconds = Number(arg('seconds', '3'));
  const inflight = Number(arg('inflight', '4'));
  const backend = arg('backend', 'cuda') as 'cuda' | 'cpu' | 'auto';
  const out = arg('out', '');
  const net = await Network.fromCaffe(path.join(ROOT, 'models', `${model}.prototxt`), { seed: 1 });
  const builder = new Builder({ backend, logger: () => undefined });
  const engine = await builder.build(net, { precision, maxBatchSize: batch, tuneBatch: batch });
  const rows = await measure(engine, 'f32', batch, seconds, inflight, true);

  // The same network taking uint8 BGR images, preprocessed on the device (Caffe's mean 104, 117, 123).
  // (A one-channel network such as LeNet: grey bytes scaled to [0, 1).)
  const input =
    engine.inputs[0].dims[0] === 3
      ? ({ format: 'uint8-nhwc-bgr', mean: [104, 117, 123] } as const)
      : ({ format: 'uint8-nhwc', scale: 1 / 256 } as const);
  const u8 = await builder.build(net, { precision, maxBatchSize: batch, tuneBatch: batch, input });
  rows.push(...(await measure(u8, 'u8', batch, seconds, inflight, false)));
  u8.dispose();
  const fsLoad = await fsUnderLoad(engine, Math.min(batch, 8));
  const fixed = [await fixedCost('cpu', seconds / 2), ...(backend !== 'cpu' ? [await fixedCost('cuda', seconds / 2)] : [])];
  const gpu = devices().devices[0];
  console.log(`${model} ${precision} batch ${batch} on ${engine.backend}${gpu ? ` (${gpu.name})` : ''}`);
  console.log(
    'variant              batch   images/s   of GPU compute   latency ms   host overhead ms   h2d / compute / d2h / enqueue / queue / to JS ms',
  );
  for (const r of rows) {
    const p = r.phases;
    console.log(
      `${r.variant.padEnd(20)} ${String(r.batch).padStart(5)} ${r.imagesPerSecond.toFixed(0).padStart(10)} ` +
        `${r.ofGpuCompute === undefined ? '' : r.ofGpuCompute.toFixed(3)}`.padEnd(17) +
        `${r.latencyMs === undefined ? '' : r.latencyMs.toFixed(4)}`.padStart(10) +
        `${r.hostOverheadMs === undefined ? '' : r.hostOverheadMs.toFixed(4)}`.padStart(19) +
        (p === undefined
          ? ''
          : `   ${[p.h2dMs, p.computeMs, p.d2hMs, p.enqueueMs, p.queueMs, p.toJsMs].map((x) => x.toFixed(4)).join(' / ')}`),
    );
  }
  console.log(
    `fs.readFile with 6 contexts inferring in a loop: median ${fsLoad.medianMs.toFixed(3)} ms, max ${fsLoad.maxMs.toFixed(3)} ms`,
  );
  for (const f of fixed) {
    console.log(
      `fixed cost of a call (one-layer network, batch 1, ${f.backend}): median latency ${(f.latencyMs * 1000).toFixed(1)} us` +
        (f.computeMs === undefined ? '' : ` (GPU compute ${(f.computeMs * 1000).toFixed(1)} us)`),
    );
  }
  const doc = {
    what: "the path from JavaScript to the GPU: infer() throughput and latency against each engine's own GPU compute time",
    date: new Date().toISOString(),
    commit: process.env.TRTN_COMMIT ?? 'unknown',
    gpu: gpu?.name,
    computeCapability: gpu ? `${gpu.major}.${gpu.minor}` : undefined,
    driverVersion: devices().driverVersion,
    settings: { model, precision, batch, seconds, inflight, backend: engine.backend, weights: 'random (seed 1)', u8: { input } },
    rows,
    fsUnderLoad: fsLoad,
    fixedCost: fixed,
  };
  if (out !== '') fs.writeFileSync(out, JSON.stringify(doc, null, 1) + '\n');
  engine.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
