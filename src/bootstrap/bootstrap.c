/* bootstrap.c - a rank's side of the bootstrap: rendezvous through the root,
 * a TCP ring (next / prev) for allgather and barrier, and lazily connected
 * per-peer sockets for tagged send / recv. One operation runs at a time per
 * bootstrap (bs->lock); every wait polls the abort flag and the deadline. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bootstrap/wire.h"
#include "core/param.h"

typedef struct acclStashedMsg {
  struct acclStashedMsg* next;
  int peer, tag;
  size_t size;
  char data[];
} acclStashedMsg;

struct acclBootstrap {
  int rank, nranks;
  uint8_t secret[ACCL_SECRET_BYTES];
  uint8_t nonce[ACCL_CHALLENGE_BYTES]; /* the job nonce from the root: ring and P2P hellos answer it */
  uint64_t hash;
  volatile int* abortFlag;
  uint64_t timeoutNs;   /* ACCL_BOOTSTRAP_TIMEOUT: the rendezvous, waiting for ranks to arrive */
  uint64_t opTimeoutNs; /* ACCL_TIMEOUT (0: none): later operations, among ranks that all arrived */
  int listenFd;
  acclAcceptor acc;
  char who[32];
  acclAddrWire* addrs; /* listen address of every rank */
  int ringSendFd, ringRecvFd;
  int* p2pSendFd;        /* connections we opened, per peer */
  int* p2pRecvFd;        /* connections peers opened to us */
  acclStashedMsg* stash; /* received messages nobody asked for yet */
  pthread_mutex_t lock;
  /* liveness (acclBootstrapLostPeer): the ring's unused reverse direction
   * carries notices {magic, rank} backwards: BYE (a clean close), DEAD (a
   * rank that left without one). */
  pthread_mutex_t liveLock;
  int lostRank;         /* the first rank known gone, -1 */
  int nextBye, prevBye; /* the neighbour closed cleanly */
};

#define BS_NOTICE_BYE 0x45594221u  /* "!BYE" */
#define BS_NOTICE_DEAD 0x44414521u /* "!EAD" */

/* Tag of the message carrying a split's new unique id (user tags are >= 0). */
#define BS_TAG_SPLIT (-0x5b17)

/* Deadline of an operation after the rendezvous. Every rank has arrived by
 * then; one may still be busy with its own set-up (the first topology
 * discovery of a process takes seconds on a loaded machine), which is no
 * missing rank: such waits are bounded by ACCL_TIMEOUT, like a collective's.
 * A peer that dies is seen at once (its connections close). */
static uint64_t opDeadline(const acclBootstrap* bs) {
  return bs->opTimeoutNs ? acclClockNs() + bs->opTimeoutNs : UINT64_MAX / 2;
}

static int isAborted(const acclBootstrap* bs) {
  return bs->abortFlag && __atomic_load_n(bs->abortFlag, __ATOMIC_ACQUIRE);
}

/* Wait until the connection of `kind` from `peer` was accepted. */
static acclResult_t waitConn(acclBootstrap* bs, int kind, int peer, uint64_t deadline) {
  for (;;) {
    if (kind == ACCL_HELLO_RING && bs->ringRecvFd >= 0) return acclSuccess;
    if (kind == ACCL_HELLO_P2P && bs->p2pRecvFd[peer] >= 0) return acclSuccess;
    if (isAborted(bs)) return acclInvalidUsage;
    if (acclClockNs() >= deadline)
      ACCL_ERROR(acclTimeout, "bootstrap %s: rank %d did not connect in time (%s)", bs->who, peer,
                 kind == ACCL_HELLO_RING ? "ACCL_BOOTSTRAP_TIMEOUT" : "ACCL_TIMEOUT");
    int fd;
    acclHello h;
    acclSocketAddr from;
    int st = acclAcceptorStep(&bs->acc, ACCL_SOCKET_POLL_MS, &fd, &h, &from);
    if (st < 0) return (acclResult_t)-st;
    if (st == 0) continue;
    const char* bad = NULL;
    if (h.nranks != bs->nranks || h.rank < 0 || h.rank >= bs->nranks)
      bad = "rank or nranks out of range";
    else if (h.kind == ACCL_HELLO_RING) {
      if (h.rank != (bs->rank + bs->nranks - 1) % bs->nranks)
        bad = "ring connection from a rank that is not our predecessor";
      else if (bs->ringRecvFd >= 0)
        bad = "second ring connection";
      else
        bs->ringRecvFd = fd;
    } else if (h.kind == ACCL_HELLO_P2P) {
      if (bs->p2pRecvFd[h.rank] >= 0)
        bad = "second connection from the same rank";
      else
        bs->p2pRecvFd[h.rank] = fd;
    } else {
      bad = "unexpected hello kind";
    }
    if (bad) {
      char buf[80];
      WARN("bootstrap %s: closed a connection from %s (rank %d): %s", bs->who,
           acclSocketAddrStr(&from, buf, sizeof(buf)), h.rank, bad);
      close(fd);
    }
  }
}

