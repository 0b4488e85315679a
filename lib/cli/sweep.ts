/**
 * `tensorrt-node sweep`: networks x precisions x batch sizes x GPU counts in one command, each
 * point timed like `bench` (lib/bench/timing.ts; several GPUs through bench's --gpus workers),
 * written as one SweepDoc (lib/bench/result.ts) for `tensorrt-node report`. A point that runs out
 * of memory is recorded as 'oom' and the sweep goes on; larger batches of that network and
 * precision are then recorded as 'oom' without running. `--preset dell2017` redoes the 2017 Dell
 * study (AlexNet and GoogLeNet, batch 1..4096, FP32 / TF32 / FP16 / INT8, 1..N GPUs at batch 128).
 */
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { resolveBackend, type BackendChoice } from '../backends';
import { Builder } from '../builder/builder';
import type { Precision } from '../builder/exec_graph';
import { runOnGpus } from '../bench/multi';
import type { BenchResult, BenchSettings, SweepDoc, SweepPoint } from '../bench/result';
import { benchEngine, packageVersion } from '../bench/timing';
import { devices } from '../device';
import { TensorRTNodeError } from '../errors';
import { Network } from '../network';
import type { Engine } from '../runtime/engine';
import { count, human } from './format';
import { timingOptions } from './bench';
import { DEFAULT_TUNE_BATCH, engineChoices } from './engine_source';
import { formatHelp, intOption, parseCommand, UsageError, type CommandSpec, type ParsedArgs } from './options';
import { formatDuration, SweepClock, type PlannedPoint } from './sweep_time';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const POWERS = Array.from({ length: 13 }, (_, i) => 2 ** i); // 1 .. 4096
/** The largest maxBatchSize a Builder takes. */
const MAX_BATCH = 1 << 20;

/** Presets: what a study ran. */
export const PRESETS: Record<
  string,
  {
    networks: string[];
    precisions: Precision[];
    batches: number[];
    scalingBatch: number;
    about: string;
    /** giexec timed execute() on device buffers: no copies, unless --dataTransfers. */
    dataTransfers: boolean;
    /** Keep doubling the batch past the list up to this, until one runs out of memory. */
    findMaxBatch?: number;
  }
> = {
  dell2017: {
    networks: ['alexnet', 'googlenet'],
    precisions: ['fp32', 'tf32', 'fp16', 'int8'],
    batches: POWERS,
    scalingBatch: 128,
    dataTransfers: false,
    findMaxBatch: 1 << 20,
    about:
      "Dell's 2017 TensorRT study: AlexNet and GoogLeNet, batch 1..4096, 1..N GPUs at batch 128, " +
      'timed like giexec (no copies), then the batch doubled until it runs out of memory',
  },
};

