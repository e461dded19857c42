/* test_signals.c - a library must leave the signal dispositions of its
 * process alone. The program sets its own dispositions (handlers, with and
 * without SA_SIGINFO, an ignored signal, defaults), then creates two
 * communicators (acclCommInitAll), runs AllReduces small (one-shot) and
 * large (ring, zero-copy sends) and destroys them; after each stage INT,
 * TERM, SEGV, BUS, ABRT, ILL, HUP and USR1 must be exactly what it set.
 * The transport and logging come from the environment (signals.sh runs it
 * with shm, with ofi, and with topology logging, which asks libfabric for
 * its providers). With ACCL_TRANSPORT unset and no INFO logging, libfabric
 * must not even be loaded. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "acc_ccl.h"

static const int sigs[] = {SIGINT, SIGTERM, SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGHUP, SIGUSR1};
#define NSIGS ((int)(sizeof(sigs) / sizeof(sigs[0])))
static struct sigaction want[NSIGS];
static int failures;

static void plainHandler(int sig) { (void)sig; }
static void infoHandler(int sig, siginfo_t* info, void* ctx) {
  (void)sig;
  (void)info;
  (void)ctx;
}

static void setOwn(void) {
  for (int i = 0; i < NSIGS; i++) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    switch (sigs[i]) {
      case SIGINT:
      case SIGBUS:
        sa.sa_handler = plainHandler;
        sigaddset(&sa.sa_mask, SIGUSR2);
        break;
      case SIGTERM:
      case SIGSEGV:
        sa.sa_sigaction = infoHandler;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        break;
      case SIGHUP: sa.sa_handler = SIG_IGN; break;
      default: sa.sa_handler = SIG_DFL; break; /* ABRT, ILL, USR1 */
    }
    if (sigaction(sigs[i], &sa, NULL) != 0) {
      perror("sigaction");
      exit(1);
    }
    memset(&want[i], 0, sizeof(want[i]));
    sigaction(sigs[i], NULL, &want[i]);
  }
}

static void expectOwn(const char* stage) {
  for (int i = 0; i < NSIGS; i++) {
    struct sigaction now;
    memset(&now, 0, sizeof(now));
    sigaction(sigs[i], NULL, &now);
    int same =
        now.sa_flags == want[i].sa_flags &&
        ((now.sa_flags & SA_SIGINFO) ? now.sa_sigaction == want[i].sa_sigaction : now.sa_handler == want[i].sa_handler);
    for (int s = 1; s < NSIG && same; s++) same = sigismember(&now.sa_mask, s) == sigismember(&want[i].sa_mask, s);
    if (!same) {
      fprintf(stderr, "FAIL: %s: the disposition of SIG%s changed (flags 0x%x -> 0x%x)\n", stage, sigabbrev_np(sigs[i]),
              (unsigned)want[i].sa_flags, (unsigned)now.sa_flags);
      failures++;
    }
  }
}

static int mapped(const char* lib) {
  FILE* f = fopen("/proc/self/maps", "r");
  char line[1024];
  int found = 0;
  while (f && fgets(line, sizeof(line), f)) found |= strstr(line, lib) != NULL;
  if (f) fclose(f);
  return found;
}

#define CHECK(call)                                                                                           \
  do {                                                                                                        \
    int r_ = (int)(call);                                                                                     \
    if (r_ != 0) {                                                                                            \
      fprintf(stderr, "FAIL: %s:%d: %s -> %d (%s)\n", __FILE__, __LINE__, #call, r_, acclGetLastError(NULL)); \
      exit(1);                                                                                                \
    }                                                                                                         \
  } while (0)

static void allReduce(acclComm_t* comms, float** buf, accStream_t* stream, size_t n) {
  for (int d = 0; d < 2; d++) {
    float* host = malloc(n * sizeof(float));
    if (!host) exit(1);
    for (size_t i = 0; i < n; i++) host[i] = (float)(i % 1000) + (float)d;
    CHECK(accSetDevice(d));
    CHECK(accMemcpy(buf[d], host, n * sizeof(float), accMemcpyHostToDevice));
    free(host);
  }
  CHECK(acclGroupStart());
  for (int d = 0; d < 2; d++) CHECK(acclAllReduce(buf[d], buf[d], n, acclFloat32, acclSum, comms[d], stream[d]));
  CHECK(acclGroupEnd());
  for (int d = 0; d < 2; d++) {
    CHECK(accSetDevice(d));
    CHECK(accStreamSynchronize(stream[d]));
    float last;
    CHECK(accMemcpy(&last, buf[d] + n - 1, sizeof(last), accMemcpyDeviceToHost));
    if (last != 2.0f * (float)((n - 1) % 1000) + 1.0f) {
      fprintf(stderr, "FAIL: allreduce of %zu floats gave %g\n", n, (double)last);
      failures++;
    }
  }
}

int main(void) {
  setOwn();
  const char* transport = getenv("ACCL_TRANSPORT");
  const char* ipath = getenv("IPATH_NO_BACKTRACE");
  char ipathBefore[64] = "";
  if (ipath) snprintf(ipathBefore, sizeof(ipathBefore), "%s", ipath);
  const char* debug = getenv("ACCL_DEBUG");
  int fabricExpected = (transport && strcmp(transport, "ofi") == 0) || (debug && strcmp(debug, "INFO") == 0);

  acclComm_t comms[2];
  int devs[2] = {0, 1};
  CHECK(acclCommInitAll(comms, 2, devs));
  expectOwn("after acclCommInitAll");
  const size_t large = 4u << 20; /* 16 MiB of floats: ring with zero-copy sends */
  float* buf[2];
  accStream_t stream[2];
  for (int d = 0; d < 2; d++) {
    CHECK(accSetDevice(d));
    CHECK(accMalloc((void**)&buf[d], large * sizeof(float)));
    CHECK(accStreamCreate(&stream[d]));
  }
  allReduce(comms, buf, stream, 256);
  allReduce(comms, buf, stream, large);
  expectOwn("after the AllReduces");
  for (int d = 0; d < 2; d++) {
    CHECK(accSetDevice(d));
    CHECK(accStreamDestroy(stream[d]));
    CHECK(accFree(buf[d]));
    CHECK(acclCommDestroy(comms[d]));
  }
  expectOwn("after acclCommDestroy");

  int loaded = mapped("libfabric.so");
  if (loaded != fabricExpected) {
    fprintf(stderr, "FAIL: libfabric is %sloaded (transport %s, ACCL_DEBUG %s)\n", loaded ? "" : "not ",
            transport ? transport : "auto", debug ? debug : "unset");
    failures++;
  }
  const char* ipathAfter = getenv("IPATH_NO_BACKTRACE");
  if (ipathBefore[0] && strcmp(ipathAfter ? ipathAfter : "", ipathBefore) != 0) {
    fprintf(stderr, "FAIL: the user's IPATH_NO_BACKTRACE=%s was overridden\n", ipathBefore);
    failures++;
  }
  printf("test_signals (transport %s, libfabric %s): %s\n", transport ? transport : "auto",
         loaded ? "loaded" : "not loaded", failures ? "FAIL" : "PASS");
  return failures ? 1 : 0;
}
