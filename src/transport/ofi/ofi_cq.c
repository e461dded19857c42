/* ofi_cq.c - the completion queues of the ofi transport: read them (which
 * also drives providers with manual progress), hand every completion to the
 * handler of the request it belongs to (remote writes, which carry no request
 * of ours, to the state's remoteWrite handler), and decode errors. The proxy
 * thread of a communicator reads them while nobody else does and sleeps
 * inside fi_cq_sread when idle; the engine also calls acclOfiProgress while
 * it polls a step (the domain is FI_THREAD_SAFE and each completion is
 * handled by whichever thread read it), so a busy engine needs no thread
 * hand-off. */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "comm/comm.h"
#include "topology/host.h"
#include "topology/topo.h"
#include "transport/ofi/ofi_cq.h"
#include "transport/ofi/ofi_fabric.h"

#define CQ_BATCH 16

static void complete(acclOfiState* st, const struct fi_cq_tagged_entry* e) {
  /* rma: a peer wrote into our region. Both flags: the sockets provider also
   * sets FI_REMOTE_CQ_DATA on the local completion of our own writes. */
  if ((e->flags & (FI_REMOTE_WRITE | FI_REMOTE_CQ_DATA)) == (FI_REMOTE_WRITE | FI_REMOTE_CQ_DATA)) {
    if (st->remoteWrite)
      st->remoteWrite(st, e->data);
    else
      WARN("NET/OFI rank %d: unexpected remote write (CQ data 0x%llx) without the rma protocol", st->comm->rank,
           (unsigned long long)e->data);
    return;
  }
  acclOfiReq* req = e->op_context;
  req->complete(req, e->len, 0);
}

static int isPeerError(int err) {
  switch (err) {
    case FI_ECONNREFUSED:
    case FI_ECONNRESET:
    case FI_ECONNABORTED:
    case FI_ENOTCONN:
    case FI_EHOSTUNREACH:
    case FI_ENETUNREACH:
    case FI_ETIMEDOUT:
    case FI_EIO:
    case FI_EADDRNOTAVAIL:
    case FI_ESHUTDOWN:
    case FI_EREMOTEIO: return 1;
    default: return 0;
  }
}

/* A failed operation: name the peer and its address, fail the communicator
 * (the engine sees asyncError and returns), remember the peer. */
static void completeError(acclOfiState* st, acclOfiRail* rail, int railIdx) {
  struct fi_cq_err_entry e;
  memset(&e, 0, sizeof(e));
  if (fi_cq_readerr(rail->cq, &e, 0) <= 0) return;
  if (e.err == FI_ECANCELED) return; /* our own teardown */
  acclOfiReq* req = e.op_context;
  acclOfiConnPriv* c = req ? req->conn : NULL;
  int peer = c ? c->peer : -1;
  if (req && req->rail >= 0 && req->rail < st->nrails) { /* the queue may be shared by rails */
    railIdx = req->rail;
    rail = &st->rails[railIdx];
  }
  char prov[256] = "", addr[128] = "?", err[96];
  const char* ps = fi_cq_strerror(rail->cq, e.prov_errno, e.err_data, prov, sizeof(prov));
  if (peer >= 0 && st->addrs) {
    size_t len = sizeof(addr);
    fi_av_straddr(rail->av, st->addrs[peer].name[railIdx], addr, &len);
  }
  acclResult_t res = isPeerError(e.err) ? acclRemoteError : acclSystemError;
  WARN("NET/OFI rank %d: %s %s rank %d at %s (rail %d, %zu bytes) failed: %s; provider %s says: %s", st->comm->rank,
       c && c->isSend ? "send to" : "receive from", peer >= 0 ? "" : "unknown", peer, addr, railIdx, e.len,
       acclOfiErrText(e.err, err, sizeof(err)), st->provName, ps ? ps : "-");
  if (peer >= 0) __atomic_store_n(&st->peerFailed[peer], 1, __ATOMIC_RELEASE); /* several threads may see the failure */
  acclCommSetAsyncError(st->comm, res);
  if (c) accDevDoorbell((const void*)c->done);
  if (req) req->complete(req, e.len, 1);
}

