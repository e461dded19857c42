/* direct.c - single-copy plans through peer memory mapped on one node, and
 * the one-shot LL AllReduce for small messages.
 *
 * Direct plans publish buffer pointers (SYNC ARRIVE), move every byte once
 * with the device engines reading and writing peer buffers (DIRECT), then
 * publish completion (SYNC DONE) so no rank returns while a peer may still
 * read or write its buffers. Work is split so every rank moves 1/n of it. */
#include "collectives/algorithm.h"

static acclResult_t add(acclPlan* plan, int lane, acclStep s) { return acclPlanAddStep(plan, lane, &s); }

static acclStep stepOf(int kind, int t) {
  acclStep s = acclStepFifo(t, 0);
  s.kind = (uint8_t)kind;
  return s;
}

static uint64_t allMask(int n) { return n >= 64 ? ~0ull : ((1ull << n) - 1); }

acclResult_t acclBuildDirect(acclPlan* plan, int t, int rank, int nranks) {
  const acclTask* task = &plan->tasks[t];
  const uint64_t all = allMask(nranks), me = 1ull << rank;
  uint8_t pre = acclTaskPreFlag(task), post = acclTaskPostFlag(task);
  int lane;
  ACCLCHECK(acclPlanLane(plan, ACCL_LANE_KEY_DIRECT, -1, &lane));
  acclStep s = stepOf(ACCL_STEP_SYNC, t);
  s.phase = ACCL_SYNC_ARRIVE;
  s.mask = all;
  ACCLCHECK(add(plan, lane, s));
  size_t off, cnt;
  acclPartition(task->count, nranks, rank, &off, &cnt);
  s = stepOf(ACCL_STEP_DIRECT, t);
  s.srcBuf = ACCL_BUF_SEND;
  s.dstBuf = ACCL_BUF_RECV;
  switch (task->func) {
    case ACCL_FUNC_ALLREDUCE: /* reduce our slice of everyone's input into everyone's output (Reduce: the root's) */
    case ACCL_FUNC_REDUCE:
      s.mask = all;
      s.dstMask = task->func == ACCL_FUNC_REDUCE ? 1ull << task->root : all;
      s.srcOff = s.dstOff = off;
      s.count = cnt;
      s.flags = pre | post;
      ACCLCHECK(add(plan, lane, s));
      break;
    case ACCL_FUNC_BROADCAST:
      s.mask = 1ull << task->root;
      s.dstMask = all;
      s.srcOff = s.dstOff = off;
      s.count = cnt;
      ACCLCHECK(add(plan, lane, s));
      break;
    case ACCL_FUNC_ALLGATHER: /* our block to everyone */
      s.mask = me;
      s.dstMask = all;
      s.srcOff = 0;
      s.dstOff = (size_t)rank * task->count;
      s.count = task->count;
      ACCLCHECK(add(plan, lane, s));
      break;
    case ACCL_FUNC_REDUCESCATTER: /* everyone's copy of our block, reduced into our output */
      s.mask = all;
      s.dstMask = me;
      s.srcOff = (size_t)rank * task->count;
      s.dstOff = 0;
      s.count = task->count;
      s.flags = pre | post;
      ACCLCHECK(add(plan, lane, s));
      break;
    case ACCL_FUNC_ALLTOALL: /* block q of our input to peer q, at our block of its output */
      for (int q = 0; q < nranks; q++) {
        s.mask = me;
        s.dstMask = 1ull << q;
        s.srcOff = (size_t)q * task->count;
        s.dstOff = (size_t)rank * task->count;
        s.count = task->count;
        ACCLCHECK(add(plan, lane, s));
      }
      break;
    default: return acclInternalError;
  }
  s = stepOf(ACCL_STEP_SYNC, t);
  s.phase = ACCL_SYNC_DONE;
  s.mask = all;
  return add(plan, lane, s);
}

acclResult_t acclBuildLL(acclPlan* plan, int t, int rank, int nranks) {
  const acclTask* task = &plan->tasks[t];
  if (task->func != ACCL_FUNC_ALLREDUCE) return acclInternalError;
  const uint64_t others = allMask(nranks) & ~(1ull << rank);
  int lane;
  ACCLCHECK(acclPlanLane(plan, ACCL_LANE_KEY_DIRECT, -1, &lane));
  acclStep s = stepOf(ACCL_STEP_LLPUSH, t);
  s.mask = others;
  s.srcBuf = ACCL_BUF_SEND;
  s.count = task->count;
  s.flags = acclTaskPreFlag(task);
  ACCLCHECK(add(plan, lane, s));
  s = stepOf(ACCL_STEP_LLREDUCE, t);
  s.mask = others;
  s.srcBuf = ACCL_BUF_SEND;
  s.dstBuf = ACCL_BUF_RECV;
  s.count = task->count;
  s.flags = (uint8_t)(acclTaskPreFlag(task) | acclTaskPostFlag(task));
  return add(plan, lane, s);
}

/* ---- table entry: the direct algorithm runs Simple (single copy) or LL (one shot) */

static int directFeasible(const acclTuneInput* in, acclProto proto) {
  if (!in->directOk || acclFuncIsP2P(in->func)) return 0;
  if (proto == ACCL_PROTO_LL) return in->func == ACCL_FUNC_ALLREDUCE && in->bytes <= in->llMaxBytes && in->nranks > 1;
  /* Simple reduces peers' inputs as they are, with this rank's scalar: a
   * PreMulSum's scalars may differ from rank to rank (LL scales its own
   * input before pushing it) */
  return !in->premulSum;
}

/* Simple: every rank moves its 1/n share once, reading peers' memory and
 * writing it in place, about 2S (ReduceScatter / Reduce: S + S/n).
 * LL: every input goes to every peer as lines twice its size, and every rank
 * unpacks and reduces all n of them. */
static double directCost(const acclTuneInput* in, acclProto proto) {
  const int n = in->nranks;
  const double S = (double)in->bytes;
  if (proto == ACCL_PROTO_LL) return acclAlgoTime(in, 1, 4.0 * S * (n - 1) + S * (n + 1));
  const int toOne = in->func == ACCL_FUNC_REDUCESCATTER || in->func == ACCL_FUNC_REDUCE;
  return acclAlgoTime(in, 2, toOne ? S + S / n : 2.0 * S);
}

static acclResult_t directBuild(acclPlan* plan, int t, const acclAlgoCtx* ctx) {
  return plan->tasks[t].proto == ACCL_PROTO_LL ? acclBuildLL(plan, t, ctx->rank, ctx->nranks)
                                               : acclBuildDirect(plan, t, ctx->rank, ctx->nranks);
}

const acclAlgoInfo acclAlgoDirect = {
    .name = "direct", .feasible = directFeasible, .cost = directCost, .build = directBuild};
