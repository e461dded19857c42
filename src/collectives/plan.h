/*
 * plan.h - a collective as data.
 *
 * A plan is a set of lanes, each an ordered list of steps; lanes progress
 * independently (that is what keeps grouped sends and receives from
 * deadlocking and what lets channels overlap). The executor (executor.c) runs
 * a plan on the device; the algorithm files (algorithm.h's table: ring.c,
 * tree.c, direct.c, rd.c, hier.c, p2p.c) build plans; tests build plans and
 * check them without running them.
 *
 * Step kinds
 *  FIFO    out = reduce(recv from up to 2 peers, local src) -> local dst and
 *          sends to up to 2 peers, sliced into the connections' step buffers
 *          (Simple protocol). With one input it is a copy.
 *  SYNC    direct algorithms: publish our buffer pointers (ARRIVE) or our
 *          completion (DONE) to the ranks in `mask`, then wait for theirs.
 *  DIRECT  single copy through mapped peer memory: out = reduce over the
 *          `mask` ranks' src buffers at srcOff -> the `dstMask` ranks' dst
 *          buffers at dstOff.
 *  LLPUSH  one-shot LL: write our src as 8-byte lines (4 data + 4 flag bytes)
 *          into the inbox of each rank in `mask`.
 *  LLREDUCE wait for the `mask` ranks' lines, then dst = reduce(them, our src).
 */
#ifndef ACCL_PLAN_H_
#define ACCL_PLAN_H_

#include <stddef.h>
#include <stdint.h>
#include "core/core.h"
#include "device/device.h"

typedef enum {
  ACCL_FUNC_ALLREDUCE = 0,
  ACCL_FUNC_BROADCAST,
  ACCL_FUNC_REDUCE,
  ACCL_FUNC_ALLGATHER,
  ACCL_FUNC_REDUCESCATTER,
  ACCL_FUNC_ALLTOALL,
  ACCL_FUNC_SEND,
  ACCL_FUNC_RECV,
  ACCL_NUM_FUNCS
} acclFunc;

typedef enum {
  ACCL_ALGO_RING = 0,
  ACCL_ALGO_TREE,
  ACCL_ALGO_DIRECT,
  ACCL_ALGO_P2P,
  ACCL_ALGO_HIER,
  ACCL_ALGO_RD,
  ACCL_ALGO_CHAIN,
  ACCL_NUM_ALGOS
} acclAlgo;
typedef enum { ACCL_PROTO_LL = 0, ACCL_PROTO_SIMPLE, ACCL_NUM_PROTOS } acclProto;

typedef enum {
  ACCL_STEP_FIFO = 0,
  ACCL_STEP_SYNC,
  ACCL_STEP_DIRECT,
  ACCL_STEP_LLPUSH,
  ACCL_STEP_LLREDUCE
} acclStepKind;
typedef enum { ACCL_BUF_NONE = 0, ACCL_BUF_SEND = 1, ACCL_BUF_RECV = 2 } acclBufId;
typedef enum { ACCL_SYNC_ARRIVE = 0, ACCL_SYNC_DONE = 1 } acclSyncPhase;

#define ACCL_STEP_PREMUL 0x1  /* the local src input is multiplied by the op's scalar */
#define ACCL_STEP_POSTDIV 0x2 /* the result is divided by nranks (integer Avg) */
/* What the step sends may go straight from memory (its dst output, or its
 * local src when it only sends): the builder vouches that nothing in the plan
 * rewrites that memory before the receiver has the data (zero-copy sends on
 * transports that offer them). */
#define ACCL_STEP_ZCOPY 0x4

typedef struct {
  uint8_t kind;        /* acclStepKind */
  uint8_t flags;       /* ACCL_STEP_PREMUL | ACCL_STEP_POSTDIV */
  uint8_t srcBuf;      /* acclBufId of the local input (FIFO) or of every input (DIRECT) */
  uint8_t dstBuf;      /* acclBufId of the output */
  uint8_t phase;       /* SYNC: acclSyncPhase */
  int16_t task;        /* index of the task (collective) in the plan */
  int16_t recvPeer[2]; /* FIFO: -1 when unused */
  int16_t sendPeer[2];
  uint64_t mask;         /* SYNC / DIRECT / LL: ranks involved (bit r) */
  uint64_t dstMask;      /* DIRECT: ranks whose dst receives the result */
  size_t srcOff, dstOff; /* elements */
  size_t count;          /* elements */
} acclStep;

typedef struct {
  int connLane; /* which connections the lane's FIFO steps use */
  int64_t key;  /* builders find their lane again by key */
  int nSteps, capSteps;
  acclStep* steps;
} acclLane;

