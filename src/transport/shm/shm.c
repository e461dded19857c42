/* shm.c - shared-memory transport: regions in device memory, mapped by peers
 * on the node through device IPC windows; FIFO connections over them. */
#include "transport/shm/shm.h"
#include <stdlib.h>
#include <string.h>
#include "comm/comm.h"

typedef struct acclShmConnPriv {
  volatile uint64_t* head;  /* in the receiver's region */
  volatile uint64_t* sizes; /* in the receiver's region */
  volatile uint64_t* tail;  /* in the sender's region */
  char* slots;              /* in the receiver's region */
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
  off += ACCL_ALIGN_UP(sizeof(acclShmPeerSlot) * (size_t)nranks, 4096);
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

static acclResult_t shmRecvRelease(acclConn* c, uint64_t step) {
  acclShmConnPriv* p = c->priv;
  accDevSignal(p->tail, step + 1);
  return acclSuccess;
}

static int shmPeerFailed(acclConn* c) {
  (void)c;
  return 0; /* detected through the peer's pid by the executor's liveness check */
}

/* no zero-copy sends: a step buffer in the receiver's memory is already the one copy */
const acclTransportOps acclShmOps = {"shm",          shmSendBuf,    shmSendPost, shmRecvBuf,
                                     shmRecvRelease, shmPeerFailed, NULL,        NULL};

static int sameNode(const struct acclComm* comm, int q) { return comm->nodeOf[q] == comm->node; }

acclResult_t acclShmSetup(struct acclComm* comm, acclShmState* st, acclConnTable* conns) {
  const int n = comm->nranks, me = comm->rank;
  acclShmLayout* l = &st->layout;
  acclResult_t res = acclSuccess;
  uint64_t* regionPtrs = NULL;
  ACCCHECK(accSetDevice(comm->device));
  ACCCHECK(accMalloc((void**)&st->region, l->total));
  ACCCHECK(accMemset(st->region, 0, l->total));
  st->peerRegion = calloc((size_t)n, sizeof(char*));
  st->peerWindowBase = calloc((size_t)n, sizeof(void*));
  st->peerDelta = calloc((size_t)n, sizeof(int64_t));
  st->peerMapped = calloc((size_t)n, sizeof(int));
  st->priv = calloc((size_t)conns->nLanes * n * 2, sizeof(acclShmConnPriv));
  regionPtrs = calloc((size_t)n, sizeof(uint64_t));
  if (!st->peerRegion || !st->peerWindowBase || !st->peerDelta || !st->peerMapped || !st->priv || !regionPtrs) {
    res = acclSystemError;
    goto out;
  }
  regionPtrs[me] = (uint64_t)(uintptr_t)st->region;
  ACCLCHECKGOTO(acclBootstrapAllGather(comm->bootstrap, regionPtrs, sizeof(uint64_t)), res, out);

  for (int q = 0; q < n; q++) {
    if (q == me || !sameNode(comm, q)) continue;
    const acclPeerInfo* pi = &comm->peerInfo[q];
    if (pi->pid == comm->peerInfo[me].pid) {
      st->peerDelta[q] = 0; /* same process (acclCommInitAll): same address space */
    } else {
      void* base = NULL;
      accError_t e = accDevWindowOpen(&pi->window, &base);
      if (e != accSuccess) {
        WARN("shm: cannot map the device memory of rank %d (pid %d): %s", q, pi->pid, accGetErrorString(e));
        res = acclSystemError;
        goto out;
      }
      st->peerWindowBase[q] = base;
      st->peerMapped[q] = 1;
      st->peerDelta[q] = (int64_t)((uintptr_t)base - pi->window.base);
    }
    st->peerRegion[q] = (char*)acclShmPeerPtr(st, q, regionPtrs[q]);
  }

  for (int lane = 0; lane < conns->nLanes; lane++) {
    for (int q = 0; q < n; q++) {
      if (q == me || !sameNode(comm, q)) continue;
      acclShmConnPriv* sp = &st->priv[((size_t)lane * n + q) * 2];
      acclShmConnPriv* rp = sp + 1;
      acclShmHead* remoteHead = headOf(st, st->peerRegion[q], lane, me);
      sp->head = &remoteHead->head;
      sp->sizes = remoteHead->sizes;
      sp->slots = fifoOf(st, st->peerRegion[q], lane, me);
      sp->tail = &tailOf(st, st->region, lane, q)->tail;
      acclShmHead* myHead = headOf(st, st->region, lane, q);
      rp->head = &myHead->head;
      rp->sizes = myHead->sizes;
      rp->slots = fifoOf(st, st->region, lane, q);
      rp->tail = &tailOf(st, st->peerRegion[q], lane, me)->tail;
      acclConn* s = acclConnSend(conns, lane, q);
      acclConn* r = acclConnRecv(conns, lane, q);
      *s = (acclConn){&acclShmOps, q, l->nslots, l->slotBytes, 0, sp};
      *r = (acclConn){&acclShmOps, q, l->nslots, l->slotBytes, 0, rp};
    }
  }
  INFO(ACCL_SHM, "shm: region of %zu bytes, %d lanes x %d slots x %zu bytes, LL inbox %zu bytes", l->total,
       conns->nLanes, l->nslots, l->slotBytes, l->llBytes);
out:
  free(regionPtrs);
  return res;
}

void acclShmTeardown(struct acclComm* comm, acclShmState* st) {
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
  memset(st, 0, sizeof(*st));
}
