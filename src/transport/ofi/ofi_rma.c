/* ofi_rma.c - the FIFO operations of the rma protocol (see ofi.h): the
 * receiver's slots are the target buffers, the sender writes each piece into
 * the peer's slot with fi_writedata, the remote CQ data tells the receiver
 * which slot filled and with how many bytes; the receiver gives slots back by
 * writing its release count (in the CQ data of a write). Called by the device
 * engine; completions reach the requests' handlers, and remote writes
 * acclOfiRmaArrived (the state's remoteWrite), through ofi_cq.c. */
#include <sched.h>
#include <string.h>
#include "comm/comm.h"
#include "transport/ofi/ofi_cq.h"
#include "transport/ofi/ofi_ep.h"
#include "transport/ofi/ofi_rma.h"

static ssize_t postWrite(const acclOfiPost* p) {
  acclOfiConnPriv* c = p->c;
  acclOfiRail* r = &c->st->rails[p->rail];
  return fi_writedata(r->ep, p->buf, p->len, p->desc, p->tagOrData, r->peerAddr[c->peer], p->raddr,
                      c->st->addrs[c->peer].key[p->rail], &p->req->ctx);
}

/* A step may use its slot when the receiver has released the step that
 * used it before (credit) and our write from it has completed (done). */
static int slotFree(acclOfiConnPriv* c, uint64_t step) {
  const uint64_t ns = (uint64_t)c->st->nslots;
  if (step < ns) return 1;
  return __atomic_load_n(&c->credit, __ATOMIC_ACQUIRE) + ns > step &&
         __atomic_load_n(&c->done[step % ns], __ATOMIC_ACQUIRE) >= step - ns + 1;
}

static void* rmaSendBuf(acclConn* conn, uint64_t step) {
  acclOfiConnPriv* c = conn->priv;
  int slot = (int)(step % (uint64_t)conn->nslots);
  if (slotFree(c, step)) return acclOfiSlot(c, slot);
  acclOfiProgress(c->st); /* the engine polls too while it spins: no hand-off on the fast path */
  return slotFree(c, step) ? acclOfiSlot(c, slot) : NULL;
}

static acclResult_t postStep(acclOfiConnPriv* c, uint64_t step, char* buf, void** descs, size_t bytes) {
  acclOfiState* st = c->st;
  int slot = (int)(step % (uint64_t)st->nslots);
  /* A step sent from its slot with room behind the data carries the credit
   * we owe the peer, if any: exchanges (recursive doubling, 2-rank rings)
   * then need no credit writes at all. */
  int trailer = 0;
  acclOfiConnPriv* rev = *acclOfiConnSlot(st, c->lane, c->peer, 1); /* our connection from that peer */
  if (rev && rev->released > rev->announced && buf == acclOfiSlot(c, slot) &&
      bytes + sizeof(uint64_t) <= st->pieceBytes) {
    uint64_t count = rev->released;
    memcpy(buf + bytes, &count, sizeof(count));
    rev->announced = count;
    bytes += sizeof(count);
    trailer = 1;
  }
  /* only the pieces that carry bytes travel (at least one: it announces the step) */
  int npieces = acclOfiRmaPieces(st->pieceBytes, st->nrails, bytes);
  acclOfiBeginStep(c, step, npieces);
  for (int r = 0; r < npieces; r++) {
    size_t off, len;
    acclOfiPiece(st->pieceBytes, r, bytes, &off, &len);
    acclOfiPost p = {c,
                     r,
                     buf + off,
                     descs[r],
                     len,
                     acclOfiRmaData(c->lane, st->comm->rank, slot, npieces, len, trailer),
                     c->remoteSlots + (uint64_t)slot * st->slotBytes + off,
                     acclOfiSendPieceReq(c, slot, r)};
    ACCLCHECK(acclOfiPostRetry(postWrite, &p, "write"));
  }
  return acclSuccess;
}

/* Credits: a released step is announced to the sender by the next step we
 * send it on the same lane (a trailer, above) or, once half a FIFO of
 * releases is unannounced, by a credit write of its own: a credit write is
 * one more message and one more wake-up, which doubles the cost of a small
 * exchange. Either way the sender sees at least nslots/2 + 1 free slots
 * whatever the receiver has not yet announced, which is all a plan may need
 * before it receives (plans send at most half a FIFO ahead: ring rounds, rd). */
static void creditDone(acclOfiReq* req, size_t len, int failed) {
  (void)len;
  (void)failed; /* either way the context is free again */
  __atomic_add_fetch(&req->conn->st->doneSends, 1, __ATOMIC_ACQ_REL);
  __atomic_store_n(&req->busy, 0, __ATOMIC_RELEASE);
}

