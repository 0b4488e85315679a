/**
 * Checks that the documents the report reads have the shape lib/bench/result.ts declares (and the
 * PyTorch peer's JSON, scripts/peers/torch_peer.py), and reads them from files. A value of the
 * wrong shape is a TypeError in the package's one message form, naming the field
 * (`Expected a positive integer for docs[1].points[3].batch but received ...`); the file readers
 * turn it into E_PARSE naming the file, so a CLI user sees which file and which field.
 */
import { promises as fsp } from 'fs';
import type { Precision } from '../builder/exec_graph';
import type { BenchResult, SweepDoc, SweepPoint } from '../bench/result';
import { argumentError, IOError, TensorRTNodeError } from '../errors';

/** The precisions a result may carry, in the order the report shows them. */
export const PRECISIONS: readonly Precision[] = ['fp32', 'tf32', 'fp16', 'int8'];

/** One batch size of a PyTorch peer run: `oom` when it did not fit, else the median CUDA-graph time. */
export interface PeerRow {
  batch: number;
  oom?: boolean;
  graph?: { ms: number };
}

/** The PyTorch peer's results for one network (one key of a peer file). */
export interface PeerNetwork {
  network?: { name?: string };
  environment?: { gpu?: { name?: string }; torch?: string; driver?: string };
  precisions: Record<string, { rows: PeerRow[] }>;
}

/** A PyTorch peer file: results by network id ({ alexnet: {...}, googlenet: {...} }). */
export type PeerDoc = Record<string, PeerNetwork>;

type Checked = Record<string, unknown>;

