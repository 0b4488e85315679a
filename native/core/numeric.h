// Rounding shared by every backend: float16 and TF32 as the GPU's conversions do them, and the
// INT8 requantization step of docs/int8.md. Header-only so kernels on any backend can inline it.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace trtn::numeric {

inline uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

/// float -> IEEE binary16 bits, round to nearest even (overflow to infinity, NaN kept quiet),
/// as cvt.rn.f16.f32 does.
inline uint16_t float_to_half_bits(float f) {
  uint32_t x = bits_of(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t abs = x & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u) return static_cast<uint16_t>(sign | (abs > 0x7F800000u ? 0x7E00u : 0x7C00u));
  if (abs >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // rounds to >= 65520: infinity
  if (abs < 0x38800000u) {
    // Subnormal half (or zero): value = m * 2^-24.
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);  // below half of the smallest subnormal
    uint32_t mant = (abs & 0x007FFFFFu) | 0x00800000u;
    int shift = 126 - static_cast<int>(abs >> 23);  // 14..24
    uint32_t half = mant >> shift;
    uint32_t rest = mant & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t h = ((abs - 0x38000000u) >> 13);  // rebias exponent 127 -> 15
  uint32_t rest = abs & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

/// IEEE binary16 bits -> float (exact).
inline float half_bits_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  if (exp == 0x1F) return float_of(sign | 0x7F800000u | (mant << 13));
  if (exp == 0) {
    if (mant == 0) return float_of(sign);
    float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  return float_of(sign | ((exp + 112) << 23) | (mant << 13));
}

/// The float16 value nearest to f (round to nearest even), as a float.
inline float round_to_half(float f) { return half_bits_to_float(float_to_half_bits(f)); }

/// The TF32 value of f (10 mantissa bits), round to nearest with ties away from zero, as
/// cvt.rna.tf32.f32 does; infinities and NaN pass through.
inline float round_to_tf32(float f) {
  uint32_t x = bits_of(f);
  if ((x & 0x7F800000u) == 0x7F800000u) return f;
  x = (x + 0x1000u) & 0xFFFFE000u;
  return float_of(x);
}

/// INT8 saturation of a value already scaled to quantization steps: round half to even, clamp to
/// [-127, 127], NaN to 0 (docs/int8.md).
inline int8_t saturate_int8(float v) {
  if (std::isnan(v)) return 0;
  float r = std::nearbyint(v);  // the default rounding mode: to nearest even
  if (r > 127.0f) r = 127.0f;
  if (r < -127.0f) r = -127.0f;
  return static_cast<int8_t>(r);
}

}  // namespace trtn::numeric
