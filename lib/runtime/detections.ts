/**
 * Reading an SSD's DetectionOutput: the engine gives each image a fixed block of rows
 * [image, label, score, xmin, ymin, xmax, ymax] padded with rows whose label is -1
 * (docs/network.md, "Detection layers"); detections() returns the real rows, in Caffe's order
 * (image by image, class by class, best first within a class), as objects.
 */
import { TensorRTNodeError } from '../errors';
import { fromFloat16 } from '../float16';
import type { Tensor } from './tensor';

/** One detection: its image in the batch, class, score and box, in [0, 1] of the image (not clipped). */
export interface Detection {
  readonly image: number;
  readonly label: number;
  readonly score: number;
  /** xmin, ymin, xmax, ymax. */
  readonly box: readonly [number, number, number, number];
}

/** The values of a result: a Tensor's data (float16 bits decoded), or the array itself. */
function valuesOf(output: Tensor | ArrayLike<number>): ArrayLike<number> {
  if (output !== null && typeof output === 'object' && 'dims' in output && 'data' in output) {
    return output.type === 'float16' ? fromFloat16(output.data as Uint16Array) : output.data;
  }
  return output;
}

/**
 * The detections of a DetectionOutput result (a Tensor, float16 ones included, or its float values
 * as a Float32Array), leaving out the padding rows; `minScore` keeps only those scoring at least
 * that (default: every one).
 */
export function detections(output: Tensor | ArrayLike<number>, minScore = -Infinity): Detection[] {
  const values = valuesOf(output);
  if (values === null || typeof values !== 'object' || typeof values.length !== 'number' || values.length % 7 !== 0) {
    throw new TensorRTNodeError(
      'E_INVALID_ARGUMENT',
      'detections() takes a DetectionOutput result: rows of 7 values [image, label, score, xmin, ymin, xmax, ymax]',
    );
  }
  const out: Detection[] = [];
  for (let r = 0; r < values.length; r += 7) {
    const label = Number(values[r + 1]);
    const score = Number(values[r + 2]);
    if (label === -1 || !(score >= minScore)) continue;
    out.push({
      image: Number(values[r]),
      label,
      score,
      box: [Number(values[r + 3]), Number(values[r + 4]), Number(values[r + 5]), Number(values[r + 6])],
    });
  }
  return out;
}
