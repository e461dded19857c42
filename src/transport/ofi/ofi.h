/*
 * ofi.h - network transport over libfabric reliable-datagram endpoints.
 *
 * Every rank opens one FI_EP_RDM endpoint per rail (a NIC, or several
 * endpoints on one NIC when ACCL_OFI_NRAILS asks for more than the NICs
 * found). A connection keeps the FIFO contract of transport.h with step
 * buffers on BOTH sides, all in one registered device-memory region: the
 * engine fills the sender's slot, sendPost hands it to the provider as
 * tagged sends striped over the rails; the receiver has the matching
 * receives posted into its own slots and a completion makes the step
 * visible. A proxy thread per communicator drives the completion queues and
 * rings the device doorbell so the sleeping engine resumes.
 *
 * Two protocols move a step (ACCL_OFI_PROTOCOL=auto|rma|tagged):
 *  rma    (when the provider offers FI_RMA and 8 bytes of remote CQ data) the
 *         receiver's slots are the posted buffers: the sender writes each
 *         piece straight into the peer's slot with fi_writedata, and the
 *         remote CQ data names lane, sender, slot, piece count and length;
 *         the receiver hands slots back with a write whose CQ data carries
 *         its release count (fi_writedata). No tag matching, no
 *         rendezvous round trip per slot, no posted receives.
 *  tagged a tagged send per piece into a receive the receiver posted into
 *         its slot when it released it. Tag of a piece:
 *         | lane (8) | sender rank (24) | step (32) |: the step makes every
 *         message match exactly one posted receive, in any completion order.
 * Every rank computes where every peer keeps each connection's slots and
 * flags (acclOfiConnIndex), so only the region's base and keys travel.
 */
#ifndef ACCL_OFI_H_
#define ACCL_OFI_H_

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
#include "transport/transport.h"

#define ACCL_OFI_MAX_RAILS 4
#define ACCL_OFI_NAME_BYTES 64
#define ACCL_OFI_STRIPE_ALIGN 128

struct acclComm;
struct acclOfiConnPriv;

/* Operation context of one piece (one rail of one slot); the provider's
 * context area comes first as FI_CONTEXT / FI_CONTEXT2 require. */
typedef struct acclOfiReq {
  struct fi_context2 ctx;
  struct acclOfiConnPriv* conn;
  int slot, rail;
  int credit; /* rma: a credit write; its completion only frees the request */
  int busy;   /* credit requests: posted, not completed */
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
  int* pending;         /* [nslots] pieces still in flight (proxy thread only) */
  uint64_t* stepOf;     /* [nslots] step the slot holds now */
  acclOfiReq* reqs;     /* [nslots x nrails] */
} acclOfiConnPriv;

