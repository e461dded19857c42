/* dtype_util.h - host-side conversion between double and every acc-ccl
 * datatype (fp16 / bf16 round to nearest even), for building inputs and
 * expected results in tests. Header-only. */
#ifndef ACCL_TEST_DTYPE_UTIL_H_
#define ACCL_TEST_DTYPE_UTIL_H_

#include <math.h>
#include <stdint.h>
#include <string.h>
#include "acc_ccl.h"

static inline size_t tdSize(acclDataType_t t) {
  switch (t) {
    case acclInt8: case acclUint8: return 1;
    case acclFloat16: case acclBfloat16: return 2;
    case acclInt32: case acclUint32: case acclFloat32: return 4;
    default: return 8;
  }
}

static inline uint16_t tdFloatToHalf(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000, exp = (x >> 23) & 0xff, man = x & 0x7fffff;
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
  int e = (int)exp - 127 + 15;
  if (e >= 31) return (uint16_t)(sign | 0x7c00);
  if (e <= 0) {
    if (e < -10) return (uint16_t)sign;
    man |= 0x800000;
    int shift = 14 - e;
    uint32_t h = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) h++;
    return (uint16_t)(sign | h);
  }
  uint32_t h = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
  return (uint16_t)(sign | h);
}

static inline float tdHalfToFloat(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0) {
    if (man == 0) bits = sign;
    else {
      exp = 113;
      while (!(man & 0x400)) { man <<= 1; exp--; }
      bits = sign | (exp << 23) | ((man & 0x3ff) << 13);
    }
  } else if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
  else bits = sign | ((exp + 112) << 23) | (man << 13);
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

static inline uint16_t tdFloatToBf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40);
  x += 0x7fff + ((x >> 16) & 1);
  return (uint16_t)(x >> 16);
}

static inline float tdBf16ToFloat(uint16_t b) {
  uint32_t x = (uint32_t)b << 16;
  float f;
  memcpy(&f, &x, 4);
  return f;
}

static inline void tdStore(acclDataType_t t, void* buf, size_t i, double v) {
  switch (t) {
    case acclInt8: ((int8_t*)buf)[i] = (int8_t)v; break;
    case acclUint8: ((uint8_t*)buf)[i] = (uint8_t)v; break;
    case acclInt32: ((int32_t*)buf)[i] = (int32_t)v; break;
    case acclUint32: ((uint32_t*)buf)[i] = (uint32_t)v; break;
    case acclInt64: ((int64_t*)buf)[i] = (int64_t)v; break;
    case acclUint64: ((uint64_t*)buf)[i] = (uint64_t)v; break;
    case acclFloat16: ((uint16_t*)buf)[i] = tdFloatToHalf((float)v); break;
    case acclBfloat16: ((uint16_t*)buf)[i] = tdFloatToBf16((float)v); break;
    case acclFloat32: ((float*)buf)[i] = (float)v; break;
    default: ((double*)buf)[i] = v; break;
  }
}

static inline double tdLoad(acclDataType_t t, const void* buf, size_t i) {
  switch (t) {
    case acclInt8: return ((const int8_t*)buf)[i];
    case acclUint8: return ((const uint8_t*)buf)[i];
    case acclInt32: return ((const int32_t*)buf)[i];
    case acclUint32: return ((const uint32_t*)buf)[i];
    case acclInt64: return (double)((const int64_t*)buf)[i];
    case acclUint64: return (double)((const uint64_t*)buf)[i];
    case acclFloat16: return tdHalfToFloat(((const uint16_t*)buf)[i]);
    case acclBfloat16: return tdBf16ToFloat(((const uint16_t*)buf)[i]);
    case acclFloat32: return ((const float*)buf)[i];
    default: return ((const double*)buf)[i];
  }
}

static inline int tdIsFloat(acclDataType_t t) {
  return t == acclFloat16 || t == acclBfloat16 || t == acclFloat32 || t == acclFloat64;
}

/* Relative tolerance of one ulp-ish for inexact results (Avg with 1/n). */
static inline double tdTolerance(acclDataType_t t) {
  switch (t) {
    case acclFloat16: return 2e-3;
    case acclBfloat16: return 1.6e-2;
    case acclFloat32: return 3e-7;
    case acclFloat64: return 1e-15;
    default: return 0;
  }
}

#endif
