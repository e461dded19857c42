/* coll_hypercube.c - HyperCube: an AllGather made of log2(n) rounds of
 * sends and receives; in round k each rank swaps the 2^k blocks it holds with
 * the rank whose index differs in bit k. Only for a power-of-two rank count
 * (others print a line and skip, as nccl-tests). algbw counts the n-1 blocks
 * each rank receives, busbw factor 1; the redop column is empty.
 *
 * Round k+1 sends what round k received, so the driver launches the rounds
 * one after the other (on every device of a thread, grouped, before the next
 * round), where nccl-tests puts all rounds of all devices into one group; in
 * one group nothing orders a round after the one it depends on, and with
 * -g > 1 acc-ccl then delivered wrong values. */
#include "common.h"

static int rounds(int n) {
  int k = 0;
  while ((1 << k) < n) k++;
  return k > 0 ? k : 1;
}

static perfResult_t runRound(const perfBackend* be, perfEnv* env, int l, void* s, void* r, const perfCounts* c,
                             int dtype, int round) {
  int rank = env->rank[l], n = env->nRanks, mask = 1 << round;
  size_t block = c->paramCount * perfTypeSize(dtype);
  char* out = r;
  if (round == 0 && out + (size_t)rank * block != (char*)s)
    PERFCHECK(be->copy(env, l, out + (size_t)rank * block, s, block));
  if (mask >= n) return perfSuccess;
  int mine = rank & ~(mask - 1); /* first of the mask blocks this rank holds */
  int theirs = mine ^ mask;
  return be->sendRecv(env, l, out + (size_t)mine * block, out + (size_t)theirs * block, c->paramCount * (size_t)mask,
                      dtype, rank ^ mask, rank ^ mask);
}

static double algBytes(const perfCounts* c, size_t typeSize, int nRanks) {
  return (double)c->paramCount * typeSize * (nRanks - 1);
}

static double expected(const perfCheckCtx* ctx, size_t i) {
  size_t block = ctx->counts->paramCount;
  return perfInput(ctx, (int)(i / block), i % block);
}

const perfColl perfCollHyperCube = {.name = "hypercube",
                                    .ops = PERF_OPS_NONE,
                                    .opLabel = "",
                                    .checksInPlace = 1,
                                    .needsPow2 = 1,
                                    .getCounts = perfCountsGathered,
                                    .algBytes = algBytes,
                                    .busFactor = perfBusFactorOne,
                                    .rounds = rounds,
                                    .runRound = runRound,
                                    .checksRank = perfChecksEveryRank,
                                    .expected = expected};