typedef struct acclOfiRail {
  int owner; /* the rail whose fabric, domain and completion queue this one uses (itself, or an
                                * earlier rail on the same NIC: one queue read progresses all its endpoints) */
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

/* What each rank publishes through the bootstrap. */
typedef struct {
  int nrails;
  int rma; /* can run the rma protocol */
  int nameLen[ACCL_OFI_MAX_RAILS];
  char name[ACCL_OFI_MAX_RAILS][ACCL_OFI_NAME_BYTES];
  uint64_t regionBase; /* for FI_MR_VIRT_ADDR */
  uint64_t key[ACCL_OFI_MAX_RAILS];
} acclOfiAddrRecord;

typedef struct acclOfiState {
  struct acclComm* comm;
  int nrails, nslots;
  size_t slotBytes, pieceBytes; /* a slot is striped in pieces of pieceBytes, one per rail */
  int directedRecv;             /* FI_DIRECTED_RECV offered: receives name their source */
  int rma;                      /* the rma protocol runs (every rank can) */
  int nLanes;
  const acclTransportSet* set; /* which pairs are ours: acclTransportOf(set, a, b) == self */
  int self;
  size_t flagBytes, flagsTotal; /* region layout, see acclOfiConnIndex */
  acclOfiConnPriv** byLaneRank; /* rma: [(lane * nranks + peer) * 2 + dir (0 send, 1 receive)] */
  acclOfiRail rails[ACCL_OFI_MAX_RAILS];
  acclOfiAddrRecord* addrs; /* [nranks] */
  char* region;             /* device memory: flags, then slots */
  size_t regionBytes;
  int nConns;
  acclOfiConnPriv* conns;          /* [nConns] */
  volatile int* peerFailed;        /* [nranks] */
  uint64_t postedSends, doneSends; /* pieces; teardown drains the difference */
  pthread_mutex_t mrLock;          /* the registration cache (engine vs accFree on any thread) */
  struct acclOfiMrEntry* mrCache;
  int mrCount, mrCap, mrReady;
  uint64_t mrNextKey;
  pthread_t proxy;
  int proxyRunning;
  volatile int stop;
  char provName[64];
} acclOfiState;

/* ---- ofi_provider.c: choose provider and NICs (fills st->rails[].info, st->nrails, st->rma
 * when the provider offers what the rma protocol needs and ACCL_OFI_PROTOCOL allows it). */
acclResult_t acclOfiChooseProvider(acclOfiState* st, int nNodes);
/* Name of a libfabric error for logs: fi_strerror plus the provider's text. */
const char* acclOfiErrText(int err, char* buf, size_t len);

/* ---- ofi_setup.c */
/* Collective over the communicator: open rails, exchange addresses, connect
 * every peer on another node (every peer with forceOfi) in every lane, start
 * the proxy. */
acclResult_t acclOfiSetup(struct acclComm* comm, acclOfiState* st, const acclTransportArgs* args, acclConnTable* conns);
/* Does rank a reach rank b over ofi? */
int acclOfiUses(const acclOfiState* st, int a, int b);
/* Index of rank r's connection (lane, peer, dir: 0 send, 1 receive) in r's region. */
int acclOfiConnIndex(const acclOfiState* st, int r, int lane, int peer, int dir);
/* Safe after a failed setup too. */
void acclOfiTeardown(acclOfiState* st, int abort);

/* Our connection with `peer` on `lane` (dir 0 send, 1 receive); NULL when
 * that peer is not reached over ofi. */
static inline acclOfiConnPriv** acclOfiConnSlot(const acclOfiState* st, int lane, int peer, int dir) {
  return &st->byLaneRank[((size_t)lane * (size_t)st->comm->nranks + (size_t)peer) * 2 + (size_t)dir];
}

/* ---- ofi_conn.c (tagged) and ofi_rma.c */
extern const acclConnOps acclOfiOps;
extern const acclConnOps acclOfiRmaOps;
extern const acclTransport acclOfiTransport;
/* rma: a remote write with CQ data arrived (proxy or engine thread). */
void acclOfiRmaArrived(acclOfiState* st, uint64_t data);
/* rma CQ data of a piece:
 *   | lane (8) | sender (20) | trailer (1) | 0 (3) | slot (8) | pieces-1 (2) | length (22) |
 * trailer: the piece's last 8 bytes are not data but the sender's count of
 * steps it has released on its connection from us on this lane (a credit
 * carried by a step going the other way, see ofi_rma.c). Slot
 * ACCL_OFI_RMA_CREDIT marks a credit: a write whose CQ data carries the low
 * 24 bits of the receiver's release count in place of pieces and length (its
 * 8 bytes land in a word nobody reads, so nothing races with them). */
#define ACCL_OFI_RMA_CREDIT 0xff
#define ACCL_OFI_RMA_MAX_RANKS (1 << 20)
#define ACCL_OFI_RMA_TRAILER (1ull << 35)
static inline uint64_t acclOfiRmaCreditData(int lane, int sender, uint64_t released) {
  return ((uint64_t)(lane & 0xff) << 56) | ((uint64_t)(sender & 0xfffff) << 36) |
         ((uint64_t)ACCL_OFI_RMA_CREDIT << 24) | (released & 0xffffff);
}
#define ACCL_OFI_RMA_MAX_PIECE ((1u << 22) - 1)
static inline uint64_t acclOfiRmaData(int lane, int sender, int slot, int npieces, size_t len) {
  return ((uint64_t)(lane & 0xff) << 56) | ((uint64_t)(sender & 0xfffff) << 36) | ((uint64_t)(slot & 0xff) << 24) |
         ((uint64_t)((npieces - 1) & 3) << 22) | (uint64_t)(len & ACCL_OFI_RMA_MAX_PIECE);
}
static inline char* acclOfiSlot(acclOfiConnPriv* c, int slot) { return c->slots + (size_t)slot * c->st->slotBytes; }
/* Piece `rail` of a slot: [off, off + len) of at most `bytes`. */
static inline void acclOfiPiece(const acclOfiState* st, int rail, size_t bytes, size_t* off, size_t* len) {
  *off = (size_t)rail * st->pieceBytes;
  *len = *off < bytes ? ACCL_MIN(st->pieceBytes, bytes - *off) : 0;
  if (*len == 0) *off = 0; /* tagged: empty pieces still travel, the receiver counts them */
}
/* One operation to post: -FI_EAGAIN means the provider needs progress first
 * (the proxy and the polling engine drive it); acclOfiPostRetry retries until
 * ACCL_TIMEOUT or the peer is known dead. */
typedef struct {
  acclOfiConnPriv* c;
  int rail;
  void* buf;
  void* desc; /* buf's registration descriptor (FI_MR_LOCAL) */
  size_t len;
  uint64_t tagOrData; /* tag (tagged) or remote CQ data (rma) */
  uint64_t raddr;     /* rma: target address */
  void* ctx;
} acclOfiPost;
typedef ssize_t (*acclOfiPostFn)(const acclOfiPost* p);
acclResult_t acclOfiPostRetry(acclOfiPostFn fn, const acclOfiPost* p, const char* what);
/* Post the receives of `step` into its slot (all rails). */
acclResult_t acclOfiPostRecv(acclOfiConnPriv* c, uint64_t step);
static inline uint64_t acclOfiTag(int lane, int sender, uint64_t step) {
  return ((uint64_t)(lane & 0xff) << 56) | ((uint64_t)(sender & 0xffffff) << 32) | (step & 0xffffffffu);
}

/* Sender, both protocols: the pieces of `step` from buf (descs[rail]); the
 * completions count towards stepsDone. Zero copy when buf is not the slot. */
typedef acclResult_t (*acclOfiPostStepFn)(acclOfiConnPriv* c, uint64_t step, char* buf, void** descs, size_t bytes);
/* sendPost (from the step's slot), sendFrom (buf from the registration cache)
 * and sendIdle of both protocols (ofi_mr.c); recvBuf of both (ofi_conn.c). */
acclResult_t acclOfiSendSlot(acclOfiConnPriv* c, uint64_t step, size_t bytes, acclOfiPostStepFn post);
/* Sender, both protocols: `step` goes out as `npieces` pieces (piece r on
 * rail r); returns its slot. acclOfiPieceReq: the context of piece r. */
int acclOfiBeginStep(acclOfiConnPriv* c, uint64_t step, int npieces);
acclOfiReq* acclOfiPieceReq(acclOfiConnPriv* c, int slot, int r);
const void* acclOfiRecvBuf(acclConn* conn, uint64_t step, size_t* bytes);
acclResult_t acclOfiSendFrom(acclOfiConnPriv* c, uint64_t step, const void* src, size_t bytes, acclOfiPostStepFn post);
int acclOfiSendIdle(acclConn* conn);

/* ---- ofi_mr.c: registration cache of device allocations sent from directly */
/* Descriptors (per rail) of a registration covering [ptr, ptr+len), registering
 * the whole allocation on a miss; entries live until the allocation is freed
 * (accFree tells the cache) or the communicator is destroyed. */
acclResult_t acclOfiMrLookup(acclOfiState* st, const void* ptr, size_t len, void** descs);
acclResult_t acclOfiMrCacheInit(acclOfiState* st);
void acclOfiMrCacheFini(acclOfiState* st);

/* ---- ofi_proxy.c */
acclResult_t acclOfiProxyStart(acclOfiState* st);
void acclOfiProxyStop(acclOfiState* st);
/* Read every completion queue once; returns completions handled (<0: fatal). */
int acclOfiProgress(acclOfiState* st);

#endif
