/* reduce_avx512.c - the reduction kernels for AVX-512 CPUs (64-byte vectors,
 * AVX-512F conversions for fp16). Selected at run time. */
#include "device/sim/reduce.h"

#if defined(__x86_64__)
#if defined(__clang__) /* clang ignores #pragma GCC target */
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx2,f16c"))), apply_to = function)
#else
#pragma GCC target("avx512f,avx512bw,avx512vl,avx2,f16c")
#include <immintrin.h>
#endif

#define VB 64
#define SIMK(name) name##_avx512

typedef float vfh_t __attribute__((vector_size(VB)));

static inline vfh_t loadHalf(const char* p) { return (vfh_t)_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)p)); }

static inline void storeHalf(char* p, vfh_t v) {
  _mm256_storeu_si256((__m256i*)p, _mm512_cvtps_ph((__m512)v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

static inline void streamOut(char* dst, const char* src, size_t n) {
  for (size_t i = 0; i < n; i += 64)
    _mm512_stream_si512((__m512i*)(dst + i), _mm512_load_si512((const void*)(src + i)));
}
static inline void streamFence(void) { _mm_sfence(); }

#include "device/sim/reduce_kernels.inc"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#else
const simReduceFn simReduceTable_avx512[acclNumTypes][ACCDEV_NUM_OPS]; /* never selected off x86-64 */
#endif
