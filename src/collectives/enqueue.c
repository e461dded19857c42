/* enqueue.c - from an API call to a planned task: buffer residency and
 * staging, algorithm choice, and the plan builders for each algorithm. */
#include <stdlib.h>
#include <string.h>
#include "collectives/coll.h"
#include "collectives/group.h"
#include "collectives/tuning.h"
#include "topology/plan.h"
#include "topology/topo.h"

/* Bytes of the send and receive buffers of a call, and which ones this rank uses. */
static void bufferSizes(const acclTask* t, int rank, int nranks, size_t* sendBytes, size_t* recvBytes) {
  size_t e = acclTypeSize(t->dtype), c = t->count, n = (size_t)nranks;
  switch (t->func) {
    case ACCL_FUNC_ALLGATHER:
      *sendBytes = c * e;
      *recvBytes = n * c * e;
      break;
    case ACCL_FUNC_REDUCESCATTER:
      *sendBytes = n * c * e;
      *recvBytes = c * e;
      break;
    case ACCL_FUNC_ALLTOALL: *sendBytes = *recvBytes = n * c * e; break;
    case ACCL_FUNC_SEND:
      *sendBytes = c * e;
      *recvBytes = 0;
      break;
    case ACCL_FUNC_RECV:
      *sendBytes = t->sendbuff ? c * e : 0;
      *recvBytes = c * e;
      break; /* self recv pairs a send */
    case ACCL_FUNC_BROADCAST:
      *sendBytes = rank == t->root ? c * e : 0;
      *recvBytes = c * e;
      break;
    case ACCL_FUNC_REDUCE:
      *sendBytes = c * e;
      *recvBytes = rank == t->root ? c * e : 0;
      break;
    default: *sendBytes = *recvBytes = c * e;
  }
}

/* Inside our device's memory window: a range check, no lookup (the hot path). */
static int onOurDevice(const struct acclComm* comm, const void* p, size_t bytes) {
  const accDevWindow* w = &comm->peerInfo[comm->rank].window;
  uintptr_t a = (uintptr_t)p;
  return p != NULL && a >= w->base && a - w->base <= w->size && bytes <= w->size - (a - w->base);
}

/* Decide residency: device buffers of the communicator's device are used in
 * place; anything else (host memory, another device) is staged through
 * device scratch so every algorithm sees device memory. */
acclResult_t acclTaskBuffers(struct acclComm* comm, acclPlan* plan, acclTask* t) {
  size_t sb, rb;
  bufferSizes(t, comm->rank, comm->nranks, &sb, &rb);
  t->sendBytes = sb;
  t->recvBytes = rb;
  t->sendDev = (void*)t->sendbuff;
  t->recvDev = t->recvbuff;
  t->stageSend = sb && !onOurDevice(comm, t->sendbuff, sb);
  t->stageRecv = rb && !onOurDevice(comm, t->recvbuff, rb);
  /* AllToAll in place overwrites blocks peers still have to read: it reads a
   * copy of the input instead */
  int alltoallInPlace = t->func == ACCL_FUNC_ALLTOALL && sb && t->sendbuff == t->recvbuff;
  if (alltoallInPlace) t->stageSend = 1;
  if (!t->stageSend && !t->stageRecv) return acclSuccess;
  /* in place: the input lies inside the output buffer; stage the output only */
  int inPlace = !alltoallInPlace && sb && rb && (const char*)t->sendbuff >= (const char*)t->recvbuff &&
                (const char*)t->sendbuff + sb <= (const char*)t->recvbuff + rb;
  /* places in the communicator's staging area; the executor binds the
   * pointers when the plan runs (the area may grow until then) */
  size_t base = plan->stageBytes;
  if (inPlace) {
    t->stageSend = t->stageRecv = 1;
    t->stageRecvOff = base;
    t->stageSendOff = base + (size_t)((const char*)t->sendbuff - (const char*)t->recvbuff);
    plan->stageBytes += ACCL_ALIGN_UP(rb, 256);
  } else {
    if (t->stageRecv) {
      t->stageRecvOff = plan->stageBytes;
      plan->stageBytes += ACCL_ALIGN_UP(rb, 256);
    }
    if (t->stageSend) {
      t->stageSendOff = plan->stageBytes;
      plan->stageBytes += ACCL_ALIGN_UP(sb, 256);
    }
  }
  return acclSuccess;
}

