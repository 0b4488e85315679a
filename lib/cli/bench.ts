/**
 * `tensorrt-node bench`: the first cut of a trtexec-style timer. Builds (or loads) an engine,
 * warms up, then runs timed inferences until both --duration and --iterations are reached, and
 * prints throughput (images/s = batch x inferences/s) and latency percentiles. Times are host
 * wall times around each awaited infer() call: they include moving inputs and outputs.
 */
import * as os from 'os';
import { devices } from '../device';
import type { ExecutionContext, InferOptions } from '../runtime/engine';
import { uniformData } from '../random_data';
import { human } from './format';
import { batchOption, cpuNote, ENGINE_OPTIONS, engineChoices, obtainEngine } from './engine_source';
import { formatHelp, intOption, parseCommand, UsageError, type CommandSpec } from './options';

/** The bench command's options. */
export const BENCH: CommandSpec = {
  name: 'bench',
  summary: 'Time a network (prototxt or plan) like trtexec: throughput and latency percentiles.',
  usage: 'tensorrt-node bench <deploy.prototxt|file.plan> [--batch N] [--precision p] [options]',
  options: [
    { name: 'batch', type: 'string', value: 'N', help: 'Images per inference', default: '1' },
    { name: 'warmUp', type: 'string', value: 'ms', help: 'Run this long before timing', default: '200' },
    { name: 'duration', type: 'string', value: 's', help: 'Time at least this long', default: '3' },
    { name: 'iterations', type: 'string', value: 'N', help: 'Time at least this many inferences', default: '10' },
    { name: 'dumpProfile', type: 'boolean', help: 'After timing, profile every layer (mean of --profileRuns runs) and print the table' },
    { name: 'profileRuns', type: 'string', value: 'N', help: 'Profiled inferences averaged by --dumpProfile', default: '10' },
    { name: 'json', type: 'boolean', help: 'Print the results as JSON' },
    ...ENGINE_OPTIONS,
  ],
  notes: [
    'Throughput: images per second (batch x inferences per second) over the timed window.\n' +
    'Latency: host wall time of one inference call, inputs and outputs included; min, mean, median,\n' +
    'p90, p99 and max over the timed inferences. Inputs are random, uniform in [-1, 1).\n' +
    'GPU backends also report GPU Compute Time (CUDA events around the kernels of one inference, as\n' +
    "trtexec does) and the H2D / D2H copy times; images/s from the median compute time is the GPU's\n" +
    'throughput without the copies.',
    '--dumpProfile: each layer timed on its own (cuda: CUDA events between layers, no CUDA graph;\n' +
    'cpu: host wall time), averaged over --profileRuns inferences after the timed window, with its\n' +
    'share of the total. Layers the builder fused into another (a ReLU into its convolution, an\n' +
    'elided Concat) show 0. Profiled runs are not part of the throughput and latency figures.',
  ],
  examples: [
    'tensorrt-node bench models/googlenet.prototxt --batch 1',
    'tensorrt-node bench models/alexnet.prototxt --batch 128 --precision int8 --json',
  ],
};

