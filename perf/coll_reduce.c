/* coll_reduce.c - Reduce: the root gets the reduction of all inputs; other
 * ranks' outputs are undefined and not checked. busbw factor 1. */
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
  return be->reduce(env, l, s, r, c->paramCount, dtype, op, root);
}

static int checksRank(int rank, int root) { return rank == root; }

static double expected(const perfCheckCtx* ctx, size_t i) { return perfReduceInputs(ctx, i); }

const perfColl perfCollReduce = {"reduce", "reduce_perf", 1, 1, getCounts, algBytes, busFactor,
                                 run, checksRank, expected};
