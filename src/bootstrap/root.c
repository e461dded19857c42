/* root.c - the root thread started by acclGetUniqueId: it collects
 * one hello per rank (each answering the challenge it was sent, under the
 * job's secret), then sends every rank the table of all ranks' listen
 * addresses and the job nonce, and exits. Bad connections are closed
 * by the acceptor and never stop it; at the bootstrap timeout it tells the
 * ranks that did arrive which ones are missing. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bootstrap/wire.h"

typedef struct acclRoot {
  struct acclRoot* next;
  pthread_t thread;
  uint8_t secret[ACCL_SECRET_BYTES];
  uint8_t nonce[ACCL_CHALLENGE_BYTES]; /* this rendezvous's job nonce */
  volatile int stop;
  int finished; /* the thread is about to return: a later start or reap joins it */
  acclAcceptor acc;
} acclRoot;

static pthread_mutex_t rootLock = PTHREAD_MUTEX_INITIALIZER;
static acclRoot* roots;

static void unlinkRoot(acclRoot* r) {
  for (acclRoot** p = &roots; *p; p = &(*p)->next)
    if (*p == r) {
      *p = r->next;
      return;
    }
}

/* Sends are small; a rank that does not read its reply within this time is gone. */
#define ROOT_REPLY_NS (10ULL * 1000000000ULL)

static void replyAll(int nranks, const int* fds, const acclAddrWire* addrs, acclResult_t status, const uint8_t* nonce) {
  uint8_t* arrived = calloc((size_t)nranks, 1);
  for (int r = 0; r < nranks && arrived; r++) arrived[r] = fds[r] >= 0;
  acclRootReply hdr = {ACCL_HELLO_MAGIC, (int32_t)status, nranks, {0}};
  if (status == acclSuccess) memcpy(hdr.nonce, nonce, ACCL_CHALLENGE_BYTES);
  for (int r = 0; r < nranks; r++) {
    if (fds[r] < 0) continue;
    uint64_t deadline = acclClockNs() + ROOT_REPLY_NS;
    char what[64];
    snprintf(what, sizeof(what), "root reply to rank %d", r);
    if (acclSocketSend(fds[r], &hdr, sizeof(hdr), deadline, NULL, what) != acclSuccess) continue;
    if (status == acclSuccess)
      acclSocketSend(fds[r], addrs, sizeof(*addrs) * (size_t)nranks, deadline, NULL, what);
    else if (arrived)
      acclSocketSend(fds[r], arrived, (size_t)nranks, deadline, NULL, what);
  }
  free(arrived);
}

/* Tell a rank it was refused (status), then close. The reply carries the
 * job's nranks so the rank can say what it disagreed on. */
static void rejectHello(int fd, acclResult_t status, int nranks) {
  acclRootReply hdr = {ACCL_HELLO_MAGIC, (int32_t)status, nranks, {0}};
  acclSocketSend(fd, &hdr, sizeof(hdr), acclClockNs() + 1000000000ULL, NULL, "root rejection");
  close(fd);
}

static void warnMissing(int nranks, const int* fds, uint64_t timeoutNs) {
  char list[256] = "";
  size_t len = 0;
  int missing = 0;
  for (int r = 0; r < nranks; r++) {
    if (fds[r] >= 0) continue;
    if (len < sizeof(list) - 16) len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d", missing ? "," : "", r);
    missing++;
  }
  WARN("bootstrap root: %d of %d ranks did not arrive within %llu s: rank%s %s", missing, nranks,
       (unsigned long long)(timeoutNs / 1000000000ULL), missing > 1 ? "s" : "", list);
}

