/* reduce_avx2.c - the reduction kernels for AVX2 CPUs (32-byte vectors, F16C
 * conversions for fp16). Selected at run time; never run on other CPUs. */
#include "device/sim/reduce.h"

#if defined(__x86_64__)
#if defined(__clang__) /* clang ignores #pragma GCC target */
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx2,f16c"))), apply_to = function)
#else
#pragma GCC target("avx2,f16c")
#include <immintrin.h>
#endif

#define VB 32
#define SIMK(name) name##_avx2

typedef float vfh_t __attribute__((vector_size(VB)));

static inline vfh_t loadHalf(const char* p) { return (vfh_t)_mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p)); }

static inline void storeHalf(char* p, vfh_t v) {
  _mm_storeu_si128((__m128i*)p, _mm256_cvtps_ph((__m256)v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

static inline void streamOut(char* dst, const char* src, size_t n) {
  for (size_t i = 0; i < n; i += 32)
    _mm256_stream_si256((__m256i*)(dst + i), _mm256_load_si256((const __m256i*)(src + i)));
}
static inline void streamFence(void) { _mm_sfence(); }

#include "device/sim/reduce_kernels.inc"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#else
const simReduceFn simReduceTable_avx2[acclNumTypes][ACCDEV_NUM_OPS]; /* never selected off x86-64 */
#endif