static void warnMissingRanks(const acclBootstrap* bs, const uint8_t* arrived) {
  char list[256] = "";
  size_t len = 0;
  int missing = 0;
  for (int r = 0; r < bs->nranks; r++) {
    if (arrived[r]) continue;
    if (len < sizeof(list) - 16) len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d", missing ? "," : "", r);
    missing++;
  }
  WARN("bootstrap timeout: rank%s %s of %d did not arrive within %llu s (ACCL_BOOTSTRAP_TIMEOUT)",
       missing > 1 ? "s" : "", list, bs->nranks, (unsigned long long)(bs->timeoutNs / 1000000000ULL));
}

/* Tell the root we are here and get every rank's listen address. */
static acclResult_t exchangeWithRoot(acclBootstrap* bs, const acclSocketAddr* rootAddr, const acclSocketAddr* myAddr,
                                     uint64_t deadline) {
  int fd = -1;
  acclResult_t res;
  char rootText[80];
  acclSocketAddrStr(rootAddr, rootText, sizeof(rootText));
  ACCLCHECK(acclSocketConnect(rootAddr, deadline, bs->abortFlag, &fd));
  /* the root's fresh challenge first: our hello answers it, so a recording
   * of it is worth nothing later */
  uint8_t challenge[ACCL_CHALLENGE_BYTES];
  res = acclSocketRecv(fd, challenge, sizeof(challenge), deadline, bs->abortFlag, "challenge of the root");
  if (res == acclRemoteError)
    WARN("bootstrap %s of %d: the root at %s closed the connection before its challenge (the root process is gone?)",
         bs->who, bs->nranks, rootText);
  if (res != acclSuccess) goto out;
  acclHello h;
  acclHelloFill(&h, bs->secret, challenge, ACCL_HELLO_ROOT, bs->rank, bs->nranks, myAddr);
  ACCLCHECKGOTO(acclSocketSend(fd, &h, sizeof(h), deadline, bs->abortFlag, "hello to the root"), res, out);
  /* The root reports missing ranks at its own deadline: allow it a little longer. */
  acclRootReply rep;
  res = acclSocketRecv(fd, &rep, sizeof(rep), deadline + 3000000000ULL, bs->abortFlag, "reply of the root");
  if (res == acclRemoteError)
    WARN(
        "bootstrap %s of %d: the root at %s closed the connection without a reply (the root process is gone, or it "
        "refused our secret: do all ranks share the unique id, or ACCL_COMM_ID and ACCL_COMM_SECRET?)",
        bs->who, bs->nranks, rootText);
  if (res != acclSuccess) goto out;
  if (rep.magic != ACCL_HELLO_MAGIC) {
    WARN("bootstrap %s: malformed reply from the root at %s", bs->who, rootText);
    res = acclRemoteError;
    goto out;
  }
  if (rep.status != acclSuccess && rep.status != acclTimeout) {
    if (rep.nranks != bs->nranks)
      WARN("bootstrap %s: the root at %s refused us: its job has nranks %d, this rank was given nranks %d", bs->who,
           rootText, rep.nranks, bs->nranks);
    else
      WARN(
          "bootstrap %s of %d: the root at %s refused us (rank %d already arrived from elsewhere, or nranks out "
          "of range)",
          bs->who, bs->nranks, rootText, bs->rank);
    res = rep.status == acclSystemError ? acclSystemError : acclInvalidUsage;
    goto out;
  }
  if (rep.nranks != bs->nranks) {
    WARN("bootstrap %s: malformed reply from the root at %s (nranks %d, expected %d)", bs->who, rootText, rep.nranks,
         bs->nranks);
    res = acclRemoteError;
    goto out;
  }
  if (rep.status == acclSuccess) {
    memcpy(bs->nonce, rep.nonce, ACCL_CHALLENGE_BYTES);
    res = acclSocketRecv(fd, bs->addrs, sizeof(acclAddrWire) * (size_t)bs->nranks, deadline + 3000000000ULL,
                         bs->abortFlag, "address table from the root");
  } else {
    uint8_t* arrived = calloc((size_t)bs->nranks, 1);
    res = arrived ? acclSocketRecv(fd, arrived, (size_t)bs->nranks, deadline + 3000000000ULL, bs->abortFlag,
                                   "missing-rank list from the root")
                  : acclSystemError;
    if (res == acclSuccess) warnMissingRanks(bs, arrived);
    free(arrived);
    res = acclTimeout;
  }
out:
  close(fd);
  return res;
}

