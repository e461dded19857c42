/* dtype_util.h - host-side conversion between double and every acc-ccl
 * datatype (fp16 / bf16 round to nearest even), for building inputs and
 * expected results in tests. Header-only. */
#ifndef ACCL_TEST_DTYPE_UTIL_H_
#define ACCL_TEST_DTYPE_UTIL_H_

#include <math.h>
#include <stdint.h>
#include <string.h>
#include "acc_ccl.h"
#include "core/halfconv.h"

static inline size_t tdSize(acclDataType_t t) {
  switch (t) {
    case acclInt8:
    case acclUint8:
    case acclFloat8e4m3:
    case acclFloat8e5m2: return 1;
    case acclFloat16:
    case acclBfloat16: return 2;
    case acclInt32:
    case acclUint32:
    case acclFloat32: return 4;
    default: return 8;
  }
}

static inline void tdStore(acclDataType_t t, void* buf, size_t i, double v) { acclValueStore(t, buf, i, v); }
static inline double tdLoad(acclDataType_t t, const void* buf, size_t i) { return acclValueLoad(t, buf, i); }

static inline int tdIsFloat(acclDataType_t t) {
  return t == acclFloat16 || t == acclBfloat16 || t == acclFloat32 || t == acclFloat64 || t == acclFloat8e4m3 ||
         t == acclFloat8e5m2;
}

/* Relative tolerance of one ulp-ish for inexact results (Avg with 1/n). */
static inline double tdTolerance(acclDataType_t t) {
  switch (t) {
    case acclFloat16: return 2e-3;
    case acclBfloat16: return 1.6e-2;
    case acclFloat32: return 3e-7;
    case acclFloat64: return 1e-15;
    case acclFloat8e4m3: return 6.25e-2; /* half an ulp: 2^-4 */
    case acclFloat8e5m2: return 1.25e-1;
    default: return 0;
  }
}

#endif
