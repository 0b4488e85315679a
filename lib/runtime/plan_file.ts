/**
 * The plan container: what engine.serialize() writes and Runtime.deserialize() reads.
 *
 *   bytes 0-7    magic "TRTNPLAN"
 *   bytes 8-11   format version (uint32 LE)
 *   bytes 12-15  header length in bytes (uint32 LE)
 *   bytes 16-23  total file length (uint64 LE)
 *   bytes 24-27  CRC-32 of bytes 32 .. end
 *   bytes 28-31  zero
 *   bytes 32..   header: JSON (package version, backend, precision, device arch, batch limit,
 *                inputs and outputs, and the section table), then sections at 64-byte
 *                boundaries: "graph" (the execution graph, JSON), "weights" (the prepared weights
 *                in the addon's binary form), "backend" (backend-specific bytes; may be empty).
 *
 * Loading checks, in order and before anything else is read: length, magic, format version,
 * total length, checksum, header, section table (every offset and length inside the file), and
 * that the header describes the graph section (name, precision, batch limit, inputs, outputs).
 */
import { promises as fsp } from 'fs';
import { crc32 } from 'zlib';
import { IOError, PlanError } from '../errors';
import { ioDtype, type ExecGraph, type ExecTensor, type IoDType, type Precision } from './graph_format';

/** The plan format this package writes and the newest it reads. */
export const PLAN_FORMAT_VERSION = 1;
const MAGIC = 'TRTNPLAN';
const FIXED = 32;
const ALIGN = 64;
const SECTION_NAMES = ['graph', 'weights', 'backend'] as const;

/** Name, dims and dtype of an engine input or output. */
export interface PlanTensor {
  readonly name: string;
  /** Dimensions of one image (the batch leads at run time). */
  readonly dims: readonly number[];
  /** Its host form; absent: float32 (plans from before other forms existed read the same). */
  readonly dtype?: IoDType;
}

const IO_DTYPES: readonly IoDType[] = ['float32', 'float16', 'uint8'];

/** The header form of a graph's input or output `id`. */
export function planTensor(graph: ExecGraph, id: number): PlanTensor {
  const t = graph.tensors[id];
  const dtype = ioDtype(t);
  const dims = imageDims(t);
  return dtype === 'float32' ? { name: t.name, dims } : { name: t.name, dims, dtype };
}

/** The dims of one image of a graph tensor: a region tensor's image is its rows, [R, ...one row's dims]. */
function imageDims(t: ExecTensor): readonly number[] {
  return (t.rows ?? 1) > 1 ? [t.rows as number, ...t.dims] : t.dims;
}

/** The plan's JSON header. */
export interface PlanHeader {
  readonly formatVersion: number;
  readonly packageVersion: string;
  readonly backend: string;
  readonly precision: Precision;
  /** GPU architecture the engine was built for ('sm_90'), or null for portable (cpu) plans. */
  readonly deviceArch: string | null;
  readonly maxBatchSize: number;
  readonly name: string;
  readonly createdAt: string;
  readonly inputs: readonly PlanTensor[];
  readonly outputs: readonly PlanTensor[];
  readonly sections: ReadonlyArray<{ readonly name: string; readonly offset: number; readonly length: number }>;
}

/** The parts of a plan. */
export interface PlanContents {
  readonly header: PlanHeader;
  readonly graphJson: string;
  readonly weights: Uint8Array;
  readonly backend: Uint8Array;
}

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

/** Where a plan's parts lie: its head (fixed header and JSON header), each section, its length. */
export interface PlanLayout {
  /** Bytes 0 .. the first section's offset, with the CRC field (bytes 24-27) zero. */
  readonly head: Buffer;
  readonly sections: PlanHeader['sections'];
  readonly total: number;
}