static acclResult_t connectRing(acclBootstrap* bs, uint64_t deadline) {
  if (bs->nranks == 1) return acclSuccess;
  int next = (bs->rank + 1) % bs->nranks;
  acclSocketAddr addr;
  acclAddrFromWire(&bs->addrs[next], &addr);
  ACCLCHECK(acclSocketConnect(&addr, deadline, bs->abortFlag, &bs->ringSendFd));
  acclHello h;
  acclHelloFill(&h, bs->secret, bs->nonce, ACCL_HELLO_RING, bs->rank, bs->nranks, NULL);
  ACCLCHECK(acclSocketSend(bs->ringSendFd, &h, sizeof(h), deadline, bs->abortFlag, "ring hello"));
  return waitConn(bs, ACCL_HELLO_RING, (bs->rank + bs->nranks - 1) % bs->nranks, deadline);
}

static void freeBootstrap(acclBootstrap* bs) {
  if (bs->listenFd >= 0) {
    acclAcceptorFini(&bs->acc);
    close(bs->listenFd);
  }
  if (bs->ringSendFd >= 0) close(bs->ringSendFd);
  if (bs->ringRecvFd >= 0) close(bs->ringRecvFd);
  for (int r = 0; r < bs->nranks; r++) {
    if (bs->p2pSendFd && bs->p2pSendFd[r] >= 0) close(bs->p2pSendFd[r]);
    if (bs->p2pRecvFd && bs->p2pRecvFd[r] >= 0) close(bs->p2pRecvFd[r]);
  }
  pthread_mutex_destroy(&bs->liveLock);
  while (bs->stash) {
    acclStashedMsg* m = bs->stash;
    bs->stash = m->next;
    free(m);
  }
  free(bs->p2pSendFd);
  free(bs->p2pRecvFd);
  free(bs->addrs);
  pthread_mutex_destroy(&bs->lock);
  free(bs);
}

