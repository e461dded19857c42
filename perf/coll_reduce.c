/* coll_reduce.c - Reduce: the root gets the reduction of all inputs; other
 * ranks' outputs are undefined and not checked. busbw factor 1. */
#include "common.h"

static perfResult_t run(const perfBackend* be, perfEnv* env, int l, const void* s, void* r,
                        const perfCounts* c, int dtype, int op, int root) {
  return be->reduce(env, l, s, r, c->paramCount, dtype, op, root);
}

static int checksRank(int rank, int root) { return rank == root; }

static double expected(const perfCheckCtx* ctx, size_t i) { return perfReduceInputs(ctx, i); }

const perfColl perfCollReduce = {"reduce", "reduce_perf", 1, 1, perfCountsSame, perfAlgBytesParam, perfBusFactorOne,
                                 run, checksRank, expected};
