/**
 * Protobuf binary (wire format) decoding and encoding driven by a Schema, for messages that fit
 * in memory (layer parameters, blob shapes). The large float payloads of a .caffemodel never go
 * through here: caffemodel.ts streams them from the file straight into Float32Arrays.
 *
 * Decoding follows protobuf's rules: unknown fields are skipped, repeated numeric fields are
 * accepted packed or not, a repeated singular field keeps the last value. Every length is
 * checked against the bytes that remain, so a corrupt length fails before anything is allocated.
 */
import { ParseError } from '../errors';
import { Message, type FieldValue, type Scalar } from './message';
import type { FieldSpec, Schema } from './schema';

/** Protobuf wire types. */
export const enum WireType {
  Varint = 0,
  Fixed64 = 1,
  Len = 2,
  StartGroup = 3,
  EndGroup = 4,
  Fixed32 = 5,
}

/** A decoded varint as two unsigned 32-bit halves. */
export interface Varint {
  lo: number;
  hi: number;
}

/** Reads protobuf primitives from a byte range, reporting errors with the file and absolute offset. */
export class WireReader {
  pos: number;

  /**
   * @param bytes  the buffer
   * @param start  first byte of the message in `bytes`
   * @param end    one past its last byte
   * @param file   file name for errors
   * @param base   absolute file offset of bytes[0], for errors
   */
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
    readonly file: string,
    readonly base = 0,
  ) {
    this.pos = start;
  }

  /** Throws a ParseError at offset `at` (the current one by default), showing the byte there. */
  fail(problem: string, expected = '', at = this.pos): never {
    throw new ParseError(
      { file: this.file, line: 0, col: this.base + at + 1 },
      problem,
      at < this.end ? `0x${this.bytes[at].toString(16).padStart(2, '0')}` : '',
      expected,
    );
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  varint(): Varint {
    const start = this.pos;
    let lo = 0;
    let hi = 0;
    const b = this.bytes;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint', 'more bytes');
      const byte = b[this.pos++];
      if (i < 4) lo |= (byte & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (byte & 0x0f) << 28;
        hi |= (byte & 0x7f) >>> 4;
      } else hi |= (byte & 0x7f) << (7 * i - 32);
      if ((byte & 0x80) === 0) return { lo: lo >>> 0, hi: hi >>> 0 };
    }
    return this.fail('varint longer than 10 bytes', 'a valid varint', start);
  }

  /** A varint that must fit a non-negative safe integer (lengths, tags). */
  uvarint(): number {
    const { lo, hi } = this.varint();
    if (hi > 0x1fffff) this.fail('varint too large', 'a length or tag below 2^53');
    return hi * 0x100000000 + lo;
  }

  fixed32(): number {
    if (this.end - this.pos < 4) this.fail('truncated fixed32', '4 bytes');
    const b = this.bytes;
    const p = this.pos;
    this.pos += 4;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  }

  fixed64(): Varint {
    const lo = this.fixed32();
    const hi = this.fixed32();
    return { lo, hi };
  }

  float32(): number {
    if (this.end - this.pos < 4) this.fail('truncated float', '4 bytes');
    const v = Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength).readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }

  float64(): number {
    if (this.end - this.pos < 8) this.fail('truncated double', '8 bytes');
    const v = Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength).readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A length prefix; checks that the bytes it announces are there. */
  length(): number {
    const at = this.pos;
    const n = this.uvarint();
    if (n > this.end - this.pos) {
      this.pos = at;
      this.fail(`length ${n} runs past the end of its message (${this.end - at} bytes left)`, 'a length that fits');
    }
    return n;
  }

  /** Skips a field's value of the given wire type; `tagAt` is where its tag starts, for errors. */
  skip(wireType: number, fieldNumber: number, tagAt = this.pos): void {
    switch (wireType) {
      case WireType.Varint:
        this.varint();
        return;
      case WireType.Fixed64:
        this.need(8);
        this.pos += 8;
        return;
      case WireType.Fixed32:
        this.need(4);
        this.pos += 4;
        return;
      case WireType.Len: {
        const n = this.length();
        this.pos += n;
        return;
      }
      case WireType.StartGroup:
        this.skipGroup(fieldNumber);
        return;
      default:
        this.fail(`invalid wire type ${wireType}`, 'wire type 0, 1, 2, 3 or 5', tagAt);
    }
  }

  private need(n: number): void {
    if (this.end - this.pos < n) this.fail('truncated field', `${n} bytes`);
  }

  private skipGroup(fieldNumber: number): void {
    // Groups nest; count them rather than recurse so a hostile file cannot exhaust the stack.
    const open = [fieldNumber];
    while (open.length > 0) {
      const tag = this.uvarint();
      const wt = tag & 7;
      const fn = Math.floor(tag / 8);
      if (wt === WireType.EndGroup) {
        if (open.pop() !== fn) this.fail('mismatched end of group', 'the matching end-group tag');
      } else if (wt === WireType.StartGroup) open.push(fn);
      else this.skip(wt, fn);
    }
  }
}