static acclResult_t bootstrapCreate(const acclSocketAddr* rootAddr, const uint8_t* secret, int rank, int nranks,
                                    volatile int* abortFlag, acclBootstrap** out) {
  acclResult_t res = acclSuccess;
  acclBootstrap* bs = calloc(1, sizeof(*bs));
  if (bs == NULL) ACCL_ERROR(acclSystemError, "bootstrap: out of memory");
  bs->rank = rank;
  bs->nranks = nranks;
  memcpy(bs->secret, secret, ACCL_SECRET_BYTES);
  bs->hash = acclIdChecksum(secret, ACCL_SECRET_BYTES);
  bs->abortFlag = abortFlag;
  bs->timeoutNs = acclBootstrapTimeoutNs();
  bs->opTimeoutNs = (uint64_t)acclParamTimeout() * 1000000000ULL; /* 0: none */
  bs->listenFd = bs->ringSendFd = bs->ringRecvFd = -1;
  snprintf(bs->who, sizeof(bs->who), "rank %d", rank);
  pthread_mutex_init(&bs->lock, NULL);
  pthread_mutex_init(&bs->liveLock, NULL);
  bs->lostRank = -1;
  bs->addrs = calloc((size_t)nranks, sizeof(*bs->addrs));
  bs->p2pSendFd = malloc(sizeof(int) * (size_t)nranks);
  bs->p2pRecvFd = malloc(sizeof(int) * (size_t)nranks);
  if (!bs->addrs || !bs->p2pSendFd || !bs->p2pRecvFd) {
    WARN("bootstrap: out of memory for %d ranks", nranks);
    res = acclSystemError;
    goto fail;
  }
  for (int r = 0; r < nranks; r++) bs->p2pSendFd[r] = bs->p2pRecvFd[r] = -1;
  uint64_t deadline = acclClockNs() + bs->timeoutNs;
  acclSocketAddr myAddr;
  ACCLCHECKGOTO(acclSocketBootstrapAddr(&myAddr, NULL, 0), res, fail);
  ACCLCHECKGOTO(acclSocketListen(&myAddr, &bs->listenFd, &myAddr), res, fail);
  ACCLCHECKGOTO(exchangeWithRoot(bs, rootAddr, &myAddr, deadline), res, fail);
  /* peers' hellos answer the job nonce the root just sent (nothing reads
   * the listening socket before this) */
  acclAcceptorInit(&bs->acc, bs->listenFd, secret, bs->nonce, bs->who);
  ACCLCHECKGOTO(connectRing(bs, deadline), res, fail);
  *out = bs;
  return acclSuccess;
fail:
  freeBootstrap(bs);
  return res;
}

acclResult_t acclBootstrapInit(const acclUniqueId* id, int rank, int nranks, volatile int* abortFlag,
                               acclBootstrap** out) {
  acclSocketAddr rootAddr;
  uint8_t secret[ACCL_SECRET_BYTES];
  const char* commId = acclParamCommId();
  const acclIdWire* w = (const acclIdWire*)id->internal;
  int local = w->magic == ACCL_ID_MAGIC && (w->flags & ACCL_ID_LOCAL);
  if (commId && *commId && !local) {
    ACCLCHECK(acclBootstrapPinnedRoot(commId, &rootAddr, secret));
    if (rank == 0) {
      acclSocketAddr listening;
      ACCLCHECK(acclBootstrapRootStart(&rootAddr, secret, &listening));
    }
  } else if (acclIdDecode(id, &rootAddr.sa, secret) != acclSuccess)
    ACCL_ERROR(acclInvalidArgument, "bootstrap: %s", acclLastErrorText());
  acclResult_t res = bootstrapCreate(&rootAddr, secret, rank, nranks, abortFlag, out);
  /* Release the root thread if this process hosts it (stop it on failure). */
  acclBootstrapRootReap(secret, res != acclSuccess);
  if (res == acclSuccess) TRACE(ACCL_BOOTSTRAP, "bootstrap rank %d/%d connected", rank, nranks);
  return res;
}

acclResult_t acclBootstrapSplit(acclBootstrap* parent, const int* ranks, int nnew, int myNewRank,
                                volatile int* abortFlag, acclBootstrap** out) {
  acclUniqueId id;
  if (myNewRank == 0) {
    acclSocketAddr addr, listening;
    uint8_t secret[ACCL_SECRET_BYTES];
    ACCLCHECK(acclSocketBootstrapAddr(&addr, NULL, 0));
    ACCLCHECK(acclSecretNew(secret));
    ACCLCHECK(acclBootstrapRootStart(&addr, secret, &listening));
    acclIdEncode(&listening.sa, secret, &id);
    for (int r = 1; r < nnew; r++) {
      acclResult_t res = acclBootstrapSend(parent, ranks[r], BS_TAG_SPLIT, &id, sizeof(id));
      if (res != acclSuccess) {
        acclBootstrapRootReap(secret, 1);
        return res;
      }
    }
  } else {
    ACCLCHECK(acclBootstrapRecv(parent, ranks[0], BS_TAG_SPLIT, &id, sizeof(id)));
  }
  acclSocketAddr rootAddr;
  uint8_t secret[ACCL_SECRET_BYTES];
  if (acclIdDecode(&id, &rootAddr.sa, secret) != acclSuccess)
    ACCL_ERROR(acclInternalError, "bootstrap split: the id received from rank %d is bad: %s", ranks[0],
               acclLastErrorText());
  acclResult_t res = bootstrapCreate(&rootAddr, secret, myNewRank, nnew, abortFlag, out);
  acclBootstrapRootReap(secret, res != acclSuccess);
  return res;
}

