/* reduce_portable.c - the reduction kernels for any CPU: 16-byte generic
 * vectors and scalar fp16 conversions. */
#include "device/sim/reduce.h"

#define VB 16
#define SIMK(name) name##_portable

typedef float vfh_t __attribute__((vector_size(VB)));

static inline vfh_t loadHalf(const char* p) {
  vfh_t v;
  for (int i = 0; i < VB / 4; i++) {
    uint16_t h;
    __builtin_memcpy(&h, p + 2 * i, 2);
    v[i] = acclHalfToFloat(h);
  }
  return v;
}

static inline void storeHalf(char* p, vfh_t v) {
  for (int i = 0; i < VB / 4; i++) {
    uint16_t h = acclFloatToHalf(v[i]);
    __builtin_memcpy(p + 2 * i, &h, 2);
  }
}

/* No portable streaming store: plain copies. */
static inline void streamOut(char* dst, const char* src, size_t n) { __builtin_memcpy(dst, src, n); }
static inline void streamFence(void) {}

#include "device/sim/reduce_kernels.inc"
