/* mpi_p2p_overlap.c - the group rule for buffers that a group both sends from
 * and receives into: every send reads its buffer as it was when the group
 * started, even when a receive of the same group writes into it.
 *
 * Patterns, each at every size of SIZES (bytes of float32), in one group:
 *  inplace  send buf to rank+1, receive from rank-1 into the same buf
 *           (nccl-tests' in-place sendrecv);
 *  shifted  send [0, n), receive into [n/2, n/2 + n) of one buffer;
 *  mixed    the in-place pair plus a separate send/recv pair in the other
 *           direction on distinct buffers;
 *  both     send buf to both neighbours and receive both neighbours' data
 *           into its two halves (each receive overlaps both sends).
 * Device and host buffers. The output is followed by guard bytes, checked. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../lib/mpi_test.h"

static int rank, nranks;
#define GUARD 4096
#define GUARD_BYTE 0xa5

static float valueOf(int r, size_t i, int tag) { return (float)((r * 131 + tag * 17 + (int)(i % 1021)) % 4093); }

typedef struct {
  char* base;   /* allocation: bytes + GUARD */
  size_t bytes; /* usable part */
  int host;
} buffer;

static int bufAlloc(buffer* b, size_t bytes, int host) {
  b->bytes = bytes;
  b->host = host;
  b->base = NULL;
  if (host)
    b->base = malloc(bytes + GUARD);
  else if (accMalloc((void**)&b->base, bytes + GUARD) != accSuccess)
    b->base = NULL;
  return b->base != NULL;
}
static void bufFree(buffer* b) {
  if (b->host)
    free(b->base);
  else
    accFree(b->base);
}
static void bufPut(buffer* b, size_t off, const void* src, size_t bytes) {
  if (b->host)
    memcpy(b->base + off, src, bytes);
  else
    MT_ACC(accMemcpy(b->base + off, src, bytes, accMemcpyHostToDevice));
}
static void bufGet(buffer* b, void* dst, size_t off, size_t bytes) {
  if (b->host)
    memcpy(dst, b->base + off, bytes);
  else
    MT_ACC(accMemcpy(dst, b->base + off, bytes, accMemcpyDeviceToHost));
}

/* Fill the whole buffer (values for `tag`) and its guard. */
static void fill(buffer* b, int tag, float* scratch) {
  size_t n = b->bytes / sizeof(float);
  for (size_t i = 0; i < n; i++) scratch[i] = valueOf(rank, i, tag);
  memset((char*)scratch + b->bytes, GUARD_BYTE, GUARD);
  bufPut(b, 0, scratch, b->bytes + GUARD);
}

/* Compare [off, off+count) against the values `from` held at index base.. for tag. */
static long expectRange(const float* got, size_t off, size_t count, int from, size_t base, int tag) {
  long bad = 0;
  for (size_t i = 0; i < count; i++)
    if (got[off + i] != valueOf(from, base + i, tag)) bad++;
  return bad;
}

static long guardBad(const char* hostCopy, size_t bytes) {
  long bad = 0;
  for (size_t i = 0; i < GUARD; i++)
    if ((unsigned char)hostCopy[bytes + i] != GUARD_BYTE) bad++;
  return bad;
}

