/* ofi_transport.c - the ofi transport's table and life: open the rails,
 * register the FIFO region, exchange endpoint names, region bases and keys
 * through the bootstrap, wire the connections; finalize and teardown. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "comm/comm.h"
#include "core/param.h"
#include "transport/ofi/ofi.h"
#include "transport/ofi/ofi_cq.h"
#include "transport/ofi/ofi_fabric.h"
#include "transport/ofi/ofi_mr.h"
#include "transport/ofi/ofi_rma.h"
#include "transport/ofi/ofi_tagged.h"

/* Does rank a reach rank b over ofi? */
static int uses(const acclOfiState* st, int a, int b) { return acclTransportOf(st->set, a, b) == st->self; }

static int peersOf(const acclOfiState* st, int r) {
  int n = 0;
  for (int q = 0; q < st->comm->nranks; q++) n += uses(st, r, q);
  return n;
}

/* Index of rank r's connection (lane, peer, dir: 0 send, 1 receive) in r's region. */
static int connIndex(const acclOfiState* st, int r, int lane, int peer, int dir) {
  int idx = 0;
  for (int q = 0; q < peer; q++) idx += uses(st, r, q);
  return (lane * peersOf(st, r) + idx) * 2 + dir;
}

/* Rank r's region: per connection a flag block (done, sizes, arrived: one
 * word per slot; then the credit word), then every connection's slots. */
static size_t flagsTotalOf(const acclOfiState* st, int r) {
  return ACCL_ALIGN_UP(st->flagBytes * (size_t)(st->nLanes * peersOf(st, r) * 2), 4096);
}

static acclResult_t insertPeers(acclOfiState* st);

static acclResult_t exchangeAddresses(acclOfiState* st) {
  struct acclComm* comm = st->comm;
  const int n = comm->nranks, me = comm->rank;
  st->addrs = calloc((size_t)n, sizeof(acclOfiAddrRecord));
  if (!st->addrs) return acclSystemError;
  acclOfiAddrRecord* mine = &st->addrs[me];
  mine->nrails = st->nrails;
  mine->rma = st->rma;
  mine->regionBase = (uint64_t)(uintptr_t)st->region;
  for (int r = 0; r < st->nrails; r++) {
    size_t len = ACCL_OFI_NAME_BYTES;
    OFICHECK(fi_getname(&st->rails[r].ep->fid, mine->name[r], &len), "fi_getname");
    mine->nameLen[r] = (int)len;
    mine->key[r] = fi_mr_key(st->rails[r].mr);
  }
  ACCLCHECK(acclBootstrapAllGather(comm->bootstrap, st->addrs, sizeof(acclOfiAddrRecord)));
  /* one protocol for the whole communicator */
  for (int q = 0; q < n; q++) st->rma = st->rma && st->addrs[q].rma;
  /* every rank must stripe the same way: use the smallest rail count */
  int nrails = st->nrails;
  for (int q = 0; q < n; q++) nrails = ACCL_MIN(nrails, st->addrs[q].nrails);
  for (int r = st->nrails - 1; r >= nrails; r--) acclOfiCloseRail(st, r);
  st->nrails = nrails;
  acclFabricGuardEnter(); /* inserting peers may map their shared memory (shm provider) */
  acclResult_t res = insertPeers(st);
  acclFabricGuardLeave();
  return res;
}

static acclResult_t insertPeers(acclOfiState* st) {
  const int n = st->comm->nranks, me = st->comm->rank;
  for (int r = 0; r < st->nrails; r++) {
    acclOfiRail* rail = &st->rails[r];
    rail->peerAddr = malloc(sizeof(fi_addr_t) * (size_t)n);
    if (!rail->peerAddr) return acclSystemError;
    for (int q = 0; q < n; q++) {
      rail->peerAddr[q] = FI_ADDR_UNSPEC;
      if (!uses(st, me, q)) continue;
      int got = fi_av_insert(rail->av, st->addrs[q].name[r], 1, &rail->peerAddr[q], 0, NULL);
      if (got != 1) {
        char addr[128] = "?";
        size_t len = sizeof(addr);
        fi_av_straddr(rail->av, st->addrs[q].name[r], addr, &len);
        ACCL_ERROR(acclSystemError,
                   "NET/OFI rank %d: cannot insert the address %s of rank %d (rail %d) into the address vector", me,
                   addr, q, r);
      }
    }
  }
  return acclSuccess;
}

