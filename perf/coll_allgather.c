/* coll_allgather.c - AllGather: block p of every output is rank p's input.
 * algbw counts the whole gathered array; busbw factor (n-1)/n. In place, the
 * input is the rank's own block of the output. */
#include "common.h"

static perfResult_t run(const perfBackend* be, perfEnv* env, int l, void* s, void* r, const perfCounts* c, int dtype,
                        int op, int root) {
  (void)op;
  (void)root;
  return be->allGather(env, l, s, r, c->paramCount, dtype);
}

static double expected(const perfCheckCtx* ctx, size_t i) {
  size_t block = ctx->counts->paramCount;
  return perfInput(ctx, (int)(i / block), i % block);
}

const perfColl perfCollAllGather = {.name = "all_gather",
                                    .ops = PERF_OPS_NONE,
                                    .opLabel = "none",
                                    .checksInPlace = 1,
                                    .getCounts = perfCountsGathered,
                                    .algBytes = perfAlgBytesBlocks,
                                    .busFactor = perfBusFactorBlocks,
                                    .run = run,
                                    .checksRank = perfChecksEveryRank,
                                    .expected = expected};
