/* coll_sendrecv.c - SendRecv: each rank sends to rank+1 and receives from
 * rank-1 (a ring shift) in one group. busbw factor 1. */
#include "common.h"

static perfResult_t run(const perfBackend* be, perfEnv* env, int l, const void* s, void* r,
                        const perfCounts* c, int dtype, int op, int root) {
  (void)op; (void)root;
  int rank = env->rank[l], n = env->nRanks;
  return be->sendRecv(env, l, s, r, c->paramCount, dtype, (rank + 1) % n, (rank - 1 + n) % n);
}

static double expected(const perfCheckCtx* ctx, size_t i) {
  return perfInput(ctx, (ctx->rank - 1 + ctx->nRanks) % ctx->nRanks, i);
}

const perfColl perfCollSendRecv = {"sendrecv", "sendrecv_perf", 0, 0, perfCountsSame, perfAlgBytesParam,
                                   perfBusFactorOne, run, perfChecksEveryRank, expected};