/* One collective (or send / recv) of a plan. */
typedef struct {
  acclFunc func;
  const void* sendbuff; /* as the user gave them */
  void* recvbuff;
  void* sendDev; /* what the steps read / write: the user's device */
  void* recvDev; /*   buffers, or staging copies of host buffers */
  size_t count;  /* elements, as in the API call */
  acclDataType_t dtype;
  accDevRedOp op;
  accDevScalar scalar;   /* PreMulSum / float Avg */
  const void* scalarDev; /* PreMulSum with a device scalar: read when the plan runs */
  int premul, postDiv;
  int root, peer;
  uint64_t seq;                      /* collective sequence number on the communicator */
  size_t sendBytes, recvBytes;       /* sizes of the user buffers */
  int stageSend, stageRecv;          /* host buffers copied through device staging memory */
  size_t stageRecvOff, stageSendOff; /* their places in the communicator's staging area */
  acclAlgo algo;
  acclProto proto;
  uint8_t sigOp; /* the op as the caller named it, for the signature (acclSigOf) */
} acclTask;

/* The signature of a call: what every rank of a collective (both ends of a
 * send / receive) must agree on. It travels with what the algorithms already
 * exchange: the FIFO step headers (transports that carry it), the direct
 * algorithms' ARRIVE slot, the LL inbox's header lines; see acclSigCheck.
 *   seq   the collective's sequence number on the communicator (0: send / recv)
 *   count elements, as in the call
 *   meta  | root + 1 (32) | 0 (8) | op (8) | datatype (8) | function (8) |
 * A receive's signature is that of the send it expects. */
typedef struct {
  uint64_t seq, count, meta;
} acclSig;
/* sigOp: 0 no op in the call (Broadcast, AllGather, ...), 1 + op for the
 * built-in ops, ACCL_SIG_OP_PREMUL for any PreMulSum handle (handles are
 * local to a rank: their scalars are not compared) */
#define ACCL_SIG_OP_NONE 0
#define ACCL_SIG_OP_PREMUL 99
static inline acclSig acclSigOf(const acclTask* t) {
  acclSig s;
  int recv = t->func == ACCL_FUNC_RECV, p2p = recv || t->func == ACCL_FUNC_SEND;
  uint64_t func = (uint64_t)(recv ? ACCL_FUNC_SEND : t->func);
  uint64_t root = t->func == ACCL_FUNC_BROADCAST || t->func == ACCL_FUNC_REDUCE ? (uint64_t)(t->root + 1) : 0;
  s.seq = p2p ? 0 : t->seq;
  s.count = t->count;
  s.meta = func | ((uint64_t)(uint8_t)t->dtype << 8) | ((uint64_t)t->sigOp << 16) | (root << 32);
  return s;
}
static inline int acclSigEqual(const acclSig* a, const acclSig* b) {
  return a->seq == b->seq && a->count == b->count && a->meta == b->meta;
}
/* "AllReduce #12 (count 1024, float32, sum)" into buf. */
const char* acclSigText(const acclSig* s, char* buf, size_t len);

typedef struct acclPlan {
  int nTasks, capTasks;
  acclTask* tasks;
  int nLanes, capLanes;
  acclLane* lanes;
  size_t stageBytes; /* staging memory the plan's tasks need (enqueue.c) */
  uint64_t ticket;   /* execution order on the communicator */
  struct acclComm* comm;
  /* Reuse: a one-task plan remembers what its steps were built for; the next
   * call with the same signature runs the same steps on its own buffers. */
  int sigValid, sigLanes;
  acclTask sig;
  void* exec; /* the executor's state, kept with the plan for reuse */
  void (*execFree)(void* exec);
} acclPlan;

acclResult_t acclPlanAddStep(acclPlan* plan, int lane, const acclStep* step);
/* Room for n tasks (kept across reuse). */
acclResult_t acclPlanReserveTasks(acclPlan* plan, int n);
/* Empty the plan for reuse, keeping every buffer it grew. */
void acclPlanReset(acclPlan* plan);
/* Lane of the plan with this key (created on first use, bound to connLane).
 * Steps appended to one lane run in order; different lanes run concurrently. */
acclResult_t acclPlanLane(acclPlan* plan, int64_t key, int connLane, int* lane);
/* Keys: channel lanes, tree halves (up and down separately), p2p per peer and direction. */
#define ACCL_LANE_KEY_CHANNEL(c) ((int64_t)(c))
#define ACCL_LANE_KEY_TREE(t, down) ((int64_t)1000 + (t)*2 + (down))
#define ACCL_LANE_KEY_P2P(peer, isSend) ((int64_t)100000 + (int64_t)(peer)*2 + (isSend))
#define ACCL_LANE_KEY_DIRECT ((int64_t)2000)
void acclPlanFree(acclPlan* plan);

