/* coll_allgather.c - AllGather: block p of every output is rank p's input.
 * algbw counts the whole gathered array; busbw factor (n-1)/n. In place, the
 * input is the rank's own block of the output. */
#include "common.h"

static void getCounts(size_t count, size_t typeSize, int nRanks, perfCounts* c) {
  c->sendCount = c->paramCount = perfBlockCount(count, nRanks, typeSize);
  c->recvCount = c->sendCount * (size_t)nRanks;
  c->sendInplaceOffset = c->sendCount;
  c->recvInplaceOffset = 0;
}

static perfResult_t run(const perfBackend* be, perfEnv* env, int l, const void* s, void* r,
                        const perfCounts* c, int dtype, int op, int root) {
  (void)op; (void)root;
  return be->allGather(env, l, s, r, c->paramCount, dtype);
}

static double expected(const perfCheckCtx* ctx, size_t i) {
  size_t block = ctx->counts->paramCount;
  return perfInput(ctx, (int)(i / block), i % block);
}

const perfColl perfCollAllGather = {"allgather", "allgather_perf", 0, 0, getCounts, perfAlgBytesBlocks,
                                    perfBusFactorBlocks, run, perfChecksEveryRank, expected};
