/* coll_sendrecv.c - SendRecv: each rank sends to rank+1 and receives from
 * rank-1 (a ring shift) in one group. busbw factor 1. As in nccl-tests, -o
 * only labels the rows (redop "sum" by default), and the in-place run is
 * timed but not checked (#wrong reads N/A). */
#include "common.h"

static perfResult_t run(const perfBackend* be, perfEnv* env, int l, void* s, void* r, const perfCounts* c, int dtype,
                        int op, int root) {
  (void)op;
  (void)root;
  int rank = env->rank[l], n = env->nRanks;
  return be->sendRecv(env, l, s, r, c->paramCount, dtype, (rank + 1) % n, (rank - 1 + n) % n);
}

static double expected(const perfCheckCtx* ctx, size_t i) {
  return perfInput(ctx, (ctx->rank - 1 + ctx->nRanks) % ctx->nRanks, i);
}

const perfColl perfCollSendRecv = {.name = "sendrecv",
                                   .ops = PERF_OPS_LABEL,
                                   .opLabel = "none",
                                   .checksInPlace = 0,
                                   .getCounts = perfCountsSame,
                                   .algBytes = perfAlgBytesParam,
                                   .busFactor = perfBusFactorOne,
                                   .run = run,
                                   .checksRank = perfChecksEveryRank,
                                   .expected = expected};
