/*
 * transport.h - how collectives reach peers, whatever the link: one table per
 * transport for its whole life (choose, set up, data path, liveness, peer
 * memory, tear down), as NCCL's struct ncclTransport and libfabric's ops
 * tables do. Callers use the inline wrappers below, never the tables.
 *
 * A connection is a one-way FIFO of `nslots` step buffers of `slotBytes`
 * each, living where the receiver can read it. The sender asks for the buffer
 * of its next step (NULL while the receiver still holds it), fills it with
 * the device engines, and posts it; the receiver asks for the buffer of its
 * next step (NULL until posted), consumes it and releases it. Steps are
 * numbered from 0 for the life of the connection, so collectives issued back
 * to back pipeline through the same FIFO.
 *
 * transport.c chooses a transport for every pair of ranks (the first in
 * table order that can connect them: shm inside a node, ofi between nodes or
 * everywhere with ACCL_TRANSPORT=ofi), owns the FIFO geometry, and keeps
 * each transport's state opaque. No file outside src/transport/ includes a
 * transport's own header.
 */
#ifndef ACCL_TRANSPORT_H_
#define ACCL_TRANSPORT_H_

#include <stddef.h>
#include <stdint.h>
#include "core/core.h"

struct acclComm;
struct acclConn;

/* ---------------------------------------------------------------- data path */

typedef struct acclConnOps {
  /* Sender: buffer of step `step`, or NULL while no credit is available. */
  void* (*sendBuf)(struct acclConn* c, uint64_t step);
  /* Sender: step's buffer holds `bytes` bytes; publish it to the receiver. */
  acclResult_t (*sendPost)(struct acclConn* c, uint64_t step, size_t bytes);
  /* Receiver: buffer of step `step` and its size, or NULL until it arrives. */
  const void* (*recvBuf)(struct acclConn* c, uint64_t step, size_t* bytes);
  /* Receiver: done with step's buffer; give the slot back to the sender. */
  acclResult_t (*recvRelease)(struct acclConn* c, uint64_t step);
  /* Optional (NULL: not offered). Sender: post step's `bytes` straight from
   * `src` in device memory instead of a step buffer (zero copy). Takes the
   * same credit as sendBuf: call only once sendBuf(step) returned non-NULL.
   * `src` must stay unchanged until sendIdle reports it. */
  acclResult_t (*sendFrom)(struct acclConn* c, uint64_t step, const void* src, size_t bytes);
  /* Every send posted on the connection has completed (polls the transport). */
  int (*sendIdle)(struct acclConn* c);
  /* Optional (NULL: not carried). The call signature of step `step` (three
   * words, collectives/plan.h's acclSig): the sender sets it before posting
   * the step; the receiver reads it once the step has arrived (returns 1) or
   * learns that this connection does not carry it (0). */
  void (*sendSig)(struct acclConn* c, uint64_t step, const uint64_t sig[3]);
  int (*recvSig)(struct acclConn* c, uint64_t step, uint64_t sig[3]);
} acclConnOps;

/* One direction of a FIFO to or from one peer. */
typedef struct acclConn {
  const acclConnOps* ops; /* NULL: the peer is not connected */
  int peer;               /* rank of the other end */
  int nslots;
  size_t slotBytes;
  uint64_t step; /* next step this side will use */
  void* priv;    /* transport's own state */
} acclConn;

static inline void* acclConnSendBuf(acclConn* c, uint64_t step) { return c->ops->sendBuf(c, step); }
static inline acclResult_t acclConnSendPost(acclConn* c, uint64_t step, size_t bytes) {
  return c->ops->sendPost(c, step, bytes);
}
static inline const void* acclConnRecvBuf(acclConn* c, uint64_t step, size_t* bytes) {
  return c->ops->recvBuf(c, step, bytes);
}
static inline acclResult_t acclConnRecvRelease(acclConn* c, uint64_t step) { return c->ops->recvRelease(c, step); }
static inline int acclConnCanSendFrom(const acclConn* c) { return c->ops->sendFrom != NULL; }
static inline acclResult_t acclConnSendFrom(acclConn* c, uint64_t step, const void* src, size_t bytes) {
  return c->ops->sendFrom(c, step, src, bytes);
}
static inline int acclConnSendIdle(acclConn* c) { return c->ops->sendIdle ? c->ops->sendIdle(c) : 1; }
static inline void acclConnSendSig(acclConn* c, uint64_t step, const uint64_t sig[3]) {
  if (c->ops->sendSig) c->ops->sendSig(c, step, sig);
}
static inline int acclConnRecvSig(acclConn* c, uint64_t step, uint64_t sig[3]) {
  return c->ops->recvSig ? c->ops->recvSig(c, step, sig) : 0;
}

