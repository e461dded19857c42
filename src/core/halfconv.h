/* halfconv.h - scalar IEEE binary16 and bfloat16 <-> binary32 conversions,
 * round to nearest even, subnormals kept, NaN quieted (what F16C and AVX-512
 * BF16 hardware do). One implementation for the device's portable kernels,
 * the library's scalars, the tests and the benchmarks. Header-only. */
#ifndef ACCL_HALFCONV_H_
#define ACCL_HALFCONV_H_

#include <stdint.h>
#include <string.h>

/* binary32 <-> its bits */
static inline float acclBitsToFloat(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof(f));
  return f;
}
static inline uint32_t acclFloatBits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof(u));
  return u;
}

static inline float acclHalfToFloat(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, u;
  if (exp == 0x1f) {
    u = sign | 0x7f800000u | (man << 13) | (man ? 0x400000u : 0); /* inf, or quiet NaN */
  } else if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else { /* subnormal: normalise */
      int k = 0;
      while (!(man & 0x400u)) {
        man <<= 1;
        k++;
      }
      u = sign | ((uint32_t)(113 - k) << 23) | ((man & 0x3ffu) << 13);
    }
  } else {
    u = sign | ((exp + 112) << 23) | (man << 13);
  }
  return acclBitsToFloat(u);
}

static inline uint16_t acclFloatToHalf(float f) {
  uint32_t u = acclFloatBits(f);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu)); /* quiet NaN */
  if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);                       /* rounds to infinity */
  if (a >= 0x38800000u) { /* normal half: rebias the exponent, round the 13 dropped bits */
    uint32_t r = a - 0x38000000u;
    r += 0xfffu + ((r >> 13) & 1u);
    return (uint16_t)(sign | (r >> 13));
  }
  if (a < 0x33000000u) return sign; /* below half the smallest subnormal (ties to 0) */
  uint32_t m = (a & 0x7fffffu) | 0x800000u, shift = 126u - (a >> 23);
  uint32_t q = m >> shift, rem = m & ((1u << shift) - 1u), halfway = 1u << (shift - 1);
  if (rem > halfway || (rem == halfway && (q & 1u))) q++;
  return (uint16_t)(sign | q);
}

static inline float acclBf16ToFloat(uint16_t b) { return acclBitsToFloat((uint32_t)b << 16); }

static inline uint16_t acclFloatToBf16(float f) {
  uint32_t u = acclFloatBits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

/* fp8 (acc_ccl.h: acclFloat8e4m3 / acclFloat8e5m2) <-> binary32. Widening is
 * exact. Narrowing rounds to nearest, ties to even, and saturates: a
 * magnitude beyond the largest finite value (infinity included) gives that
 * value (e4m3 0x7e = 448, e5m2 0x7b = 57344) with the sign, NaN gives 0x7f,
 * as CUDA's __nv_cvt_float_to_fp8(x, __NV_SATFINITE, ...). */
static inline float acclFp8e4m3ToFloat(uint8_t x) {
  if ((x & 0x7fu) == 0x7fu) return acclBitsToFloat(((uint32_t)(x & 0x80u) << 24) | 0x7fc00000u);
  /* e4m3 in binary16's layout (exponent bias 15 instead of 7): x 2^8 */
  return acclHalfToFloat((uint16_t)(((x & 0x80u) << 8) | ((x & 0x7fu) << 7))) * 256.0f;
}

static inline float acclFp8e5m2ToFloat(uint8_t x) { return acclHalfToFloat((uint16_t)(x << 8)); }

/* mbits mantissa bits, exponent bias, largest finite code. */
static inline uint8_t acclFloatToFp8(float f, unsigned mbits, int bias, uint8_t maxCode) {
  uint32_t u = acclFloatBits(f);
  uint8_t sign = (uint8_t)((u >> 24) & 0x80u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return 0x7f;
  int e = (int)(a >> 23) - 127;  /* unbiased exponent (a normal binary32) */
  if (a >> 23 == 0) return sign; /* binary32 zero or subnormal: far below fp8's range */
  uint32_t q, shift;
  if (e >= 1 - bias) { /* normal in fp8: keep mbits bits of the mantissa, rebias */
    shift = 23u - mbits;
    q = (a + (1u << (shift - 1)) - 1u + ((a >> shift) & 1u)) >> shift;
    q -= (uint32_t)(127 - bias) << mbits;
  } else { /* subnormal in fp8: units of the smallest subnormal */
    shift = 23u - mbits + (uint32_t)(1 - bias - e);
    if (shift > 24) return sign; /* below half the smallest subnormal */
    uint32_t m = (a & 0x7fffffu) | 0x800000u, rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1);
    q = m >> shift;
    if (rem > half || (rem == half && (q & 1u))) q++;
  }
  if (q > maxCode) q = maxCode;
  return (uint8_t)(sign | q);
}
static inline uint8_t acclFloatToFp8e4m3(float f) { return acclFloatToFp8(f, 3, 7, 0x7e); }
static inline uint8_t acclFloatToFp8e5m2(float f) { return acclFloatToFp8(f, 2, 15, 0x7b); }

/* Element i of a buffer of any acc-ccl datatype, as a double, and back
 * (fp16 / bf16 round to nearest even). For tests and benchmarks, which build
 * inputs and expected values on the host. */
#include "acc_ccl.h"

static inline double acclValueLoad(int t, const void* buf, size_t i) {
  switch (t) {
    case acclInt8: return ((const int8_t*)buf)[i];
    case acclUint8: return ((const uint8_t*)buf)[i];
    case acclInt32: return ((const int32_t*)buf)[i];
    case acclUint32: return ((const uint32_t*)buf)[i];
    case acclInt64: return (double)((const int64_t*)buf)[i];
    case acclUint64: return (double)((const uint64_t*)buf)[i];
    case acclFloat16: return acclHalfToFloat(((const uint16_t*)buf)[i]);
    case acclBfloat16: return acclBf16ToFloat(((const uint16_t*)buf)[i]);
    case acclFloat8e4m3: return acclFp8e4m3ToFloat(((const uint8_t*)buf)[i]);
    case acclFloat8e5m2: return acclFp8e5m2ToFloat(((const uint8_t*)buf)[i]);
    case acclFloat32: return ((const float*)buf)[i];
    default: return ((const double*)buf)[i];
  }
}

static inline void acclValueStore(int t, void* buf, size_t i, double v) {
  switch (t) {
    case acclInt8: ((int8_t*)buf)[i] = (int8_t)(int64_t)v; break;
    case acclUint8: ((uint8_t*)buf)[i] = (uint8_t)(int64_t)v; break;
    case acclInt32: ((int32_t*)buf)[i] = (int32_t)(int64_t)v; break;
    case acclUint32: ((uint32_t*)buf)[i] = (uint32_t)(int64_t)v; break;
    case acclInt64: ((int64_t*)buf)[i] = (int64_t)v; break;
    case acclUint64: ((uint64_t*)buf)[i] = (uint64_t)v; break;
    case acclFloat16: ((uint16_t*)buf)[i] = acclFloatToHalf((float)v); break;
    case acclBfloat16: ((uint16_t*)buf)[i] = acclFloatToBf16((float)v); break;
    case acclFloat8e4m3: ((uint8_t*)buf)[i] = acclFloatToFp8e4m3((float)v); break;
    case acclFloat8e5m2: ((uint8_t*)buf)[i] = acclFloatToFp8e5m2((float)v); break;
    case acclFloat32: ((float*)buf)[i] = (float)v; break;
    default: ((double*)buf)[i] = v; break;
  }
}

#endif