/* Our region (before the address exchange: its base and keys travel with it). */
static acclResult_t allocRegion(acclOfiState* st) {
  struct acclComm* comm = st->comm;
  st->flagBytes = ACCL_ALIGN_UP(sizeof(uint64_t) * (3 * (size_t)st->nslots + 1), 64);
  st->flagsTotal = flagsTotalOf(st, comm->rank);
  st->nConns = st->nLanes * peersOf(st, comm->rank) * 2;
  st->regionBytes = st->flagsTotal + (size_t)st->nConns * (size_t)st->nslots * st->slotBytes;
  ACCCHECK(accSetDevice(comm->device));
  ACCCHECK(accMalloc((void**)&st->region, st->regionBytes ? st->regionBytes : 1));
  ACCCHECK(accMemset(st->region, 0, st->flagsTotal ? st->flagsTotal : 1));
  for (int r = 0; r < st->nrails; r++) ACCLCHECK(acclOfiRegisterRegion(st, r));
  return acclSuccess;
}

/* Where peer q keeps [off] of its region, as the rma operations address it. */
static uint64_t remoteAddr(const acclOfiState* st, int q, size_t off) {
  int virt = (st->rails[0].info->domain_attr->mr_mode & FI_MR_VIRT_ADDR) != 0;
  return (virt ? st->addrs[q].regionBase : 0) + off;
}

static acclResult_t buildConns(acclOfiState* st, acclConnTable* conns) {
  struct acclComm* comm = st->comm;
  const int n = comm->nranks, me = comm->rank;
  st->conns = calloc((size_t)(st->nConns ? st->nConns : 1), sizeof(acclOfiConnPriv));
  st->byLaneRank = calloc((size_t)st->nLanes * (size_t)n * 2, sizeof(acclOfiConnPriv*));
  if (!st->conns || !st->byLaneRank) return acclSystemError;
  const size_t connSlotBytes = (size_t)st->nslots * st->slotBytes;
  const size_t creditOff = sizeof(uint64_t) * 3 * (size_t)st->nslots;
  for (int lane = 0; lane < st->nLanes; lane++) {
    for (int q = 0; q < n; q++) {
      if (!uses(st, me, q)) continue;
      for (int dir = 0; dir < 2; dir++) {
        int k = connIndex(st, me, lane, q, dir);
        acclOfiConnPriv* c = &st->conns[k];
        char* flags = st->region + (size_t)k * st->flagBytes;
        c->st = st;
        c->peer = q;
        c->lane = lane;
        c->isSend = dir == 0;
        c->done = (volatile uint64_t*)flags;
        c->sizes = c->done + st->nslots;
        c->arrived = (uint64_t*)(c->sizes + st->nslots);
        c->slots = st->region + st->flagsTotal + (size_t)k * connSlotBytes;
        c->pending = calloc((size_t)st->nslots, sizeof(int));
        c->stepOf = calloc((size_t)st->nslots, sizeof(uint64_t));
        c->reqs = calloc((size_t)st->nslots * (size_t)st->nrails, sizeof(acclOfiReq));
        c->creditReqs = calloc(2 * (size_t)st->nslots, sizeof(acclOfiReq));
        c->creditSrc = (uint64_t*)(flags + creditOff); /* our own copy of the word: registered, unused */
        if (!c->pending || !c->stepOf || !c->reqs || !c->creditReqs) return acclSystemError;
        if (c->isSend) { /* the peer's slots for us, and where it hands them back */
          size_t off = flagsTotalOf(st, q) + (size_t)connIndex(st, q, lane, me, 1) * connSlotBytes;
          c->remoteSlots = remoteAddr(st, q, off);
        } else {
          size_t off = (size_t)connIndex(st, q, lane, me, 0) * st->flagBytes + creditOff;
          c->remoteCredit = remoteAddr(st, q, off);
        }
        *acclOfiConnSlot(st, lane, q, dir) = c;
        acclConn* conn = c->isSend ? acclConnSend(conns, lane, q) : acclConnRecv(conns, lane, q);
        *conn = (acclConn){st->rma ? &acclOfiRmaOps : &acclOfiTaggedOps, q, st->nslots, st->slotBytes, 0, c};
        if (c->isSend) continue;
        for (int s = 0; s < st->nslots; s++) {
          c->stepOf[s] = (uint64_t)s;
          if (!st->rma) ACCLCHECK(acclOfiTaggedPostRecv(c, (uint64_t)s));
        }
      }
    }
  }
  return acclSuccess;
}

