/* hier.c - hierarchical AllReduce for communicators that span nodes:
 * reduce-scatter inside the node (local rank j ends with the node's sum of
 * part j), ring AllReduce of part j between the ranks of local index j on
 * every node, then all-gather inside the node. Only 1/localRanks of the data
 * crosses the network per rank, and the slow inter-node ring has nNodes
 * hops instead of nranks. All three phases run in one lane, one round after
 * another; a round's part never exceeds a FIFO chunk (see acclBuildRing). */
#include "collectives/plan.h"

static int mod(int a, int n) { return ((a % n) + n) % n; }

static acclResult_t add(acclPlan* plan, int lane, acclStep s) { return acclPlanAddStep(plan, lane, &s); }

/* Phase 1: ring reduce-scatter over the node's ranks; part p of [o, o+c) ends
 * in RECV of local rank p. */
static acclResult_t localReduceScatter(acclPlan* plan, int lane, int t, int p, int L, const int* local, size_t o,
                                       size_t c, uint8_t pre) {
  size_t off, cnt;
  acclStep s;
  if (L == 1) {
    s = acclStepFifo(t, c);
    s.srcBuf = ACCL_BUF_SEND; s.srcOff = o; s.dstBuf = ACCL_BUF_RECV; s.dstOff = o; s.flags = pre;
    return add(plan, lane, s);
  }
  int next = local[mod(p + 1, L)], prev = local[mod(p - 1, L)];
  acclPartition(c, L, mod(p - 1, L), &off, &cnt);
  s = acclStepFifo(t, cnt);
  s.srcBuf = ACCL_BUF_SEND; s.srcOff = o + off; s.sendPeer[0] = (int16_t)next; s.flags = pre;
  ACCLCHECK(add(plan, lane, s));
  for (int k = 1; k < L; k++) {
    acclPartition(c, L, mod(p - 1 - k, L), &off, &cnt);
    s = acclStepFifo(t, cnt);
    s.recvPeer[0] = (int16_t)prev; s.srcBuf = ACCL_BUF_SEND; s.srcOff = o + off; s.flags = pre;
    if (k < L - 1) s.sendPeer[0] = (int16_t)next;
    else { s.dstBuf = ACCL_BUF_RECV; s.dstOff = o + off; }
    ACCLCHECK(add(plan, lane, s));
  }
  return acclSuccess;
}

/* Phase 2: ring AllReduce, in place in RECV, of [o, o+c) over the nodes. */
static acclResult_t interAllReduce(acclPlan* plan, int lane, int t, int p, int N, const int* ring, size_t o, size_t c,
                                   uint8_t post) {
  size_t off, cnt;
  acclStep s;
  if (N == 1 || c == 0) {
    if (!post || c == 0) return acclSuccess;
    s = acclStepFifo(t, c); /* apply the final division in place */
    s.srcBuf = ACCL_BUF_RECV; s.srcOff = o; s.dstBuf = ACCL_BUF_RECV; s.dstOff = o; s.flags = post;
    return add(plan, lane, s);
  }
  int next = ring[mod(p + 1, N)], prev = ring[mod(p - 1, N)];
  acclPartition(c, N, mod(p - 1, N), &off, &cnt);
  s = acclStepFifo(t, cnt);
  s.srcBuf = ACCL_BUF_RECV; s.srcOff = o + off; s.sendPeer[0] = (int16_t)next;
  ACCLCHECK(add(plan, lane, s));
  for (int k = 1; k < N - 1; k++) {
    acclPartition(c, N, mod(p - 1 - k, N), &off, &cnt);
    s = acclStepFifo(t, cnt);
    s.recvPeer[0] = (int16_t)prev; s.srcBuf = ACCL_BUF_RECV; s.srcOff = o + off; s.sendPeer[0] = (int16_t)next;
    ACCLCHECK(add(plan, lane, s));
  }
  acclPartition(c, N, p, &off, &cnt);
  s = acclStepFifo(t, cnt);
  s.recvPeer[0] = (int16_t)prev; s.srcBuf = ACCL_BUF_RECV; s.srcOff = o + off; s.flags = post;
  s.dstBuf = ACCL_BUF_RECV; s.dstOff = o + off; s.sendPeer[0] = (int16_t)next;
  ACCLCHECK(add(plan, lane, s));
  for (int k = 1; k < N; k++) {
    acclPartition(c, N, mod(p - k, N), &off, &cnt);
    s = acclStepFifo(t, cnt);
    s.recvPeer[0] = (int16_t)prev; s.dstBuf = ACCL_BUF_RECV; s.dstOff = o + off;
    if (k < N - 1) s.sendPeer[0] = (int16_t)next;
    ACCLCHECK(add(plan, lane, s));
  }
  return acclSuccess;
}

