/**
 * The JSON documents the timing tools write and the report reads (one schema, versioned):
 *   - BenchResult: one configuration timed on one device (`tensorrt-node bench --json`; one per
 *     worker or MPI rank with --gpus / mpirun);
 *   - SweepDoc: many configurations (`tensorrt-node sweep`, `report merge` of rank files), each a
 *     SweepPoint that sums its GPUs' results.
 * Times are milliseconds; throughput is images per second (batch x inferences per second).
 */
import type { Precision } from '../builder/exec_graph';

/** Statistics of a list of times (ms). */
export interface TimeStats {
  min: number;
  max: number;
  mean: number;
  median: number;
  /** By percentile as asked (--percentile 90,95,99): { "90": ms, ... }. */
  percentiles: Record<string, number>;
  /** Coefficient of variation: standard deviation / mean. */
  cv: number;
}

/** Where a result was measured. */
export interface DeviceRecord {
  /** GPU model ("NVIDIA H200") or the cpu model and thread count on the cpu backend. */
  name: string;
  /** CUDA device index as the measuring process saw it (after CUDA_VISIBLE_DEVICES). */
  index?: number;
  /** The physical GPU (the CUDA_VISIBLE_DEVICES entry) when a worker was pinned to one. */
  visibleDevice?: string;
  memoryBytes?: number;
  computeCapability?: string;
}

export interface BenchSettings {
  warmUpMs: number;
  durationS: number;
  iterations: number;
  avgRuns: number;
  percentiles: number[];
  /** False with --noDataTransfers: inputs and outputs stay on the device between inferences. */
  dataTransfers: boolean;
  useCudaGraph: boolean;
  streams: number;
  /**
   * Inferences kept queued per stream (--inflight; absent: 1, one infer() at a time as a Node
   * caller runs them). With 2 or more the next inference is queued while one runs (trtexec's
   * timing loop), and latency is H2D + GPU compute + D2H where the backend has GPU times.
   */
  inflight?: number;
}

/** One configuration timed on one device. */
export interface BenchResult {
  kind: 'tensorrt-node-bench';
  version: 1;
  date: string;
  packageVersion: string;
  commit?: string;
  /** The prototxt or plan given. */
  network: string;
  /** The network's own name (NetParameter.name). */
  networkName: string;
  backend: string;
  precision: Precision;
  batch: number;
  device: DeviceRecord;
  settings: BenchSettings;
  /** MPI rank or --gpus worker, when there were several. */
  rank?: { rank: number; size: number; localRank: number };
  iterations: number;
  walltimeSeconds: number;
  /** The timed window in host wall-clock time (ms since the epoch): GPUs behind a barrier overlap. */
  timedWindow?: { startEpochMs: number; endEpochMs: number };
  throughput: { imagesPerSecond: number; inferencesPerSecond: number };
  /** Host time of one inference (queueing, copies when transfers are on, compute). */
  latencyMs: TimeStats;
  /**
   * Host time to submit one inference: GPU backends measure it natively (input staging, the copies
   * and the kernel launches enqueued, before waiting for the GPU); the cpu backend has no
   * asynchronous part, so there it is the call's hand-over (until infer() returned its promise).
   */
  enqueueMs: TimeStats;
  /** GPU backends: CUDA events around the kernels of one inference. */
  gpuComputeMs?: TimeStats;
  h2dMs?: TimeStats;
  d2hMs?: TimeStats;
  /** Images per second from the median GPU compute time (the GPU's rate without copies). */
  gpuComputeImagesPerSecond?: number;
  warnings: string[];
  /** Where the result needs a word (the cpu backend ran because no GPU backend could). */
  note?: string;
  profile?: unknown;
}

/** One (network, precision, batch, GPU count) of a sweep. */
export interface SweepPoint {
  network: string;
  precision: Precision;
  batch: number;
  gpus: number;
  status: 'ok' | 'oom' | 'error';
  /** Why a point is 'oom' or 'error'. */
  message?: string;
  /** Sum over the GPUs of their images per second (each over the same timed window). */
  imagesPerSecond?: number;
  /** Sum over the GPUs of the images per second from the median GPU compute time. */
  gpuComputeImagesPerSecond?: number;
  perGpu?: BenchResult[];
}

export interface SweepDoc {
  kind: 'tensorrt-node-sweep';
  version: 1;
  date: string;
  packageVersion: string;
  commit?: string;
  preset?: string;
  machine: { gpus: DeviceRecord[]; driverVersion?: number; cpu: string; hostname: string };
  settings: BenchSettings;
  points: SweepPoint[];
}
