/**
 * `tensorrt-node bench`: a trtexec-style timer. Builds (or loads) an engine, warms up, then runs
 * timed inferences on one or more contexts until both --duration and --iterations are reached, and
 * prints trtexec's performance summary: throughput (images/s = batch x inferences/s), host latency,
 * enqueue time, and on GPU backends the H2D / GPU compute / D2H times from CUDA events, with
 * warnings when the numbers are unstable or bound by the host. --gpus runs one worker process per
 * GPU behind a start barrier (lib/bench/multi.ts); under mpirun each rank times its GPU.
 */
import { promises as fsp } from 'fs';
import { benchEngine, traceAverages, type InferenceTime, type TimingOptions } from '../bench/timing';
import { gpuList, mpiRank, rankDevice, runOnGpus, workerBarrier, type RankInfo } from '../bench/multi';
import type { BenchResult, TimeStats } from '../bench/result';
import { layerWork, parsePeaks, peaksFor, rooflineMs as rooflineMsOf, type GpuPeaks } from '../bench/roofline';
import type { Network } from '../network';
import type { Precision } from '../types';
import { randomInputData } from '../random_data';
import type { BenchOptions, ExecutionContext, HostArray } from '../runtime/engine';
import { TensorRTNodeError } from '../errors';
import { fromFloat16 } from '../float16';
import type { Engine } from '../runtime/engine';
import { count, human } from './format';
import { cpuNote, ENGINE_OPTIONS, engineChoices, obtainEngine } from './engine_source';
import { batchOption, DEPLOY, LOAD_ENGINE, modelFile, SAVE_ENGINE, SHAPES } from './model_options';
import { formatHelp, formatSettings, intOption, parseCommand, UsageError, type CommandSpec, type ParsedArgs } from './options';

