/* socket.c - TCP helpers for the bootstrap (see socket.h). */
#include "bootstrap/socket.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/param.h"

/* ------------------------------------------------------------ pure helpers */

int acclSocketIfMatch(const char* spec, const char* name) {
  if (spec == NULL || name == NULL) return 0;
  int exclude = 0, exact = 0;
  if (*spec == '^') {
    exclude = 1;
    spec++;
  }
  if (*spec == '=') {
    exact = 1;
    spec++;
  }
  int listed = 0;
  const char* p = spec;
  while (*p) {
    const char* end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len > 0) {
      if (exact ? (strlen(name) == len && strncmp(name, p, len) == 0) : strncmp(name, p, len) == 0) {
        listed = 1;
        break;
      }
    }
    if (!end) break;
    p = end + 1;
  }
  return exclude ? !listed : listed;
}

int acclSocketIfClass(const char* name) {
  if (strncmp(name, "ib", 2) == 0) return 0;
  if (strncmp(name, "lo", 2) == 0) return 3;
  if (strncmp(name, "docker", 6) == 0 || strncmp(name, "virbr", 5) == 0) return 2;
  return 1;
}

int acclSocketParseAddr(const char* text, acclSocketAddr* out) {
  if (text == NULL || out == NULL) return -1;
  char host[256];
  const char* portStr;
  if (text[0] == '[') { /* [v6]:port */
    const char* close = strchr(text, ']');
    if (!close || close[1] != ':' || (size_t)(close - text - 1) >= sizeof(host)) return -1;
    memcpy(host, text + 1, (size_t)(close - text - 1));
    host[close - text - 1] = '\0';
    portStr = close + 2;
  } else {
    const char* colon = strrchr(text, ':');
    if (!colon || colon == text || (size_t)(colon - text) >= sizeof(host)) return -1;
    if (strchr(text, ':') != colon) return -1; /* bare IPv6 needs brackets */
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    portStr = colon + 1;
  }
  char* end;
  long port = strtol(portStr, &end, 10);
  if (*portStr == '\0' || *end != '\0' || port <= 0 || port > 65535) return -1;
  memset(out, 0, sizeof(*out));
  if (inet_pton(AF_INET, host, &out->sin.sin_addr) == 1) {
    out->sin.sin_family = AF_INET;
    out->sin.sin_port = htons((uint16_t)port);
    return 0;
  }
  if (inet_pton(AF_INET6, host, &out->sin6.sin6_addr) == 1) {
    out->sin6.sin6_family = AF_INET6;
    out->sin6.sin6_port = htons((uint16_t)port);
    return 0;
  }
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL) return -1;
  int rc = -1;
  if (res->ai_addrlen <= sizeof(*out)) {
    memcpy(out, res->ai_addr, res->ai_addrlen);
    if (out->sa.sa_family == AF_INET) {
      out->sin.sin_port = htons((uint16_t)port);
      rc = 0;
    }
    if (out->sa.sa_family == AF_INET6) {
      out->sin6.sin6_port = htons((uint16_t)port);
      rc = 0;
    }
  }
  freeaddrinfo(res);
  return rc;
}

socklen_t acclSocketAddrLen(const acclSocketAddr* addr) {
  return addr->sa.sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

const char* acclSocketAddrStr(const acclSocketAddr* addr, char* buf, size_t len) {
  char ip[INET6_ADDRSTRLEN] = "?";
  if (addr->sa.sa_family == AF_INET) {
    inet_ntop(AF_INET, &addr->sin.sin_addr, ip, sizeof(ip));
    snprintf(buf, len, "%s:%u", ip, ntohs(addr->sin.sin_port));
  } else if (addr->sa.sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &addr->sin6.sin6_addr, ip, sizeof(ip));
    snprintf(buf, len, "[%s]:%u", ip, ntohs(addr->sin6.sin6_port));
  } else {
    snprintf(buf, len, "<family %d>", addr->sa.sa_family);
  }
  return buf;
}

/* ----------------------------------------------------- interface selection */

static pthread_mutex_t ifLock = PTHREAD_MUTEX_INITIALIZER;
static int ifChosen;
static acclSocketAddr ifAddr;
static char ifName[IF_NAMESIZE + 1];

static int usableAddr(const struct ifaddrs* ifa) {
  if (ifa->ifa_addr == NULL || !(ifa->ifa_flags & IFF_UP)) return 0;
  if (ifa->ifa_addr->sa_family == AF_INET) return 1;
  if (ifa->ifa_addr->sa_family == AF_INET6) {
    const struct sockaddr_in6* s6 = (const struct sockaddr_in6*)ifa->ifa_addr;
    return !IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr); /* link-local needs a scope id */
  }
  return 0;
}