function toSigned64(v: Varint): number {
  const hiSigned = v.hi | 0;
  return hiSigned * 0x100000000 + v.lo;
}

/** Interprets a varint (starting at offset `at`) as a value of a scalar kind. */
function varintValue(r: WireReader, field: FieldSpec, v: Varint, at: number): Scalar {
  switch (field.kind) {
    case 'int32':
      return v.lo | 0;
    case 'uint32':
      return v.lo >>> 0;
    case 'sint32':
      return (v.lo >>> 1) ^ -(v.lo & 1);
    case 'bool':
      return v.lo !== 0 || v.hi !== 0;
    case 'int64':
    case 'uint64': {
      const n = field.kind === 'int64' ? toSigned64(v) : v.hi * 0x100000000 + v.lo;
      if (!Number.isSafeInteger(n)) r.fail(`${field.kind} value of '${field.name}' is too large to hold exactly`, '', at);
      return n;
    }
    case 'sint64': {
      const lo = (v.lo >>> 1) | ((v.hi & 1) << 31);
      const hi = v.hi >>> 1;
      const n = (v.lo & 1) === 0 ? hi * 0x100000000 + (lo >>> 0) : -(hi * 0x100000000 + (lo >>> 0)) - 1;
      if (!Number.isSafeInteger(n)) r.fail(`sint64 value of '${field.name}' is too large to hold exactly`, '', at);
      return n;
    }
    case 'enum':
      return v.lo | 0;
    default:
      return r.fail(`field '${field.name}' (${field.kind}) cannot be a varint`, '', at);
  }
}

function expectedWireType(field: FieldSpec): WireType {
  switch (field.kind) {
    case 'double':
    case 'fixed64':
    case 'sfixed64':
      return WireType.Fixed64;
    case 'float':
    case 'fixed32':
    case 'sfixed32':
      return WireType.Fixed32;
    case 'string':
    case 'bytes':
    case 'message':
      return WireType.Len;
    default:
      return WireType.Varint;
  }
}

/** Reads one value of a non-length-delimited scalar field. */
function readScalar(r: WireReader, schema: Schema, field: FieldSpec): Scalar {
  const at = r.pos;
  switch (expectedWireType(field)) {
    case WireType.Fixed32: {
      if (field.kind === 'float') return r.float32();
      const u = r.fixed32();
      return field.kind === 'sfixed32' ? u | 0 : u;
    }
    case WireType.Fixed64: {
      if (field.kind === 'double') return r.float64();
      const v = r.fixed64();
      const n = field.kind === 'sfixed64' ? toSigned64(v) : v.hi * 0x100000000 + v.lo;
      if (!Number.isSafeInteger(n)) r.fail(`${field.kind} value of '${field.name}' is too large to hold exactly`, '', at);
      return n;
    }
    default: {
      const value = varintValue(r, field, r.varint(), at);
      if (field.kind !== 'enum') return value;
      // Unknown enum numbers: proto2 keeps them as unknown fields; we report them.
      const name = schema.enum(field.typeName as string).byNumber.get(value as number);
      if (name === undefined) r.fail(`${String(value)} is not a value of ${field.typeName} (field '${field.name}')`, '', at);
      return name;
    }
  }
}

