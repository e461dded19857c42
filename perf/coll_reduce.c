/* coll_reduce.c - Reduce: the root gets the reduction of all inputs; other
 * ranks' outputs are undefined and not checked. busbw factor 1. */
#include "common.h"

static perfResult_t run(const perfBackend* be, perfEnv* env, int l, void* s, void* r, const perfCounts* c, int dtype,
                        int op, int root) {
  return be->reduce(env, l, s, r, c->paramCount, dtype, op, root);
}

static double expected(const perfCheckCtx* ctx, size_t i) { return perfReduceInputs(ctx, i); }

const perfColl perfCollReduce = {.name = "reduce",
                                 .ops = PERF_OPS_REDUCE,
                                 .opLabel = "none",
                                 .hasRoot = 1,
                                 .checksInPlace = 1,
                                 .getCounts = perfCountsSame,
                                 .algBytes = perfAlgBytesParam,
                                 .busFactor = perfBusFactorOne,
                                 .run = run,
                                 .checksRank = perfChecksRoot,
                                 .expected = expected};
