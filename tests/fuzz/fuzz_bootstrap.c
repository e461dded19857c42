/* fuzz_bootstrap.c - libFuzzer harness: every bootstrap frame a process reads
 * from the network, through real loopback sockets and the real code.
 *
 * The first byte picks the reader:
 *   0  the root (acclBootstrapRootStart: acceptor, hello checks, replies).
 *      The rest is up to 8 connections, each [length byte][bytes], sent in
 *      turn after reading the root's challenge; bytes that are a whole hello
 *      with an all-zero mac get the MAC of that challenge under the job's
 *      secret (as a rank holding it sends), anything else goes as is. Then
 *      the root is stopped.
 *   1  a rank reading the root's reply (acclBootstrapInit, nranks 1): the
 *      harness plays the root and answers the rank's hello with the rest.
 *   2  a rank reading bootstrap messages from a peer (acclBootstrapRecv
 *      after a real 2-rank rendezvous; the harness is the root and rank 1):
 *      the rest follows rank 1's P2P hello on a fresh connection, and rank 0
 *      receives (tag 7, 16 bytes) then (tag 9, 8 bytes).
 * The harness's own hellos answer their challenges under the job's secret
 * (a fixed one here), so what is fuzzed is what an authenticated but buggy or
 * malicious peer could send; wrong MACs and garbage are seeds too.
 * Oracles: no crash, hang or sanitizer report; the process keeps no
 * descriptor. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "bootstrap/wire.h"
#include "fuzz_common.h"
#include "../lib/loopback.h"

static const uint8_t kSecret[ACCL_SECRET_BYTES] = {0x5e, 0xc2, 0xe7, 0x00, 0x11, 0x22, 0x33, 0x44,
                                                   0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc};

/* the job nonce of mode 2's rendezvous */
static const uint8_t kNonce[ACCL_CHALLENGE_BYTES] = {9, 8, 7, 6, 5, 4, 3, 2, 1};

static void drain(int fd) {
  char buf[4096];
  while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {}
}

/* ------------------------------------------------------------ mode 0: the root */

static atomic_int reaped;

static void* reaper(void* arg) {
  (void)arg;
  acclBootstrapRootReap(kSecret, 1);
  atomic_store(&reaped, 1);
  return NULL;
}

static void fuzzRoot(const uint8_t* d, size_t n) {
  acclSocketAddr any, root;
  memset(&any, 0, sizeof(any));
  any.sin.sin_family = AF_INET;
  any.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (acclBootstrapRootStart(&any, kSecret, &root) != acclSuccess) return;
  int fds[8], nfd = 0;
  size_t off = 0;
  while (off < n && nfd < 8) {
    size_t len = d[off++];
    if (len > n - off) len = n - off;
    int fd = dial(&root);
    if (fd < 0) break;
    uint8_t challenge[ACCL_CHALLENGE_BYTES];
    acclHello h;
    static const uint8_t zero[ACCL_SECRET_BYTES];
    if (readFull(fd, challenge, sizeof(challenge), 2000) == 0 && len == sizeof(h)) {
      memcpy(&h, d + off, sizeof(h));
      if (memcmp(h.mac, zero, sizeof(zero)) == 0) acclHelloMac(kSecret, challenge, &h, h.mac);
      sendAll(fd, &h, sizeof(h));
    } else {
      sendAll(fd, d + off, len);
    }
    shutdown(fd, SHUT_WR);
    fds[nfd++] = fd;
    off += len;
  }
  /* stop the root: it sees the flag when something wakes its poll */
  atomic_store(&reaped, 0);
  pthread_t t;
  pthread_create(&t, NULL, reaper, NULL);
  while (!atomic_load(&reaped)) {
    int fd = dial(&root);
    if (fd >= 0) close(fd);
    usleep(200);
  }
  pthread_join(t, NULL);
  for (int i = 0; i < nfd; i++) {
    drain(fds[i]);
    close(fds[i]);
  }
}

/* ------------------------------------------------------------ modes 1, 2: a rank */

typedef struct {
  int mode;
  const uint8_t* d;
  size_t n;
  int rootFd, peerFd;      /* the harness's listeners: root, rank 1 */
  acclSocketAddr peerAddr; /* rank 1's listen address */
  volatile int abortFlag;
  atomic_int mainDone;
} Fake;

