/* coll_broadcast.c - Broadcast: every rank gets the root's input. busbw factor 1. */
#include "common.h"

static void getCounts(size_t count, size_t typeSize, int nRanks, perfCounts* c) {
  (void)nRanks; (void)typeSize;
  c->sendCount = c->recvCount = c->paramCount = count;
  c->sendInplaceOffset = c->recvInplaceOffset = 0;
}

static double algBytes(const perfCounts* c, size_t typeSize, int nRanks) {
  (void)nRanks;
  return (double)c->paramCount * typeSize;
}

static double busFactor(int n) { (void)n; return 1.0; }

static perfResult_t run(const perfBackend* be, perfEnv* env, int l, const void* s, void* r,
                        const perfCounts* c, int dtype, int op, int root) {
  (void)op;
  return be->broadcast(env, l, s, r, c->paramCount, dtype, root);
}

static int checksRank(int rank, int root) { (void)rank; (void)root; return 1; }

static double expected(const perfCheckCtx* ctx, size_t i) { return perfInput(ctx, ctx->root, i); }

const perfColl perfCollBroadcast = {"broadcast", "broadcast_perf", 0, 1, getCounts, algBytes,
                                    busFactor, run, checksRank, expected};