/* Phase 3: ring all-gather of the L parts of [o, o+c), already in RECV. */
static acclResult_t localAllGather(acclPlan* plan, int lane, int t, int p, int L, const int* local, size_t o, size_t c) {
  if (L == 1) return acclSuccess;
  int next = local[mod(p + 1, L)], prev = local[mod(p - 1, L)];
  size_t off, cnt;
  acclPartition(c, L, p, &off, &cnt);
  acclStep s = acclStepFifo(t, cnt);
  s.srcBuf = ACCL_BUF_RECV; s.srcOff = o + off; s.sendPeer[0] = (int16_t)next;
  ACCLCHECK(add(plan, lane, s));
  for (int k = 1; k < L; k++) {
    acclPartition(c, L, mod(p - k, L), &off, &cnt);
    s = acclStepFifo(t, cnt);
    s.recvPeer[0] = (int16_t)prev; s.dstBuf = ACCL_BUF_RECV; s.dstOff = o + off;
    if (k < L - 1) s.sendPeer[0] = (int16_t)next;
    ACCLCHECK(add(plan, lane, s));
  }
  return acclSuccess;
}

int acclHierShape(const int* nodeOf, int nranks, int nNodes) {
  if (nNodes < 2 || nranks % nNodes) return 0;
  int per = nranks / nNodes;
  for (int nd = 0; nd < nNodes; nd++) {
    int k = 0;
    for (int r = 0; r < nranks; r++) k += nodeOf[r] == nd;
    if (k != per) return 0;
  }
  return per;
}

acclResult_t acclBuildHier(acclPlan* plan, int t, int rank, int nranks, const int* nodeOf, int nNodes, int channel,
                           size_t off, size_t count, size_t chunkElems) {
  const acclTask* task = &plan->tasks[t];
  int L = acclHierShape(nodeOf, nranks, nNodes);
  if (L == 0 || chunkElems == 0 || L > 64 || nNodes > 64) return acclInternalError;
  /* local[] : our node's ranks in rank order; inter[] : local index j on every node */
  int local[64], inter[64], j = -1, myNode = nodeOf[rank];
  int seen[64] = {0};
  int nl = 0;
  for (int r = 0; r < nranks; r++) {
    if (nodeOf[r] == myNode) { if (r == rank) j = nl; local[nl++] = r; }
  }
  for (int r = 0; r < nranks; r++) {
    int nd = nodeOf[r];
    if (seen[nd]++ == j) inter[nd] = r;
  }
  uint8_t pre = task->premul ? ACCL_STEP_PREMUL : 0, post = task->postDiv ? ACCL_STEP_POSTDIV : 0;
  int lane;
  ACCLCHECK(acclPlanLane(plan, ACCL_LANE_KEY_CHANNEL(channel), channel, &lane));
  size_t round = chunkElems * (size_t)L, done = 0;
  do {
    size_t o = off + done, c = ACCL_MIN(round, count - done), poff, pcnt;
    acclPartition(c, L, j, &poff, &pcnt);
    ACCLCHECK(localReduceScatter(plan, lane, t, j, L, local, o, c, pre));
    ACCLCHECK(interAllReduce(plan, lane, t, myNode, nNodes, inter, o + poff, pcnt, post));
    ACCLCHECK(localAllGather(plan, lane, t, j, L, local, o, c));
    done += c;
  } while (done < count);
  return acclSuccess;
}