/** The bench command's options (trtexec's names and meanings). */
export const BENCH: CommandSpec = {
  name: 'bench',
  summary: 'Time a network (prototxt or plan) like trtexec: throughput, latency, GPU compute time.',
  usage: 'tensorrt-node bench <deploy.prototxt|file.plan> [--batch N] [--precision p] [options]',
  options: [
    LOAD_ENGINE,
    DEPLOY,
    { name: 'batch', type: 'string', value: 'N', help: 'Images per inference', default: '1' },
    SHAPES,
    { name: 'warmUp', type: 'string', value: 'ms', help: 'Run this long before timing', default: '200' },
    { name: 'duration', type: 'string', value: 's', help: 'Time at least this long', default: '3' },
    { name: 'iterations', type: 'string', value: 'N', help: 'Time at least this many inferences', default: '10' },
    {
      name: 'avgRuns',
      type: 'string',
      value: 'N',
      help: 'With --verbose, print the trace as averages of N consecutive inferences ("Average on N runs" lines)',
      default: '10',
    },
    { name: 'percentile', type: 'string', value: 'P,P,...', help: 'Latency percentiles to report', default: '90,95,99' },
    { name: 'noDataTransfers', type: 'boolean', help: 'Leave inputs and outputs on the device (no H2D / D2H copies)' },
    { name: 'useCudaGraph', type: 'boolean', help: 'GPU: replay each batch size as a CUDA graph (on unless --noCudaGraph)' },
    { name: 'noCudaGraph', type: 'boolean', help: 'GPU: launch the kernels one by one' },
    { name: 'streams', type: 'string', value: 'N', help: 'Execution contexts (streams) running at once', default: '1' },
    {
      name: 'inflight',
      type: 'string',
      value: 'N',
      help: "Inferences queued per stream (1..8): 1 runs one infer() at a time as a Node caller does; 2+ queues the next while one runs, as trtexec's timing loop does",
      default: '1',
    },
    {
      name: 'exportTimes',
      type: 'string',
      value: 'file.json',
      help: 'Write every timed inference (start, end, latency, enqueue, GPU times)',
    },
    { name: 'dumpProfile', type: 'boolean', help: 'After timing, profile every layer (mean of --profileRuns runs) and print the table' },
    { name: 'profileRuns', type: 'string', value: 'N', help: 'Profiled inferences averaged by --dumpProfile', default: '10' },
    {
      name: 'roofline',
      type: 'boolean',
      help: "With --dumpProfile / --exportProfile: each layer's least possible time on this GPU (its MACs and bytes against the GPU's peaks) and the share of it the layer reaches",
    },
    {
      name: 'peaks',
      type: 'string',
      value: 'TOPS,GB/s',
      help: "--roofline's peaks for a GPU the built-in table lacks: dense tera-operations per second at the engine's precision, and memory GB/s",
    },
    {
      name: 'exportProfile',
      type: 'string',
      value: 'file.json',
      help: 'Profile every layer as --dumpProfile does and write the table as JSON',
    },
    {
      name: 'separateProfileRun',
      type: 'boolean',
      help: 'Accepted for trtexec: profiles always run on their own, after the timed window (never inside it)',
    },
    {
      name: 'exportOutput',
      type: 'string',
      value: 'file.json',
      help: 'After timing, run one more inference on the same inputs and write its outputs as JSON',
    },
    SAVE_ENGINE,
    {
      name: 'output',
      type: 'string',
      multiple: true,
      value: 'blob',
      help: "giexec's output blob (repeatable): checked to be an output of the network, which always runs whole",
    },
    { name: 'gpus', type: 'string', value: 'all|0,1,..', help: 'One worker process per GPU, timed over the same window; images/s summed' },
    { name: 'resultFile', type: 'string', value: 'file.json', help: 'Also write the result JSON here (%r: the MPI rank; for mpirun)' },
    { name: 'barrierDir', type: 'string', value: 'dir', help: 'mpirun: a directory all ranks share, for a start barrier' },
    { name: 'json', type: 'boolean', help: 'Print the result as JSON (lib/bench/result.ts: BenchResult)' },
    ...ENGINE_OPTIONS,
  ],
  notes: [
    '=== Explanations of the performance metrics ===\n' +
      'Throughput: images per second (batch x inferences per second) over the timed window; with\n' +
      '  --gpus, the sum over the GPUs, each timed over the same window after a start barrier.\n' +
      'Latency: host wall time of one inference call, from the call to its result: queueing, the\n' +
      '  copies in and out (unless --noDataTransfers) and the compute. Min / max / mean / median /\n' +
      '  percentiles of every metric are over every timed inference, as trtexec computes them; only\n' +
      '  the trace lines of --verbose average --avgRuns consecutive inferences. With --inflight 2 or\n' +
      '  more (GPU): H2D + GPU compute + D2H of each inference, as trtexec defines it (the time it\n' +
      '  waits in the queue is not latency); throughput then has no host gap between inferences.\n' +
      'Enqueue Time: host time to submit one inference (GPU: staging the inputs in pinned memory and\n' +
      "  enqueueing the copies and kernels, before waiting; cpu: the call's hand-over). If it\n" +
      '  reaches the GPU compute time, the host limits throughput.\n' +
      'H2D Latency / D2H Latency: GPU time of the input / output copies (CUDA events).\n' +
      'GPU Compute Time: GPU time of the kernels of one inference (CUDA events), as trtexec reports\n' +
      "  it; images/s from its median is the GPU's rate without copies.\n" +
      'Warnings: coefficient of variation above 2.5%, enqueue-bound or host-bound runs, too few\n' +
      '  inferences. Inputs are random, uniform in [-1, 1).',
    '--dumpProfile: each layer timed on its own (cuda: CUDA events between layers, no CUDA graph;\n' +
      'cpu: host wall time), averaged over --profileRuns inferences after the timed window, with its\n' +
      'share of the total. Layers the builder fused into another (a ReLU into its convolution, an\n' +
      'elided Concat) show 0; layers the cuda engine runs inside another (an LRN and its pooling, a\n' +
      "pooling in a convolution's loader, sibling convolutions merged into one GEMM) show about 0 and\n" +
      '"(runs inside <layer>)". Profiled runs are not part of the throughput and latency figures.',
    '--gpus all | 0,1,...: one worker process per GPU (CUDA_VISIBLE_DEVICES=<gpu>), each building\n' +
      'its engine (a shared --timingCache lets later runs skip tactic timing), warming up, then\n' +
      'waiting at a barrier so all GPUs time the same window. Under mpirun (OMPI_COMM_WORLD_* / PMI_*\n' +
      'variables) each rank times the GPU of its local rank, waits at a file barrier in --barrierDir\n' +
      '(a subfolder per MPI job), writes --resultFile, and `tensorrt-node report merge` sums them.',
    'For trtexec and giexec users: --fp16 / --int8 / --best set --precision (--fp16 --int8 together is\n' +
      'int8: layers with no INT8 form run in fp32 here, not fp16); --shapes=data:128x3x224x224 sets the batch\n' +
      "and must otherwise match the network's input; --loadEngine / --deploy name the model file; --output\n" +
      'names an output blob, and results go to stdout, --json, --resultFile or the --export* files. ONNX is not\n' +
      'read yet (--onnx says so). The settings are printed to stderr before the run (not with --json).',
  ],
  settings: [
    { title: 'Model', options: ['weights', 'seed', 'inputFormat'] },
    {
      title: 'Build',
      options: [
        'precision',
        'backend',
        'device',
        'calib',
        'noOptimize',
        'timingCache',
        'tuneBatch',
        'maxAuxStreams',
        'inputIOFormats',
        'outputIOFormats',
        'saveEngine',
      ],
    },
    { title: 'Inference', options: ['batch', 'shapes', 'streams', 'inflight', 'noDataTransfers', 'noCudaGraph'] },
    { title: 'Timing', options: ['warmUp', 'duration', 'iterations', 'percentile', 'avgRuns'] },
    {
      title: 'Reporting',
      options: [
        'verbose',
        'dumpProfile',
        'profileRuns',
        'roofline',
        'peaks',
        'exportTimes',
        'exportProfile',
        'exportOutput',
        'resultFile',
        'gpus',
      ],
    },
  ],
  examples: [
    'tensorrt-node bench models/googlenet.prototxt --batch 1',
    'tensorrt-node bench models/alexnet.prototxt --batch 128 --precision int8 --json',
    'tensorrt-node bench models/alexnet.prototxt --batch 128 --precision fp16 --noDataTransfers --dumpProfile',
    'tensorrt-node bench models/googlenet.prototxt --batch 128 --gpus all --timingCache tc.json',
    'tensorrt-node bench --deploy=models/alexnet.prototxt --output=prob --batch=128 --int8   (giexec spellings)',
    'tensorrt-node bench models/alexnet.prototxt --shapes=data:128x3x227x227 --best --saveEngine=alexnet.plan',
    'tensorrt-node bench --loadEngine=alexnet.plan --batch 128 --exportProfile=profile.json',
    'mpirun -np 4 npx tensorrt-node bench models/googlenet.prototxt --batch 128 --resultFile r%r.json',
  ],
};

