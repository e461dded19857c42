/* signature.c - publish, read and compare call signatures through the
 * peers' slots of the peer-memory interface (see signature.h). */
#include <stdio.h>
#include "collectives/algorithm.h"
#include "collectives/signature.h"
#include "core/log.h"

/* Compare a peer's signature with ours. ACCL_CHECK_MISMATCH=0 leaves the
 * sizes only (a peer's count never decides how much this rank reads or
 * writes). Returns 0 when they agree, else -acclInvalidUsage with a WARN that
 * names both calls (the communicator's error text). */
int acclSigCompare(struct acclComm* comm, const acclTask* task, const acclSig* peer, int q) {
  acclSig mine = acclSigOf(task);
  if (comm->coll->checkMismatch) {
    if (acclSigEqual(&mine, peer)) return 0;
  } else {
    size_t peerBytes = peer->count * acclTypeSize((acclDataType_t)((peer->meta >> 8) & 0xff));
    if (peerBytes == mine.count * acclTypeSize(task->dtype)) return 0;
  }
  char a[160], b[160];
  const int recv = task->func == ACCL_FUNC_RECV;
  if (recv) mine.meta = (mine.meta & ~0xffull) | ACCL_FUNC_RECV; /* named as called */
  WARN("rank %d: mismatched calls: this rank called %s, rank %d called %s (%s)", comm->rank,
       acclSigText(&mine, a, sizeof(a)), q, acclSigText(peer, b, sizeof(b)),
       recv ? "a receive must match its send in count and datatype"
            : "every rank must make the same collective calls in the same order");
  return -acclInvalidUsage;
}

/* Publish the signature of `task` in a peer's slot (seq last, so that a
 * reader that sees the same seq before and after sees one signature). */
void acclSigPublishSlot(acclPeerSlot* slot, const acclTask* task) {
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
void acclSigPublish(struct acclComm* comm, const acclTask* task) {
  const acclPeerMem* pm = &comm->coll->net.peerMem;
  for (int q = 0; q < comm->nranks; q++) {
    if (q == comm->rank) continue;
    acclPeerSlot* slot = acclPeerMemSlot(pm, q, comm->rank);
    acclSigPublishSlot(slot, task);
    accDevDoorbell((const void*)slot);
  }
}

/* The plan's published collective: its first (sigPublish), or NULL. */
const acclTask* acclSigTask(const acclPlan* plan) {
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
int acclSigScan(struct acclComm* comm, const acclPlan* plan) {
  const acclPeerMem* pm = &comm->coll->net.peerMem;
  if (pm->ops == NULL || !comm->coll->checkMismatch) return 0;
  for (int q = 0; q < comm->nranks; q++) {
    if (q == comm->rank) continue;
    acclSig peer;
    if (!sigRead(acclPeerMemSlot(pm, comm->rank, q), &peer)) continue;
    for (int t = 0; t < plan->nTasks; t++) {
      const acclTask* task = &plan->tasks[t];
      if (task->seq != peer.seq || acclFuncIsP2P(task->func)) continue;
      int r = acclSigCompare(comm, task, &peer, q);
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
int acclSigFinal(struct acclComm* comm, const acclPlan* plan) {
  const acclPeerMem* pm = &comm->coll->net.peerMem;
  const acclTask* task = acclSigTask(plan);
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
      int r = acclSigCompare(comm, task, &peer, q);
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
