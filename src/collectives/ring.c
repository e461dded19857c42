/* ring.c - ring plans: AllReduce (reduce-scatter then all-gather),
 * AllGather, ReduceScatter, and Broadcast / Reduce as a chain from the root. */
#include <stdlib.h>
#include "collectives/algorithm.h"

static int mod(int a, int n) { return ((a % n) + n) % n; }

static acclResult_t add(acclPlan* plan, int lane, acclStep s) { return acclPlanAddStep(plan, lane, &s); }

/* A local step: dst = f(src), applying the op's pre/post scaling (nranks == 1). */
static acclResult_t localCopy(acclPlan* plan, int lane, int t, size_t srcOff, size_t dstOff, size_t count,
                              uint8_t flags) {
  acclStep s = acclStepFifo(t, count);
  s.srcBuf = ACCL_BUF_SEND;
  s.dstBuf = ACCL_BUF_RECV;
  s.srcOff = srcOff;
  s.dstOff = dstOff;
  s.flags = flags;
  return add(plan, lane, s);
}

/* Zero-copy sends (ACCL_STEP_ZCOPY) are safe on a ring: a rank only ever
 * rewrites memory it sent from (in place: the all-gather's result landing
 * where the reduce-scatter's input was) after receiving data that depends on
 * what it sent, so the receiver had it first. */

/* Ring reduce-scatter of [o, o+c) split into n parts: part p (our position)
 * ends reduced in dstBuf. With sendLast the final step also forwards it to
 * the next rank, which starts a fused all-gather (AllReduce). */
acclResult_t acclRingReduceScatterRange(acclPlan* plan, int lane, int t, int p, int n, const int* ring, size_t o,
                                        size_t c, int srcBuf, int dstBuf, uint8_t pre, uint8_t post, int sendLast) {
  int next = ring[mod(p + 1, n)], prev = ring[mod(p - 1, n)];
  size_t off, cnt;
  acclStep s;
  if (n == 1) {
    if ((srcBuf == dstBuf && !(pre | post)) || c == 0) return acclSuccess;
    s = acclStepFifo(t, c);
    s.srcBuf = (uint8_t)srcBuf;
    s.srcOff = o;
    s.dstBuf = (uint8_t)dstBuf;
    s.dstOff = o;
    s.flags = pre | post;
    return add(plan, lane, s);
  }
  /* part (p-1-k) travels forward and gathers one input per hop */
  acclPartition(c, n, mod(p - 1, n), &off, &cnt);
  s = acclStepFifo(t, cnt);
  s.srcBuf = (uint8_t)srcBuf;
  s.srcOff = o + off;
  s.sendPeer[0] = (int16_t)next;
  s.flags = pre | ACCL_STEP_ZCOPY;
  ACCLCHECK(add(plan, lane, s));
  for (int k = 1; k < n; k++) {
    acclPartition(c, n, mod(p - 1 - k, n), &off, &cnt);
    s = acclStepFifo(t, cnt);
    s.recvPeer[0] = (int16_t)prev;
    s.srcBuf = (uint8_t)srcBuf;
    s.srcOff = o + off;
    s.flags = pre;
    if (k < n - 1 || sendLast) s.sendPeer[0] = (int16_t)next;
    if (k == n - 1) {
      s.dstBuf = (uint8_t)dstBuf;
      s.dstOff = o + off;
      s.flags |= post | ACCL_STEP_ZCOPY;
    }
    ACCLCHECK(add(plan, lane, s));
  }
  return acclSuccess;
}

/* Ring all-gather of [o, o+c) split into n parts, each already in buf at its
 * owner: afterwards every rank has every part. skipFirst: our part was
 * already sent (fused with a reduce-scatter). */
acclResult_t acclRingAllGatherRange(acclPlan* plan, int lane, int t, int p, int n, const int* ring, size_t o, size_t c,
                                    int buf, int skipFirst) {
  if (n == 1) return acclSuccess;
  int next = ring[mod(p + 1, n)], prev = ring[mod(p - 1, n)];
  size_t off, cnt;
  acclStep s;
  if (!skipFirst) {
    acclPartition(c, n, p, &off, &cnt);
    s = acclStepFifo(t, cnt);
    s.srcBuf = (uint8_t)buf;
    s.srcOff = o + off;
    s.sendPeer[0] = (int16_t)next;
    s.flags = ACCL_STEP_ZCOPY;
    ACCLCHECK(add(plan, lane, s));
  }
  for (int k = 1; k < n; k++) {
    acclPartition(c, n, mod(p - k, n), &off, &cnt);
    s = acclStepFifo(t, cnt);
    s.recvPeer[0] = (int16_t)prev;
    s.dstBuf = (uint8_t)buf;
    s.dstOff = o + off;
    s.flags = ACCL_STEP_ZCOPY;
    if (k < n - 1) s.sendPeer[0] = (int16_t)next;
    ACCLCHECK(add(plan, lane, s));
  }
  return acclSuccess;
}