export const SWEEP: CommandSpec = {
  name: 'sweep',
  summary: 'Time networks x precisions x batch sizes x GPU counts; write one JSON for `report`.',
  usage: 'tensorrt-node sweep [--preset dell2017] [--networks a,b] [--precisions p,q] [--batches 1..4096] [--gpus 1,2] [options]',
  options: [
    {
      name: 'preset',
      type: 'string',
      value: 'name',
      help: `A study's settings (${Object.keys(PRESETS).join(', ')}); other options override them`,
    },
    {
      name: 'networks',
      type: 'string',
      value: 'a,b',
      help: 'Model names under models/ (alexnet) or prototxt paths',
      default: 'alexnet,googlenet',
    },
    { name: 'precisions', type: 'string', value: 'p,q', help: 'fp32, tf32, fp16, int8', default: 'fp32,int8' },
    { name: 'batches', type: 'string', value: 'list', help: 'Batch sizes: 1,8,128 or a power-of-two range 1..4096', default: '1..4096' },
    {
      name: 'gpus',
      type: 'string',
      value: 'counts',
      help: "GPU counts: 1,2,4 or 'all' (1 up to every visible GPU, doubling)",
      default: '1',
    },
    { name: 'scalingBatch', type: 'string', value: 'N', help: 'Batch size of the points with more than one GPU (every batch when absent)' },
    { name: 'backend', type: 'string', value: 'auto|cpu|cuda', help: 'Backend of every point', default: 'auto' },
    {
      name: 'findMaxBatch',
      type: 'string',
      value: 'N',
      help: 'After the batches, keep doubling the batch (1 GPU, no copies, 3 inferences) up to N until one runs out of GPU memory (dell2017: 1048576; 0: off)',
    },
    { name: 'noDataTransfers', type: 'boolean', help: 'Leave inputs and outputs on the device, as giexec did (the dell2017 preset does)' },
    { name: 'dataTransfers', type: 'boolean', help: 'Copy inputs in and outputs out of every inference (the default without a preset)' },
    { name: 'noCudaGraph', type: 'boolean', help: 'GPU: launch the kernels one by one instead of replaying a CUDA graph' },
    {
      name: 'inflight',
      type: 'string',
      value: 'N',
      help: 'Inferences queued per GPU (bench --inflight): 2 times like trtexec, with no host gap between inferences',
      default: '1',
    },
    { name: 'duration', type: 'string', value: 's', help: 'Timed seconds per point', default: '2' },
    { name: 'warmUp', type: 'string', value: 'ms', help: 'Warm-up per point', default: '200' },
    { name: 'iterations', type: 'string', value: 'N', help: 'At least this many inferences per point', default: '10' },
    {
      name: 'timingCache',
      type: 'string',
      value: 'file.json',
      help: 'cuda: tactic timing cache shared by every build (default: a temporary file)',
    },
    { name: 'output', type: 'string', short: 'o', value: 'file.json', help: 'Where to write the sweep', default: 'sweep-<date>.json' },
    { name: 'seed', type: 'string', value: 'N', help: 'Seed of the random weights and inputs', default: '1' },
  ],
  notes: [
    'Each point is a bench run (see `tensorrt-node bench --help` for the metrics): one engine per\n' +
      'network and precision, built for the largest batch and timed at every batch, smallest first.\n' +
      'Points with N > 1 GPUs run bench --gpus: one worker per GPU, a start barrier, images/s summed.\n' +
      'Out of memory is a result, not a failure: the point says so, the sweep goes on, and the end\n' +
      'prints the largest batch that fit before it (GoogLeNet at 4096 did not fit a 24 GB P40); where\n' +
      'no batch ran out of memory it prints the largest that ran, since the list ended first.\n' +
      "Today's GPUs fit 4096 easily: --findMaxBatch N (on in the preset) goes on doubling the batch past\n" +
      'the list (one GPU, no copies, a warm-up and 2 timed inferences each) until a batch runs out of\n' +
      'memory, goes past what the engine can index, or passes N. Those points say so in their message.\n' +
      'Copies: the 2017 numbers (giexec) timed execute() on buffers already on the GPU, so the preset\n' +
      'runs without data transfers; --dataTransfers times the copies too (as trtexec does by default).\n' +
      'Progress is a bar on a terminal and one line per point otherwise, with the time left estimated\n' +
      'from the points measured so far (their inference times scaled by batch, plus one build per\n' +
      'network and precision still to build); nothing is guessed before the first point. On the cpu\n' +
      'backend points are named "on CPU" (and --gpus N runs N CPU worker processes). INT8 without a calibration\n' +
      'cache calibrates on random data (fine for timing, not for accuracy).',
  ],
  examples: [
    'tensorrt-node sweep --preset dell2017 -o results/sweep.json',
    'tensorrt-node sweep --networks googlenet --precisions fp16,int8 --batches 1..256 --gpus all',
    'tensorrt-node sweep --backend cpu --networks lenet --precisions fp32 --batches 1,8 --duration 0.2',
  ],
};

/** '1..4096' (powers of two) or '1,8,128'. */
export function parseBatches(raw: string): number[] {
  const range = /^(\d+)\.\.(\d+)$/.exec(raw.trim());
  let list: number[];
  if (range) {
    const lo = Number(range[1]),
      hi = Number(range[2]);
    if (lo < 1 || hi < lo || hi > 1 << 20)
      throw new UsageError(`tensorrt-node sweep: --batches range must be 1 <= lo <= hi <= 1048576, got '${raw}'`);
    list = [];
    for (let b = lo; b <= hi; b *= 2) list.push(b);
  } else {
    list = raw.split(',').map((s) => Number(s.trim()));
  }
  if (list.length === 0 || list.some((b) => !Number.isInteger(b) || b < 1 || b > 1 << 20)) {
    throw new UsageError(`tensorrt-node sweep: --batches is a list of integers in [1, 1048576] or a range lo..hi, got '${raw}'`);
  }
  return [...new Set(list)].sort((a, b) => a - b);
}

/** GPU counts: '1,2' or 'all' (1, 2, 4, ... up to the visible GPUs, and that count). */
export function parseGpuCounts(raw: string, visible: number): number[] {
  let counts: number[];
  if (raw === 'all') {
    counts = [];
    for (let n = 1; n < Math.max(1, visible); n *= 2) counts.push(n);
    counts.push(Math.max(1, visible));
  } else {
    counts = raw.split(',').map((s) => Number(s.trim()));
  }
  if (counts.some((n) => !Number.isInteger(n) || n < 1 || n > 1024)) {
    throw new UsageError(`tensorrt-node sweep: --gpus is GPU counts (1,2,4) or 'all', got '${raw}'`);
  }
  return [...new Set(counts)].sort((a, b) => a - b);
}

