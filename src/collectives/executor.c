/*
 * executor.c - runs a plan on the device as a resumable PROGRAM descriptor.
 *
 * The engine (or, for small plans on an idle stream, the calling thread)
 * calls execStep() until it returns ACCDEV_DONE. Each call advances every
 * lane as far as its inputs and credits allow and returns ACCDEV_MOVED (it
 * moved, then blocked) or ACCDEV_AGAIN (nothing could move); the engine then backs off (spin, yield, sleep on the
 * doorbell that peers ring). All data movement is issued to the device's
 * DMA and reduction engines through accDevExec.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collectives/algorithm.h"
#include "collectives/coll.h"
#include "collectives/redop.h"
#include "collectives/signature.h"
#include "core/param.h"

#include "collectives/exec.h"

enum { STAGE_TURN = 0, STAGE_RUN = 1 };

/* One DMA copy on the device's engines. */
static accError_t execCopy(int dev, void* dst, const void* src, size_t bytes) {
  accDevDesc d;
  d.type = ACCDEV_DESC_COPY;
  d.u.copy.dst = dst;
  d.u.copy.src = src;
  d.u.copy.bytes = bytes;
  return accDevExec(dev, &d);
}

/* out = reduce(in...) into up to 3 outputs, through the device engines. */
accError_t acclExecReduce(int dev, const acclTask* task, const void** in, int nin, uint32_t premulMask, int postDiv,
                          void** out, int nout, size_t count) {
  size_t esize = acclTypeSize(task->dtype);
  if (count == 0 || nout == 0) return accSuccess;
  /* a plain copy to one output is a DMA copy; to two or more, one pass of
   * the reduction engine reads the input once and writes both */
  if (nin == 1 && premulMask == 0 && !postDiv && (nout == 1 || out[0] == in[0] || out[1] == in[0])) {
    for (int o = 0; o < nout; o++) {
      if (out[o] == in[0]) continue;
      accError_t e = execCopy(dev, out[o], in[0], count * esize);
      if (e != accSuccess) return e;
    }
    return accSuccess;
  }
  accDevDesc d; /* only the fields the engine reads are set: src[nsrc..] stay unused */
  d.type = ACCDEV_DESC_REDUCE;
  d.u.reduce.ndst = nout > 2 ? 2 : nout;
  for (int o = 0; o < d.u.reduce.ndst; o++) d.u.reduce.dst[o] = out[o];
  d.u.reduce.nsrc = nin;
  for (int i = 0; i < nin; i++) d.u.reduce.src[i] = in[i];
  d.u.reduce.count = count;
  d.u.reduce.dtype = task->dtype;
  d.u.reduce.op = task->op;
  d.u.reduce.premulMask = premulMask;
  d.u.reduce.scalar = task->scalar;
  d.u.reduce.postDiv = postDiv ? (uint64_t)postDiv : 0;
  accError_t e = accDevExec(dev, &d);
  for (int o = 2; o < nout && e == accSuccess; o++) e = execCopy(dev, out[o], out[0], count * esize);
  return e;
}

/* A connection that carried zero-copy sends in this run: the plan may not
 * end (and its buffers change hands) before they complete. */
static acclResult_t noteZeroCopy(acclExec* x, acclConn* c) {
  for (int i = 0; i < x->nZc; i++)
    if (x->zcConns[i] == c) return acclSuccess;
  if (x->nZc == x->capZc) {
    int cap = x->capZc ? 2 * x->capZc : 8;
    acclConn** nc = realloc(x->zcConns, sizeof(acclConn*) * (size_t)cap);
    if (nc == NULL) ACCL_ERROR(acclSystemError, "rank %d: out of memory tracking zero-copy sends", x->comm->rank);
    x->zcConns = nc;
    x->capZc = cap;
  }
  x->zcConns[x->nZc++] = c;
  return acclSuccess;
}