static int rangesOverlap(const void* a, size_t an, const void* b, size_t bn) {
  uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
  return an && bn && x < y + bn && y < x + an;
}

/* The group rule: every task reads its input as it was when the group
 * started. A receive (or any output) of another task of the plan may write
 * into memory a task still has to read, and the lanes run concurrently, so
 * such an input is read from a copy taken when the plan starts. Ordering the
 * copies instead could deadlock: a send can need the peer's receive, which
 * can need ours. */
void acclPlanStageOverlaps(acclPlan* plan) {
  if (plan->nTasks < 2) return;
  for (int i = 0; i < plan->nTasks; i++) {
    acclTask* t = &plan->tasks[i];
    if (t->stageSend || t->sendBytes == 0) continue;
    for (int j = 0; j < plan->nTasks; j++) {
      const acclTask* u = &plan->tasks[j];
      if (j == i || !rangesOverlap(t->sendbuff, t->sendBytes, u->recvbuff, u->recvBytes)) continue;
      t->stageSend = 1;
      t->stageSendOff = plan->stageBytes;
      plan->stageBytes += ACCL_ALIGN_UP(t->sendBytes, 256);
      break;
    }
  }
}

/* What the cost model knows of the communicator (the call's fields aside). */
void acclTuneBaseInput(struct acclComm* comm, acclTuneInput* in) {
  memset(in, 0, sizeof(*in));
  in->nranks = comm->nranks;
  in->nNodes = comm->nNodes;
  in->directOk = comm->coll->directOk;
  in->llMaxBytes = comm->coll->llMaxBytes;
  in->rdMaxBytes = ACCL_MIN(comm->coll->rdMaxBytes, acclTransportHalfFifo(&comm->coll->net));
  const struct acclTopoState* tp = comm->topo;
  in->haveTrees = tp && tp->nTrees >= 2 && tp->trees;
  in->hierLocal = acclHierShape(comm->nodeOf, comm->nranks, comm->nNodes);
  /* Inside a node the simulated chips' links are host memory: a hop can be
   * no faster than a host copy, and adds no latency of its own. */
  in->bwIntra = tp && tp->bwIntra > 0 ? ACCL_MIN(tp->bwIntra, ACCL_TOPO_SHM_BW_GBS) : ACCL_TOPO_SHM_BW_GBS;
  in->latIntra = tp && tp->latIntra > 0 ? ACCL_MIN(tp->latIntra, ACCL_TOPO_SHM_LAT_US) : ACCL_TOPO_SHM_LAT_US;
  in->bwInter = tp && tp->bwInter > 0 ? tp->bwInter : ACCL_TOPO_NET_BW_GBS;
  in->latInter = tp && tp->latInter > 0 ? tp->latInter : ACCL_TOPO_NET_LAT_US;
}

static void tuneInput(struct acclComm* comm, const acclTask* t, acclTuneInput* in) {
  acclTuneBaseInput(comm, in);
  in->func = t->func;
  /* the call's largest buffer: AllGather / ReduceScatter / AllToAll move n blocks */
  int blocks = t->func == ACCL_FUNC_ALLGATHER || t->func == ACCL_FUNC_REDUCESCATTER || t->func == ACCL_FUNC_ALLTOALL;
  in->bytes = t->count * acclTypeSize(t->dtype) * (blocks ? (size_t)comm->nranks : 1);
}

static const int* ringOf(struct acclComm* comm, int c, int* identity) {
  const struct acclTopoState* tp = comm->topo;
  if (tp && tp->nRings > 0 && tp->rings) return tp->rings + (size_t)(c % tp->nRings) * comm->nranks;
  for (int i = 0; i < comm->nranks; i++) identity[i] = i;
  return identity;
}

