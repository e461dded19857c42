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

/* What the connecting side sends first on every bootstrap connection. */
enum { ACCL_HELLO_ROOT = 1, ACCL_HELLO_RING = 2, ACCL_HELLO_P2P = 3 };
typedef struct {
  uint64_t magic; /* ACCL_HELLO_MAGIC */
  uint8_t secret[ACCL_SECRET_BYTES];
  int32_t kind;
  int32_t rank; /* sender's rank */
  int32_t nranks;
  int32_t pad;
  acclAddrWire addr; /* sender's listen address (ROOT hellos) */
  uint8_t pad2[4];
} acclHello;
#define ACCL_HELLO_MAGIC 0x6f6c6c65486c6363ULL

/* Root -> rank after every rank arrived (status 0: nranks acclAddrWire
 * follow) or on failure (status = acclResult_t: nranks bytes follow, 1 for
 * each rank that arrived). */
typedef struct {
  uint64_t magic;
  int32_t status;
  int32_t nranks;
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
void acclHelloFill(acclHello* h, const uint8_t* secret, int kind, int rank, int nranks, const acclSocketAddr* addr);
uint64_t acclBootstrapTimeoutNs(void); /* ACCL_BOOTSTRAP_TIMEOUT (s, default 120) */

/* Acceptor: connections whose hello is still being read, each with a
 * deadline. A bad or silent connection is closed with a WARN; none blocks
 * the others. */
#define ACCL_ACCEPT_MAX_PENDING 64
typedef struct {
  int fd;
  size_t got;
  uint64_t deadline;
  acclSocketAddr peer;
  acclHello hello;
} acclPendingConn;

typedef struct {
  int listenFd;
  uint8_t secret[ACCL_SECRET_BYTES];
  const char* who; /* "root" / "rank N" for log lines */
  acclPendingConn pend[ACCL_ACCEPT_MAX_PENDING];
  int npend;
  /* A flood must not flood the log: the first ACCL_ACCEPT_WARN_FIRST
   * rejections are logged one by one, then a count every 10 s. */
  uint64_t rejected, unlogged, lastSummaryNs;
} acclAcceptor;
#define ACCL_ACCEPT_WARN_FIRST 10

void acclAcceptorInit(acclAcceptor* a, int listenFd, const uint8_t* secret, const char* who);
/* Sleeps at most sliceMs. Returns 1 with *fd / *hello of a connection that
 * presented the right magic and secret (the caller checks kind and rank),
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
