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
 *   FIFO heads   [lanes][nranks]     posted count + sizes and call signatures
 *                                    of steps sent TO us
 *   FIFO slots   [lanes][nranks][nslots][slotBytes]
 */
#ifndef ACCL_SHM_H_
#define ACCL_SHM_H_

#include <stdint.h>
#include "transport/transport.h"

#define ACCL_CACHELINE 64

typedef struct {
  volatile uint64_t head; /* steps posted by the sender */
  uint64_t pad0[7];
  volatile uint64_t sizes[ACCL_FIFO_MAX_SLOTS];
  volatile uint64_t sigs[ACCL_FIFO_MAX_SLOTS][3]; /* call signature of the step in each slot */
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
  struct acclComm* comm;
  int me;
  acclShmLayout layout;
  char* region;                 /* our region (device memory) */
  char** peerRegion;            /* [nranks] peer regions mapped here (NULL: not served by shm) */
  void** peerWindowBase;        /* [nranks] local base of the peer's mapped window */
  int64_t* peerDelta;           /* [nranks] local address = peer address + delta */
  int* peerMapped;              /* [nranks] 1 when we opened a window mapping (to close) */
  struct acclShmConnPriv* priv; /* per connection private state */
} acclShmState;

/* Region layout (pure: unit tests check it). */
void acclShmComputeLayout(acclShmLayout* l, int nranks, int nLanes, int nslots, size_t slotBytes, size_t llBytes);

extern const acclTransport acclShmTransport;

#endif