function isObject(v: unknown): v is Checked {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function object(v: unknown, name: string, what = 'an object'): Checked {
  if (!isObject(v)) throw argumentError(what, name, v);
  return v;
}

function string(v: unknown, name: string, allowEmpty = false): string {
  if (typeof v !== 'string' || (!allowEmpty && v === '')) throw argumentError(allowEmpty ? 'a string' : 'a non-empty string', name, v);
  return v;
}

function optionalString(v: unknown, name: string): void {
  if (v !== undefined) string(v, name, true);
}

function positiveInt(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw argumentError('a positive integer', name, v);
  return v;
}

function nonNegative(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw argumentError('a finite number >= 0', name, v);
  return v;
}

function optionalNonNegative(v: unknown, name: string): void {
  if (v !== undefined) nonNegative(v, name);
}

function precision(v: unknown, name: string): Precision {
  if (!PRECISIONS.includes(v as Precision)) throw argumentError(`one of ${PRECISIONS.map((p) => `'${p}'`).join(', ')}`, name, v);
  return v as Precision;
}

function version1(doc: Checked, name: string): void {
  if (doc.version !== 1) {
    throw argumentError(
      typeof doc.version === 'number' && doc.version > 1
        ? 'version 1 (this reader is older than the document: update tensorrt-node)'
        : 'version 1',
      `${name}.version`,
      doc.version,
    );
  }
}

function optionalTimeStats(v: unknown, name: string): void {
  if (v === undefined) return;
  const s = object(v, name);
  nonNegative(s.median, `${name}.median`);
}

/** Throws a TypeError naming the first field of `v` that a BenchResult cannot have. */
export function checkBenchResult(v: unknown, name: string): BenchResult {
  const doc = object(v, name, "a BenchResult (kind 'tensorrt-node-bench')");
  if (doc.kind !== 'tensorrt-node-bench') throw argumentError("'tensorrt-node-bench'", `${name}.kind`, doc.kind);
  version1(doc, name);
  string(doc.date, `${name}.date`);
  string(doc.network, `${name}.network`);
  string(doc.networkName, `${name}.networkName`, true);
  string(doc.backend, `${name}.backend`);
  precision(doc.precision, `${name}.precision`);
  positiveInt(doc.batch, `${name}.batch`);
  optionalString(doc.commit, `${name}.commit`);
  const device = object(doc.device, `${name}.device`);
  string(device.name, `${name}.device.name`);
  const throughput = object(doc.throughput, `${name}.throughput`);
  nonNegative(throughput.imagesPerSecond, `${name}.throughput.imagesPerSecond`);
  optionalNonNegative(doc.gpuComputeImagesPerSecond, `${name}.gpuComputeImagesPerSecond`);
  optionalTimeStats(doc.gpuComputeMs, `${name}.gpuComputeMs`);
  object(doc.settings, `${name}.settings`);
  if (doc.rank !== undefined) {
    const rank = object(doc.rank, `${name}.rank`);
    const size = positiveInt(rank.size, `${name}.rank.size`);
    if (typeof rank.rank !== 'number' || !Number.isInteger(rank.rank) || rank.rank < 0 || rank.rank >= size) {
      throw argumentError(`an integer in [0, ${size - 1}] (rank.size is ${size})`, `${name}.rank.rank`, rank.rank, 'range');
    }
  }
  return v as BenchResult;
}

function checkPoint(v: unknown, name: string): SweepPoint {
  const p = object(v, name);
  string(p.network, `${name}.network`);
  precision(p.precision, `${name}.precision`);
  positiveInt(p.batch, `${name}.batch`);
  positiveInt(p.gpus, `${name}.gpus`);
  if (p.status !== 'ok' && p.status !== 'oom' && p.status !== 'error')
    throw argumentError("'ok', 'oom' or 'error'", `${name}.status`, p.status);
  optionalString(p.message, `${name}.message`);
  if (p.status === 'ok') nonNegative(p.imagesPerSecond, `${name}.imagesPerSecond`);
  else optionalNonNegative(p.imagesPerSecond, `${name}.imagesPerSecond`);
  optionalNonNegative(p.gpuComputeImagesPerSecond, `${name}.gpuComputeImagesPerSecond`);
  if (p.perGpu !== undefined) {
    if (!Array.isArray(p.perGpu)) throw argumentError('an array of BenchResult', `${name}.perGpu`, p.perGpu);
    p.perGpu.forEach((r, i) => checkBenchResult(r, `${name}.perGpu[${i}]`));
  }
  return v as SweepPoint;
}

/** Throws a TypeError naming the first field of `v` that a SweepDoc cannot have. */
export function checkSweepDoc(v: unknown, name: string): SweepDoc {
  const doc = object(v, name, "a SweepDoc (kind 'tensorrt-node-sweep')");
  if (doc.kind !== 'tensorrt-node-sweep') throw argumentError("'tensorrt-node-sweep'", `${name}.kind`, doc.kind);
  version1(doc, name);
  string(doc.date, `${name}.date`);
  optionalString(doc.commit, `${name}.commit`);
  const machine = object(doc.machine, `${name}.machine`);
  if (!Array.isArray(machine.gpus)) throw argumentError('an array of devices', `${name}.machine.gpus`, machine.gpus);
  machine.gpus.forEach((g, i) => string(object(g, `${name}.machine.gpus[${i}]`).name, `${name}.machine.gpus[${i}].name`));
  optionalNonNegative(machine.driverVersion, `${name}.machine.driverVersion`);
  object(doc.settings, `${name}.settings`);
  if (!Array.isArray(doc.points)) throw argumentError('an array of sweep points', `${name}.points`, doc.points);
  doc.points.forEach((p, i) => checkPoint(p, `${name}.points[${i}]`));
  return v as SweepDoc;
}

/** A BenchResult or a SweepDoc, told apart by `kind`. */
export function checkResultDoc(v: unknown, name: string): BenchResult | SweepDoc {
  if (isObject(v) && v.kind === 'tensorrt-node-bench') return checkBenchResult(v, name);
  if (isObject(v) && v.kind === 'tensorrt-node-sweep') return checkSweepDoc(v, name);
  if (isObject(v)) {
    throw argumentError("a result document: kind 'tensorrt-node-bench' or 'tensorrt-node-sweep'", `${name}.kind`, v.kind);
  }
  throw argumentError('a BenchResult or SweepDoc object', name, v);
}

/** Throws a TypeError naming the first field of `v` that a PyTorch peer file cannot have. */
export function checkPeerDoc(v: unknown, name: string): PeerDoc {
  const doc = object(v, name, 'a PyTorch peer object (results by network)');
  if (Object.keys(doc).length === 0) throw argumentError('a PyTorch peer object with at least one network', name, v);
  for (const [key, entry] of Object.entries(doc)) {
    const net = object(entry, `${name}.${key}`);
    if (net.network !== undefined) optionalString(object(net.network, `${name}.${key}.network`).name, `${name}.${key}.network.name`);
    const precisions = object(net.precisions, `${name}.${key}.precisions`);
    for (const [p, block] of Object.entries(precisions)) {
      const rows = object(block, `${name}.${key}.precisions.${p}`).rows;
      if (!Array.isArray(rows)) throw argumentError('an array of rows', `${name}.${key}.precisions.${p}.rows`, rows);
      rows.forEach((r, i) => {
        const at = `${name}.${key}.precisions.${p}.rows[${i}]`;
        const row = object(r, at);
        positiveInt(row.batch, `${at}.batch`);
        if (row.graph !== undefined) {
          const ms = object(row.graph, `${at}.graph`).ms;
          if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) throw argumentError('a time in ms > 0', `${at}.graph.ms`, ms);
        }
      });
    }
  }
  return v as PeerDoc;
}

