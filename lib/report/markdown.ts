/** The text of REPORT.md: setup, figures (or why each was skipped) and a table of every number. */
import type { SweepDoc } from '../bench/result';
import { cudaVersionText } from '../native';
import { backends, okPoint, peerGpu, peerNetwork, peerThroughput, type ReportNetwork, type ReportPoint } from './data';
import type { FigurePlan } from './figures';
import { gpuShortName, networkKey, precisionLabel, type DeviceWords } from './names';
import type { ReferenceNumbers } from './reference';
import type { PeerDoc } from './schema';
import { PRECISIONS } from './schema';

/** The scaling efficiency a multi-GPU run should reach (N-GPU images/s over N x 1-GPU images/s). */
export const SCALING_TARGET = 0.97;

/** What REPORT.md is written from. */
export interface MarkdownInputs {
  sweep: SweepDoc;
  points: readonly ReportPoint[];
  networks: readonly ReportNetwork[];
  gpu: string;
  /** GPU or CPU words (a cpu sweep's report says CPU). */
  words: DeviceWords;
  batch: number;
  figures: readonly FigurePlan[];
  peer?: PeerDoc;
  reference?: ReferenceNumbers;
  /** Input files, listed under "How this report was made". */
  sources: readonly string[];
  warnings: readonly string[];
}

