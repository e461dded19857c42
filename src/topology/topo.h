/* topo.h - what the topology module gives the rest of the library: the
 * rings and trees to run, and the figures of the cost model. */
#ifndef ACCL_TOPO_H_
#define ACCL_TOPO_H_

#include "core/core.h"
#include "topology/graph.h" /* acclTreeNode */
struct acclComm;

struct acclTopoState {
  int nRings;          /* channels over rings */
  int* rings;          /* nRings x nranks: ring c visits rings[c*nranks + 0 .. nranks-1] */
  int nTrees;          /* 2 per double binary tree (one pair, or one per NIC across nodes) */
  acclTreeNode* trees; /* nTrees x nranks, indexed [t * nranks + rank] */
  int treeRoot[32];
  /* Cost model inputs, from the graph: bandwidth per direction in GB/s and
   * latency in microseconds of the slowest hop inside a node / between nodes. */
  double bwIntra, latIntra;
  double bwInter, latInter;
  double bwNet;  /* a node's NICs near its ranks together, GB/s */
  double bwCopy; /* device memory copy bandwidth, GB/s */
  /* Added by the topology module. */
  int nNodes;
  int nic;          /* NIC this rank's device uses between nodes (index in the node description), -1: none */
  char nicName[64]; /* its name ("" when none) */
  int numaNode;     /* host NUMA node of this rank's device, -1 unknown */
};

/* Called by comm init after the peer information has been exchanged. */
acclResult_t acclTopoInit(struct acclComm* comm);
void acclTopoFini(struct acclComm* comm);

#endif