/** Lays out a plan whose graph, weights and backend sections have these byte lengths. */
export function layoutPlan(
  header: Omit<PlanHeader, 'sections' | 'formatVersion'>,
  graphLength: number,
  weightsLength: number,
  backendLength: number,
): PlanLayout {
  const lengths: Array<[string, number]> = [
    ['graph', graphLength],
    ['weights', weightsLength],
    ['backend', backendLength],
  ];
  // The section table's offsets depend on the header's own length: lay out with a generous
  // estimate of it, then fix the estimate if the real header is longer.
  let headerSpace = 512;
  for (;;) {
    let at = align(FIXED + headerSpace);
    const sections = lengths.map(([name, length]) => {
      const s = { name, offset: at, length };
      at = align(at + length);
      return s;
    });
    const json = Buffer.from(JSON.stringify({ formatVersion: PLAN_FORMAT_VERSION, ...header, sections }), 'utf8');
    if (json.length > headerSpace) {
      headerSpace = json.length + 256;
      continue;
    }
    const last = sections[sections.length - 1];
    const total = last.offset + last.length;
    const head = Buffer.alloc(sections[0].offset);
    head.write(MAGIC, 0, 'latin1');
    head.writeUInt32LE(PLAN_FORMAT_VERSION, 8);
    head.writeUInt32LE(json.length, 12);
    head.writeBigUInt64LE(BigInt(total), 16);
    json.copy(head, FIXED);
    return { head, sections, total };
  }
}

