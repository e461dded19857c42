/* test_bootstrap_peer.c - a real rank 0 (acclBootstrapInit, nranks 2) meets a
 * scripted rank 1 and root over loopback sockets; rank 1 then sends what a
 * malicious or buggy peer could send on its P2P connection. Whatever a peer
 * sends, what rank 0 writes into its own memory stays bounded by its own
 * allocations: a message larger than the protocol's largest
 * (ACCL_BOOTSTRAP_MAX_MSG_BYTES) is refused with a text naming the peer and
 * the size, never allocated (issue 22, C4: the stash allocated
 * header + size from the wire, and 2^64-8 wrapped to a 16-byte block).
 * Also replays the fuzz reproducers of fixed defects kept in
 * tests/fuzz/regressions/bootstrap/ (mode 2 of fuzz_bootstrap: the bytes
 * after the P2P hello). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "bootstrap/wire.h"
#include "../lib/loopback.h"

static const uint8_t kSecret[ACCL_SECRET_BYTES] = {0x5e, 0xc2, 0xe7, 0x00, 0x11, 0x22, 0x33, 0x44,
                                                   0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc};

/* the job nonce the scripted root hands out */
static const uint8_t kNonce[ACCL_CHALLENGE_BYTES] = {9, 8, 7, 6, 5, 4, 3, 2, 1};

/* The connecting side of a ring / P2P connection, as a rank does it. */
static void helloOut(int fd, const uint8_t* nonce, int kind, int rank, int nranks) {
  acclHello h;
  acclHelloFill(&h, kSecret, nonce, kind, rank, nranks, NULL);
  sendAll(fd, &h, sizeof(h));
}

/* The accepting side: read the hello of a connection to us. */
static int helloIn(int fd, acclHello* h) { return readFull(fd, h, sizeof(*h), 5000); }

typedef struct {
  const void* payload; /* what rank 1 sends on its P2P connection after the hello */
  size_t n;
  const void* stale; /* if set: first a P2P connection whose hello answers another job's nonce, then this */
  size_t nstale;
  int rootFd, peerFd;
  acclSocketAddr peerAddr;
  atomic_int mainDone;
  int badHello; /* rank 0's hello did not answer its challenge */
  /* ring mode: before rank 1's real ring connection, a ring connection whose
   * hello (valid MAC) claims rank 0, which is not rank 0's predecessor, and
   * carries a forged block; then rank 1 takes part in one 8-byte ring
   * AllGather and nothing else */
  int forgeRing;
  char rank0Block[8]; /* what rank 1 received from rank 0 in that AllGather */
} Fake;

static const char kForgedBlock[8] = "FORGED!", kGenuineBlock[8] = "genuine";

static void* fakeSide(void* arg) {
  Fake* f = arg;
  int held[5] = {-1, -1, -1, -1, -1};
  acclHello h;
  int fd = acceptWait(f->rootFd, 5000);
  static const uint8_t challenge[ACCL_CHALLENGE_BYTES] = {1, 2, 3};
  if (fd >= 0) sendAll(fd, challenge, sizeof(challenge));
  if (fd < 0 || helloIn(fd, &h) != 0) goto out;
  if (!acclHelloVerify(kSecret, challenge, &h)) {
    f->badHello = 1; /* checked by the main thread (cmocka asserts there only) */
    goto out;
  }
  struct {
    acclRootReply rep;
    acclAddrWire addrs[2];
  } msg;
  memset(&msg, 0, sizeof(msg));
  msg.rep.magic = ACCL_HELLO_MAGIC;
  msg.rep.status = acclSuccess;
  msg.rep.nranks = 2;
  memcpy(msg.rep.nonce, kNonce, sizeof(kNonce));
  msg.addrs[0] = h.addr;
  acclAddrToWire(&f->peerAddr, &msg.addrs[1]);
  sendAll(fd, &msg, sizeof(msg));
  close(fd);
  acclSocketAddr rank0;
  acclAddrFromWire(&msg.addrs[0], &rank0);
  held[0] = acceptWait(f->peerFd, 5000); /* rank 0's ring connection to us */
  if (held[0] < 0 || helloIn(held[0], &h) != 0) goto out;
  if (!acclHelloVerify(kSecret, kNonce, &h)) {
    f->badHello = 1;
    goto out;
  }
  if (f->forgeRing) {
    held[4] = dial(&rank0);
    if (held[4] < 0) goto out;
    helloOut(held[4], kNonce, ACCL_HELLO_RING, 0, 2);
    sendAll(held[4], kForgedBlock, sizeof(kForgedBlock));
    usleep(200000); /* it arrives first */
  }
  held[1] = dial(&rank0); /* ours to rank 0 */
  if (held[1] < 0) goto out;
  helloOut(held[1], kNonce, ACCL_HELLO_RING, 1, 2);
  if (f->forgeRing) {
    sendAll(held[1], kGenuineBlock, sizeof(kGenuineBlock));
    if (readFull(held[0], f->rank0Block, sizeof(f->rank0Block), 5000) != 0) f->badHello = 1;
    goto out;
  }
  if (f->stale) {
    static const uint8_t otherJob[ACCL_CHALLENGE_BYTES] = {9, 8, 7, 6, 5, 4, 3, 2, 0};
    held[3] = dial(&rank0);
    if (held[3] < 0) goto out;
    helloOut(held[3], otherJob, ACCL_HELLO_P2P, 1, 2);
    sendAll(held[3], f->stale, f->nstale);
    usleep(200000); /* it arrives first */
  }
  held[2] = dial(&rank0);
  if (held[2] < 0) goto out;
  helloOut(held[2], kNonce, ACCL_HELLO_P2P, 1, 2);
  sendAll(held[2], f->payload, f->n);
  shutdown(held[2], SHUT_WR);
out:
  while (!atomic_load(&f->mainDone)) usleep(1000);
  for (int i = 0; i < 5; i++)
    if (held[i] >= 0) close(held[i]);
  return NULL;
}

