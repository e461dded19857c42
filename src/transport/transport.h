/*
 * transport.h - how collectives move chunks between ranks, whatever the link.
 *
 * A connection is a one-way FIFO of `nslots` step buffers of `slotBytes`
 * each, living where the receiver can read it. The sender asks for the buffer
 * of its next step (NULL while the receiver still holds it), fills it with
 * the device engines, and posts it; the receiver asks for the buffer of its
 * next step (NULL until posted), consumes it and releases it. Steps are
 * numbered from 0 for the life of the connection, so collectives issued back
 * to back pipeline through the same FIFO.
 *
 * Every transport (shm: peer memory mapped through device IPC windows; ofi:
 * libfabric RDM endpoints driven by a proxy) fills an acclTransportOps table;
 * the executor only calls through it.
 */
#ifndef ACCL_TRANSPORT_H_
#define ACCL_TRANSPORT_H_

#include <stddef.h>
#include <stdint.h>
#include "core/core.h"

struct acclComm;
struct acclConn;

typedef struct acclTransportOps {
  const char* name;
  /* Sender: buffer of step `step`, or NULL while no credit is available. */
  void* (*sendBuf)(struct acclConn* c, uint64_t step);
  /* Sender: step's buffer holds `bytes` bytes; publish it to the receiver. */
  acclResult_t (*sendPost)(struct acclConn* c, uint64_t step, size_t bytes);
  /* Receiver: buffer of step `step` and its size, or NULL until it arrives. */
  const void* (*recvBuf)(struct acclConn* c, uint64_t step, size_t* bytes);
  /* Receiver: done with step's buffer; give the slot back to the sender. */
  acclResult_t (*recvRelease)(struct acclConn* c, uint64_t step);
  /* Non-zero when the peer is known to be gone (the executor then fails with acclRemoteError). */
  int (*peerFailed)(struct acclConn* c);
  /* Optional (NULL: not offered). Sender: post step's `bytes` straight from
   * `src` in device memory instead of a step buffer (zero copy). Takes the
   * same credit as sendBuf: call only once sendBuf(step) returned non-NULL.
   * `src` must stay unchanged until sendIdle reports it. */
  acclResult_t (*sendFrom)(struct acclConn* c, uint64_t step, const void* src, size_t bytes);
  /* Every send posted on the connection has completed (polls the transport). */
  int (*sendIdle)(struct acclConn* c);
} acclTransportOps;

/* One direction of a FIFO to or from one peer. */
typedef struct acclConn {
  const acclTransportOps* ops;
  int peer; /* rank of the other end */
  int nslots;
  size_t slotBytes;
  uint64_t step; /* next step this side will use */
  void* priv;    /* transport's own state */
} acclConn;

/* All connections of a communicator: [lane][peer] for sends and receives.
 * Lanes 0..nChannels-1 carry collective channels; lane nChannels carries
 * point-to-point traffic. */
typedef struct acclConnTable {
  int nLanes;
  int nranks;
  acclConn* send; /* nLanes x nranks */
  acclConn* recv;
} acclConnTable;

static inline acclConn* acclConnSend(acclConnTable* t, int lane, int peer) { return &t->send[lane * t->nranks + peer]; }
static inline acclConn* acclConnRecv(acclConnTable* t, int lane, int peer) { return &t->recv[lane * t->nranks + peer]; }

#endif
