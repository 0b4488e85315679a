/**
 * Timing an engine the way trtexec does: warm up, then run inferences on one or more contexts
 * (each on its own stream) until both the duration and the iteration count are reached, recording
 * per inference the host latency, the enqueue time and, on GPU backends, the CUDA-event times of
 * the copies and the compute. Statistics, warnings and the BenchResult document come from here;
 * `tensorrt-node bench`, its --gpus workers and `sweep` all use it.
 */
import * as os from 'os';
import { devices } from '../device';
import { randomInputData } from '../random_data';
import type { BenchOptions, Engine, ExecutionContext, HostArray } from '../runtime/engine';
import type { BenchResult, BenchSettings, DeviceRecord, TimeStats } from './result';

/** One timed inference (the rows of --exportTimes). */
export interface InferenceTime {
  /** Context (stream) that ran it. */
  stream: number;
  /** Host times relative to the start of the timed window, ms. */
  startMs: number;
  endMs: number;
  latencyMs: number;
  enqueueMs: number;
  computeMs?: number;
  h2dMs?: number;
  d2hMs?: number;
}

export interface TimingOptions extends BenchSettings {
  batch: number;
  seed: number;
  /** Called once warm-up is over and before the timed window (a start barrier across GPUs). */
  beforeTiming?: () => Promise<void>;
}

/** Statistics of `values` (ms), percentiles as asked. */
export function timeStats(values: readonly number[], percentiles: readonly number[]): TimeStats {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = n === 0 ? NaN : values.reduce((a, b) => a + b, 0) / n;
  const variance = n === 0 ? NaN : values.reduce((a, b) => a + (b - mean) * (b - mean), 0) / n;
  // Nearest rank; the small subtraction keeps (p * n) / 100 = 990.0000000001 from rounding up a rank.
  const pick = (p: number): number => (n === 0 ? NaN : sorted[Math.min(n - 1, Math.max(0, Math.ceil((p * n) / 100 - 1e-9) - 1))]);
  const median = n === 0 ? NaN : n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return {
    min: n === 0 ? NaN : sorted[0],
    max: n === 0 ? NaN : sorted[n - 1],
    mean,
    median,
    percentiles: Object.fromEntries(percentiles.map((p) => [String(p), pick(p)])),
    cv: mean > 0 ? Math.sqrt(variance) / mean : 0,
  };
}

/**
 * trtexec's trace details: one "Average on N runs" line per `runs` consecutive inferences, in the
 * order they finished (an incomplete last group is left out, as trtexec leaves it). Only these
 * lines average; the summary's statistics are over every inference.
 */
export function traceAverages(times: readonly InferenceTime[], runs: number): string[] {
  const lines: string[] = [];
  const mean = (group: readonly InferenceTime[], key: 'latencyMs' | 'enqueueMs' | 'computeMs'): number =>
    group.reduce((a, t) => a + (t[key] ?? 0), 0) / group.length;
  for (let i = 0; i + runs <= times.length; i += runs) {
    const group = times.slice(i, i + runs);
    const gpu = group.every((t) => t.computeMs !== undefined) ? ` - GPU latency: ${mean(group, 'computeMs').toFixed(3)} ms` : '';
    lines.push(
      `Average on ${runs} runs${gpu} - Host latency: ${mean(group, 'latencyMs').toFixed(3)} ms ` +
        `(enqueue ${mean(group, 'enqueueMs').toFixed(3)} ms)`,
    );
  }
  return lines;
}

