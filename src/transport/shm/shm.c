/* shm.c - shared-memory transport: regions in device memory, mapped by peers
 * on the node through device IPC windows; FIFO connections over them. */
#include "transport/shm/shm.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bootstrap/bootstrap.h"
#include "comm/comm.h"

typedef struct acclShmConnPriv {
  volatile uint64_t* head;      /* in the receiver's region */
  volatile uint64_t* sizes;     /* in the receiver's region */
  volatile uint64_t (*sigs)[3]; /* in the receiver's region */
  volatile uint64_t* tail;      /* in the sender's region */
  char* slots;                  /* in the receiver's region */
} acclShmConnPriv;

void acclShmComputeLayout(acclShmLayout* l, int nranks, int nLanes, int nslots, size_t slotBytes, size_t llBytes) {
  memset(l, 0, sizeof(*l));
  l->nranks = nranks;
  l->nLanes = nLanes;
  l->nslots = nslots;
  l->slotBytes = slotBytes;
  l->llBytes = llBytes;
  size_t off = 0;
  l->offSlots = off;
  off += ACCL_ALIGN_UP(sizeof(acclPeerSlot) * (size_t)nranks, 4096);
  l->offLL = off;
  off += ACCL_ALIGN_UP(llBytes * 2 * (size_t)nranks, 4096);
  l->offTails = off;
  off += ACCL_ALIGN_UP(sizeof(acclShmTail) * (size_t)nLanes * (size_t)nranks, 4096);
  l->offHeads = off;
  off += ACCL_ALIGN_UP(sizeof(acclShmHead) * (size_t)nLanes * (size_t)nranks, 4096);
  l->offFifo = off;
  off += slotBytes * (size_t)nslots * (size_t)nLanes * (size_t)nranks;
  l->total = off;
}

static acclShmTail* tailOf(acclShmState* st, char* region, int lane, int peer) {
  return (acclShmTail*)(region + st->layout.offTails + ((size_t)lane * st->layout.nranks + peer) * sizeof(acclShmTail));
}
static acclShmHead* headOf(acclShmState* st, char* region, int lane, int peer) {
  return (acclShmHead*)(region + st->layout.offHeads + ((size_t)lane * st->layout.nranks + peer) * sizeof(acclShmHead));
}
static char* fifoOf(acclShmState* st, char* region, int lane, int peer) {
  const acclShmLayout* l = &st->layout;
  return region + l->offFifo + ((size_t)lane * l->nranks + peer) * l->slotBytes * (size_t)l->nslots;
}

static void* shmSendBuf(acclConn* c, uint64_t step) {
  acclShmConnPriv* p = c->priv;
  uint64_t tail = __atomic_load_n(p->tail, __ATOMIC_ACQUIRE);
  if (step - tail >= (uint64_t)c->nslots) return NULL;
  return p->slots + (step % (uint64_t)c->nslots) * c->slotBytes;
}

static acclResult_t shmSendPost(acclConn* c, uint64_t step, size_t bytes) {
  acclShmConnPriv* p = c->priv;
  p->sizes[step % (uint64_t)c->nslots] = bytes;
  accDevSignal(p->head, step + 1);
  return acclSuccess;
}

static const void* shmRecvBuf(acclConn* c, uint64_t step, size_t* bytes) {
  acclShmConnPriv* p = c->priv;
  if (__atomic_load_n(p->head, __ATOMIC_ACQUIRE) <= step) return NULL;
  *bytes = p->sizes[step % (uint64_t)c->nslots];
  return p->slots + (step % (uint64_t)c->nslots) * c->slotBytes;
}

static void shmSendSig(acclConn* c, uint64_t step, const uint64_t sig[3]) {
  acclShmConnPriv* p = c->priv;
  volatile uint64_t* w = p->sigs[step % (uint64_t)c->nslots];
  w[0] = sig[0];
  w[1] = sig[1];
  w[2] = sig[2];
}

static int shmRecvSig(acclConn* c, uint64_t step, uint64_t sig[3]) {
  acclShmConnPriv* p = c->priv;
  const volatile uint64_t* w = p->sigs[step % (uint64_t)c->nslots];
  sig[0] = w[0];
  sig[1] = w[1];
  sig[2] = w[2];
  return 1;
}

