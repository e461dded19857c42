/* loopback.h - blocking loopback sockets for tests that play a bootstrap
 * peer by hand (test_bootstrap_peer, fuzz_bootstrap): listen, dial, accept
 * and read with a timeout, send all. Header-only. */
#ifndef ACCL_TEST_LOOPBACK_H_
#define ACCL_TEST_LOOPBACK_H_

#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "bootstrap/socket.h"

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

#endif