/** Options for decodeMessage. */
export interface DecodeOptions {
  /** File name for errors. */
  readonly file?: string;
  /** Absolute offset of bytes[0] in the file, for errors. */
  readonly base?: number;
  /** Called for each skipped unknown field number. */
  readonly onUnknown?: (messageType: string, fieldNumber: number) => void;
  /**
   * A known field with another wire type is skipped as unknown (protobuf's own rule) instead of an
   * E_PARSE: Caffe's forks reuse field numbers with other types (NVCaffe's LayerParameter 145-148,
   * DeepLab's interp_param 143), which a .caffemodel's layer parameters then carry.
   */
  readonly mismatchAsUnknown?: boolean;
}

/** Decodes bytes[start, end) as a message of type `typeName`. */
export function decodeMessage(
  schema: Schema,
  typeName: string,
  bytes: Uint8Array,
  start = 0,
  end = bytes.length,
  options: DecodeOptions = {},
): Message {
  const r = new WireReader(bytes, start, end, options.file ?? '<bytes>', options.base ?? 0);
  return decodeFrom(r, schema, typeName, options, 0);
}

const MAX_DEPTH = 64;

function decodeFrom(r: WireReader, schema: Schema, typeName: string, options: DecodeOptions, depth: number): Message {
  if (depth > MAX_DEPTH) r.fail('messages nested too deeply');
  const spec = schema.message(typeName);
  const msg = new Message(schema, spec);
  while (!r.atEnd()) {
    const tagAt = r.pos;
    const tag = r.uvarint();
    const fieldNumber = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (fieldNumber === 0) r.fail('field number 0', 'a field number >= 1', tagAt);
    const field = spec.byNumber.get(fieldNumber);
    if (field === undefined) {
      options.onUnknown?.(spec.name, fieldNumber);
      r.skip(wireType, fieldNumber, tagAt);
      continue;
    }
    const expected = expectedWireType(field);
    let value: FieldValue | undefined;
    if (wireType === WireType.Len && field.kind === 'message') {
      const n = r.length();
      const sub = new WireReader(r.bytes, r.pos, r.pos + n, r.file, r.base);
      value = decodeFrom(sub, schema, field.typeName as string, options, depth + 1);
      r.pos += n;
    } else if (wireType === WireType.Len && (field.kind === 'string' || field.kind === 'bytes')) {
      const n = r.length();
      const slice = r.bytes.subarray(r.pos, r.pos + n);
      value = field.kind === 'string' ? Buffer.from(slice).toString('utf8') : Uint8Array.from(slice);
      r.pos += n;
    } else if (wireType === WireType.Len && field.repeated && expected !== WireType.Len) {
      // Packed repeated numbers.
      const n = r.length();
      const packed = new WireReader(r.bytes, r.pos, r.pos + n, r.file, r.base);
      while (!packed.atEnd()) msg.push(field.name, readScalar(packed, schema, field));
      r.pos += n;
      continue;
    } else if (wireType === expected) {
      value = readScalar(r, schema, field);
    } else if (options.mismatchAsUnknown === true) {
      options.onUnknown?.(spec.name, fieldNumber);
      r.skip(wireType, fieldNumber, tagAt);
      continue;
    } else {
      r.fail(`field '${field.name}' of ${spec.name} has wire type ${wireType}`, `wire type ${expected}`, tagAt);
    }
    if (field.repeated) msg.push(field.name, value);
    else msg.set(field.name, value);
  }
  return msg;
}

