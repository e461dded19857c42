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
 * Tag of a piece: | lane (8) | sender rank (24) | step (32) |. The step in the
 * tag makes every message match exactly one posted receive, whatever order
 * the provider completes them in.
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
#include <rdma/fi_tagged.h>
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
} acclOfiReq;

typedef struct acclOfiConnPriv {
  struct acclOfiState* st;
  int peer, lane, isSend;
  char* slots;                 /* nslots x slotBytes, registered */
  volatile uint64_t* done;     /* [nslots] step+1 once all pieces completed (device memory: wakes the engine) */
  volatile uint64_t* sizes;    /* [nslots] receiver: bytes that arrived */
  int* pending;                /* [nslots] pieces still in flight (proxy thread only) */
  uint64_t* stepOf;            /* [nslots] step the slot holds now */
  acclOfiReq* reqs;            /* [nslots x nrails] */
} acclOfiConnPriv;

typedef struct acclOfiRail {
  struct fi_info* info;
  struct fid_fabric* fabric;
  struct fid_domain* domain;
  struct fid_av* av;
  struct fid_cq* cq;
  struct fid_ep* ep;
  struct fid_mr* mr;
  void* desc;                  /* local descriptor of the region (FI_MR_LOCAL) */
  fi_addr_t* peerAddr;         /* [nranks] */
} acclOfiRail;

/* What each rank publishes through the bootstrap. */
typedef struct {
  int nrails;
  int nameLen[ACCL_OFI_MAX_RAILS];
  char name[ACCL_OFI_MAX_RAILS][ACCL_OFI_NAME_BYTES];
} acclOfiAddrRecord;

typedef struct acclOfiState {
  struct acclComm* comm;
  int nrails, nslots;
  size_t slotBytes, pieceBytes;/* a slot is striped in pieces of pieceBytes, one per rail */
  int directedRecv;            /* FI_DIRECTED_RECV offered: receives name their source */
  acclOfiRail rails[ACCL_OFI_MAX_RAILS];
  acclOfiAddrRecord* addrs;    /* [nranks] */
  char* region;                /* device memory: flags, then slots */
  size_t regionBytes;
  int nConns;
  acclOfiConnPriv* conns;      /* [nConns] */
  volatile int* peerFailed;    /* [nranks] */
  uint64_t postedSends, doneSends; /* pieces; teardown drains the difference */
  pthread_t proxy;
  int proxyRunning;
  volatile int stop;
  char provName[64];
} acclOfiState;

/* ---- ofi_provider.c: choose provider and NICs (fills st->rails[].info, st->nrails). */
acclResult_t acclOfiChooseProvider(acclOfiState* st, int nNodes);
/* Name of a libfabric error for logs: fi_strerror plus the provider's text. */
const char* acclOfiErrText(int err, char* buf, size_t len);

/* ---- ofi_setup.c */
/* Collective over the communicator: open rails, exchange addresses, connect
 * every peer q with useOfi[q] in every lane, start the proxy. */
acclResult_t acclOfiSetup(struct acclComm* comm, acclOfiState* st, acclConnTable* conns, const int* useOfi, int nslots,
                          size_t slotBytes);
/* Safe after a failed setup too. */
void acclOfiTeardown(acclOfiState* st, int abort);

/* ---- ofi_conn.c */
extern const acclTransportOps acclOfiOps;
/* Post the receives of `step` into its slot (all rails). */
acclResult_t acclOfiPostRecv(acclOfiConnPriv* c, uint64_t step);
static inline uint64_t acclOfiTag(int lane, int sender, uint64_t step) {
  return ((uint64_t)(lane & 0xff) << 56) | ((uint64_t)(sender & 0xffffff) << 32) | (step & 0xffffffffu);
}

/* ---- ofi_proxy.c */
acclResult_t acclOfiProxyStart(acclOfiState* st);
void acclOfiProxyStop(acclOfiState* st);
/* Read every completion queue once; returns completions handled (<0: fatal). */
int acclOfiProgress(acclOfiState* st);

#endif
