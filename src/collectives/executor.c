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
#include "core/param.h"

typedef struct {
  int step;          /* current step in the lane */
  size_t slice;      /* next slice of the current step */
  int syncPublished; /* SYNC / LL: our part was written */
} laneState;

/* What one call of a step, or of a lane, achieved. */
typedef enum {
  ACCL_LANE_FAILED = -1,  /* an error, logged; acclExec.err says which */
  ACCL_LANE_BLOCKED = 0,  /* nothing moved: waits for a peer, a credit or an input */
  ACCL_LANE_MOVED = 1,    /* moved, and more of the step (or lane) remains */
  ACCL_LANE_STEP_DONE = 2 /* the step is complete: the lane goes on with the next */
} acclLaneResult;

typedef struct {
  acclPlan* plan;
  struct acclComm* comm;
  int stage;      /* 0 wait turn, 1 run */
  int sigChecked; /* sigFinal passed */
  laneState* lanes;
  int lanesCap;
  uint64_t lastProgressNs, lastCheckNs;
  void* llTemp; /* LL: unpacked inputs */
  size_t llTempBytes;
  acclConn** zcConns; /* connections with zero-copy sends this run (idle before the plan ends) */
  int nZc, capZc;
  acclResult_t err; /* why a step returned ACCL_LANE_FAILED */
} acclExec;

static acclLaneResult laneFail(acclExec* x, acclResult_t err) {
  x->err = err;
  return ACCL_LANE_FAILED;
}

enum { STAGE_TURN = 0, STAGE_RUN = 1 };

static char* bufBase(const acclTask* t, int id) {
  return id == ACCL_BUF_SEND ? (char*)t->sendDev : id == ACCL_BUF_RECV ? (char*)t->recvDev : NULL;
}

/* ---- call signatures (plan.h's acclSig): what the peers called */

/* Compare a peer's signature with ours. ACCL_CHECK_MISMATCH=0 leaves the
 * sizes only (a peer's count never decides how much this rank reads or
 * writes). Returns 0 when they agree, else -acclInvalidUsage with a WARN that
 * names both calls (the communicator's error text). */
static int sigCompare(acclExec* x, const acclTask* task, const acclSig* peer, int q) {
  acclSig mine = acclSigOf(task);
  if (x->comm->coll->checkMismatch) {
    if (acclSigEqual(&mine, peer)) return 0;
  } else {
    size_t peerBytes = peer->count * acclTypeSize((acclDataType_t)((peer->meta >> 8) & 0xff));
    if (peerBytes == mine.count * acclTypeSize(task->dtype)) return 0;
  }
  char a[160], b[160];
  const int recv = task->func == ACCL_FUNC_RECV;
  if (recv) mine.meta = (mine.meta & ~0xffull) | ACCL_FUNC_RECV; /* named as called */
  WARN("rank %d: mismatched calls: this rank called %s, rank %d called %s (%s)", x->comm->rank,
       acclSigText(&mine, a, sizeof(a)), q, acclSigText(peer, b, sizeof(b)),
       recv ? "a receive must match its send in count and datatype"
            : "every rank must make the same collective calls in the same order");
  return -acclInvalidUsage;
}

/* Publish the signature of `task` in a peer's slot (seq last, so that a
 * reader that sees the same seq before and after sees one signature). */
