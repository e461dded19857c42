/* colls.c - the table of collectives: one row each, looked up by --coll name
 * or by program name. What differs between collectives is data: the count
 * rule, the algbw and busbw factors (nccl-tests 2.19's getCollByteCount and
 * getBw), whose output is checked, and where each expected value comes from.
 * The backends run the library collectives by id (perfBackend.collective);
 * SendRecv and HyperCube, built from sends and receives, have their own
 * launch below.
 *
 * HyperCube is an AllGather made of log2(n) rounds of sends and receives; in
 * round k each rank swaps the 2^k blocks it holds with the rank whose index
 * differs in bit k. Only for a power-of-two rank count (others print a line
 * and skip, as nccl-tests); its redop column is empty. Round k+1 sends what
 * round k received, so the driver launches the rounds one after the other
 * (on every device of a thread, grouped, before the next round), where
 * nccl-tests puts all rounds of all devices into one group; in one group
 * nothing orders a round after the one it depends on, and with -g > 1 acc-ccl
 * then delivered wrong values.
 *
 * As in nccl-tests, AllToAll's and SendRecv's in-place runs are timed but not
 * checked (#wrong reads N/A), and SendRecv's -o only labels the rows. */
#include <string.h>
#include "common.h"

/* Element counts of one row from the count of the size (nccl-tests'
 * getCollByteCount). */
enum {
  COUNT_SAME,     /* both buffers hold count (AllReduce, Broadcast, Reduce, SendRecv) */
  COUNT_GATHER,   /* n blocks out, rank r's block in (AllGather, Gather, HyperCube) */
  COUNT_SCATTER,  /* n blocks in, rank r's block out (ReduceScatter, Scatter) */
  COUNT_ALLTOALL, /* n blocks each way */
};

/* Factors of algbw's bytes (times paramCount * typeSize) and of busbw. */
enum { BY_ONE, BY_N, BY_N_MINUS_1, BY_BLOCKS /* (n-1)/n */, BY_RING /* 2(n-1)/n */ };

static double factor(int rule, int n) {
  switch (rule) {
    case BY_N: return n;
    case BY_N_MINUS_1: return n - 1;
    case BY_BLOCKS: return (double)(n - 1) / n;
    case BY_RING: return 2.0 * (n - 1) / n;
    default: return 1.0;
  }
}

/* Expected output element i: the input of one rank (or the reduction of all),
 * at index i, or, with ownBlock, at i of this rank's block. */
enum {
  FROM_ALL,   /* the reduction over every rank */
  FROM_ROOT,  /* the root's input */
  FROM_PREV,  /* rank - 1's input (the ring shift of SendRecv) */
  FROM_BLOCK, /* block p of the output comes from rank p */
};

/* clang-format off */
static const perfColl table[] = {
/*  id                 name              ops              opLabel root inPl pow2 counts          alg           bus        rootOnly from   ownBlock */
  {perfAllReduce,     "all_reduce",     PERF_OPS_REDUCE, "none", 0,   1,   0,   COUNT_SAME,     BY_ONE,       BY_RING,   0, FROM_ALL,   0},
  {perfAllGather,     "all_gather",     PERF_OPS_NONE,   "none", 0,   1,   0,   COUNT_GATHER,   BY_N,         BY_BLOCKS, 0, FROM_BLOCK, 0},
  {perfReduceScatter, "reduce_scatter", PERF_OPS_REDUCE, "none", 0,   1,   0,   COUNT_SCATTER,  BY_N,         BY_BLOCKS, 0, FROM_ALL,   1},
  {perfBroadcast,     "broadcast",      PERF_OPS_NONE,   "none", 1,   1,   0,   COUNT_SAME,     BY_ONE,       BY_ONE,    0, FROM_ROOT,  0},
  {perfReduce,        "reduce",         PERF_OPS_REDUCE, "none", 1,   1,   0,   COUNT_SAME,     BY_ONE,       BY_ONE,    1, FROM_ALL,   0},
  {perfAllToAll,      "alltoall",       PERF_OPS_NONE,   "none", 0,   0,   0,   COUNT_ALLTOALL, BY_N,         BY_BLOCKS, 0, FROM_BLOCK, 1},
  {perfSendRecv,      "sendrecv",       PERF_OPS_LABEL,  "none", 0,   0,   0,   COUNT_SAME,     BY_ONE,       BY_ONE,    0, FROM_PREV,  0},
  {perfGather,        "gather",         PERF_OPS_NONE,   "none", 1,   1,   0,   COUNT_GATHER,   BY_N,         BY_BLOCKS, 1, FROM_BLOCK, 0},
  {perfScatter,       "scatter",        PERF_OPS_NONE,   "none", 1,   1,   0,   COUNT_SCATTER,  BY_N,         BY_BLOCKS, 0, FROM_ROOT,  1},
  {perfHyperCube,     "hypercube",      PERF_OPS_NONE,   "",     0,   1,   1,   COUNT_GATHER,   BY_N_MINUS_1, BY_ONE,    0, FROM_BLOCK, 0},
};
/* clang-format on */
_Static_assert(sizeof(table) / sizeof(table[0]) == perfNumColls, "one row per perfCollId");

