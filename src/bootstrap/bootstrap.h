/* bootstrap.h - out-of-band TCP rendezvous and the library's internal
 * collectives over bootstrap sockets (allgather, barrier, send/recv).
 * Every connection presents the job's 128-bit secret first; connections that
 * do not are closed with a WARN and never disturb the job. */
#ifndef ACCL_BOOTSTRAP_H_
#define ACCL_BOOTSTRAP_H_

#include <stddef.h>
#include <stdint.h>
#include "core/core.h"

typedef struct acclBootstrap acclBootstrap;

/* Root side of acclGetUniqueId: listen (ACCL_COMM_ID or the interface chosen by
 * ACCL_SOCKET_IFNAME), start the root thread, fill the id. */
acclResult_t acclBootstrapGetUniqueId(acclUniqueId* id);
/* The same, for communicators made inside one process (acclCommInitAll):
 * never pinned by ACCL_COMM_ID. */
acclResult_t acclBootstrapGetLocalUniqueId(acclUniqueId* id);
/* Rendezvous of nranks ranks. abortFlag (may be NULL) makes waits give up with
 * acclInvalidUsage... when set; waits give up with acclTimeout after
 * ACCL_BOOTSTRAP_TIMEOUT seconds. */
acclResult_t acclBootstrapInit(const acclUniqueId* id, int rank, int nranks, volatile int* abortFlag,
                               acclBootstrap** out);
/* data holds nranks blocks of `size` bytes; this rank's block is data + rank*size. */
acclResult_t acclBootstrapAllGather(acclBootstrap* bs, void* data, size_t size);
acclResult_t acclBootstrapBarrier(acclBootstrap* bs);
acclResult_t acclBootstrapSend(acclBootstrap* bs, int peer, int tag, const void* data, size_t size);
acclResult_t acclBootstrapRecv(acclBootstrap* bs, int peer, int tag, void* data, size_t size);
/* Bootstrap of a sub-group: ranks[] lists the parent ranks of the new group in
 * new-rank order, myNewRank is ours. Collective over the members only. */
acclResult_t acclBootstrapSplit(acclBootstrap* parent, const int* ranks, int nnew, int myNewRank,
                                volatile int* abortFlag, acclBootstrap** out);
acclResult_t acclBootstrapClose(acclBootstrap* bs);
/* Liveness, without blocking: a rank of the job known gone (its ring
 * connection closed without a clean close, or a rank said so), or -1; the
 * first answer stays, and sets the last-error text naming the rank. Ranks
 * that learn it pass it on, so every rank knows within a few checks. */
int acclBootstrapLostPeer(acclBootstrap* bs);
/* A rank found gone by other means (this node's pid check, a transport):
 * passed along the ring as acclBootstrapLostPeer's are. */
void acclBootstrapReportLost(acclBootstrap* bs, int rank);
/* Same value on every rank of one bootstrap, different for every job / split:
 * names the communicator in logs and shm objects. */
uint64_t acclBootstrapHash(const acclBootstrap* bs);

/* ------------------------------------------------ unique id (pure helpers) */

/* Layout of the 128 bytes of acclUniqueId (integers little-endian as stored
 * by this host; the id never leaves the job's machines' architecture). */
typedef struct {
  uint32_t magic;   /* ACCL_ID_MAGIC */
  uint16_t version; /* ACCL_ID_VERSION */
  uint16_t family;  /* AF_INET / AF_INET6 */
  uint16_t port;    /* network byte order */
  uint8_t flags;    /* ACCL_ID_LOCAL: made for one process's own use */
  uint8_t pad[5];
  uint8_t addr[16];     /* IPv4 in the first 4 bytes */
  uint8_t secret[16];   /* every bootstrap connection presents it first */
  uint8_t reserved[72]; /* zero */
  uint64_t checksum;    /* acclIdChecksum of the 120 bytes above */
} acclIdWire;

#define ACCL_ID_MAGIC 0x44494341u /* "ACID" */
#define ACCL_ID_VERSION 1
#define ACCL_SECRET_BYTES 16
/* The id of acclCommInitAll: its root lives in this process whatever
 * ACCL_COMM_ID pins for the job's own ids. */
#define ACCL_ID_LOCAL 0x1

struct sockaddr;
uint64_t acclIdChecksum(const void* data, size_t len);
/* addr is a struct sockaddr_in or sockaddr_in6. */
void acclIdEncode(const struct sockaddr* addr, const uint8_t secret[ACCL_SECRET_BYTES], acclUniqueId* id);
/* acclInvalidArgument with the last error text saying what is wrong (no WARN:
 * the caller names the argument). addr must
 * have room for a sockaddr_in6. */
acclResult_t acclIdDecode(const acclUniqueId* id, struct sockaddr* addr, uint8_t secret[ACCL_SECRET_BYTES]);

#endif
