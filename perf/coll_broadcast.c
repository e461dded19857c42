/* coll_broadcast.c - Broadcast: every rank gets the root's input. busbw factor 1. */
#include "common.h"

static perfResult_t run(const perfBackend* be, perfEnv* env, int l, const void* s, void* r,
                        const perfCounts* c, int dtype, int op, int root) {
  (void)op;
  return be->broadcast(env, l, s, r, c->paramCount, dtype, root);
}

static double expected(const perfCheckCtx* ctx, size_t i) { return perfInput(ctx, ctx->root, i); }

const perfColl perfCollBroadcast = {"broadcast", "broadcast_perf", 0, 1, perfCountsSame, perfAlgBytesParam,
                                    perfBusFactorOne, run, perfChecksEveryRank, expected};