/* Start the scripted rank 1 and root, and rank 0's bootstrap against them. */
static acclBootstrap* fakeStart(Fake* f, pthread_t* t) {
  acclSocketAddr rootAddr;
  f->rootFd = listenLoopback(&rootAddr);
  f->peerFd = listenLoopback(&f->peerAddr);
  assert_true(f->rootFd >= 0 && f->peerFd >= 0);
  acclUniqueId id;
  acclIdEncode(&rootAddr.sa, kSecret, &id);
  assert_int_equal(pthread_create(t, NULL, fakeSide, f), 0);
  acclBootstrap* bs = NULL;
  assert_int_equal(acclBootstrapInit(&id, 0, 2, NULL, &bs), acclSuccess);
  return bs;
}

static void fakeFinish(Fake* f, pthread_t t, acclBootstrap* bs) {
  acclBootstrapClose(bs);
  atomic_store(&f->mainDone, 1);
  pthread_join(t, NULL);
  close(f->rootFd);
  close(f->peerFd);
  assert_int_equal(f->badHello, 0);
}

/* Rank 0 receives (tag 7, 16 bytes) then (tag 9, 8 bytes) from rank 1, who
 * sends `payload`. Returns the first failure (acclSuccess if both arrived);
 * *text gets the last-error text. */
static acclResult_t runRank0Stale(const void* stale, size_t nstale, const void* payload, size_t n, char* text,
                                  size_t len) {
  Fake f;
  memset(&f, 0, sizeof(f));
  f.payload = payload;
  f.n = n;
  f.stale = stale;
  f.nstale = nstale;
  pthread_t t;
  acclBootstrap* bs = fakeStart(&f, &t);
  uint8_t a[16], b[8];
  acclResult_t r = acclBootstrapRecv(bs, 1, 7, a, sizeof(a));
  if (r == acclSuccess) r = acclBootstrapRecv(bs, 1, 9, b, sizeof(b));
  snprintf(text, len, "%s", acclLastErrorText());
  fakeFinish(&f, t, bs);
  return r;
}

static acclResult_t runRank0(const void* payload, size_t n, char* text, size_t len) {
  return runRank0Stale(NULL, 0, payload, n, text, len);
}

/* A message with another tag than the one awaited (stashed) of `size` bytes,
 * followed by `n` bytes of body. */
static size_t stashedMsg(uint8_t* buf, int32_t tag, uint64_t size, size_t body) {
  acclMsgHeader hdr = {tag, 0, size};
  memcpy(buf, &hdr, sizeof(hdr));
  memset(buf + sizeof(hdr), 0x5a, body);
  return sizeof(hdr) + body;
}

static void expectRefusal(const uint8_t* buf, size_t n, const char* sizeText) {
  char text[1024];
  acclResult_t r = runRank0(buf, n, text, sizeof(text));
  print_message("result %d, text: %s\n", r, text);
  assert_int_equal(r, acclRemoteError);
  assert_non_null(strstr(text, "rank 1"));
  assert_non_null(strstr(text, sizeText));
}

static void test_stash_size_wraps(void** state) {
  (void)state;
  uint8_t buf[256];
  size_t n = stashedMsg(buf, 3, UINT64_MAX - 7, 64); /* header + size wraps around */
  expectRefusal(buf, n, "18446744073709551608");
}

static void test_stash_size_huge(void** state) {
  (void)state;
  uint8_t buf[256];
  size_t n = stashedMsg(buf, 3, 1ULL << 40, 64); /* 1 TiB: was a malloc of 1 TiB */
  expectRefusal(buf, n, "1099511627776");
}

static void test_stash_size_above_bound(void** state) {
  (void)state;
  uint8_t buf[256];
  size_t n = stashedMsg(buf, 3, ACCL_BOOTSTRAP_MAX_MSG_BYTES + 1, 64);
  char sizeText[32];
  snprintf(sizeText, sizeof(sizeText), "%llu", (unsigned long long)ACCL_BOOTSTRAP_MAX_MSG_BYTES + 1);
  expectRefusal(buf, n, sizeText);
}

