/** The numbers the figures and tables of a report are drawn from, taken out of a SweepDoc once. */
import type { Precision } from '../builder/exec_graph';
import type { SweepDoc, SweepPoint } from '../bench/result';
import { networkKey, networkLabel } from './names';
import type { PeerDoc, PeerNetwork } from './schema';
import { PRECISIONS } from './schema';

/** One sweep point as the report uses it. */
export interface ReportPoint {
  /** The network as shown. */
  network: string;
  /** networkKey() of it. */
  key: string;
  precision: Precision;
  batch: number;
  gpus: number;
  status: SweepPoint['status'];
  message?: string;
  imagesPerSecond?: number;
  gpuComputeImagesPerSecond?: number;
  /** The median GPU compute time of each GPU (ms), when the point carries its per-GPU results. */
  computeMs: number[];
}

/** A network of the report, in the order it first appears in the sweep. */
export interface ReportNetwork {
  key: string;
  label: string;
}

/** The sweep's points, sorted by network (first appearance), precision, GPU count and batch. */
export function reportPoints(sweep: SweepDoc): ReportPoint[] {
  const order = new Map<string, number>();
  const points = sweep.points.map((p): ReportPoint => {
    const key = networkKey(p.network);
    if (!order.has(key)) order.set(key, order.size);
    const point: ReportPoint = {
      network: networkLabel(p.network),
      key,
      precision: p.precision,
      batch: p.batch,
      gpus: p.gpus,
      status: p.status,
      computeMs: (p.perGpu ?? []).map((r) => r.gpuComputeMs?.median).filter((m): m is number => m !== undefined),
    };
    if (p.message !== undefined) point.message = p.message;
    if (p.imagesPerSecond !== undefined) point.imagesPerSecond = p.imagesPerSecond;
    if (p.gpuComputeImagesPerSecond !== undefined) point.gpuComputeImagesPerSecond = p.gpuComputeImagesPerSecond;
    return point;
  });
  return points.sort(
    (a, b) =>
      (order.get(a.key) as number) - (order.get(b.key) as number) ||
      PRECISIONS.indexOf(a.precision) - PRECISIONS.indexOf(b.precision) ||
      a.gpus - b.gpus ||
      a.batch - b.batch,
  );
}

/** The networks of the points, in order; the label is the first spelling seen. */
export function reportNetworks(points: readonly ReportPoint[]): ReportNetwork[] {
  const seen = new Map<string, string>();
  for (const p of points) if (!seen.has(p.key)) seen.set(p.key, p.network);
  return [...seen].map(([key, label]) => ({ key, label }));
}

/** The precisions present, in FP32, TF32, FP16, INT8 order. */
export function presentPrecisions(points: readonly ReportPoint[]): Precision[] {
  return PRECISIONS.filter((p) => points.some((x) => x.precision === p));
}

/** The measured GPU model: the sweep's machine, else the per-GPU results, else 'unknown GPU'. */
export function gpuModel(sweep: SweepDoc): string {
  const fromMachine = sweep.machine.gpus[0]?.name;
  if (fromMachine) return fromMachine;
  for (const p of sweep.points) {
    const name = p.perGpu?.[0]?.device.name;
    if (name) return name;
  }
  return 'unknown GPU';
}

/** The backends that produced the points (from their per-GPU results). */
export function backends(sweep: SweepDoc): string[] {
  return [...new Set(sweep.points.flatMap((p) => (p.perGpu ?? []).map((r) => r.backend)))];
}

/** True when every point ran on the cpu backend (no GPU in the machine record, cpu in every result). */
export function isCpuSweep(sweep: SweepDoc): boolean {
  const used = backends(sweep);
  return sweep.machine.gpus.length === 0 && used.length > 0 && used.every((b) => b === 'cpu');
}

/** The ok point of a network, precision, batch and GPU count, if measured. */
export function okPoint(
  points: readonly ReportPoint[],
  key: string,
  precision: Precision,
  batch: number,
  gpus: number,
): ReportPoint | undefined {
  return points.find(
    (p) =>
      p.key === key &&
      p.precision === precision &&
      p.batch === batch &&
      p.gpus === gpus &&
      p.status === 'ok' &&
      p.imagesPerSecond !== undefined,
  );
}

/** The peer's entry for a network: by its key in the file, or by its network.name. */
export function peerNetwork(peer: PeerDoc | undefined, key: string): PeerNetwork | undefined {
  if (peer === undefined) return undefined;
  for (const [k, v] of Object.entries(peer)) {
    if (networkKey(k) === key || (v.network?.name !== undefined && networkKey(v.network.name) === key)) return v;
  }
  return undefined;
}

/** The peer's images per second (batch / median graph time) for a network, precision and batch. */
export function peerThroughput(
  peer: PeerDoc | undefined,
  key: string,
  precision: Precision,
  batch: number,
): { imagesPerSecond?: number; oom: boolean } | undefined {
  const row = peerNetwork(peer, key)?.precisions[precision]?.rows.find((r) => r.batch === batch);
  if (row === undefined) return undefined;
  if (row.oom === true || row.graph === undefined) return { oom: row.oom === true };
  return { imagesPerSecond: row.batch / (row.graph.ms / 1000), oom: false };
}

/** The GPU the peer says it ran on (the first network's), if it says. */
export function peerGpu(peer: PeerDoc | undefined): string | undefined {
  if (peer === undefined) return undefined;
  return Object.values(peer)
    .map((n) => n.environment?.gpu?.name)
    .find((g) => g !== undefined);
}
