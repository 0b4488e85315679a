/**
 * How long the rest of a sweep will take, from the points already measured: no guess is made
 * before the first point, since a build and an inference can take milliseconds (LeNet on the cpu)
 * or minutes (VGG16 at batch 4096), and the options say nothing about which.
 */

/** A point the sweep has finished, with what it cost. */
export interface TimedPoint {
  network: string;
  precision: string;
  batch: number;
  gpus: number;
  /** Wall time of the point, its engine build included. */
  seconds: number;
  /** The part of `seconds` spent building the engine (0 when the point reused one). */
  buildSeconds: number;
  /** Host time of one inference at this batch (timed window / inferences); absent when it did not run. */
  inferenceSeconds?: number;
}

/** A point still to run. */
export interface PlannedPoint {
  network: string;
  precision: string;
  batch: number;
  gpus: number;
}

/** The timing settings every point runs with. */
export interface PointTiming {
  durationS: number;
  warmUpMs: number;
  iterations: number;
}

/** Timed window plus warm-up of one point whose inferences take `inference` seconds. */
function timedSeconds(inference: number, t: PointTiming): number {
  // Both run at least once, and the window lasts at least `iterations` inferences.
  return Math.max(t.durationS, t.iterations * inference) + Math.max(t.warmUpMs / 1000, inference);
}

/** The measured point a planned one is most like: same network and precision (and one or several GPUs), else any. */
function reference(done: readonly TimedPoint[], p: PlannedPoint): TimedPoint | undefined {
  const ran = done.filter((d) => d.inferenceSeconds !== undefined);
  const like = (f: (d: TimedPoint) => boolean): TimedPoint | undefined => ran.filter(f).pop();
  return (
    like((d) => d.network === p.network && d.precision === p.precision && d.gpus > 1 === p.gpus > 1) ??
    like((d) => d.network === p.network && d.precision === p.precision) ??
    like((d) => d.gpus > 1 === p.gpus > 1) ??
    ran[ran.length - 1]
  );
}

/**
 * Seconds the `remaining` points should take: each like its nearest measured point, its inference
 * time scaled by the batch (linear: what large batches do), plus that point's overhead beyond
 * timing (contexts, worker processes), plus one build (the mean measured) for every network and
 * precision not built yet. Undefined before any point ran an inference.
 */
export function estimateSeconds(done: readonly TimedPoint[], remaining: readonly PlannedPoint[], t: PointTiming): number | undefined {
  if (!done.some((d) => d.inferenceSeconds !== undefined)) return remaining.length === 0 ? 0 : undefined;
  let total = 0;
  for (const p of remaining) {
    const ref = reference(done, p) as TimedPoint;
    const refInference = ref.inferenceSeconds as number;
    const overhead = Math.max(0, ref.seconds - ref.buildSeconds - timedSeconds(refInference, t));
    total += timedSeconds((refInference * p.batch) / ref.batch, t) + overhead;
  }
  const builds = done.filter((d) => d.buildSeconds > 0).map((d) => d.buildSeconds);
  const built = new Set(done.map((d) => `${d.network}|${d.precision}`));
  const toBuild = new Set(remaining.map((p) => `${p.network}|${p.precision}`).filter((k) => !built.has(k))).size;
  if (builds.length > 0) total += toBuild * (builds.reduce((a, b) => a + b, 0) / builds.length);
  return total;
}

/** '40 s', '6 min', '2.5 h'. */
export function formatDuration(seconds: number): string {
  if (seconds < 59.5) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3570) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** The sweep's stopwatch: each point runs from the end of the one before (or from start()). */
export class SweepClock {
  private readonly done: TimedPoint[] = [];
  private startedAt = performance.now();
  private buildSeconds = 0;

  constructor(private readonly timing: PointTiming) {}

  /** The next point starts now (after work that belongs to no point: importing a network). */
  start(): void {
    this.startedAt = performance.now();
    this.buildSeconds = 0;
  }

  /** Seconds of the current point spent building its engine. */
  addBuild(seconds: number): void {
    this.buildSeconds += seconds;
  }

  /** Records the finished point; returns the seconds the `remaining` points should take, if known yet. */
  finish(p: PlannedPoint, inferenceSeconds: number | undefined, remaining: readonly PlannedPoint[]): number | undefined {
    const seconds = (performance.now() - this.startedAt) / 1000;
    this.done.push({ ...p, seconds, buildSeconds: this.buildSeconds, ...(inferenceSeconds !== undefined ? { inferenceSeconds } : {}) });
    this.start();
    return estimateSeconds(this.done, remaining, this.timing);
  }
}
