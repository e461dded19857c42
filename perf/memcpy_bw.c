/* memcpy_bw.c - single-thread memcpy bandwidth, the yardstick perf/compare
 * divides bus bandwidths by. Copies a buffer (default 256 MiB, beyond any
 * cache) several times after touching every page; prints the median rate.
 * Usage: memcpy_bw [bytes [repetitions]]. GB = 1e9 bytes, counted once per
 * byte copied (as algbw counts bytes once). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double nowSec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmpDouble(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  size_t bytes = (size_t)256 << 20;
  int reps = 5;
  if (argc > 1) bytes = strtoull(argv[1], NULL, 0);
  if (argc > 2) reps = atoi(argv[2]);
  if (bytes == 0 || reps < 1 || reps > 1000) {
    fprintf(stderr, "usage: %s [bytes > 0 [repetitions 1..1000]]\n", argv[0]);
    return 2;
  }
  char* src = malloc(bytes);
  char* dst = malloc(bytes);
  double* rates = malloc(sizeof(double) * (size_t)reps);
  if (!src || !dst || !rates) {
    fprintf(stderr, "memcpy_bw: cannot allocate 2 x %zu bytes\n", bytes);
    return 1;
  }
  memset(src, 1, bytes); /* fault every page in before timing */
  memset(dst, 2, bytes);
  for (int r = 0; r < reps; r++) {
    double t0 = nowSec();
    memcpy(dst, src, bytes);
    double t1 = nowSec();
    rates[r] = (double)bytes / 1e9 / (t1 - t0);
    src[r % bytes] = (char)r; /* keep the copies from being merged */
  }
  qsort(rates, (size_t)reps, sizeof(double), cmpDouble);
  printf("# memcpy_bw: bytes %zu repetitions %d check %d\n", bytes, reps, dst[bytes / 2]);
  printf("memcpy_bw_GBps %.3f min %.3f max %.3f\n", rates[reps / 2], rates[0], rates[reps - 1]);
  free(src);
  free(dst);
  free(rates);
  return 0;
}
