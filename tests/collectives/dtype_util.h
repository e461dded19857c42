/* dtype_util.h - host-side conversion between double and every acc-ccl
 * datatype (fp16 / bf16 round to nearest even), for building inputs and
 * expected results in tests. Header-only. */
#ifndef ACCL_TEST_DTYPE_UTIL_H_
#define ACCL_TEST_DTYPE_UTIL_H_

#include <math.h>
#include <stdint.h>
#include <string.h>
#include "acc_ccl.h"
#include "halfconv.h"

static inline size_t tdSize(acclDataType_t t) {
  switch (t) {
    case acclInt8: case acclUint8: return 1;
    case acclFloat16: case acclBfloat16: return 2;
    case acclInt32: case acclUint32: case acclFloat32: return 4;
    default: return 8;
  }
}

static inline void tdStore(acclDataType_t t, void* buf, size_t i, double v) {
  switch (t) {
    case acclInt8: ((int8_t*)buf)[i] = (int8_t)v; break;
    case acclUint8: ((uint8_t*)buf)[i] = (uint8_t)v; break;
    case acclInt32: ((int32_t*)buf)[i] = (int32_t)v; break;
    case acclUint32: ((uint32_t*)buf)[i] = (uint32_t)v; break;
    case acclInt64: ((int64_t*)buf)[i] = (int64_t)v; break;
    case acclUint64: ((uint64_t*)buf)[i] = (uint64_t)v; break;
    case acclFloat16: ((uint16_t*)buf)[i] = acclFloatToHalf((float)v); break;
    case acclBfloat16: ((uint16_t*)buf)[i] = acclFloatToBf16((float)v); break;
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
    case acclFloat16: return acclHalfToFloat(((const uint16_t*)buf)[i]);
    case acclBfloat16: return acclBf16ToFloat(((const uint16_t*)buf)[i]);
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
