/* halfconv.h - scalar IEEE binary16 and bfloat16 <-> binary32 conversions,
 * round to nearest even, subnormals kept, NaN quieted (what F16C and AVX-512
 * BF16 hardware do). One implementation for the device's portable kernels,
 * the library's scalars, the tests and the benchmarks. Header-only. */
#ifndef ACCL_HALFCONV_H_
#define ACCL_HALFCONV_H_

#include <stdint.h>
#include <string.h>

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
  float f;
  memcpy(&f, &u, sizeof(f));
  return f;
}

static inline uint16_t acclFloatToHalf(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof(u));
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

static inline float acclBf16ToFloat(uint16_t b) {
  uint32_t u = (uint32_t)b << 16;
  float f;
  memcpy(&f, &u, sizeof(f));
  return f;
}

static inline uint16_t acclFloatToBf16(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof(u));
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

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
    case acclFloat32: ((float*)buf)[i] = (float)v; break;
    default: ((double*)buf)[i] = v; break;
  }
}

#endif