/** min, mean, median, p90, p99, max of a list of times. */
function summary(values: number[]): { min: number; mean: number; median: number; p90: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { min: sorted[0], mean, median: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** The per-layer profile of --dumpProfile. */
export interface BenchProfile {
  runs: number;
  /** Sum of the layers' mean times plus the unowned conversions, ms. */
  totalMs: number;
  reformatMs: number;
  layers: Array<{ name: string; op: string; meanMs: number; percent: number }>;
}

/** Mean per-layer times over `runs` profiled inferences. */
async function profileLayers(ctx: ExecutionContext, inputs: Record<string, Float32Array>,
  options: InferOptions, runs: number): Promise<BenchProfile> {
  let sums: number[] = [];
  let reformat = 0;
  let names: Array<{ name: string; op: string }> = [];
  for (let r = 0; r < runs; ++r) {
    await ctx.infer(inputs, { ...options, profile: true });
    const p = ctx.lastProfile;
    if (p === undefined) throw new Error('the backend returned no layer profile');
    if (r === 0) {
      names = p.layers.map((l) => ({ name: l.name, op: l.op }));
      sums = p.layers.map(() => 0);
    }
    p.layers.forEach((l, i) => { sums[i] += l.ms; });
    reformat += p.reformatMs;
  }
  const means = sums.map((v) => v / runs);
  const reformatMs = reformat / runs;
  const totalMs = means.reduce((a, b) => a + b, 0) + reformatMs;
  return {
    runs, totalMs, reformatMs,
    layers: names.map((n, i) => ({ ...n, meanMs: means[i], percent: totalMs > 0 ? (100 * means[i]) / totalMs : 0 })),
  };
}

/** trtexec-like per-layer table: time, share, then the total. */
export function formatProfile(p: BenchProfile): string {
  const width = Math.min(48, Math.max(5, ...p.layers.map((l) => l.name.length)));
  const row = (name: string, op: string, ms: number, pct: number): string =>
    `${name.padEnd(width)}  ${op.padEnd(18)}  ${ms.toFixed(4).padStart(10)}  ${pct.toFixed(1).padStart(5)}%`;
  const lines = [`=== Profile (mean of ${p.runs} runs) ===`, `${'Layer'.padEnd(width)}  ${'Op'.padEnd(18)}  ${'Time (ms)'.padStart(10)}  ${'Share'.padStart(6)}`];
  for (const l of p.layers) lines.push(row(l.name.length > width ? `${l.name.slice(0, width - 1)}~` : l.name, l.op, l.meanMs, l.percent));
  if (p.reformatMs > 0) lines.push(row('(input/output reformat)', '-', p.reformatMs, p.totalMs > 0 ? (100 * p.reformatMs) / p.totalMs : 0));
  lines.push(row('Total', '', p.totalMs, 100));
  return lines.join('\n');
}

/** Runs `bench`; resolves to the exit code. */
export async function runBench(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values, positionals } = parseCommand(BENCH, argv);
  if (values.help === true) {
    out(formatHelp(BENCH));
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`tensorrt-node bench: give one prototxt or plan, got ${positionals.length} file arguments`);
  const batch = batchOption(BENCH, values) ?? 1;
  const warmUp = intOption(BENCH, 'warmUp', values.warmUp as string | undefined, 0, 3600000) ?? 200;
  const duration = Number(values.duration ?? 3);
  if (!Number.isFinite(duration) || duration < 0 || duration > 86400) {
    throw new UsageError(`tensorrt-node bench: --duration is seconds in [0, 86400], got '${String(values.duration)}'`);
  }
  const iterations = intOption(BENCH, 'iterations', values.iterations as string | undefined, 1, 1e9) ?? 10;
  const profileRuns = intOption(BENCH, 'profileRuns', values.profileRuns as string | undefined, 1, 100000) ?? 10;
  const dumpProfile = values.dumpProfile === true;
  const { seed } = engineChoices(BENCH, values);
  const json = values.json === true;
  const { engine } = await obtainEngine(BENCH, positionals[0], values, batch, json ? () => undefined : err);
  if (batch > engine.maxBatchSize) {
    engine.dispose();
    throw new UsageError(`tensorrt-node bench: the plan runs at most ${engine.maxBatchSize} images per inference, not ${batch}`);
  }
  const ctx = engine.createContext();
  try {
    const inputs: Record<string, Float32Array> = {};
    engine.inputs.forEach((t, k) => { inputs[t.name] = uniformData(batch * t.dims.reduce((a, b) => a * b, 1), seed + k); });
    const outputs = Object.fromEntries(engine.outputs.map((t) => [t.name, new Float32Array(batch * t.dims.reduce((a, b) => a * b, 1))]));
    const options = { batchSize: batch, outputs };
    const warmStart = performance.now();
    do {
      await ctx.infer(inputs, options);
    } while (performance.now() - warmStart < warmUp);
    const latencies: number[] = [];
    const gpu: { h2d: number[]; compute: number[]; d2h: number[] } = { h2d: [], compute: [], d2h: [] };
    const start = performance.now();
    while (latencies.length < iterations || performance.now() - start < duration * 1000) {
      const t0 = performance.now();
      await ctx.infer(inputs, options);
      latencies.push(performance.now() - t0);
      const t = ctx.lastTiming;
      if (t !== undefined) {
        gpu.h2d.push(t.h2dMs);
        gpu.compute.push(t.computeMs);
        gpu.d2h.push(t.d2hMs);
      }
    }
    const wall = (performance.now() - start) / 1000;
    const profile = dumpProfile ? await profileLayers(ctx, inputs, options, profileRuns) : undefined;
    const gpus = devices().devices;
    const result = {
      network: positionals[0], backend: engine.backend, precision: engine.precision, batch,
      device: engine.backend === 'cpu' ? `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}` : gpus[0]?.name ?? 'unknown',
      iterations: latencies.length, walltimeSeconds: wall,
      throughput: { imagesPerSecond: (batch * latencies.length) / wall, inferencesPerSecond: latencies.length / wall },
      latencyMs: summary(latencies),
      transfersIncluded: true,
      // GPU backends: CUDA events around the copies in, the compute and the copies out of each inference.
      gpuMs: gpu.compute.length === 0 ? undefined : {
        compute: summary(gpu.compute), h2d: summary(gpu.h2d), d2h: summary(gpu.d2h),
      },
      gpuComputeImagesPerSecond: gpu.compute.length === 0 ? undefined : batch / (summary(gpu.compute).median / 1000),
      profile,
      note: engine.backend === 'cpu' ? cpuNote() : '',
    };
    if (json) {
      out(JSON.stringify(result, null, 2));
      return 0;
    }
    const l = result.latencyMs;
    out('=== Performance summary ===');
    out(`Network: ${result.network}; backend ${result.backend}, ${result.precision}, batch ${batch}, device ${result.device}`);
    out(`Throughput: ${human(result.throughput.imagesPerSecond)} images/s (${result.throughput.inferencesPerSecond.toFixed(2)} inferences/s)`);
    out(`Latency: min = ${l.min.toFixed(3)} ms, mean = ${l.mean.toFixed(3)} ms, median = ${l.median.toFixed(3)} ms, ` +
      `percentile(90%) = ${l.p90.toFixed(3)} ms, percentile(99%) = ${l.p99.toFixed(3)} ms, max = ${l.max.toFixed(3)} ms`);
    if (result.gpuMs !== undefined) {
      const g = result.gpuMs;
      out(`GPU Compute Time: min = ${g.compute.min.toFixed(3)} ms, mean = ${g.compute.mean.toFixed(3)} ms, median = ${g.compute.median.toFixed(3)} ms, ` +
        `percentile(90%) = ${g.compute.p90.toFixed(3)} ms, percentile(99%) = ${g.compute.p99.toFixed(3)} ms, max = ${g.compute.max.toFixed(3)} ms ` +
        `(${human(result.gpuComputeImagesPerSecond ?? 0)} images/s)`);
      out(`H2D Latency: median = ${g.h2d.median.toFixed(3)} ms; D2H Latency: median = ${g.d2h.median.toFixed(3)} ms`);
    }
    out(`Total host walltime: ${wall.toFixed(3)} s over ${latencies.length} inferences`);
    if (profile !== undefined) out(formatProfile(profile));
    if (result.note) out(`Note: ${result.note}`);
    out('Throughput is images per second over the timed window; latency is the wall time of one infer() call,');
    out('inputs and outputs included.');
  } finally {
    ctx.dispose();
    engine.dispose();
  }
  return 0;
}
