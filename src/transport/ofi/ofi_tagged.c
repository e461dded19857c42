/* ofi_tagged.c - the tagged protocol of the ofi transport (providers without
 * FI_RMA): slots striped over the rails as tagged messages into receives the
 * receiver posted into its slots. Called by the device engine (sendBuf /
 * sendPost / recvRelease); completions reach the requests' handlers through
 * ofi_cq.c. */
#include "comm/comm.h"
#include "transport/ofi/ofi_cq.h"
#include "transport/ofi/ofi_ep.h"
#include "transport/ofi/ofi_tagged.h"

static ssize_t postSend(const acclOfiPost* p) {
  acclOfiRail* r = &p->c->st->rails[p->rail];
  return fi_tsend(r->ep, p->buf, p->len, p->desc, r->peerAddr[p->c->peer], p->tagOrData, &p->req->ctx);
}

static ssize_t postRecv(const acclOfiPost* p) {
  acclOfiRail* r = &p->c->st->rails[p->rail];
  /* the tag names the sender, so no directed receive is needed */
  return fi_trecv(r->ep, p->buf, p->len, p->desc, FI_ADDR_UNSPEC, p->tagOrData, 0, &p->req->ctx);
}

/* A piece of a receive completed: count its bytes; the last piece makes the
 * step visible. A failed one leaves the step incomplete. */
static void recvPieceDone(acclOfiReq* req, size_t len, int failed) {
  acclOfiConnPriv* c = req->conn;
  if (failed) return;
  __atomic_add_fetch(&c->sizes[req->slot], len, __ATOMIC_RELAXED); /* rails may complete on two threads */
  if (__atomic_sub_fetch(&c->pending[req->slot], 1, __ATOMIC_ACQ_REL) == 0)
    accDevSignal(&c->done[req->slot], c->stepOf[req->slot] + 1); /* rings the engine's doorbell */
}

acclResult_t acclOfiTaggedPostRecv(acclOfiConnPriv* c, uint64_t step) {
  acclOfiState* st = c->st;
  int slot = (int)(step % (uint64_t)st->nslots);
  c->stepOf[slot] = step;
  c->sizes[slot] = 0;
  __atomic_store_n(&c->pending[slot], st->nrails, __ATOMIC_RELEASE);
  uint64_t tag = acclOfiTag(c->lane, c->peer, step);
  for (int r = 0; r < st->nrails; r++) {
    size_t off, len;
    acclOfiPiece(st->pieceBytes, r, st->slotBytes, &off, &len);
    acclOfiReq* req = &c->reqs[slot * st->nrails + r];
    req->complete = recvPieceDone;
    req->conn = c;
    req->slot = slot;
    req->rail = r;
    acclOfiPost p = {c, r, acclOfiSlot(c, slot) + off, st->rails[r].desc, len, tag, 0, req};
    ACCLCHECK(acclOfiPostRetry(postRecv, &p, "receive"));
  }
  return acclSuccess;
}

static void* ofiSendBuf(acclConn* conn, uint64_t step) {
  acclOfiConnPriv* c = conn->priv;
  int slot = (int)(step % (uint64_t)conn->nslots);
  /* the slot's previous send (step - nslots) must have completed */
  if (step < (uint64_t)conn->nslots) return acclOfiSlot(c, slot);
  uint64_t need = step - (uint64_t)conn->nslots + 1;
  if (__atomic_load_n(&c->done[slot], __ATOMIC_ACQUIRE) >= need) return acclOfiSlot(c, slot);
  acclOfiProgress(c->st); /* the engine polls too while it spins: no hand-off on the fast path */
  return __atomic_load_n(&c->done[slot], __ATOMIC_ACQUIRE) >= need ? acclOfiSlot(c, slot) : NULL;
}

static acclResult_t postStep(acclOfiConnPriv* c, uint64_t step, char* buf, void** descs, size_t bytes) {
  acclOfiState* st = c->st;
  int slot = acclOfiBeginStep(c, step, st->nrails);
  uint64_t tag = acclOfiTag(c->lane, st->comm->rank, step);
  for (int r = 0; r < st->nrails; r++) {
    size_t off, len;
    acclOfiPiece(st->pieceBytes, r, bytes, &off, &len);
    acclOfiPost p = {c, r, buf + off, descs[r], len, tag, 0, acclOfiSendPieceReq(c, slot, r)};
    ACCLCHECK(acclOfiPostRetry(postSend, &p, "send"));
  }
  return acclSuccess;
}

static acclResult_t ofiRecvRelease(acclConn* conn, uint64_t step) {
  return acclOfiTaggedPostRecv(conn->priv, step + (uint64_t)conn->nslots);
}

void acclOfiTaggedInit(acclOfiState* st) { st->postStep = postStep; }

const acclConnOps acclOfiTaggedOps = {
    .sendBuf = ofiSendBuf,
    .sendPost = acclOfiSendPost,
    .recvBuf = acclOfiRecvBuf,
    .recvRelease = ofiRecvRelease,
    .sendFrom = acclOfiSendFrom,
    .sendIdle = acclOfiSendIdle,
};
