/* fuzz_common.h - helpers of the libFuzzer harnesses: the input as a file
 * (the loaders take paths) without touching the file system, and the
 * oracles' verdicts. */
#ifndef ACCL_FUZZ_COMMON_H_
#define ACCL_FUZZ_COMMON_H_

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "core/core.h" /* acclLastErrorText */

/* A memfd holding data; *path names it for fopen. Returns the fd or -1. */
static inline int fuzzMemFile(const void* data, size_t size, char* path, size_t len) {
  int fd = memfd_create("accl-fuzz", MFD_CLOEXEC);
  if (fd < 0) return -1;
  size_t off = 0;
  while (off < size) {
    ssize_t w = write(fd, (const char*)data + off, size - off);
    if (w <= 0) {
      close(fd);
      return -1;
    }
    off += (size_t)w;
  }
  snprintf(path, len, "/proc/self/fd/%d", fd);
  return fd;
}

/* Everything in fd (from the start) as a NUL-terminated malloc'd string. */
static inline char* fuzzSlurp(int fd, size_t* n) {
  off_t end = lseek(fd, 0, SEEK_END);
  if (end < 0) return NULL;
  char* buf = malloc((size_t)end + 1);
  if (!buf) return NULL;
  ssize_t got = pread(fd, buf, (size_t)end, 0);
  if (got < 0) got = 0;
  buf[got] = 0;
  if (n) *n = (size_t)got;
  return buf;
}

/* Quiet: the loaders WARN about every bad input. */
static inline void fuzzQuiet(void) { setenv("ACCL_DEBUG", "NONE", 1); }

/* An oracle that does not hold: say which (printf arguments), then abort
 * (libFuzzer keeps the input). */
#define FUZZ_FAIL(...)            \
  do {                            \
    fprintf(stderr, __VA_ARGS__); \
    fputc('\n', stderr);          \
    abort();                      \
  } while (0)

/* A refusal leaves an error text (cleared by the harness before the call). */
static inline void fuzzCheckRefusal(void) {
  if (acclLastErrorText()[0] == '\0') FUZZ_FAIL("refused without an error text");
}

#endif
