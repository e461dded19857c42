/* colls.c - the table of collectives, looked up by -C name or by binary. */
#include <string.h>
#include "common.h"

static const perfColl* const all[] = {&perfCollAllReduce, &perfCollAllGather, &perfCollReduceScatter,
                                      &perfCollBroadcast, &perfCollReduce,    &perfCollAllToAll,
                                      &perfCollSendRecv};

const perfColl* perfCollByName(const char* name) {
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
    if (strcmp(name, all[i]->name) == 0 || strcmp(name, all[i]->program) == 0) return all[i];
  return NULL;
}

const char* perfCollNames(void) {
  return "allreduce|allgather|reduce_scatter|broadcast|reduce|alltoall|sendrecv";
}

void perfCountsSame(size_t count, size_t typeSize, int nRanks, perfCounts* c) {
  (void)nRanks; (void)typeSize;
  c->sendCount = c->recvCount = c->paramCount = count;
  c->sendInplaceOffset = c->recvInplaceOffset = 0;
}

double perfAlgBytesParam(const perfCounts* c, size_t typeSize, int nRanks) {
  (void)nRanks;
  return (double)c->paramCount * typeSize;
}

double perfBusFactorOne(int n) { (void)n; return 1.0; }

double perfAlgBytesBlocks(const perfCounts* c, size_t typeSize, int nRanks) {
  return (double)c->paramCount * typeSize * nRanks;
}

double perfBusFactorBlocks(int n) { return (double)(n - 1) / n; }

int perfChecksEveryRank(int rank, int root) { (void)rank; (void)root; return 1; }