static inline acclStep acclStepFifo(int task, size_t count) {
  acclStep s;
  s.kind = ACCL_STEP_FIFO;
  s.flags = 0;
  s.srcBuf = ACCL_BUF_NONE;
  s.dstBuf = ACCL_BUF_NONE;
  s.phase = 0;
  s.task = (int16_t)task;
  s.recvPeer[0] = s.recvPeer[1] = s.sendPeer[0] = s.sendPeer[1] = -1;
  s.mask = s.dstMask = 0;
  s.srcOff = s.dstOff = 0;
  s.count = count;
  return s;
}

/* The step flags the task's op asks of the step that first reads its input
 * (pre-multiply) and of the step that writes its final result (post-divide). */
static inline uint8_t acclTaskPreFlag(const acclTask* t) { return t->premul ? ACCL_STEP_PREMUL : 0; }
static inline uint8_t acclTaskPostFlag(const acclTask* t) { return t->postDiv ? ACCL_STEP_POSTDIV : 0; }

/* Split count elements into n near-equal parts; part i starts at *off with *cnt elements. */
static inline void acclPartition(size_t count, int n, int i, size_t* off, size_t* cnt) {
  size_t base = count / (size_t)n, rem = count % (size_t)n;
  *off = (size_t)i * base + ((size_t)i < rem ? (size_t)i : rem);
  *cnt = base + ((size_t)i < rem ? 1 : 0);
}

/* ---- builders: add the steps of task `t` for this rank to the plan.
 * ring[]/tree describe the order; `lane0` is the first connection lane. */
struct acclTreeNodeT;
/* Ring over ring[0..nranks) for elements [off, off+count) of the task (per
 * block for AllGather / ReduceScatter); Broadcast and Reduce run as a chain
 * along the ring starting at the root. */
acclResult_t acclBuildRing(acclPlan* plan, int t, int rank, int nranks, const int* ring, int channel, size_t off,
                           size_t count, size_t chunkElems);
/* Ring building blocks over [o, o+c) split into n parts (also used by hier.c). */
acclResult_t acclRingReduceScatterRange(acclPlan* plan, int lane, int t, int p, int n, const int* ring, size_t o,
                                        size_t c, int srcBuf, int dstBuf, uint8_t pre, uint8_t post, int sendLast);
acclResult_t acclRingAllGatherRange(acclPlan* plan, int lane, int t, int p, int n, const int* ring, size_t o, size_t c,
                                    int buf, int skipFirst);
/* One binary tree (up: parent or -1; down: two children or -1) for elements [off, off+count). */
acclResult_t acclBuildTree(acclPlan* plan, int t, int tree, int rank, int up, const int down[2], int connLane,
                           size_t off, size_t count);
/* Single copy through mapped peer memory; every rank of the communicator on this node. */
acclResult_t acclBuildDirect(acclPlan* plan, int t, int rank, int nranks);
/* One-shot LL AllReduce through the peers' inboxes. */
acclResult_t acclBuildLL(acclPlan* plan, int t, int rank, int nranks);
/* Hierarchical AllReduce (hier.c): reduce-scatter in the node, ring AllReduce
 * between nodes, all-gather in the node, for elements [off, off+count). */
acclResult_t acclBuildHier(acclPlan* plan, int t, int rank, int nranks, const int* nodeOf, int nNodes, int channel,
                           size_t off, size_t count, size_t chunkElems);
/* Ranks per node when every node has the same number (and nNodes > 1), else 0. */
int acclHierShape(const int* nodeOf, int nranks, int nNodes);
/* AllReduce by recursive doubling (rd.c) on connection lane connLane; the
 * whole message must fit in half a FIFO: count * size <= half a FIFO (acclTransportHalfFifo). */
acclResult_t acclBuildRD(acclPlan* plan, int t, int rank, int nranks, int connLane, size_t count);
/* AllReduce / ReduceScatter / Reduce folded in rank order (chain.c): rank k
 * of n, elements [off, off+count) of the task (ReduceScatter: of each block)
 * on channel lane `channel`, in rounds of at most chunkElems. */
acclResult_t acclBuildChain(acclPlan* plan, int t, int k, int n, int channel, size_t off, size_t count,
                            size_t chunkElems);
/* Send / Recv / AllToAll over per-peer lanes. */
acclResult_t acclBuildP2P(acclPlan* plan, int t, int rank, int nranks, int connLane);

#endif