/** Appends protobuf primitives to a growing buffer. */
export class WireWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Writes a non-negative integer (< 2^53) as a varint. */
  uvarint(value: number): void {
    this.ensure(10);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
  }

  /** Writes an unsigned 64-bit integer as a varint. */
  uvarintBig(value: bigint): void {
    this.ensure(10);
    let v = value;
    while (v >= 0x80n) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
  }

  /** Writes a signed integer as protobuf int32/int64 do (negative: 10-byte two's complement). */
  svarint(value: number): void {
    if (value >= 0) {
      this.uvarint(value);
      return;
    }
    let lo = Number(BigInt.asUintN(64, BigInt(value)) & 0xffffffffn);
    let hi = Number(BigInt.asUintN(64, BigInt(value)) >> 32n);
    this.ensure(10);
    for (let i = 0; i < 9; i++) {
      this.buf[this.len++] = (lo & 0x7f) | 0x80;
      lo = (lo >>> 7) | ((hi & 0x7f) << 25);
      hi >>>= 7;
    }
    this.buf[this.len++] = lo & 0x01;
  }

  tag(fieldNumber: number, wireType: WireType): void {
    this.uvarint(fieldNumber * 8 + wireType);
  }

  fixed32(value: number): void {
    this.ensure(4);
    new DataView(this.buf.buffer).setUint32(this.len, value >>> 0, true);
    this.len += 4;
  }

  float32(value: number): void {
    this.ensure(4);
    new DataView(this.buf.buffer).setFloat32(this.len, value, true);
    this.len += 4;
  }

  float64(value: number): void {
    this.ensure(8);
    new DataView(this.buf.buffer).setFloat64(this.len, value, true);
    this.len += 8;
  }

  bytes(data: Uint8Array): void {
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }

  /** The bytes written so far (a view; copy it if the writer is reused). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

function writeScalar(w: WireWriter, schema: Schema, field: FieldSpec, value: Scalar): void {
  switch (field.kind) {
    case 'float':
      w.float32(value as number);
      return;
    case 'double':
      w.float64(value as number);
      return;
    case 'fixed32':
    case 'sfixed32':
      w.fixed32(value as number);
      return;
    case 'fixed64':
    case 'sfixed64': {
      const big = BigInt.asUintN(64, BigInt(value as number));
      w.fixed32(Number(big & 0xffffffffn));
      w.fixed32(Number(big >> 32n));
      return;
    }
    case 'bool':
      w.uvarint(value === true ? 1 : 0);
      return;
    case 'sint32':
    case 'sint64': {
      // Zigzag in 64-bit integers: doubles would round below -2^52.
      const n = BigInt(value as number);
      w.uvarintBig(BigInt.asUintN(64, (n << 1n) ^ (n >> 63n)));
      return;
    }
    case 'enum': {
      const num = schema.enum(field.typeName as string).byName.get(value as string);
      if (num === undefined) throw new Error(`${String(value)} is not a value of ${field.typeName}`);
      w.svarint(num);
      return;
    }
    default:
      w.svarint(value as number);
  }
}

/** Encodes a message (fields in field-number order, repeated numbers packed where declared). */
export function encodeMessage(msg: Message, w: WireWriter = new WireWriter()): Uint8Array {
  const fields = [...msg.spec.fields].sort((a, b) => a.number - b.number);
  for (const field of fields) {
    if (!msg.has(field.name)) continue;
    const raw = msg.raw(field.name) as FieldValue | FieldValue[];
    const values = Array.isArray(raw) ? raw : [raw];
    const wt = expectedWireType(field);
    if (field.packed && wt !== WireType.Len) {
      const inner = new WireWriter();
      for (const v of values) writeScalar(inner, msg.schema, field, v as Scalar);
      const body = inner.finish();
      w.tag(field.number, WireType.Len);
      w.uvarint(body.length);
      w.bytes(body);
      continue;
    }
    for (const v of values) {
      if (v instanceof Message) {
        const body = encodeMessage(v);
        w.tag(field.number, WireType.Len);
        w.uvarint(body.length);
        w.bytes(body);
      } else if (field.kind === 'string' || field.kind === 'bytes') {
        const body = typeof v === 'string' ? Buffer.from(v, 'utf8') : (v as Uint8Array);
        w.tag(field.number, WireType.Len);
        w.uvarint(body.length);
        w.bytes(body);
      } else {
        w.tag(field.number, wt);
        writeScalar(w, msg.schema, field, v as Scalar);
      }
    }
  }
  return w.finish();
}