static acclResult_t ringAllReduce(acclPlan* plan, int lane, int t, int p, int n, const int* ring, size_t off,
                                  size_t count, uint8_t pre, uint8_t post) {
  ACCLCHECK(
      acclRingReduceScatterRange(plan, lane, t, p, n, ring, off, count, ACCL_BUF_SEND, ACCL_BUF_RECV, pre, post, 1));
  return acclRingAllGatherRange(plan, lane, t, p, n, ring, off, count, ACCL_BUF_RECV, 1);
}

/* Blocks of `blk` elements per rank; this channel moves [off, off+count) of each block. */
static acclResult_t ringAllGather(acclPlan* plan, int lane, int t, int p, int n, const int* ring, size_t blk,
                                  size_t off, size_t count) {
  int next = ring[mod(p + 1, n)], prev = ring[mod(p - 1, n)], me = ring[p];
  acclStep s = acclStepFifo(t, count);
  s.srcBuf = ACCL_BUF_SEND;
  s.srcOff = off;
  s.dstBuf = ACCL_BUF_RECV;
  s.dstOff = (size_t)me * blk + off;
  s.flags = ACCL_STEP_ZCOPY;
  if (n > 1) s.sendPeer[0] = (int16_t)next;
  ACCLCHECK(add(plan, lane, s));
  for (int k = 1; k < n; k++) {
    s = acclStepFifo(t, count);
    s.recvPeer[0] = (int16_t)prev;
    s.dstBuf = ACCL_BUF_RECV;
    s.dstOff = (size_t)ring[mod(p - k, n)] * blk + off;
    s.flags = ACCL_STEP_ZCOPY;
    if (k < n - 1) s.sendPeer[0] = (int16_t)next;
    ACCLCHECK(add(plan, lane, s));
  }
  return acclSuccess;
}

static acclResult_t ringReduceScatter(acclPlan* plan, int lane, int t, int p, int n, const int* ring, size_t blk,
                                      size_t off, size_t count, uint8_t pre, uint8_t post) {
  int next = ring[mod(p + 1, n)], prev = ring[mod(p - 1, n)];
  if (n == 1) return localCopy(plan, lane, t, off, off, count, pre | post);
  acclStep s = acclStepFifo(t, count);
  s.srcBuf = ACCL_BUF_SEND;
  s.srcOff = (size_t)ring[mod(p - 1, n)] * blk + off;
  s.sendPeer[0] = (int16_t)next;
  s.flags = pre | ACCL_STEP_ZCOPY;
  ACCLCHECK(add(plan, lane, s));
  for (int k = 1; k < n; k++) {
    s = acclStepFifo(t, count);
    s.recvPeer[0] = (int16_t)prev;
    s.srcBuf = ACCL_BUF_SEND;
    s.srcOff = (size_t)ring[mod(p - 1 - k, n)] * blk + off;
    s.flags = pre;
    if (k < n - 1)
      s.sendPeer[0] = (int16_t)next;
    else {
      s.dstBuf = ACCL_BUF_RECV;
      s.dstOff = off;
      s.flags |= post;
    }
    ACCLCHECK(add(plan, lane, s));
  }
  return acclSuccess;
}

/* Chain from the root along the ring: Broadcast flows away from the root,
 * Reduce flows towards it. */
static acclResult_t chain(acclPlan* plan, int lane, int t, int p, int n, const int* ring, int rootPos, int reduce,
                          size_t off, size_t count, uint8_t pre, uint8_t post) {
  int k = mod(p - rootPos, n); /* distance from the root along the ring */
  int toward = ring[mod(p - 1, n)], away = ring[mod(p + 1, n)];
  acclStep s = acclStepFifo(t, count);
  if (!reduce) {
    if (k == 0) {
      s.srcBuf = ACCL_BUF_SEND;
      s.srcOff = off;
    } else
      s.recvPeer[0] = (int16_t)toward;
    s.dstBuf = ACCL_BUF_RECV;
    s.dstOff = off;
    s.flags = ACCL_STEP_ZCOPY;
    if (k < n - 1) s.sendPeer[0] = (int16_t)away;
  } else {
    s.srcBuf = ACCL_BUF_SEND;
    s.srcOff = off;
    s.flags = pre;
    if (k < n - 1) s.recvPeer[0] = (int16_t)away;
    if (k > 0)
      s.sendPeer[0] = (int16_t)toward;
    else {
      s.dstBuf = ACCL_BUF_RECV;
      s.dstOff = off;
      s.flags |= post;
    }
  }
  return add(plan, lane, s);
}

/* Ring steps move at most chunkElems each: a step that sends more than half
 * of a FIFO before receiving would close a cycle of full FIFOs around the
 * ring. Larger ranges run as several rounds of the same schedule. */
