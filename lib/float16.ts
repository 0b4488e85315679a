/**
 * float16 on the host: Node.js 20 has no Float16Array, so engines built with float16 inputs or
 * outputs (BuildConfig.ioFormats) take and give Uint16Arrays of float16 bits. These convert
 * (round to nearest even; subnormals, infinities and NaN kept), as the GPU does.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float16 bits of `x`, rounded to nearest even. */
export function floatToHalfBits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const abs = bits & 0x7fffffff;
  if (abs >= 0x7f800000) return sign | (abs > 0x7f800000 ? 0x7e00 : 0x7c00); // NaN, infinity
  if (abs >= 0x477ff000) return sign | 0x7c00; // rounds past the largest half: infinity
  if (abs < 0x38800000) {
    // Subnormal half (or zero): value = m * 2^-24.
    if (abs < 0x33000000) return sign;
    const exp = abs >>> 23;
    const mant = (abs & 0x7fffff) | 0x800000;
    const shift = 126 - exp;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (abs - 0x38000000) >>> 13;
  const rest = abs & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

/** The value of float16 bits `h`. */
export function halfBitsToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** A Uint16Array of the float16 bits of every value (an engine's float16 input). */
export function toFloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = floatToHalfBits(values[i]);
  return out;
}

/** The values of a Uint16Array of float16 bits (an engine's float16 output). */
export function fromFloat16(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfBitsToFloat(bits[i]);
  return out;
}
