/* colls.c - the table of collectives, looked up by --coll name or by
 * program name, and the count rules and bandwidth factors they share. The
 * rules are nccl-tests 2.19's getCollByteCount and getBw, collective by
 * collective. */
#include <string.h>
#include "common.h"

static const perfColl* const all[] = {
    &perfCollAllReduce, &perfCollAllGather, &perfCollReduceScatter, &perfCollBroadcast, &perfCollReduce,
    &perfCollAllToAll,  &perfCollSendRecv,  &perfCollGather,        &perfCollScatter,   &perfCollHyperCube};

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
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
    if (strlen(all[i]->name) == len && strncmp(name, all[i]->name, len) == 0) return all[i];
  return NULL;
}

const char* perfCollNames(void) {
  return "all_reduce|all_gather|reduce_scatter|broadcast|reduce|alltoall|sendrecv|gather|scatter|hypercube";
}

void perfCountsSame(size_t count, size_t typeSize, int nRanks, perfCounts* c) {
  (void)nRanks;
  (void)typeSize;
  c->sendCount = c->recvCount = c->paramCount = count;
  c->sendInplaceOffset = c->recvInplaceOffset = 0;
}

void perfCountsGathered(size_t count, size_t typeSize, int nRanks, perfCounts* c) {
  c->sendCount = c->paramCount = perfBlockCount(count, nRanks, typeSize);
  c->recvCount = c->sendCount * (size_t)nRanks;
  c->sendInplaceOffset = c->sendCount;
  c->recvInplaceOffset = 0;
}

void perfCountsScattered(size_t count, size_t typeSize, int nRanks, perfCounts* c) {
  c->recvCount = c->paramCount = perfBlockCount(count, nRanks, typeSize);
  c->sendCount = c->recvCount * (size_t)nRanks;
  c->sendInplaceOffset = 0;
  c->recvInplaceOffset = c->recvCount;
}

double perfAlgBytesParam(const perfCounts* c, size_t typeSize, int nRanks) {
  (void)nRanks;
  return (double)c->paramCount * typeSize;
}

double perfBusFactorOne(int n) {
  (void)n;
  return 1.0;
}

double perfAlgBytesBlocks(const perfCounts* c, size_t typeSize, int nRanks) {
  return (double)c->paramCount * typeSize * nRanks;
}

double perfBusFactorBlocks(int n) { return (double)(n - 1) / n; }

int perfChecksEveryRank(int rank, int root) {
  (void)rank;
  (void)root;
  return 1;
}
int perfChecksRoot(int rank, int root) { return rank == root; }
