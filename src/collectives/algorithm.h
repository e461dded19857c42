/* algorithm.h - the algorithm table.
 *
 * Each algorithm file (ring.c, tree.c, direct.c, rd.c, hier.c, p2p.c, chain.c) exports
 * one acclAlgoInfo: whether it can run a call, what the call would cost, and
 * how to build its steps. tuning.c picks by looping over the table and
 * enqueue.c builds through it; nothing else knows which algorithms exist. */
#ifndef ACCL_ALGORITHM_H_
#define ACCL_ALGORITHM_H_

#include "collectives/plan.h"
#include "topology/topo.h"

/* What the cost model and feasibility rules see of one call. */
typedef struct {
  acclFunc func;
  size_t bytes; /* the call's largest buffer (AllGather / ReduceScatter / AllToAll: all n blocks) */
  int nranks, nNodes;
  int directOk;  /* every rank on one node with peer memory mapped */
  int haveTrees; /* the topology built a double binary tree */
  int hierLocal; /* ranks per node when the hierarchical plan can run (equal nodes), else 0 */
  size_t llMaxBytes;
  size_t rdMaxBytes; /* largest recursive-doubling message (half a FIFO at most) */
  /* The cost model's figures (topology/graph.h): GB/s and us. bwIntra, bwInter:
   * one channel's share of its slowest link inside a node / of its NIC;
   * bwNet: a node's NICs together; bwCopy: device memory (0: host memory). */
  double bwIntra, latIntra, bwInter, latInter;
  double bwNet, bwCopy;
  int nChannels;     /* ring channels (0: one) */
  int nTrees;        /* trees, 2 per NIC across nodes (0: two) */
  size_t sliceBytes; /* a FIFO slot: what a hop forwards at once (0: the default slot) */
  int deterministic; /* ACCL_DETERMINISTIC: reductions run the chain, whatever the masks say */
} acclTuneInput;

/* What a builder sees of the communicator. */
typedef struct {
  int rank, nranks;
  int nChannels;    /* ring channels: connection lanes 0..nChannels-1; the trees use the next nTrees */
  int p2pLane;      /* connection lane of point-to-point steps */
  size_t halfFifo;  /* bytes a sender may have in flight on one connection */
  const int* rings; /* nRings x nranks from the topology, or NULL (rank order) */
  int nRings;
  const acclTreeNode* trees; /* nTrees x nranks, or NULL */
  int nTrees;                /* 2 per double binary tree */
  const int* nodeOf;
  int nNodes;
} acclAlgoCtx;

typedef struct {
  const char* name; /* as ACCL_ALGO spells it */
  int (*feasible)(const acclTuneInput* in, acclProto proto);
  double (*cost)(const acclTuneInput* in, acclProto proto); /* microseconds */
  /* FIFO algorithms: the price (us) of one byte on one of its hops, inside a
   * node or between nodes (inter) - what cost() is made of, and what the
   * simulator prices each replayed step with. NULL: no FIFO steps. */
  double (*byteCost)(const acclTuneInput* in, int inter);
  /* add the steps of task t (already in the plan, algo / proto set) */
  acclResult_t (*build)(acclPlan* plan, int t, const acclAlgoCtx* ctx);
} acclAlgoInfo;

extern const acclAlgoInfo acclAlgoRing, acclAlgoTree, acclAlgoDirect, acclAlgoP2P, acclAlgoHier, acclAlgoRD,
    acclAlgoChain;

/* The table, indexed by acclAlgo; NULL outside it. */
const acclAlgoInfo* acclAlgoGet(int algo);

/* Helpers the algorithm files share (algorithm.c). */
static inline int acclFuncIsP2P(acclFunc f) { return f == ACCL_FUNC_SEND || f == ACCL_FUNC_RECV; }
/* Channels a call of `bytes` spreads over: fewer, fuller channels for small calls. */
int acclAlgoChannels(const acclAlgoCtx* ctx, size_t bytes);
int acclAlgoCallChannels(int nChannels, size_t bytes);
/* Hops of FIFO latency and bytes moved through FIFOs, the two terms of every cost. */
double acclAlgoTime(const acclTuneInput* in, double hops, double bytes);
/* The cost model's price of one byte on a hop (us): the hop's bandwidth
 * share linkGBs, or the device's memory when that is slower - a FIFO hop
 * passes its bytes through device memory 3 times (into the step buffer, out,
 * into the output or the next send), and `streams` transfers share it. Hops
 * and memory work in parallel (pipelining), so the slower one sets the pace.
 * The simulator (tools/acc_ccl_sim.c) prices every step it replays with it. */
double acclAlgoByteCost(const acclTuneInput* in, double linkGBs, double streams);
/* A ring's or chain's hop between nodes (inter) or inside one: the call's C
 * channels each carry their share over the channel's link, or the device
 * memory the C channels share. */
double acclAlgoHopByteCost(const acclTuneInput* in, int inter);
double acclAlgoCopyGBs(const acclTuneInput* in);
double acclAlgoSliceBytes(const acclTuneInput* in);

#endif