/** images/s as a table shows it: 12,345 / 123.4 / 1.23. */
export function formatRate(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(Math.abs(n) >= 10 ? 1 : 2);
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, numeric: readonly boolean[]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${numeric.map((n) => (n ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

function driver(v: number | undefined): string {
  if (v === undefined) return 'not recorded';
  return v >= 1000 ? `${v} (CUDA ${cudaVersionText(v)})` : String(v);
}

function gpuLine(sweep: SweepDoc, gpu: string): string {
  const gpus = sweep.machine.gpus;
  if (gpus.length === 0) return gpu;
  const first = gpus[0];
  const extra = [
    first.memoryBytes !== undefined ? `${(first.memoryBytes / 1e9).toFixed(1)} GB` : '',
    first.computeCapability !== undefined ? `compute capability ${first.computeCapability}` : '',
  ]
    .filter((s) => s !== '')
    .join(', ');
  return `${gpus.length} x ${first.name}${extra ? ` (${extra})` : ''}`;
}

function timingLine(sweep: SweepDoc, words: DeviceWords): string {
  const s = sweep.settings;
  const parts: string[] = [];
  if (s.warmUpMs !== undefined) parts.push(`warm-up ${s.warmUpMs} ms`);
  if (s.durationS !== undefined || s.iterations !== undefined)
    parts.push(`at least ${s.durationS ?? 0} s and ${s.iterations ?? 0} inferences`);
  if (s.avgRuns !== undefined) parts.push(`averages of ${s.avgRuns} inferences`);
  if (s.dataTransfers !== undefined) parts.push(s.dataTransfers ? 'host-device transfers included' : 'no transfers (--noDataTransfers)');
  // CUDA graphs exist on GPUs only (older cpu sweeps recorded the option as on).
  if (s.useCudaGraph !== undefined && words.device === 'GPU') parts.push(s.useCudaGraph ? 'CUDA graph' : 'no CUDA graph');
  if (s.streams !== undefined) {
    parts.push(`${s.streams} stream${s.streams === 1 ? '' : 's'}`);
    parts.push((s.inflight ?? 1) > 1 ? `${s.inflight} inferences queued per stream (--inflight)` : 'one inference at a time per stream');
  }
  return parts.join('; ') || 'not recorded';
}

const GPU_METRICS =
  'images/s: batch x inferences per second over the timed window, summed over the GPUs of a point ' +
  '(each GPU runs the batch on its own). Per-GPU images/s: images/s / GPUs. GPU compute ms: the median time of ' +
  "one inference's kernels (CUDA events, copies excluded), per GPU; GPU compute images/s: batch / that time, summed over the GPUs.";
const CPU_METRICS =
  'images/s: batch x inferences per second over the timed window, summed over the CPU workers of a point ' +
  '(worker processes sharing the CPU, each running the batch on its own). Per-worker images/s: images/s / workers. ' +
  'The cpu backend has no device timers, so no compute times are listed.';

function setup(input: MarkdownInputs): string {
  const { sweep, gpu, words } = input;
  const rows: Array<[string, string]> = [
    [words.device, gpuLine(sweep, gpu)],
    ...(words.device === 'GPU' ? [['Driver', driver(sweep.machine.driverVersion)] as [string, string]] : []),
    ['Backend', backends(sweep).join(', ') || 'not recorded'],
    ['Commit', sweep.commit ?? 'not recorded'],
    ['Date', sweep.date],
    ['tensorrt-node', sweep.packageVersion],
    ['Host', `${sweep.machine.hostname}, ${sweep.machine.cpu}`],
    ['Timing', timingLine(sweep, words)],
  ];
  if (sweep.preset !== undefined) rows.push(['Sweep preset', sweep.preset]);
  return [
    '| | |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${cell(v)} |`),
    '',
    words.device === 'GPU' ? GPU_METRICS : CPU_METRICS,
  ].join('\n');
}

function figures(input: MarkdownInputs): string {
  const out: string[] = [];
  for (const f of input.figures) {
    out.push(`### Fig. ${f.number}. ${f.title}`, '');
    if (f.skipped !== undefined) {
      out.push(`*Skipped: ${f.skipped}.*`, '');
      continue;
    }
    out.push(`![Fig. ${f.number}: ${f.title}](${f.id}.svg)`, '', `${f.caption} ([SVG](${f.id}.svg), [PNG](${f.id}.png))`, '');
  }
  return out.join('\n').trimEnd();
}

function status(p: ReportPoint): string {
  if (p.status === 'ok') return p.message ? `ok (${p.message})` : 'ok';
  return p.message ? `${p.status}: ${p.message}` : p.status;
}

function computeMs(p: ReportPoint): string {
  if (p.computeMs.length === 0) return '-';
  const lo = Math.min(...p.computeMs);
  const hi = Math.max(...p.computeMs);
  return lo === hi ? lo.toFixed(3) : `${lo.toFixed(3)}-${hi.toFixed(3)}`;
}

function everyPoint(points: readonly ReportPoint[], words: DeviceWords): string {
  // The cpu backend has no GPU compute times: those columns would be all '-'.
  const gpu = words.device === 'GPU';
  return table(
    [
      'network',
      'precision',
      'batch',
      words.units,
      'images/s',
      `${words.per} images/s`,
      ...(gpu ? ['GPU compute images/s', 'GPU compute ms (median)'] : []),
      'status',
    ],
    points.map((p) => [
      p.network,
      precisionLabel(p.precision),
      String(p.batch),
      String(p.gpus),
      p.status === 'ok' ? formatRate(p.imagesPerSecond) : '-',
      p.status === 'ok' && p.imagesPerSecond !== undefined ? formatRate(p.imagesPerSecond / p.gpus) : '-',
      ...(gpu ? [p.status === 'ok' ? formatRate(p.gpuComputeImagesPerSecond) : '-', computeMs(p)] : []),
      status(p),
    ]),
    [false, false, true, true, true, true, ...(gpu ? [true, true] : []), false],
  );
}

function batchLimits(points: readonly ReportPoint[], words: DeviceWords): string {
  const groups = new Map<string, ReportPoint[]>();
  for (const p of points) {
    const key = `${p.key}|${p.precision}|${p.gpus}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  // A multi-GPU group measured at one batch only says nothing about the limit: leave it out.
  const informative = [...groups.values()].filter((g) => g[0].gpus === 1 || g.length > 1 || g.some((p) => p.status !== 'ok'));
  const rows = informative.map((g) => {
    const ok = g.filter((p) => p.status === 'ok').map((p) => p.batch);
    const oom = g.filter((p) => p.status === 'oom').map((p) => p.batch);
    const errors = g.filter((p) => p.status === 'error').map((p) => p.batch);
    return [
      g[0].network,
      precisionLabel(g[0].precision),
      String(g[0].gpus),
      ok.length > 0 ? String(Math.max(...ok)) : 'none',
      oom.length > 0 ? String(Math.min(...oom)) : 'none measured',
      errors.length > 0 ? `batch ${errors.sort((a, b) => a - b).join(', ')}` : '-',
    ];
  });
  return table(['network', 'precision', words.units, 'largest batch that ran', 'smallest batch out of memory', 'errors'], rows, [
    false,
    false,
    true,
    true,
    true,
    false,
  ]);
}

function scaling(points: readonly ReportPoint[], words: DeviceWords): string {
  const rows: string[][] = [];
  for (const p of points) {
    if (p.gpus < 2 || p.status !== 'ok' || p.imagesPerSecond === undefined) continue;
    const one = okPoint(points, p.key, p.precision, p.batch, 1);
    if (one?.imagesPerSecond === undefined || one.imagesPerSecond === 0) {
      rows.push([
        p.network,
        precisionLabel(p.precision),
        String(p.batch),
        String(p.gpus),
        formatRate(p.imagesPerSecond),
        '-',
        '-',
        `no ${words.single} point`,
      ]);
      continue;
    }
    const efficiency = p.imagesPerSecond / (p.gpus * one.imagesPerSecond);
    rows.push([
      p.network,
      precisionLabel(p.precision),
      String(p.batch),
      String(p.gpus),
      formatRate(p.imagesPerSecond),
      formatRate(one.imagesPerSecond),
      efficiency.toFixed(3),
      efficiency >= SCALING_TARGET ? 'meets' : '**below**',
    ]);
  }
  if (rows.length === 0) return `*No ${words.multi} points were measured.*`;
  const n = words.single.replace(/^1/, 'N');
  return [
    `Efficiency = ${n} images/s / (N x ${words.single} images/s), same network, precision and batch per ${words.unit}. ` +
      `Target: ${SCALING_TARGET} or better.`,
    '',
    table(
      ['network', 'precision', 'batch', words.units, 'images/s', `${words.single} images/s`, 'efficiency', `target ${SCALING_TARGET}`],
      rows,
      [false, false, true, true, true, true, true, false],
    ),
  ].join('\n');
}

function againstReference(input: MarkdownInputs): string {
  const { reference, networks, points, gpu, words } = input;
  if (reference === undefined) return '*No reference numbers were given.*';
  const rows: string[][] = [];
  for (const r of reference.rows) {
    const net = networks.find((n) => n.key === networkKey(r.network));
    if (net === undefined) continue;
    const mine = okPoint(points, net.key, r.precision, reference.batch, r.gpus);
    rows.push([
      net.label,
      `${r.gpu} ${precisionLabel(r.precision)}`,
      r.experiment === 'scaling' ? 'multi-GPU runs' : '1-GPU comparison',
      String(r.gpus),
      formatRate(r.imagesPerSecond),
      `${gpuShortName(gpu)} ${precisionLabel(r.precision)}`,
      formatRate(mine?.imagesPerSecond),
      mine?.imagesPerSecond !== undefined ? `${(mine.imagesPerSecond / r.imagesPerSecond).toFixed(2)}x` : '-',
    ]);
  }
  if (rows.length === 0) return `*The ${reference.year} study has no numbers for the networks measured here.*`;
  return [
    `${reference.source}. Ours: the same network, precision and ${words.unit} count at batch ${reference.batch}; "-" where not measured.`,
    '',
    table([`network`, reference.year, 'experiment', words.units, `${reference.year} images/s`, 'ours', 'images/s', 'ratio'], rows, [
      false,
      false,
      false,
      true,
      true,
      false,
      true,
      true,
    ]),
  ].join('\n');
}

function againstPeer(input: MarkdownInputs): string {
  const { peer, networks, points, batch, words } = input;
  if (peer === undefined) return '*No PyTorch peer file was given (`--peer`).*';
  const rows: string[][] = [];
  for (const net of networks) {
    if (peerNetwork(peer, net.key) === undefined) continue;
    for (const pr of PRECISIONS) {
      const mine = okPoint(points, net.key, pr, batch, 1);
      const theirs = peerThroughput(peer, net.key, pr, batch);
      if (mine === undefined && theirs === undefined) continue;
      const ours = mine?.gpuComputeImagesPerSecond ?? mine?.imagesPerSecond;
      rows.push([
        net.label,
        precisionLabel(pr),
        String(batch),
        formatRate(ours),
        theirs === undefined
          ? pr === 'int8'
            ? 'no INT8 path'
            : 'not measured'
          : theirs.oom
            ? 'out of memory'
            : formatRate(theirs.imagesPerSecond),
        ours !== undefined && theirs?.imagesPerSecond !== undefined ? `${(ours / theirs.imagesPerSecond).toFixed(2)}x` : '-',
      ]);
    }
  }
  if (rows.length === 0) return `*The peer file has none of the networks measured here.*`;
  const env = Object.values(peer)[0]?.environment;
  const theirGpu = peerGpu(peer);
  return [
    `PyTorch${env?.torch ? ` ${env.torch}` : ''} on ${theirGpu ?? 'an unrecorded GPU'}: images/s = batch / median CUDA-graph ` +
      `replay time. Ours: images/s from the median GPU compute time (the timed-window images/s where a point has none), ${words.count(1)}.`,
    '',
    table(['network', 'precision', 'batch', 'tensorrt-node images/s', 'PyTorch images/s', 'ratio'], rows, [
      false,
      false,
      true,
      true,
      true,
      true,
    ]),
  ].join('\n');
}

/** REPORT.md. */
export function reportMarkdown(input: MarkdownInputs): string {
  const { gpu, batch, sources, warnings, words } = input;
  const sections = [
    `# Inference throughput on ${gpu}`,
    "tensorrt-node's rerun of Dell's 2017 TensorRT study (AlexNet and GoogLeNet on Tesla P40 and M40, FP32 against " +
      `INT8, 1 to 4 GPUs, batch 1 to 4096) on this ${words.device}. Written by` +
      ' `tensorrt-node report build` from the result JSON ' +
      'listed at the end; edit the data, not this file.',
    '## Setup',
    setup(input),
    '## Figures',
    figures(input),
    '## Every point',
    everyPoint(input.points, words),
    '## Batch limits',
    `Per network, precision and ${words.unit} count: the largest batch per ${words.unit} that ran (status ok) and the smallest ` +
      `that ran out of ${words.memory}. The largest batch that fits is known only where a larger one ran out of memory; ` +
      '"none measured": the list of batches ended first.',
    batchLimits(input.points, words),
    `## ${words.multi[0].toUpperCase()}${words.multi.slice(1)} scaling`,
    scaling(input.points, words),
    `## Against the ${input.reference?.year ?? 'reference'} study`,
    againstReference(input),
    `## Against PyTorch, batch ${batch}`,
    againstPeer(input),
  ];
  if (warnings.length > 0) sections.push('## Warnings', warnings.map((w) => `- ${cell(w)}`).join('\n'));
  sections.push(
    '## How this report was made',
    [
      ...(sources.length > 0 ? ['Inputs:', ...sources.map((s) => `- \`${s}\``)] : ['Inputs: not listed.']),
      '',
      'Charts: vega-lite specifications compiled to vega, drawn to SVG by ' +
        "vega's headless View and to PNG by resvg. Rebuild with `tensorrt-node report build <inputs...> -o <this folder>`; " +
        'see docs/report.md.',
    ].join('\n'),
  );
  return `${sections.join('\n\n')}\n`;
}
