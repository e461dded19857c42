/* p2p.c - Send, Recv and AllToAll as FIFO steps on per-peer lanes: each
 * (peer, direction) progresses on its own, so the sends and receives of a
 * group complete in any order without deadlock. */
#include "collectives/algorithm.h"

static acclResult_t onLane(acclPlan* plan, int64_t key, int connLane, acclStep s) {
  int lane;
  ACCLCHECK(acclPlanLane(plan, key, connLane, &lane));
  return acclPlanAddStep(plan, lane, &s);
}

acclResult_t acclBuildP2P(acclPlan* plan, int t, int rank, int nranks, int connLane) {
  const acclTask* task = &plan->tasks[t];
  acclStep s = acclStepFifo(t, task->count);
  switch (task->func) {
    case ACCL_FUNC_SEND:
      if (task->peer == rank) return acclInternalError; /* self sends are paired with receives by the group */
      s.srcBuf = ACCL_BUF_SEND;
      s.sendPeer[0] = (int16_t)task->peer;
      s.flags = ACCL_STEP_ZCOPY; /* the plan never writes a send buffer */
      return onLane(plan, ACCL_LANE_KEY_P2P(task->peer, 1), connLane, s);
    case ACCL_FUNC_RECV:
      if (task->peer == rank) {
        /* the matching self send's task index is in `root` (set by the group) */
        s.srcBuf = ACCL_BUF_SEND;
        s.dstBuf = ACCL_BUF_RECV;
        return onLane(plan, ACCL_LANE_KEY_P2P(rank, 0), connLane, s);
      }
      s.recvPeer[0] = (int16_t)task->peer;
      s.dstBuf = ACCL_BUF_RECV;
      return onLane(plan, ACCL_LANE_KEY_P2P(task->peer, 0), connLane, s);
    case ACCL_FUNC_ALLTOALL:
      for (int k = 0; k < nranks; k++) {
        int to = (rank + k) % nranks, from = (rank - k + nranks) % nranks;
        if (k == 0) {
          s = acclStepFifo(t, task->count);
          s.srcBuf = ACCL_BUF_SEND;
          s.srcOff = (size_t)rank * task->count;
          s.dstBuf = ACCL_BUF_RECV;
          s.dstOff = (size_t)rank * task->count;
          ACCLCHECK(onLane(plan, ACCL_LANE_KEY_P2P(rank, 0), connLane, s));
          continue;
        }
        s = acclStepFifo(t, task->count);
        s.srcBuf = ACCL_BUF_SEND;
        s.srcOff = (size_t)to * task->count;
        s.sendPeer[0] = (int16_t)to;
        s.flags = ACCL_STEP_ZCOPY;
        ACCLCHECK(onLane(plan, ACCL_LANE_KEY_P2P(to, 1), connLane, s));
        s = acclStepFifo(t, task->count);
        s.recvPeer[0] = (int16_t)from;
        s.dstBuf = ACCL_BUF_RECV;
        s.dstOff = (size_t)from * task->count;
        ACCLCHECK(onLane(plan, ACCL_LANE_KEY_P2P(from, 0), connLane, s));
      }
      return acclSuccess;
    default: return acclInternalError;
  }
}

/* ---- table entry */

static int p2pFeasible(const acclTuneInput* in, acclProto proto) {
  return proto == ACCL_PROTO_SIMPLE && (acclFuncIsP2P(in->func) || in->func == ACCL_FUNC_ALLTOALL);
}

/* One hop; the bytes written into the FIFO and read out again. */
static double p2pCost(const acclTuneInput* in, acclProto proto) {
  (void)proto;
  return acclAlgoTime(in, 1, 2.0 * (double)in->bytes);
}

static acclResult_t p2pBuild(acclPlan* plan, int t, const acclAlgoCtx* ctx) {
  return acclBuildP2P(plan, t, ctx->rank, ctx->nranks, ctx->p2pLane);
}

const acclAlgoInfo acclAlgoP2P = {.name = "p2p", .feasible = p2pFeasible, .cost = p2pCost, .build = p2pBuild};
