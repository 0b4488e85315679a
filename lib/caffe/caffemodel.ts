/**
 * .caffemodel files (a binary NetParameter): a streaming reader and a writer.
 *
 * The reader walks the file with positioned reads and never holds the file in memory: each
 * blob's float payload is read from disk straight into the Float32Array that keeps it, so a
 * 550 MB VGG16 model costs 550 MB, not twice that. Layers in the current format (`layer`, 100),
 * V1 (`layers`, 2) and V0 (`layers { layer { ... } }`) are read; blob shapes come from BlobShape or
 * the legacy num/channels/height/width; float and double payloads are accepted (doubles are
 * narrowed to float32). Before each payload is allocated, the payloads so far and it are checked
 * against the host memory available when the read began (E_OUT_OF_MEMORY naming the layer).
 */
import { constants } from 'buffer';
import { promises as fsp } from 'fs';
import type { FileHandle } from 'fs/promises';
import { endianness } from 'os';
import { argumentError, IOError, OutOfMemoryError, ParseError, TensorRTNodeError, WeightsError } from '../errors';
import { availableHostMemory, MAX_FLOAT32_VALUES, type HostMemory } from '../host_memory';
import { caffeSchema } from './caffe_schema';
import type { Message } from './message';
import { decodeMessage, encodeMessage, WireReader, WireType, WireWriter } from './wire_format';

/** One weight blob. */
export interface CaffeBlob {
  /** Dimensions: BlobShape's dims, or [num, channels, height, width] for legacy blobs. */
  readonly shape: readonly number[];
  /** True when the shape came from the legacy 4-D fields. */
  readonly legacyShape: boolean;
  readonly data: Float32Array;
}

/** The weights of one layer. */
export interface CaffeModelLayer {
  readonly name: string;
  /** Layer type as the file gives it: 'Convolution' (current), 'CONVOLUTION' (V1), 'conv' (V0). */
  readonly type: string;
  /** Which layer message the file used. */
  readonly format: 'layer' | 'V1' | 'V0';
  readonly blobs: CaffeBlob[];
  /** The layer's other fields (name, type, bottoms, parameters), decoded. */
  readonly param: Message;
}

/** What readCaffemodel returns. */
export interface CaffeModelFile {
  readonly path: string;
  /** NetParameter.name, '' when absent. */
  readonly name: string;
  readonly layers: CaffeModelLayer[];
  /** The file's top-level fields other than its layers (name, input, ...). */
  readonly header: Message;
  /** File size in bytes. */
  readonly bytes: number;
  /** Number of fields skipped because the schema does not know them. */
  readonly unknownFields: number;
}

/** Options of readCaffemodel. */
export interface ReadCaffemodelOptions {
  /** Called after each blob payload with the bytes read so far and the file size. */
  readonly onProgress?: (bytesRead: number, totalBytes: number) => void;
}