/** The per-layer profile of --dumpProfile. */
export interface BenchProfile {
  runs: number;
  /** Sum of the layers' mean times plus the unowned conversions, ms. */
  totalMs: number;
  reformatMs: number;
  /**
   * Per layer; with --roofline also its least possible time (rooflineMs) and the share of it the
   * measured time reaches (ofRoofline = rooflineMs / meanMs), where the network names the layer.
   */
  layers: Array<{
    name: string;
    op: string;
    meanMs: number;
    percent: number;
    /** The layer the engine runs this one inside (cuda's LRN / pooling pairs): its time is there. */
    fusedInto?: string;
    /** A sibling convolution the engine runs in this layer's GEMM (cuda: details tactic "merged into '<layer>'"). */
    mergedInto?: string;
    rooflineMs?: number;
    ofRoofline?: number;
  }>;
  /** With --roofline: the peaks used, and the sum of the layers' roofline times. */
  roofline?: { source: string; tops: number; gbps: number; totalMs: number };
}

/** Adds --roofline's columns: each layer's least time from `net` at the batch against the GPU's peaks. */
export function addRoofline(p: BenchProfile, net: Network, batch: number, precision: Precision, peaks: GpuPeaks): BenchProfile {
  const fused = new Map(p.layers.flatMap((l) => (l.fusedInto !== undefined ? [[l.name, l.fusedInto] as const] : [])));
  const merged = new Map(p.layers.flatMap((l) => (l.mergedInto !== undefined ? [[l.name, l.mergedInto] as const] : [])));
  const work = layerWork(net, batch, precision, fused, merged);
  let totalMs = 0;
  const layers = p.layers.map((l) => {
    const w = work.get(l.name);
    if (w === undefined) return l;
    const rooflineMs = rooflineMsOf(w, peaks, precision);
    totalMs += rooflineMs;
    return { ...l, rooflineMs, ofRoofline: l.meanMs > 0 ? rooflineMs / l.meanMs : 0 };
  });
  return { ...p, layers, roofline: { source: peaks.source, tops: peaks.tops[precision], gbps: peaks.gbps, totalMs } };
}

