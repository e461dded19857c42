/* tree.c - AllReduce over one binary tree: reduce up to the root, broadcast
 * back down. The up and down halves are separate lanes so a node forwards
 * results down while later slices still climb. Two trees with swapped roles
 * (the double binary tree) each take half of the data. */
#include "collectives/plan.h"

acclResult_t acclBuildTree(acclPlan* plan, int t, int tree, int rank, int up, const int down[2], int connLane,
                           size_t off, size_t count) {
  const acclTask* task = &plan->tasks[t];
  (void)rank;
  uint8_t pre = task->premul ? ACCL_STEP_PREMUL : 0, post = task->postDiv ? ACCL_STEP_POSTDIV : 0;
  int upLane, downLane;
  ACCLCHECK(acclPlanLane(plan, ACCL_LANE_KEY_TREE(tree, 0), connLane, &upLane));
  /* reduce up: children's partial results + our input */
  acclStep s = acclStepFifo(t, count);
  s.srcBuf = ACCL_BUF_SEND;
  s.srcOff = off;
  s.flags = pre;
  s.recvPeer[0] = (int16_t)down[0];
  s.recvPeer[1] = (int16_t)down[1];
  if (up >= 0) {
    s.sendPeer[0] = (int16_t)up;
    ACCLCHECK(acclPlanAddStep(plan, upLane, &s));
    /* broadcast down: the result from the parent, to our output and our children */
    ACCLCHECK(acclPlanLane(plan, ACCL_LANE_KEY_TREE(tree, 1), connLane, &downLane));
    s = acclStepFifo(t, count);
    s.recvPeer[0] = (int16_t)up;
    s.dstBuf = ACCL_BUF_RECV;
    s.dstOff = off;
    s.flags = ACCL_STEP_ZCOPY; /* the result is final: children may get it straight from dst */
    s.sendPeer[0] = (int16_t)down[0];
    s.sendPeer[1] = (int16_t)down[1];
    return acclPlanAddStep(plan, downLane, &s);
  }
  /* the root finishes the reduction and starts the broadcast in the same step */
  s.flags |= post | ACCL_STEP_ZCOPY;
  s.dstBuf = ACCL_BUF_RECV;
  s.dstOff = off;
  s.sendPeer[0] = (int16_t)down[0];
  s.sendPeer[1] = (int16_t)down[1];
  return acclPlanAddStep(plan, upLane, &s);
}
