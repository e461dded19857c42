/* accept.c - screens incoming bootstrap connections: each must send
 * a complete hello with the job's magic and a MAC under the job's secret of
 * its challenge (the root: a fresh random one sent on every connection it
 * accepts; a rank: the job nonce) before its deadline. Anything else (port
 * scanners, stale jobs, replayed hellos, garbage) is closed with a WARN, and
 * a silent connection never blocks the others. */
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "bootstrap/wire.h"
#include "core/param.h"

static uint64_t helloTimeoutNs(void) {
  int64_t s = acclParamBootstrapHelloTimeout();
  return (uint64_t)s * 1000000000ULL;
}

void acclAcceptorInit(acclAcceptor* a, int listenFd, const uint8_t* secret, const uint8_t* nonce, const char* who) {
  memset(a, 0, sizeof(*a));
  a->listenFd = listenFd;
  memcpy(a->secret, secret, ACCL_SECRET_BYTES);
  a->challengeEach = nonce == NULL;
  if (nonce) memcpy(a->nonce, nonce, ACCL_CHALLENGE_BYTES);
  a->who = who;
}

static void logUnlogged(acclAcceptor* a, const char* lastWhy) {
  WARN("bootstrap %s: closed %llu more connections not logged one by one (%llu in all; the last: %s)", a->who,
       (unsigned long long)a->unlogged, (unsigned long long)a->rejected, lastWhy);
  a->unlogged = 0;
  a->lastSummaryNs = acclClockNs();
}

static void dropPending(acclAcceptor* a, int i, const char* why) {
  char buf[80];
  if (++a->rejected <= ACCL_ACCEPT_WARN_FIRST) {
    WARN("bootstrap %s: closed a connection from %s: %s%s", a->who,
         acclSocketAddrStr(&a->pend[i].peer, buf, sizeof(buf)), why,
         a->rejected == ACCL_ACCEPT_WARN_FIRST ? " (further rejections are counted, not logged one by one)" : "");
    a->lastSummaryNs = acclClockNs();
  } else {
    a->unlogged++;
    if (acclClockNs() - a->lastSummaryNs > 10000000000ULL) logUnlogged(a, why);
  }
  close(a->pend[i].fd);
  a->pend[i] = a->pend[--a->npend];
}

static acclResult_t acceptNew(acclAcceptor* a) {
  for (;;) {
    int fd;
    acclSocketAddr peer;
    ACCLCHECK(acclSocketAccept(a->listenFd, &fd, &peer));
    if (fd < 0) return acclSuccess;
    if (a->npend == ACCL_ACCEPT_MAX_PENDING) {
      /* Flooded: the oldest connection makes room (a real peer retries never,
       * but a real peer also never stays silent this long). */
      int oldest = 0;
      for (int i = 1; i < a->npend; i++)
        if (a->pend[i].deadline < a->pend[oldest].deadline) oldest = i;
      dropPending(a, oldest, "too many connections waiting for their hello");
    }
    acclPendingConn* p = &a->pend[a->npend++];
    memset(p, 0, sizeof(*p));
    p->fd = fd;
    p->peer = peer;
    p->deadline = acclClockNs() + helloTimeoutNs();
    if (!a->challengeEach) {
      memcpy(p->challenge, a->nonce, ACCL_CHALLENGE_BYTES);
      continue;
    }
    acclResult_t res = acclSecretNew(p->challenge);
    if (res != acclSuccess) {
      close(fd);
      a->npend--;
      return res;
    }
    /* 16 bytes into an empty socket buffer: never blocks */
    if (send(fd, p->challenge, ACCL_CHALLENGE_BYTES, MSG_NOSIGNAL | MSG_DONTWAIT) != ACCL_CHALLENGE_BYTES)
      dropPending(a, a->npend - 1, "could not send the challenge (the peer left)");
  }
}

/* Progress every pending hello; return the index of a valid complete one or -1. */
static int progressPending(acclAcceptor* a) {
  uint64_t now = acclClockNs();
  for (int i = 0; i < a->npend;) {
    acclPendingConn* p = &a->pend[i];
    int st = acclSocketRecvSome(p->fd, &p->hello, sizeof(p->hello), &p->got);
    if (st < 0) {
      dropPending(a, i, p->got ? "closed before a complete hello" : "closed without a hello");
      continue;
    }
    if (st == 1) {
      if (p->hello.magic != ACCL_HELLO_MAGIC) {
        dropPending(a, i, "not an acc-ccl bootstrap hello (bad magic)");
        continue;
      }
      if (!acclHelloVerify(a->secret, p->challenge, &p->hello)) {
        dropPending(a, i,
                    a->challengeEach ? "the hello does not answer this connection's challenge (wrong secret: another "
                                       "job, a stale one, or a replayed hello)"
                                     : "the hello does not answer the job nonce (wrong secret: another job, a stale "
                                       "one, or a replayed hello)");
        continue;
      }
      return i;
    }
    if (now >= p->deadline) {
      dropPending(a, i, "no complete hello in time");
      continue;
    }
    i++;
  }
  return -1;
}

int acclAcceptorStep(acclAcceptor* a, int sliceMs, int* fd, acclHello* hello, acclSocketAddr* peer) {
  for (int round = 0; round < 2; round++) {
    acclResult_t res = acceptNew(a);
    if (res != acclSuccess) return -(int)res;
    int i = progressPending(a);
    if (i >= 0) {
      *fd = a->pend[i].fd;
      *hello = a->pend[i].hello;
      if (peer) *peer = a->pend[i].peer;
      a->pend[i] = a->pend[--a->npend];
      return 1;
    }
    if (round == 1) break;
    struct pollfd p[ACCL_ACCEPT_MAX_PENDING + 1];
    int np = 0;
    p[np++] = (struct pollfd){a->listenFd, POLLIN, 0};
    for (int k = 0; k < a->npend; k++) p[np++] = (struct pollfd){a->pend[k].fd, POLLIN, 0};
    /* Wake in time to expire the earliest pending deadline. */
    uint64_t now = acclClockNs();
    for (int k = 0; k < a->npend; k++) {
      int ms = a->pend[k].deadline > now ? (int)((a->pend[k].deadline - now) / 1000000 + 1) : 0;
      if (ms < sliceMs) sliceMs = ms;
    }
    if (poll(p, (nfds_t)np, sliceMs) <= 0 && a->npend == 0) return 0;
  }
  return 0;
}

void acclAcceptorFini(acclAcceptor* a) {
  for (int i = 0; i < a->npend; i++) close(a->pend[i].fd);
  a->npend = 0;
  if (a->unlogged) logUnlogged(a, "see above");
}