/* One slice of a FIFO step: ACCL_LANE_MOVED, BLOCKED or FAILED. */
static acclLaneResult fifoSlice(acclExec* x, const acclLane* lane, laneState* ls, const acclStep* s, int dev) {
  struct acclComm* comm = x->comm;
  acclConnTable* ct = &comm->coll->conns;
  const acclTask* task = &x->plan->tasks[s->task];
  size_t esize = acclTypeSize(task->dtype);
  size_t sliceElems = ct->nLanes ? ct->send[0].slotBytes / esize : 0;
  if (sliceElems == 0) sliceElems = s->count;
  size_t first = ls->slice * sliceElems;
  size_t elems = ACCL_MIN(sliceElems, s->count - first);
  const void* in[4];
  void* out[4];
  acclConn* rc[2];
  acclConn* sc[2];
  int nin = 0, nout = 0, nrc = 0, nsc = 0;
  uint32_t premulMask = 0;
  for (int i = 0; i < 2; i++) {
    if (s->recvPeer[i] < 0) continue;
    acclConn* c = acclConnRecv(ct, lane->connLane, s->recvPeer[i]);
    size_t bytes;
    const void* b = acclConnRecvBuf(c, c->step, &bytes);
    if (b == NULL) return ACCL_LANE_BLOCKED;
    uint64_t w[3];
    if (acclConnRecvSig(c, c->step, w)) {
      acclSig peer = {w[0], w[1], w[2]};
      int r = acclSigCompare(x->comm, task, &peer, s->recvPeer[i]);
      if (r < 0) return acclLaneFail(x, (acclResult_t)-r);
    }
    if (bytes != elems * esize) {
      WARN("rank %d: step from rank %d has %zu bytes, expected %zu (mismatched calls across ranks?)", comm->rank,
           s->recvPeer[i], bytes, elems * esize);
      return acclLaneFail(x, acclInvalidUsage);
    }
    rc[nrc++] = c;
    in[nin++] = b;
  }
  /* zero copy: send from the step's output in dst, or from its only input */
  int zeroCopy = (s->flags & ACCL_STEP_ZCOPY) && s->sendPeer[0] >= 0 &&
                 (s->dstBuf != ACCL_BUF_NONE || (nrc == 0 && !(s->flags & ACCL_STEP_PREMUL)));
  for (int i = 0; i < 2; i++) {
    if (s->sendPeer[i] < 0) continue;
    acclConn* c = acclConnSend(ct, lane->connLane, s->sendPeer[i]);
    void* b = acclConnSendBuf(c, c->step);
    if (b == NULL) return ACCL_LANE_BLOCKED;
    if (!acclConnCanSendFrom(c)) zeroCopy = 0;
    sc[nsc++] = c;
    out[nout++] = b;
  }
  if (zeroCopy) nout = 0; /* the step buffers stay unused */
  if (s->srcBuf != ACCL_BUF_NONE) {
    if (s->flags & ACCL_STEP_PREMUL) premulMask |= 1u << nin;
    in[nin++] = acclExecBuf(task, s->srcBuf) + (s->srcOff + first) * esize;
  }
  if (s->dstBuf != ACCL_BUF_NONE) out[nout++] = acclExecBuf(task, s->dstBuf) + (s->dstOff + first) * esize;
  accError_t e = acclExecReduce(dev, task, in, nin, premulMask, (s->flags & ACCL_STEP_POSTDIV) ? comm->nranks : 0, out,
                                nout, elems);
  if (e != accSuccess) {
    WARN("rank %d: device engine failed: %s", comm->rank, accGetErrorString(e));
    return acclLaneFail(x, acclDeviceError);
  }
  const void* zcSrc = zeroCopy ? (s->dstBuf != ACCL_BUF_NONE ? (const void*)out[nout - 1] : in[nin - 1]) : NULL;
  acclSig sg = acclSigOf(task);
  const uint64_t sw[3] = {sg.seq, sg.count, sg.meta};
  for (int i = 0; i < nsc; i++) {
    acclConnSendSig(sc[i], sc[i]->step, sw);
    acclResult_t r = zeroCopy ? acclConnSendFrom(sc[i], sc[i]->step, zcSrc, elems * esize)
                              : acclConnSendPost(sc[i], sc[i]->step, elems * esize);
    if (r == acclSuccess && zeroCopy) r = noteZeroCopy(x, sc[i]);
    if (r != acclSuccess) return acclLaneFail(x, r);
    sc[i]->step++;
  }
  for (int i = 0; i < nrc; i++) {
    acclResult_t r = acclConnRecvRelease(rc[i], rc[i]->step);
    if (r != acclSuccess) return acclLaneFail(x, r);
    rc[i]->step++;
  }
  ls->slice++;
  return ACCL_LANE_MOVED;
}