function volume(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Warms up and times `engine`; resolves to every timed inference and the window's wall time. */
export async function timeInferences(
  engine: Engine,
  o: TimingOptions,
): Promise<{ times: InferenceTime[]; walltimeSeconds: number; startEpochMs: number }> {
  const contexts: ExecutionContext[] = [];
  try {
    for (let s = 0; s < o.streams; s++) contexts.push(engine.createContext());
    // Without transfers nothing is copied, so no host arrays are made (a batch of 65536 images
    // would need gigabytes of them).
    const inputs: Record<string, HostArray> = {};
    if (o.dataTransfers)
      engine.inputs.forEach((t, k) => {
        inputs[t.name] = randomInputData(t.dtype, o.batch * volume(t.dims), o.seed + k);
      });
    const options = contexts.map((): BenchOptions => ({
      batchSize: o.batch,
      transfers: o.dataTransfers,
      cudaGraph: o.useCudaGraph,
      ...(o.dataTransfers
        ? {
            outputs: Object.fromEntries(
              engine.outputs.map((t) => {
                const n = o.batch * volume(t.dims);
                return [t.name, t.dtype === 'float16' ? new Uint16Array(n) : new Float32Array(n)];
              }),
            ),
          }
        : {}),
    }));
    // Warm-up: every context at least once (the first run allocates and captures its graph).
    const warmStart = performance.now();
    do {
      await Promise.all(contexts.map((c, s) => c.benchInfer(inputs, options[s])));
    } while (performance.now() - warmStart < o.warmUpMs);
    const inflight = o.inflight ?? 1;
    let perInferenceMs = 1;
    if (inflight > 1) {
      // Warm the benchmark loop too, and learn how long one inference takes (the chunk size).
      const t0 = performance.now();
      await Promise.all(contexts.map((c, s) => c.inferMany(inputs, options[s], inflight * 2, inflight)));
      perInferenceMs = Math.max(1e-3, (performance.now() - t0) / (inflight * 2));
    }
    if (o.beforeTiming) await o.beforeTiming();
    const times: InferenceTime[] = [];
    const startEpochMs = Date.now();
    const start = performance.now();
    const endAt = start + o.durationS * 1000;
    // --inflight N: chunks of about 50 ms of inferences, N queued at a time (one host round trip
    // per chunk instead of one per inference).
    const queuedLoop = async (s: number): Promise<void> => {
      const ctx = contexts[s];
      while (performance.now() < endAt || times.length < o.iterations) {
        const left = Math.max(endAt - performance.now(), (o.iterations - times.length) * perInferenceMs, 0);
        const count = Math.max(inflight + 1, Math.min(1000, Math.ceil(Math.min(50, left) / perInferenceMs)));
        const t0 = performance.now() - start;
        const { runs, gpu } = await ctx.inferMany(inputs, options[s], count, inflight);
        for (let i = 0; i < runs.doneMs.length; i++) {
          const startMs = t0 + runs.submitMs[i];
          const endMs = t0 + runs.doneMs[i];
          times.push({
            stream: s,
            startMs,
            endMs,
            enqueueMs: runs.enqueueMs[i],
            // trtexec's latency of an inference: its copies and compute (queueing excluded).
            latencyMs: gpu ? runs.h2dMs[i] + runs.computeMs[i] + runs.d2hMs[i] : endMs - startMs,
            ...(gpu ? { computeMs: runs.computeMs[i], h2dMs: runs.h2dMs[i], d2hMs: runs.d2hMs[i] } : {}),
          });
        }
      }
    };
    const loop = async (s: number): Promise<void> => {
      const ctx = contexts[s];
      while (performance.now() < endAt || times.length < o.iterations) {
        const t0 = performance.now();
        const pending = ctx.benchInfer(inputs, options[s]);
        const t1 = performance.now();
        await pending;
        const t2 = performance.now();
        const g = ctx.lastTiming;
        times.push({
          // GPU backends measure the submission natively; elsewhere it is the call's hand-over.
          stream: s,
          startMs: t0 - start,
          endMs: t2 - start,
          latencyMs: t2 - t0,
          enqueueMs: g?.enqueueMs ?? t1 - t0,
          ...(g !== undefined ? { computeMs: g.computeMs, h2dMs: g.h2dMs, d2hMs: g.d2hMs } : {}),
        });
      }
    };
    await Promise.all(contexts.map((_, s) => (inflight > 1 ? queuedLoop(s) : loop(s))));
    return { times, walltimeSeconds: (performance.now() - start) / 1000, startEpochMs };
  } finally {
    contexts.forEach((c) => c.dispose());
  }
}

/** The device a result was measured on. */
export function deviceRecord(engine: Engine, deviceIndex: number): DeviceRecord {
  const visible = process.env.CUDA_VISIBLE_DEVICES;
  if (engine.backend === 'cpu') {
    return { name: `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}`, ...(visible ? { visibleDevice: visible } : {}) };
  }
  const d = devices().devices[deviceIndex];
  return {
    name: d?.name ?? 'unknown GPU',
    index: deviceIndex,
    ...(visible !== undefined && visible !== '' ? { visibleDevice: visible.split(',')[deviceIndex] ?? visible } : {}),
    ...(d !== undefined ? { memoryBytes: d.totalMemory, computeCapability: d.computeCapability } : {}),
  };
}

/** Warnings about what the numbers mean (trtexec warns in the same cases). */
export function timingWarnings(
  r: Pick<BenchResult, 'latencyMs' | 'enqueueMs' | 'gpuComputeMs' | 'h2dMs' | 'd2hMs' | 'iterations'>,
): string[] {
  const w: string[] = [];
  const varying = r.gpuComputeMs ?? r.latencyMs;
  const what = r.gpuComputeMs ? 'GPU compute time' : 'latency';
  if (varying.cv > 0.025) {
    w.push(
      `the ${what} varies (coefficient of variation ${(100 * varying.cv).toFixed(1)}% > 2.5%): the numbers may be ` +
        'unstable; check clocks and other work on the device, or time longer (--duration)',
    );
  }
  if (r.gpuComputeMs) {
    if (r.enqueueMs.mean >= r.gpuComputeMs.mean) {
      w.push(
        `throughput may be bound by enqueue time (mean ${r.enqueueMs.mean.toFixed(3)} ms >= GPU compute ` +
          `${r.gpuComputeMs.mean.toFixed(3)} ms): the host cannot hand over work fast enough; try a larger --batch or more --streams`,
      );
    }
    const device = r.gpuComputeMs.median + (r.h2dMs?.median ?? 0) + (r.d2hMs?.median ?? 0);
    if (r.latencyMs.median > 1.5 * device + 0.05) {
      w.push(
        `host latency (median ${r.latencyMs.median.toFixed(3)} ms) is well above the device's copies and compute ` +
          `(${device.toFixed(3)} ms): host-side overhead dominates each inference`,
      );
    }
  }
  if (r.iterations < 10) {
    w.push(
      `only ${r.iterations === 1 ? '1 inference was' : `${r.iterations} inferences were`} timed: percentiles mean little; ` +
        'raise --duration or --iterations',
    );
  }
  return w;
}

export function packageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../../package.json') as { version: string }).version;
}