/** Writes a plan into memory (Engine.save streams the same bytes into a file). */
export function writePlan(
  header: Omit<PlanHeader, 'sections' | 'formatVersion'>,
  graph: ExecGraph | string,
  weights: Uint8Array,
  backend: Uint8Array,
): Uint8Array {
  const graphBytes = Buffer.from(typeof graph === 'string' ? graph : JSON.stringify(graph), 'utf8');
  const layout = layoutPlan(header, graphBytes.length, weights.length, backend.length);
  const out = Buffer.alloc(layout.total);
  layout.head.copy(out, 0);
  [graphBytes, weights, backend].forEach((bytes, i) => out.set(bytes, layout.sections[i].offset));
  out.writeUInt32LE(crc32(out.subarray(FIXED)), 24);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

function corrupt(problem: 'truncated' | 'magic' | 'checksum' | 'layout' | 'mismatch', message: string): PlanError {
  return new PlanError('E_PLAN_CORRUPT', problem, `not a usable plan: ${message}`);
}

/** The fixed header's fields, checked against the size of the plan they start. */
interface Fixed {
  readonly headerLength: number;
  readonly crc: number;
}

function checkFixed(buf: Buffer, size: number): Fixed {
  if (size < FIXED || buf.length < FIXED) {
    throw corrupt('truncated', `${size} bytes, but a plan starts with a ${FIXED}-byte header (the file is truncated or empty)`);
  }
  if (buf.toString('latin1', 0, 8) !== MAGIC) {
    throw corrupt('magic', 'it does not start with "TRTNPLAN" (a TensorRT .engine, a caffemodel or another file?)');
  }
  const version = buf.readUInt32LE(8);
  if (version > PLAN_FORMAT_VERSION) {
    throw new PlanError(
      'E_PLAN_VERSION',
      'version',
      `the plan has format version ${version}; this tensorrt-node reads up to ${PLAN_FORMAT_VERSION}: upgrade tensorrt-node or rebuild the plan`,
    );
  }
  if (version < 1) throw corrupt('layout', `format version ${version} does not exist`);
  const total = buf.readBigUInt64LE(16);
  if (total > BigInt(size)) {
    throw corrupt('truncated', `the header says ${total} bytes but there are ${size} (the file is truncated)`);
  }
  if (total < BigInt(size)) throw corrupt('layout', `${BigInt(size) - total} bytes follow the end the header gives`);
  if (buf.readUInt32LE(28) !== 0) throw corrupt('layout', 'reserved header bytes are not zero');
  return { headerLength: buf.readUInt32LE(12), crc: buf.readUInt32LE(24) };
}

/** Parses and checks the JSON header (`json`: its bytes) of a plan of `size` bytes. */
function parseHeader(json: Buffer, fixed: Fixed, size: number): PlanHeader {
  if (fixed.headerLength > size - FIXED) throw corrupt('layout', 'the header runs past the end of the file');
  let header: PlanHeader;
  try {
    header = JSON.parse(json.toString('utf8')) as PlanHeader;
  } catch (err) {
    throw corrupt('layout', `the header is not JSON (${(err as Error).message})`);
  }
  checkHeader(header, size, FIXED + fixed.headerLength);
  return header;
}

function sectionOf(header: PlanHeader, name: string): { offset: number; length: number } {
  return header.sections.find((x) => x.name === name) as { offset: number; length: number };
}

/** Reads and checks a plan's container; the sections are views into `plan`. */
export function readPlan(plan: Uint8Array): PlanContents {
  const buf = Buffer.from(plan.buffer, plan.byteOffset, plan.byteLength);
  const fixed = checkFixed(buf, buf.length);
  if (crc32(buf.subarray(FIXED)) !== fixed.crc) throw corrupt('checksum', 'checksum mismatch (the file was changed or damaged)');
  const header = parseHeader(buf.subarray(FIXED, FIXED + fixed.headerLength), fixed, buf.length);
  const section = (name: string): Uint8Array => {
    const s = sectionOf(header, name);
    return new Uint8Array(buf.buffer, buf.byteOffset + s.offset, s.length);
  };
  const graphJson = Buffer.from(section('graph')).toString('utf8');
  checkPlanGraph(header, graphJson);
  return {
    header,
    graphJson,
    weights: section('weights'),
    backend: section('backend'),
  };
}

/** A plan file's head and graph, read and checked; its weights and backend sections stay on disk. */
export interface PlanFileHead {
  readonly header: PlanHeader;
  readonly graphJson: string;
  /** The CRC-32 the fixed header gives for bytes 32 .. end (checked by whoever reads the rest). */
  readonly crc: number;
  readonly size: number;
}

/**
 * Reads and checks everything of a plan file but its checksum and the contents of its weights and
 * backend sections (a few small reads; the loader streams the rest and checks the checksum).
 * A file that fails a check here is read whole by readPlan, so the reason given is the one the
 * in-memory reader gives (a damaged byte is a checksum mismatch first). E_IO when it cannot be read.
 */
export async function readPlanFileHead(path: string): Promise<PlanFileHead> {
  let file: fsp.FileHandle;
  try {
    file = await fsp.open(path, 'r');
  } catch (err) {
    throw new IOError(`cannot read plan ${path}: ${(err as Error).message}`, path, { cause: err });
  }
  try {
    const size = (await file.stat()).size;
    const read = async (offset: number, length: number): Promise<Buffer> => {
      const buf = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
      await file.read(buf, 0, buf.length, offset);
      return buf;
    };
    try {
      const fixed = checkFixed(await read(0, FIXED), size);
      const header = parseHeader(await read(FIXED, fixed.headerLength), fixed, size);
      const g = sectionOf(header, 'graph');
      const graphJson = (await read(g.offset, g.length)).toString('utf8');
      checkPlanGraph(header, graphJson);
      return { header, graphJson, crc: fixed.crc, size };
    } catch (err) {
      if (err instanceof PlanError) readPlan(await fsp.readFile(path));
      throw err;
    }
  } catch (err) {
    if (err instanceof PlanError || err instanceof IOError) throw err;
    throw new IOError(`cannot read plan ${path}: ${(err as Error).message}`, path, { cause: err });
  } finally {
    await file.close();
  }
}

function checkHeader(h: PlanHeader, size: number, headerEnd: number): void {
  const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const tensors = (v: unknown) =>
    Array.isArray(v) &&
    v.every(
      (t) =>
        t !== null &&
        typeof t === 'object' &&
        typeof (t as PlanTensor).name === 'string' &&
        Array.isArray((t as PlanTensor).dims) &&
        (t as PlanTensor).dims.every((d) => isInt(d) && d > 0) &&
        ((t as PlanTensor).dtype === undefined || IO_DTYPES.includes((t as PlanTensor).dtype as IoDType)),
    );
  if (
    h === null ||
    typeof h !== 'object' ||
    typeof h.backend !== 'string' ||
    typeof h.precision !== 'string' ||
    !isInt(h.maxBatchSize) ||
    h.maxBatchSize < 1 ||
    typeof h.packageVersion !== 'string' ||
    !(h.deviceArch === null || typeof h.deviceArch === 'string') ||
    !tensors(h.inputs) ||
    !tensors(h.outputs) ||
    !Array.isArray(h.sections)
  ) {
    throw corrupt('layout', 'the header lacks fields a plan has');
  }
  const seen = new Set<string>();
  let end = headerEnd;
  for (const s of h.sections) {
    if (
      s === null ||
      typeof s !== 'object' ||
      !SECTION_NAMES.includes(s.name as (typeof SECTION_NAMES)[number]) ||
      seen.has(s.name) ||
      !isInt(s.offset) ||
      !isInt(s.length) ||
      s.offset < end ||
      s.offset + s.length > size
    ) {
      throw corrupt('layout', `bad section table entry ${JSON.stringify(s)}`);
    }
    seen.add(s.name);
    end = s.offset + s.length;
  }
  for (const name of SECTION_NAMES) if (!seen.has(name)) throw corrupt('layout', `no '${name}' section`);
}

/**
 * Checks that a plan header describes its graph section: the header is what callers see
 * (engine.inputs, precision, maxBatchSize), the graph is what runs, so an edited header would
 * give zero-padded outputs or claim a precision the engine does not have. Every loader calls it
 * after reading both (readPlan does). Returns the parsed graph.
 * E_PLAN_CORRUPT: 'layout' when the graph is not JSON or lacks fields, 'mismatch' naming the
 * field and both values otherwise.
 */
export function checkPlanGraph(
  header: Pick<PlanHeader, 'name' | 'precision' | 'maxBatchSize' | 'inputs' | 'outputs'>,
  graphJson: string,
): ExecGraph {
  let graph: ExecGraph;
  try {
    graph = JSON.parse(graphJson) as ExecGraph;
  } catch (err) {
    throw corrupt('layout', `the graph section: JSON is invalid (${(err as Error).message})`);
  }
  const tensors = graphTensors(graph);
  const shown = (v: unknown) => (typeof v === 'string' ? `'${v}'` : String(v));
  const mismatch = (what: string, ours: unknown, theirs: unknown) =>
    corrupt('mismatch', `the header ${what} is ${shown(ours)} but the graph's is ${shown(theirs)}`);
  if (header.name !== graph.name) throw mismatch('name', header.name, graph.name);
  if (header.precision !== graph.precision) throw mismatch('precision', header.precision, graph.precision);
  if (header.maxBatchSize !== graph.maxBatchSize) throw mismatch('maxBatchSize', header.maxBatchSize, graph.maxBatchSize);
  compareTensors(
    'input',
    header.inputs,
    graph.inputs.map((id) => ioTensor(tensors[id])),
  );
  compareTensors(
    'output',
    header.outputs,
    graph.outputs.map((id) => ioTensor(tensors[id])),
  );
  return graph;
}

function ioTensor(t: ExecTensor): PlanTensor {
  return { name: t.name, dims: imageDims(t), dtype: ioDtype(t) };
}

/** The graph's tensors, after checking the fields the header is compared with. */
function graphTensors(g: ExecGraph): readonly ExecTensor[] {
  const fail = (what: string) => corrupt('layout', `the graph section is not an execution graph (${what})`);
  if (g === null || typeof g !== 'object' || Array.isArray(g)) throw fail('not a JSON object');
  if (typeof g.name !== 'string' || typeof g.precision !== 'string' || typeof g.maxBatchSize !== 'number') {
    throw fail('no name, precision or maxBatchSize');
  }
  const tensors = g.tensors as unknown;
  if (
    !Array.isArray(tensors) ||
    !tensors.every((t: ExecTensor) => t !== null && typeof t === 'object' && typeof t.name === 'string' && Array.isArray(t.dims))
  ) {
    throw fail('no tensor list');
  }
  const ids = (v: unknown) => Array.isArray(v) && v.every((id) => Number.isInteger(id) && id >= 0 && id < tensors.length);
  if (!ids(g.inputs) || !ids(g.outputs)) throw fail('inputs or outputs that are not tensor ids');
  return tensors as ExecTensor[];
}

/** Header tensors against the graph's, in order: count, names, dims. */
function compareTensors(kind: 'input' | 'output', header: readonly PlanTensor[], graph: readonly PlanTensor[]): void {
  const names = (list: readonly PlanTensor[]) => list.map((t) => t.name).join(', ');
  if (header.length !== graph.length) {
    throw corrupt(
      'mismatch',
      `the header lists ${header.length} ${kind}(s) (${names(header)}) but the graph ${graph.length} (${names(graph)})`,
    );
  }
  header.forEach((h, i) => {
    const g = graph[i];
    if (h.name !== g.name) throw corrupt('mismatch', `the header ${kind} ${i} is named '${h.name}' but the graph's is '${g.name}'`);
    if (h.dims.length !== g.dims.length || h.dims.some((d, k) => d !== g.dims[k])) {
      throw corrupt(
        'mismatch',
        `the header ${kind} ${i} ('${h.name}') has dims [${h.dims.join(', ')}] but the graph's has [${g.dims.join(', ')}]`,
      );
    }
    if ((h.dtype ?? 'float32') !== g.dtype) {
      throw corrupt('mismatch', `the header ${kind} ${i} ('${h.name}') is ${h.dtype ?? 'float32'} but the graph's is ${g.dtype}`);
    }
  });
}
