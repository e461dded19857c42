/* coll_alltoall.c - AllToAll: block p of rank r's input goes to block r of
 * rank p's output. algbw counts the whole array; busbw factor (n-1)/n. As in
 * nccl-tests the in-place run is timed but not checked (#wrong reads N/A). */
#include "common.h"

static void getCounts(size_t count, size_t typeSize, int nRanks, perfCounts* c) {
  c->paramCount = perfBlockCount(count, nRanks, typeSize);
  c->sendCount = c->recvCount = c->paramCount * (size_t)nRanks;
  c->sendInplaceOffset = c->recvInplaceOffset = 0;
}

static perfResult_t run(const perfBackend* be, perfEnv* env, int l, void* s, void* r, const perfCounts* c, int dtype,
                        int op, int root) {
  (void)op;
  (void)root;
  return be->allToAll(env, l, s, r, c->paramCount, dtype);
}

static double expected(const perfCheckCtx* ctx, size_t i) {
  size_t block = ctx->counts->paramCount;
  return perfInput(ctx, (int)(i / block), (size_t)ctx->rank * block + i % block);
}

const perfColl perfCollAllToAll = {.name = "alltoall",
                                   .ops = PERF_OPS_NONE,
                                   .opLabel = "none",
                                   .checksInPlace = 0,
                                   .getCounts = getCounts,
                                   .algBytes = perfAlgBytesBlocks,
                                   .busFactor = perfBusFactorBlocks,
                                   .run = run,
                                   .checksRank = perfChecksEveryRank,
                                   .expected = expected};
