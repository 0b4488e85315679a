/**
 * `mergeResults`: one SweepDoc from rank files and sweeps. A multi-GPU run writes one BenchResult
 * per GPU (MPI rank or --gpus worker, `rank: { rank, size }`); the files of one run time the same
 * network, precision and batch, and their images per second add up to the run's throughput.
 */
import type { BenchResult, BenchSettings, DeviceRecord, SweepDoc, SweepPoint } from '../bench/result';
import { argumentError, TensorRTNodeError } from '../errors';
import { networkKey, networkLabel } from './names';
import { checkResultDoc } from './schema';

/** Options of mergeResults. */
export interface MergeOptions {
  /** What to call each document in error messages (file names); default `docs[i]`. */
  sources?: readonly string[];
  /**
   * A (network, precision, batch, GPU count) given twice: 'error' (default) refuses; 'last' keeps
   * the later document's point (e.g. the 1-GPU points of a multi-GPU machine's sweep, so scaling
   * is computed within one run) and tells `onReplaced`.
   */
  duplicates?: 'error' | 'last';
  onReplaced?: (message: string) => void;
}

interface RankFile {
  result: BenchResult;
  source: string;
  order: number;
}

/** The settings that change what images/s means: results that differ in them cannot be put side by side. */
const COMPARABLE_SETTINGS: ReadonlyArray<keyof BenchSettings> = ['dataTransfers', 'useCudaGraph', 'inflight'];
/** A setting's value, absent ones as their default. */
function setting(s: BenchSettings, key: keyof BenchSettings): unknown {
  return key === 'inflight' ? (s.inflight ?? 1) : s[key];
}

function inconsistent(message: string): TensorRTNodeError {
  return new TensorRTNodeError('E_INVALID_ARGUMENT', message);
}

function describeRun(r: BenchResult): string {
  return `${networkLabel(r.networkName || r.network)} ${r.precision} batch ${r.batch}`;
}

function rankOf(r: BenchResult): number {
  return r.rank?.rank ?? 0;
}

function sizeOf(r: BenchResult): number {
  return r.rank?.size ?? 1;
}

/** The point of one complete group of rank files (already checked). */
function pointOfRun(files: RankFile[], network: string): SweepPoint {
  const perGpu = files.map((f) => f.result).sort((a, b) => rankOf(a) - rankOf(b));
  const sum = (get: (r: BenchResult) => number | undefined): number | undefined => {
    const values = perGpu.map(get);
    return values.every((v) => v !== undefined) ? values.reduce<number>((a, b) => a + (b as number), 0) : undefined;
  };
  const first = perGpu[0];
  const point: SweepPoint = {
    network,
    precision: first.precision,
    batch: first.batch,
    gpus: perGpu.length,
    status: 'ok',
    imagesPerSecond: sum((r) => r.throughput.imagesPerSecond),
    perGpu,
  };
  const compute = sum((r) => r.gpuComputeImagesPerSecond);
  if (compute !== undefined) point.gpuComputeImagesPerSecond = compute;
  return point;
}

/** Checks that the rank files of every run add up to whole runs; throws E_INVALID_ARGUMENT otherwise. */
function checkRuns(groups: Map<string, RankFile[]>): void {
  const incomplete: RankFile[][] = [];
  for (const files of groups.values()) {
    const size = sizeOf(files[0].result);
    const seen = new Map<number, RankFile>();
    for (const f of files) {
      const other = seen.get(rankOf(f.result));
      if (other !== undefined) {
        throw inconsistent(
          `${describeRun(f.result)} on ${size} GPU(s): rank ${rankOf(f.result)} appears twice ` +
            `(${other.source} and ${f.source}); give each rank's file once`,
        );
      }
      seen.set(rankOf(f.result), f);
      for (const [what, get] of [
        ['backend', (r: BenchResult) => r.backend],
        ['GPU', (r: BenchResult) => r.device.name],
      ] as const) {
        if (get(f.result) !== get(files[0].result)) {
          throw inconsistent(
            `${describeRun(f.result)} on ${size} GPUs: the ranks disagree on the ${what}: ` +
              `'${get(files[0].result)}' (${files[0].source}) but '${get(f.result)}' (${f.source})`,
          );
        }
      }
    }
    if (seen.size < size) incomplete.push(files);
  }
  if (incomplete.length === 0) return;
  const first = incomplete[0];
  const size = sizeOf(first[0].result);
  const sameSize = incomplete.filter((g) => sizeOf(g[0].result) === size);
  const listing = (g: RankFile[]) => g.map((f) => `rank ${rankOf(f.result)}: ${describeRun(f.result)} (${f.source})`).join('; ');
  if (sameSize.length > 1) {
    throw inconsistent(
      `the rank files of ${size}-GPU runs do not add up: every rank 0..${size - 1} of a run must time the ` +
        `same network, precision and batch, but got ${sameSize.map(listing).join('; ')}. ` +
        'Mismatched configurations, or files of different runs with ranks missing',
    );
  }
  const have = new Set(first.map((f) => rankOf(f.result)));
  const missing = Array.from({ length: size }, (_, r) => r).filter((r) => !have.has(r));
  throw inconsistent(
    `${describeRun(first[0].result)} on ${size} GPUs: rank${missing.length > 1 ? 's' : ''} ` +
      `${missing.join(', ')} missing (rank.size is ${size}; got ${listing(first)})`,
  );
}