static acclResult_t nameLostRank(acclBootstrap* bs, const char* what);

acclResult_t acclBootstrapAllGather(acclBootstrap* bs, void* data, size_t size) {
  if (bs->nranks == 1) return acclSuccess;
  acclResult_t res = acclSuccess;
  pthread_mutex_lock(&bs->lock);
  uint64_t deadline = opDeadline(bs);
  char* d = data;
  int n = bs->nranks;
  for (int i = 0; i < n - 1 && res == acclSuccess; i++) {
    int sendBlock = (bs->rank - i + n) % n;
    int recvBlock = (bs->rank - i - 1 + 2 * n) % n;
    res = acclSocketSendRecv(bs->ringSendFd, d + (size_t)sendBlock * size, size, bs->ringRecvFd,
                             d + (size_t)recvBlock * size, size, deadline, bs->abortFlag, "bootstrap allgather");
  }
  if (res == acclRemoteError) res = nameLostRank(bs, "bootstrap allgather");
  pthread_mutex_unlock(&bs->lock);
  return res;
}

acclResult_t acclBootstrapBarrier(acclBootstrap* bs) {
  if (bs->nranks == 1) return acclSuccess;
  char* bytes = calloc((size_t)bs->nranks, 1);
  if (bytes == NULL) return acclSystemError;
  acclResult_t res = acclBootstrapAllGather(bs, bytes, 1);
  free(bytes);
  return res;
}

/* A peer's message nobody waits for yet is kept until its recv. What a peer
 * makes this rank hold is bounded: the size is checked against
 * ACCL_BOOTSTRAP_MAX_MSG_BYTES before anything is allocated (a size from the
 * wire once wrapped header + size around to a 16-byte block), and at most
 * ACCL_BOOTSTRAP_MAX_STASHED messages wait. */
static acclResult_t stashPush(acclBootstrap* bs, int peer, int tag, const void* data, uint64_t size, int fd,
                              uint64_t deadline) {
  int count = 0;
  for (acclStashedMsg* m = bs->stash; m; m = m->next) count++;
  if (size > ACCL_BOOTSTRAP_MAX_MSG_BYTES)
    ACCL_ERROR(acclRemoteError,
               "bootstrap rank %d: rank %d sent a message of %llu bytes (tag %d), more than the protocol's largest "
               "(%d bytes): refused",
               bs->rank, peer, (unsigned long long)size, tag, ACCL_BOOTSTRAP_MAX_MSG_BYTES);
  if (count >= ACCL_BOOTSTRAP_MAX_STASHED)
    ACCL_ERROR(acclRemoteError,
               "bootstrap rank %d: rank %d sent more than %d messages nobody waits for (tag %d, %llu bytes): refused",
               bs->rank, peer, ACCL_BOOTSTRAP_MAX_STASHED, tag, (unsigned long long)size);
  acclStashedMsg* m = malloc(sizeof(*m) + (size_t)size);
  if (m == NULL) ACCL_ERROR(acclSystemError, "bootstrap: out of memory stashing %llu bytes", (unsigned long long)size);
  m->peer = peer;
  m->tag = tag;
  m->size = (size_t)size;
  acclResult_t res = acclSuccess;
  if (data)
    memcpy(m->data, data, m->size);
  else
    res = acclSocketRecv(fd, m->data, m->size, deadline, bs->abortFlag, "bootstrap recv (unexpected tag)");
  if (res != acclSuccess) {
    free(m);
    return res;
  }
  acclStashedMsg** tail = &bs->stash;
  while (*tail) tail = &(*tail)->next;
  m->next = NULL;
  *tail = m;
  return acclSuccess;
}