static acclResult_t rmaRecvRelease(acclConn* conn, uint64_t step) {
  acclOfiConnPriv* c = conn->priv;
  const uint64_t ns = (uint64_t)conn->nslots, batch = ns / 2 > 1 ? ns / 2 : 1;
  int slot = (int)(step % ns);
  /* ready for the slot's next step before the sender may write it */
  __atomic_store_n(&c->sizes[slot], 0, __ATOMIC_RELAXED);
  __atomic_store_n(&c->arrived[slot], 0, __ATOMIC_RELAXED);
  c->stepOf[slot] = step + ns;
  c->released = step + 1;
  if (c->released - c->announced < batch) return acclSuccess;
  c->announced = c->released;
  /* The count travels in the CQ data; the 8 bytes land in a word of the
   * sender's region that nobody reads. A regular write with a context of its
   * own, not an inject: tcp;ofi_rxm of libfabric 1.17 dereferences the
   * (absent) context of an inject write that a dying connection cancels, and
   * crashed the survivors of the killed-peer test. */
  acclOfiReq* req = &c->creditReqs[c->creditsPosted % (2 * ns)];
  for (int spins = 0; __atomic_load_n(&req->busy, __ATOMIC_ACQUIRE); spins++) { /* its last use still in flight */
    if (__atomic_load_n(&c->st->peerFailed[c->peer], __ATOMIC_ACQUIRE) ||
        __atomic_load_n(&c->st->comm->asyncError, __ATOMIC_ACQUIRE) != acclSuccess)
      return acclRemoteError;
    if (acclOfiProgress(c->st) < 0) return acclSystemError;
    if (spins > 64) sched_yield();
  }
  c->creditsPosted++;
  req->complete = creditDone;
  req->conn = c;
  req->rail = 0;
  __atomic_store_n(&req->busy, 1, __ATOMIC_RELEASE);
  __atomic_add_fetch(&c->st->postedSends, 1, __ATOMIC_ACQ_REL);
  acclOfiPost p = {c,
                   0,
                   c->creditSrc,
                   c->st->rails[0].desc,
                   sizeof(uint64_t),
                   acclOfiRmaCreditData(c->lane, c->st->comm->rank, c->released),
                   c->remoteCredit,
                   req};
  return acclOfiPostRetry(postWrite, &p, "credit write");
}

/* Raise a sender's credit to `count` (never lower it: two threads may handle
 * two credits out of order) and wake its engine if it waits for one. */
static void raiseCredit(acclOfiConnPriv* c, uint64_t count) {
  uint64_t cur = __atomic_load_n(&c->credit, __ATOMIC_ACQUIRE);
  do {
    if (count <= cur) return;
  } while (!__atomic_compare_exchange_n(&c->credit, &cur, count, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
  accDevDoorbell((const void*)c->done); /* device memory of ours: wakes a sender engine waiting for credit */
}

/* A remote write with CQ data arrived (any thread that reads a queue). */
static void rmaArrived(acclOfiState* st, uint64_t data) {
  acclOfiRmaFields f = acclOfiRmaDecode(data);
  int credit = f.slot == ACCL_OFI_RMA_CREDIT;
  acclOfiConnPriv* c = NULL;
  if (f.lane < st->nLanes && f.sender < st->nranks) c = *acclOfiConnSlot(st, f.lane, f.sender, credit ? 0 : 1);
  if (c == NULL || (!credit && f.slot >= st->nslots)) {
    WARN("NET/OFI rank %d: remote write with unexpected CQ data 0x%llx (lane %d, rank %d, slot %d)", st->comm->rank,
         (unsigned long long)data, f.lane, f.sender, f.slot);
    return;
  }
  if (credit) {
    raiseCredit(c, acclOfiRmaWidenCredit(__atomic_load_n(&c->credit, __ATOMIC_ACQUIRE), f.released));
    return;
  }
  size_t len = f.len;
  if (f.trailer) { /* only on single-piece steps: the last 8 bytes are a credit for our sends */
    if (len < sizeof(uint64_t) || f.npieces != 1) {
      WARN("NET/OFI rank %d: remote write from rank %d with a credit trailer but %zu bytes in %d pieces",
           st->comm->rank, f.sender, len, f.npieces);
      return;
    }
    uint64_t count;
    memcpy(&count, acclOfiSlot(c, f.slot) + len - sizeof(count), sizeof(count));
    len -= sizeof(count);
    acclOfiConnPriv* s = *acclOfiConnSlot(st, f.lane, f.sender, 0);
    if (s) raiseCredit(s, count);
  }
  __atomic_add_fetch(&c->sizes[f.slot], len, __ATOMIC_RELAXED); /* rails may complete on two threads */
  if (__atomic_add_fetch(&c->arrived[f.slot], 1, __ATOMIC_ACQ_REL) == (uint64_t)f.npieces)
    accDevSignal(&c->done[f.slot], c->stepOf[f.slot] + 1);
}

void acclOfiRmaInit(acclOfiState* st) {
  st->remoteWrite = rmaArrived;
  st->postStep = postStep;
}

const acclConnOps acclOfiRmaOps = {
    .sendBuf = rmaSendBuf,
    .sendPost = acclOfiSendPost,
    .recvBuf = acclOfiRecvBuf,
    .recvRelease = rmaRecvRelease,
    .sendFrom = acclOfiSendFrom,
    .sendIdle = acclOfiSendIdle,
};