/** Mean per-layer times over `runs` profiled inferences. */
async function profileLayers(
  ctx: ExecutionContext,
  inputs: Record<string, HostArray>,
  options: BenchOptions,
  runs: number,
): Promise<BenchProfile> {
  let sums: number[] = [];
  let reformat = 0;
  let names: Array<{ name: string; op: string }> = [];
  for (let r = 0; r < runs; ++r) {
    await ctx.benchInfer(inputs, { ...options, profile: true });
    const p = ctx.lastProfile;
    if (p === undefined) {
      throw new TensorRTNodeError('E_BACKEND_UNAVAILABLE', `--dumpProfile: the ${ctx.engine.backend} backend has no per-layer profile`);
    }
    if (r === 0) {
      names = p.layers.map((l) => ({ name: l.name, op: l.op }));
      sums = p.layers.map(() => 0);
    }
    p.layers.forEach((l, i) => {
      sums[i] += l.ms;
    });
    reformat += p.reformatMs;
  }
  const means = sums.map((v) => v / runs);
  const reformatMs = reformat / runs;
  const totalMs = means.reduce((a, b) => a + b, 0) + reformatMs;
  // Layers the engine runs inside another (details: tactic "fused into '<layer>'" or "merged into '<layer>'").
  const fusedInto = new Map<string, string>();
  const mergedInto = new Map<string, string>();
  for (const l of ctx.engine.details().layers ?? []) {
    const m = /^(fused|merged) into '(.*)'$/.exec(l.tactic ?? '');
    if (m !== null) (m[1] === 'fused' ? fusedInto : mergedInto).set(l.name, m[2]);
  }
  return {
    runs,
    totalMs,
    reformatMs,
    layers: names.map((n, i) => ({
      ...n,
      meanMs: means[i],
      percent: totalMs > 0 ? (100 * means[i]) / totalMs : 0,
      ...(fusedInto.has(n.name) ? { fusedInto: fusedInto.get(n.name) } : {}),
      ...(mergedInto.has(n.name) ? { mergedInto: mergedInto.get(n.name) } : {}),
    })),
  };
}

/** trtexec-like per-layer table: time, share, then the total; with --roofline two more columns. */
export function formatProfile(p: BenchProfile): string {
  const width = Math.min(48, Math.max(5, ...p.layers.map((l) => l.name.length)));
  const roof = p.roofline !== undefined;
  const extra = (rooflineMs?: number, of?: number): string =>
    !roof
      ? ''
      : rooflineMs === undefined
        ? `  ${'-'.padStart(13)}  ${'-'.padStart(11)}`
        : `  ${rooflineMs.toFixed(4).padStart(13)}  ${`${(100 * (of ?? 0)).toFixed(1)}%`.padStart(11)}`;
  const row = (name: string, op: string, ms: number, pct: number, rooflineMs?: number, of?: number, fusedInto?: string): string =>
    `${name.padEnd(width)}  ${op.padEnd(18)}  ${ms.toFixed(4).padStart(10)}  ${pct.toFixed(1).padStart(5)}%${extra(rooflineMs, of)}` +
    (fusedInto !== undefined ? `  (runs inside ${fusedInto})` : '');
  const lines = [
    `=== Profile (mean of ${p.runs} runs) ===`,
    `${'Layer'.padEnd(width)}  ${'Op'.padEnd(18)}  ${'Time (ms)'.padStart(10)}  ${'Share'.padStart(6)}` +
      (roof ? `  ${'Roofline (ms)'.padStart(13)}  ${'Of roofline'.padStart(11)}` : ''),
  ];
  for (const l of p.layers) {
    lines.push(
      row(
        l.name.length > width ? `${l.name.slice(0, width - 1)}~` : l.name,
        l.op,
        l.meanMs,
        l.percent,
        l.rooflineMs,
        l.ofRoofline,
        l.fusedInto ?? l.mergedInto,
      ),
    );
  }
  if (p.reformatMs > 0) lines.push(row('(input/output reformat)', '-', p.reformatMs, p.totalMs > 0 ? (100 * p.reformatMs) / p.totalMs : 0));
  const r = p.roofline;
  lines.push(row('Total', '', p.totalMs, 100, r?.totalMs, r !== undefined && p.totalMs > 0 ? r.totalMs / p.totalMs : undefined));
  if (r !== undefined) {
    lines.push(
      `Roofline: max(2 x MACs / ${r.tops} TOPS, bytes / ${r.gbps} GB/s) per layer (${r.source}); bytes: inputs, outputs and weights ` +
        "once each at the precision's element size (an unfused engine). Layers the network does not name (fused away) have none; " +
        'a layer that runs inside the one before it has none, and that one covers both without the tensor between them; ' +
        'sibling convolutions run as one GEMM count in the layer that runs them, their shared input read once.',
    );
  }
  return lines.join('\n');
}

