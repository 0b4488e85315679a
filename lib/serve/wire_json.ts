/**
 * The REST request body of POST .../infer (KServe v2, with Triton's binary tensor data extension)
 * as a protocol-neutral InferRequest, and an InferResponse as the REST response body. Every
 * malformation is a 400 naming what is wrong.
 */
import type { WireDType } from './config';
import { badRequest } from './errors';
import type { TensorMetadata } from './model';
import {
  bytesPerElement,
  fromBytes,
  fromJsonData,
  toBytes,
  toJsonData,
  type InferRequest,
  type InferResponse,
  type RequestTensor,
  type RequestedOutput,
} from './tensors';

/** The largest element count one tensor may declare (keeps a bogus shape from allocating). */
const MAX_ELEMENTS = 1 << 30;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The request's JSON (the whole body, or the part before Inference-Header-Content-Length). */
function parseHeader(json: Uint8Array): Json {
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8'));
  } catch (err) {
    throw badRequest(`malformed JSON in the request: ${(err as Error).message}`);
  }
  if (!isObject(header)) throw badRequest('the request must be a JSON object with "inputs"');
  return header;
}

function shapeOf(v: unknown, name: string): number[] {
  if (!Array.isArray(v) || v.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 0)) {
    throw badRequest(`input '${name}': "shape" must be an array of non-negative integers`);
  }
  return v as number[];
}

/** Reads the request's inputs; `expected` gives each model input's datatype. */
function readInputs(header: Json, binary: Uint8Array, expected: readonly TensorMetadata[]): RequestTensor[] {
  if (!Array.isArray(header.inputs) || header.inputs.length === 0) throw badRequest('the request needs a non-empty "inputs" array');
  let offset = 0;
  const inputs = (header.inputs as unknown[]).map((raw): RequestTensor => {
    if (!isObject(raw) || typeof raw.name !== 'string') throw badRequest('every input needs a "name" string');
    const name = raw.name;
    const meta = expected.find((t) => t.name === name);
    if (meta === undefined) throw badRequest(`unexpected input '${name}' (the model's inputs: ${expected.map((t) => t.name).join(', ')})`);
    if (raw.datatype !== meta.datatype)
      throw badRequest(`input '${name}': datatype ${String(raw.datatype)}, the model takes ${meta.datatype}`);
    const shape = shapeOf(raw.shape, name);
    const count = shape.reduce((a, b) => a * b, 1);
    if (count > MAX_ELEMENTS) throw badRequest(`input '${name}': shape [${shape.join(', ')}] is too large`);
    const size = isObject(raw.parameters) ? raw.parameters.binary_data_size : undefined;
    if (size === undefined) {
      if (raw.data === undefined) throw badRequest(`input '${name}' has neither "data" nor parameters.binary_data_size`);
      return { name, datatype: meta.datatype, shape, data: fromJsonData(raw.data, meta.datatype as WireDType, count, name) };
    }
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0)
      throw badRequest(`input '${name}': binary_data_size must be a non-negative integer`);
    if (offset + size > binary.length) {
      throw badRequest(
        `input '${name}': binary_data_size ${size} runs past the end of the body (${binary.length - offset} bytes left): truncated request?`,
      );
    }
    const bytes = binary.subarray(offset, offset + size);
    offset += size;
    if (size !== count * bytesPerElement(meta.datatype)) {
      throw badRequest(
        `input '${name}': binary_data_size ${size}, its shape [${shape.join(', ')}] of ${meta.datatype} needs ${count * bytesPerElement(meta.datatype)} bytes`,
      );
    }
    return { name, datatype: meta.datatype, shape, data: fromBytes(bytes, meta.datatype as WireDType, count, name) };
  });
  if (offset !== binary.length) throw badRequest(`the body has ${binary.length - offset} bytes after the inputs' binary data`);
  return inputs;
}

function readOutputs(header: Json, binaryDefault: boolean): RequestedOutput[] | undefined {
  if (header.outputs === undefined) return undefined;
  if (!Array.isArray(header.outputs)) throw badRequest('"outputs" must be an array');
  return (header.outputs as unknown[]).map((raw) => {
    if (!isObject(raw) || typeof raw.name !== 'string') throw badRequest('every output needs a "name" string');
    const p = isObject(raw.parameters) ? raw.parameters : {};
    const binary = p.binary_data === undefined ? binaryDefault : p.binary_data;
    if (typeof binary !== 'boolean') throw badRequest(`output '${raw.name}': binary_data must be true or false`);
    const k = p.classification ?? 0;
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 0)
      throw badRequest(`output '${raw.name}': classification must be a non-negative integer`);
    return { name: raw.name, binary, classification: k };
  });
}

/**
 * The REST infer body (its JSON part and the binary data after it, see body.ts) as an InferRequest
 * for a model whose inputs are `expected`. Binary inputs are views of `body.binary`.
 */
export function readRestRequest(
  body: { readonly json: Uint8Array; readonly binary: Uint8Array },
  expected: readonly TensorMetadata[],
): InferRequest {
  const header = parseHeader(body.json);
  const binary = body.binary;
  const params = isObject(header.parameters) ? header.parameters : {};
  const binaryOutputs = params.binary_data_output === true;
  const timeout = params.timeout ?? 0;
  if (typeof timeout !== 'number' || timeout < 0) throw badRequest('parameters.timeout must be a non-negative number of microseconds');
  if (header.id !== undefined && typeof header.id !== 'string') throw badRequest('"id" must be a string');
  return {
    ...(header.id !== undefined ? { id: header.id as string } : {}),
    inputs: readInputs(header, binary, expected),
    outputs: readOutputs(header, binaryOutputs),
    binaryOutputs,
    timeoutUs: timeout,
  };
}

/** The REST response: JSON alone, or (binary outputs) the JSON header, its length and the data after it. */
export function writeRestResponse(r: InferResponse): { body: Buffer | string; headerLength?: number } {
  const chunks: Buffer[] = [];
  const outputs = r.outputs.map((t) => {
    const base = { name: t.name, datatype: t.datatype, shape: t.shape };
    if (!t.binary) return { ...base, data: toJsonData(t) };
    const bytes = toBytes(t);
    chunks.push(bytes);
    return { ...base, parameters: { binary_data_size: bytes.length } };
  });
  const json = JSON.stringify({
    model_name: r.modelName,
    model_version: r.modelVersion,
    ...(r.id !== undefined ? { id: r.id } : {}),
    outputs,
  });
  if (chunks.length === 0) return { body: json };
  const head = Buffer.from(json, 'utf8');
  return { body: Buffer.concat([head, ...chunks]), headerLength: head.length };
}