static acclLaneResult runLane(acclExec* x, int li, int dev) {
  const acclLane* lane = &x->plan->lanes[li];
  laneState* ls = &x->lanes[li];
  int moved = 0;
  while (ls->step < lane->nSteps) {
    const acclStep* s = &lane->steps[ls->step];
    acclLaneResult r;
    switch (s->kind) {
      case ACCL_STEP_FIFO: {
        const acclTask* task = &x->plan->tasks[s->task];
        size_t esize = acclTypeSize(task->dtype);
        size_t sliceElems = x->comm->coll->conns.send[0].slotBytes / esize;
        size_t nslices = s->count ? ACCL_DIV_UP(s->count, sliceElems) : 0;
        if (ls->slice >= nslices) {
          r = ACCL_LANE_STEP_DONE;
          break;
        }
        r = fifoSlice(x, lane, ls, s, dev);
        if (r == ACCL_LANE_MOVED && ls->slice < nslices) {
          moved = 1;
          continue;
        }
        if (r == ACCL_LANE_MOVED) r = ACCL_LANE_STEP_DONE;
        break;
      }
      case ACCL_STEP_SYNC: r = acclExecSyncStep(x, ls, s); break;
      case ACCL_STEP_DIRECT: r = acclExecDirectStep(x, s, dev); break;
      case ACCL_STEP_LLPUSH: r = acclExecLLPushStep(x, s, dev); break;
      case ACCL_STEP_LLREDUCE: r = acclExecLLReduceStep(x, ls, s, dev); break;
      default:
        WARN("rank %d: plan step of unknown kind %d", x->comm->rank, (int)s->kind);
        r = acclLaneFail(x, acclInternalError);
    }
    if (r == ACCL_LANE_FAILED) return r;
    if (r == ACCL_LANE_BLOCKED) return moved ? ACCL_LANE_MOVED : ACCL_LANE_BLOCKED;
    /* step finished */
    ls->step++;
    ls->slice = 0;
    ls->syncPublished = 0;
    moved = 1;
  }
  return moved ? ACCL_LANE_MOVED : ACCL_LANE_BLOCKED;
}

/* Nothing moved: a mismatched peer, a failed peer or ACCL_TIMEOUT ends the plan. */
static acclResult_t checkHealth(acclExec* x) {
  struct acclComm* comm = x->comm;
  uint64_t now = acclClockNs();
  if (x->lastProgressNs == 0) { /* just blocked: start the clocks */
    x->lastProgressNs = x->lastCheckNs = now;
    return acclSuccess;
  }
  if (now - x->lastCheckNs < 100000000ull) return acclSuccess;
  x->lastCheckNs = now;
  int mm = acclSigScan(x->comm, x->plan);
  if (mm < 0) return (acclResult_t)-mm;
  int dead = acclTransportsFailedPeer(&comm->coll->net);
  if (dead < 0) dead = acclCommDeadLocalPeer(comm);            /* whatever transport serves the peer */
  if (dead < 0) dead = acclBootstrapLostPeer(comm->bootstrap); /* other nodes, and aborted ranks */
  if (dead >= 0) {
    acclBootstrapReportLost(comm->bootstrap, dead); /* so that every rank names the same one */
    WARN("rank %d: peer rank %d (pid %d) failed during a collective", comm->rank, dead, comm->peerInfo[dead].pid);
    return acclRemoteError;
  }
  uint64_t timeout = comm->coll->timeoutNs;
  if (timeout > 0 && now - x->lastProgressNs > timeout) {
    WARN("rank %d: collective made no progress for %.0f s (ACCL_TIMEOUT)", comm->rank, timeout / 1e9);
    return acclTimeout;
  }
  return acclSuccess;
}

