/* exec_peer.c - the plan steps that reach peers' buffers through the
 * transport's peer-memory interface (acclPeerMem): SYNC publishes this
 * rank's buffers and signature and waits for the peers', DIRECT reduces or
 * copies straight between buffers, LL pushes and reduces small payloads
 * through flagged 8-byte lines. */
#include <stdio.h>
#include <string.h>
#include "collectives/exec.h"
#include "collectives/signature.h"
#include "core/log.h"

static void* peerBuf(acclExec* x, const acclTask* task, int q, int bufId) {
  struct acclComm* comm = x->comm;
  if (q == comm->rank) return acclExecBuf(task, bufId);
  const acclPeerMem* pm = &comm->coll->net.peerMem;
  acclPeerSlot* slot = acclPeerMemSlot(pm, comm->rank, q);
  return acclPeerMemPtr(pm, q, bufId == ACCL_BUF_SEND ? slot->sendPtr : slot->recvPtr);
}

/* SYNC: publish ours once, then wait for every rank of the mask. */
acclLaneResult acclExecSyncStep(acclExec* x, laneState* ls, const acclStep* s) {
  struct acclComm* comm = x->comm;
  const acclPeerMem* pm = &comm->coll->net.peerMem;
  const acclTask* task = &x->plan->tasks[s->task];
  const int me = comm->rank;
  if (!ls->syncPublished) {
    for (int q = 0; q < comm->nranks; q++) {
      if (q == me || !(s->mask & (1ull << q))) continue;
      acclPeerSlot* slot = acclPeerMemSlot(pm, q, me);
      if (s->phase == ACCL_SYNC_ARRIVE) {
        if (slot->sigSeq != task->seq) acclSigPublishSlot(slot, task);
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
        return acclLaneFail(x, acclInvalidUsage);
      }
      int r = acclSigCompare(x->comm, task, &peer, q);
      if (r < 0) return acclLaneFail(x, (acclResult_t)-r);
    }
  }
  return ACCL_LANE_STEP_DONE;
}

acclLaneResult acclExecDirectStep(acclExec* x, const acclStep* s, int dev) {
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
  accError_t e = acclExecReduce(dev, task, in, nin, premulMask, (s->flags & ACCL_STEP_POSTDIV) ? x->comm->nranks : 0,
                                out, nout, s->count);
  if (e != accSuccess) {
    WARN("rank %d: device engine failed in a direct step: %s", x->comm->rank, accGetErrorString(e));
    return acclLaneFail(x, acclDeviceError);
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
acclLaneResult acclExecLLPushStep(acclExec* x, const acclStep* s, int dev) {
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
  const char* src = acclExecBuf(task, s->srcBuf);
  if (s->flags & ACCL_STEP_PREMUL) { /* scale once into the temp, then pack that */
    void* out[1] = {x->llTemp};
    const void* in[1] = {src};
    if (acclExecReduce(dev, task, in, 1, 1, 0, out, 1, s->count) != accSuccess) return acclLaneFail(x, acclDeviceError);
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
    if (accDevExec(dev, &d) != accSuccess) return acclLaneFail(x, acclDeviceError);
    accDevDoorbell((const void*)inbox);
  }
  cs->llLast[parity] = task->seq;
  return ACCL_LANE_STEP_DONE;
}

acclLaneResult acclExecLLReduceStep(acclExec* x, laneState* ls, const acclStep* s, int dev) {
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
    int r = acclSigCompare(x->comm, task, &peer, q);
    if (r < 0) return acclLaneFail(x, (acclResult_t)-r);
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
    if (accDevExec(dev, &d) != accSuccess) return acclLaneFail(x, acclDeviceError);
    in[nin] = d.u.ll.dst;
    nin++;
  }
  /* the inboxes are read: their writers may use them again */
  for (int q = 0; q < comm->nranks; q++)
    if (s->mask & (1ull << q))
      accDevSignal(&acclPeerMemSlot(&comm->coll->net.peerMem, q, comm->rank)->llAck, task->seq);
  uint32_t premulMask = 0;
  if (s->flags & ACCL_STEP_PREMUL) premulMask = 1u << nin;
  in[nin++] = acclExecBuf(task, s->srcBuf);
  void* out[1] = {acclExecBuf(task, s->dstBuf)};
  if (acclExecReduce(dev, task, in, nin, premulMask, (s->flags & ACCL_STEP_POSTDIV) ? comm->nranks : 0, out, 1,
                     s->count) != accSuccess)
    return acclLaneFail(x, acclDeviceError);
  return ACCL_LANE_STEP_DONE;
}

/* Advance one lane as far as possible: ACCL_LANE_MOVED (then blocked, or
 * at its end), ACCL_LANE_BLOCKED (nothing moved) or ACCL_LANE_FAILED. */