static acclResult_t checkPeer(const acclBootstrap* bs, int peer, size_t size, const char* fn) {
  if (peer < 0 || peer >= bs->nranks)
    ACCL_ERROR(acclInternalError, "%s: peer %d out of range [0,%d)", fn, peer, bs->nranks);
  if (size > ACCL_BOOTSTRAP_MAX_MSG_BYTES)
    ACCL_ERROR(acclInternalError, "%s: %zu bytes to or from rank %d, more than ACCL_BOOTSTRAP_MAX_MSG_BYTES (%d)", fn,
               size, peer, ACCL_BOOTSTRAP_MAX_MSG_BYTES);
  return acclSuccess;
}

acclResult_t acclBootstrapSend(acclBootstrap* bs, int peer, int tag, const void* data, size_t size) {
  ACCLCHECK(checkPeer(bs, peer, size, "acclBootstrapSend"));
  acclResult_t res = acclSuccess;
  pthread_mutex_lock(&bs->lock);
  uint64_t deadline = opDeadline(bs);
  if (peer == bs->rank) {
    res = stashPush(bs, peer, tag, data, size, -1, deadline);
    goto out;
  }
  if (bs->p2pSendFd[peer] < 0) {
    acclSocketAddr addr;
    acclAddrFromWire(&bs->addrs[peer], &addr);
    int fd;
    ACCLCHECKGOTO(acclSocketConnect(&addr, deadline, bs->abortFlag, &fd), res, out);
    acclHello h;
    acclHelloFill(&h, bs->secret, bs->nonce, ACCL_HELLO_P2P, bs->rank, bs->nranks, NULL);
    res = acclSocketSend(fd, &h, sizeof(h), deadline, bs->abortFlag, "p2p hello");
    if (res != acclSuccess) {
      close(fd);
      goto out;
    }
    bs->p2pSendFd[peer] = fd;
  }
  acclMsgHeader hdr = {tag, 0, size};
  ACCLCHECKGOTO(acclSocketSend(bs->p2pSendFd[peer], &hdr, sizeof(hdr), deadline, bs->abortFlag, "bootstrap send"), res,
                out);
  ACCLCHECKGOTO(acclSocketSend(bs->p2pSendFd[peer], data, size, deadline, bs->abortFlag, "bootstrap send"), res, out);
out:
  pthread_mutex_unlock(&bs->lock);
  return res;
}

static acclResult_t takeStashed(acclBootstrap* bs, int peer, int tag, void* data, size_t size, int* found) {
  *found = 0;
  for (acclStashedMsg** p = &bs->stash; *p; p = &(*p)->next) {
    acclStashedMsg* m = *p;
    if (m->peer != peer || m->tag != tag) continue;
    *p = m->next;
    *found = 1;
    acclResult_t res = acclSuccess;
    if (m->size != size) {
      WARN("bootstrap recv from rank %d tag %d: expected %zu bytes, message has %zu", peer, tag, size, m->size);
      res = acclInternalError;
    } else {
      memcpy(data, m->data, size);
    }
    free(m);
    return res;
  }
  return acclSuccess;
}

acclResult_t acclBootstrapRecv(acclBootstrap* bs, int peer, int tag, void* data, size_t size) {
  ACCLCHECK(checkPeer(bs, peer, size, "acclBootstrapRecv"));
  acclResult_t res = acclSuccess;
  int found;
  pthread_mutex_lock(&bs->lock);
  uint64_t deadline = opDeadline(bs);
  ACCLCHECKGOTO(takeStashed(bs, peer, tag, data, size, &found), res, out);
  if (found) goto out;
  if (peer == bs->rank) {
    WARN("bootstrap recv from self (tag %d) without a matching send", tag);
    res = acclInternalError;
    goto out;
  }
  ACCLCHECKGOTO(waitConn(bs, ACCL_HELLO_P2P, peer, deadline), res, out);
  for (;;) {
    acclMsgHeader hdr;
    ACCLCHECKGOTO(acclSocketRecv(bs->p2pRecvFd[peer], &hdr, sizeof(hdr), deadline, bs->abortFlag, "bootstrap recv"),
                  res, out);
    if (hdr.tag != tag) {
      res = stashPush(bs, peer, hdr.tag, NULL, hdr.size, bs->p2pRecvFd[peer], deadline);
      if (res == acclRemoteError) goto badStream;
      if (res != acclSuccess) goto out;
      continue;
    }
    if (hdr.size != size) {
      WARN("bootstrap rank %d: recv from rank %d tag %d: expected %zu bytes, message has %llu", bs->rank, peer, tag,
           size, (unsigned long long)hdr.size);
      res = hdr.size > ACCL_BOOTSTRAP_MAX_MSG_BYTES ? acclRemoteError : acclInternalError;
      goto badStream;
    }
    ACCLCHECKGOTO(acclSocketRecv(bs->p2pRecvFd[peer], data, size, deadline, bs->abortFlag, "bootstrap recv"), res, out);
    break;
  }
  goto out;
badStream:
  /* the rest of this stream cannot be framed any more: never read it */
  close(bs->p2pRecvFd[peer]);
  bs->p2pRecvFd[peer] = -1;
out:
  pthread_mutex_unlock(&bs->lock);
  return res;
}

