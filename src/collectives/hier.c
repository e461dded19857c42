/* hier.c - hierarchical AllReduce for communicators that span nodes:
 * reduce-scatter inside the node (local rank j ends with the node's sum of
 * part j), ring AllReduce of part j between the ranks of local index j on
 * every node, then all-gather inside the node. Only 1/localRanks of the data
 * crosses the network per rank, and the slow inter-node ring has nNodes
 * hops instead of nranks. All three phases run in one lane, one round after
 * another; a round's part never exceeds a FIFO chunk (see acclBuildRing). */
#include <stdlib.h>
#include "collectives/algorithm.h"

/* Phase 2: ring AllReduce, in place in RECV, of [o, o+c) over the nodes. */
static acclResult_t interAllReduce(acclPlan* plan, int lane, int t, int p, int N, const int* ring, size_t o, size_t c,
                                   uint8_t post) {
  if (c == 0) return acclSuccess;
  ACCLCHECK(acclRingReduceScatterRange(plan, lane, t, p, N, ring, o, c, ACCL_BUF_RECV, ACCL_BUF_RECV, 0, post, 1));
  return acclRingAllGatherRange(plan, lane, t, p, N, ring, o, c, ACCL_BUF_RECV, 1);
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
  if (L == 0 || chunkElems == 0) return acclInternalError;
  /* local[] : our node's ranks in rank order; inter[] : local index j on every node */
  int *local = malloc(sizeof(int) * (size_t)L), *inter = malloc(sizeof(int) * (size_t)nNodes);
  int* seen = calloc((size_t)nNodes, sizeof(int));
  int j = -1, myNode = nodeOf[rank], nl = 0;
  acclResult_t res = acclSuccess;
  if (!local || !inter || !seen) {
    res = acclSystemError;
    goto out;
  }
  for (int r = 0; r < nranks; r++) {
    if (nodeOf[r] == myNode) {
      if (r == rank) j = nl;
      local[nl++] = r;
    }
  }
  for (int r = 0; r < nranks; r++) {
    int nd = nodeOf[r];
    if (seen[nd]++ == j) inter[nd] = r;
  }
  uint8_t pre = acclTaskPreFlag(task), post = acclTaskPostFlag(task);
  int lane;
  ACCLCHECKGOTO(acclPlanLane(plan, ACCL_LANE_KEY_CHANNEL(channel), channel, &lane), res, out);
  size_t round = chunkElems * (size_t)L, done = 0;
  do {
    size_t o = off + done, c = ACCL_MIN(round, count - done), poff, pcnt;
    acclPartition(c, L, j, &poff, &pcnt);
    /* 1: reduce-scatter inside the node: part j ends in RECV of local rank j */
    ACCLCHECKGOTO(acclRingReduceScatterRange(plan, lane, t, j, L, local, o, c, ACCL_BUF_SEND, ACCL_BUF_RECV, pre, 0, 0),
                  res, out);
    ACCLCHECKGOTO(interAllReduce(plan, lane, t, myNode, nNodes, inter, o + poff, pcnt, post), res, out);
    /* 3: all-gather of the parts inside the node */
    ACCLCHECKGOTO(acclRingAllGatherRange(plan, lane, t, j, L, local, o, c, ACCL_BUF_RECV, 0), res, out);
    done += c;
  } while (done < count);
out:
  free(local);
  free(inter);
  free(seen);
  return res;
}

/* ---- table entry */

static int hierFeasible(const acclTuneInput* in, acclProto proto) {
  return proto == ACCL_PROTO_SIMPLE && in->func == ACCL_FUNC_ALLREDUCE && in->nNodes > 1 && in->hierLocal > 0;
}

/* Rings inside the nodes at intra-node speed, then L x C rings of nNodes hops
 * between them (local rank j's share, through its own NIC: the L x C streams
 * share the node's NICs, bwNet), then the all-gather inside the node. */
static double hierByteCost(const acclTuneInput* in, int inter) {
  const double L = in->hierLocal > 0 ? in->hierLocal : 1;
  const int C = acclAlgoCallChannels(in->nChannels, in->bytes);
  const double net = in->bwNet > 0 ? in->bwNet : in->bwInter;
  return acclAlgoByteCost(in, inter ? net / (L * C) : in->bwIntra, C);
}

static double hierCost(const acclTuneInput* in, acclProto proto) {
  (void)proto;
  const double S = (double)in->bytes, L = in->hierLocal > 0 ? in->hierLocal : 1, N = in->nNodes;
  const int C = acclAlgoCallChannels(in->nChannels, in->bytes);
  return 2.0 * (L - 1) * in->latIntra + 2.0 * (N - 1) * in->latInter +
         2.0 * (L - 1) / L * (S / C) * hierByteCost(in, 0) + 2.0 * (N - 1) / N * (S / (L * C)) * hierByteCost(in, 1);
}

static acclResult_t hierBuild(acclPlan* plan, int t, const acclAlgoCtx* ctx) {
  const acclTask* task = &plan->tasks[t];
  const size_t esize = acclTypeSize(task->dtype);
  const int nch = acclAlgoChannels(ctx, task->count * esize);
  for (int c = 0; c < nch; c++) {
    size_t off, cnt;
    acclPartition(task->count, nch, c, &off, &cnt);
    if (cnt == 0 && c > 0) continue;
    ACCLCHECK(
        acclBuildHier(plan, t, ctx->rank, ctx->nranks, ctx->nodeOf, ctx->nNodes, c, off, cnt, ctx->halfFifo / esize));
  }
  return acclSuccess;
}

const acclAlgoInfo acclAlgoHier = {
    .name = "hier", .feasible = hierFeasible, .cost = hierCost, .byteCost = hierByteCost, .build = hierBuild};
