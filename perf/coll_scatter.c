/* coll_scatter.c - Scatter: rank r gets block r of the root's input. algbw
 * counts the whole scattered array, busbw factor (n-1)/n (nccl-tests' rules).
 * The backend's scatter runs it (acc-ccl: acclScatter). */
#include "common.h"

static perfResult_t run(const perfBackend* be, perfEnv* env, int l, void* s, void* r, const perfCounts* c, int dtype,
                        int op, int root) {
  (void)op;
  return be->scatter(env, l, s, r, c->paramCount, dtype, root);
}

static double expected(const perfCheckCtx* ctx, size_t i) {
  return perfInput(ctx, ctx->root, (size_t)ctx->rank * ctx->counts->paramCount + i);
}

const perfColl perfCollScatter = {.name = "scatter",
                                  .ops = PERF_OPS_NONE,
                                  .opLabel = "none",
                                  .hasRoot = 1,
                                  .checksInPlace = 1,
                                  .getCounts = perfCountsScattered,
                                  .algBytes = perfAlgBytesBlocks,
                                  .busFactor = perfBusFactorBlocks,
                                  .run = run,
                                  .checksRank = perfChecksEveryRank,
                                  .expected = expected};