/* Everything of the set-up that involves no other rank: provider, rails,
 * the registered region. */
static acclResult_t openLocal(acclOfiState* st) {
  struct acclComm* comm = st->comm;
  ACCLCHECK(acclOfiChooseProvider(st, comm->nNodes));
  if (st->rma && comm->nranks > ACCL_OFI_RMA_MAX_RANKS) { /* the rma CQ data names the sender in 20 bits */
    INFO(ACCL_NET, "NET/OFI rank %d: %d ranks exceed the rma CQ data's sender field: tagged protocol", comm->rank,
         comm->nranks);
    st->rma = 0;
  }
  for (int r = 0; r < st->nrails; r++) ACCLCHECK(acclOfiOpenRail(st, r));
  st->pieceBytes = acclOfiPieceBytes(st->slotBytes, st->nrails);
  if (st->rma && st->pieceBytes > ACCL_OFI_RMA_MAX_PIECE) {
    INFO(ACCL_NET, "NET/OFI rank %d: pieces of %zu bytes exceed the rma CQ data's length field: tagged protocol",
         comm->rank, st->pieceBytes);
    st->rma = 0;
  }
  ACCLCHECK(allocRegion(st));
  return acclOfiMrCacheInit(st);
}

static acclResult_t setupState(struct acclComm* comm, acclOfiState* st, const acclTransportArgs* args,
                               acclConnTable* conns) {
  memset(st, 0, sizeof(*st));
  st->comm = comm;
  st->nranks = comm->nranks;
  st->set = args->set;
  st->self = args->self;
  st->nLanes = args->nLanes;
  st->nslots = args->nslots;
  st->slotBytes = args->slotBytes;
  /* libfabric providers that pin memory need this before fork() is safe for
   * children (data-loader workers); we never overwrite a user's choice. */
  setenv("FI_EFA_FORK_SAFE", "1", 0);
  st->peerFailed = calloc((size_t)comm->nranks, sizeof(int));
  if (!st->peerFailed) return acclSystemError;
  ACCLCHECK(acclFabricLoad());
  /* Providers install signal handlers as endpoints open: put them back */
  acclFabricGuardEnter();
  acclResult_t res = openLocal(st);
  acclFabricGuardLeave();
  ACCLCHECK(res);
  ACCLCHECK(exchangeAddresses(st));
  if (st->rma)
    acclOfiRmaInit(st);
  else
    acclOfiTaggedInit(st);
  ACCLCHECK(buildConns(st, conns));
  ACCLCHECK(acclOfiProxyStart(st));
  INFO(ACCL_NET,
       "NET/OFI rank %d: %d connections over %s (%s protocol), %d rail(s), %d slots x %zu bytes (pieces of %zu)",
       comm->rank, st->nConns, st->provName, st->rma ? "rma" : "tagged", st->nrails, st->nslots, st->slotBytes,
       st->pieceBytes);
  return acclSuccess;
}

/* Sends still in flight would be lost with the endpoint: wait for them (the
 * proxy completes them) unless the communicator is being aborted. */