acclResult_t acclPlanTask(struct acclComm* comm, acclPlan* plan, int ti) {
  acclTask* t = &plan->tasks[ti];
  struct acclCollState* cs = comm->coll;
  acclTuneInput in;
  tuneInput(comm, t, &in);
  /* the model's answer depends on the size only: remember the last one per function */
  if (cs->lastTune[t->func].valid && cs->lastTune[t->func].bytes == in.bytes) {
    t->algo = cs->lastTune[t->func].algo;
    t->proto = cs->lastTune[t->func].proto;
  } else {
    ACCLCHECK(acclTuneSelect(&in, cs->algoMask, cs->protoMask, &t->algo, &t->proto));
    cs->lastTune[t->func].bytes = in.bytes;
    cs->lastTune[t->func].algo = t->algo;
    cs->lastTune[t->func].proto = t->proto;
    cs->lastTune[t->func].valid = 1;
  }
  INFO(ACCL_TUNING, "%s: %zu Bytes -> Algo %s proto %s", acclFuncName(t->func), in.bytes, acclAlgoName(t->algo),
       acclProtoName(t->proto));
  const int n = comm->nranks, me = comm->rank;
  switch (t->algo) {
    case ACCL_ALGO_P2P: return acclBuildP2P(plan, ti, me, n, cs->p2pLane);
    case ACCL_ALGO_DIRECT:
      return t->proto == ACCL_PROTO_LL ? acclBuildLL(plan, ti, me, n) : acclBuildDirect(plan, ti, me, n);
    case ACCL_ALGO_TREE: {
      const struct acclTopoState* tp = comm->topo;
      for (int tr = 0; tr < 2; tr++) {
        size_t off, cnt;
        acclPartition(t->count, 2, tr, &off, &cnt);
        const acclTreeNode* node = &tp->trees[(size_t)tr * n + me];
        if (n == 1) { /* nothing to exchange: the tree is one root */
          acclStep s = acclStepFifo(ti, cnt);
          s.srcBuf = ACCL_BUF_SEND;
          s.dstBuf = ACCL_BUF_RECV;
          s.srcOff = s.dstOff = off;
          s.flags = (uint8_t)((t->premul ? ACCL_STEP_PREMUL : 0) | (t->postDiv ? ACCL_STEP_POSTDIV : 0));
          int lane;
          ACCLCHECK(acclPlanLane(plan, ACCL_LANE_KEY_TREE(tr, 0), cs->nChannels + tr, &lane));
          ACCLCHECK(acclPlanAddStep(plan, lane, &s));
          continue;
        }
        ACCLCHECK(acclBuildTree(plan, ti, tr, me, node->up, node->down, cs->nChannels + tr, off, cnt));
      }
      return acclSuccess;
    }
    case ACCL_ALGO_RD: return acclBuildRD(plan, ti, me, n, 0, t->count);
    case ACCL_ALGO_HIER: {
      size_t total = t->count, bytes = total * acclTypeSize(t->dtype);
      size_t chunkElems = acclTransportHalfFifo(&cs->net) / acclTypeSize(t->dtype);
      int nch = cs->nChannels;
      while (nch > 1 && bytes / (size_t)nch < 32768) nch--;
      for (int c = 0; c < nch; c++) {
        size_t off, cnt;
        acclPartition(total, nch, c, &off, &cnt);
        if (cnt == 0 && c > 0) continue;
        ACCLCHECK(acclBuildHier(plan, ti, me, n, comm->nodeOf, comm->nNodes, c, off, cnt, chunkElems));
      }
      return acclSuccess;
    }
    case ACCL_ALGO_RING: {
      /* the topology's rings; rank order only when it gave none */
      int stackRing[64];
      int haveRings = comm->topo && comm->topo->nRings > 0 && comm->topo->rings;
      int* identity = haveRings || n <= 64 ? stackRing : malloc(sizeof(int) * (size_t)n);
      if (!identity) return acclSystemError;
      /* per channel a share of the data (AllGather / ReduceScatter: of each block) */
      size_t total = t->count;
      size_t bytes = total * acclTypeSize(t->dtype);
      int nch = cs->nChannels;
      size_t chunkElems = acclTransportHalfFifo(&cs->net) / acclTypeSize(t->dtype);
      while (nch > 1 && bytes / (size_t)nch < 32768) nch--; /* small calls: fewer, fuller channels */
      acclResult_t res = acclSuccess;
      for (int c = 0; c < nch && res == acclSuccess; c++) {
        size_t off, cnt;
        acclPartition(total, nch, c, &off, &cnt);
        if (cnt == 0 && c > 0) continue;
        res = acclBuildRing(plan, ti, me, n, ringOf(comm, c, identity), c, off, cnt, chunkElems);
      }
      if (identity != stackRing) free(identity);
      return res;
    }
    default: return acclInternalError;
  }
}