/** Whether the points run on the cpu backend ('auto' resolved; a backend that cannot run is not cpu). */
function runsOnCpu(choice: BackendChoice): boolean {
  try {
    return resolveBackend(choice).backend === 'cpu';
  } catch {
    return false; // the points will fail with the backend's own error
  }
}

/** How progress lines name the devices of a point: 'x2 GPU', or on the cpu backend 'on CPU' / 'x2 CPU workers'. */
export function deviceLabel(gpus: number, cpu: boolean): string {
  if (!cpu) return `x${gpus} GPU`;
  return gpus === 1 ? 'on CPU' : `x${gpus} CPU workers`;
}

function networkFile(name: string): string {
  if (name.endsWith('.prototxt')) return name;
  return path.join(ROOT, 'models', `${name}.prototxt`);
}

function isOom(e: unknown): boolean {
  return (e instanceof TensorRTNodeError && e.code === 'E_OUT_OF_MEMORY') || /E_OUT_OF_MEMORY/.test(String((e as Error)?.message ?? e));
}

/** A one-line progress display: a redrawn bar on a TTY, plain lines elsewhere. */
class Progress {
  private done = 0;
  constructor(
    private total: number,
    private readonly tty: boolean,
    private readonly write: (s: string) => void,
  ) {}
  /** Points found on the way (the --findMaxBatch probes). */
  grow(n: number): void {
    this.total += n;
  }