static void drainSends(acclOfiState* st, int abort) {
  uint64_t start = acclClockNs();
  int64_t timeout = acclParamTimeout();
  int spins = 0;
  while (__atomic_load_n(&st->doneSends, __ATOMIC_ACQUIRE) < __atomic_load_n(&st->postedSends, __ATOMIC_ACQUIRE)) {
    /* an abort gives them half a second, never the timeout */
    if (abort && acclClockNs() - start > 500000000ull) return;
    if (!abort && __atomic_load_n(&st->comm->asyncError, __ATOMIC_ACQUIRE) != acclSuccess) return;
    if (timeout > 0 && acclClockNs() - start > (uint64_t)timeout * 1000000000ull) {
      WARN("NET/OFI rank %d: %llu sends still unfinished after %lld s at teardown", st->comm->rank,
           (unsigned long long)(st->postedSends - st->doneSends), (long long)timeout);
      return;
    }
    if (++spins < 100)
      sched_yield();
    else
      usleep(500);
  }
}

static void teardownState(acclOfiState* st, int abort) {
  if (!st->comm) return;
  struct acclComm* comm = st->comm;
  /* after an abort too, briefly: closing an endpoint with sends in flight
   * crashed in libfabric (tcp;ofi_rxm 1.17, issue 22 A1). Local only:
   * acclTransportsFinalize did the leaving together. */
  if (st->proxyRunning) drainSends(st, abort);
  acclOfiProxyStop(st);
  /* The endpoints first: after an abort, sends still in flight may use the
   * cache's registrations of user buffers (closing those first crashed in
   * fi_close, issue 22 A1); then the cache, before the domains close. */
  for (int r = ACCL_OFI_MAX_RAILS - 1; r >= 0; r--) {
    if (st->rails[r].ep) fi_close(&st->rails[r].ep->fid);
    st->rails[r].ep = NULL;
  }
  acclOfiMrCacheFini(st);
  for (int r = ACCL_OFI_MAX_RAILS - 1; r >= 0; r--) acclOfiCloseRail(st, r);
  /* a setup that failed before buildConns has nConns but no conns */
  for (int k = 0; st->conns && k < st->nConns; k++) {
    free(st->conns[k].pending);
    free(st->conns[k].stepOf);
    free(st->conns[k].reqs);
    free(st->conns[k].creditReqs);
  }
  free(st->conns);
  free(st->byLaneRank);
  if (st->region) {
    accSetDevice(comm->device);
    accFree(st->region);
  }
  free(st->addrs);
  free((void*)st->peerFailed);
  memset(st, 0, sizeof(*st));
}

/* ------------------------------------------------------ the transport table */

static int ofiCanConnect(const struct acclComm* comm, const acclTransportArgs* args, int a, int b) {
  (void)comm;
  (void)args;
  return a != b; /* the network reaches every rank; shm, earlier in the table, serves its node first */
}

static acclResult_t ofiSetup(struct acclComm* comm, const acclTransportArgs* args, acclConnTable* conns, void** state) {
  acclOfiState* st = calloc(1, sizeof(*st));
  if (st == NULL) ACCL_ERROR(acclSystemError, "NET/OFI rank %d: out of memory", comm->rank);
  acclResult_t res = setupState(comm, st, args, conns);
  if (res != acclSuccess) {
    teardownState(st, 1);
    free(st);
    return res;
  }
  *state = st;
  return acclSuccess;
}

static int ofiFailedPeer(void* state) {
  acclOfiState* st = state;
  for (int q = 0; q < st->comm->nranks; q++)
    if (__atomic_load_n(&st->peerFailed[q], __ATOMIC_ACQUIRE)) return q;
  return -1;
}

static acclResult_t ofiFinalize(struct acclComm* comm, void* state) {
  (void)comm;
  acclOfiState* st = state;
  if (st->proxyRunning) drainSends(st, 0);
  return acclSuccess;
}

static void ofiTeardown(struct acclComm* comm, void* state, int abort) {
  (void)comm;
  teardownState(state, abort);
  free(state);
}

const acclTransport acclOfiTransport = {
    .name = "ofi",
    .network = 1,
    .canConnect = ofiCanConnect,
    .setup = ofiSetup,
    .failedPeer = ofiFailedPeer,
    .finalize = ofiFinalize,
    .teardown = ofiTeardown,
    .peerMem = NULL,
};
