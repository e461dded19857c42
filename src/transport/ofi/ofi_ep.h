/* ofi_ep.h - what both protocols of the ofi transport do on an endpoint:
 * post an operation (retrying while the provider asks for progress), the
 * sender's per-step bookkeeping and its requests, and the receiver's view of
 * a slot. */
#ifndef ACCL_OFI_EP_H_
#define ACCL_OFI_EP_H_

#include "transport/ofi/ofi_state.h"

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
  acclOfiReq* req;    /* its context and completion handler */
} acclOfiPost;
typedef ssize_t (*acclOfiPostFn)(const acclOfiPost* p);
acclResult_t acclOfiPostRetry(acclOfiPostFn fn, const acclOfiPost* p, const char* what);

/* sendPost (from the step's slot) and sendFrom (buf from the registration
 * cache) of both protocols, through the state's postStep: the completions
 * count towards stepsDone. Zero copy when buf is not the slot. */
acclResult_t acclOfiSendPost(acclConn* conn, uint64_t step, size_t bytes);
acclResult_t acclOfiSendFrom(acclConn* conn, uint64_t step, const void* src, size_t bytes);
/* `step` goes out as `npieces` pieces (piece r on rail r); returns its slot. */
int acclOfiBeginStep(acclOfiConnPriv* c, uint64_t step, int npieces);
/* The request of piece r of a send from `slot`: its completion counts the
 * piece, and the last one completes the step. */
acclOfiReq* acclOfiSendPieceReq(acclOfiConnPriv* c, int slot, int r);
/* sendIdle and recvBuf of both protocols. */
int acclOfiSendIdle(acclConn* conn);
const void* acclOfiRecvBuf(acclConn* conn, uint64_t step, size_t* bytes);

#endif