const WINDOW = 1 << 16;
/** Payload views are this long at most: a multiple of 8, so no float or double straddles two. */
const PAYLOAD_VIEW = 0x40000000;
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** Positioned, buffered reads over an open file, with protobuf primitives. */
class FileCursor {
  private buf = Buffer.allocUnsafe(WINDOW);
  private bufStart = 0;
  private bufLen = 0;

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    readonly file: string,
  ) {}

  fail(pos: number, problem: string, expected = ''): never {
    throw new ParseError({ file: this.file, line: 0, col: pos + 1 }, problem, undefined, expected);
  }

  /** Makes [pos, pos + n) (clipped to `end`) available in the window; returns a reader over it. */
  private async window(pos: number, n: number, end: number): Promise<WireReader> {
    const want = Math.min(n, end - pos);
    if (pos < this.bufStart || pos + want > this.bufStart + this.bufLen) {
      const length = Math.min(WINDOW, this.size - pos);
      const { bytesRead } = await this.fh.read(this.buf, 0, length, pos);
      this.bufStart = pos;
      this.bufLen = bytesRead;
      if (bytesRead < want) this.fail(pos + bytesRead, 'file ends early', `${want} more bytes`);
    }
    return new WireReader(this.buf, pos - this.bufStart, pos - this.bufStart + want, this.file, this.bufStart);
  }

  /** Reads a tag at pos; returns field number, wire type and the position after it. */
  async tag(pos: number, end: number): Promise<{ field: number; wire: number; next: number }> {
    const r = await this.window(pos, 10, end);
    const tag = r.uvarint();
    const field = Math.floor(tag / 8);
    if (field === 0) this.fail(pos, 'field number 0', 'a field number >= 1');
    return { field, wire: tag & 7, next: this.bufStart + r.pos };
  }

  /** Reads a length prefix at pos and checks it against `end`. */
  async len(pos: number, end: number): Promise<{ len: number; next: number }> {
    const r = await this.window(pos, 10, end);
    const len = r.uvarint();
    const next = this.bufStart + r.pos;
    if (len > end - next) this.fail(pos, `length ${len} runs past the end of its message (${end - next} bytes left)`, 'a length that fits');
    return { len, next };
  }

  /** Skips a value of the given wire type at pos; returns the position after it. */
  async skip(pos: number, end: number, wire: number, field: number): Promise<number> {
    if (wire === WireType.Len) {
      const { len, next } = await this.len(pos, end);
      return next + len;
    }
    if (wire === WireType.StartGroup) {
      // Groups are not used by Caffe; read the remaining bytes of the parent to skip one safely.
      const r = await this.windowFull(pos, end);
      r.skip(wire, field);
      return this.bufStart + r.pos;
    }
    const r = await this.window(pos, 10, end);
    r.skip(wire, field);
    return this.bufStart + r.pos;
  }

  private async windowFull(pos: number, end: number): Promise<WireReader> {
    const bytes = await this.bytes(pos, end - pos);
    return new WireReader(bytes, 0, bytes.length, this.file, pos);
  }

  /** Copies n bytes at pos into a new buffer. */
  async bytes(pos: number, n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    await this.readInto(pos, out);
    return out;
  }

  /**
   * Reads `bytes` bytes at pos into `buffer` from its start, through views of at most 1 GiB (one
   * typed array holds at most 2^32 elements, and a payload may be larger), each passed to `each`
   * once read.
   */
  async readPayload(pos: number, buffer: ArrayBuffer, bytes: number, each: (view: Uint8Array) => void): Promise<void> {
    for (let done = 0; done < bytes; done += PAYLOAD_VIEW) {
      const view = new Uint8Array(buffer, done, Math.min(PAYLOAD_VIEW, bytes - done));
      await this.readInto(pos + done, view);
      each(view);
    }
  }

  /** Reads target.length bytes at pos straight into target. */
  async readInto(pos: number, target: Uint8Array): Promise<void> {
    let done = 0;
    while (done < target.length) {
      // Node caps one read at 2 GiB; larger payloads arrive in several reads.
      const chunk = Math.min(target.length - done, 0x40000000);
      const { bytesRead } = await this.fh.read(target, done, chunk, pos + done);
      if (bytesRead === 0) this.fail(pos + done, 'file ends early', `${target.length - done} more bytes`);
      done += bytesRead;
    }
  }
}

