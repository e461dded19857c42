/* chain.c - reductions in a fixed order by rank (ACCL_DETERMINISTIC=1).
 *
 * Every output element is folded as ((x0 op x1) op x2) ... op x(n-1): the
 * partial result travels along the chain 0 -> 1 -> ... -> n-1 and rank k
 * combines what rank k-1 sent with its own input (an FP op is commutative,
 * so only the grouping matters, and the grouping is fixed by rank). The
 * channel count, chunk size, slot size and node layout only decide which
 * elements travel together, never in which order an element is folded, so
 * AllReduce, ReduceScatter and Reduce give the same bits whatever they are.
 *
 *  AllReduce      the chain, then rank n-1 (which finishes the fold into its
 *                 dst) sends the result back down n-1 -> n-2 -> ... -> 0.
 *  ReduceScatter  per block b the chain; rank n-1's last hop sends block b's
 *                 result to rank b (b == n-1: straight into its dst).
 *  Reduce         the chain; rank n-1 sends the result to the root.
 *
 * Steps move at most chunkElems (half a FIFO) each, in rounds.
 *
 * One lane per channel (key ACCL_LANE_KEY_CHANNEL(c), connection lane c, the
 * ring's): a second lane for the way back would pipeline rounds, but a lane
 * of another task of the same group (a ring on the same connection lane) may
 * use the same connection in the same direction, and two lanes of one rank
 * must never share one. So a rank's steps are one sequence: per round its
 * chain step, then (AllReduce) its step of the way back, or (Reduce, at the
 * root) the receive of the result; ReduceScatter: the chain steps of all n
 * blocks, then the receive of its own block's result.
 *
 * No deadlock. Within a round, every rank's chain steps come before its
 * result (way-back) step. A chain step of round j on rank k needs only the
 * same chain step on rank k-1; by induction along the chain every chain step
 * of round j can complete once each rank has finished round j-1, with no
 * result step of round j in the way. A result step of round j on rank k
 * needs rank k+1's way-back step or rank n-1's chain step of round j, which
 * need only those chain steps and (way back) the result steps above k: by
 * induction down from n-1 they complete too. Credit: a step sends at most
 * half a FIFO, and every connection is fed by one lane of the sender and
 * drained by one lane of the receiver in the same order, so a sender waiting
 * for credit waits on an earlier step of the receiver, which completes by
 * the same induction; no wait closes a cycle.
 * tests/collectives/test_plans runs these plans for 1..9 ranks with tiny
 * FIFOs and checks termination and results. */
#include "collectives/algorithm.h"

static acclResult_t add(acclPlan* plan, int lane, acclStep s) { return acclPlanAddStep(plan, lane, &s); }

/* The chain step of rank k for [srcOff, srcOff+c) of its input. The last rank
 * writes dstOff (when `own`) and/or sends to `to` (-1: nobody). */
static acclResult_t chainStep(acclPlan* plan, int lane, int t, int k, int n, size_t srcOff, size_t c, uint8_t pre,
                              uint8_t post, int own, size_t dstOff, int to) {
  acclStep s = acclStepFifo(t, c);
  s.srcBuf = ACCL_BUF_SEND;
  s.srcOff = srcOff;
  s.flags = pre;
  if (k > 0) s.recvPeer[0] = (int16_t)(k - 1);
  if (k < n - 1) {
    s.sendPeer[0] = (int16_t)(k + 1);
    if (k == 0 && !pre) s.flags |= ACCL_STEP_ZCOPY; /* rank 0 sends its input as it is */
    return add(plan, lane, s);
  }
  s.flags |= post;
  if (own) {
    s.dstBuf = ACCL_BUF_RECV;
    s.dstOff = dstOff;
    s.flags |= ACCL_STEP_ZCOPY; /* the final result: sent straight from dst */
  }
  if (to >= 0) s.sendPeer[0] = (int16_t)to;
  return add(plan, lane, s);
}

/* Receive the final result from `from` into dst, forwarding it to `to` (-1: nobody). */
static acclResult_t resultStep(acclPlan* plan, int lane, int t, int from, int to, size_t dstOff, size_t c) {
  acclStep s = acclStepFifo(t, c);
  s.recvPeer[0] = (int16_t)from;
  s.dstBuf = ACCL_BUF_RECV;
  s.dstOff = dstOff;
  s.flags = ACCL_STEP_ZCOPY;
  if (to >= 0) s.sendPeer[0] = (int16_t)to;
  return add(plan, lane, s);
}

