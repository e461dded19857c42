/* loopback.h - blocking loopback sockets for tests that play a bootstrap
 * peer by hand (test_bootstrap_peer, fuzz_bootstrap): listen, dial, accept
 * and read with a timeout, send all; and the messages a scripted root and
 * rank send (a hello, the root's reply). Header-only. */
#ifndef ACCL_TEST_LOOPBACK_H_
#define ACCL_TEST_LOOPBACK_H_

#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "bootstrap/socket.h"
#include "bootstrap/wire.h"

static inline int listenLoopback(acclSocketAddr* bound) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(a);
  if (bind(fd, (struct sockaddr*)&a, sizeof(a)) != 0 || listen(fd, 16) != 0 ||
      getsockname(fd, (struct sockaddr*)&a, &len) != 0) {
    close(fd);
    return -1;
  }
  memset(bound, 0, sizeof(*bound));
  bound->sin = a;
  return fd;
}

static inline int dial(const acclSocketAddr* a) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, &a->sa, sizeof(a->sin)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* accept with a timeout (ms); -1 on timeout */
static inline int acceptWait(int lfd, int ms) {
  struct pollfd p = {lfd, POLLIN, 0};
  if (poll(&p, 1, ms) <= 0) return -1;
  return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

static inline int readFull(int fd, void* buf, size_t n, int ms) {
  size_t got = 0;
  while (got < n) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, ms) <= 0) return -1;
    ssize_t r = recv(fd, (char*)buf + got, n - got, 0);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

static inline void sendAll(int fd, const void* buf, size_t n) {
  size_t off = 0;
  while (off < n) {
    ssize_t w = send(fd, (const char*)buf + off, n - off, MSG_NOSIGNAL);
    if (w <= 0) return;
    off += (size_t)w;
  }
}

/* The connecting side of a ring / P2P connection, as a rank does it. */
static inline void sendHello(int fd, const uint8_t* secret, const uint8_t* nonce, int kind, int rank, int nranks) {
  acclHello h;
  acclHelloFill(&h, secret, nonce, kind, rank, nranks, NULL);
  sendAll(fd, &h, sizeof(h));
}

/* A root's successful reply to rank 0's hello in a job of 2: the job nonce,
 * rank 0 at the address of its hello and rank 1 at rank1. *rank0 gets rank
 * 0's address. */
static inline void sendRootReply(int fd, const uint8_t* nonce, const acclHello* hello0, const acclSocketAddr* rank1,
                                 acclSocketAddr* rank0) {
  struct {
    acclRootReply rep;
    acclAddrWire addrs[2];
  } msg;
  memset(&msg, 0, sizeof(msg));
  msg.rep.magic = ACCL_HELLO_MAGIC;
  msg.rep.status = acclSuccess;
  msg.rep.nranks = 2;
  memcpy(msg.rep.nonce, nonce, sizeof(msg.rep.nonce));
  msg.addrs[0] = hello0->addr;
  acclAddrToWire(rank1, &msg.addrs[1]);
  sendAll(fd, &msg, sizeof(msg));
  acclAddrFromWire(&msg.addrs[0], rank0);
}

#endif
