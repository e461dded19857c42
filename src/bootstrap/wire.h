/* wire.h - wire formats shared by the root thread and the ranks,
 * and the acceptor that screens incoming bootstrap connections. */
#ifndef ACCL_BOOTSTRAP_WIRE_H_
#define ACCL_BOOTSTRAP_WIRE_H_

#include <stdint.h>
#include "bootstrap/bootstrap.h"
#include "bootstrap/socket.h"

/* A socket address as it travels between ranks. */
typedef struct {
  uint16_t family;
  uint16_t port; /* network byte order */
  uint8_t addr[16];
} acclAddrWire;

/* What the connecting side sends first on every bootstrap connection. The
 * secret itself never travels: the hello carries mac = a MAC under the
 * secret (acclHelloMac: SipHash-2-4, the one keyed PRF of the bootstrap) of
 * a challenge and of the hello's own fields, so a recorded hello is worth
 * nothing in another job. The challenge is
 *   - on a connection to the root: 16 random bytes the root sends first,
 *     fresh for every connection it accepts;
 *   - on a ring or P2P connection between ranks: the job nonce, 16 random
 *     bytes the root drew for this rendezvous and sent every rank with the
 *     address table (acclRootReply.nonce). */
#define ACCL_CHALLENGE_BYTES 16
enum { ACCL_HELLO_ROOT = 1, ACCL_HELLO_RING = 2, ACCL_HELLO_P2P = 3 };
typedef struct {
  uint64_t magic; /* ACCL_HELLO_MAGIC */
  uint8_t mac[ACCL_SECRET_BYTES];
  int32_t kind;
  int32_t rank; /* sender's rank */
  int32_t nranks;
  int32_t pad;
  acclAddrWire addr; /* sender's listen address (ROOT hellos) */
  uint8_t pad2[4];
} acclHello;
#define ACCL_HELLO_MAGIC 0x6f6c6c65486c6363ULL

/* Root -> rank after every rank arrived (status 0: nranks acclAddrWire
 * follow; nonce: the job nonce) or on failure (status = acclResult_t:
 * nranks bytes follow, 1 for each rank that arrived; nonce zero). */
typedef struct {
  uint64_t magic;
  int32_t status;
  int32_t nranks;
  uint8_t nonce[ACCL_CHALLENGE_BYTES];
} acclRootReply;

/* Bounds on what a peer's bootstrap send/recv messages can make a rank hold:
 * the largest message the protocol sends is a split's unique id
 * (sizeof(acclUniqueId), 128 bytes); ACCL_BOOTSTRAP_MAX_MSG_BYTES leaves room
 * for more and is checked on both sides (a send above it is an internal
 * error, a header announcing more is refused without allocating). At most
 * ACCL_BOOTSTRAP_MAX_STASHED received messages wait for their recv. */
#define ACCL_BOOTSTRAP_MAX_MSG_BYTES 4096
#define ACCL_BOOTSTRAP_MAX_STASHED 256

/* Header of each bootstrap send/recv message. */
typedef struct {
  int32_t tag;
  uint32_t pad;
  uint64_t size;
} acclMsgHeader;

void acclAddrToWire(const acclSocketAddr* addr, acclAddrWire* w);
void acclAddrFromWire(const acclAddrWire* w, acclSocketAddr* addr);
int acclSecretEqual(const uint8_t* a, const uint8_t* b); /* constant time */
acclResult_t acclSecretNew(uint8_t secret[ACCL_SECRET_BYTES]);
/* 128 bits from a shared key text and a salt (the pinned address). */
void acclSecretDerive(const char* key, const char* salt, uint8_t secret[ACCL_SECRET_BYTES]);
/* The secret of a root pinned at commId (ACCL_COMM_ID): from ACCL_COMM_SECRET
 * / ACCL_COMM_SECRET_FILE, else (unauthenticated, said once) from commId. */
acclResult_t acclBootstrapPinnedSecret(const char* commId, uint8_t secret[ACCL_SECRET_BYTES]);
/* ACCL_COMM_ID's root address (ip:port) and the job's secret. */
acclResult_t acclBootstrapPinnedRoot(const char* commId, acclSocketAddr* addr, uint8_t* secret);
/* A hello of kind / rank / nranks / addr (may be NULL) answering challenge
 * (ACCL_CHALLENGE_BYTES) under secret. */
void acclHelloFill(acclHello* h, const uint8_t* secret, const uint8_t* challenge, int kind, int rank, int nranks,
                   const acclSocketAddr* addr);
/* The MAC of a hello (its mac field not included) and a challenge. */
void acclHelloMac(const uint8_t* secret, const uint8_t* challenge, const acclHello* h, uint8_t mac[ACCL_SECRET_BYTES]);
/* 1 when h's mac answers challenge under secret (constant time). */
int acclHelloVerify(const uint8_t* secret, const uint8_t* challenge, const acclHello* h);
uint64_t acclBootstrapTimeoutNs(void); /* ACCL_BOOTSTRAP_TIMEOUT (s, default 120) */

/* Acceptor: connections whose hello is still being read, each with a
 * deadline. A bad, silent or replayed connection is closed with a WARN; none
 * blocks the others. */
#define ACCL_ACCEPT_MAX_PENDING 64
typedef struct {
  int fd;
  size_t got;
  uint64_t deadline;
  acclSocketAddr peer;
  acclHello hello;
  uint8_t challenge[ACCL_CHALLENGE_BYTES]; /* what its hello must answer */
} acclPendingConn;

typedef struct {
  int listenFd;
  uint8_t secret[ACCL_SECRET_BYTES];
  int challengeEach;                   /* the root: a fresh challenge sent on every connection */
  uint8_t nonce[ACCL_CHALLENGE_BYTES]; /* else: the job nonce is the challenge */
  const char* who;                     /* "root" / "rank N" for log lines */
  acclPendingConn pend[ACCL_ACCEPT_MAX_PENDING];
  int npend;
  /* A flood must not flood the log: the first ACCL_ACCEPT_WARN_FIRST
   * rejections are logged one by one, then a count every 10 s. */
  uint64_t rejected, unlogged, lastSummaryNs;
} acclAcceptor;
#define ACCL_ACCEPT_WARN_FIRST 10

/* nonce NULL (the root): every accepted connection is sent a fresh random
 * challenge; else its hello answers the job nonce. */
void acclAcceptorInit(acclAcceptor* a, int listenFd, const uint8_t* secret, const uint8_t* nonce, const char* who);
/* Sleeps at most sliceMs. Returns 1 with *fd / *hello of a connection that
 * presented the right magic and a hello that verifies (the caller checks
 * kind and rank),
 * 0 when none is ready yet, or <0 (-acclResult_t) on a local failure. */
int acclAcceptorStep(acclAcceptor* a, int sliceMs, int* fd, acclHello* hello, acclSocketAddr* peer);
/* Close every pending connection (not the listening socket). */
void acclAcceptorFini(acclAcceptor* a);

/* Root thread (bootstrap_root.c). Listens on addr (port 0: any); *listening
 * gets the actual address. The thread exits by itself once every rank got the
 * address table, or at the bootstrap timeout. */
acclResult_t acclBootstrapRootStart(const acclSocketAddr* addr, const uint8_t* secret, acclSocketAddr* listening);
/* Wait for this process's root thread of `secret` to finish (stop: tell it to
 * give up first) and release it. No-op when it is not ours. */
void acclBootstrapRootReap(const uint8_t* secret, int stop);

#endif
