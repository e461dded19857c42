/* ofi_conn.c - the FIFO operations over libfabric: slots striped over the
 * rails as tagged messages. Called by the device engine (sendBuf / sendPost /
 * recvBuf / recvRelease); completions arrive through the proxy (ofi_proxy.c). */
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include "comm/comm.h"
#include "core/param.h"
#include "transport/ofi/ofi.h"

static ssize_t postSend(const acclOfiPost* p) {
  acclOfiRail* r = &p->c->st->rails[p->rail];
  return fi_tsend(r->ep, p->buf, p->len, p->desc, r->peerAddr[p->c->peer], p->tagOrData, p->ctx);
}

static ssize_t postRecv(const acclOfiPost* p) {
  acclOfiRail* r = &p->c->st->rails[p->rail];
  /* the tag names the sender, so no directed receive is needed */
  return fi_trecv(r->ep, p->buf, p->len, p->desc, FI_ADDR_UNSPEC, p->tagOrData, 0, p->ctx);
}

acclResult_t acclOfiPostRetry(acclOfiPostFn fn, const acclOfiPost* p, const char* what) {
  acclOfiConnPriv* c = p->c;
  int rail = p->rail;
  size_t len = p->len;
  uint64_t start = 0, checked = 0;
  for (int tries = 0;; tries++) {
    ssize_t rc = fn(p);
    if (rc == 0) return acclSuccess;
    if (rc != -FI_EAGAIN) {
      char err[96];
      WARN("NET/OFI rank %d: %s of %zu bytes to/from rank %d (rail %d) failed: %s", c->st->comm->rank, what, len,
           c->peer, rail, acclOfiErrText((int)rc, err, sizeof(err)));
      return acclSystemError;
    }
    if (tries == 0) start = acclClockNs();
    int64_t timeout = acclParamTimeout();
    if (timeout > 0 && acclClockNs() - start > (uint64_t)timeout * 1000000000ull) {
      WARN("NET/OFI rank %d: %s to/from rank %d still refused (EAGAIN) after %lld s", c->st->comm->rank, what, c->peer,
           (long long)timeout);
      return acclTimeout;
    }
    if (__atomic_load_n(&c->st->peerFailed[c->peer], __ATOMIC_ACQUIRE))
      ACCL_ERROR(acclRemoteError, "NET/OFI rank %d: %s to/from rank %d abandoned: rank %d failed", c->st->comm->rank,
                 what, c->peer, c->peer);
    if (__atomic_load_n(&c->st->comm->abortFlag, __ATOMIC_ACQUIRE))
      ACCL_ERROR(acclInvalidUsage, "NET/OFI rank %d: %s to/from rank %d abandoned: the communicator is being aborted",
                 c->st->comm->rank, what, c->peer);
    acclResult_t async = (acclResult_t)__atomic_load_n(&c->st->comm->asyncError, __ATOMIC_ACQUIRE);
    if (async != acclSuccess)
      ACCL_ERROR(async, "NET/OFI rank %d: %s to/from rank %d abandoned: the communicator already failed (%s)",
                 c->st->comm->rank, what, c->peer, acclGetErrorString(async));
    /* the provider frees queue entries only as completions are read: read
     * them here rather than wait for the proxy (asleep on one rail's queue) */
    if (acclOfiProgress(c->st) > 0) continue;
    /* a peer that is gone never frees the queue: every 100 ms ask whether
     * any rank is (this node's pids, the bootstrap ring for the others) */
    uint64_t now = acclClockNs();
    if (now - start >= checked + 100000000ull) {
      checked = now - start;
      int dead = acclCommDeadLocalPeer(c->st->comm);
      if (dead < 0) dead = acclBootstrapLostPeer(c->st->comm->bootstrap);
      if (dead >= 0)
        ACCL_ERROR(acclRemoteError, "NET/OFI rank %d: %s to/from rank %d abandoned: rank %d failed", c->st->comm->rank,
                   what, c->peer, dead);
    }
    if (tries < 64)
      sched_yield();
    else
      usleep(100);
  }
}

acclResult_t acclOfiPostRecv(acclOfiConnPriv* c, uint64_t step) {
  acclOfiState* st = c->st;
  int slot = (int)(step % (uint64_t)st->nslots);
  c->stepOf[slot] = step;
  c->sizes[slot] = 0;
  __atomic_store_n(&c->pending[slot], st->nrails, __ATOMIC_RELEASE);
  uint64_t tag = acclOfiTag(c->lane, c->peer, step);
  for (int r = 0; r < st->nrails; r++) {
    size_t off, len;
    acclOfiPiece(st, r, st->slotBytes, &off, &len);
    acclOfiReq* req = &c->reqs[slot * st->nrails + r];
    req->conn = c;
    req->slot = slot;
    req->rail = r;
    acclOfiPost p = {c, r, acclOfiSlot(c, slot) + off, st->rails[r].desc, len, tag, 0, &req->ctx};
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
    acclOfiPiece(st, r, bytes, &off, &len);
    acclOfiPost p = {c, r, buf + off, descs[r], len, tag, 0, &acclOfiPieceReq(c, slot, r)->ctx};
    ACCLCHECK(acclOfiPostRetry(postSend, &p, "send"));
  }
  return acclSuccess;
}

static acclResult_t ofiSendPost(acclConn* conn, uint64_t step, size_t bytes) {
  return acclOfiSendSlot(conn->priv, step, bytes, postStep);
}

static acclResult_t ofiSendFrom(acclConn* conn, uint64_t step, const void* src, size_t bytes) {
  return acclOfiSendFrom(conn->priv, step, src, bytes, postStep);
}

/* Both protocols: a step is visible once its slot's flag holds step + 1. */
const void* acclOfiRecvBuf(acclConn* conn, uint64_t step, size_t* bytes) {
  acclOfiConnPriv* c = conn->priv;
  int slot = (int)(step % (uint64_t)conn->nslots);
  if (__atomic_load_n(&c->done[slot], __ATOMIC_ACQUIRE) != step + 1) {
    acclOfiProgress(c->st);
    if (__atomic_load_n(&c->done[slot], __ATOMIC_ACQUIRE) != step + 1) return NULL;
  }
  *bytes = __atomic_load_n(&c->sizes[slot], __ATOMIC_RELAXED);
  return acclOfiSlot(c, slot);
}

static acclResult_t ofiRecvRelease(acclConn* conn, uint64_t step) {
  return acclOfiPostRecv(conn->priv, step + (uint64_t)conn->nslots);
}

const acclConnOps acclOfiOps = {
    .sendBuf = ofiSendBuf,
    .sendPost = ofiSendPost,
    .recvBuf = acclOfiRecvBuf,
    .recvRelease = ofiRecvRelease,
    .sendFrom = ofiSendFrom,
    .sendIdle = acclOfiSendIdle,
};