/** Reads the timing options; UsageErrors for bad values. */
export function timingOptions(values: ParsedArgs['values'], batch: number, seed: number): TimingOptions {
  const warmUpMs = intOption(BENCH, 'warmUp', values.warmUp as string | undefined, 0, 3600000) ?? 200;
  const durationS = Number(values.duration ?? 3);
  if (!Number.isFinite(durationS) || durationS < 0 || durationS > 86400) {
    throw new UsageError(`tensorrt-node bench: --duration is seconds in [0, 86400], got '${String(values.duration)}'`);
  }
  const iterations = intOption(BENCH, 'iterations', values.iterations as string | undefined, 1, 1e9) ?? 10;
  const avgRuns = intOption(BENCH, 'avgRuns', values.avgRuns as string | undefined, 1, 1e6) ?? 10;
  const streams = intOption(BENCH, 'streams', values.streams as string | undefined, 1, 64) ?? 1;
  const inflight = intOption(BENCH, 'inflight', values.inflight as string | undefined, 1, 8) ?? 1;
  const raw = (values.percentile as string | undefined) ?? '90,95,99';
  const percentiles = raw.split(',').map((p) => Number(p.trim()));
  if (percentiles.length === 0 || percentiles.some((p) => !Number.isFinite(p) || p <= 0 || p > 100)) {
    throw new UsageError(`tensorrt-node bench: --percentile is a list of numbers in (0, 100], got '${raw}'`);
  }
  if (values.useCudaGraph === true && values.noCudaGraph === true) {
    throw new UsageError('tensorrt-node bench: --useCudaGraph and --noCudaGraph contradict each other');
  }
  return {
    batch,
    seed,
    warmUpMs,
    durationS,
    iterations,
    avgRuns,
    percentiles,
    streams,
    dataTransfers: values.noDataTransfers !== true,
    useCudaGraph: values.noCudaGraph !== true,
    ...(inflight > 1 ? { inflight } : {}),
  };
}

function statsLine(label: string, t: TimeStats): string {
  const pct = Object.entries(t.percentiles)
    .map(([p, v]) => `percentile(${p}%) = ${v.toFixed(3)} ms`)
    .join(', ');
  return (
    `${label}: min = ${t.min.toFixed(3)} ms, max = ${t.max.toFixed(3)} ms, mean = ${t.mean.toFixed(3)} ms, ` +
    `median = ${t.median.toFixed(3)} ms${pct ? `, ${pct}` : ''}`
  );
}

/** --verbose: trtexec's trace details, the means of `avgRuns` consecutive inferences, before the summary. */
export function formatTrace(times: readonly InferenceTime[], avgRuns: number, walltimeSeconds: number): string {
  return [
    `Timing trace has ${count(times.length, 'inference')} over ${walltimeSeconds.toFixed(3)} s`,
    '=== Trace details ===',
    `Trace averages of ${avgRuns} runs:`,
    ...traceAverages(times, avgRuns),
  ].join('\n');
}

