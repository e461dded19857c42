/* rd.c - AllReduce by recursive doubling, for small messages between nodes.
 *
 * In round k every participant swaps its whole partial result with the rank
 * 2^k away (in participant numbering) and both reduce what they got with
 * what they had. A round is one network hop, so n ranks need log2(n) hops
 * where a ring needs 2(n-1). Partners reduce the same two operands in
 * opposite order; the ops are commutative bit for bit (IEEE a+b == b+a), so
 * every rank ends with the identical value.
 *
 * When n is not a power of two, the first 2*extra ranks pair up: the even one
 * hands its input to the odd one before the rounds and receives the result
 * after them.
 *
 * Each round is two steps on one lane: a send-only step, then a
 * receive-and-reduce step. The send step completes as soon as its slices sit
 * in the FIFO, so this only works while the whole message fits in the FIFO's
 * free slots: half a FIFO (acclTransportHalfFifo) bounds it, the tuner respects the bound. */
#include "collectives/algorithm.h"

static int largestPow2(int n) {
  int p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

/* Rank of participant v: the first `extra` participants are the odd ranks of the pairs. */
static int rankOfParticipant(int v, int extra) { return v < extra ? 2 * v + 1 : v + extra; }

static acclResult_t addFifo(acclPlan* plan, int lane, int t, size_t count, int src, int dst, int recvPeer, int sendPeer,
                            uint8_t flags) {
  acclStep s = acclStepFifo(t, count);
  s.srcBuf = (uint8_t)src;
  s.dstBuf = (uint8_t)dst;
  s.recvPeer[0] = (int16_t)recvPeer;
  s.sendPeer[0] = (int16_t)sendPeer;
  s.flags = flags;
  return acclPlanAddStep(plan, lane, &s);
}

acclResult_t acclBuildRD(acclPlan* plan, int t, int rank, int nranks, int connLane, size_t count) {
  const acclTask* task = &plan->tasks[t];
  const uint8_t pre = acclTaskPreFlag(task), post = acclTaskPostFlag(task);
  int lane;
  ACCLCHECK(acclPlanLane(plan, ACCL_LANE_KEY_CHANNEL(0), connLane, &lane));
  const int p = largestPow2(nranks), extra = nranks - p;
  if (rank < 2 * extra && rank % 2 == 0) {
    /* hand our (pre-multiplied) input to the odd partner, get the result back */
    ACCLCHECK(addFifo(plan, lane, t, count, ACCL_BUF_SEND, ACCL_BUF_NONE, -1, rank + 1, pre));
    return addFifo(plan, lane, t, count, ACCL_BUF_NONE, ACCL_BUF_RECV, rank + 1, -1, 0);
  }
  int cur = ACCL_BUF_SEND; /* where our partial result is; the input is pre-multiplied when first read */
  int me = rank < 2 * extra ? rank / 2 : rank - extra;
  if (rank < 2 * extra) { /* fold in the even partner's input */
    ACCLCHECK(addFifo(plan, lane, t, count, cur, ACCL_BUF_RECV, rank - 1, -1, pre));
    cur = ACCL_BUF_RECV;
  }
  if (p == 1) /* alone (n = 1): the result is our input */
    return addFifo(plan, lane, t, count, cur, ACCL_BUF_RECV, -1, -1, (uint8_t)(pre | post));
  for (int dist = 1; dist < p; dist *= 2) {
    int partner = rankOfParticipant(me ^ dist, extra);
    uint8_t curPre = cur == ACCL_BUF_SEND ? pre : 0;
    ACCLCHECK(addFifo(plan, lane, t, count, cur, ACCL_BUF_NONE, -1, partner, curPre));
    ACCLCHECK(
        addFifo(plan, lane, t, count, cur, ACCL_BUF_RECV, partner, -1, (uint8_t)(curPre | (dist * 2 == p ? post : 0))));
    cur = ACCL_BUF_RECV;
  }
  if (rank < 2 * extra) /* the result back to the even partner */
    ACCLCHECK(addFifo(plan, lane, t, count, ACCL_BUF_RECV, ACCL_BUF_NONE, -1, rank - 1, 0));
  return acclSuccess;
}

/* ---- table entry */

/* rd serves the network: inside a node, direct and LL do better. */
static int rdFeasible(const acclTuneInput* in, acclProto proto) {
  return proto == ACCL_PROTO_SIMPLE && in->func == ACCL_FUNC_ALLREDUCE && in->nranks > 1 && !in->directOk &&
         in->bytes <= in->rdMaxBytes;
}

/* Every rank of a node exchanges at once: between nodes they share the node's NICs. */
static double rdByteCost(const acclTuneInput* in, int inter) {
  const double perNode = in->nNodes > 0 ? (double)in->nranks / in->nNodes : 1;
  const double net = (in->bwNet > 0 ? in->bwNet : in->bwInter) / perNode;
  return acclAlgoByteCost(in, inter ? net : in->bwIntra, 1);
}

/* log2(n) exchanges of the whole message (two more when n is not a power of
 * two), each through a FIFO. */
static double rdCost(const acclTuneInput* in, acclProto proto) {
  (void)proto;
  const int p = largestPow2(in->nranks);
  /* rounds at distances below the ranks of a node stay inside it (ranks of a node are consecutive) */
  const double perNode = in->nNodes > 0 ? (double)in->nranks / in->nNodes : 1;
  double t = 0;
  for (int d = 1; d < p; d *= 2) {
    int inter = in->nNodes > 1 && d >= perNode;
    t += (inter ? in->latInter : in->latIntra) + (double)in->bytes * rdByteCost(in, inter);
  }
  if (p < in->nranks) /* the pairs' hand-over and hand-back */
    t += 2.0 * ((perNode > 1 || in->nNodes == 1 ? in->latIntra : in->latInter) +
                (double)in->bytes * rdByteCost(in, perNode <= 1 && in->nNodes > 1));
  return t;
}

static acclResult_t rdBuild(acclPlan* plan, int t, const acclAlgoCtx* ctx) {
  return acclBuildRD(plan, t, ctx->rank, ctx->nranks, 0, plan->tasks[t].count);
}

const acclAlgoInfo acclAlgoRD = {
    .name = "rd", .feasible = rdFeasible, .cost = rdCost, .byteCost = rdByteCost, .build = rdBuild};