static void sigPublish1(acclPeerSlot* slot, const acclTask* task) {
  acclSig sg = acclSigOf(task);
  volatile uint64_t* h = slot->sigHist[sg.seq % ACCL_SIG_HIST];
  __atomic_store_n(&slot->sigSeq, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&h[0], 0, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  slot->sigCount = sg.count;
  slot->sigMeta = sg.meta;
  h[1] = sg.count;
  h[2] = sg.meta;
  __atomic_store_n(&h[0], sg.seq, __ATOMIC_RELEASE);
  __atomic_store_n(&slot->sigSeq, sg.seq, __ATOMIC_RELEASE);
}

/* ... in every mapped peer's slot: done when a plan starts, for its first
 * collective, so that a peer blocked in the same collective can compare, and
 * a peer that finished its part (sigFinal) waits for it. The peer's engine
 * may sleep in sigFinal: ring it. */
static void sigPublish(struct acclComm* comm, const acclTask* task) {
  const acclPeerMem* pm = &comm->coll->net.peerMem;
  for (int q = 0; q < comm->nranks; q++) {
    if (q == comm->rank) continue;
    acclPeerSlot* slot = acclPeerMemSlot(pm, q, comm->rank);
    sigPublish1(slot, task);
    accDevDoorbell((const void*)slot);
  }
}

/* The plan's published collective: its first (sigPublish), or NULL. */
static const acclTask* sigTask(const acclPlan* plan) {
  for (int t = 0; t < plan->nTasks; t++)
    if (!acclFuncIsP2P(plan->tasks[t].func)) return &plan->tasks[t];
  return NULL;
}

/* The signature peer q published last, in our memory (0: none, or being rewritten). */
static int sigRead(const acclPeerSlot* slot, acclSig* sg) {
  sg->seq = __atomic_load_n(&slot->sigSeq, __ATOMIC_ACQUIRE);
  sg->count = slot->sigCount;
  sg->meta = slot->sigMeta;
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  return sg->seq != 0 && __atomic_load_n(&slot->sigSeq, __ATOMIC_RELAXED) == sg->seq;
}

/* A blocked plan (every 100 ms): has a peer on this node started a
 * collective with one of our tasks' sequence numbers but another signature?
 * That catches mismatched calls that chose different algorithms (each rank
 * then waits for what the other never sends), and tells the ranks that wait
 * on a rank that found a mismatch. */
static int sigScan(acclExec* x) {
  struct acclComm* comm = x->comm;
  const acclPeerMem* pm = &comm->coll->net.peerMem;
  if (pm->ops == NULL || !comm->coll->checkMismatch) return 0;
  for (int q = 0; q < comm->nranks; q++) {
    if (q == comm->rank) continue;
    acclSig peer;
    if (!sigRead(acclPeerMemSlot(pm, comm->rank, q), &peer)) continue;
    for (int t = 0; t < x->plan->nTasks; t++) {
      const acclTask* task = &x->plan->tasks[t];
      if (task->seq != peer.seq || acclFuncIsP2P(task->func)) continue;
      int r = sigCompare(x, task, &peer, q);
      if (r < 0) return r;
    }
  }
  return 0;
}

/* A plan whose part is done, before it reports success: has every peer on
 * this node started the plan's collective with our signature? A rank may
 * finish without receiving anything from a peer that disagrees (a Broadcast
 * root, the upstream ranks of a chain, two ranks that both think they are
 * the root): it waits until each peer has published its signature for the
 * collective and compares it. Returns 1 when every peer agreed (or went past
 * the collective before its entry could be read), 0 while some peer has not
 * started it yet, -acclInvalidUsage on a mismatch. */
static int sigFinal(acclExec* x) {
  struct acclComm* comm = x->comm;
  const acclPeerMem* pm = &comm->coll->net.peerMem;
  const acclTask* task = sigTask(x->plan);
  if (pm->ops == NULL || task == NULL || !comm->coll->checkMismatch) return 1;
  for (int q = 0; q < comm->nranks; q++) {
    if (q == comm->rank) continue;
    const acclPeerSlot* slot = acclPeerMemSlot(pm, comm->rank, q);
    const volatile uint64_t* h = slot->sigHist[task->seq % ACCL_SIG_HIST];
    acclSig peer;
    peer.seq = __atomic_load_n(&h[0], __ATOMIC_ACQUIRE);
    peer.count = h[1];
    peer.meta = h[2];
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (peer.seq == task->seq && __atomic_load_n(&h[0], __ATOMIC_RELAXED) == peer.seq) {
      int r = sigCompare(x, task, &peer, q);
      if (r < 0) return r;
      continue;
    }
    if (peer.seq > task->seq) continue; /* ACCL_SIG_HIST collectives ahead */
    /* not yet (or being rewritten); a peer already past this collective
     * without publishing it (another grouping) cannot be compared */
    if (__atomic_load_n(&slot->sigSeq, __ATOMIC_ACQUIRE) > task->seq) continue;
    return 0;
  }
  return 1;
}

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
static accError_t runReduce(int dev, const acclTask* task, const void** in, int nin, uint32_t premulMask, int postDiv,
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
      int r = sigCompare(x, task, &peer, s->recvPeer[i]);
      if (r < 0) return laneFail(x, (acclResult_t)-r);
    }
    if (bytes != elems * esize) {
      WARN("rank %d: step from rank %d has %zu bytes, expected %zu (mismatched calls across ranks?)", comm->rank,
           s->recvPeer[i], bytes, elems * esize);
      return laneFail(x, acclInvalidUsage);
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
    in[nin++] = bufBase(task, s->srcBuf) + (s->srcOff + first) * esize;
  }
  if (s->dstBuf != ACCL_BUF_NONE) out[nout++] = bufBase(task, s->dstBuf) + (s->dstOff + first) * esize;
  accError_t e =
      runReduce(dev, task, in, nin, premulMask, (s->flags & ACCL_STEP_POSTDIV) ? comm->nranks : 0, out, nout, elems);
  if (e != accSuccess) {
    WARN("rank %d: device engine failed: %s", comm->rank, accGetErrorString(e));
    return laneFail(x, acclDeviceError);
  }
  const void* zcSrc = zeroCopy ? (s->dstBuf != ACCL_BUF_NONE ? (const void*)out[nout - 1] : in[nin - 1]) : NULL;
  acclSig sg = acclSigOf(task);
  const uint64_t sw[3] = {sg.seq, sg.count, sg.meta};
  for (int i = 0; i < nsc; i++) {
    acclConnSendSig(sc[i], sc[i]->step, sw);
    acclResult_t r = zeroCopy ? acclConnSendFrom(sc[i], sc[i]->step, zcSrc, elems * esize)
                              : acclConnSendPost(sc[i], sc[i]->step, elems * esize);
    if (r == acclSuccess && zeroCopy) r = noteZeroCopy(x, sc[i]);
    if (r != acclSuccess) return laneFail(x, r);
    sc[i]->step++;
  }
  for (int i = 0; i < nrc; i++) {
    acclResult_t r = acclConnRecvRelease(rc[i], rc[i]->step);
    if (r != acclSuccess) return laneFail(x, r);
    rc[i]->step++;
  }
  ls->slice++;
  return ACCL_LANE_MOVED;
}

