/*
 * shm.h - shared-memory transport inside one node.
 *
 * Each rank allocates one region in its own device memory; peers on the node
 * map the rank's whole device window once (device IPC), so every structure
 * below is reached with plain loads and stores - what chip-to-chip links give
 * real hardware. Flags that a rank waits on always live in ITS region (the
 * writer stores remotely and rings the owner's doorbell), so a sleeping
 * engine is woken by whoever makes its work runnable.
 *
 * Region layout (offsets identical on every rank, see acclShmLayout):
 *   peer slots   [nranks]            direct algorithms: peers publish buffer
 *                                    pointers and arrive/done sequence numbers
 *   LL inboxes   [nranks][2 parity]  one-shot LL: peers write 8-byte lines
 *                                    (4 data bytes + 4 flag bytes)
 *   FIFO tails   [lanes][nranks]     credits of OUR sends, written by receivers
 *   FIFO heads   [lanes][nranks]     posted count + sizes of steps sent TO us
 *   FIFO slots   [lanes][nranks][nslots][slotBytes]
 */
#ifndef ACCL_SHM_H_
#define ACCL_SHM_H_

#include <stdint.h>
#include "transport/transport.h"

#define ACCL_CACHELINE 64
#define ACCL_SHM_MAX_SLOTS 16

/* What peer q publishes in our region for direct (single-copy) collectives. */
typedef struct {
  volatile uint64_t arrive;  /* sequence number of the collective q has reached */
  volatile uint64_t done;    /* sequence number of the collective q has finished its part of */
  volatile uint64_t sendPtr; /* q's buffers in q's address space */
  volatile uint64_t recvPtr;
  uint64_t pad[4];
} acclShmPeerSlot;

typedef struct {
  volatile uint64_t head; /* steps posted by the sender */
  uint64_t pad0[7];
  volatile uint64_t sizes[ACCL_SHM_MAX_SLOTS];
} acclShmHead;

typedef struct {
  volatile uint64_t tail; /* steps released by the receiver */
  uint64_t pad[7];
} acclShmTail;

typedef struct {
  int nranks, nLanes, nslots;
  size_t slotBytes;
  size_t llBytes; /* bytes of LL lines per inbox (per parity) */
  size_t offSlots, offLL, offTails, offHeads, offFifo, total;
} acclShmLayout;

typedef struct acclShmState {
  acclShmLayout layout;
  char* region;                 /* our region (device memory) */
  char** peerRegion;            /* [nranks] peer regions mapped here (NULL: not on our node) */
  void** peerWindowBase;        /* [nranks] local base of the peer's mapped window */
  int64_t* peerDelta;           /* [nranks] local address = peer address + delta */
  int* peerMapped;              /* [nranks] 1 when we opened a window mapping (to close) */
  struct acclShmConnPriv* priv; /* per connection private state */
} acclShmState;

void acclShmComputeLayout(acclShmLayout* l, int nranks, int nLanes, int nslots, size_t slotBytes, size_t llBytes);

/* Set up regions and connections for every same-node peer in every lane. */
acclResult_t acclShmSetup(struct acclComm* comm, acclShmState* st, struct acclConnTable* conns);
void acclShmTeardown(struct acclComm* comm, acclShmState* st);

/* Region accessors. `owner` is whose region; returns a local pointer. */
static inline char* acclShmRegionOf(acclShmState* st, int owner, int me) {
  return owner == me ? st->region : st->peerRegion[owner];
}
static inline acclShmPeerSlot* acclShmSlot(acclShmState* st, int owner, int me, int writer) {
  return (acclShmPeerSlot*)(acclShmRegionOf(st, owner, me) + st->layout.offSlots +
                            (size_t)writer * sizeof(acclShmPeerSlot));
}
static inline uint64_t* acclShmLLInbox(acclShmState* st, int owner, int me, int writer, int parity) {
  return (uint64_t*)(acclShmRegionOf(st, owner, me) + st->layout.offLL +
                     ((size_t)writer * 2 + (size_t)parity) * st->layout.llBytes);
}
/* A peer's buffer pointer translated into our address space. */
static inline void* acclShmPeerPtr(acclShmState* st, int peer, uint64_t remotePtr) {
  return (void*)(uintptr_t)((int64_t)remotePtr + st->peerDelta[peer]);
}

extern const acclTransportOps acclShmOps;

#endif
