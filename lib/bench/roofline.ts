/**
 * The roofline of each layer (issue 18): the least time the GPU could take for it, from the IR's
 * multiply-accumulates and the bytes an unfused engine moves (inputs and outputs once, weights once
 * per batch, at the precision's element size) against the GPU's dense peaks:
 * max(2 * MACs / peak ops, bytes / peak bandwidth). `bench --dumpProfile --roofline` prints each
 * layer's measured time against it, so a user sees which layers are far from what the chip allows.
 * An estimate: fused layers, tensors kept in another precision and caches move the real figure.
 */
import type { Network } from '../network';
import type { Precision } from '../types';

/** A GPU's dense peaks: operations per second by precision (FP32 on CUDA cores) and memory bandwidth. */
export interface GpuPeaks {
  /** What the figures are for (the table's row, or "--peaks"). */
  readonly source: string;
  /** Tera-operations per second (a multiply-accumulate is two), dense, by precision. */
  readonly tops: Readonly<Record<Precision, number>>;
  /** Memory bandwidth, GB/s. */
  readonly gbps: number;
}

/**
 * Vendor data-sheet peaks (dense, no sparsity) of the GPUs people run this on, matched by the name
 * the driver reports. A precision without tensor cores takes the FP32 figure (FP16 and INT8 on
 * Maxwell run as FP32 here; Pascal P40 has DP4A INT8 at 4x FP32).
 */
const TABLE: ReadonlyArray<{
  readonly match: RegExp;
  readonly name: string;
  readonly tops: [number, number, number, number];
  readonly gbps: number;
}> = [
  // [fp32, tf32, fp16, int8]
  { match: /H200/i, name: 'H200', tops: [67, 495, 989, 1979], gbps: 4800 },
  { match: /H100.*PCIe/i, name: 'H100 PCIe', tops: [51, 378, 756, 1513], gbps: 2000 },
  { match: /H100.*NVL/i, name: 'H100 NVL', tops: [60, 418, 835, 1671], gbps: 3900 },
  { match: /H100/i, name: 'H100 SXM', tops: [67, 495, 989, 1979], gbps: 3350 },
  { match: /A100.*80GB/i, name: 'A100 80GB', tops: [19.5, 156, 312, 624], gbps: 2039 },
  { match: /A100/i, name: 'A100 40GB', tops: [19.5, 156, 312, 624], gbps: 1555 },
  { match: /L40S/i, name: 'L40S', tops: [91.6, 183, 362, 733], gbps: 864 },
  { match: /\bL4\b/i, name: 'L4', tops: [30.3, 60, 121, 242], gbps: 300 },
  { match: /A10\b/i, name: 'A10', tops: [31.2, 62.5, 125, 250], gbps: 600 },
  { match: /\bT4\b/i, name: 'T4', tops: [8.1, 8.1, 65, 130], gbps: 320 },
  { match: /V100/i, name: 'V100 SXM2', tops: [15.7, 15.7, 125, 62.8], gbps: 900 },
  { match: /P40/i, name: 'Tesla P40', tops: [11.8, 11.8, 11.8, 47], gbps: 346 },
  { match: /M40/i, name: 'Tesla M40', tops: [7, 7, 7, 7], gbps: 288 },
];

/** The peaks of a GPU by the name its driver reports, or undefined when the table lacks it. */
export function peaksFor(deviceName: string): GpuPeaks | undefined {
  const row = TABLE.find((r) => r.match.test(deviceName));
  if (row === undefined) return undefined;
  const [fp32, tf32, fp16, int8] = row.tops;
  return { source: `${row.name} data sheet`, tops: { fp32, tf32, fp16, int8 }, gbps: row.gbps };
}

/** `--peaks <TOPS>,<GB/s>`: one operations figure (for the engine's precision) and the bandwidth. */
export function parsePeaks(spec: string, precision: Precision): GpuPeaks | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*$/.exec(spec);
  if (m === null || Number(m[1]) <= 0 || Number(m[2]) <= 0) return undefined;
  const tops = Number(m[1]);
  return { source: `--peaks (${precision})`, tops: { fp32: tops, tf32: tops, fp16: tops, int8: tops }, gbps: Number(m[2]) };
}

/** Bytes of one activation or weight element at a precision (an INT8 engine's tensors are INT8). */
export function elementBytes(precision: Precision): number {
  return precision === 'int8' ? 1 : precision === 'fp16' ? 2 : 4;
}

/** One layer's work at a batch: multiply-accumulates and bytes moved (unfused). */
export interface LayerWork {
  readonly macs: number;
  readonly bytes: number;
}

const volume = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * The cost of every layer of `net` at `batch` images, by layer name. `fusedInto` (layer -> the one
 * running it) names layers the engine runs inside another (cuda's LRN / pooling pairs, a pooling in
 * the loader of the convolution reading it): that one then costs both, without the tensor between
 * them (never written nor read), and the other has no entry. `mergedInto` (member -> the layer running the group) names sibling convolutions the
 * engine runs as one GEMM: that layer then costs all of them with their shared input read once, and
 * the others have no entry.
 */
export function layerWork(
  net: Network,
  batch: number,
  precision: Precision,
  fusedInto: ReadonlyMap<string, string> = new Map(),
  mergedInto: ReadonlyMap<string, string> = new Map(),
): Map<string, LayerWork> {
  const at = net.batchSize === batch ? net : net.withBatchSize(batch);
  const e = elementBytes(precision);
  const out = new Map<string, LayerWork>();
  const byName = new Map(at.layers.map((l) => [l.name, l]));
  for (const l of at.layers) {
    if (l.type === 'Input') continue;
    const tensors = [...l.inputs, ...l.outputs].map((t) => at.tensors.get(t)?.shape ?? []);
    const activations = tensors.reduce((s, shape) => s + volume(shape), 0);
    const weights = l.blobs.reduce((s, shape) => s + volume(shape), 0);
    out.set(l.name, { macs: l.macs, bytes: (activations + weights) * e });
  }
  for (const [second, first] of fusedInto) {
    const a = out.get(first);
    const b = out.get(second);
    // The tensor between them: the first's output, or (a layer run inside the one reading it, as a
    // pooling in a convolution's loader) the second's.
    const inner = byName.get(second)?.outputs[0];
    const between = inner !== undefined && byName.get(first)?.inputs.includes(inner) ? inner : byName.get(first)?.outputs[0];
    if (a === undefined || b === undefined || between === undefined) continue;
    const skipped = 2 * volume(at.tensors.get(between)?.shape ?? []) * e;
    out.set(first, { macs: a.macs + b.macs, bytes: a.bytes + b.bytes - skipped });
    out.delete(second);
  }
  for (const [member, runner] of mergedInto) {
    const a = out.get(runner);
    const b = out.get(member);
    const input = byName.get(member)?.inputs[0];
    if (a === undefined || b === undefined || input === undefined) continue;
    const shared = volume(at.tensors.get(input)?.shape ?? []) * e;
    out.set(runner, { macs: a.macs + b.macs, bytes: a.bytes + b.bytes - shared });
    out.delete(member);
  }
  return out;
}

/** The least time of a layer on a GPU with these peaks, ms. */
export function rooflineMs(cost: LayerWork, peaks: GpuPeaks, precision: Precision): number {
  const compute = (2 * cost.macs) / (peaks.tops[precision] * 1e12);
  const memory = cost.bytes / (peaks.gbps * 1e9);
  return Math.max(compute, memory) * 1e3;
}
