/**
 * What every layer definition provides: how many bottoms and tops it takes, and `build`, which
 * turns a LayerParameter and the input shapes into typed attributes, output shapes, the shapes of
 * the learned blobs and the MAC count. Shape rules follow Caffe's layers exactly.
 */
import { ShapeError } from '../../errors';
import type { Message } from '../../caffe/message';
import type { LayerAttrsMap, LayerType, Shape } from '../types';

/** What `build` returns. */
export interface BuildResult<T extends LayerType> {
  readonly attrs: LayerAttrsMap[T];
  readonly outputs: readonly Shape[];
  readonly blobs?: readonly Shape[];
  /** MACs for the whole batch; 0 when absent. */
  readonly macs?: number;
  /** Rows per image of each output (region layers); absent: the inputs' rows, which must agree. */
  readonly rows?: readonly number[];
}

/** Network-wide settings some layers need: the Input layer takes shape overrides and the batch size. */
export interface BuildContext {
  /** The layer's top names. */
  readonly tops: readonly string[];
  /** Shapes by input name that replace those in the file. */
  readonly inputShapes?: Readonly<Record<string, readonly number[]>>;
  /** Replaces dimension 0 of every input. */
  readonly batchSize?: number;
  /** A Convolution written as a fork's depthwise type: group = the input's channels. */
  readonly depthwise?: boolean;
  /** Rows per image of each input (1 but for region tensors). */
  readonly inputRows?: readonly number[];
  /** Whether each input is a region tensor (a region layer's output or computed from one). */
  readonly inputRegions?: readonly boolean[];
}

/** The definition of one IR layer type. */
export interface LayerDef<T extends LayerType> {
  readonly type: T;
  /** Allowed number of bottoms: [min, max]. */
  readonly bottoms: readonly [number, number];
  /** Allowed number of tops: [min, max]. */
  readonly tops: readonly [number, number];
  /** False for types Caffe refuses to run in place (top == bottom); true when absent. */
  readonly inPlace?: boolean;
  /** Attributes, output shapes, blobs and MACs; throws ShapeError on inputs the layer cannot take. */
  build(param: Message, inputs: readonly Shape[], topCount: number, context: BuildContext): BuildResult<T>;
}

/** Throws a ShapeError unless `ok`. */
export function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new ShapeError(message);
}

/** Caffe's CanonicalAxisIndex: negative axes count from the end; out of range is an error. */
export function canonicalAxis(axis: number, rank: number, what = 'axis'): number {
  check(axis >= -rank && axis < rank, `${what} ${axis} is out of range for a ${rank}-D input`);
  return axis < 0 ? axis + rank : axis;
}

/** Formats a shape for messages: [1, 3, 224, 224]. */
export function fmt(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Elementwise layers: one bottom, one top, same shape. */
export function sameShape(inputs: readonly Shape[]): Shape[] {
  return [inputs[0]];
}

/**
 * Resolves Caffe's spatial parameter forms: `<h>` / `<w>` fields (2-D only), or the field `list`
 * (repeated in ConvolutionParameter, singular in PoolingParameter) with no value (use `fallback`),
 * one value (every axis) or one value per spatial axis. With `bothHW` (pooling) `<h>` needs `<w>`;
 * otherwise (convolution) a missing one takes its field default, as Caffe does.
 */
export function spatialParam(
  p: Message,
  list: string,
  h: string | undefined,
  w: string | undefined,
  axes: number,
  fallback: number | undefined,
  bothHW = false,
): number[] {
  const hasHW = h !== undefined && w !== undefined && (p.has(h) || p.has(w));
  const values = p.field(list).repeated ? p.nums(list) : p.has(list) ? [p.num(list)] : [];
  if (hasHW) {
    check(axes === 2, `${h} / ${w} apply to 2-D inputs only (this input has ${axes} spatial axes)`);
    check(values.length === 0, `give either ${list} or ${h} and ${w}, not both`);
    check(!bothHW || (p.has(h) && p.has(w)), `${h} and ${w} must be given together`);
    return [p.num(h), p.num(w)];
  }
  if (values.length === 0) {
    check(fallback !== undefined, `${list} is required`);
    return new Array<number>(axes).fill(fallback);
  }
  if (values.length === 1) return new Array<number>(axes).fill(values[0]);
  check(values.length === axes, `${list} has ${values.length} values; give 1 or ${axes} (one per spatial axis)`);
  return values;
}
