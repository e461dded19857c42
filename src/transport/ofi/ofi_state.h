/*
 * ofi_state.h - the state of the ofi transport (see ofi.h for the files).
 *
 * Every rank opens one FI_EP_RDM endpoint per rail (a NIC, or several
 * endpoints on one NIC when ACCL_OFI_NRAILS asks for more than the NICs
 * found). A connection keeps the FIFO contract of transport.h with step
 * buffers on BOTH sides, all in one registered device-memory region. Two
 * protocols move a step (ACCL_OFI_PROTOCOL=auto|rma|tagged):
 *  rma    (when the provider offers FI_RMA and 8 bytes of remote CQ data) the
 *         receiver's slots are the posted buffers: the sender writes each
 *         piece straight into the peer's slot with fi_writedata, and the
 *         remote CQ data names lane, sender, slot, piece count and length;
 *         the receiver hands slots back with a write whose CQ data carries
 *         its release count. No tag matching, no rendezvous round trip per
 *         slot, no posted receives.
 *  tagged a tagged send per piece into a receive the receiver posted into
 *         its slot when it released it (tags: ofi_wire.h).
 * Every rank computes where every peer keeps each connection's slots and
 * flags (acclOfiConnIndex), so only the region's base and keys travel.
 *
 * Completions follow the context pattern of aws-ofi-nccl: every operation
 * posted carries an acclOfiReq whose provider context comes first and whose
 * `complete` handler says what its completion means; ofi_cq.c only reads the
 * queues and calls handlers. Remote writes (rma) carry no context of ours:
 * the queue reader hands their CQ data to the state's `remoteWrite` handler.
 */
#ifndef ACCL_OFI_STATE_H_
#define ACCL_OFI_STATE_H_

#include <pthread.h>
#include <rdma/fabric.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>
#include <rdma/fi_tagged.h>
#include "core/fabric.h" /* after the rdma headers: redirects fi_getinfo & co */
#include "transport/ofi/ofi_wire.h"
#include "transport/transport.h"

struct acclComm;
struct acclOfiConnPriv;
struct acclOfiState;
struct acclOfiReq;

/* What a request's completion does. `len`: bytes the completion reports;
 * `failed`: the operation failed (the queue reader has already logged it,
 * marked the peer and failed the communicator): only bookkeeping is left. */
typedef void (*acclOfiReqFn)(struct acclOfiReq* req, size_t len, int failed);

/* Operation context of one posted operation (a piece: one rail of one slot,
 * or a credit write); the provider's context area comes first as FI_CONTEXT /
 * FI_CONTEXT2 require. */
typedef struct acclOfiReq {
  struct fi_context2 ctx;
  acclOfiReqFn complete;
  struct acclOfiConnPriv* conn;
  int slot, rail; /* rail -1: any (its queue may be shared by rails) */
  int busy;       /* credit requests: posted, not completed */
} acclOfiReq;

typedef struct acclOfiConnPriv {
  struct acclOfiState* st;
  int peer, lane, isSend;
  char* slots;                  /* nslots x slotBytes, registered */
  volatile uint64_t* done;      /* [nslots] step+1 once all pieces completed (device memory: wakes the engine) */
  volatile uint64_t* sizes;     /* [nslots] receiver: bytes that arrived */
  uint64_t* arrived;            /* [nslots] rma receiver: pieces that arrived */
  uint64_t credit;              /* rma sender: steps the receiver released (from its credits and trailers) */
  uint64_t released, announced; /* rma receiver: steps released; the most the peer has been told of */
  uint64_t remoteSlots;         /* rma sender: the peer's slots of this connection (address or offset) */
  uint64_t remoteCredit;        /* rma receiver: the word of the peer's region that credit writes land in (unread) */
  uint64_t* creditSrc;          /* rma receiver: registered 8 bytes credit writes are sent from (content unused) */
  acclOfiReq* creditReqs;       /* rma receiver: [2 * nslots] contexts of credit writes in flight */
  uint64_t creditsPosted;
  uint64_t stepsPosted; /* sender (engine): steps handed to the provider */
  uint64_t stepsDone;   /* sender (completions): steps whose every piece completed */
  int* pending;         /* [nslots] pieces still in flight */
  uint64_t* stepOf;     /* [nslots] step the slot holds now */
  acclOfiReq* reqs;     /* [nslots x nrails] */
} acclOfiConnPriv;

typedef struct acclOfiRail {
  int owner; /* the rail whose fabric, domain and completion queue this one uses (itself, or an
                earlier rail on the same NIC: one queue read progresses all its endpoints) */
  struct fi_info* info;
  struct fid_fabric* fabric;
  struct fid_domain* domain;
  struct fid_av* av;
  struct fid_cq* cq;
  struct fid_ep* ep;
  struct fid_mr* mr;
  void* desc;          /* local descriptor of the region (FI_MR_LOCAL) */
  fi_addr_t* peerAddr; /* [nranks] */
} acclOfiRail;

typedef struct acclOfiState {
  struct acclComm* comm;
  int nranks;
  int nrails, nslots;
  size_t slotBytes, pieceBytes; /* a slot is striped in pieces of pieceBytes, one per rail */
  int rma;                      /* the rma protocol runs (every rank can) */
  int nLanes;
  const acclTransportSet* set; /* which pairs are ours: acclTransportOf(set, a, b) == self */
  int self;
  size_t flagBytes, flagsTotal; /* region layout, see acclOfiConnIndex */
  acclOfiConnPriv** byLaneRank; /* [(lane * nranks + peer) * 2 + dir (0 send, 1 receive)] */
  acclOfiRail rails[ACCL_OFI_MAX_RAILS];
  acclOfiAddrRecord* addrs; /* [nranks] */
  char* region;             /* device memory: flags, then slots */
  size_t regionBytes;
  int nConns;
  acclOfiConnPriv* conns;          /* [nConns] */
  volatile int* peerFailed;        /* [nranks] */
  uint64_t postedSends, doneSends; /* pieces; teardown drains the difference */
  /* rma: a peer's remote write with CQ data `data` arrived (any thread that reads a queue) */
  void (*remoteWrite)(struct acclOfiState* st, uint64_t data);
  /* the protocol's sender: the pieces of `step` from buf (descs[rail]) */
  acclResult_t (*postStep)(struct acclOfiConnPriv* c, uint64_t step, char* buf, void** descs, size_t bytes);
  pthread_mutex_t mrLock; /* the registration cache (engine vs accFree on any thread) */
  struct acclOfiMrEntry* mrCache;
  int mrCount, mrCap, mrReady;
  uint64_t mrNextKey;
  pthread_t proxy;
  int proxyRunning;
  volatile int stop;
  char provName[64];
} acclOfiState;

/* Our connection with `peer` on `lane` (dir 0 send, 1 receive); NULL when
 * that peer is not reached over ofi. */
static inline acclOfiConnPriv** acclOfiConnSlot(const acclOfiState* st, int lane, int peer, int dir) {
  return &st->byLaneRank[((size_t)lane * (size_t)st->nranks + (size_t)peer) * 2 + (size_t)dir];
}
static inline char* acclOfiSlot(acclOfiConnPriv* c, int slot) { return c->slots + (size_t)slot * c->st->slotBytes; }

#endif
