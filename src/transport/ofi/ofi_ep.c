/* ofi_ep.c - what both protocols of the ofi transport do on an endpoint:
 * posting with retry (an EAGAIN is answered by reading the queues, while
 * ACCL_TIMEOUT, the abort flag and peer liveness are watched), the sender's
 * per-step bookkeeping and requests, and the receiver's view of a slot. */
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include "comm/comm.h"
#include "core/param.h"
#include "transport/ofi/ofi_cq.h"
#include "transport/ofi/ofi_ep.h"
#include "transport/ofi/ofi_fabric.h"
#include "transport/ofi/ofi_mr.h"

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
      ACCL_ERROR(acclSystemError, "NET/OFI rank %d: %s of %zu bytes to/from rank %d (rail %d) failed: %s",
                 c->st->comm->rank, what, len, c->peer, rail, acclOfiErrText((int)rc, err, sizeof(err)));
    }
    if (tries == 0) start = acclClockNs();
    int64_t timeout = acclParamTimeout();
    if (timeout > 0 && acclClockNs() - start > (uint64_t)timeout * 1000000000ull)
      ACCL_ERROR(acclTimeout, "NET/OFI rank %d: %s to/from rank %d still refused (EAGAIN) after %lld s",
                 c->st->comm->rank, what, c->peer, (long long)timeout);
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

int acclOfiBeginStep(acclOfiConnPriv* c, uint64_t step, int npieces) {
  acclOfiState* st = c->st;
  int slot = (int)(step % (uint64_t)st->nslots);
  c->stepsPosted++;
  c->stepOf[slot] = step;
  __atomic_store_n(&c->pending[slot], npieces, __ATOMIC_RELEASE);
  __atomic_add_fetch(&st->postedSends, (uint64_t)npieces, __ATOMIC_ACQ_REL);
  return slot;
}

/* A piece of a send completed (or failed: it still counts for the drain at
 * teardown, but the step never completes). */
static void sendPieceDone(acclOfiReq* req, size_t len, int failed) {
  (void)len;
  acclOfiConnPriv* c = req->conn;
  __atomic_add_fetch(&c->st->doneSends, 1, __ATOMIC_ACQ_REL);
  if (failed) return;
  if (__atomic_sub_fetch(&c->pending[req->slot], 1, __ATOMIC_ACQ_REL) == 0) {
    __atomic_add_fetch(&c->stepsDone, 1, __ATOMIC_RELEASE);
    accDevSignal(&c->done[req->slot], c->stepOf[req->slot] + 1); /* rings the engine's doorbell */
  }
}

acclOfiReq* acclOfiSendPieceReq(acclOfiConnPriv* c, int slot, int r) {
  acclOfiReq* req = &c->reqs[slot * c->st->nrails + r];
  req->complete = sendPieceDone;
  req->conn = c;
  req->slot = slot;
  req->rail = r;
  return req;
}

acclResult_t acclOfiSendPost(acclConn* conn, uint64_t step, size_t bytes) {
  acclOfiConnPriv* c = conn->priv;
  void* descs[ACCL_OFI_MAX_RAILS];
  for (int r = 0; r < c->st->nrails; r++) descs[r] = c->st->rails[r].desc;
  return c->st->postStep(c, step, acclOfiSlot(c, (int)(step % (uint64_t)c->st->nslots)), descs, bytes);
}

acclResult_t acclOfiSendFrom(acclConn* conn, uint64_t step, const void* src, size_t bytes) {
  acclOfiConnPriv* c = conn->priv;
  void* descs[ACCL_OFI_MAX_RAILS];
  ACCLCHECK(acclOfiMrLookup(c->st, src, bytes, descs));
  return c->st->postStep(c, step, (char*)src, descs, bytes);
}

int acclOfiSendIdle(acclConn* conn) {
  acclOfiConnPriv* c = conn->priv;
  if (__atomic_load_n(&c->stepsDone, __ATOMIC_ACQUIRE) == c->stepsPosted) return 1;
  acclOfiProgress(c->st);
  return __atomic_load_n(&c->stepsDone, __ATOMIC_ACQUIRE) == c->stepsPosted;
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
