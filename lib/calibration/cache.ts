/**
 * TensorRT's calibration cache text format:
 *
 *   TRT-8601-EntropyCalibration2
 *   data: 3c010a14
 *   conv1: 3d5c9a0e
 *
 * The first line names the TensorRT version (major*1000+minor*100+patch before 10, major*10000+...
 * since) and the algorithm. Algorithms TensorRT lacks (percentile) get our own header,
 * `TRTN-PercentileCalibration`, so that TensorRT never takes the file for one of its caches.
 * Then one line per tensor: name, ': ', and the hex digits of the
 * float32 bit pattern of the scale (amax / 127). Files written by TensorRT 7-10 and by common
 * tools are read: names with spaces and brackets ("(Unnamed Layer* 3) [Activation]_output"),
 * hex without leading zeros (or empty, meaning 0), zero scales (tensors without a range), CRLF.
 * What we write reads back bit for bit.
 */
import { promises as fsp } from 'fs';
import { argumentError, IOError, ParseError } from '../errors';

/** Algorithm names as TensorRT writes them in the header. */
export type CacheAlgorithm =
  'EntropyCalibration2' | 'EntropyCalibration' | 'MinMaxCalibration' | 'LegacyCalibration' | 'PercentileCalibration';

/**
 * The algorithms TensorRT itself has, whose caches TensorRT reads: these get TensorRT's header.
 * @internal
 */
export const TENSORRT_CACHE_ALGORITHMS: readonly string[] = [
  'EntropyCalibration2',
  'EntropyCalibration',
  'MinMaxCalibration',
  'LegacyCalibration',
];

/** The TensorRT version we put in headers by default: 10.9.0. */
export const DEFAULT_TRT_VERSION = 100900;

/** A parsed cache: scales by tensor name, in file order. */
export interface CalibrationCache {
  /** The TensorRT version of a `TRT-` header; 0 for our own `TRTN-` header (and ignored when writing one). */
  readonly version: number;
  readonly algorithm: string;
  readonly scales: ReadonlyMap<string, number>;
}

/** The float32 of a bit pattern. */
function floatOfBits(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits >>> 0);
  return view.getFloat32(0);
}

/**
 * The bit pattern of a float32, as 8 lowercase hex digits.
 * @internal
 */
export function bitsOfFloat(value: number): string {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value);
  return view.getUint32(0).toString(16).padStart(8, '0');
}

/** Parses cache text; `file` names it in errors (E_PARSE with the line). */
export function parseCalibrationCache(text: string | Uint8Array, file = '<calibration cache>'): CalibrationCache {
  const s = (typeof text === 'string' ? text : Buffer.from(text).toString('utf8')).replace(/^\uFEFF/, '');
  const lines = s.split(/\r?\n/);
  const fail = (line: number, problem: string, token: string, expected: string): never => {
    throw new ParseError({ file, line, col: 1 }, problem, token, expected);
  };
  const header = /^TRT-(\d+)-([A-Za-z0-9]+)\s*$/.exec(lines[0] ?? '') ?? /^TRTN-()([A-Za-z0-9]+)\s*$/.exec(lines[0] ?? '');
  if (header === null) {
    fail(
      1,
      'this is not a TensorRT calibration cache',
      (lines[0] ?? '').slice(0, 40),
      'a first line like TRT-8601-EntropyCalibration2 (or TRTN-PercentileCalibration)',
    );
  }
  const [, version, algorithm] = header as RegExpExecArray;
  const scales = new Map<string, number>();
  const firstLine = new Map<string, number>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i].trimEnd();
    if (line === '') continue;
    const at = line.lastIndexOf(':');
    if (at <= 0) fail(i + 1, 'a cache line is `name: hex`', line.slice(0, 40), "a tensor name, ':' and hex digits");
    const name = line.slice(0, at).trim();
    const hex = line.slice(at + 1).trim();
    if (!/^[0-9a-fA-F]{0,8}$/.test(hex))
      fail(i + 1, `the scale of '${name}' is not up to 8 hex digits`, hex, 'the hex bit pattern of a float32');
    const value = floatOfBits(hex === '' ? 0 : parseInt(hex, 16));
    if (!Number.isFinite(value) || value < 0) fail(i + 1, `the scale of '${name}' is ${value}`, hex, 'a finite scale >= 0');
    if (firstLine.has(name)) fail(i + 1, `tensor '${name}' appears twice (first on line ${firstLine.get(name)})`, name, 'each tensor once');
    firstLine.set(name, i + 1);
    scales.set(name, value);
  }
  return { version: Number(version), algorithm, scales };
}

/**
 * The text of a cache (TensorRT's layout; names must not hold line breaks or end with ':'). The
 * header is TensorRT's for TensorRT's algorithms, ours (`TRTN-<Algorithm>`) for the others.
 */
export function formatCalibrationCache(cache: CalibrationCache): string {
  const lines = [
    TENSORRT_CACHE_ALGORITHMS.includes(cache.algorithm) ? `TRT-${cache.version}-${cache.algorithm}` : `TRTN-${cache.algorithm}`,
  ];
  for (const [name, scale] of cache.scales) {
    if (/[\r\n]/.test(name) || name.trim() !== name || name === '')
      throw argumentError('a tensor name without line breaks or edge spaces', 'cache.scales', name, 'range');
    if (!Number.isFinite(scale) || scale < 0) throw argumentError('a finite scale >= 0', `cache.scales.${name}`, scale, 'range');
    lines.push(`${name}: ${bitsOfFloat(scale)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Reads a cache file (E_IO when it cannot be read, E_PARSE when it is not a cache). */
export async function readCalibrationCacheFile(path: string): Promise<CalibrationCache> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    throw new IOError(`cannot read calibration cache ${path}: ${(err as Error).message}`, path, { cause: err });
  }
  return parseCalibrationCache(text, path);
}

/** Writes a cache file. */
export async function writeCalibrationCacheFile(path: string, cache: CalibrationCache): Promise<void> {
  const text = formatCalibrationCache(cache);
  try {
    await fsp.writeFile(path, text);
  } catch (err) {
    throw new IOError(`cannot write calibration cache ${path}: ${(err as Error).message}`, path, { cause: err });
  }
}
