/* reduce.c - picks the reduction kernels' ISA path at run time. */
#include <pthread.h>
#include <strings.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include "device/sim/reduce.h"
#include "core/core.h"
#include "core/param.h"

static const simReduceFn (*const isaTables[SIM_NUM_ISA])[ACCDEV_NUM_OPS] = {simReduceTable_portable,
                                                                            simReduceTable_avx2, simReduceTable_avx512};
static const char* const isaNames[SIM_NUM_ISA] = {"portable", "avx2", "avx512"};
static simIsa activeIsa = SIM_ISA_PORTABLE;
size_t simStreamMinBytes = (size_t)32 << 20;

#if defined(__x86_64__)
/* The CPU's features from cpuid, and whether the OS saves the registers they
 * use (XCR0). Not __builtin_cpu_supports: clang 14 does not know "f16c". */
typedef struct {
  int avx2, f16c, avx512f, avx512bw, avx512vl;
} simCpuFeatures;

static simCpuFeatures simCpuDetect(void) {
  simCpuFeatures f = {0, 0, 0, 0, 0};
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
  if (!osxsave) return f;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  unsigned long long xcr0 = ((unsigned long long)hi << 32) | lo;
  int ymm = (xcr0 & 0x6) == 0x6;          /* SSE and AVX state */
  int zmm = ymm && (xcr0 & 0xe0) == 0xe0; /* opmask, ZMM_Hi256, Hi16_ZMM */
  unsigned b7 = 0;
  if (__get_cpuid_max(0, NULL) >= 7) { __cpuid_count(7, 0, a, b7, c, d); }
  f.f16c = ymm && avx && f16c;
  f.avx2 = ymm && avx && ((b7 >> 5) & 1);
  f.avx512f = zmm && ((b7 >> 16) & 1);
  f.avx512bw = zmm && ((b7 >> 30) & 1);
  f.avx512vl = zmm && ((b7 >> 31) & 1);
  return f;
}

static simCpuFeatures cpu;
static pthread_once_t cpuOnce = PTHREAD_ONCE_INIT;
static void cpuDetectOnce(void) { cpu = simCpuDetect(); }
#endif

int simReduceIsaSupported(simIsa isa) {
#if defined(__x86_64__)
  pthread_once(&cpuOnce, cpuDetectOnce);
#endif
  switch (isa) {
    case SIM_ISA_PORTABLE: return 1;
#if defined(__x86_64__)
    case SIM_ISA_AVX2: return cpu.avx2 && cpu.f16c;
    case SIM_ISA_AVX512: return cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.f16c;
#endif
    default: return 0;
  }
}

accError_t simReduceInit(void) {
  simIsa best = SIM_ISA_PORTABLE;
  for (int i = SIM_NUM_ISA - 1; i > 0; i--)
    if (simReduceIsaSupported((simIsa)i)) {
      best = (simIsa)i;
      break;
    }
  int want = acclParamSimIsa() - 1; /* ACCL_SIM_ISA's choices: auto, then isaNames in order */
  if (want >= 0) {
    if (!simReduceIsaSupported((simIsa)want))
      WARN("ACCL_SIM_ISA=%s is not supported by this CPU; using %s", isaNames[want], isaNames[best]);
    else
      best = (simIsa)want;
  }
  activeIsa = best;
  simStreamMinBytes = (size_t)acclParamSimStreamBytes();
  return accSuccess;
}

const char* simReduceIsaName(void) { return isaNames[activeIsa]; }

void simReduce(const struct accDevReduce* r) {
  if (r->count) isaTables[activeIsa][r->dtype][r->op](r);
}

void simReduceWithIsa(simIsa isa, const struct accDevReduce* r) {
  if (r->count) isaTables[isa][r->dtype][r->op](r);
}
