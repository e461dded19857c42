/* comm_nodes.c - pure helpers of communicator init: string hashing and the
 * node layout computed from the ranks' host hashes. */
#include <string.h>
#include "comm_internal.h"

uint64_t acclHashString(const char* s, uint64_t seed) {
  return acclIdChecksum(s, strlen(s)) ^ (seed * 0x9e3779b97f4a7c15ULL);
}

int acclCommComputeNodes(const uint64_t* hash, int nranks, int* nodeOf) {
  int nNodes = 0;
  for (int r = 0; r < nranks; r++) {
    nodeOf[r] = -1;
    for (int q = 0; q < r; q++)
      if (hash[q] == hash[r]) {
        nodeOf[r] = nodeOf[q];
        break;
      }
    if (nodeOf[r] < 0) nodeOf[r] = nNodes++;
  }
  return nNodes;
}