int acclOfiProgress(acclOfiState* st) {
  struct fi_cq_tagged_entry e[CQ_BATCH];
  int total = 0;
  for (int r = 0; r < st->nrails; r++) {
    acclOfiRail* rail = &st->rails[r];
    if (rail->owner != r) continue; /* its queue is an earlier rail's */
    for (;;) {
      ssize_t n = fi_cq_read(rail->cq, e, CQ_BATCH);
      if (n > 0) {
        for (ssize_t i = 0; i < n; i++) complete(st, &e[i]);
        total += (int)n;
        if (n < CQ_BATCH) break;
        continue;
      }
      if (n == -FI_EAVAIL) {
        completeError(st, rail, r);
        total++;
        continue;
      }
      if (n != -FI_EAGAIN) {
        char err[96];
        WARN("NET/OFI rank %d: fi_cq_read on rail %d failed: %s", st->comm->rank, r,
             acclOfiErrText((int)n, err, sizeof(err)));
        return -1;
      }
      break;
    }
  }
  return total;
}

/* Idle: block in the provider's wait object (it also makes progress) for a
 * while; fi_cq_signal at teardown cuts the wait short. */
static void sleepOnQueues(acclOfiState* st) {
  struct fi_cq_tagged_entry e[CQ_BATCH];
  int nq = 0; /* distinct queues: with several, take turns with short waits */
  for (int r = 0; r < st->nrails; r++) nq += st->rails[r].owner == r;
  int timeoutMs = nq == 1 ? 20 : 2;
  for (int r = 0; r < st->nrails && !__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE); r++) {
    acclOfiRail* rail = &st->rails[r];
    if (rail->owner != r) continue;
    ssize_t n = fi_cq_sread(rail->cq, e, CQ_BATCH, NULL, timeoutMs);
    if (n > 0) {
      for (ssize_t i = 0; i < n; i++) complete(st, &e[i]);
      return;
    }
    if (n == -FI_EAVAIL) {
      completeError(st, rail, r);
      return;
    }
    if (n != -FI_EAGAIN && n != -FI_ETIMEDOUT && n != -FI_EINTR && n != -FI_ECANCELED) {
      usleep(1000); /* a provider without wait support: still never spin */
      return;
    }
  }
}

static void* proxyMain(void* arg) {
  acclOfiState* st = arg;
  acclLogDevice = st->comm->device;
  acclTopoBindThreadNuma(st->comm->topo ? st->comm->topo->numaNode : -1, "NET proxy thread");
  int idle = 0;
  while (!__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE)) {
    int n = acclOfiProgress(st);
    if (n < 0) {
      acclCommSetAsyncError(st->comm, acclSystemError);
      break;
    }
    if (n > 0) {
      idle = 0;
      continue;
    }
    /* spin a little (the next completion of a pipeline is close), then yield, then sleep */
    if (++idle < 32) continue;
    if (idle < 64) {
      sched_yield();
      continue;
    }
    sleepOnQueues(st);
  }
  return NULL;
}

acclResult_t acclOfiProxyStart(acclOfiState* st) {
  __atomic_store_n(&st->stop, 0, __ATOMIC_RELAXED);
  if (pthread_create(&st->proxy, NULL, proxyMain, st) != 0)
    ACCL_ERROR(acclSystemError, "NET/OFI rank %d: cannot start the proxy thread", st->comm->rank);
  st->proxyRunning = 1;
  return acclSuccess;
}

void acclOfiProxyStop(acclOfiState* st) {
  if (!st->proxyRunning) return;
  __atomic_store_n(&st->stop, 1, __ATOMIC_RELEASE);
  for (int r = 0; r < st->nrails; r++)
    if (st->rails[r].cq && st->rails[r].owner == r) fi_cq_signal(st->rails[r].cq);
  pthread_join(st->proxy, NULL);
  st->proxyRunning = 0;
}
