/* reduce.c - picks the reduction kernels' ISA path at run time. */
#include <strings.h>
#include "device/sim/reduce.h"
#include "core/core.h"
#include "core/param.h"

static const simReduceFn (*const isaTables[SIM_NUM_ISA])[ACCDEV_NUM_OPS] = {simReduceTable_portable,
                                                                            simReduceTable_avx2, simReduceTable_avx512};
static const char* const isaNames[SIM_NUM_ISA] = {"portable", "avx2", "avx512"};
static simIsa activeIsa = SIM_ISA_PORTABLE;
size_t simStreamMinBytes = (size_t)32 << 20;

int simReduceIsaSupported(simIsa isa) {
  switch (isa) {
    case SIM_ISA_PORTABLE: return 1;
#if defined(__x86_64__)
    case SIM_ISA_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
    case SIM_ISA_AVX512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("f16c");
#endif
    default: return 0;
  }
}

accError_t simReduceInit(void) {
  __builtin_cpu_init();
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
