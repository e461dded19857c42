/* coll_reduce_scatter.c - ReduceScatter: rank r gets block r of the reduction
 * of all inputs. algbw counts the whole input array; busbw factor (n-1)/n. In
 * place, the output is the rank's own block of the input. */
#include "common.h"

static perfResult_t run(const perfBackend* be, perfEnv* env, int l, void* s, void* r, const perfCounts* c, int dtype,
                        int op, int root) {
  (void)root;
  return be->reduceScatter(env, l, s, r, c->paramCount, dtype, op);
}

static double expected(const perfCheckCtx* ctx, size_t i) {
  return perfReduceInputs(ctx, (size_t)ctx->rank * ctx->counts->paramCount + i);
}

const perfColl perfCollReduceScatter = {.name = "reduce_scatter",
                                        .ops = PERF_OPS_REDUCE,
                                        .opLabel = "none",
                                        .checksInPlace = 1,
                                        .getCounts = perfCountsScattered,
                                        .algBytes = perfAlgBytesBlocks,
                                        .busFactor = perfBusFactorBlocks,
                                        .run = run,
                                        .checksRank = perfChecksEveryRank,
                                        .expected = expected};