static void* fakeSide(void* arg) {
  Fake* f = arg;
  int held[4] = {-1, -1, -1, -1};
  int fd = acceptWait(f->rootFd, 2000);
  acclHello h;
  static const uint8_t challenge[ACCL_CHALLENGE_BYTES] = {1, 2, 3};
  if (fd >= 0) sendAll(fd, challenge, sizeof(challenge));
  if (fd < 0 || readFull(fd, &h, sizeof(h), 2000) != 0) goto out;
  if (f->mode == 1) {
    sendAll(fd, f->d, f->n);
    close(fd);
    goto out;
  }
  /* mode 2: a correct reply with rank 0's and rank 1's addresses */
  {
    acclSocketAddr rank0;
    sendRootReply(fd, kNonce, &h, &f->peerAddr, &rank0);
    close(fd);
    /* rank 0's ring connection to us (its successor) */
    held[0] = acceptWait(f->peerFd, 2000);
    if (held[0] < 0 || readFull(held[0], &h, sizeof(h), 2000) != 0) goto out;
    /* our ring connection to rank 0 (its predecessor) */
    held[1] = dial(&rank0);
    if (held[1] < 0) goto out;
    sendHello(held[1], kSecret, kNonce, ACCL_HELLO_RING, 1, 2);
    /* and the fuzzed messages on a P2P connection */
    held[2] = dial(&rank0);
    if (held[2] < 0) goto out;
    sendHello(held[2], kSecret, kNonce, ACCL_HELLO_P2P, 1, 2);
    sendAll(held[2], f->d, f->n);
    shutdown(held[2], SHUT_WR);
  }
out:
  /* the rank gives up its waits once we are done (EOF does it for reads) */
  for (int i = 0; i < 200 && !atomic_load(&f->mainDone); i++) usleep(1000);
  if (f->mode == 1) f->abortFlag = 1;
  while (!atomic_load(&f->mainDone)) usleep(200);
  for (int i = 0; i < 4; i++)
    if (held[i] >= 0) close(held[i]);
  return NULL;
}

static void fuzzRank(int mode, const uint8_t* d, size_t n) {
  Fake f;
  memset(&f, 0, sizeof(f));
  f.mode = mode;
  f.d = d;
  f.n = n;
  acclSocketAddr rootAddr;
  f.rootFd = listenLoopback(&rootAddr);
  f.peerFd = mode == 2 ? listenLoopback(&f.peerAddr) : -1;
  if (f.rootFd < 0 || (mode == 2 && f.peerFd < 0)) goto out;
  acclUniqueId id;
  acclIdEncode(&rootAddr.sa, kSecret, &id);
  pthread_t t;
  pthread_create(&t, NULL, fakeSide, &f);
  acclBootstrap* bs = NULL;
  acclResult_t r = acclBootstrapInit(&id, 0, mode == 2 ? 2 : 1, &f.abortFlag, &bs);
  if (r == acclSuccess && mode == 2) {
    uint8_t a[16], b[8];
    if (acclBootstrapRecv(bs, 1, 7, a, sizeof(a)) == acclSuccess) acclBootstrapRecv(bs, 1, 9, b, sizeof(b));
  }
  if (r == acclSuccess) acclBootstrapClose(bs);
  atomic_store(&f.mainDone, 1);
  pthread_join(t, NULL);
out:
  if (f.rootFd >= 0) close(f.rootFd);
  if (f.peerFd >= 0) close(f.peerFd);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static int once;
  if (!once++) {
    fuzzQuiet();
    setenv("ACCL_SOCKET_IFNAME", "lo", 1);
    setenv("ACCL_BOOTSTRAP_TIMEOUT", "2", 1);
    setenv("ACCL_BOOTSTRAP_HELLO_TIMEOUT", "1", 1);
    unsetenv("ACCL_COMM_ID");
  }
  if (size < 1) return 0;
  switch (data[0] % 3) {
    case 0: fuzzRoot(data + 1, size - 1); break;
    case 1: fuzzRank(1, data + 1, size - 1); break;
    default: fuzzRank(2, data + 1, size - 1); break;
  }
  return 0;
}