/** Times `engine` and returns the BenchResult (and the raw times for --exportTimes). */
export async function benchEngine(
  engine: Engine,
  network: { file: string; name: string },
  o: TimingOptions,
  extra: { deviceIndex: number; rank?: BenchResult['rank'] },
): Promise<{ result: BenchResult; times: InferenceTime[] }> {
  const { times, walltimeSeconds, startEpochMs } = await timeInferences(engine, o);
  // Over every inference, as trtexec's summary: the means of --avgRuns groups would hide the
  // slowest inferences (a max of 1.8 ms where one inference took 7.8 ms).
  const series = (key: keyof InferenceTime): TimeStats | undefined => {
    const v = times.map((t) => t[key]).filter((x): x is number => typeof x === 'number');
    return v.length === 0 ? undefined : timeStats(v, o.percentiles);
  };
  const latencyMs = series('latencyMs') as TimeStats;
  const enqueueMs = series('enqueueMs') as TimeStats;
  const gpuComputeMs = series('computeMs');
  const h2dMs = o.dataTransfers ? series('h2dMs') : undefined;
  const d2hMs = o.dataTransfers ? series('d2hMs') : undefined;
  const settings: BenchSettings = {
    warmUpMs: o.warmUpMs,
    durationS: o.durationS,
    iterations: o.iterations,
    avgRuns: o.avgRuns,
    percentiles: [...o.percentiles],
    // CUDA graphs exist on the cuda backend only; elsewhere the setting is recorded as off.
    dataTransfers: o.dataTransfers,
    useCudaGraph: o.useCudaGraph && engine.backend === 'cuda',
    streams: o.streams,
    ...((o.inflight ?? 1) > 1 ? { inflight: o.inflight } : {}),
  };
  const partial = { latencyMs, enqueueMs, gpuComputeMs, h2dMs, d2hMs, iterations: times.length };
  const result: BenchResult = {
    kind: 'tensorrt-node-bench',
    version: 1,
    date: new Date().toISOString(),
    packageVersion: packageVersion(),
    ...(process.env.TRTN_COMMIT ? { commit: process.env.TRTN_COMMIT } : {}),
    network: network.file,
    networkName: network.name,
    backend: engine.backend,
    precision: engine.precision,
    batch: o.batch,
    device: deviceRecord(engine, extra.deviceIndex),
    settings,
    ...(extra.rank ? { rank: extra.rank } : {}),
    iterations: times.length,
    walltimeSeconds,
    timedWindow: { startEpochMs, endEpochMs: startEpochMs + walltimeSeconds * 1000 },
    throughput: { imagesPerSecond: (o.batch * times.length) / walltimeSeconds, inferencesPerSecond: times.length / walltimeSeconds },
    latencyMs,
    enqueueMs,
    // The GPU's rate from the median compute time: meaningful for one context (several streams
    // overlap their compute windows, so batch / time would not add up).
    ...(gpuComputeMs
      ? { gpuComputeMs, ...(o.streams === 1 ? { gpuComputeImagesPerSecond: o.batch / (gpuComputeMs.median / 1000) } : {}) }
      : {}),
    ...(h2dMs ? { h2dMs } : {}),
    ...(d2hMs ? { d2hMs } : {}),
    warnings: timingWarnings(partial),
  };
  return { result, times };
}
