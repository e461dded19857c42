/* coll_reduce_scatter.c - ReduceScatter: rank r gets block r of the reduction
 * of all inputs. algbw counts the whole input array; busbw factor (n-1)/n. In
 * place, the output is the rank's own block of the input. */
#include "common.h"

static void getCounts(size_t count, size_t typeSize, int nRanks, perfCounts* c) {
  c->recvCount = c->paramCount = perfBlockCount(count, nRanks, typeSize);
  c->sendCount = c->recvCount * (size_t)nRanks;
  c->sendInplaceOffset = 0;
  c->recvInplaceOffset = c->recvCount;
}

static perfResult_t run(const perfBackend* be, perfEnv* env, int l, const void* s, void* r,
                        const perfCounts* c, int dtype, int op, int root) {
  (void)root;
  return be->reduceScatter(env, l, s, r, c->paramCount, dtype, op);
}

static double expected(const perfCheckCtx* ctx, size_t i) {
  return perfReduceInputs(ctx, (size_t)ctx->rank * ctx->counts->paramCount + i);
}

const perfColl perfCollReduceScatter = {"reduce_scatter", "reduce_scatter_perf", 1, 0, getCounts,
                                        perfAlgBytesBlocks, perfBusFactorBlocks, run, perfChecksEveryRank, expected};