static void* peerBuf(acclExec* x, const acclTask* task, int q, int bufId) {
  struct acclComm* comm = x->comm;
  if (q == comm->rank) return bufBase(task, bufId);
  const acclPeerMem* pm = &comm->coll->net.peerMem;
  acclPeerSlot* slot = acclPeerMemSlot(pm, comm->rank, q);
  return acclPeerMemPtr(pm, q, bufId == ACCL_BUF_SEND ? slot->sendPtr : slot->recvPtr);
}

/* SYNC: publish ours once, then wait for every rank of the mask. */
static acclLaneResult syncStep(acclExec* x, laneState* ls, const acclStep* s) {
  struct acclComm* comm = x->comm;
  const acclPeerMem* pm = &comm->coll->net.peerMem;
  const acclTask* task = &x->plan->tasks[s->task];
  const int me = comm->rank;
  if (!ls->syncPublished) {
    for (int q = 0; q < comm->nranks; q++) {
      if (q == me || !(s->mask & (1ull << q))) continue;
      acclPeerSlot* slot = acclPeerMemSlot(pm, q, me);
      if (s->phase == ACCL_SYNC_ARRIVE) {
        if (slot->sigSeq != task->seq) sigPublish1(slot, task);
        slot->sendPtr = (uint64_t)(uintptr_t)task->sendDev;
        slot->recvPtr = (uint64_t)(uintptr_t)task->recvDev;
        accDevSignal(&slot->arrive, task->seq);
      } else {
        accDevSignal(&slot->done, task->seq);
      }
    }
    ls->syncPublished = 1;
  }
  for (int q = 0; q < comm->nranks; q++) {
    if (q == me || !(s->mask & (1ull << q))) continue;
    acclPeerSlot* slot = acclPeerMemSlot(pm, me, q);
    uint64_t v = __atomic_load_n(s->phase == ACCL_SYNC_ARRIVE ? &slot->arrive : &slot->done, __ATOMIC_ACQUIRE);
    if (v < task->seq) return ACCL_LANE_BLOCKED;
    if (s->phase == ACCL_SYNC_ARRIVE) {
      /* its buffers are about to be read and written with our count: its
       * call must be ours; a peer already past this collective (a later
       * ARRIVE) made another call, whatever ACCL_CHECK_MISMATCH says */
      acclSig peer = {slot->sigSeq, slot->sigCount, slot->sigMeta};
      if (v != task->seq || peer.seq != task->seq) {
        char a[160];
        acclSig mine = acclSigOf(task);
        WARN("rank %d: mismatched calls: this rank called %s, rank %d is already in collective #%llu", me,
             acclSigText(&mine, a, sizeof(a)), q, (unsigned long long)v);
        return laneFail(x, acclInvalidUsage);
      }
      int r = sigCompare(x, task, &peer, q);
      if (r < 0) return laneFail(x, (acclResult_t)-r);
    }
  }
  return ACCL_LANE_STEP_DONE;
}