/* Names before the programs took nccl-tests' names (old perf/compare runs). */
static const struct {
  const char* old;
  const char* now;
} aliases[] = {{"allreduce", "all_reduce"}, {"allgather", "all_gather"}};

const perfColl* perfCollByName(const char* name) {
  for (size_t a = 0; a < sizeof(aliases) / sizeof(aliases[0]); a++)
    if (strcmp(name, aliases[a].old) == 0) name = aliases[a].now;
  size_t len = strlen(name);
  if (len > 5 && strcmp(name + len - 5, "_perf") == 0) len -= 5;
  for (int i = 0; i < perfNumColls; i++)
    if (strlen(table[i].name) == len && strncmp(name, table[i].name, len) == 0) return &table[i];
  return NULL;
}

const char* perfCollNames(void) {
  return "all_reduce|all_gather|reduce_scatter|broadcast|reduce|alltoall|sendrecv|gather|scatter|hypercube";
}

void perfCollCounts(const perfColl* coll, size_t count, size_t typeSize, int nRanks, perfCounts* c) {
  size_t block = coll->counts == COUNT_SAME ? count : perfBlockCount(count, nRanks, typeSize);
  size_t all = coll->counts == COUNT_SAME ? count : block * (size_t)nRanks;
  c->paramCount = block;
  c->sendCount = coll->counts == COUNT_GATHER ? block : all;
  c->recvCount = coll->counts == COUNT_SCATTER ? block : all;
  /* In place, the rank's block of the other buffer. */
  c->sendInplaceOffset = coll->counts == COUNT_GATHER ? block : 0;
  c->recvInplaceOffset = coll->counts == COUNT_SCATTER ? block : 0;
}

double perfCollAlgBytes(const perfColl* coll, const perfCounts* c, size_t typeSize, int nRanks) {
  return (double)c->paramCount * typeSize * factor(coll->algFactor, nRanks);
}

double perfCollBusFactor(const perfColl* coll, int nRanks) { return factor(coll->busFactor, nRanks); }

int perfCollChecksRank(const perfColl* coll, int rank, int root) { return !coll->rootOnly || rank == root; }

double perfCollExpected(const perfColl* coll, const perfCheckCtx* ctx, size_t i) {
  size_t block = ctx->counts->paramCount;
  size_t j = (coll->ownBlock ? (size_t)ctx->rank * block : 0) + (coll->from == FROM_BLOCK ? i % block : i);
  switch (coll->from) {
    case FROM_ALL: return perfReduceInputs(ctx, j);
    case FROM_ROOT: return perfInput(ctx, ctx->root, j);
    case FROM_PREV: return perfInput(ctx, (ctx->rank - 1 + ctx->nRanks) % ctx->nRanks, j);
    default: return perfInput(ctx, (int)(i / block), j);
  }
}

int perfCollRounds(const perfColl* coll, int nRanks) {
  int k = 0;
  if (coll->id != perfHyperCube) return 1;
  while ((1 << k) < nRanks) k++;
  return k > 0 ? k : 1;
}

/* HyperCube's round `round` on local rank l. */
static perfResult_t hyperCubeRound(const perfBackend* be, perfEnv* env, int l, void* s, void* r, size_t count,
                                   int dtype, int round) {
  int rank = env->rank[l], n = env->nRanks, mask = 1 << round;
  size_t block = count * perfTypeSize(dtype);
  char* out = r;
  if (round == 0 && out + (size_t)rank * block != (char*)s)
    PERFCHECK(be->copy(env, l, out + (size_t)rank * block, s, block));
  if (mask >= n) return perfSuccess;
  int mine = rank & ~(mask - 1); /* first of the mask blocks this rank holds */
  int theirs = mine ^ mask;
  return be->sendRecv(env, l, out + (size_t)mine * block, out + (size_t)theirs * block, count * (size_t)mask, dtype,
                      rank ^ mask, rank ^ mask);
}

perfResult_t perfCollLaunch(const perfColl* coll, const perfBackend* be, perfEnv* env, int l, void* s, void* r,
                            size_t count, int dtype, int op, int root, int round) {
  int rank = env->rank[l], n = env->nRanks;
  switch (coll->id) {
    case perfSendRecv: return be->sendRecv(env, l, s, r, count, dtype, (rank + 1) % n, (rank - 1 + n) % n);
    case perfHyperCube: return hyperCubeRound(be, env, l, s, r, count, dtype, round);
    default: return be->collective(env, l, coll->id, s, r, count, dtype, op, root);
  }
}