uint64_t acclBootstrapHash(const acclBootstrap* bs) { return bs->hash; }

/* A notice is 8 bytes on a socket with room to spare: never blocks. */
static void sendNotice(int fd, uint32_t kind, int rank) {
  if (fd < 0) return;
  uint32_t n[2] = {kind, (uint32_t)rank};
  (void)!send(fd, n, sizeof(n), MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* The predecessor's ring connection hung up: clean if what it left unread
 * ends with its BYE. */
/* The predecessor's ring connection hung up: what it left unread ends with
 * its BYE (a clean close: -1), DEAD of the rank it knew gone (that rank), or
 * neither (it died or aborted: prev). */
static int prevLeftFor(const acclBootstrap* bs, int prev) {
  char buf[16384]; /* at a close little is ever left unread */
  ssize_t n = recv(bs->ringRecvFd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
  uint32_t tail[2];
  if (n < (ssize_t)sizeof(tail)) return prev;
  memcpy(tail, buf + n - sizeof(tail), sizeof(tail));
  if (tail[0] == BS_NOTICE_BYE) return -1;
  if (tail[0] == BS_NOTICE_DEAD && tail[1] < (uint32_t)bs->nranks) return (int)tail[1];
  return prev;
}

static void markLost(acclBootstrap* bs, int rank, const char* how) {
  if (bs->lostRank >= 0) return;
  bs->lostRank = rank;
  acclSetLastError("bootstrap rank %d: rank %d %s", bs->rank, rank, how);
  /* pass it backwards: the ring's reverse direction reaches every rank */
  sendNotice(bs->ringRecvFd, BS_NOTICE_DEAD, rank);
}

int acclBootstrapLostPeer(acclBootstrap* bs) {
  if (bs == NULL || bs->nranks == 1) return -1;
  if (__atomic_load_n(&bs->lostRank, __ATOMIC_ACQUIRE) >= 0) return bs->lostRank;
  if (pthread_mutex_trylock(&bs->liveLock) != 0) return -1;
  int next = (bs->rank + 1) % bs->nranks, prev = (bs->rank + bs->nranks - 1) % bs->nranks;
  struct pollfd p[2] = {{bs->ringSendFd, POLLIN | POLLRDHUP, 0}, {bs->ringRecvFd, POLLRDHUP, 0}};
  if (bs->lostRank < 0 && poll(p, 2, 0) > 0) {
    /* the successor writes only notices on our send connection */
    for (;;) {
      uint32_t n[2];
      ssize_t got = recv(bs->ringSendFd, n, sizeof(n), MSG_PEEK | MSG_DONTWAIT);
      if (got != (ssize_t)sizeof(n)) {
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || (p[0].revents & (POLLHUP | POLLERR)))
          if (!bs->nextBye) markLost(bs, next, "(ring successor) closed its connection without leaving the job");
        break;
      }
      (void)!recv(bs->ringSendFd, n, sizeof(n), MSG_DONTWAIT);
      if (n[0] == BS_NOTICE_BYE) {
        bs->nextBye = 1;
      } else if (n[0] == BS_NOTICE_DEAD && n[1] < (uint32_t)bs->nranks && bs->lostRank < 0) {
        markLost(bs, (int)n[1], "left the job (reported along the bootstrap ring)");
      } else if (n[0] != BS_NOTICE_DEAD) {
        markLost(bs, next, "(ring successor) sent garbage on the ring");
      }
    }
    if (bs->lostRank < 0 && (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)) && !bs->prevBye) {
      int lost = prevLeftFor(bs, prev);
      if (lost < 0)
        bs->prevBye = 1;
      else if (lost == prev)
        markLost(bs, prev, "(ring predecessor) closed its connection without leaving the job");
      else
        markLost(bs, lost, "left the job (reported along the bootstrap ring)");
    }
  }
  pthread_mutex_unlock(&bs->liveLock);
  return __atomic_load_n(&bs->lostRank, __ATOMIC_ACQUIRE);
}

/* A ring connection was lost during an operation: which rank is gone? The
 * neighbour whose connection hung up, unless a DEAD notice names another
 * within 0.8 s (the neighbour may have closed because of an earlier death). */
static acclResult_t nameLostRank(acclBootstrap* bs, const char* what) {
  int next = (bs->rank + 1) % bs->nranks, prev = (bs->rank + bs->nranks - 1) % bs->nranks;
  struct pollfd p[2] = {{bs->ringSendFd, POLLRDHUP, 0}, {bs->ringRecvFd, POLLRDHUP, 0}};
  (void)poll(p, 2, 0);
  int suspect = (p[0].revents & (POLLRDHUP | POLLHUP | POLLERR)) ? next : prev;
  uint64_t until = acclClockNs() + 800000000ull;
  pthread_mutex_lock(&bs->liveLock);
  while (bs->lostRank < 0 && acclClockNs() < until && !isAborted(bs)) {
    uint32_t n[2];
    struct pollfd q = {bs->ringSendFd, POLLIN, 0};
    if (poll(&q, 1, 20) <= 0 || !(q.revents & POLLIN)) continue;
    if (recv(bs->ringSendFd, n, sizeof(n), MSG_PEEK | MSG_DONTWAIT) != (ssize_t)sizeof(n)) {
      if (q.revents & (POLLHUP | POLLERR | POLLRDHUP)) break; /* nothing more will come */
      continue;
    }
    (void)!recv(bs->ringSendFd, n, sizeof(n), MSG_DONTWAIT);
    if (n[0] == BS_NOTICE_DEAD && n[1] < (uint32_t)bs->nranks)
      markLost(bs, (int)n[1], "left the job (reported along the bootstrap ring)");
  }
  if (bs->lostRank < 0) markLost(bs, suspect, "closed its bootstrap connection");
  int lost = bs->lostRank;
  pthread_mutex_unlock(&bs->liveLock);
  ACCL_ERROR(acclRemoteError, "bootstrap rank %d: %s failed: rank %d is gone (its process exited or aborted)", bs->rank,
             what, lost);
}

void acclBootstrapReportLost(acclBootstrap* bs, int rank) {
  if (bs == NULL || bs->nranks == 1 || rank < 0 || rank >= bs->nranks) return;
  pthread_mutex_lock(&bs->liveLock);
  char saved[1024];
  snprintf(saved, sizeof(saved), "%s", acclLastErrorText());
  markLost(bs, rank, "failed");
  acclSetLastError("%s", saved); /* the caller's text stays */
  pthread_mutex_unlock(&bs->liveLock);
}

acclResult_t acclBootstrapClose(acclBootstrap* bs) {
  if (bs == NULL) return acclSuccess;
  /* Wait for an operation still running in another thread: after an abort
   * it leaves within one poll slice. */
  pthread_mutex_lock(&bs->lock);
  pthread_mutex_unlock(&bs->lock);
  /* A clean close says so to both neighbours; an abort (or a death) does
   * not, and they report this rank as gone. */
  if (bs->nranks > 1) {
    int lost = __atomic_load_n(&bs->lostRank, __ATOMIC_ACQUIRE);
    if (lost >= 0) { /* closing because of it: pass the name on both ways */
      sendNotice(bs->ringSendFd, BS_NOTICE_DEAD, lost);
      sendNotice(bs->ringRecvFd, BS_NOTICE_DEAD, lost);
    } else if (!isAborted(bs)) {
      sendNotice(bs->ringSendFd, BS_NOTICE_BYE, bs->rank);
      sendNotice(bs->ringRecvFd, BS_NOTICE_BYE, bs->rank);
    }
  }
  freeBootstrap(bs);
  return acclSuccess;
}