/* The plan's turn has come: no other plan of the communicator runs now, so
 * the communicator's staging area is ours; grow it if needed (kept across
 * calls: fresh device pages cost a fault each) and bind the staged buffers. */
static acclResult_t bindStaging(struct acclComm* comm, acclPlan* plan) {
  struct acclCollState* cs = comm->coll;
  if (cs->stageCap < plan->stageBytes) {
    char* grown = NULL;
    int cur = -1;
    accGetDevice(&cur);
    if (cur != comm->device) accSetDevice(comm->device);
    accError_t e = accMalloc((void**)&grown, plan->stageBytes);
    if (cur != comm->device && cur >= 0) accSetDevice(cur);
    if (e != accSuccess) {
      WARN("rank %d: cannot allocate %zu bytes of device memory to stage buffers: %s", comm->rank, plan->stageBytes,
           accGetErrorString(e));
      return acclDeviceError;
    }
    if (cs->stageBuf) accFree(cs->stageBuf);
    cs->stageBuf = grown;
    cs->stageCap = plan->stageBytes;
  }
  for (int t = 0; t < plan->nTasks; t++) {
    acclTask* task = &plan->tasks[t];
    if (task->stageRecv) task->recvDev = cs->stageBuf + task->stageRecvOff;
    if (task->stageSend) task->sendDev = cs->stageBuf + task->stageSendOff;
  }
  return acclSuccess;
}

static int execStepBody(void* arg, int dev) {
  acclExec* x = arg;
  struct acclComm* comm = x->comm;
  struct acclCollState* cs = comm->coll;
  if (__atomic_load_n(&comm->abortFlag, __ATOMIC_ACQUIRE)) return -acclInvalidUsage;
  int asyncError = __atomic_load_n(&comm->asyncError, __ATOMIC_ACQUIRE);
  if (asyncError != acclSuccess) return -asyncError;
  if (x->stage == STAGE_TURN) {
    uint64_t turn = __atomic_load_n(&cs->execTicket, __ATOMIC_ACQUIRE);
    if (turn < x->plan->ticket) return ACCDEV_AGAIN;
    if (turn > x->plan->ticket) return -acclRemoteError; /* an earlier plan failed */
    if (x->plan->stageBytes) {
      acclResult_t r = bindStaging(comm, x->plan);
      if (r != acclSuccess) return -(int)r;
    }
    for (int t = 0; t < x->plan->nTasks; t++) {
      acclTask* task = &x->plan->tasks[t];
      if (task->scalarDev) { /* PreMulSum with a device scalar: read it now, in stream order */
        double v = 0;
        if (execCopy(dev, &v, task->scalarDev, acclTypeSize(task->dtype)) != accSuccess) return -acclDeviceError;
        task->scalar = acclScalarFromBytes(task->dtype, &v);
      }
      if (task->stageSend && task->sendBytes &&
          execCopy(dev, task->sendDev, task->sendbuff, task->sendBytes) != accSuccess)
        return -acclDeviceError;
    }
    /* published whatever ACCL_CHECK_MISMATCH says here: a peer's acclSigFinal may wait for it */
    const acclTask* st = acclSigTask(x->plan);
    if (cs->net.peerMem.ops != NULL && st != NULL) acclSigPublish(comm, st);
    x->stage = STAGE_RUN;
  }
  int done, anyMoved = 0; /* ACCDEV_MOVED keeps a polling engine awake */
  for (;;) {
    int moved = 0;
    done = 1;
    for (int i = 0; i < x->plan->nLanes; i++) {
      if (x->lanes[i].step >= x->plan->lanes[i].nSteps) continue;
      acclLaneResult r = runLane(x, i, dev);
      if (r == ACCL_LANE_FAILED) return -(int)x->err;
      if (r == ACCL_LANE_MOVED) moved = 1;
      if (x->lanes[i].step < x->plan->lanes[i].nSteps) done = 0;
    }
    if (done) break;
    if (!moved) {
      acclResult_t h = checkHealth(x);
      return h != acclSuccess ? -(int)h : anyMoved ? ACCDEV_MOVED : ACCDEV_AGAIN;
    }
    anyMoved = 1;
    x->lastProgressNs = 0; /* progress: the clock restarts when it next blocks */
  }
  /* zero-copy sends read the user's (or staging) memory until they complete */
  while (x->nZc > 0) {
    acclConn* c = x->zcConns[x->nZc - 1];
    if (!acclConnSendIdle(c)) {
      acclResult_t h = checkHealth(x);
      return h != acclSuccess ? -(int)h : anyMoved ? ACCDEV_MOVED : ACCDEV_AGAIN;
    }
    x->nZc--;
  }
  if (!x->sigChecked) {
    int r = acclSigFinal(x->comm, x->plan);
    if (r == 0) {
      acclResult_t h = checkHealth(x);
      return h != acclSuccess ? -(int)h : anyMoved ? ACCDEV_MOVED : ACCDEV_AGAIN;
    }
    if (r < 0) return r;
    x->sigChecked = 1;
  }
  for (int t = 0; t < x->plan->nTasks; t++) {
    acclTask* task = &x->plan->tasks[t];
    if (task->stageRecv && task->recvBytes &&
        execCopy(dev, task->recvbuff, task->recvDev, task->recvBytes) != accSuccess)
      return -acclDeviceError;
  }
  __atomic_store_n(&cs->execTicket, x->plan->ticket + 1, __ATOMIC_SEQ_CST);
  /* a later plan of this comm may wait for its turn on another stream */
  if (__atomic_load_n(&cs->nextTicket, __ATOMIC_SEQ_CST) > x->plan->ticket + 1)
    accDevDoorbell((const void*)(uintptr_t)comm->peerInfo[comm->rank].window.base);
  return ACCDEV_DONE;
}