acclResult_t acclBuildRing(acclPlan* plan, int t, int rank, int nranks, const int* ring, int channel, size_t off,
                           size_t count, size_t chunkElems) {
  const acclTask* task = &plan->tasks[t];
  int lane, p = -1, rootPos = 0;
  for (int i = 0; i < nranks; i++) {
    if (ring[i] == rank) p = i;
    if (ring[i] == task->root) rootPos = i;
  }
  if (p < 0 || chunkElems == 0) return acclInternalError;
  uint8_t pre = acclTaskPreFlag(task), post = acclTaskPostFlag(task);
  ACCLCHECK(acclPlanLane(plan, ACCL_LANE_KEY_CHANNEL(channel), channel, &lane));
  /* elements per round: AllReduce splits a round into nranks chunks */
  size_t round = task->func == ACCL_FUNC_ALLREDUCE ? chunkElems * (size_t)nranks : chunkElems;
  size_t done = 0;
  do {
    size_t o = off + done, c = ACCL_MIN(round, count - done);
    switch (task->func) {
      case ACCL_FUNC_ALLREDUCE: ACCLCHECK(ringAllReduce(plan, lane, t, p, nranks, ring, o, c, pre, post)); break;
      case ACCL_FUNC_ALLGATHER: ACCLCHECK(ringAllGather(plan, lane, t, p, nranks, ring, task->count, o, c)); break;
      case ACCL_FUNC_REDUCESCATTER:
        ACCLCHECK(ringReduceScatter(plan, lane, t, p, nranks, ring, task->count, o, c, pre, post));
        break;
      case ACCL_FUNC_BROADCAST: ACCLCHECK(chain(plan, lane, t, p, nranks, ring, rootPos, 0, o, c, 0, 0)); break;
      case ACCL_FUNC_REDUCE: ACCLCHECK(chain(plan, lane, t, p, nranks, ring, rootPos, 1, o, c, pre, post)); break;
      default: return acclInternalError;
    }
    done += c;
  } while (done < count);
  return acclSuccess;
}

/* ---- table entry */

static int ringFeasible(const acclTuneInput* in, acclProto proto) {
  return proto == ACCL_PROTO_SIMPLE && !acclFuncIsP2P(in->func) && in->func != ACCL_FUNC_ALLTOALL;
}

/* C channels each carry S/C around their ring; AllReduce makes 2(n-1) steps
 * of S/(Cn) bytes, the others n-1. A step takes as long as the slowest hop:
 * between nodes the channel's NIC share, inside a node its link share, or the
 * device memory the C channels share (acclAlgoHopByteCost). */
static double ringCost(const acclTuneInput* in, acclProto proto) {
  (void)proto;
  const int n = in->nranks, C = acclAlgoCallChannels(in->nChannels, in->bytes);
  const double S = (double)in->bytes, twice = in->func == ACCL_FUNC_ALLREDUCE ? 2.0 : 1.0;
  const int net = in->nNodes > 1;
  const double perByte = ACCL_MAX(acclAlgoHopByteCost(in, 0), net ? acclAlgoHopByteCost(in, 1) : 0.0);
  /* The steps' latency along the ring's critical path: of every n hops, nNodes
   * cross nodes and the others stay inside one (pricing every step at the
   * network's latency made the tuner pick hier where the ring wins: the
   * simulator's replay shows it, tests/collectives/test_tuning). */
  const double lat =
      net ? ((double)(n - in->nNodes) * in->latIntra + (double)in->nNodes * in->latInter) / n : in->latIntra;
  /* a step waits for its hop's latency or moves its bytes, whichever is longer (pipelined) */
  return twice * (n - 1) * ACCL_MAX(lat, (S / C / n) * perByte) + (net ? in->latInter : in->latIntra);
}

/* Per channel a share of the data (AllGather / ReduceScatter: of each block),
 * each on the topology's ring for that channel, rank order when it gave none. */
static acclResult_t ringBuild(acclPlan* plan, int t, const acclAlgoCtx* ctx) {
  const acclTask* task = &plan->tasks[t];
  const int n = ctx->nranks;
  const size_t esize = acclTypeSize(task->dtype);
  int stackRing[64];
  int* identity = NULL;
  if (!ctx->rings || ctx->nRings <= 0) {
    identity = n <= 64 ? stackRing : malloc(sizeof(int) * (size_t)n);
    if (!identity) ACCL_ERROR(acclSystemError, "rank %d: no memory for a ring of %d ranks", ctx->rank, n);
    for (int i = 0; i < n; i++) identity[i] = i;
  }
  const int nch = acclAlgoChannels(ctx, task->count * esize);
  acclResult_t res = acclSuccess;
  for (int c = 0; c < nch && res == acclSuccess; c++) {
    size_t off, cnt;
    acclPartition(task->count, nch, c, &off, &cnt);
    if (cnt == 0 && c > 0) continue;
    const int* ring = identity ? identity : ctx->rings + (size_t)(c % ctx->nRings) * (size_t)n;
    res = acclBuildRing(plan, t, ctx->rank, n, ring, c, off, cnt, ctx->halfFifo / esize);
  }
  if (identity != stackRing) free(identity);
  return res;
}

const acclAlgoInfo acclAlgoRing = {
    .name = "ring", .feasible = ringFeasible, .cost = ringCost, .byteCost = acclAlgoHopByteCost, .build = ringBuild};
