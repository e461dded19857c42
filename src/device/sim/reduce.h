/* reduce.h - the reduction engine's kernels: out = op(in_0 .. in_k-1)
 * elementwise, for every dtype x op, in one pass (1 or 2 outputs), with the
 * optional pre-multiplication of inputs by a scalar and division of the result.
 *
 * Semantics shared by every ISA path (the tests hold them to a scalar
 * reference, bit for bit):
 *  - integers wrap (two's complement), Avg divides the sum (truncating);
 *  - fp16 / bf16 / fp8 are computed in fp32 and rounded once to nearest even
 *    (fp8 saturating to its largest finite value, NaN -> 0x7f: acc_ccl.h);
 *  - floats combine inputs in order in their own precision (no FMA);
 *  - min / max: NaN if either input is NaN; otherwise ties keep the later input. */
#ifndef ACCL_SIM_REDUCE_H_
#define ACCL_SIM_REDUCE_H_

#include "acc_runtime.h"
#include "device/device.h"
#include "core/core.h"
#include "core/halfconv.h"

/* Outputs of at least this many bytes are written with streaming stores
 * (ACCL_SIM_STREAM_BYTES, default 32 MiB: below that, source, destination and
 * the peers' buffers of a collective stay in a large last-level cache). */
extern size_t simStreamMinBytes;

typedef enum { SIM_ISA_PORTABLE = 0, SIM_ISA_AVX2 = 1, SIM_ISA_AVX512 = 2, SIM_NUM_ISA = 3 } simIsa;
typedef void (*simReduceFn)(const struct accDevReduce* r);

/* Choose the ISA: ACCL_SIM_ISA=portable|avx2|avx512 forces one, else the best
 * the CPU supports. */
accError_t simReduceInit(void);
const char* simReduceIsaName(void);
int simReduceIsaSupported(simIsa isa);
/* Run r (validated) on the active ISA / on a given one (tests). */
void simReduce(const struct accDevReduce* r);
void simReduceWithIsa(simIsa isa, const struct accDevReduce* r);

/* Kernel tables of each path, [acclDataType_t][accDevRedOp]. */
extern const simReduceFn simReduceTable_portable[acclNumTypes][ACCDEV_NUM_OPS];
extern const simReduceFn simReduceTable_avx2[acclNumTypes][ACCDEV_NUM_OPS];
extern const simReduceFn simReduceTable_avx512[acclNumTypes][ACCDEV_NUM_OPS];

/* Scalar fp16 conversions, round to nearest even (portable path). */

/* 1 when an output overlaps an input (an in-place reduction). */
static inline int simReduceAliased(const struct accDevReduce* r) {
  size_t bytes = r->count * acclTypeSize((acclDataType_t)r->dtype);
  for (int o = 0; o < r->ndst; o++) {
    const char* d = (const char*)r->dst[o];
    for (int i = 0; i < r->nsrc; i++) {
      const char* p = (const char*)r->src[i];
      if (p < d + bytes && d < p + bytes) return 1;
    }
  }
  return 0;
}

#endif
