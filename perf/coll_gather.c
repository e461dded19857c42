/* coll_gather.c - Gather: block p of the root's output is rank p's input;
 * other ranks' outputs are not checked. algbw counts the whole gathered
 * array, busbw factor (n-1)/n (nccl-tests' rules). The backend's gather runs
 * it (acc-ccl: acclGather). */
#include "common.h"

static perfResult_t run(const perfBackend* be, perfEnv* env, int l, void* s, void* r, const perfCounts* c, int dtype,
                        int op, int root) {
  (void)op;
  return be->gather(env, l, s, r, c->paramCount, dtype, root);
}

static double expected(const perfCheckCtx* ctx, size_t i) {
  size_t block = ctx->counts->paramCount;
  return perfInput(ctx, (int)(i / block), i % block);
}

const perfColl perfCollGather = {.name = "gather",
                                 .ops = PERF_OPS_NONE,
                                 .opLabel = "none",
                                 .hasRoot = 1,
                                 .checksInPlace = 1,
                                 .getCounts = perfCountsGathered,
                                 .algBytes = perfAlgBytesBlocks,
                                 .busFactor = perfBusFactorBlocks,
                                 .run = run,
                                 .checksRank = perfChecksRoot,
                                 .expected = expected};