/**
 * Reads a JSON file: E_IO when it cannot be read, E_PARSE when it is binary (without its bytes;
 * `writers` says which files are meant) or not JSON (with line and column).
 */
export async function readJsonFile(path: string, what: string, writers = ''): Promise<unknown> {
  if (typeof path !== 'string' || path === '') throw argumentError('a path string', 'path', path);
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(path);
  } catch (err) {
    throw new IOError(`cannot read ${what} ${path}: ${(err as Error).message}`, path, { cause: err });
  }
  const text = bytes.toString('utf8');
  if (isBinary(bytes, text)) {
    // Never echo the bytes: the parser's message would print them onto the terminal.
    const plan = bytes.subarray(0, 8).toString('latin1') === 'TRTNPLAN' ? ' (a tensorrt-node plan)' : '';
    throw new TensorRTNodeError('E_PARSE', `${path}: not a ${what}: binary data, not JSON${plan}${writers ? `; ${writers}` : ''}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const message = printable((err as Error).message);
    const at = /position (\d+)/.exec(message);
    let where = path;
    if (at !== null) {
      const before = text.slice(0, Number(at[1]));
      const line = before.split('\n').length;
      where = `${path}:${line}:${Number(at[1]) - before.lastIndexOf('\n')}`;
    }
    throw new TensorRTNodeError('E_PARSE', `${where}: ${what} is not JSON: ${message}`, { cause: err });
  }
}

/** NUL or other control bytes, or bytes that are not UTF-8, in the first 4 kB: not JSON text. */
function isBinary(bytes: Buffer, text: string): boolean {
  const head = bytes.subarray(0, 4096);
  return head.some((b) => b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || text.slice(0, 4096).includes('\uFFFD');
}

/** A message with control characters escaped, so it cannot move the cursor or clear the terminal. */
function printable(message: string): string {
  // eslint-disable-next-line no-control-regex
  return message.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Runs a shape check on a file's contents, turning its TypeError into E_PARSE naming the file. */
function checkedFile<T>(path: string, value: unknown, check: (v: unknown, name: string) => T): T {
  try {
    return check(value, 'document');
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) {
      throw new TensorRTNodeError('E_PARSE', `${path}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/** Reads a BenchResult or SweepDoc file (E_IO, E_PARSE). */
export async function readResultFile(path: string): Promise<BenchResult | SweepDoc> {
  return checkedFile(
    path,
    await readJsonFile(path, 'result file', 'result files are the JSON that bench --json, sweep or report merge write'),
    checkResultDoc,
  );
}

/** Reads a PyTorch peer file (E_IO, E_PARSE). */
export async function readPeerFile(path: string): Promise<PeerDoc> {
  return checkedFile(path, await readJsonFile(path, 'peer file', 'peer files are the JSON that scripts/peers write'), checkPeerDoc);
}