static acclResult_t shmRecvRelease(acclConn* c, uint64_t step) {
  acclShmConnPriv* p = c->priv;
  accDevSignal(p->tail, step + 1);
  return acclSuccess;
}

/* no zero-copy sends: a step buffer in the receiver's memory is already the one copy */
static const acclConnOps shmConnOps = {
    .sendBuf = shmSendBuf,
    .sendPost = shmSendPost,
    .recvBuf = shmRecvBuf,
    .recvRelease = shmRecvRelease,
    .sendFrom = NULL,
    .sendIdle = NULL,
    .sendSig = shmSendSig,
    .recvSig = shmRecvSig,
};

/* ---------------------------------------------------------- peer memory */

static char* regionOf(acclShmState* st, int owner) { return owner == st->me ? st->region : st->peerRegion[owner]; }

static void* shmPeerPtr(void* state, int peer, uint64_t remotePtr) {
  acclShmState* st = state;
  return (void*)(uintptr_t)((int64_t)remotePtr + st->peerDelta[peer]);
}

static acclPeerSlot* shmSlot(void* state, int owner, int writer) {
  acclShmState* st = state;
  return (acclPeerSlot*)(regionOf(st, owner) + st->layout.offSlots + (size_t)writer * sizeof(acclPeerSlot));
}

static uint64_t* shmLLInbox(void* state, int owner, int writer, int parity) {
  acclShmState* st = state;
  return (uint64_t*)(regionOf(st, owner) + st->layout.offLL +
                     ((size_t)writer * 2 + (size_t)parity) * st->layout.llBytes);
}

static const acclPeerMemOps shmPeerMemOps = {
    .slot = shmSlot,
    .llInbox = shmLLInbox,
    .peerPtr = shmPeerPtr,
};

/* ------------------------------------------------------------ lifecycle */

static int shmCanConnect(const struct acclComm* comm, const acclTransportArgs* args, int a, int b) {
  return !args->forceNetwork && comm->nodeOf[a] == comm->nodeOf[b];
}

static void shmTeardown(struct acclComm* comm, void* state, int abort);