/* All connections of a communicator: [lane][peer] for sends and receives.
 * Lanes 0..nChannels-1 carry collective channels, then the trees' and the
 * point-to-point lanes. */
typedef struct acclConnTable {
  int nLanes;
  int nranks;
  acclConn* send; /* nLanes x nranks */
  acclConn* recv;
} acclConnTable;

static inline acclConn* acclConnSend(acclConnTable* t, int lane, int peer) { return &t->send[lane * t->nranks + peer]; }
static inline acclConn* acclConnRecv(acclConnTable* t, int lane, int peer) { return &t->recv[lane * t->nranks + peer]; }

/* ---------------------------------------------------------- peer memory */

#define ACCL_SIG_HIST 8

/* What rank `writer` publishes in rank `owner`'s memory for the direct
 * (single-copy) algorithms: its buffers and how far it got. */
typedef struct {
  volatile uint64_t arrive;  /* sequence number of the collective the writer has reached */
  volatile uint64_t done;    /* sequence number of the collective the writer has finished its part of */
  volatile uint64_t sendPtr; /* the writer's buffers in the writer's address space */
  volatile uint64_t recvPtr;
  /* one-shot LL: sequence number of the last LL collective whose lines from
   * the owner the writer has read (the owner may then reuse that inbox) */
  volatile uint64_t llAck;
  /* the signature of the collective the writer last started (seq, count,
   * function / datatype / op / root; see acclSig in collectives/plan.h):
   * seq is written last, and zeroed first while the others change */
  volatile uint64_t sigSeq, sigCount, sigMeta;
  /* the same for the writer's last ACCL_SIG_HIST collectives, entry seq %
   * ACCL_SIG_HIST ({seq, count, meta}, seq written last): a plan that
   * finished early (a Broadcast root) still finds a peer's signature for its
   * own collective after that peer went on to the next one */
  volatile uint64_t sigHist[ACCL_SIG_HIST][3];
} acclPeerSlot;

/* Peer memory mapped into our address space (shm offers it): the direct and
 * LL algorithms read and write peers' buffers and flags through it. */
typedef struct acclPeerMemOps {
  /* Local pointer to the slot `writer` fills in `owner`'s memory. */
  acclPeerSlot* (*slot)(void* state, int owner, int writer);
  /* Local pointer to the LL inbox (`parity` 0/1) that `writer` fills in `owner`'s memory. */
  uint64_t* (*llInbox)(void* state, int owner, int writer, int parity);
  /* A pointer of `peer`'s address space, seen from ours. */
  void* (*peerPtr)(void* state, int peer, uint64_t remotePtr);
} acclPeerMemOps;

typedef struct {
  const acclPeerMemOps* ops; /* NULL: some peer is not mapped (direct / LL plans impossible) */
  void* state;
} acclPeerMem;

static inline acclPeerSlot* acclPeerMemSlot(const acclPeerMem* pm, int owner, int writer) {
  return pm->ops->slot(pm->state, owner, writer);
}
static inline uint64_t* acclPeerMemLLInbox(const acclPeerMem* pm, int owner, int writer, int parity) {
  return pm->ops->llInbox(pm->state, owner, writer, parity);
}
static inline void* acclPeerMemPtr(const acclPeerMem* pm, int peer, uint64_t remotePtr) {
  return pm->ops->peerPtr(pm->state, peer, remotePtr);
}

/* ------------------------------------------------------------ lifecycle */