/* The awaited tag with a size above the bound: refused as well. */
static void test_expected_size_huge(void** state) {
  (void)state;
  uint8_t buf[256];
  size_t n = stashedMsg(buf, 7, UINT64_MAX, 16);
  char text[1024];
  assert_int_not_equal(runRank0(buf, n, text, sizeof(text)), acclSuccess);
  assert_non_null(strstr(text, "rank 1"));
}

/* Many small unexpected messages: the stash is bounded too. */
static void test_stash_count_bounded(void** state) {
  (void)state;
  size_t per = sizeof(acclMsgHeader) + 8, count = ACCL_BOOTSTRAP_MAX_STASHED + 1;
  uint8_t* buf = malloc(per * count);
  assert_non_null(buf);
  for (size_t i = 0; i < count; i++) stashedMsg(buf + i * per, 100 + (int32_t)i, 8, 8);
  char text[1024];
  acclResult_t r = runRank0(buf, per * count, text, sizeof(text));
  free(buf);
  print_message("result %d, text: %s\n", r, text);
  assert_int_equal(r, acclRemoteError);
  assert_non_null(strstr(text, "rank 1"));
}

/* Well-formed traffic still works: a stashed message is delivered later. */
static void test_stash_ok(void** state) {
  (void)state;
  uint8_t buf[256];
  size_t n = stashedMsg(buf, 9, 8, 8);
  n += stashedMsg(buf + n, 7, 16, 16);
  char text[1024];
  assert_int_equal(runRank0(buf, n, text, sizeof(text)), acclSuccess);
}

/* A P2P hello that answers another job's nonce (a recording from an earlier
 * job with the same secret, C2) arrives first with wrong messages: refused,
 * and the real rank 1's messages are received. */
static void test_other_job_hello_refused(void** state) {
  (void)state;
  uint8_t stale[256], buf[256];
  size_t ns = stashedMsg(stale, 7, 3, 3); /* would fail the recv (wrong size) */
  size_t n = stashedMsg(buf, 7, 16, 16);
  n += stashedMsg(buf + n, 9, 8, 8);
  char text[1024];
  acclResult_t r = runRank0Stale(stale, ns, buf, n, text, sizeof(text));
  print_message("result %d, text: %s\n", r, text);
  assert_int_equal(r, acclSuccess);
}

/* A ring connection whose hello is well formed and authenticated but claims
 * a rank that is not rank 0's predecessor (a buggy or confused peer) arrives
 * before the real one: refused, and the ring carries the real rank 1's
 * block, not the one that came on the refused connection. */
static void test_ring_hello_from_wrong_rank_refused(void** state) {
  (void)state;
  Fake f;
  memset(&f, 0, sizeof(f));
  f.forgeRing = 1;
  pthread_t t;
  acclBootstrap* bs = fakeStart(&f, &t);
  char blocks[2][8] = {"rank0!"};
  assert_int_equal(acclBootstrapAllGather(bs, blocks, sizeof(blocks[0])), acclSuccess);
  fakeFinish(&f, t, bs);
  print_message("rank 0 got rank 1's block \"%.7s\"\n", blocks[1]);
  assert_memory_equal(blocks[1], kGenuineBlock, sizeof(kGenuineBlock));
  assert_memory_equal(f.rank0Block, blocks[0], sizeof(blocks[0]));
}

static void test_replay_fuzz_regressions(void** state) {
  (void)state;
  const char* src = getenv("top_srcdir");
  char dir[4096];
  snprintf(dir, sizeof(dir), "%s/tests/fuzz/regressions/bootstrap", src ? src : "..");
  DIR* d = opendir(dir);
  if (d == NULL) {
    print_message("no %s: nothing to replay\n", dir);
    skip();
  }
  struct dirent* e;
  int replayed = 0;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char path[8192];
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    FILE* fp = fopen(path, "rb");
    assert_non_null(fp);
    uint8_t data[65536];
    size_t n = fread(data, 1, sizeof(data), fp);
    fclose(fp);
    if (n < 1 || data[0] % 3 != 2) continue; /* mode 2: bytes after rank 1's P2P hello */
    char text[1024];
    acclResult_t r = runRank0(data + 1, n - 1, text, sizeof(text));
    print_message("%s: result %d, text: %s\n", e->d_name, r, text);
    assert_int_not_equal(r, acclSuccess);
    assert_non_null(strstr(text, "rank 1"));
    replayed++;
  }
  closedir(d);
  assert_true(replayed > 0);
}

int main(void) {
  setenv("ACCL_SOCKET_IFNAME", "lo", 1);
  setenv("ACCL_BOOTSTRAP_TIMEOUT", "10", 1);
  setenv("ACCL_TIMEOUT", "10", 1);
  unsetenv("ACCL_COMM_ID");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stash_ok),
      cmocka_unit_test(test_stash_size_wraps),
      cmocka_unit_test(test_stash_size_huge),
      cmocka_unit_test(test_stash_size_above_bound),
      cmocka_unit_test(test_expected_size_huge),
      cmocka_unit_test(test_stash_count_bounded),
      cmocka_unit_test(test_replay_fuzz_regressions),
      cmocka_unit_test(test_other_job_hello_refused),
      cmocka_unit_test(test_ring_hello_from_wrong_rank_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