static long runPattern(const char* name, size_t n, int host, acclComm_t comm, accStream_t stream, float* scratch) {
  int next = (rank + 1) % nranks, prev = (rank + nranks - 1) % nranks;
  size_t es = sizeof(float);
  buffer a, b, c;
  long bad = 0;
  if (!strcmp(name, "inplace")) {
    if (!bufAlloc(&a, n * es, host)) return 1;
    fill(&a, 1, scratch);
    MT_ACCL(acclGroupStart());
    MT_ACCL(acclSend(a.base, n, acclFloat32, next, comm, stream));
    MT_ACCL(acclRecv(a.base, n, acclFloat32, prev, comm, stream));
    MT_ACCL(acclGroupEnd());
    MT_ACC(accStreamSynchronize(stream));
    bufGet(&a, scratch, 0, a.bytes + GUARD);
    bad = expectRange(scratch, 0, n, prev, 0, 1) + guardBad((char*)scratch, a.bytes);
    bufFree(&a);
  } else if (!strcmp(name, "shifted")) {
    size_t h = n / 2;
    if (!bufAlloc(&a, (n + h) * es, host)) return 1;
    fill(&a, 2, scratch);
    MT_ACCL(acclGroupStart());
    MT_ACCL(acclRecv(a.base + h * es, n, acclFloat32, prev, comm, stream));
    MT_ACCL(acclSend(a.base, n, acclFloat32, next, comm, stream));
    MT_ACCL(acclGroupEnd());
    MT_ACC(accStreamSynchronize(stream));
    bufGet(&a, scratch, 0, a.bytes + GUARD);
    bad = expectRange(scratch, 0, h, rank, 0, 2) + expectRange(scratch, h, n, prev, 0, 2) +
          guardBad((char*)scratch, a.bytes);
    bufFree(&a);
  } else if (!strcmp(name, "mixed")) {
    if (!bufAlloc(&a, n * es, host) || !bufAlloc(&b, n * es, host) || !bufAlloc(&c, n * es, host)) return 1;
    fill(&a, 3, scratch);
    fill(&b, 4, scratch);
    fill(&c, 5, scratch);
    MT_ACCL(acclGroupStart());
    MT_ACCL(acclSend(a.base, n, acclFloat32, next, comm, stream));
    MT_ACCL(acclSend(b.base, n, acclFloat32, prev, comm, stream));
    MT_ACCL(acclRecv(a.base, n, acclFloat32, prev, comm, stream));
    MT_ACCL(acclRecv(c.base, n, acclFloat32, next, comm, stream));
    MT_ACCL(acclGroupEnd());
    MT_ACC(accStreamSynchronize(stream));
    bufGet(&a, scratch, 0, a.bytes + GUARD);
    bad += expectRange(scratch, 0, n, prev, 0, 3) + guardBad((char*)scratch, a.bytes);
    bufGet(&c, scratch, 0, c.bytes + GUARD);
    bad += expectRange(scratch, 0, n, next, 0, 4) + guardBad((char*)scratch, c.bytes);
    bufGet(&b, scratch, 0, b.bytes + GUARD);
    bad += expectRange(scratch, 0, n, rank, 0, 4); /* a send buffer is left alone */
    bufFree(&a);
    bufFree(&b);
    bufFree(&c);
  } else { /* both: needs two distinct neighbours */
    size_t h = n / 2;
    if (nranks < 3 || h == 0) return 0;
    if (!bufAlloc(&a, 2 * h * es, host)) return 1;
    fill(&a, 6, scratch);
    MT_ACCL(acclGroupStart());
    MT_ACCL(acclRecv(a.base, h, acclFloat32, prev, comm, stream));
    MT_ACCL(acclRecv(a.base + h * es, h, acclFloat32, next, comm, stream));
    MT_ACCL(acclSend(a.base, h, acclFloat32, next, comm, stream)); /* prev's view: its next */
    MT_ACCL(acclSend(a.base + h * es, h, acclFloat32, prev, comm, stream));
    MT_ACCL(acclGroupEnd());
    MT_ACC(accStreamSynchronize(stream));
    bufGet(&a, scratch, 0, a.bytes + GUARD);
    /* prev sent us its first half; next sent us its second half */
    bad = expectRange(scratch, 0, h, prev, 0, 6) + expectRange(scratch, h, h, next, h, 6) +
          guardBad((char*)scratch, a.bytes);
    bufFree(&a);
  }
  if (bad) fprintf(stderr, "[rank %d] %s %zu floats %s: %ld wrong\n", rank, name, n, host ? "host" : "device", bad);
  return bad;
}

int main(int argc, char** argv) {
  mtInitDevice(&argc, &argv, &rank, &nranks);
  size_t maxBytes = argc > 1 ? strtoull(argv[1], NULL, 0) : (64u << 20);
  acclComm_t comm;
  MT_ACCL(mtCommInit(&comm, rank, nranks));
  accStream_t stream;
  MT_ACC(accStreamCreate(&stream));
  float* scratch = malloc(maxBytes * 3 / 2 + 2 * GUARD + 64);
  static const char* patterns[] = {"inplace", "shifted", "mixed", "both"};
  long bad = 0;
  int cases = 0;
  for (size_t bytes = 1024; bytes <= maxBytes; bytes *= 8) {
    for (int p = 0; p < 4; p++)
      for (int host = 0; host < 2; host++) {
        if (host && bytes > (8u << 20)) continue; /* host staging is covered; keep the run short */
        bad += runPattern(patterns[p], bytes / sizeof(float), host, comm, stream, scratch);
        cases++;
      }
    if (bytes < maxBytes && bytes * 8 > maxBytes) bytes = maxBytes / 8; /* end exactly at maxBytes */
  }
  MT_CHECK(bad == 0);
  free(scratch);
  MT_ACC(accStreamDestroy(stream));
  MT_ACCL(acclCommDestroy(comm));
  if (rank == 0) printf("mpi_p2p_overlap np=%d: %d cases up to %zu bytes\n", nranks, cases, maxBytes);
  return mtFinish("mpi_p2p_overlap");
}
