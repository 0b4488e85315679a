/** Seeded random input data (bench, infer --random, calibration on random data): floats, or bytes for image inputs. */
import { toFloat16 } from './float16';

/**
 * `n` values uniform in [-1, 1) from a xorshift32 generator seeded by `seed`: the same values on
 * every machine and run for the same seed.
 */
export function uniformData(n: number, seed: number): Float32Array {
  let x = (seed ^ 0x2545f491) >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = (x / 4294967296) * 2 - 1;
  }
  return out;
}

/** `n` bytes uniform in [0, 255] from the same generator: random images for uint8 inputs. */
export function uniformBytes(n: number, seed: number): Uint8Array {
  let x = (seed ^ 0x2545f491) >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x >>> 24;
  }
  return out;
}

/**
 * Random data for an engine input of host form `dtype`: bytes for uint8 image inputs, else values
 * uniform in [-1, 1) (as float16 bits for float16 inputs).
 */
export function randomInputData(
  dtype: 'float32' | 'float16' | 'uint8' | undefined,
  n: number,
  seed: number,
): Float32Array | Uint16Array | Uint8Array {
  if (dtype === 'uint8') return uniformBytes(n, seed);
  return dtype === 'float16' ? toFloat16(uniformData(n, seed)) : uniformData(n, seed);
}
