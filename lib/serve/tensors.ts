/**
 * Tensors as the v2 protocol carries them, independent of HTTP or gRPC: the request and response
 * shapes the model sees, JSON data to typed arrays and back, raw little-endian bytes to typed
 * arrays and back, and the `classification` output (top-k as "value:index[:label]" strings).
 */
import { toFloat16, fromFloat16 } from '../float16';
import type { HostArray } from '../runtime/engine';
import type { WireDType } from './config';
import { badRequest } from './errors';

/** An input tensor of a request, its data already in the engine's host form. */
export interface RequestTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly data: HostArray;
}

/** An output a request asks for. */
export interface RequestedOutput {
  readonly name: string;
  /** Binary tensor data extension: the data follows the JSON header instead of sitting in it. */
  readonly binary: boolean;
  /** > 0: answer the top-k classes as strings instead of the tensor. */
  readonly classification: number;
}

/** One inference request, protocol-neutral. */
export interface InferRequest {
  readonly id?: string;
  readonly inputs: readonly RequestTensor[];
  /** Undefined: every output, in the request's default form. */
  readonly outputs?: readonly RequestedOutput[];
  /** The request's `binary_data_output` parameter: the default form of outputs not listed. */
  readonly binaryOutputs: boolean;
  /** `timeout` parameter in microseconds (0: none). */
  readonly timeoutUs: number;
}

/** Output data: a typed array, or strings for BYTES (classification). */
export type OutputData = Float32Array | Uint16Array | Uint8Array | readonly string[];

/** One output tensor of a response. */
export interface ResponseTensor {
  readonly name: string;
  readonly datatype: WireDType | 'BYTES';
  readonly shape: readonly number[];
  readonly data: OutputData;
  readonly binary: boolean;
}

/** A model's answer. */
export interface InferResponse {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly id?: string;
  readonly outputs: readonly ResponseTensor[];
}

const BYTES_PER: Readonly<Record<WireDType, number>> = { FP32: 4, FP16: 2, UINT8: 1 };

/** Bytes of one element of a data type. */
export function bytesPerElement(dtype: WireDType): number {
  return BYTES_PER[dtype];
}

/** Flattens JSON tensor data (flat or nested arrays of numbers) into `out`, refusing anything else. */
function flatten(data: unknown, name: string, out: number[], depth = 0): void {
  if (depth > 16) throw badRequest(`input '${name}': data nests deeper than 16 arrays`);
  if (!Array.isArray(data)) throw badRequest(`input '${name}': data must be an array of numbers`);
  for (const v of data) {
    if (typeof v === 'number') out.push(v);
    else if (Array.isArray(v)) flatten(v, name, out, depth + 1);
    else throw badRequest(`input '${name}': data holds ${v === null ? 'null' : typeof v}, not a number`);
  }
}

/** JSON `data` as the engine's host array for `dtype`, checked against the element count. */
export function fromJsonData(data: unknown, dtype: WireDType, count: number, name: string): HostArray {
  const flat: number[] = [];
  flatten(data, name, flat);
  if (flat.length !== count) throw badRequest(`input '${name}': data has ${flat.length} values, its shape needs ${count}`);
  if (dtype === 'UINT8') {
    if (flat.some((v) => !Number.isInteger(v) || v < 0 || v > 255))
      throw badRequest(`input '${name}': UINT8 data must be integers in [0, 255]`);
    return Uint8Array.from(flat);
  }
  const f32 = Float32Array.from(flat);
  return dtype === 'FP16' ? toFloat16(f32) : f32;
}

/**
 * Raw little-endian bytes as the engine's host array: a view of the request body where its offset
 * suits the element size (UINT8 always), a copy otherwise. The batcher copies it into its staging,
 * so the view lives no longer than the request (a batch-32 request of 224x224 images is 4.8 MB:
 * one copy and its garbage less per request).
 */
export function fromBytes(bytes: Uint8Array, dtype: WireDType, count: number, name: string): HostArray {
  const size = count * BYTES_PER[dtype];
  if (bytes.byteLength !== size) {
    throw badRequest(`input '${name}': binary data has ${bytes.byteLength} bytes, its shape and datatype ${dtype} need ${size}`);
  }
  const aligned = bytes.byteOffset % BYTES_PER[dtype] === 0 ? bytes : new Uint8Array(bytes);
  const { buffer, byteOffset } = aligned;
  if (dtype === 'FP32') return new Float32Array(buffer, byteOffset, count);
  if (dtype === 'FP16') return new Uint16Array(buffer, byteOffset, count);
  return new Uint8Array(buffer, byteOffset, count);
}

/** Output data as JSON values (FP16 as the numbers it holds). */
export function toJsonData(t: ResponseTensor): readonly (number | string)[] {
  if (Array.isArray(t.data)) return t.data as readonly string[];
  if (t.datatype === 'FP16') return Array.from(fromFloat16(t.data as Uint16Array));
  return Array.from(t.data as Float32Array | Uint8Array);
}

/** Output data as raw bytes (BYTES: each string as a 4-byte little-endian length and its UTF-8 bytes). */
export function toBytes(t: ResponseTensor): Buffer {
  if (!Array.isArray(t.data)) {
    const a = t.data as Float32Array | Uint16Array | Uint8Array;
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  }
  const parts: Buffer[] = [];
  for (const s of t.data as readonly string[]) {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}

/** The top `k` classes of each of `batch` rows as "value:index" or "value:index:label", best first. */
export function classify(values: Float32Array, batch: number, k: number, labels: readonly string[] | undefined): string[] {
  const per = values.length / batch;
  const out: string[] = [];
  for (let b = 0; b < batch; b++) {
    const row = values.subarray(b * per, (b + 1) * per);
    const order = Array.from(row.keys())
      .sort((x, y) => row[y] - row[x] || x - y)
      .slice(0, Math.min(k, per));
    for (const i of order) out.push(labels?.[i] !== undefined ? `${row[i]}:${i}:${labels[i]}` : `${row[i]}:${i}`);
  }
  return out;
}
