/** Seeded random input data (bench, infer --random, calibration on random data). */

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