static void* rootMain(void* arg) {
  acclRoot* root = arg;
  uint64_t timeoutNs = acclBootstrapTimeoutNs();
  uint64_t deadline = acclClockNs() + timeoutNs;
  int nranks = -1, arrived = 0;
  int* fds = NULL;
  acclAddrWire* addrs = NULL;
  acclResult_t status = acclSuccess;
  while (nranks < 0 || arrived < nranks) {
    if (root->stop) {
      status = acclInvalidUsage;
      break;
    }
    if (acclClockNs() >= deadline) {
      status = acclTimeout;
      break;
    }
    int fd;
    acclHello hello;
    acclSocketAddr peer;
    int st = acclAcceptorStep(&root->acc, ACCL_SOCKET_POLL_MS, &fd, &hello, &peer);
    if (st < 0) {
      status = (acclResult_t)-st;
      break;
    }
    if (st == 0) continue;
    char pbuf[80];
    acclSocketAddrStr(&peer, pbuf, sizeof(pbuf));
    if (hello.kind != ACCL_HELLO_ROOT || hello.nranks < 1 || hello.nranks > ACCL_MAX_RANKS) {
      WARN("bootstrap root: closed a connection from %s: not a rank hello (kind %d, nranks %d; at most %d ranks)", pbuf,
           hello.kind, hello.nranks, ACCL_MAX_RANKS);
      rejectHello(fd, acclInvalidArgument, hello.nranks);
      continue;
    }
    if (nranks < 0) {
      /* checked above: at most ACCL_MAX_RANKS entries each */
      int* newFds = malloc(sizeof(int) * (size_t)hello.nranks);
      acclAddrWire* newAddrs = calloc((size_t)hello.nranks, sizeof(*newAddrs));
      if (!newFds || !newAddrs) {
        WARN("bootstrap root: out of memory for %d ranks (rank %d from %s)", hello.nranks, hello.rank, pbuf);
        free(newFds);
        free(newAddrs);
        rejectHello(fd, acclSystemError, hello.nranks);
        continue;
      }
      nranks = hello.nranks;
      fds = newFds;
      addrs = newAddrs;
      for (int r = 0; r < nranks; r++) fds[r] = -1;
      deadline = acclClockNs() + timeoutNs; /* counted from the first arrival */
    }
    if (hello.nranks != nranks || hello.rank < 0 || hello.rank >= nranks || fds[hello.rank] >= 0) {
      WARN("bootstrap root: rejected rank %d (nranks %d) from %s: %s", hello.rank, hello.nranks, pbuf,
           hello.nranks != nranks                     ? "the job has a different nranks"
           : (hello.rank < 0 || hello.rank >= nranks) ? "rank out of range"
                                                      : "this rank already arrived");
      rejectHello(fd, acclInvalidUsage, nranks);
      continue;
    }
    fds[hello.rank] = fd;
    addrs[hello.rank] = hello.addr;
    arrived++;
    TRACE(ACCL_BOOTSTRAP, "bootstrap root: rank %d/%d arrived from %s", hello.rank, nranks, pbuf);
  }
  if (nranks > 0 && fds) {
    if (status == acclTimeout) warnMissing(nranks, fds, timeoutNs);
    replyAll(nranks, fds, addrs, status, root->nonce);
    for (int r = 0; r < nranks; r++)
      if (fds[r] >= 0) close(fds[r]);
  } else if (status == acclTimeout) {
    INFO(ACCL_BOOTSTRAP, "bootstrap root: no rank arrived within the timeout; root exits");
  }
  if (status == acclSuccess) INFO(ACCL_BOOTSTRAP, "bootstrap root: all %d ranks arrived", nranks);
  free(fds);
  free(addrs);
  acclAcceptorFini(&root->acc);
  close(root->acc.listenFd);
  /* Whoever joins frees: the init of a rank of this process (reap), else
   * the next root started here. A thread that detached itself could still
   * be exiting when the init it answered returns (a failed init then seemed
   * to leave a thread behind). */
  pthread_mutex_lock(&rootLock);
  root->finished = 1;
  pthread_mutex_unlock(&rootLock);
  return NULL;
}

/* Join and free the roots whose threads have finished and nobody reaped (an
 * id whose init never ran in this process). */
static void joinFinishedRoots(void) {
  acclRoot* done = NULL;
  pthread_mutex_lock(&rootLock);
  for (acclRoot** p = &roots; *p;) {
    acclRoot* r = *p;
    if (r->finished) {
      *p = r->next;
      r->next = done;
      done = r;
    } else {
      p = &r->next;
    }
  }
  pthread_mutex_unlock(&rootLock);
  while (done) {
    acclRoot* r = done;
    done = r->next;
    pthread_join(r->thread, NULL);
    free(r);
  }
}

acclResult_t acclBootstrapRootStart(const acclSocketAddr* addr, const uint8_t* secret, acclSocketAddr* listening) {
  joinFinishedRoots();
  int fd;
  ACCLCHECK(acclSocketListen(addr, &fd, listening));
  acclRoot* root = calloc(1, sizeof(*root));
  if (root == NULL) {
    close(fd);
    ACCL_ERROR(acclSystemError, "bootstrap: out of memory for the root");
  }
  memcpy(root->secret, secret, ACCL_SECRET_BYTES);
  acclResult_t res = acclSecretNew(root->nonce);
  if (res != acclSuccess) {
    close(fd);
    free(root);
    return res;
  }
  acclAcceptorInit(&root->acc, fd, secret, NULL, "root");
  pthread_mutex_lock(&rootLock);
  int err = pthread_create(&root->thread, NULL, rootMain, root);
  if (err == 0) {
    root->next = roots;
    roots = root;
  }
  pthread_mutex_unlock(&rootLock);
  if (err != 0) {
    close(fd);
    free(root);
    ACCL_ERROR(acclSystemError, "bootstrap: cannot start the root thread: %s", strerror(err));
  }
  char buf[80];
  INFO(ACCL_BOOTSTRAP, "bootstrap root listening on %s", acclSocketAddrStr(listening, buf, sizeof(buf)));
  return acclSuccess;
}

void acclBootstrapRootReap(const uint8_t* secret, int stop) {
  pthread_mutex_lock(&rootLock);
  acclRoot* root = roots;
  while (root && !acclSecretEqual(root->secret, secret)) root = root->next;
  if (root) {
    if (stop) root->stop = 1;
    unlinkRoot(root);
  }
  pthread_mutex_unlock(&rootLock);
  if (root == NULL) return;
  pthread_join(root->thread, NULL);
  free(root);
}
