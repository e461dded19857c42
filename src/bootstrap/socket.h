/* socket.h - TCP helpers for the bootstrap: interface choice
 * (ACCL_SOCKET_IFNAME), address parsing, and non-blocking connect / accept /
 * send / receive that give up at a deadline or when an abort flag is set.
 * All waits sleep in poll(); nothing spins. */
#ifndef ACCL_SOCKET_H_
#define ACCL_SOCKET_H_

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "core/core.h"

typedef union {
  struct sockaddr sa;
  struct sockaddr_in sin;
  struct sockaddr_in6 sin6;
} acclSocketAddr;

/* ------------------------------------------------ pure helpers (unit tests) */

/* 1 when interface `name` is selected by an ACCL_SOCKET_IFNAME value: a comma
 * list of prefixes; a leading '^' excludes the listed ones instead; a leading
 * '=' (after any '^') makes the names exact. */
int acclSocketIfMatch(const char* spec, const char* name);
/* Preference class used when ACCL_SOCKET_IFNAME is unset (lower is better):
 * 0 ib*, 1 ordinary interfaces, 2 docker / virbr bridges, 3 loopback. */
int acclSocketIfClass(const char* name);
/* Parse "ip:port", "[ipv6]:port" or "host:port". Returns 0 or -1. */
int acclSocketParseAddr(const char* text, acclSocketAddr* out);
/* "ip:port" text of an address (buf of at least 64 bytes). */
const char* acclSocketAddrStr(const acclSocketAddr* addr, char* buf, size_t len);
socklen_t acclSocketAddrLen(const acclSocketAddr* addr);

/* ------------------------------------------------------------- operations */

/* Address of the bootstrap interface (port 0), chosen once per process. */
acclResult_t acclSocketBootstrapAddr(acclSocketAddr* addr, char* ifname, size_t ifnameLen);
/* Non-blocking listening socket bound to addr (port 0: any); *bound gets the port. */
acclResult_t acclSocketListen(const acclSocketAddr* addr, int* fd, acclSocketAddr* bound);
/* Connect, retrying refused connections (the peer may not listen yet) until
 * deadlineNs (acclClockNs time). */
acclResult_t acclSocketConnect(const acclSocketAddr* addr, uint64_t deadlineNs, volatile int* abortFlag, int* fd);
/* Accept one pending connection if any (*fd = -1 when none). */
acclResult_t acclSocketAccept(int listenFd, int* fd, acclSocketAddr* peer);

/* Move exactly n bytes. Errors: acclTimeout at the deadline, acclRemoteError
 * when the peer closed or reset, acclInvalidUsage when *abortFlag became set.
 * `what` names the transfer in the WARN. */
acclResult_t acclSocketSend(int fd, const void* buf, size_t n, uint64_t deadlineNs, volatile int* abortFlag,
                            const char* what);
acclResult_t acclSocketRecv(int fd, void* buf, size_t n, uint64_t deadlineNs, volatile int* abortFlag,
                            const char* what);
/* Send on one socket while receiving on another (ring steps never deadlock on
 * full socket buffers). */
acclResult_t acclSocketSendRecv(int sendFd, const void* sbuf, size_t sn, int recvFd, void* rbuf, size_t rn,
                                uint64_t deadlineNs, volatile int* abortFlag, const char* what);
/* Non-blocking partial receive: reads what is there into buf[*got..n).
 * Returns 1 when complete, 0 when more is needed, -1 on EOF or error. */
int acclSocketRecvSome(int fd, void* buf, size_t n, size_t* got);

/* Slice of one poll() so waits notice an abort flag quickly. */
#define ACCL_SOCKET_POLL_MS 50

#endif
