/* coll_broadcast.c - Broadcast: every rank gets the root's input. busbw factor 1. */
#include "common.h"

static perfResult_t run(const perfBackend* be, perfEnv* env, int l, void* s, void* r, const perfCounts* c, int dtype,
                        int op, int root) {
  (void)op;
  return be->broadcast(env, l, s, r, c->paramCount, dtype, root);
}

static double expected(const perfCheckCtx* ctx, size_t i) { return perfInput(ctx, ctx->root, i); }

const perfColl perfCollBroadcast = {.name = "broadcast",
                                    .ops = PERF_OPS_NONE,
                                    .opLabel = "none",
                                    .hasRoot = 1,
                                    .checksInPlace = 1,
                                    .getCounts = perfCountsSame,
                                    .algBytes = perfAlgBytesParam,
                                    .busFactor = perfBusFactorOne,
                                    .run = run,
                                    .checksRank = perfChecksEveryRank,
                                    .expected = expected};
