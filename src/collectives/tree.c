/* tree.c - AllReduce over one binary tree: reduce up to the root, broadcast
 * back down. The up and down halves are separate lanes so a node forwards
 * results down while later slices still climb. Two trees with swapped roles
 * (the double binary tree) each take half of the data. */
#include "collectives/algorithm.h"

acclResult_t acclBuildTree(acclPlan* plan, int t, int tree, int rank, int up, const int down[2], int connLane,
                           size_t off, size_t count) {
  const acclTask* task = &plan->tasks[t];
  (void)rank;
  uint8_t pre = acclTaskPreFlag(task), post = acclTaskPostFlag(task);
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

/* ---- table entry */

static int treeFeasible(const acclTuneInput* in, acclProto proto) {
  return proto == ACCL_PROTO_SIMPLE && in->func == ACCL_FUNC_ALLREDUCE && in->haveTrees;
}

/* A hop's latency on every level of the tree, up and down; the bytes go up
 * and come down again (2S), at the pace of the trees' bandwidth: inside a
 * node the link, across nodes the NICs the tree pairs use (one pair per NIC),
 * or the device memory all trees share. */
/* Per tree (each carries 1/nTrees of the data): its share of the bandwidth. */
static double treeByteCost(const acclTuneInput* in, int inter) {
  const int nTrees = in->nTrees >= 2 ? in->nTrees : 2, pairs = nTrees / 2;
  /* inside a node the trees' chains share the links the ring channels share */
  const double links = in->bwIntra * (in->nChannels > 0 ? in->nChannels : 1);
  const double bw = inter ? ACCL_MIN(in->bwNet > 0 ? in->bwNet : in->bwInter, pairs * in->bwInter) : links;
  return acclAlgoByteCost(in, bw / nTrees, nTrees);
}

/* Up and down the longest path: across nodes, through every level's chain of
 * the node's ranks (L-1 hops inside, one hop between nodes). A tree's share
 * is one step, forwarded slice by slice: each hop adds a slice's time. */
static double treeCost(const acclTuneInput* in, acclProto proto) {
  (void)proto;
  const int net = in->nNodes > 1, nTrees = in->nTrees >= 2 ? in->nTrees : 2;
  int depth = 0, levels = 0;
  while ((1 << depth) < in->nranks) depth++;
  while ((1 << levels) <= in->nNodes) levels++;
  const double L = net ? (double)in->nranks / in->nNodes : 1;
  const double hopsIn = net ? levels * (L - 1) : depth, hopsNet = net ? levels - 1 : 0;
  const double step = (double)in->bytes / nTrees, slice = ACCL_MIN(step, acclAlgoSliceBytes(in));
  const double pIn = treeByteCost(in, 0), pNet = net ? treeByteCost(in, 1) : 0.0;
  return 2.0 * (hopsIn * (in->latIntra + slice * pIn) + hopsNet * (in->latInter + slice * pNet)) +
         step * ACCL_MAX(pIn, pNet);
}

/* Trees in pairs with swapped roles (one pair per NIC across nodes) each take
 * an equal share of the data. */
static acclResult_t treeBuild(acclPlan* plan, int t, const acclAlgoCtx* ctx) {
  const acclTask* task = &plan->tasks[t];
  if (!ctx->trees) ACCL_ERROR(acclInternalError, "rank %d: tree plan without trees", ctx->rank);
  const int nTrees = ctx->nTrees >= 2 ? ctx->nTrees : 2;
  for (int tr = 0; tr < nTrees; tr++) {
    size_t off, cnt;
    acclPartition(task->count, nTrees, tr, &off, &cnt);
    if (cnt == 0 && tr > 0) continue;
    const int connLane = ctx->nChannels + tr;
    if (ctx->nranks == 1) { /* nothing to exchange: the tree is one root */
      acclStep s = acclStepFifo(t, cnt);
      s.srcBuf = ACCL_BUF_SEND;
      s.dstBuf = ACCL_BUF_RECV;
      s.srcOff = s.dstOff = off;
      s.flags = (uint8_t)(acclTaskPreFlag(task) | acclTaskPostFlag(task));
      int lane;
      ACCLCHECK(acclPlanLane(plan, ACCL_LANE_KEY_TREE(tr, 0), connLane, &lane));
      ACCLCHECK(acclPlanAddStep(plan, lane, &s));
      continue;
    }
    const acclTreeNode* node = &ctx->trees[(size_t)tr * (size_t)ctx->nranks + (size_t)ctx->rank];
    ACCLCHECK(acclBuildTree(plan, t, tr, ctx->rank, node->up, node->down, connLane, off, cnt));
  }
  return acclSuccess;
}

const acclAlgoInfo acclAlgoTree = {
    .name = "tree", .feasible = treeFeasible, .cost = treeCost, .byteCost = treeByteCost, .build = treeBuild};