static acclLaneResult directStep(acclExec* x, const acclStep* s, int dev) {
  const acclTask* task = &x->plan->tasks[s->task];
  size_t esize = acclTypeSize(task->dtype);
  const void* in[ACCDEV_MAX_SRCS];
  void* out[64];
  int nin = 0, nout = 0;
  uint32_t premulMask = 0;
  for (int q = 0; q < x->comm->nranks; q++) {
    if (s->mask & (1ull << q)) {
      if (s->flags & ACCL_STEP_PREMUL) premulMask |= 1u << nin;
      in[nin++] = (char*)peerBuf(x, task, q, s->srcBuf) + s->srcOff * esize;
    }
    if (s->dstMask & (1ull << q)) out[nout++] = (char*)peerBuf(x, task, q, s->dstBuf) + s->dstOff * esize;
  }
  accError_t e = runReduce(dev, task, in, nin, premulMask, (s->flags & ACCL_STEP_POSTDIV) ? x->comm->nranks : 0, out,
                           nout, s->count);
  if (e != accSuccess) {
    WARN("rank %d: device engine failed in a direct step: %s", x->comm->rank, accGetErrorString(e));
    return laneFail(x, acclDeviceError);
  }
  return ACCL_LANE_STEP_DONE;
}

/* An LL inbox: LL_SIG_LINES header lines (the writer's acclSig), then data lines. */
#define LL_SIG_LINES 6
#define LL_DATA_LINE0 (ACCL_LL_HEADER_BYTES / 8)

/* LL lines: 4 data bytes in the low half, the collective's flag in the high half.
 * Inbox parity seq & 1 of each peer; before it is written again, the peer
 * must have read what we wrote there last (its llAck in our slot), whatever
 * collectives ran in between: a rank that runs ahead (a Broadcast root, a
 * Send) never overwrites lines a peer has not read. */
static acclLaneResult llPushStep(acclExec* x, const acclStep* s, int dev) {
  struct acclComm* comm = x->comm;
  struct acclCollState* cs = comm->coll;
  const acclTask* task = &x->plan->tasks[s->task];
  const int parity = (int)(task->seq & 1);
  const uint64_t prev = cs->llLast[parity];
  if (prev != 0) {
    const acclPeerMem* pm = &cs->net.peerMem;
    for (int q = 0; q < comm->nranks; q++) {
      if (!(s->mask & (1ull << q))) continue;
      if (__atomic_load_n(&acclPeerMemSlot(pm, comm->rank, q)->llAck, __ATOMIC_ACQUIRE) < prev)
        return ACCL_LANE_BLOCKED;
    }
  }
  size_t bytes = s->count * acclTypeSize(task->dtype);
  const char* src = bufBase(task, s->srcBuf);
  if (s->flags & ACCL_STEP_PREMUL) { /* scale once into the temp, then pack that */
    void* out[1] = {x->llTemp};
    const void* in[1] = {src};
    if (runReduce(dev, task, in, 1, 1, 0, out, 1, s->count) != accSuccess) return laneFail(x, acclDeviceError);
    src = x->llTemp;
  }
  accDevDesc d;
  d.type = ACCDEV_DESC_LL_PACK;
  d.u.ll.dst = NULL;
  d.u.ll.src = src;
  d.u.ll.bytes = bytes;
  d.u.ll.flag = (uint32_t)task->seq;
  /* header lines: our call's signature, 4 bytes per line, same flag */
  acclSig sg = acclSigOf(task);
  const uint64_t sw[3] = {sg.seq, sg.count, sg.meta};
  uint64_t head[LL_SIG_LINES];
  for (int i = 0; i < LL_SIG_LINES; i++)
    head[i] = ((uint64_t)d.u.ll.flag << 32) | (uint32_t)(sw[i / 2] >> (32 * (i & 1)));
  for (int q = 0; q < comm->nranks; q++) {
    if (!(s->mask & (1ull << q))) continue;
    uint64_t* inbox = acclPeerMemLLInbox(&cs->net.peerMem, q, comm->rank, parity);
    for (int i = 0; i < LL_SIG_LINES; i++) __atomic_store_n(&inbox[i], head[i], __ATOMIC_RELAXED);
    d.u.ll.lines = inbox + LL_DATA_LINE0;
    if (accDevExec(dev, &d) != accSuccess) return laneFail(x, acclDeviceError);
    accDevDoorbell((const void*)inbox);
  }
  cs->llLast[parity] = task->seq;
  return ACCL_LANE_STEP_DONE;
}