static acclResult_t shmSetup(struct acclComm* comm, const acclTransportArgs* args, acclConnTable* conns, void** state) {
  const int n = comm->nranks, me = comm->rank;
  acclShmState* st = calloc(1, sizeof(*st));
  if (st == NULL) ACCL_ERROR(acclSystemError, "shm rank %d: out of memory", me);
  *state = st;
  st->comm = comm;
  st->me = me;
  acclShmLayout* l = &st->layout;
  acclShmComputeLayout(l, n, args->nLanes, args->nslots, args->slotBytes, args->llBytes);
  acclResult_t res = acclSuccess;
  uint64_t* regionPtrs = NULL;
  /* every rank runs this (the allgather is collective); the pairs we serve
   * are those the transport set gives us */
  char* served = calloc((size_t)n, 1);
  st->peerRegion = calloc((size_t)n, sizeof(char*));
  st->peerWindowBase = calloc((size_t)n, sizeof(void*));
  st->peerDelta = calloc((size_t)n, sizeof(int64_t));
  st->peerMapped = calloc((size_t)n, sizeof(int));
  st->priv = calloc((size_t)args->nLanes * n * 2, sizeof(acclShmConnPriv));
  regionPtrs = calloc((size_t)n, sizeof(uint64_t));
  if (!served || !st->peerRegion || !st->peerWindowBase || !st->peerDelta || !st->peerMapped || !st->priv ||
      !regionPtrs) {
    WARN("shm rank %d: out of memory for %d peers", me, n);
    res = acclSystemError;
    goto out;
  }
  for (int q = 0; q < n; q++) served[q] = acclTransportOf(args->set, me, q) == args->self;
  if (accSetDevice(comm->device) != accSuccess || accMalloc((void**)&st->region, l->total) != accSuccess ||
      accMemset(st->region, 0, l->total) != accSuccess) {
    WARN("shm rank %d: cannot allocate a region of %zu bytes on device %d", me, l->total, comm->device);
    res = acclDeviceError;
    goto out;
  }
  regionPtrs[me] = (uint64_t)(uintptr_t)st->region;
  ACCLCHECKGOTO(acclBootstrapAllGather(comm->bootstrap, regionPtrs, sizeof(uint64_t)), res, out);

  for (int q = 0; q < n; q++) {
    if (!served[q]) continue;
    const acclPeerInfo* pi = &comm->peerInfo[q];
    if (pi->pid == comm->peerInfo[me].pid) {
      st->peerDelta[q] = 0; /* same process (acclCommInitAll): same address space */
    } else {
      void* base = NULL;
      accError_t e = accDevWindowOpen(&pi->window, &base);
      if (e != accSuccess) {
        WARN("shm rank %d: cannot map the device memory of rank %d (pid %d): %s", me, q, pi->pid, accGetErrorString(e));
        res = acclSystemError;
        goto out;
      }
      st->peerWindowBase[q] = base;
      st->peerMapped[q] = 1;
      st->peerDelta[q] = (int64_t)((uintptr_t)base - pi->window.base);
    }
    st->peerRegion[q] = (char*)shmPeerPtr(st, q, regionPtrs[q]);
  }

  for (int lane = 0; lane < args->nLanes; lane++) {
    for (int q = 0; q < n; q++) {
      if (!served[q]) continue;
      acclShmConnPriv* sp = &st->priv[((size_t)lane * n + q) * 2];
      acclShmConnPriv* rp = sp + 1;
      acclShmHead* remoteHead = headOf(st, st->peerRegion[q], lane, me);
      sp->head = &remoteHead->head;
      sp->sizes = remoteHead->sizes;
      sp->sigs = remoteHead->sigs;
      sp->slots = fifoOf(st, st->peerRegion[q], lane, me);
      sp->tail = &tailOf(st, st->region, lane, q)->tail;
      acclShmHead* myHead = headOf(st, st->region, lane, q);
      rp->head = &myHead->head;
      rp->sizes = myHead->sizes;
      rp->sigs = myHead->sigs;
      rp->slots = fifoOf(st, st->region, lane, q);
      rp->tail = &tailOf(st, st->peerRegion[q], lane, me)->tail;
      *acclConnSend(conns, lane, q) = (acclConn){&shmConnOps, q, l->nslots, l->slotBytes, 0, sp};
      *acclConnRecv(conns, lane, q) = (acclConn){&shmConnOps, q, l->nslots, l->slotBytes, 0, rp};
    }
  }
  INFO(ACCL_SHM, "shm rank %d: region of %zu bytes, %d lanes x %d slots x %zu bytes, LL inbox %zu bytes", me, l->total,
       args->nLanes, l->nslots, l->slotBytes, l->llBytes);
out:
  free(regionPtrs);
  free(served);
  if (res != acclSuccess) {
    shmTeardown(comm, st, 1);
    *state = NULL;
  }
  return res;
}

static int shmFailedPeer(void* state) {
  acclShmState* st = state;
  const struct acclComm* comm = st->comm;
  for (int q = 0; q < comm->nranks; q++) {
    if (st->peerRegion[q] == NULL || comm->peerInfo[q].pid == comm->peerInfo[st->me].pid) continue;
    if (acclPidDead(comm->peerInfo[q].pid)) return q; /* a peer process that died */
  }
  return -1;
}

static void shmTeardown(struct acclComm* comm, void* state, int abort) {
  (void)abort;
  acclShmState* st = state;
  if (st->peerMapped)
    for (int q = 0; q < comm->nranks; q++)
      if (st->peerMapped[q]) accDevWindowClose(st->peerWindowBase[q]);
  if (st->region) {
    accSetDevice(comm->device);
    accFree(st->region);
  }
  free(st->peerRegion);
  free(st->peerWindowBase);
  free(st->peerDelta);
  free(st->peerMapped);
  free(st->priv);
  free(st);
}

const acclTransport acclShmTransport = {
    .name = "shm",
    .network = 0,
    .canConnect = shmCanConnect,
    .setup = shmSetup,
    .failedPeer = shmFailedPeer,
    .teardown = shmTeardown,
    .peerMem = &shmPeerMemOps,
};
