/* coll_allreduce.c - AllReduce: every rank gets the reduction of all inputs.
 * busbw factor 2(n-1)/n: a ring sends and receives each element 2(n-1)/n times. */
#include "common.h"

static double busFactor(int n) { return 2.0 * (n - 1) / n; }

static perfResult_t run(const perfBackend* be, perfEnv* env, int l, void* s, void* r, const perfCounts* c, int dtype,
                        int op, int root) {
  (void)root;
  return be->allReduce(env, l, s, r, c->paramCount, dtype, op);
}

static double expected(const perfCheckCtx* ctx, size_t i) { return perfReduceInputs(ctx, i); }

const perfColl perfCollAllReduce = {.name = "all_reduce",
                                    .ops = PERF_OPS_REDUCE,
                                    .opLabel = "none",
                                    .checksInPlace = 1,
                                    .getCounts = perfCountsSame,
                                    .algBytes = perfAlgBytesParam,
                                    .busFactor = busFactor,
                                    .run = run,
                                    .checksRank = perfChecksEveryRank,
                                    .expected = expected};
