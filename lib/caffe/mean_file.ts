/**
 * Caffe mean files (`mean.binaryproto`: one BlobProto, as Caffe's compute_image_mean writes them):
 * the per-pixel mean image a DataTransformer subtracts (transform_param.mean_file). Read whole (a
 * mean image is small: 3 x 256 x 256 floats is 768 KiB); the shape comes from BlobShape or the
 * legacy num / channels / height / width; float or double payloads.
 */
import { promises as fsp } from 'fs';
import { IOError, ParseError } from '../errors';
import { caffeSchema } from './caffe_schema';
import { Message } from './message';
import { decodeMessage, encodeMessage } from './wire_format';

/** A mean image: [C, H, W] (leading dimensions of 1 dropped) and its values in C order. */
export interface MeanImage {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Parses the bytes of a .binaryproto mean file; `file` names it in errors (E_PARSE). */
export function parseMeanFile(bytes: Uint8Array, file = '<binaryproto>'): MeanImage {
  const blob = decodeMessage(caffeSchema, 'BlobProto', bytes, 0, bytes.length, { file });
  const fail = (problem: string): never => {
    throw new ParseError({ file, line: 0, col: 1 }, problem, undefined, 'a Caffe mean file (one BlobProto)');
  };
  const legacy = ['num', 'channels', 'height', 'width'].map((f) => blob.num(f));
  const dims = blob.has('shape') ? (blob.msg('shape') as Message).nums('dim') : legacy.some((d) => d > 0) ? legacy : [];
  const values = blob.has('data') ? blob.nums('data') : blob.nums('double_data');
  if (values.length === 0) fail('the blob has no data');
  if (dims.length === 0 || dims.some((d) => !Number.isSafeInteger(d) || d < 1)) fail(`the blob has no usable shape ([${dims.join(', ')}])`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== values.length) fail(`the shape [${dims.join(', ')}] needs ${count} values but the blob has ${values.length}`);
  const shape = dims.slice(dims.findIndex((d, i) => d !== 1 || dims.length - i <= 3));
  if (shape.length !== 3) fail(`a mean image is [C, H, W] (or [1, C, H, W]), the blob is [${dims.join(', ')}]`);
  return { shape, data: Float32Array.from(values) };
}

/** Reads a .binaryproto mean file (E_IO when it cannot be read, E_PARSE when it is not one). */
export async function readMeanFile(path: string): Promise<MeanImage> {
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(path);
  } catch (err) {
    throw new IOError(`cannot read mean file ${path}: ${(err as Error).message}`, path, { cause: err });
  }
  return parseMeanFile(bytes, path);
}

/** The bytes of a mean file for a [C, H, W] image, as Caffe writes it (legacy 4-D shape, num 1). */
export function formatMeanFile(shape: readonly [number, number, number], data: ArrayLike<number>): Uint8Array {
  const blob = new Message(caffeSchema, caffeSchema.message('BlobProto'));
  blob.set('num', 1);
  blob.set('channels', shape[0]);
  blob.set('height', shape[1]);
  blob.set('width', shape[2]);
  for (let i = 0; i < data.length; i++) blob.push('data', data[i]);
  return encodeMessage(blob);
}