static acclResult_t chooseInterface(void) {
  const char* spec = acclParamSocketIfname();
  struct ifaddrs* list = NULL;
  if (getifaddrs(&list) != 0) ACCL_ERROR(acclSystemError, "bootstrap: getifaddrs failed: %s", strerror(errno));
  const struct ifaddrs* best = NULL;
  int bestRank = 1 << 30;
  for (const struct ifaddrs* ifa = list; ifa; ifa = ifa->ifa_next) {
    if (!usableAddr(ifa)) continue;
    /* rank: (class, family) — IPv4 preferred within one class */
    int fam = ifa->ifa_addr->sa_family == AF_INET ? 0 : 1;
    int r;
    if (spec && *spec) {
      if (!acclSocketIfMatch(spec, ifa->ifa_name)) continue;
      r = fam; /* keep the listed order of getifaddrs */
    } else {
      r = acclSocketIfClass(ifa->ifa_name) * 2 + fam;
    }
    if (r < bestRank) {
      bestRank = r;
      best = ifa;
    }
  }
  if (best == NULL) {
    freeifaddrs(list);
    if (spec && *spec)
      WARN("bootstrap: no usable interface matches ACCL_SOCKET_IFNAME=%s", spec);
    else
      WARN("bootstrap: no usable network interface (not even loopback)");
    return acclSystemError;
  }
  memset(&ifAddr, 0, sizeof(ifAddr));
  memcpy(&ifAddr, best->ifa_addr,
         best->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
  snprintf(ifName, sizeof(ifName), "%s", best->ifa_name);
  freeifaddrs(list);
  char buf[80];
  INFO(ACCL_BOOTSTRAP | ACCL_INIT, "bootstrap interface %s %s", ifName, acclSocketAddrStr(&ifAddr, buf, sizeof(buf)));
  return acclSuccess;
}

acclResult_t acclSocketBootstrapAddr(acclSocketAddr* addr, char* name, size_t nameLen) {
  acclResult_t res = acclSuccess;
  pthread_mutex_lock(&ifLock);
  if (!ifChosen) {
    res = chooseInterface();
    if (res == acclSuccess) ifChosen = 1;
  }
  if (res == acclSuccess) {
    *addr = ifAddr;
    if (addr->sa.sa_family == AF_INET)
      addr->sin.sin_port = 0;
    else
      addr->sin6.sin6_port = 0;
    if (name) snprintf(name, nameLen, "%s", ifName);
  }
  pthread_mutex_unlock(&ifLock);
  return res;
}

/* -------------------------------------------------------------- operations */

static int newSocket(int family) {
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

acclResult_t acclSocketListen(const acclSocketAddr* addr, int* fd, acclSocketAddr* bound) {
  char buf[80];
  int s = newSocket(addr->sa.sa_family);
  if (s < 0) ACCL_ERROR(acclSystemError, "bootstrap: socket() failed: %s", strerror(errno));
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(s, &addr->sa, acclSocketAddrLen(addr)) != 0 || listen(s, 256) != 0) {
    WARN("bootstrap: cannot listen on %s: %s", acclSocketAddrStr(addr, buf, sizeof(buf)), strerror(errno));
    close(s);
    return acclSystemError;
  }
  socklen_t len = sizeof(*bound);
  if (getsockname(s, &bound->sa, &len) != 0) {
    WARN("bootstrap: getsockname failed: %s", strerror(errno));
    close(s);
    return acclSystemError;
  }
  *fd = s;
  return acclSuccess;
}

static int aborted(volatile int* abortFlag) { return abortFlag && __atomic_load_n(abortFlag, __ATOMIC_ACQUIRE); }

/* Milliseconds poll() may sleep before the deadline or the next abort check;
 * -1 when the deadline passed. */
static int pollSlice(uint64_t deadlineNs) {
  uint64_t now = acclClockNs();
  if (now >= deadlineNs) return -1;
  uint64_t ms = (deadlineNs - now + 999999) / 1000000;
  return ms < ACCL_SOCKET_POLL_MS ? (int)ms : ACCL_SOCKET_POLL_MS;
}

acclResult_t acclSocketConnect(const acclSocketAddr* addr, uint64_t deadlineNs, volatile int* abortFlag, int* fd) {
  char buf[80];
  int lastErr = 0;
  int retries = 0;
  for (;;) {
    if (aborted(abortFlag)) return acclInvalidUsage;
    int s = newSocket(addr->sa.sa_family);
    if (s < 0) ACCL_ERROR(acclSystemError, "bootstrap: socket() failed: %s", strerror(errno));
    int rc = connect(s, &addr->sa, acclSocketAddrLen(addr));
    if (rc != 0 && errno == EINPROGRESS) {
      for (;;) {
        int slice = pollSlice(deadlineNs);
        if (slice < 0 || aborted(abortFlag)) break;
        struct pollfd p = {s, POLLOUT, 0};
        if (poll(&p, 1, slice) > 0) break;
      }
      int err = 0;
      socklen_t el = sizeof(err);
      struct pollfd p = {s, POLLOUT, 0};
      if (poll(&p, 1, 0) <= 0)
        err = ETIMEDOUT;
      else if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
        err = errno;
      rc = err ? -1 : 0;
      errno = err;
    }
    if (rc == 0) {
      *fd = s;
      if (retries)
        TRACE(ACCL_BOOTSTRAP, "connected to %s after %d retries", acclSocketAddrStr(addr, buf, sizeof(buf)), retries);
      return acclSuccess;
    }
    lastErr = errno;
    close(s);
    if (aborted(abortFlag)) return acclInvalidUsage;
    if (acclClockNs() >= deadlineNs) break;
    if (lastErr != ECONNREFUSED && lastErr != ETIMEDOUT && lastErr != EHOSTUNREACH && lastErr != ENETUNREACH &&
        lastErr != ECONNRESET && lastErr != EAGAIN)
      ACCL_ERROR(acclSystemError, "bootstrap: connect to %s failed: %s", acclSocketAddrStr(addr, buf, sizeof(buf)),
                 strerror(lastErr));
    /* The peer may not listen yet: back off (sleeping) and retry. */
    retries++;
    int slice = pollSlice(deadlineNs);
    if (slice > 0) poll(NULL, 0, retries < 10 ? (slice < 10 ? slice : 10) : slice);
  }
  ACCL_ERROR(acclTimeout, "bootstrap: connect to %s timed out (%s)", acclSocketAddrStr(addr, buf, sizeof(buf)),
             strerror(lastErr));
}

acclResult_t acclSocketAccept(int listenFd, int* fd, acclSocketAddr* peer) {
  socklen_t len = sizeof(*peer);
  int s = accept4(listenFd, &peer->sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (s < 0) {
    *fd = -1;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) return acclSuccess;
    ACCL_ERROR(acclSystemError, "bootstrap: accept failed: %s", strerror(errno));
  }
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  *fd = s;
  return acclSuccess;
}

int acclSocketRecvSome(int fd, void* buf, size_t n, size_t* got) {
  while (*got < n) {
    ssize_t r = recv(fd, (char*)buf + *got, n - *got, 0);
    if (r > 0) {
      *got += (size_t)r;
      continue;
    }
    if (r == 0) return -1;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return -1;
  }
  return 1;
}

/* Send progress: 1 complete, 0 more needed, -1 error. */
static int sendSome(int fd, const void* buf, size_t n, size_t* done) {
  while (*done < n) {
    ssize_t r = send(fd, (const char*)buf + *done, n - *done, MSG_NOSIGNAL);
    if (r > 0) {
      *done += (size_t)r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return -1;
  }
  return 1;
}

acclResult_t acclSocketSendRecv(int sendFd, const void* sbuf, size_t sn, int recvFd, void* rbuf, size_t rn,
                                uint64_t deadlineNs, volatile int* abortFlag, const char* what) {
  size_t sdone = 0, rdone = 0;
  for (;;) {
    int sst = sendFd >= 0 ? sendSome(sendFd, sbuf, sn, &sdone) : 1;
    int rst = recvFd >= 0 ? acclSocketRecvSome(recvFd, rbuf, rn, &rdone) : 1;
    if (sst < 0 || rst < 0)
      ACCL_ERROR(acclRemoteError, "bootstrap: %s: connection to the peer was lost (%s)", what,
                 sst < 0 ? "send" : "receive");
    if (sst == 1 && rst == 1) return acclSuccess;
    if (aborted(abortFlag)) {
      INFO(ACCL_BOOTSTRAP, "bootstrap: %s interrupted by abort", what);
      return acclInvalidUsage;
    }
    int slice = pollSlice(deadlineNs);
    if (slice < 0)
      ACCL_ERROR(acclTimeout, "bootstrap: %s timed out (%zu/%zu bytes sent, %zu/%zu received)", what, sdone, sn, rdone,
                 rn);
    struct pollfd p[2];
    int np = 0;
    if (sst == 0) p[np++] = (struct pollfd){sendFd, POLLOUT, 0};
    if (rst == 0) p[np++] = (struct pollfd){recvFd, POLLIN, 0};
    poll(p, (nfds_t)np, slice);
  }
}

acclResult_t acclSocketSend(int fd, const void* buf, size_t n, uint64_t deadlineNs, volatile int* abortFlag,
                            const char* what) {
  return acclSocketSendRecv(fd, buf, n, -1, NULL, 0, deadlineNs, abortFlag, what);
}

acclResult_t acclSocketRecv(int fd, void* buf, size_t n, uint64_t deadlineNs, volatile int* abortFlag,
                            const char* what) {
  return acclSocketSendRecv(-1, NULL, 0, fd, buf, n, deadlineNs, abortFlag, what);
}
