/* graph.h - pure planning: which rings and trees a set of ranks runs, and the
 * bandwidth / latency figures of the cost model. No communicator needed, so
 * unit tests and acc-ccl-topo call it directly. */
#ifndef ACCL_TOPO_GRAPH_H_
#define ACCL_TOPO_GRAPH_H_

#include <stdio.h>
#include "core/core.h"
#include "topology/node.h"

/* The figures used where a hop is not a chip-to-chip link (ranks sharing a
 * device, or devices without a direct link: host shared memory) and between
 * nodes when the node has no NIC description (libfabric tcp): this machine's
 * memcpy and loopback tcp, rounded down (perf/RESULTS.md). */
#define ACCL_TOPO_SHM_BW_GBS 10.0
#define ACCL_TOPO_SHM_LAT_US 0.3
#define ACCL_TOPO_NET_BW_GBS 1.5
#define ACCL_TOPO_NET_LAT_US 10.0

#define ACCL_TOPO_DEFAULT_MAX_RINGS 4 /* default cap on channels (disjoint rings found) */
#define ACCL_TOPO_MAX_RINGS 32        /* most channels ACCL_NCHANNELS may ask for */
#define ACCL_TOPO_MAX_TREES 32        /* trees: one double binary tree (2 trees) per NIC, at most */

typedef struct {
  int up;      /* parent rank, -1 at the root */
  int down[2]; /* children, -1 when absent */
} acclTreeNode;

typedef struct {
  int nranks, nNodes;
  int* nodeOf; /* nranks: node of each rank (copy) */
  int nRings;
  int* rings;          /* nRings x nranks; ranks of a node are consecutive, nodes in order */
  int* ringNic;        /* nRings x nNodes: NIC the ring leaves node n through (-1: none) */
  int* ringNicIn;      /* nRings x nNodes: NIC the ring enters node n through (-1: none) */
  int nTrees;          /* 2 per double binary tree: one pair, or one pair per NIC across nodes */
  acclTreeNode* trees; /* nTrees x nranks */
  int treeRoot[ACCL_TOPO_MAX_TREES];
  int* treeNic;              /* nTrees: NIC tree t crosses nodes through (-1: none / one node) */
  int* nodeTreeUp;           /* nTrees x nNodes: parent node in the tree across nodes (-1 root) */
  int intraHops, directHops; /* hops inside nodes over all rings; those over a direct link */
  int nNics;                 /* NICs near the ranks of a node, which the channels stripe over (0: none) */
  /* Cost model (GB/s, us): per channel, the slowest intra-node hop's share of
   * its link and the channel's share of its NIC (the tightest of the NIC it
   * leaves through and the one it enters through); bwNet: a node's NICs near
   * its ranks, together; bwCopy: device memory (node membw; host memory when
   * the node does not say). */
  double bwIntra, latIntra, bwInter, latInter;
  double bwNet, bwCopy;
} acclTopoGraph;

/* Graph for nranks ranks: devOf[r] the device of rank r on its node (index
 * into node->devs), nodeOf[r] its node, 0..nNodes-1 (all nodes are described
 * by `node`). nChannels 0: as many link-disjoint rings as the graph gives, at
 * most ACCL_TOPO_DEFAULT_MAX_RINGS; > 0: exactly that many (extra channels reuse
 * the rings found, alternately reversed). Rings: inside a node, the ring
 * search's device order (ranks of one device next to each other); across
 * nodes, node after node. Several nodes: at least one channel per NIC near the
 * node's ranks (nChannels 0), channel c assigned NIC c mod nNics: its ring is
 * cut inside the node so that it leaves (and where the ring allows, enters)
 * through devices close to that NIC, the cuts spread over the rings found and
 * both directions. Trees: one node - a double binary tree over the ranks in
 * rank order; several - one double binary tree over the nodes per NIC (pair p
 * in channel p's chain order through each node's ranks, so its edges between
 * nodes use channel p's NIC; the node's first child hangs off the chain's
 * head, the second off its tail). */
acclResult_t acclTopoGraphCompute(const acclTopoNode* node, int nranks, const int* devOf, const int* nodeOf,
                                  int nChannels, acclTopoGraph* graph);
/* Fill bwIntra..latInter and the hop counts from the graph's rings. */
void acclTopoGraphCost(const acclTopoNode* node, const int* devOf, acclTopoGraph* graph);
void acclTopoGraphFree(acclTopoGraph* graph);
/* Forget which NIC each ring and tree uses (freed; NULL: unknown). */
void acclTopoGraphDropNics(acclTopoGraph* graph);

/* Structural checks shared by ACCL_GRAPH_FILE and the tests: every ring visits
 * every rank once; each tree spans all ranks from its root without cycles,
 * parents and children agree. Returns 0, or -1 with the reason in why. */
int acclTopoGraphCheck(const acclTopoGraph* graph, char* why, size_t whylen);

/* Double binary tree over n members (see trees.c). */
acclResult_t acclTopoDoubleBinaryTree(int n, acclTreeNode* t0, acclTreeNode* t1, int root[2]);

/* Graph files (ACCL_GRAPH_DUMP_FILE / ACCL_GRAPH_FILE):
 *   <graph nranks="8" nnodes="2" nodes="0,0,0,0,1,1,1,1">
 *     <ring channel="0" ranks="..." nics="..."/>
 *     <tree id="0" root="3" up="..." down0="..." down1="..." nodeup="..."/>
 *   </graph>                                                              */
acclResult_t acclTopoGraphWrite(const acclTopoGraph* graph, FILE* f);
acclResult_t acclTopoGraphDump(const acclTopoGraph* graph, const char* path);
/* Replace graph's rings and trees by the file's; nranks and nodes must match. */
acclResult_t acclTopoGraphLoad(const char* path, acclTopoGraph* graph);

/* One line per ring / tree for logs and the tool. */
void acclTopoGraphPrint(const acclTopoGraph* graph, FILE* f);

#endif