  step(label: string, outcome: string): void {
    this.done++;
    if (this.tty) {
      const width = 30;
      const filled = Math.round((width * this.done) / this.total);
      this.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} ${label}: ${outcome}`.padEnd(110));
      if (this.done === this.total) this.write('\n');
    } else {
      this.write(`[${this.done}/${this.total}] ${label}: ${outcome}\n`);
    }
  }
}

export interface SweepIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Progress output (stderr by default) and whether it is a terminal. */
  progress?: { write: (s: string) => void; tty: boolean };
}

/** A sweep's settings, from its options and its preset: what runs, where, and how it is timed. */
interface SweepOptions {
  readonly presetName?: string;
  readonly preset?: (typeof PRESETS)[string];
  readonly networks: readonly string[];
  readonly precisions: readonly Precision[];
  readonly backend: BackendChoice;
  readonly seed: number;
  readonly batches: readonly number[];
  /** GPUs visible (0 for the cpu backend). */
  readonly visible: number;
  /** The points run on the cpu backend ('auto' resolved). */
  readonly cpu: boolean;
  /** The GPU counts (or cpu worker processes) the points run on. */
  readonly counts: readonly number[];
  readonly scalingBatch?: number;
  readonly findMaxBatch?: number;
  readonly timing: ReturnType<typeof timingOptions>;
  readonly date: string;
  readonly outFile: string;
  readonly timingCache: string;
}

/** One planned point. */
type PlanPoint = { network: string; precision: Precision; batch: number; gpus: number };

/** Runs `sweep`; resolves to the exit code. */
export async function runSweep(
  argv: readonly string[],
  out: (s: string) => void,
  err: (s: string) => void,
  io: Partial<SweepIo> = {},
): Promise<number> {
  const { values, positionals } = parseCommand(SWEEP, argv);
  if (values.help === true) {
    out(formatHelp(SWEEP));
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(`tensorrt-node sweep: takes no file arguments (use --networks), got '${positionals[0]}'`);
  const o = await sweepOptions(values);
  const plan = planPoints(o);
  announce(o, plan, err);
  const progressIo = io.progress ?? { write: (s: string) => process.stderr.write(s), tty: process.stderr.isTTY === true };
  const run = new SweepRun(o, plan, sweepDoc(o), new Progress(plan.length, progressIo.tty, progressIo.write));
  await fsp.mkdir(path.dirname(path.resolve(o.outFile)), { recursive: true });
  for (const network of o.networks) {
    const file = networkFile(network);
    const net = await Network.fromCaffe(file, { seed: o.seed });
    run.clock.start();
    for (const precision of o.precisions) await sweepPrecision(run, net, file, network, precision);
  }
  await run.save();
  out(summarize(run.doc, o.outFile, o.cpu));
  return run.doc.points.some((p) => p.status === 'error') ? 1 : 0;
}

/** Reads the sweep's options (and its preset), checks them and the networks' files. */
async function sweepOptions(values: ParsedArgs['values']): Promise<SweepOptions> {
  const presetName = values.preset as string | undefined;
  const preset = presetName === undefined ? undefined : PRESETS[presetName];
  if (presetName !== undefined && preset === undefined) {
    throw new UsageError(`tensorrt-node sweep: unknown --preset '${presetName}' (presets: ${Object.keys(PRESETS).join(', ')})`);
  }
  const networks = ((values.networks as string | undefined)?.split(',') ?? preset?.networks ?? ['alexnet', 'googlenet']).map((s) =>
    s.trim(),
  );
  const precisions = ((values.precisions as string | undefined)?.split(',').map((s) => s.trim()) ??
    preset?.precisions ?? ['fp32', 'int8']) as Precision[];
  for (const p of precisions) engineChoices(SWEEP, { precision: p, backend: values.backend });
  const { backend, seed } = engineChoices(SWEEP, { backend: values.backend, seed: values.seed });
  const batches = values.batches !== undefined ? parseBatches(values.batches as string) : (preset?.batches ?? POWERS);
  const visible = backend === 'cpu' ? 0 : devices().devices.length;
  const counts = parseGpuCounts((values.gpus as string | undefined) ?? (preset ? 'all' : '1'), visible);
  const scalingBatch = intOption(SWEEP, 'scalingBatch', values.scalingBatch as string | undefined, 1, 1 << 20) ?? preset?.scalingBatch;
  if (counts.some((n) => n > 1) && backend !== 'cpu' && counts[counts.length - 1] > visible) {
    throw new TensorRTNodeError('E_NO_DEVICE', `--gpus asks for ${counts[counts.length - 1]} GPUs; ${visible} are visible`);
  }
  const { noDataTransfers, findMaxBatch } = copyOptions(values, preset);
  const timing = timingOptions(
    {
      duration: values.duration ?? '2',
      warmUp: values.warmUp,
      iterations: values.iterations,
      noDataTransfers,
      noCudaGraph: values.noCudaGraph,
      inflight: values.inflight,
    },
    1,
    seed,
  );
  await checkNetworks(networks);
  const date = new Date().toISOString();
  return {
    presetName,
    preset,
    networks,
    precisions,
    backend,
    seed,
    batches,
    visible,
    cpu: runsOnCpu(backend),
    counts,
    scalingBatch,
    findMaxBatch,
    timing,
    date,
    outFile: (values.output as string | undefined) ?? `sweep-${date.slice(0, 10)}.json`,
    timingCache: (values.timingCache as string | undefined) ?? path.join(os.tmpdir(), `trtn-sweep-timing-${process.pid}.json`),
  };
}

/** --dataTransfers / --noDataTransfers and --findMaxBatch (which times without copies only). */
function copyOptions(values: ParsedArgs['values'], preset: SweepOptions['preset']): { noDataTransfers: boolean; findMaxBatch?: number } {
  if (values.dataTransfers === true && values.noDataTransfers === true) {
    throw new UsageError('tensorrt-node sweep: --dataTransfers and --noDataTransfers contradict each other');
  }
  const noDataTransfers = values.noDataTransfers === true || (values.dataTransfers !== true && preset?.dataTransfers === false);
  const findMaxBatchRaw = intOption(SWEEP, 'findMaxBatch', values.findMaxBatch as string | undefined, 0, MAX_BATCH) ?? preset?.findMaxBatch;
  const findMaxBatch = findMaxBatchRaw === 0 ? undefined : findMaxBatchRaw; // 0: off
  if (findMaxBatch !== undefined && !noDataTransfers) {
    throw new UsageError(
      'tensorrt-node sweep: --findMaxBatch times without copies (no host arrays hold a batch that large); ' +
        'add --noDataTransfers, or --findMaxBatch 0',
    );
  }
  return { noDataTransfers, findMaxBatch };
}

async function checkNetworks(networks: readonly string[]): Promise<void> {
  for (const n of networks) {
    try {
      await fsp.access(networkFile(n));
    } catch {
      throw new UsageError(`tensorrt-node sweep: no network '${n}' (a name under models/ or a .prototxt path)`);
    }
  }
}

/** The plan: every (network, precision) x batch on 1 GPU, and the scaling points. */
function planPoints(o: SweepOptions): PlanPoint[] {
  const plan: PlanPoint[] = [];
  for (const network of o.networks) {
    for (const precision of o.precisions) {
      for (const gpus of o.counts) {
        for (const batch of o.batches) {
          if (gpus > 1 && o.scalingBatch !== undefined && batch !== o.scalingBatch) continue;
          plan.push({ network, precision, batch, gpus });
        }
        if (gpus > 1 && o.scalingBatch !== undefined && !o.batches.includes(o.scalingBatch))
          plan.push({ network, precision, batch: o.scalingBatch, gpus });
      }
    }
  }
  return plan;
}

/** Says what the sweep will run (and warns of large batches on the cpu backend). */
function announce(o: SweepOptions, plan: readonly PlanPoint[], err: (s: string) => void): void {
  const { counts, batches } = o;
  const units = o.cpu
    ? `cpu backend${counts.some((n) => n > 1) ? `, ${counts.join(', ')} worker process(es)` : ''}`
    : `${counts.join(', ')} GPU(s)`;
  err(
    `sweep: ${count(plan.length, 'point')} (${o.networks.join(', ')}; ${o.precisions.join(', ')}; batch ${batches[0]}..${batches[batches.length - 1]}; ` +
      `${units}${o.preset ? `; preset ${o.presetName}: ${o.preset.about}` : ''}); the time left is estimated from the first point on`,
  );
  if (o.visible === 0 && (batches[batches.length - 1] > 64 || o.findMaxBatch !== undefined)) {
    err(
      'warning: these points run on the cpu backend, where large batches take minutes each and --findMaxBatch ' +
        'fills host memory; for a quick look: --batches 1..16 --findMaxBatch 0',
    );
  }
}

/** The sweep's document before any point: settings and machine. */
function sweepDoc(o: SweepOptions): SweepDoc {
  const { timing, backend } = o;
  // CUDA graphs exist on the cuda backend only (as bench records it).
  const settings: BenchSettings = { ...timing, percentiles: timing.percentiles, useCudaGraph: timing.useCudaGraph && !o.cpu };
  delete (settings as Partial<typeof timing>).batch;
  delete (settings as Partial<typeof timing>).seed;
  return {
    kind: 'tensorrt-node-sweep',
    version: 1,
    date: o.date,
    packageVersion: packageVersion(),
    ...(process.env.TRTN_COMMIT ? { commit: process.env.TRTN_COMMIT } : {}),
    ...(o.presetName ? { preset: o.presetName } : {}),
    machine: {
      gpus:
        backend === 'cpu'
          ? []
          : devices().devices.map((d) => ({
              name: d.name,
              index: d.index,
              memoryBytes: d.totalMemory,
              computeCapability: d.computeCapability,
            })),
      ...(backend === 'cpu' ? {} : { driverVersion: devices().driverVersion }),
      cpu: `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}`,
      hostname: os.hostname(),
    },
    settings,
    points: [],
  };
}

/** A sweep under way: its document (saved after every point), progress and time estimate. */
class SweepRun {
  readonly clock: SweepClock;
  /** Points of the plan recorded (the --findMaxBatch probes are not in it). */
  private planDone = 0;

  constructor(
    readonly o: SweepOptions,
    readonly plan: readonly PlanPoint[],
    readonly doc: SweepDoc,
    readonly progress: Progress,
  ) {
    this.clock = new SweepClock(o.timing);
  }

  /** How the progress lines name `gpus` devices. */
  where(gpus: number): string {
    return deviceLabel(gpus, this.o.cpu);
  }

  /**
   * Rewrites the document (beside, then renamed over), so a sweep that is stopped (a time limit,
   * Ctrl-C) leaves every point it finished.
   */
  async save(): Promise<void> {
    const tmp = `${this.o.outFile}.${process.pid}.tmp`;
    await fsp.writeFile(tmp, `${JSON.stringify(this.doc, null, 1)}\n`);
    await fsp.rename(tmp, this.o.outFile);
  }

  /** Adds a point, shows it with the time left, and saves. */
  async record(p: SweepPoint, label: string, outcome: string, n: PlannedPoint, planned = true): Promise<void> {
    this.doc.points.push(p);
    this.progress.step(label, this.left(p, planned, outcome, n));
    await this.save();
  }

  private left(p: SweepPoint, planned: boolean, outcome: string, n: PlannedPoint): string {
    if (planned) this.planDone++;
    const inference =
      p.status === 'ok' && p.perGpu?.[0] !== undefined ? p.perGpu[0].walltimeSeconds / Math.max(1, p.perGpu[0].iterations) : undefined;
    const remaining = this.plan.slice(this.planDone);
    const seconds = this.clock.finish(n, inference, remaining);
    if (remaining.length === 0 || seconds === undefined) return outcome;
    return `${outcome}; about ${formatDuration(seconds)} left${this.o.findMaxBatch !== undefined ? ' + --findMaxBatch probes' : ''}`;
  }
}

/** One network and precision: its engine, shared by its points, and what went wrong so far. */
interface PrecisionRun {
  readonly run: SweepRun;
  readonly net: Network;
  readonly file: string;
  readonly network: string;
  readonly precision: Precision;
  readonly maxBatch: number;
  readonly tuneBatch: number;
  engine?: Engine;
  /** One failed build is not retried for every batch. */
  buildFailure?: string;
  oomAt?: number;
  /** The 1-GPU engine, saved for the multi-GPU workers. */
  planFile?: string;
}

/** Runs the points of one network and precision, then (--findMaxBatch) the larger batches. */
async function sweepPrecision(run: SweepRun, net: Network, file: string, network: string, precision: Precision): Promise<void> {
  const mine = run.plan.filter((p) => p.network === network && p.precision === precision);
  // One engine for every point of this network and precision (the multi-GPU workers run its
  // plan), tuned the way the workers would tune their own if there is none.
  const maxBatch = Math.max(...mine.map((p) => p.batch));
  const s: PrecisionRun = { run, net, file, network, precision, maxBatch, tuneBatch: Math.min(maxBatch, DEFAULT_TUNE_BATCH) };
  try {
    for (const point of mine) await sweepPoint(s, point);
    await probeAfter(s);
  } finally {
    s.engine?.dispose();
    if (s.planFile !== undefined) await fsp.rm(s.planFile, { force: true });
  }
}

function recordPoint(s: PrecisionRun, p: SweepPoint, label: string, outcome: string, planned = true): Promise<void> {
  return s.run.record(p, label, outcome, { network: s.network, precision: s.precision, batch: p.batch, gpus: p.gpus }, planned);
}

/** One point: skipped above an out-of-memory batch, run, or recorded as out of memory or failed. */
async function sweepPoint(s: PrecisionRun, point: PlanPoint): Promise<void> {
  const label = `${s.net.name || s.network} ${s.precision} batch ${point.batch} ${s.run.where(point.gpus)}`;
  const base = { network: s.net.name || s.network, precision: s.precision, batch: point.batch, gpus: point.gpus };
  if (s.oomAt !== undefined && point.batch > s.oomAt) {
    await recordPoint(
      s,
      { ...base, status: 'oom', message: `not run: batch ${s.oomAt} already ran out of memory` },
      label,
      'skipped (out of memory below)',
    );
    return;
  }
  try {
    const [p, outcome] = point.gpus === 1 ? await oneGpuPoint(s, base) : await multiGpuPoint(s, base);
    await recordPoint(s, p, label, outcome);
  } catch (e) {
    if (isOom(e)) {
      if (point.gpus === 1) s.oomAt = s.oomAt === undefined ? point.batch : Math.min(s.oomAt, point.batch);
      await recordPoint(s, { ...base, status: 'oom', message: (e as Error).message }, label, 'out of memory');
    } else {
      await recordPoint(s, { ...base, status: 'error', message: (e as Error).message }, label, `error: ${(e as Error).message}`);
    }
  }
}

type PointBase = Pick<SweepPoint, 'network' | 'precision' | 'batch' | 'gpus'>;

/** The engine of this network and precision, built on first use (a failed build is remembered). */
async function sweepEngine(s: PrecisionRun): Promise<Engine> {
  if (s.buildFailure !== undefined) throw new TensorRTNodeError('E_INTERNAL', `not run: the engine did not build: ${s.buildFailure}`);
  if (s.engine !== undefined) return s.engine;
  const { backend, timingCache } = s.run.o;
  const t0 = performance.now();
  try {
    s.engine = await new Builder({ backend, timingCache, logger: quiet }).build(s.net, {
      precision: s.precision,
      maxBatchSize: s.maxBatch,
      ...(backend !== 'cpu' ? { tuneBatch: s.tuneBatch } : {}),
    });
    s.run.clock.addBuild((performance.now() - t0) / 1000);
    return s.engine;
  } catch (e) {
    if (!isOom(e)) s.buildFailure = (e as Error).message;
    throw e;
  }
}

async function oneGpuPoint(s: PrecisionRun, base: PointBase): Promise<[SweepPoint, string]> {
  const engine = await sweepEngine(s);
  const { result } = await benchEngine(
    engine,
    { file: s.file, name: s.net.name },
    { ...s.run.o.timing, batch: base.batch },
    { deviceIndex: 0 },
  );
  return [okPoint(base, result), `${human(result.throughput.imagesPerSecond)} images/s`];
}

async function multiGpuPoint(s: PrecisionRun, base: PointBase): Promise<[SweepPoint, string]> {
  const { backend, timing } = s.run.o;
  const gpuIds =
    backend === 'cpu'
      ? Array.from({ length: base.gpus }, (_, i) => String(i))
      : devices()
          .devices.slice(0, base.gpus)
          .map((d) => String(d.index));
  const args = [
    ...(await workerSource(s, base.batch)),
    '--batch',
    String(base.batch),
    '--backend',
    backend,
    '--duration',
    String(timing.durationS),
    '--warmUp',
    String(timing.warmUpMs),
    '--iterations',
    String(timing.iterations),
    ...(timing.dataTransfers ? [] : ['--noDataTransfers']),
    ...(timing.useCudaGraph ? [] : ['--noCudaGraph']),
    ...((timing.inflight ?? 1) > 1 ? ['--inflight', String(timing.inflight)] : []),
  ];
  const results = await runOnGpus(args, gpuIds, quiet);
  const ips = results.reduce((a, r) => a + r.throughput.imagesPerSecond, 0);
  const gpuIps = results.every((r) => r.gpuComputeImagesPerSecond)
    ? results.reduce((a, r) => a + (r.gpuComputeImagesPerSecond ?? 0), 0)
    : undefined;
  return [
    { ...base, status: 'ok', imagesPerSecond: ips, ...(gpuIps ? { gpuComputeImagesPerSecond: gpuIps } : {}), perGpu: results },
    `${human(ips)} images/s`,
  ];
}

/**
 * What the multi-GPU workers bench: every GPU runs the 1-GPU points' engine (its plan: the same
 * tactics and INT8 scales), so N GPUs scale exactly what 1 GPU measured; without one, each worker
 * builds it the same way.
 */
async function workerSource(s: PrecisionRun, batch: number): Promise<string[]> {
  const { seed, timingCache, backend } = s.run.o;
  if (s.engine !== undefined && s.planFile === undefined && batch <= s.engine.maxBatchSize) {
    s.planFile = path.join(os.tmpdir(), `trtn-sweep-${process.pid}-${s.network.replace(/[^A-Za-z0-9]/g, '_')}-${s.precision}.plan`);
    await s.engine.save(s.planFile);
  }
  return s.planFile !== undefined
    ? [s.planFile]
    : [
        s.file,
        '--precision',
        s.precision,
        '--seed',
        String(seed),
        '--timingCache',
        timingCache,
        ...(backend !== 'cpu' ? ['--tuneBatch', String(Math.min(batch, s.tuneBatch))] : []),
      ];
}

/** --findMaxBatch: past the largest batch that ran on 1 GPU (none ran out of memory), doubles the batch until one does. */
async function probeAfter(s: PrecisionRun): Promise<void> {
  const { run } = s;
  const ran = run.doc.points.filter(
    (q) => q.network === (s.net.name || s.network) && q.precision === s.precision && q.gpus === 1 && q.status === 'ok',
  );
  if (run.o.findMaxBatch === undefined || s.engine === undefined || s.oomAt !== undefined || ran.length === 0) return;
  const start = Math.max(...ran.map((p) => p.batch));
  const indexLimit = s.engine.maxRunnableBatch;
  s.engine.dispose(); // its memory goes back before the larger batches ask for theirs
  s.engine = undefined;
  const { backend, timingCache, timing } = run.o;
  await probeLargerBatches({
    net: s.net,
    file: s.file,
    network: s.network,
    precision: s.precision,
    start,
    limit: run.o.findMaxBatch,
    indexLimit,
    backend,
    timingCache,
    timing,
    progress: run.progress,
    where: run.where(1),
    record: (p, label, outcome) => recordPoint(s, p, label, outcome, false),
  });
}

function quiet(): void {
  return undefined;
}

/** The point of one GPU's result. */
function okPoint(base: Pick<SweepPoint, 'network' | 'precision' | 'batch' | 'gpus'>, result: BenchResult): SweepPoint {
  return {
    ...base,
    status: 'ok',
    imagesPerSecond: result.throughput.imagesPerSecond,
    ...(result.gpuComputeImagesPerSecond ? { gpuComputeImagesPerSecond: result.gpuComputeImagesPerSecond } : {}),
    perGpu: [result],
  };
}

/**
 * --findMaxBatch: batches past the sweep's list, doubling from `start`, on one engine built for the
 * largest of them, each a warm-up and 2 timed inferences without copies (no host arrays, so any
 * batch the GPU holds can run), until one runs out of memory or the next would pass `limit` or
 * what the engine can index (`indexLimit`, which is tried itself when it is not a power of two).
 */
async function probeLargerBatches(o: {
  net: Network;
  file: string;
  network: string;
  precision: Precision;
  start: number;
  limit: number;
  indexLimit: number;
  backend: BackendChoice;
  timingCache: string;
  timing: ReturnType<typeof timingOptions>;
  progress: Progress;
  /** How the progress line names one device ('x1 GPU', 'on CPU'). */
  where: string;
  record: (p: SweepPoint, label: string, outcome: string) => Promise<void>;
}): Promise<void> {
  const top = Math.min(o.limit, o.indexLimit, MAX_BATCH);
  const batches: number[] = [];
  for (let b = o.start * 2; b <= top; b *= 2) batches.push(b);
  if (o.indexLimit <= Math.min(o.limit, MAX_BATCH) && top > o.start && !batches.includes(top)) batches.push(top);
  if (batches.length === 0) return;
  const name = o.net.name || o.network;
  const why = 'found by --findMaxBatch: no copies, a warm-up and 2 timed inferences';
  let big: Engine | undefined;
  const builder = new Builder({ backend: o.backend, timingCache: o.timingCache, logger: () => undefined });
  // The tensorrt backend sizes a context for the engine's max batch when it is made: there, one
  // engine per batch; the others allocate per batch, so one engine serves them all.
  const perBatch = builder.backend === 'tensorrt';
  const buildFor = (maxBatchSize: number): Promise<Engine> =>
    builder.build(o.net, {
      precision: o.precision,
      maxBatchSize,
      ...(builder.backend !== 'cpu' ? { tuneBatch: Math.min(maxBatchSize, DEFAULT_TUNE_BATCH) } : {}),
    });
  try {
    for (const batch of batches) {
      o.progress.grow(1);
      const label = `${name} ${o.precision} batch ${batch} ${o.where} (--findMaxBatch)`;
      const base = { network: name, precision: o.precision, batch, gpus: 1 };
      if (big === undefined || perBatch) {
        big?.dispose();
        big = undefined;
        const size = perBatch ? batch : batches[batches.length - 1];
        try {
          big = await buildFor(size);
        } catch (e) {
          await o.record(
            {
              ...base,
              status: isOom(e) ? 'oom' : 'error',
              message: `${why}; the engine for batch ${size} did not build: ${(e as Error).message}`,
            },
            label,
            isOom(e) ? 'out of memory' : 'error',
          );
          return;
        }
      }
      try {
        const probe = { ...o.timing, batch, warmUpMs: 0, durationS: 0, iterations: 2, avgRuns: 1, streams: 1, dataTransfers: false };
        const { result } = await benchEngine(big, { file: o.file, name: o.net.name }, probe, { deviceIndex: 0 });
        const last = batch === batches[batches.length - 1];
        const stop = !last
          ? ''
          : batch === o.indexLimit
            ? '; the largest batch this engine can index'
            : batch * 2 > o.limit
              ? `; the next doubling passes --findMaxBatch ${o.limit}`
              : '';
        await o.record({ ...okPoint(base, result), message: why + stop }, label, `${human(result.throughput.imagesPerSecond)} images/s`);
      } catch (e) {
        const oom = isOom(e);
        await o.record(
          { ...base, status: oom ? 'oom' : 'error', message: `${why}: ${(e as Error).message}` },
          label,
          oom ? 'out of memory' : `error: ${(e as Error).message}`,
        );
        return;
      }
    }
  } finally {
    big?.dispose();
  }
}

/**
 * The end of a sweep: per network and precision the largest batch that fit when a larger one ran
 * out of memory (else only the largest that ran: the list ended first), the best throughput, and
 * where the JSON went.
 */
function summarize(doc: SweepDoc, file: string, cpu: boolean): string {
  const lines = [`sweep: ${count(doc.points.length, 'point')} written to ${file}`];
  const keys = [...new Set(doc.points.map((p) => `${p.network}|${p.precision}`))];
  for (const key of keys) {
    const [network, precision] = key.split('|');
    const mine = doc.points.filter((p) => p.network === network && p.precision === precision && p.gpus === 1);
    const ok = mine.filter((p) => p.status === 'ok');
    const oom = mine.filter((p) => p.status === 'oom' && !/^not run/.test(p.message ?? ''));
    const best = ok.reduce<SweepPoint | undefined>(
      (a, p) => (a === undefined || (p.imagesPerSecond ?? 0) > (a.imagesPerSecond ?? 0) ? p : a),
      undefined,
    );
    const largest = ok.length ? String(Math.max(...ok.map((p) => p.batch))) : 'none';
    const limit = oom.length
      ? `largest batch that fit ${largest}, out of memory from batch ${Math.min(...oom.map((p) => p.batch))}`
      : ok.length
        ? `ran up to batch ${largest} (no batch ran out of memory)`
        : 'no batch ran';
    lines.push(
      `  ${network} ${precision}: ${limit}${best ? `; best ${human(best.imagesPerSecond ?? 0)} images/s at batch ${best.batch}` : ''}`,
    );
  }
  const errors = doc.points.filter((p) => p.status === 'error');
  if (errors.length) lines.push(`  ${errors.length} point(s) failed: ${errors[0].message}`);
  lines.push(`Draw it: tensorrt-node report build ${file} -o results/<${cpu ? 'cpu' : 'gpu'}-model>/`);
  return lines.join('\n');
}