/* A failure is recorded at once, with the text of the WARN that named it,
 * before the device layer reports the stream's failure on top of it. */
static int execStep(void* arg, int dev) {
  int r = execStepBody(arg, dev);
  if (r < 0) {
    acclExec* x = arg;
    if (__atomic_load_n(&x->comm->abortFlag, __ATOMIC_ACQUIRE))
      acclSetLastError("rank %d: collective #%llu abandoned: the communicator was aborted", x->comm->rank,
                       (unsigned long long)x->plan->ticket);
    acclCommSetAsyncError(x->comm, (acclResult_t)(-r));
  }
  return r;
}

static void execFini(void* arg, int status) {
  acclExec* x = arg;
  struct acclComm* comm = x->comm;
  if (status != ACCDEV_DONE) {
    acclResult_t err = status < 0 ? (acclResult_t)(-status) : acclInternalError;
    acclCommSetAsyncError(comm, err); /* recorded already unless the step never failed itself */
    /* let later plans of this communicator fail fast instead of waiting for their turn */
    uint64_t want = x->plan->ticket + 1, cur = __atomic_load_n(&comm->coll->execTicket, __ATOMIC_ACQUIRE);
    while (cur < want &&
           !__atomic_compare_exchange_n(&comm->coll->execTicket, &cur, want, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {}
  }
  struct acclCollState* cs = comm->coll;
  acclPlanPut(comm, x->plan);
  __atomic_sub_fetch(&cs->plansLive, 1, __ATOMIC_RELEASE); /* last touch of the comm */
}

static void execFree(void* arg) {
  acclExec* x = arg;
  free(x->zcConns);
  free(x->lanes);
  free(x->llTemp);
  free(x);
}

acclPlan* acclPlanGet(struct acclComm* comm) {
  acclPlan* p = NULL;
  for (int i = 0; i < ACCL_PLAN_CACHE && p == NULL; i++)
    if (__atomic_load_n(&comm->coll->planCache[i], __ATOMIC_RELAXED))
      p = __atomic_exchange_n(&comm->coll->planCache[i], NULL, __ATOMIC_ACQ_REL);
  if (p == NULL) p = calloc(1, sizeof(*p));
  if (p == NULL) return NULL;
  acclPlanReset(p);
  p->comm = comm;
  return p;
}

void acclPlanPut(struct acclComm* comm, acclPlan* p) {
  acclPlanReset(p);
  for (int i = 0; i < ACCL_PLAN_CACHE; i++) {
    acclPlan* none = NULL;
    if (__atomic_compare_exchange_n(&comm->coll->planCache[i], &none, p, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return;
  }
  acclPlanFree(p);
}

/* The plan's executor state, grown to fit and reset. */
static acclExec* execPrepare(struct acclComm* comm, acclPlan* plan, size_t llBytes) {
  acclExec* x = plan->exec;
  if (x == NULL) {
    x = calloc(1, sizeof(*x));
    if (x == NULL) return NULL;
    plan->exec = x;
    plan->execFree = execFree;
  }
  if (x->lanesCap < plan->nLanes || x->lanes == NULL) {
    int cap = plan->nLanes > 4 ? plan->nLanes : 4;
    laneState* nl = realloc(x->lanes, sizeof(laneState) * (size_t)cap);
    if (nl == NULL) return NULL;
    x->lanes = nl;
    x->lanesCap = cap;
  }
  memset(x->lanes, 0, sizeof(laneState) * (size_t)plan->nLanes);
  if (llBytes > x->llTempBytes) {
    free(x->llTemp);
    x->llTemp = aligned_alloc(64, ACCL_ALIGN_UP(llBytes, 64));
    x->llTempBytes = x->llTemp ? llBytes : 0;
    if (x->llTemp == NULL) return NULL;
  }
  x->plan = plan;
  x->comm = comm;
  x->stage = STAGE_TURN;
  x->sigChecked = 0;
  x->lastProgressNs = x->lastCheckNs = 0;
  x->nZc = 0;
  return x;
}

acclResult_t acclPlanLaunch(struct acclComm* comm, acclPlan* plan, accStream_t stream) {
  size_t llBytes = 0, totalBytes = 0;
  for (int t = 0; t < plan->nTasks; t++) {
    const acclTask* task = &plan->tasks[t];
    totalBytes += task->count * acclTypeSize(task->dtype);
    if (task->proto == ACCL_PROTO_LL && task->algo == ACCL_ALGO_DIRECT)
      llBytes =
          ACCL_MAX(llBytes, ACCL_ALIGN_UP(task->count * acclTypeSize(task->dtype), 64) * (size_t)(comm->nranks + 1));
  }
  acclExec* x = execPrepare(comm, plan, llBytes);
  if (x == NULL) {
    acclPlanPut(comm, plan);
    return acclSystemError;
  }
  __atomic_add_fetch(&comm->coll->plansLive, 1, __ATOMIC_ACQ_REL);
  plan->ticket = __atomic_fetch_add(&comm->coll->nextTicket, 1, __ATOMIC_SEQ_CST);
  accDevDesc d;
  d.type = ACCDEV_DESC_PROGRAM;
  d.u.program.fn = execStep;
  d.u.program.fini = execFini;
  d.u.program.arg = x;
  d.u.program.spinNs = comm->coll->net.network ? comm->coll->netSpinNs : 0;
  d.u.program.pollNs = comm->coll->net.network ? comm->coll->netPollNs : 0;
  unsigned flags = totalBytes <= (size_t)comm->coll->inlineMaxBytes ? ACCDEV_SUBMIT_INLINE : 0;
  accError_t e = accDevSubmit(stream, &d, flags);
  if (e != accSuccess) {
    WARN("rank %d: cannot enqueue on the stream: %s", comm->rank, accGetErrorString(e));
    /* the ticket was taken: fail it so later plans do not wait for it */
    execFini(x, -acclDeviceError);
    return e == accErrorInvalidResourceHandle ? acclInvalidArgument : acclDeviceError;
  }
  return acclSuccess;
}