function settingsOf(doc: BenchResult | SweepDoc): BenchSettings {
  return doc.settings;
}

function devicesOf(doc: BenchResult | SweepDoc): string[] {
  if (doc.kind === 'tensorrt-node-bench') return [doc.device.name];
  return [...doc.machine.gpus.map((g) => g.name), ...doc.points.flatMap((p) => (p.perGpu ?? []).map((r) => r.device.name))];
}

/**
 * Combines result documents into one SweepDoc. BenchResults are grouped into runs by network,
 * precision, batch and rank.size (a BenchResult without `rank` is a 1-GPU run); each run must have
 * every rank 0..size-1 exactly once, and becomes one SweepPoint with `gpus` = size and images per
 * second summed over its GPUs. Sweep docs' points are taken as they are. Every document must be
 * from one GPU model and agree on whether transfers are timed, CUDA graphs used and how many
 * inferences were queued, and no (network, precision, batch, GPU count) may appear twice unless
 * options.duplicates is 'last' (the later document's point wins).
 *
 * Throws TypeError for a document of the wrong shape (naming the field), E_INVALID_ARGUMENT when
 * the documents do not fit together (the message names the sources and what is missing).
 */
export function mergeResults(input: ReadonlyArray<BenchResult | SweepDoc>, options: MergeOptions = {}): SweepDoc {
  checkMergeArgs(input, options);
  const docs: ReadonlyArray<BenchResult | SweepDoc> = input;
  const source = (i: number): string => options.sources?.[i] ?? `docs[${i}]`;
  docs.forEach((d, i) => checkResultDoc(d, `docs[${i}]`));
  checkComparable(docs, source);
  const nameOf = networkNamer();
  const groups = rankGroups(docs, source);
  checkRuns(groups);
  const entries = pointEntries(docs, groups, source, nameOf);
  const dropped = duplicatesDropped(entries, options);
  return mergedDoc(
    docs,
    groups,
    entries.filter((_, i) => !dropped.has(i)).map((e) => e.point),
  );
}

/** mergeResults' arguments, checked in the package's message form. */
function checkMergeArgs(docs: unknown, options: MergeOptions): void {
  if (!Array.isArray(docs)) throw argumentError('an array of BenchResult or SweepDoc objects', 'docs', docs);
  if (docs.length === 0) throw argumentError('at least one result document', 'docs', docs, 'range');
  if (options === null || typeof options !== 'object') throw argumentError('an options object', 'options', options);
  const sources = options.sources;
  if (sources !== undefined && (!Array.isArray(sources) || sources.some((s) => typeof s !== 'string'))) {
    throw argumentError('an array of strings', 'options.sources', sources);
  }
  if (options.duplicates !== undefined && options.duplicates !== 'error' && options.duplicates !== 'last') {
    throw argumentError("'error' or 'last'", 'options.duplicates', options.duplicates);
  }
  if (options.onReplaced !== undefined && typeof options.onReplaced !== 'function') {
    throw argumentError('a function', 'options.onReplaced', options.onReplaced);
  }
}

/** One GPU model and comparable settings across the documents, or the error naming the odd one. */
function checkComparable(docs: ReadonlyArray<BenchResult | SweepDoc>, source: (i: number) => string): void {
  const models = new Map<string, string>();
  docs.forEach((d, i) =>
    devicesOf(d).forEach((name) => {
      if (!models.has(name)) models.set(name, source(i));
    }),
  );
  if (models.size > 1) {
    throw inconsistent(
      `a report covers one GPU model, but the results name ${models.size}: ` +
        `${[...models].map(([m, s]) => `${m} (${s})`).join(', ')}; merge each model's results separately`,
    );
  }
  for (const key of COMPARABLE_SETTINGS) {
    const firstValue = setting(settingsOf(docs[0]), key);
    const j = docs.findIndex((d) => setting(settingsOf(d), key) !== firstValue);
    if (j >= 0) {
      throw inconsistent(
        `the results disagree on settings.${key}: ${String(firstValue)} in ${source(0)} but ` +
          `${String(setting(settingsOf(docs[j]), key))} in ${source(j)}; their images/s are not comparable`,
      );
    }
  }
}