/** trtexec's performance summary of one result (or of several GPUs' results summed). */
export function formatSummary(results: readonly BenchResult[], note: string): string {
  const r = results[0];
  const lines = ['=== Performance summary ==='];
  const device = results.length === 1 ? r.device.name : `${results.length} x ${r.device.name}`;
  lines.push(`Network: ${r.network}; backend ${r.backend}, ${r.precision}, batch ${r.batch}, device ${device}`);
  const ips = results.reduce((a, x) => a + x.throughput.imagesPerSecond, 0);
  const qps = results.reduce((a, x) => a + x.throughput.inferencesPerSecond, 0);
  lines.push(`Throughput: ${human(ips)} images/s (${qps.toFixed(2)} inferences/s)`);
  for (const x of results) {
    const who = results.length > 1 ? `[GPU ${x.device.visibleDevice ?? x.rank?.rank ?? '?'}] ` : '';
    if (results.length > 1) lines.push(`${who}Throughput: ${human(x.throughput.imagesPerSecond)} images/s`);
    lines.push(`${who}${statsLine('Latency', x.latencyMs)}`);
    lines.push(`${who}${statsLine('Enqueue Time', x.enqueueMs)}`);
    if (x.h2dMs) lines.push(`${who}${statsLine('H2D Latency', x.h2dMs)}`);
    if (x.gpuComputeMs) {
      lines.push(`${who}${statsLine('GPU Compute Time', x.gpuComputeMs)} (${human(x.gpuComputeImagesPerSecond ?? 0)} images/s)`);
    }
    if (x.d2hMs) lines.push(`${who}${statsLine('D2H Latency', x.d2hMs)}`);
    lines.push(`${who}Total host walltime: ${x.walltimeSeconds.toFixed(3)} s over ${count(x.iterations, 'inference')}`);
    if (x.gpuComputeMs) lines.push(`${who}Total GPU compute time: ${((x.gpuComputeMs.mean * x.iterations) / 1000).toFixed(3)} s`);
    for (const w of x.warnings) lines.push(`${who}Warning: ${w}`);
  }
  if (!r.settings.dataTransfers) lines.push('Data transfers: off (--noDataTransfers): inputs and outputs stayed on the device.');
  if (note) lines.push(`Note: ${note}`);
  lines.push(
    'Throughput is images per second over the timed window; latency is the wall time of one infer() call' +
      (r.settings.dataTransfers ? ', inputs and outputs included.' : '.') +
      ' `tensorrt-node bench --help` explains every metric.',
  );
  return lines.join('\n');
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await fsp.writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** Options that time one GPU in this process: refused with --gpus, whose workers would each act on them. */
const ONE_GPU_ONLY = ['exportTimes', 'dumpProfile', 'device', 'exportProfile', 'exportOutput', 'saveEngine'];

/** --gpus: one worker process per GPU; prints the summed summary. */
async function benchOnGpus(
  argv: readonly string[],
  values: ParsedArgs['values'],
  json: boolean,
  out: (s: string) => void,
  log: (s: string) => void,
) {
  const given = ONE_GPU_ONLY.filter((o) => values[o] !== undefined);
  if (given.length > 0) {
    throw new UsageError(`tensorrt-node bench: --gpus runs workers; ${given.map((o) => `--${o}`).join(', ')} go with one GPU`);
  }
  if (values.resultFile !== undefined && !(values.resultFile as string).includes('%r')) {
    throw new UsageError('tensorrt-node bench: with --gpus, --resultFile needs %r (each worker writes its own file)');
  }
  const gpus = gpuList(values.gpus as string);
  const results = await runOnGpus(argv, gpus, log);
  if (json)
    out(JSON.stringify({ gpus, imagesPerSecond: results.reduce((a, r) => a + r.throughput.imagesPerSecond, 0), perGpu: results }, null, 2));
  else out(formatSummary(results, results[0].backend === 'cpu' ? cpuNote() : ''));
}

/** giexec's --output: each name must be an output of the network (it always runs to all of them). */
function giexecOutputs(values: ParsedArgs['values']): (names: readonly string[]) => Promise<void> {
  return async (names) => {
    for (const blob of (values.output as string[] | undefined) ?? []) {
      if (!names.includes(blob)) {
        throw new UsageError(
          `tensorrt-node bench: --output ${blob}: the network's outputs are ${names.join(', ')}; ` +
            'tensorrt-node runs the whole network and cannot make an inner blob an output',
        );
      }
    }
  };
}

/** What the run echoes first: the settings, with the model file and where it came from. */
function settingsEcho(parsed: ParsedArgs, file: string, batch: number): string {
  const from = parsed.values.loadEngine !== undefined ? ' (--loadEngine)' : parsed.values.deploy !== undefined ? ' (--deploy)' : '';
  const batchFrom = parsed.values.shapes !== undefined ? `${batch} (from --shapes)` : String(batch);
  const model: Record<string, string> = { file: `${file}${from}` };
  if (parsed.values.output !== undefined) model.outputs = (parsed.values.output as string[]).join(', ');
  return formatSettings(BENCH, parsed, {
    Model: model,
    Inference: { batch: parsed.values.batch === undefined && parsed.values.shapes === undefined ? `${batch} (default)` : batchFrom },
  });
}

/** Runs `bench`; resolves to the exit code. */
export async function runBench(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const parsed = parseCommand(BENCH, argv);
  const { values } = parsed;
  if (values.help === true) {
    out(formatHelp(BENCH));
    return 0;
  }
  const model = modelFile(BENCH, values, parsed.positionals);
  const batch = batchOption(BENCH, values) ?? 1;
  const { seed } = engineChoices(BENCH, values);
  const timing = timingOptions(values, batch, seed);
  const profileRuns = intOption(BENCH, 'profileRuns', values.profileRuns as string | undefined, 1, 100000) ?? 10;
  checkRooflineOptions(values);
  const json = values.json === true;
  const log = json ? () => undefined : err;
  const mpi = mpiRank();
  const worker = workerBarrier();
  if (worker === undefined && (mpi?.rank.rank ?? 0) === 0) log(settingsEcho(parsed, model.file, batch));
  if (values.gpus !== undefined) {
    await benchOnGpus(argv, values, json, out, log);
    return 0;
  }
  // A --gpus worker or an MPI rank: time behind a barrier, report the rank.
  const rank: RankInfo | undefined = worker?.rank ?? mpi?.rank;
  const deviceIndex =
    intOption(BENCH, 'device', values.device as string | undefined, 0, 1024) ??
    (mpi === undefined ? 0 : rankDevice(mpi.rank.localRank, process.env.CUDA_VISIBLE_DEVICES));
  const engineValues = values.device === undefined && deviceIndex !== 0 ? { ...values, device: String(deviceIndex) } : values;
  const { engine, net } = await obtainEngine(BENCH, model.file, engineValues, batch, log, {
    printsCpuNote: true,
    checkOutputs: giexecOutputs(values),
    ...(model.expect !== undefined ? { expect: model.expect } : {}),
  });
  if (batch > engine.maxBatchSize) {
    engine.dispose();
    throw new UsageError(`tensorrt-node bench: the plan runs at most ${count(engine.maxBatchSize, 'image')} per inference, not ${batch}`);
  }
  try {
    const barrier =
      worker?.wait ??
      (mpi !== undefined && values.barrierDir !== undefined ? () => mpi.fileBarrier(values.barrierDir as string) : undefined);
    const { result, times } = await benchEngine(
      engine,
      { file: model.file, name: net?.name ?? engine.name },
      { ...timing, ...(barrier ? { beforeTiming: barrier } : {}) },
      { deviceIndex, ...(rank ? { rank } : {}) },
    );
    await afterTiming(engine, net, result, times, values, timing, profileRuns);
    if (mpi !== undefined && values.barrierDir === undefined)
      result.warnings.push('mpirun without --barrierDir: the ranks did not start timing together');
    if (values.resultFile !== undefined) {
      await writeJson((values.resultFile as string).replace(/%r/g, String(rank?.rank ?? 0)), result);
    }
    if (worker) {
      worker.send(result);
      return 0;
    }
    printResult(result, times, values, timing, json, out);
  } finally {
    engine.dispose();
  }
  return 0;
}

/** After the timed window: the profile, the cpu note and the --export* files. */
async function afterTiming(
  engine: Engine,
  net: Network | undefined,
  result: BenchResult,
  times: readonly InferenceTime[],
  values: ParsedArgs['values'],
  timing: TimingOptions,
  profileRuns: number,
): Promise<void> {
  if (values.dumpProfile === true || values.exportProfile !== undefined) {
    const profile = await profileOf(engine, timing, profileRuns);
    result.profile = values.roofline === true ? withRoofline(profile, net, engine, result, values) : profile;
  }
  if (engine.backend === 'cpu') result.note = cpuNote();
  if (values.exportTimes !== undefined) await writeJson(values.exportTimes as string, exportDoc(result, times));
  if (values.exportProfile !== undefined) await writeJson(values.exportProfile as string, profileDoc(result));
  if (values.exportOutput !== undefined) await writeJson(values.exportOutput as string, await outputDoc(engine, result, timing));
}

/** --roofline and --peaks, checked before anything is built: each needs the other's company. */
function checkRooflineOptions(values: ParsedArgs['values']): void {
  if (values.roofline === true && values.dumpProfile !== true && values.exportProfile === undefined) {
    throw new UsageError(
      'tensorrt-node bench: --roofline adds columns to the per-layer profile: give --dumpProfile or --exportProfile too',
    );
  }
  if (values.peaks !== undefined && values.roofline !== true) {
    throw new UsageError('tensorrt-node bench: --peaks gives --roofline its GPU peaks: give --roofline too');
  }
  if (values.peaks !== undefined && parsePeaks(values.peaks as string, 'fp32') === undefined) {
    throw new UsageError(
      `tensorrt-node bench: --peaks is '<TOPS>,<GB/s>' (two positive numbers, e.g. 989,3350), got '${String(values.peaks)}'`,
    );
  }
}

/** --roofline: the profile with its roofline columns, or a warning on the result saying why none. */
function withRoofline(
  p: BenchProfile,
  net: Network | undefined,
  engine: Engine,
  result: BenchResult,
  values: ParsedArgs['values'],
): BenchProfile {
  const name = result.device.name;
  const peaks = values.peaks !== undefined ? parsePeaks(values.peaks as string, engine.precision) : peaksFor(name);
  if (net === undefined) {
    result.warnings.push('--roofline: a plan holds no network to count MACs and bytes in: bench the prototxt for the roofline');
    return p;
  }
  if (peaks === undefined) {
    result.warnings.push(`--roofline: no peaks known for '${name}': give them with --peaks <TOPS>,<GB/s> (the data sheet's dense figures)`);
    return p;
  }
  return addRoofline(p, net, result.batch, engine.precision, peaks);
}

/** The text (or JSON) of one result on stdout. */
function printResult(
  result: BenchResult,
  times: readonly InferenceTime[],
  values: ParsedArgs['values'],
  timing: TimingOptions,
  json: boolean,
  out: (s: string) => void,
): void {
  if (json) {
    out(JSON.stringify(result, null, 2));
    return;
  }
  if (values.verbose === true) out(formatTrace(times, timing.avgRuns, result.walltimeSeconds));
  out(formatSummary([result], result.backend === 'cpu' ? cpuNote() : ''));
  if (result.profile !== undefined && values.dumpProfile === true) out(formatProfile(result.profile as BenchProfile));
}

/** The --exportTimes document: the settings and every timed inference. */
function exportDoc(result: BenchResult, times: readonly InferenceTime[]): unknown {
  const { network, backend, precision, batch, device, settings, date } = result;
  return { kind: 'tensorrt-node-times', version: 1, network, backend, precision, batch, device, settings, date, times };
}

/** The --exportProfile document: what ran, then the per-layer means of --dumpProfile. */
function profileDoc(result: BenchResult): unknown {
  const { network, backend, precision, batch, device, date } = result;
  return {
    kind: 'tensorrt-node-profile',
    version: 1,
    network,
    backend,
    precision,
    batch,
    device,
    date,
    ...(result.profile as BenchProfile),
  };
}

/** Random inputs of a batch, as the timed runs had them (the same seeds). */
function benchInputs(engine: Engine, o: TimingOptions): Record<string, HostArray> {
  const inputs: Record<string, HostArray> = {};
  engine.inputs.forEach((t, k) => {
    inputs[t.name] = randomInputData(t.dtype, o.batch * t.dims.reduce((a, b) => a * b, 1), o.seed + k);
  });
  return inputs;
}

/** The --exportOutput document: one inference on the bench's inputs, every output with its dimensions and values. */
async function outputDoc(engine: Engine, result: BenchResult, o: TimingOptions): Promise<unknown> {
  const ctx = engine.createContext();
  try {
    const outputs = await ctx.infer(benchInputs(engine, o), { batchSize: o.batch });
    const { network, backend, precision, batch, date } = result;
    return {
      kind: 'tensorrt-node-output',
      version: 1,
      network,
      backend,
      precision,
      batch,
      seed: o.seed,
      date,
      inputs: 'random, uniform in [-1, 1) (random bytes for uint8), seeded by --seed',
      outputs: engine.outputs.map((t) => {
        const v = outputs[t.name];
        return {
          name: t.name,
          dims: [o.batch, ...t.dims],
          values: Array.from(v instanceof Uint16Array ? fromFloat16(v) : (v as Float32Array)),
        };
      }),
    };
  } finally {
    ctx.dispose();
  }
}

/** --dumpProfile after the timed window, on a context of its own. */
async function profileOf(engine: Engine, o: TimingOptions, runs: number): Promise<BenchProfile> {
  const ctx = engine.createContext();
  try {
    return await profileLayers(ctx, benchInputs(engine, o), { batchSize: o.batch, transfers: o.dataTransfers }, runs);
  } finally {
    ctx.dispose();
  }
}
