/* enqueue.c - from calls to a launched plan: buffer residency and staging,
 * algorithm choice (tuning.c), steps from the algorithm table, reuse of the
 * last plan's steps, then the executor. */
#include <stdlib.h>
#include <string.h>
#include "collectives/coll.h"
#include "collectives/enqueue.h"
#include "collectives/tuning.h"
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
static acclResult_t taskBuffers(struct acclComm* comm, acclPlan* plan, acclTask* t) {
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
static void stageOverlaps(acclPlan* plan) {
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

static void tuneInput(struct acclComm* comm, const acclTask* t, acclTuneInput* in) {
  acclTuneBaseInput(comm, in);
  in->func = t->func;
  in->premulSum = t->sigOp == ACCL_SIG_OP_PREMUL;
  /* the call's largest buffer: AllGather / ReduceScatter / AllToAll move n blocks */
  int blocks = t->func == ACCL_FUNC_ALLGATHER || t->func == ACCL_FUNC_REDUCESCATTER || t->func == ACCL_FUNC_ALLTOALL;
  in->bytes = t->count * acclTypeSize(t->dtype) * (blocks ? (size_t)comm->nranks : 1);
}

static acclAlgoCtx algoCtx(struct acclComm* comm) {
  const struct acclCollState* cs = comm->coll;
  const struct acclTopoState* tp = comm->topo;
  acclAlgoCtx ctx = {.rank = comm->rank,
                     .nranks = comm->nranks,
                     .nChannels = cs->nChannels,
                     .p2pLane = cs->p2pLane,
                     .halfFifo = acclTransportHalfFifo(&cs->net),
                     .rings = tp && tp->nRings > 0 ? tp->rings : NULL,
                     .nRings = tp && tp->rings ? tp->nRings : 0,
                     .trees = tp && tp->nTrees >= 2 ? tp->trees : NULL,
                     .nTrees = tp && tp->nTrees >= 2 ? tp->nTrees : 2,
                     .nodeOf = comm->nodeOf,
                     .nNodes = comm->nNodes};
  return ctx;
}

/* Choose algorithm / protocol and add the task's steps (task already in plan). */
static acclResult_t planTask(struct acclComm* comm, acclPlan* plan, int ti) {
  acclTask* t = &plan->tasks[ti];
  struct acclCollState* cs = comm->coll;
  acclTuneInput in;
  tuneInput(comm, t, &in);
  /* the model's answer depends on the size and on PreMulSum only: remember
   * the last one per function */
  if (cs->lastTune[t->func].valid && cs->lastTune[t->func].bytes == in.bytes &&
      cs->lastTune[t->func].premulSum == in.premulSum) {
    t->algo = cs->lastTune[t->func].algo;
    t->proto = cs->lastTune[t->func].proto;
  } else {
    ACCLCHECK(acclTuneSelect(&in, cs->algoMask, cs->protoMask, &t->algo, &t->proto));
    cs->lastTune[t->func].bytes = in.bytes;
    cs->lastTune[t->func].premulSum = in.premulSum;
    cs->lastTune[t->func].algo = t->algo;
    cs->lastTune[t->func].proto = t->proto;
    cs->lastTune[t->func].valid = 1;
  }
  INFO(ACCL_TUNING, "%s: %zu Bytes -> Algo %s proto %s", acclFuncName(t->func), in.bytes, acclAlgoName(t->algo),
       acclProtoName(t->proto));
  const acclAlgoCtx ctx = algoCtx(comm);
  return acclAlgoGet(t->algo)->build(plan, ti, &ctx);
}

/* Same steps: everything the builders and the tuner's feasibility rules
 * read except the buffers (a PreMulSum may not reuse steps chosen for an
 * Avg, which pre-multiplies too but by the same scalar on every rank). */
static int sameSignature(const acclTask* a, const acclTask* b) {
  return a->func == b->func && a->count == b->count && a->dtype == b->dtype && a->premul == b->premul &&
         a->postDiv == b->postDiv && a->root == b->root && a->peer == b->peer &&
         (a->sigOp == ACCL_SIG_OP_PREMUL) == (b->sigOp == ACCL_SIG_OP_PREMUL);
}

static acclResult_t enqueueTasks(struct acclComm* comm, accStream_t stream, const acclTask* tasks, int ntasks) {
  acclPlan* plan = acclPlanGet(comm);
  if (!plan) ACCL_ERROR(acclSystemError, "rank %d: no memory for a plan", comm->rank);
  acclResult_t res = acclPlanReserveTasks(plan, ntasks);
  int reuse = ntasks == 1 && plan->sigValid && sameSignature(&plan->sig, &tasks[0]);
  plan->sigValid = 0;
  for (int i = 0; i < ntasks && res == acclSuccess; i++) {
    acclTask* t = &plan->tasks[plan->nTasks];
    *t = tasks[i];
    if (t->func == ACCL_FUNC_SEND && t->peer == comm->rank) continue; /* folded into the matching self recv */
    plan->nTasks++;
    if (!acclFuncIsP2P(t->func)) t->seq = ++comm->coll->seq;
    res = taskBuffers(comm, plan, t);
    if (res != acclSuccess) break;
    if (reuse) { /* the steps of the last call still stand */
      t->algo = plan->sig.algo;
      t->proto = plan->sig.proto;
      plan->nLanes = plan->sigLanes;
    } else {
      res = planTask(comm, plan, plan->nTasks - 1);
    }
  }
  if (res == acclSuccess && ntasks == 1 && plan->nTasks == 1) {
    if (!reuse) plan->sig = plan->tasks[0];
    plan->sigLanes = plan->nLanes;
    plan->sigValid = 1;
  }
  if (res != acclSuccess) {
    acclPlanPut(comm, plan);
    return res;
  }
  stageOverlaps(plan);
  return acclPlanLaunch(comm, plan, stream);
}

/* One communicator is driven by one thread at a time (NCCL forbids concurrent
 * calls on a communicator). Two threads here at once would share the plan
 * cache and the sequence numbers and pair calls differently on each rank:
 * the second one is refused instead of giving silently wrong results. */
acclResult_t acclEnqueueTasks(struct acclComm* comm, accStream_t stream, const acclTask* tasks, int ntasks) {
  if (__atomic_exchange_n(&comm->enqueueBusy, 1, __ATOMIC_ACQUIRE))
    ACCL_ERROR(acclInvalidUsage,
               "rank %d: communicator %p (%s) called from two threads at once; calls on one communicator must not "
               "be concurrent",
               comm->rank, (void*)comm, comm->name);
  acclResult_t res = enqueueTasks(comm, stream, tasks, ntasks);
  __atomic_store_n(&comm->enqueueBusy, 0, __ATOMIC_RELEASE);
  return res;
}