/** Network names: the first spelling seen of each network key is the one the merged doc uses. */
function networkNamer(): (raw: string) => string {
  const names = new Map<string, string>();
  return (raw) => {
    const key = networkKey(raw);
    if (!names.has(key)) names.set(key, networkLabel(raw));
    return names.get(key) as string;
  };
}

/** Bench results grouped by network, precision, batch and GPU count (the ranks of one mpirun). */
function rankGroups(docs: ReadonlyArray<BenchResult | SweepDoc>, source: (i: number) => string): Map<string, RankFile[]> {
  const groups = new Map<string, RankFile[]>();
  docs.forEach((d, i) => {
    if (d.kind !== 'tensorrt-node-bench') return;
    const key = [networkKey(d.networkName || d.network), d.precision, d.batch, sizeOf(d)].join('|');
    const files = groups.get(key) ?? [];
    files.push({ result: d, source: source(i), order: i });
    groups.set(key, files);
  });
  return groups;
}

type Entry = { point: SweepPoint; source: string; order: number };

/** Every point: the sweeps' points and one per group of bench ranks, in document order. */
function pointEntries(
  docs: ReadonlyArray<BenchResult | SweepDoc>,
  groups: ReadonlyMap<string, RankFile[]>,
  source: (i: number) => string,
  nameOf: (raw: string) => string,
): Entry[] {
  const entries: Entry[] = [];
  docs.forEach((d, i) => {
    if (d.kind === 'tensorrt-node-sweep') {
      d.points.forEach((p, j) =>
        entries.push({ point: { ...p, network: nameOf(p.network) }, source: `${source(i)} points[${j}]`, order: i }),
      );
    }
  });
  for (const files of groups.values()) {
    const first = files.reduce((a, b) => (b.order < a.order ? b : a));
    entries.push({
      point: pointOfRun(files, nameOf(first.result.networkName || first.result.network)),
      source: first.source,
      order: first.order,
    });
  }
  return entries.sort((a, b) => a.order - b.order);
}

/** The indices of points a later one replaces (duplicates 'last'), or the error naming both. */
function duplicatesDropped(entries: readonly Entry[], options: MergeOptions): Set<number> {
  const seen = new Map<string, { source: string; index: number }>();
  const dropped = new Set<number>();
  entries.forEach(({ point: p, source: s }, index) => {
    const key = [networkKey(p.network), p.precision, p.batch, p.gpus].join('|');
    const other = seen.get(key);
    if (other !== undefined) {
      if (options.duplicates !== 'last') {
        throw inconsistent(
          `${p.network} ${p.precision} batch ${p.batch} on ${p.gpus} GPU(s) appears twice: in ${other.source} and in ${s}; ` +
            'keep one of them (or --duplicates last)',
        );
      }
      dropped.add(other.index);
      options.onReplaced?.(`${p.network} ${p.precision} batch ${p.batch} on ${p.gpus} GPU(s): ${s} replaces ${other.source}`);
    }
    seen.set(key, { source: s, index });
  });
  return dropped;
}

/** The merged sweep document: the newest date, every commit, the machine with the most GPUs. */
function mergedDoc(docs: ReadonlyArray<BenchResult | SweepDoc>, groups: ReadonlyMap<string, RankFile[]>, points: SweepPoint[]): SweepDoc {
  const sweeps = docs.filter((d): d is SweepDoc => d.kind === 'tensorrt-node-sweep');
  const commits = [...new Set(docs.map((d) => d.commit).filter((c): c is string => c !== undefined && c !== ''))];
  const presets = [...new Set(sweeps.map((s) => s.preset).filter((p): p is string => p !== undefined))];
  const dates = docs.map((d) => d.date).sort((a, b) => (Date.parse(a) || 0) - (Date.parse(b) || 0));
  const gpuLists: DeviceRecord[][] = sweeps.map((s) => s.machine.gpus);
  for (const files of groups.values())
    gpuLists.push(
      files
        .map((f) => f.result)
        .sort((a, b) => rankOf(a) - rankOf(b))
        .map((r) => r.device),
    );
  const gpus = gpuLists.reduce((a, b) => (b.length > a.length ? b : a), []);
  const merged: SweepDoc = {
    kind: 'tensorrt-node-sweep',
    version: 1,
    date: dates[dates.length - 1],
    packageVersion: docs[0].packageVersion ?? 'unknown',
    machine: {
      gpus,
      cpu: sweeps[0]?.machine.cpu ?? 'unknown',
      hostname: sweeps[0]?.machine.hostname ?? 'unknown',
    },
    settings: (sweeps[0] ?? docs[0]).settings,
    points,
  };
  const driver = sweeps.find((s) => s.machine.driverVersion !== undefined)?.machine.driverVersion;
  if (driver !== undefined) merged.machine.driverVersion = driver;
  if (commits.length > 0) merged.commit = commits.join(', ');
  if (presets.length === 1) merged.preset = presets[0];
  return merged;
}