static acclLaneResult llReduceStep(acclExec* x, laneState* ls, const acclStep* s, int dev) {
  struct acclComm* comm = x->comm;
  const acclTask* task = &x->plan->tasks[s->task];
  size_t bytes = s->count * acclTypeSize(task->dtype);
  size_t nlines = ACCL_DIV_UP(bytes, 4);
  uint32_t flag = (uint32_t)task->seq;
  /* ls->slice counts ranks whose lines have all arrived, in rank order */
  int seen = 0;
  for (int q = 0; q < comm->nranks; q++) {
    if (!(s->mask & (1ull << q))) continue;
    if (seen++ < (int)ls->slice) continue;
    const volatile uint64_t* inbox = acclPeerMemLLInbox(&comm->coll->net.peerMem, comm->rank, q, (int)(task->seq & 1));
    /* the writer's signature first: a peer with a smaller count never
     * writes the lines we would wait for */
    uint64_t head[LL_SIG_LINES];
    for (int i = LL_SIG_LINES; i-- > 0;) {
      head[i] = __atomic_load_n(&inbox[i], __ATOMIC_ACQUIRE);
      if ((uint32_t)(head[i] >> 32) != flag) return ACCL_LANE_BLOCKED;
    }
    acclSig peer;
    peer.seq = (head[0] & 0xffffffffu) | (head[1] << 32);
    peer.count = (head[2] & 0xffffffffu) | (head[3] << 32);
    peer.meta = (head[4] & 0xffffffffu) | (head[5] << 32);
    int r = sigCompare(x, task, &peer, q);
    if (r < 0) return laneFail(x, (acclResult_t)-r);
    const volatile uint64_t* lines = inbox + LL_DATA_LINE0;
    for (size_t i = nlines; i-- > 0;)
      if ((uint32_t)(lines[i] >> 32) != flag) return ACCL_LANE_BLOCKED;
    ls->slice++;
  }
  const void* in[ACCDEV_MAX_SRCS];
  int nin = 0;
  size_t stride = ACCL_ALIGN_UP(bytes, 64);
  accDevDesc d;
  d.type = ACCDEV_DESC_LL_UNPACK;
  d.u.ll.src = NULL;
  d.u.ll.bytes = bytes;
  d.u.ll.flag = flag;
  for (int q = 0; q < comm->nranks; q++) {
    if (!(s->mask & (1ull << q))) continue;
    d.u.ll.lines = acclPeerMemLLInbox(&comm->coll->net.peerMem, comm->rank, q, (int)(task->seq & 1)) + LL_DATA_LINE0;
    d.u.ll.dst = (char*)x->llTemp + stride * (size_t)(nin + 1);
    if (accDevExec(dev, &d) != accSuccess) return laneFail(x, acclDeviceError);
    in[nin] = d.u.ll.dst;
    nin++;
  }
  /* the inboxes are read: their writers may use them again */
  for (int q = 0; q < comm->nranks; q++)
    if (s->mask & (1ull << q))
      accDevSignal(&acclPeerMemSlot(&comm->coll->net.peerMem, q, comm->rank)->llAck, task->seq);
  uint32_t premulMask = 0;
  if (s->flags & ACCL_STEP_PREMUL) premulMask = 1u << nin;
  in[nin++] = bufBase(task, s->srcBuf);
  void* out[1] = {bufBase(task, s->dstBuf)};
  if (runReduce(dev, task, in, nin, premulMask, (s->flags & ACCL_STEP_POSTDIV) ? comm->nranks : 0, out, 1, s->count) !=
      accSuccess)
    return laneFail(x, acclDeviceError);
  return ACCL_LANE_STEP_DONE;
}

/* Advance one lane as far as possible: ACCL_LANE_MOVED (then blocked, or
 * at its end), ACCL_LANE_BLOCKED (nothing moved) or ACCL_LANE_FAILED. */
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
      case ACCL_STEP_SYNC: r = syncStep(x, ls, s); break;
      case ACCL_STEP_DIRECT: r = directStep(x, s, dev); break;
      case ACCL_STEP_LLPUSH: r = llPushStep(x, s, dev); break;
      case ACCL_STEP_LLREDUCE: r = llReduceStep(x, ls, s, dev); break;
      default:
        WARN("rank %d: plan step of unknown kind %d", x->comm->rank, (int)s->kind);
        r = laneFail(x, acclInternalError);
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
  int mm = sigScan(x);
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
    /* published whatever ACCL_CHECK_MISMATCH says here: a peer's sigFinal may wait for it */
    const acclTask* st = sigTask(x->plan);
    if (cs->net.peerMem.ops != NULL && st != NULL) sigPublish(comm, st);
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
    int r = sigFinal(x);
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