/* Elements [off, off+count) of the task (ReduceScatter: of every block) on channel lane `channel`. */
acclResult_t acclBuildChain(acclPlan* plan, int t, int k, int n, int channel, size_t off, size_t count,
                            size_t chunkElems) {
  const acclTask* task = &plan->tasks[t];
  if (k < 0 || k >= n || chunkElems == 0) return acclInternalError;
  uint8_t pre = acclTaskPreFlag(task), post = acclTaskPostFlag(task);
  int lane;
  ACCLCHECK(acclPlanLane(plan, ACCL_LANE_KEY_CHANNEL(channel), channel, &lane));
  const size_t blk = task->count;
  size_t done = 0;
  do {
    size_t o = off + done, c = ACCL_MIN(chunkElems, count - done);
    switch (task->func) {
      case ACCL_FUNC_ALLREDUCE:
        ACCLCHECK(chainStep(plan, lane, t, k, n, o, c, pre, post, 1, o, n > 1 ? n - 2 : -1));
        if (k < n - 1) ACCLCHECK(resultStep(plan, lane, t, k + 1, k > 0 ? k - 1 : -1, o, c));
        break;
      case ACCL_FUNC_REDUCE: {
        const int root = task->root;
        ACCLCHECK(chainStep(plan, lane, t, k, n, o, c, pre, post, root == n - 1, o, root == n - 1 ? -1 : root));
        if (k == root && k != n - 1) ACCLCHECK(resultStep(plan, lane, t, n - 1, -1, o, c));
        break;
      }
      case ACCL_FUNC_REDUCESCATTER:
        /* every block's chain step first, our own block's result last: a
         * rank waiting for its result mid-round would hold up the blocks
         * after it (a round would take ~n^2/2 hops instead of ~2n) */
        for (int b = 0; b < n; b++)
          ACCLCHECK(
              chainStep(plan, lane, t, k, n, (size_t)b * blk + o, c, pre, post, b == n - 1, o, b == n - 1 ? -1 : b));
        if (k != n - 1) ACCLCHECK(resultStep(plan, lane, t, n - 1, -1, o, c));
        break;
      default: return acclInternalError;
    }
    done += c;
  } while (done < count);
  return acclSuccess;
}

/* ---- table entry */

static int chainFeasible(const acclTuneInput* in, acclProto proto) {
  return proto == ACCL_PROTO_SIMPLE &&
         (in->func == ACCL_FUNC_ALLREDUCE || in->func == ACCL_FUNC_REDUCE || in->func == ACCL_FUNC_REDUCESCATTER);
}

/* Rounds of half a FIFO (8 slots assumed); a round passes n-1 hops up the
 * chain and (AllReduce) n-1 back before the next starts on that rank, so a
 * round costs per hop its latency and its first slot's bytes (slots
 * pipeline along the chain), then the rest of its bytes once (ReduceScatter:
 * n blocks follow each other, then each rank waits for its own block). Every rank moves all the data through its chain link (not
 * 1/n of it as in the ring). Hop latency as the ring's: of every n hops,
 * nNodes cross nodes. */
static double chainCost(const acclTuneInput* in, acclProto proto) {
  (void)proto;
  const int n = in->nranks, C = acclAlgoCallChannels(in->nChannels, in->bytes);
  const int net = in->nNodes > 1;
  const double S = (double)in->bytes / C / (in->func == ACCL_FUNC_REDUCESCATTER ? n : 1); /* per block */
  const double perByte = ACCL_MAX(acclAlgoHopByteCost(in, 0), net ? acclAlgoHopByteCost(in, 1) : 0.0);
  /* the hops run one after the other: each at its own price */
  const double hopByte =
      net ? ((double)(n - in->nNodes) * acclAlgoHopByteCost(in, 0) + (double)in->nNodes * acclAlgoHopByteCost(in, 1)) /
                n
          : perByte;
  const double lat =
      net ? ((double)(n - in->nNodes) * in->latIntra + (double)in->nNodes * in->latInter) / n : in->latIntra;
  /* ReduceScatter: n blocks a round, and a rank waits for its own block's trip */
  const double hops = in->func == ACCL_FUNC_ALLREDUCE ? 2.0 * (n - 1) : (double)n;
  const double blocks = in->func == ACCL_FUNC_REDUCESCATTER ? (double)n : 1.0;
  const double slice = acclAlgoSliceBytes(in), round = 4.0 * slice;
  const double rounds = S > round ? S / round : 1.0;
  const double first = ACCL_MIN(S, slice), rest = ACCL_MIN(S, round) - first;
  return rounds * (hops * (lat + first * hopByte) + (blocks * (first + rest) - first) * perByte) +
         (net ? in->latInter : in->latIntra);
}

/* Per channel a share of the data (ReduceScatter: of each block). */
static acclResult_t chainBuild(acclPlan* plan, int t, const acclAlgoCtx* ctx) {
  const acclTask* task = &plan->tasks[t];
  const size_t esize = acclTypeSize(task->dtype);
  const int n = ctx->nranks;
  if (n == 1) { /* nothing to exchange: dst = f(src) */
    int lane;
    ACCLCHECK(acclPlanLane(plan, ACCL_LANE_KEY_CHANNEL(0), 0, &lane));
    uint8_t flags = (uint8_t)(acclTaskPreFlag(task) | acclTaskPostFlag(task));
    if (task->count == 0) return acclSuccess;
    acclStep s = acclStepFifo(t, task->count);
    s.srcBuf = ACCL_BUF_SEND;
    s.dstBuf = ACCL_BUF_RECV;
    s.flags = flags;
    return add(plan, lane, s);
  }
  const size_t bytes = task->count * esize * (task->func == ACCL_FUNC_REDUCESCATTER ? (size_t)n : 1);
  const int nch = acclAlgoChannels(ctx, bytes);
  for (int c = 0; c < nch; c++) {
    size_t off, cnt;
    acclPartition(task->count, nch, c, &off, &cnt);
    if (cnt == 0 && c > 0) continue;
    ACCLCHECK(acclBuildChain(plan, t, ctx->rank, n, c, off, cnt, ctx->halfFifo / esize));
  }
  return acclSuccess;
}

const acclAlgoInfo acclAlgoChain = {.name = "chain",
                                    .feasible = chainFeasible,
                                    .cost = chainCost,
                                    .byteCost = acclAlgoHopByteCost,
                                    .build = chainBuild};
