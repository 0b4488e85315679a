/**
 * Tensor: a typed array with its dims and element type, as ExecutionContext.run() gives results
 * and takes inputs (the shape of onnxruntime-node's Tensor: `type`, `data`, `dims`, `size`).
 */
import { argumentError } from '../errors';
import type { IoDType } from '../types';
import { arrayOf, integer, oneOf } from '../validate';

/** The typed array of each host form: float32, float16 (its bits), uint8. */
export type HostArray = Float32Array | Uint16Array | Uint8Array;

const ARRAYS: Readonly<Record<IoDType, new (...args: never[]) => HostArray>> = {
  float32: Float32Array,
  float16: Uint16Array,
  uint8: Uint8Array,
};

const DIMS = arrayOf(integer({ min: 0 }), { what: 'an array of non-negative integers', reportWhole: true });
const TYPE = oneOf(Object.keys(ARRAYS) as IoDType[]);

/** A typed array and its dims: [batch, ...one image's dims] for engine inputs and outputs. */
export class Tensor {
  /** Elements: the product of the dims. */
  readonly size: number;

  /**
   * `data` must be the array of `type` (Float32Array, Uint16Array of float16 bits, Uint8Array)
   * holding exactly the product of `dims` elements.
   */
  constructor(
    readonly type: IoDType,
    readonly data: HostArray,
    readonly dims: readonly number[],
  ) {
    TYPE(type, 'type');
    if (!(data instanceof ARRAYS[type]) && !(type === 'uint8' && data instanceof Uint8ClampedArray)) {
      throw argumentError(`the typed array of ${type}`, 'data', data);
    }
    DIMS(dims, 'dims');
    let size = 1;
    for (let i = 0; i < dims.length; i++) size *= dims[i];
    this.size = size;
    if (this.size !== data.length) {
      throw argumentError(`${this.size} elements (dims [${dims.join(', ')}])`, 'data', data, 'range');
    }
    this.dims = Object.freeze([...dims]);
  }
}