/** Reverses the byte order of each 4- or 8-byte element. */
function toHostOrderAlways(bytes: Uint8Array, width: 4 | 8): void {
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

/**
 * Memory for a payload of `bytes`: uninitialised (every byte is overwritten by the read, so
 * zero-filling would be wasted) up to Buffer's limit, a zeroed ArrayBuffer past it (Linux maps
 * such sizes fresh, already zero, so nothing is filled either).
 */
function payloadBuffer(bytes: number): ArrayBuffer {
  return bytes <= constants.MAX_LENGTH ? (Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer) : new ArrayBuffer(bytes);
}

/** Little-endian file bytes to host order (a no-op on little-endian hosts). */
function toHostOrder(bytes: Uint8Array, width: 4 | 8): void {
  if (!LITTLE_ENDIAN_HOST) toHostOrderAlways(bytes, width);
}

function fieldNumber(message: string, field: string): number {
  return caffeSchema.message(message).byName.get(field)?.number ?? -1;
}

const NET_LAYER = fieldNumber('NetParameter', 'layer');
const NET_LAYERS_V1 = fieldNumber('NetParameter', 'layers');
const BLOBS: Record<'LayerParameter' | 'V1LayerParameter' | 'V0LayerParameter', number> = {
  LayerParameter: fieldNumber('LayerParameter', 'blobs'),
  V1LayerParameter: fieldNumber('V1LayerParameter', 'blobs'),
  V0LayerParameter: fieldNumber('V0LayerParameter', 'blobs'),
};
const V1_V0_LAYER = fieldNumber('V1LayerParameter', 'layer');
const NAME: Record<'LayerParameter' | 'V1LayerParameter' | 'V0LayerParameter', number> = {
  LayerParameter: fieldNumber('LayerParameter', 'name'),
  V1LayerParameter: fieldNumber('V1LayerParameter', 'name'),
  V0LayerParameter: fieldNumber('V0LayerParameter', 'name'),
};
const BLOB = {
  shape: fieldNumber('BlobProto', 'shape'),
  data: fieldNumber('BlobProto', 'data'),
  doubleData: fieldNumber('BlobProto', 'double_data'),
  num: fieldNumber('BlobProto', 'num'),
  channels: fieldNumber('BlobProto', 'channels'),
  height: fieldNumber('BlobProto', 'height'),
  width: fieldNumber('BlobProto', 'width'),
};

interface ReadState {
  readonly cursor: FileCursor;
  readonly options: ReadCaffemodelOptions;
  unknownFields: number;
  /** The last byte count given to onProgress. */
  progress: number;
  /** Host memory available when the read began, and the payload bytes allocated since. */
  readonly memory: HostMemory;
  allocated: number;
  /** The name of the layer being read, once its name field has been seen ('' before). */
  layerName: string;
}

/**
 * Counts a payload of `bytes` (`values` elements) about to be allocated at `pos`: E_OUT_OF_MEMORY
 * naming the layer when it cannot be one typed array or the payloads so far pass the memory.
 */
function reserve(state: ReadState, bytes: number, values: number, pos: number): void {
  const { memory, cursor } = state;
  const layer = state.layerName === '' ? `a layer (its blob at byte ${pos})` : `layer '${state.layerName}'`;
  if (values > MAX_FLOAT32_VALUES) {
    throw new OutOfMemoryError(
      `${cursor.file}: ${layer} has a blob of ${values} values (${bytes} bytes), more than the ` +
        `${MAX_FLOAT32_VALUES} values one typed array holds in Node.js ${process.version}`,
      state.layerName,
      bytes,
    );
  }
  state.allocated += bytes;
  if (state.allocated > memory.bytes) {
    throw new OutOfMemoryError(
      `cannot read the weights of ${cursor.file}: with a blob of ${bytes} bytes of ${layer}, ` +
        `they need ${state.allocated} bytes of host memory (the file has ${cursor.size}) but ${memory.bytes} bytes are available ` +
        `(${memory.source}). Free host memory, or use a machine with more memory`,
      state.layerName,
      state.allocated,
      memory.bytes,
    );
  }
}

/** Reports progress at `pos`. */
function progress(state: ReadState, pos: number): void {
  state.progress = pos;
  state.options.onProgress?.(pos, state.cursor.size);
}

/** True when the file starts with at least 16 bytes of printable text: a prototxt given as weights. */
async function looksLikeText(fh: FileHandle): Promise<boolean> {
  const head = Buffer.alloc(512);
  const { bytesRead } = await fh.read(head, 0, head.length, 0);
  return bytesRead >= 16 && head.subarray(0, bytesRead).every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
}

/**
 * Reads the layers and weight blobs of a .caffemodel. Fails with E_IO when the file cannot be
 * read, E_PARSE (file and byte offset) when it is not a valid NetParameter, E_WEIGHTS when a
 * blob's shape and payload disagree, and E_OUT_OF_MEMORY (before allocating) when the payloads
 * read so far and the next one pass the host memory available (TRTN_HOST_MEMORY_LIMIT: a test hook).
 */
export async function readCaffemodel(path: string, options: ReadCaffemodelOptions = {}): Promise<CaffeModelFile> {
  const memory = availableHostMemory();
  let fh: FileHandle;
  try {
    fh = await fsp.open(path, 'r');
  } catch (err) {
    throw new IOError(`cannot open weights file ${path}: ${(err as Error).message}`, path, { cause: err });
  }
  try {
    const size = (await fh.stat()).size;
    const state: ReadState = {
      cursor: new FileCursor(fh, size, path),
      options,
      unknownFields: 0,
      progress: 0,
      memory,
      allocated: 0,
      layerName: '',
    };
    if (size === 0) state.cursor.fail(0, 'the file is empty', 'a binary NetParameter with layers');
    const layers: CaffeModelLayer[] = [];
    const headerRanges: Array<[number, number]> = [];
    let pos = 0;
    while (pos < size) {
      const start = pos;
      const { field, wire, next } = await state.cursor.tag(pos, size);
      if ((field === NET_LAYER || field === NET_LAYERS_V1) && wire === WireType.Len) {
        const { len, next: body } = await state.cursor.len(next, size);
        state.layerName = '';
        layers.push(await readLayer(state, body, body + len, field === NET_LAYER ? 'LayerParameter' : 'V1LayerParameter'));
        pos = body + len;
      } else {
        pos = await state.cursor.skip(next, size, wire, field);
        headerRanges.push([start, pos]);
      }
    }
    const header = await decodeRanges(state, 'NetParameter', headerRanges);
    if (layers.length === 0 && !header.has('name')) {
      state.cursor.fail(0, 'no layers found: this is not a .caffemodel', 'a binary NetParameter with layers');
    }
    if (state.progress < size) options.onProgress?.(size, size);
    return { path, name: header.str('name'), layers, header, bytes: size, unknownFields: state.unknownFields };
  } catch (err) {
    if (err instanceof ParseError && (await looksLikeText(fh))) {
      throw new ParseError({ file: path, line: 0, col: 1 }, 'this is a text file (a prototxt?), not a binary .caffemodel', undefined, '');
    }
    if (err instanceof TensorRTNodeError) throw err;
    throw new IOError(`cannot read weights file ${path}: ${(err as Error).message}`, path, { cause: err });
  } finally {
    await fh.close();
  }
}

/** Decodes the concatenation of [start, end) byte ranges (each a whole field) as one message. */
async function decodeRanges(state: ReadState, type: string, ranges: Array<[number, number]>): Promise<Message> {
  const total = ranges.reduce((n, [a, b]) => n + (b - a), 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const [a, b] of ranges) {
    await state.cursor.readInto(a, bytes.subarray(at, at + (b - a)));
    at += b - a;
  }
  try {
    return decodeMessage(caffeSchema, type, bytes, 0, bytes.length, {
      file: state.cursor.file,
      // Layer parameters of Caffe's forks reuse BVLC field numbers with other types.
      mismatchAsUnknown: true,
      onUnknown: () => {
        state.unknownFields++;
      },
    });
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    // The decoder saw offsets in the concatenation: map the error back to the file.
    let offset = err.position.col - 1;
    for (const [a, b] of ranges) {
      if (offset < b - a) {
        offset += a;
        break;
      }
      offset -= b - a;
    }
    throw new ParseError({ file: state.cursor.file, line: 0, col: offset + 1 }, err.problem, err.token, err.expected);
  }
}

async function readLayer(
  state: ReadState,
  start: number,
  end: number,
  type: 'LayerParameter' | 'V1LayerParameter' | 'V0LayerParameter',
): Promise<CaffeModelLayer> {
  const cur = state.cursor;
  const blobs: CaffeBlob[] = [];
  const ranges: Array<[number, number]> = [];
  let v0: CaffeModelLayer | undefined;
  let pos = start;
  while (pos < end) {
    const fieldStart = pos;
    const { field, wire, next } = await cur.tag(pos, end);
    if (field === BLOBS[type] && wire === WireType.Len) {
      const { len, next: body } = await cur.len(next, end);
      blobs.push(await readBlob(state, body, body + len));
      pos = body + len;
    } else if (type === 'V1LayerParameter' && field === V1_V0_LAYER && wire === WireType.Len) {
      const { len, next: body } = await cur.len(next, end);
      v0 = await readLayer(state, body, body + len, 'V0LayerParameter');
      pos = body + len;
    } else {
      pos = await cur.skip(next, end, wire, field);
      ranges.push([fieldStart, pos]);
      if (field === NAME[type] && wire === WireType.Len) {
        // Caffe writes the name before the blobs: memory errors can then name the layer.
        const { len, next: body } = await cur.len(next, end);
        state.layerName = Buffer.from(await cur.bytes(body, Math.min(len, 1024))).toString('utf8');
      }
    }
  }
  const param = await decodeRanges(state, type, ranges);
  if (v0 !== undefined) {
    // A V1 wrapper around a V0 layer: the V0 message holds the name, type and weights.
    const merged: CaffeModelLayer = { ...v0, blobs: blobs.length > 0 ? blobs : v0.blobs, param };
    checkBlobCounts(merged);
    return merged;
  }
  const format = type === 'LayerParameter' ? 'layer' : type === 'V1LayerParameter' ? 'V1' : 'V0';
  const layer: CaffeModelLayer = { name: param.str('name'), type: param.str('type'), format, blobs, param };
  checkBlobCounts(layer);
  return layer;
}

function checkBlobCounts(layer: CaffeModelLayer): void {
  layer.blobs.forEach((blob, index) => {
    const count = blob.shape.reduce((a, b) => a * b, 1);
    if (count !== blob.data.length) {
      throw new WeightsError(
        `weights of layer '${layer.name}', blob ${index}: shape [${blob.shape.join(', ')}] holds ${count} values ` +
          `but the file gives ${blob.data.length}`,
        layer.name,
        index,
        blob.shape,
        [blob.data.length],
      );
    }
  });
}

async function readBlob(state: ReadState, start: number, end: number): Promise<CaffeBlob> {
  const cur = state.cursor;
  let shape: number[] | undefined;
  const legacy = [0, 0, 0, 0];
  let legacySeen = false;
  let data: Float32Array | undefined;
  const doubleRuns: Float64Array[] = [];
  const loose: number[] = []; // unpacked float values, one field each
  const looseDoubles: number[] = [];
  let pos = start;
  while (pos < end) {
    const { field, wire, next } = await cur.tag(pos, end);
    if (field === BLOB.shape && wire === WireType.Len) {
      const { len, next: body } = await cur.len(next, end);
      const bytes = await cur.bytes(body, len);
      const msg = decodeMessage(caffeSchema, 'BlobShape', bytes, 0, len, { file: cur.file, base: body });
      shape = msg.nums('dim');
      for (const d of shape) if (d < 0) cur.fail(body, `negative blob dimension ${d}`, 'dimensions >= 0');
      pos = body + len;
    } else if (field === BLOB.data && wire === WireType.Len) {
      const { len, next: body } = await cur.len(next, end);
      if (len % 4 !== 0) cur.fail(next, `float payload of ${len} bytes is not a whole number of floats`, 'a multiple of 4 bytes');
      reserve(state, len, len / 4, start);
      const buffer = payloadBuffer(len);
      await cur.readPayload(body, buffer, len, (view) => toHostOrder(view, 4));
      const arr = new Float32Array(buffer, 0, len / 4);
      data = data === undefined ? arr : concatFloat32(data, arr);
      pos = body + len;
      progress(state, pos);
    } else if (field === BLOB.doubleData && wire === WireType.Len) {
      const { len, next: body } = await cur.len(next, end);
      if (len % 8 !== 0) cur.fail(next, `double payload of ${len} bytes is not a whole number of doubles`, 'a multiple of 8 bytes');
      // The doubles and the floats they are narrowed to are held together for a moment.
      reserve(state, len + len / 2, len / 8, start);
      const buffer = payloadBuffer(len);
      await cur.readPayload(body, buffer, len, (view) => toHostOrder(view, 8));
      const arr = new Float64Array(buffer, 0, len / 8);
      doubleRuns.push(arr);
      pos = body + len;
      progress(state, pos);
    } else if (field === BLOB.doubleData && wire === WireType.Fixed64) {
      const bytes = await cur.bytes(next, Math.min(8, end - next));
      if (bytes.length < 8) cur.fail(next, 'truncated double', '8 bytes');
      looseDoubles.push(Buffer.from(bytes).readDoubleLE(0));
      pos = next + 8;
    } else if (field === BLOB.data && wire === WireType.Fixed32) {
      const bytes = await cur.bytes(next, Math.min(4, end - next));
      if (bytes.length < 4) cur.fail(next, 'truncated float', '4 bytes');
      loose.push(Buffer.from(bytes).readFloatLE(0));
      pos = next + 4;
    } else if (
      (field === BLOB.num || field === BLOB.channels || field === BLOB.height || field === BLOB.width) &&
      wire === WireType.Varint
    ) {
      const bytes = await cur.bytes(next, Math.min(10, end - next));
      const r = new WireReader(bytes, 0, bytes.length, cur.file, next);
      const v = r.varint().lo | 0;
      if (v < 0) cur.fail(next, `negative legacy blob dimension ${v}`, 'dimensions >= 0');
      legacy[field - BLOB.num] = v;
      legacySeen = true;
      pos = next + r.pos;
    } else {
      // diff / double_diff (training state) and unknown fields.
      pos = await cur.skip(next, end, wire, field);
    }
  }
  // Caffe prefers double_data when present.
  const doubleCount = doubleRuns.reduce((n, r) => n + r.length, 0) + looseDoubles.length;
  let values: Float32Array;
  if (doubleCount > 0) {
    values = new Float32Array(doubleCount);
    let at = 0;
    for (const run of doubleRuns) {
      values.set(run, at);
      at += run.length;
    }
    values.set(looseDoubles, at);
  } else if (data !== undefined) values = loose.length > 0 ? concatFloat32(data, Float32Array.from(loose)) : data;
  else values = Float32Array.from(loose);
  if (shape !== undefined) return { shape, legacyShape: false, data: values };
  if (legacySeen) return { shape: legacy, legacyShape: true, data: values };
  // No shape at all is a 0-axis blob (one value), as Caffe reads it.
  return { shape: [], legacyShape: false, data: values };
}

function concatFloat32(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** A layer to write: a LayerParameter (or V1LayerParameter) message without blobs, and its blobs. */
export interface LayerToWrite {
  readonly param: Message;
  readonly blobs: ReadonlyArray<{ readonly shape: readonly number[]; readonly data: Float32Array }>;
}

/** Options of writeCaffemodel. */
export interface WriteCaffemodelOptions {
  /** Write blob shapes as the legacy num/channels/height/width fields (V1-era files; at most 4 dims). */
  readonly legacyShapes?: boolean;
  /** Write payloads as double_data (some converters did). */
  readonly doubleData?: boolean;
}

/**
 * Writes a .caffemodel: NetParameter `header` fields first (name ...), then each layer with its
 * blobs; layers whose param is a V1LayerParameter go to `layers` (2), others to `layer` (100).
 * Payloads are streamed to the file, never joined into one buffer.
 */
export async function writeCaffemodel(
  path: string,
  header: Message,
  layers: readonly LayerToWrite[],
  options: WriteCaffemodelOptions = {},
): Promise<void> {
  layers.forEach((layer, i) =>
    layer.blobs.forEach((b, j) => {
      if (options.legacyShapes === true && b.shape.length > 4) {
        throw argumentError('a shape of at most 4 dimensions (legacyShapes)', `layers[${i}].blobs[${j}].shape`, b.shape, 'range');
      }
      if (b.shape.reduce((n, d) => n * d, 1) !== b.data.length) {
        throw argumentError(
          `${b.shape.reduce((n, d) => n * d, 1)} values for shape [${b.shape.join(', ')}]`,
          `layers[${i}].blobs[${j}].data`,
          b.data,
          'range',
        );
      }
    }),
  );
  let fh: FileHandle;
  try {
    fh = await fsp.open(path, 'w');
  } catch (err) {
    throw new IOError(`cannot write weights file ${path}: ${(err as Error).message}`, path, { cause: err });
  }
  try {
    await writeLayers(fh, header, layers, options);
  } catch (err) {
    throw new IOError(`cannot write weights file ${path}: ${(err as Error).message}`, path, { cause: err });
  } finally {
    await fh.close();
  }
}

async function writeLayers(
  fh: FileHandle,
  header: Message,
  layers: readonly LayerToWrite[],
  options: WriteCaffemodelOptions,
): Promise<void> {
  await fh.write(encodeMessage(header));
  for (const layer of layers) {
    const v1 = layer.param.typeName === 'V1LayerParameter';
    const paramBytes = encodeMessage(layer.param);
    const blobField = v1 ? BLOBS.V1LayerParameter : BLOBS.LayerParameter;
    const blobParts = layer.blobs.map((b) => blobPrefix(b, options));
    // Lengths come first in protobuf, so the layer's size is counted before its payloads stream out.
    const bodyLength = blobParts.reduce((n, p) => {
      const size = p.prefix.length + p.payloadBytes;
      return n + varintSize(blobField * 8 + 2) + varintSize(size) + size;
    }, paramBytes.length);
    const w = new WireWriter();
    w.tag(v1 ? NET_LAYERS_V1 : NET_LAYER, WireType.Len);
    w.uvarint(bodyLength);
    w.bytes(paramBytes);
    await fh.write(w.finish().slice());
    for (let i = 0; i < layer.blobs.length; i++) {
      const p = blobParts[i];
      const bw = new WireWriter();
      bw.tag(blobField, WireType.Len);
      bw.uvarint(p.prefix.length + p.payloadBytes);
      bw.bytes(p.prefix);
      await fh.write(bw.finish().slice());
      const src = layer.blobs[i].data;
      const payload = options.doubleData === true ? new Float64Array(src) : src;
      const bytes = new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
      if (!LITTLE_ENDIAN_HOST) {
        const copy = Uint8Array.from(bytes);
        toHostOrderAlways(copy, payload.BYTES_PER_ELEMENT as 4 | 8);
        await fh.write(copy);
      } else {
        await fh.write(bytes);
      }
    }
  }
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

/** Everything of a BlobProto before its payload, ending with the payload's tag and length. */
function blobPrefix(
  blob: { shape: readonly number[]; data: Float32Array },
  options: WriteCaffemodelOptions,
): { prefix: Uint8Array; payloadBytes: number } {
  const w = new WireWriter();
  if (options.legacyShapes === true) {
    const dims = [1, 1, 1, 1, ...blob.shape].slice(-4);
    dims.forEach((d, i) => {
      w.tag(BLOB.num + i, WireType.Varint);
      w.uvarint(d);
    });
  } else {
    const dims = new WireWriter();
    for (const d of blob.shape) dims.uvarint(d);
    const dimBytes = dims.finish().slice();
    const shape = new WireWriter();
    shape.tag(fieldNumber('BlobShape', 'dim'), WireType.Len);
    shape.uvarint(dimBytes.length);
    shape.bytes(dimBytes);
    const shapeBytes = shape.finish().slice();
    w.tag(BLOB.shape, WireType.Len);
    w.uvarint(shapeBytes.length);
    w.bytes(shapeBytes);
  }
  const payloadBytes = blob.data.length * (options.doubleData === true ? 8 : 4);
  w.tag(options.doubleData === true ? BLOB.doubleData : BLOB.data, WireType.Len);
  w.uvarint(payloadBytes);
  return { prefix: w.finish().slice(), payloadBytes };
}
