/* device_bw - throughput of the simulated chip's DMA queues and reduction
 * engine per dtype on large buffers, printed beside single-thread memcpy
 * bandwidth measured in the same run; and the latency of getting a program
 * started on an idle stream (through the engine thread, and inline).
 *
 * Bandwidth counts bytes moved (read + written): memcpy and DMA copy 2x the
 * buffer, a 2-input sum 3x. Each figure is the best of the iterations (the
 * machine is shared; the best run is the least disturbed one).
 * Usage: device_bw [-b bytes (default 64M)] [-n iterations (default 5)] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/core.h"
#include "device/device.h"
#include "core/param.h"

#define CHECK(call)                                                                         \
  do {                                                                                      \
    accError_t e_ = (call);                                                                 \
    if (e_ != accSuccess) {                                                                 \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, accGetErrorString(e_)); \
      exit(1);                                                                              \
    }                                                                                       \
  } while (0)

static double gbps(double bytes, uint64_t ns) { return bytes / (double)ns; }

static uint64_t timeDesc(accStream_t s, const accDevDesc* d, int iters) {
  uint64_t best = UINT64_MAX;
  for (int i = 0; i < iters; i++) {
    uint64_t t0 = acclClockNs();
    CHECK(accDevSubmit(s, d, 0));
    CHECK(accStreamSynchronize(s));
    uint64_t dt = acclClockNs() - t0;
    if (dt < best) best = dt;
  }
  return best;
}

/* Latency: an empty program stamps the time it first runs. */
typedef struct {
  uint64_t startNs;
} stampArg;
static int stampStep(void* arg, int dev) {
  stampArg* a = arg;
  if (a->startNs == 0) a->startNs = acclClockNs();
  return ACCDEV_DONE;
}

static int cmpU64(const void* a, const void* b) {
  uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
  return x < y ? -1 : x > y;
}

static void latency(accStream_t s) {
  enum { N = 200 };
  uint64_t queued[N], inl[N];
  for (int i = 0; i < N; i++) {
    stampArg a = {0};
    accDevDesc d = {.type = ACCDEV_DESC_PROGRAM, .u.program = {stampStep, NULL, &a}};
    usleep(200); /* let the engine go back to its idle back-off, as between real calls */
    uint64_t t0 = acclClockNs();
    CHECK(accDevSubmit(s, &d, 0));
    CHECK(accStreamSynchronize(s));
    queued[i] = a.startNs - t0;
  }
  for (int i = 0; i < N; i++) {
    stampArg a = {0};
    accDevDesc d = {.type = ACCDEV_DESC_PROGRAM, .u.program = {stampStep, NULL, &a}};
    uint64_t t0 = acclClockNs();
    CHECK(accDevSubmit(s, &d, ACCDEV_SUBMIT_INLINE));
    inl[i] = acclClockNs() - t0; /* whole submit: the program ran inside it */
  }
  qsort(queued, N, sizeof(uint64_t), cmpU64);
  qsort(inl, N, sizeof(uint64_t), cmpU64);
  printf("# enqueue-to-start latency, empty program, idle stream (engine thread): median %llu ns, p90 %llu ns\n",
         (unsigned long long)queued[N / 2], (unsigned long long)queued[N * 9 / 10]);
  printf("# inline submission of an empty program (whole accDevSubmit call):   median %llu ns, p90 %llu ns\n",
         (unsigned long long)inl[N / 2], (unsigned long long)inl[N * 9 / 10]);
}

int main(int argc, char** argv) {
  size_t bytes = 64ull << 20;
  int iters = 5, opt;
  while ((opt = getopt(argc, argv, "b:n:h")) != -1) {
    if (opt == 'b')
      bytes = (size_t)acclParseSize(optarg);
    else if (opt == 'n')
      iters = atoi(optarg);
    else {
      fprintf(stderr, "usage: %s [-b bytes] [-n iterations]\n", argv[0]);
      return opt == 'h' ? 0 : 1;
    }
  }
  if (bytes == 0 || bytes == (size_t)-1 || iters < 1) {
    fprintf(stderr, "device_bw: bad -b or -n\n");
    return 1;
  }
  bytes = ACCL_ALIGN_UP(bytes, 64);
  char *a, *b, *c;
  CHECK(accMalloc((void**)&a, bytes));
  CHECK(accMalloc((void**)&b, bytes));
  CHECK(accMalloc((void**)&c, bytes));
  char* ha = malloc(bytes);
  char* hb = malloc(bytes);
  if (!ha || !hb) return 1;
  memset(ha, 1, bytes);
  memset(hb, 2, bytes);
  CHECK(accMemset(a, 0, bytes)); /* touch every page before timing */
  CHECK(accMemset(b, 0, bytes));
  CHECK(accMemset(c, 0, bytes));
  accStream_t s;
  CHECK(accStreamCreate(&s));

  printf("# device_bw: %zu-byte buffers, best of %d, GB/s = bytes moved (read + written) / time\n", bytes, iters);
  printf("# %-9s %10s %10s %10s %10s %10s\n", "dtype", "memcpy", "dma_copy", "reduce_sum", "dma/mcpy", "red/mcpy");
  for (int dt = 0; dt < acclNumTypes; dt++) {
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < iters; i++) { /* single-thread memcpy, host to host */
      uint64_t t0 = acclClockNs();
      memcpy(hb, ha, bytes);
      uint64_t t = acclClockNs() - t0;
      if (t < best) best = t;
    }
    double mcpy = gbps(2.0 * (double)bytes, best);
    accDevDesc cp = {.type = ACCDEV_DESC_COPY, .u.copy = {b, a, bytes}};
    double dma = gbps(2.0 * (double)bytes, timeDesc(s, &cp, iters));
    accDevDesc r = {.type = ACCDEV_DESC_REDUCE};
    r.u.reduce.src[0] = a;
    r.u.reduce.src[1] = b;
    r.u.reduce.nsrc = 2;
    r.u.reduce.dst[0] = c;
    r.u.reduce.ndst = 1;
    r.u.reduce.count = bytes / acclTypeSize((acclDataType_t)dt);
    r.u.reduce.dtype = dt;
    r.u.reduce.op = ACCDEV_OP_SUM;
    double red = gbps(3.0 * (double)bytes, timeDesc(s, &r, iters));
    printf("  %-9s %10.2f %10.2f %10.2f %10.2f %10.2f\n", acclTypeName((acclDataType_t)dt), mcpy, dma, red, dma / mcpy,
           red / mcpy);
    fflush(stdout);
  }
  latency(s);
  accDeviceCounters cnt;
  CHECK(accDeviceGetCounters(0, &cnt));
  printf(
      "# device 0 counters: copied %llu B, reduced %llu B, %llu descriptors, dma busy %.1f ms, reduce busy %.1f ms\n",
      (unsigned long long)cnt.bytesCopied, (unsigned long long)cnt.bytesReduced, (unsigned long long)cnt.descriptors,
      cnt.dmaBusyNs / 1e6, cnt.reduceBusyNs / 1e6);
  CHECK(accStreamDestroy(s));
  CHECK(accFree(a));
  CHECK(accFree(b));
  CHECK(accFree(c));
  free(ha);
  free(hb);
  return 0;
}