/* An LL inbox starts with this many bytes of header lines (the writer's call
 * signature, 4 bytes per 8-byte line), then the data lines. */
#define ACCL_LL_HEADER_BYTES 64

#define ACCL_TRANSPORT_MAX 2
#define ACCL_FIFO_MAX_SLOTS 16

/* What every transport's setup is given. */
typedef struct acclTransportArgs {
  int nLanes, nslots;
  size_t slotBytes;
  size_t llBytes;   /* LL inbox bytes per peer and parity, header lines included (peer-memory transports) */
  int forceNetwork; /* ACCL_TRANSPORT=ofi: every peer over the network transport */
  const struct acclTransportSet* set;
  int self; /* this transport's index: it serves the pairs acclTransportOf(set, a, b) == self */
} acclTransportArgs;

typedef struct acclTransport {
  const char* name;
  int network; /* peers beyond this machine's memory: plans wait on the network */
  /* Can this transport connect ranks a and b? A pure function of the
   * communicator's peer table: every rank gets the same answer for any pair. */
  int (*canConnect)(const struct acclComm* comm, const acclTransportArgs* args, int a, int b);
  /* Collective over the communicator (every rank calls it when any pair uses
   * the transport): connect our connections to the pairs it serves, in every
   * lane. *state is the transport's own. */
  acclResult_t (*setup)(struct acclComm* comm, const acclTransportArgs* args, acclConnTable* conns, void** state);
  /* A peer this transport serves is gone: its rank, or -1. Cheap enough to
   * call every 100 ms from a blocked plan. */
  int (*failedPeer)(void* state);
  /* Optional: the communicator is finalized (acclCommFinalize): wait, with
   * ACCL_TIMEOUT and asyncError watched, until every send this rank posted
   * has completed. Local; acclTransportsFinalize adds the collective step. */
  acclResult_t (*finalize)(struct acclComm* comm, void* state);
  /* Release everything, locally: never waits for a peer (abort: not even for
   * this rank's in-flight sends). */
  void (*teardown)(struct acclComm* comm, void* state, int abort);
  /* Optional: mapped peer memory (NULL: none). */
  const acclPeerMemOps* peerMem;
} acclTransport;

/* The transports of one communicator. */
typedef struct acclTransportSet {
  struct acclComm* comm;
  acclTransportArgs args; /* geometry shared by every transport */
  int n;                  /* transports in the table */
  const acclTransport* const* table;
  void* state[ACCL_TRANSPORT_MAX]; /* NULL: not set up */
  int network;                     /* some peer is reached through a network transport */
  int anyNetwork;                  /* some pair of the communicator uses one (same on every rank) */
  acclPeerMem peerMem;             /* every peer mapped through one transport, else ops NULL */
} acclTransportSet;

/* Choose, set up and connect every transport the communicator needs: reads
 * ACCL_TRANSPORT and the FIFO geometry (ACCL_SLOT_BYTES, ACCL_NSLOTS,
 * ACCL_LL_MAX_BYTES), allocates conns for nLanes lanes. Collective. */
acclResult_t acclTransportsSetup(struct acclComm* comm, int nLanes, acclTransportSet* set, acclConnTable* conns);
/* Collective: every transport's finalize, then (where any pair uses a
 * network transport and no asynchronous error is known) a bootstrap barrier,
 * so that no rank closes its endpoints while a peer still receives from it or
 * returns it credits. After it, teardown frees without waiting for anyone. */
acclResult_t acclTransportsFinalize(acclTransportSet* set);
void acclTransportsTeardown(acclTransportSet* set, acclConnTable* conns, int abort);
/* Index in the table of the transport that serves ranks a and b (-1: none, a == b). */
int acclTransportOf(const acclTransportSet* set, int a, int b);
/* A peer any transport reports gone (its rank), or -1. */
int acclTransportsFailedPeer(const acclTransportSet* set);
/* Largest recursive-doubling message the FIFOs allow (half a FIFO). */
static inline size_t acclTransportHalfFifo(const acclTransportSet* set) {
  return (size_t)(set->args.nslots / 2) * set->args.slotBytes;
}

#endif
