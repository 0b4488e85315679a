/**
 * NumPy .npy files (format 1.0 to 3.0): float32 arrays in and out, so any tool can feed and check
 * our engines. Reading accepts float16, float32, float64 and the integer types of either byte
 * order (converted to float32; uint8 arrays, images, are also kept as their bytes), C order only;
 * anything else is E_PARSE naming what the file holds. Writing: float32, or uint8 images.
 */
import { promises as fsp } from 'fs';
import { halfBitsToFloat } from './float16';
import { argumentError, IOError, ParseError } from './errors';

/** An array: shape and float32 data in C order. */
export interface NpyArray {
  readonly shape: readonly number[];
  readonly data: Float32Array;
  /** NumPy's dtype string as the file gives it ('<f4', '|u1' ...). */
  readonly descr: string;
  /** The bytes of a uint8 array ('|u1'), as they are (what a uint8 engine input takes). */
  readonly uint8?: Uint8Array;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

/** Readable dtypes: element width and reader, by NumPy's descr string. */
const DTYPES: Readonly<Record<string, readonly [number, (b: Buffer, o: number) => number]>> = {
  '<f2': [2, (b, o) => halfBitsToFloat(b.readUInt16LE(o))],
  '>f2': [2, (b, o) => halfBitsToFloat(b.readUInt16BE(o))],
  '<f4': [4, (b, o) => b.readFloatLE(o)],
  '>f4': [4, (b, o) => b.readFloatBE(o)],
  '<f8': [8, (b, o) => b.readDoubleLE(o)],
  '>f8': [8, (b, o) => b.readDoubleBE(o)],
  '|u1': [1, (b, o) => b.readUInt8(o)],
  '|i1': [1, (b, o) => b.readInt8(o)],
  '<u2': [2, (b, o) => b.readUInt16LE(o)],
  '>u2': [2, (b, o) => b.readUInt16BE(o)],
  '<i2': [2, (b, o) => b.readInt16LE(o)],
  '>i2': [2, (b, o) => b.readInt16BE(o)],
  '<u4': [4, (b, o) => b.readUInt32LE(o)],
  '>u4': [4, (b, o) => b.readUInt32BE(o)],
  '<i4': [4, (b, o) => b.readInt32LE(o)],
  '>i4': [4, (b, o) => b.readInt32BE(o)],
  '<i8': [8, (b, o) => Number(b.readBigInt64LE(o))],
  '>i8': [8, (b, o) => Number(b.readBigInt64BE(o))],
};

function fail(file: string, offset: number, problem: string): never {
  throw new ParseError({ file, line: 0, col: offset + 1 }, problem, undefined, '');
}

/** Parses .npy bytes; `file` names the source in errors. */
export function parseNpy(bytes: Uint8Array, file = '<npy>'): NpyArray {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) fail(file, 0, 'not a NumPy .npy file (no \\x93NUMPY magic)');
  const major = buf[6];
  if (major < 1 || major > 3) fail(file, 6, `.npy format version ${major}.${buf[7]} is not one this reader knows (1, 2, 3)`);
  const headerLength = major === 1 ? buf.readUInt16LE(8) : buf.length >= 12 ? buf.readUInt32LE(8) : fail(file, 8, 'truncated header');
  const start = major === 1 ? 10 : 12;
  if (start + headerLength > buf.length) fail(file, start, 'the header runs past the end of the file');
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', start, start + headerLength);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    fail(file, start, `unreadable header ${JSON.stringify(header.trim())}`);
  if (fortran === 'True') fail(file, start, 'Fortran-order arrays are not supported: save with np.ascontiguousarray');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(file, start, `bad shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const key = descr === '|b1' ? '|u1' : descr;
  const kind = Object.prototype.hasOwnProperty.call(DTYPES, key) ? DTYPES[key] : undefined;
  if (kind === undefined) fail(file, start, `dtype '${descr}' is not supported (a float or integer type of either byte order)`);
  const dataStart = start + headerLength;
  const [width, read] = kind;
  if (buf.length - dataStart !== count * width) {
    fail(file, dataStart, `the shape [${shape.join(', ')}] needs ${count * width} data bytes but the file has ${buf.length - dataStart}`);
  }
  let data: Float32Array;
  if (descr === '<f4') {
    data = new Float32Array(count);
    new Uint8Array(data.buffer).set(buf.subarray(dataStart, dataStart + count * 4));
  } else {
    data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = read(buf, dataStart + i * width);
  }
  return { shape, data, descr, ...(descr === '|u1' ? { uint8: Uint8Array.from(buf.subarray(dataStart, dataStart + count)) } : {}) };
}

/** Reads a .npy file. */
export async function readNpy(path: string): Promise<NpyArray> {
  if (typeof path !== 'string' || path === '') throw argumentError('a path string', 'path', path);
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(path);
  } catch (err) {
    throw new IOError(`cannot read ${path}: ${(err as Error).message}`, path, { cause: err });
  }
  return parseNpy(bytes, path);
}

/** .npy bytes (format 1.0, C order; little-endian float32, or '|u1' for a Uint8Array) of `data` with `shape`. */
export function formatNpy(shape: readonly number[], data: Float32Array | Uint8Array): Uint8Array {
  if (shape.reduce((a, b) => a * b, 1) !== data.length) {
    throw argumentError(`${shape.reduce((a, b) => a * b, 1)} values for shape [${shape.join(', ')}]`, 'data', data, 'range');
  }
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${data instanceof Uint8Array ? '|u1' : '<f4'}', 'fortran_order': False, 'shape': (${dims}), }`;
  // Data starts at a multiple of 64 bytes; the header ends with a newline.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = Buffer.alloc(total + data.byteLength);
  MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

/** Writes a .npy file. */
export async function writeNpy(path: string, shape: readonly number[], data: Float32Array | Uint8Array): Promise<void> {
  if (typeof path !== 'string' || path === '') throw argumentError('a path string', 'path', path);
  const bytes = formatNpy(shape, data);
  try {
    await fsp.writeFile(path, bytes);
  } catch (err) {
    throw new IOError(`cannot write ${path}: ${(err as Error).message}`, path, { cause: err });
  }
}
