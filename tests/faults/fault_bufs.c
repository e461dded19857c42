/* fault_bufs.c - fault_rank's device buffers: filled and checked through
 * host chunks, guard allocations around an output, and the checked calls
 * the scenarios share (see fault_rank.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fault_rank.h"

/* The host chunks of these helpers are the caller's own: two threads (the
 * threads scenario) fill their buffers at once, and a shared static chunk
 * once gave one thread's input the other's values. */
#define CHUNK_ELEMS (1 << 16)

int fillFloat(float* d, size_t count, float v) {
  float* chunk = malloc(CHUNK_ELEMS * sizeof(float));
  if (chunk == NULL) return -1;
  for (size_t i = 0; i < CHUNK_ELEMS; i++) chunk[i] = v;
  int rc = 0;
  for (size_t off = 0; off < count && rc == 0;) {
    size_t n = count - off < CHUNK_ELEMS ? count - off : CHUNK_ELEMS;
    if (accMemcpy(d + off, chunk, n * sizeof(float), accMemcpyHostToDevice) != accSuccess) rc = -1;
    off += n;
  }
  free(chunk);
  return rc;
}

/* Elements of d[0..count) that differ from v (all checked). */
long countWrong(const float* d, size_t count, float v) {
  float* chunk = malloc(CHUNK_ELEMS * sizeof(float));
  if (chunk == NULL) return (long)count;
  long wrong = 0;
  for (size_t off = 0; off < count;) {
    size_t n = count - off < CHUNK_ELEMS ? count - off : CHUNK_ELEMS;
    if (accMemcpy(chunk, d + off, n * sizeof(float), accMemcpyDeviceToHost) != accSuccess) {
      wrong = (long)count;
      break;
    }
    for (size_t i = 0; i < n; i++) wrong += chunk[i] != v;
    off += n;
  }
  free(chunk);
  return wrong;
}

#define GUARD_BYTE 0xa5
/* Bytes of a guard allocation that are no longer GUARD_BYTE. */
static long guardDamage(const void* g, size_t bytes) {
  static unsigned char chunk[1 << 18];
  long bad = 0;
  for (size_t off = 0; off < bytes;) {
    size_t n = bytes - off < sizeof(chunk) ? bytes - off : sizeof(chunk);
    if (accMemcpy(chunk, (const char*)g + off, n, accMemcpyDeviceToHost) != accSuccess) return (long)bytes;
    for (size_t i = 0; i < n; i++) bad += chunk[i] != GUARD_BYTE;
    off += n;
  }
  return bad;
}

int guardedAlloc(Guarded* g, size_t bytes) {
  memset(g, 0, sizeof(*g));
  g->bytes = bytes;
  g->guardBytes = bytes < (1 << 20) ? (1 << 20) : bytes;
  if (accMalloc(&g->pre, g->guardBytes) != accSuccess || accMalloc(&g->buf, bytes ? bytes : 1) != accSuccess ||
      accMalloc(&g->post, g->guardBytes) != accSuccess)
    return -1;
  if (accMemset(g->pre, GUARD_BYTE, g->guardBytes) != accSuccess ||
      accMemset(g->post, GUARD_BYTE, g->guardBytes) != accSuccess)
    return -1;
  return 0;
}

long guardedDamage(const Guarded* g) {
  return guardDamage(g->pre, g->guardBytes) + guardDamage(g->post, g->guardBytes);
}

void guardedFree(Guarded* g) {
  accFree(g->pre);
  accFree(g->buf);
  accFree(g->post);
}

/* The stream's outcome after a launch that returned acclSuccess. */
acclResult_t syncResult(acclComm_t comm, accStream_t stream) {
  if (accStreamSynchronize(stream) == accSuccess) return acclSuccess;
  acclResult_t async = acclSuccess;
  acclCommGetAsyncError(comm, &async);
  return async != acclSuccess ? async : acclDeviceError;
}

/* One call of the loop; returns the number of wrong elements (checked on the host). */
acclResult_t runOnce(const char* op, acclComm_t comm, accStream_t stream, float* dsend, float* drecv, size_t count,
                     long* wrong) {
  acclResult_t r;
  size_t outCount = count;
  if (!strcmp(op, "allgather")) {
    r = acclAllGather(dsend, drecv, count, acclFloat32, comm, stream);
    outCount = count * (size_t)nranks;
  } else if (!strcmp(op, "sendrecv")) {
    if ((r = acclGroupStart()) != acclSuccess) return r;
    acclSend(dsend, count, acclFloat32, (rank + 1) % nranks, comm, stream);
    acclRecv(drecv, count, acclFloat32, (rank + nranks - 1) % nranks, comm, stream);
    r = acclGroupEnd();
  } else {
    r = acclAllReduce(dsend, drecv, count, acclFloat32, acclSum, comm, stream);
  }
  if (r != acclSuccess) return r;
  if ((r = syncResult(comm, stream)) != acclSuccess) return r;
  /* check a sample: the first and last elements of every block */
  size_t probes[4] = {0, count - 1, outCount - count, outCount - 1};
  for (int p = 0; p < 4 && count; p++) {
    size_t i = probes[p];
    float v;
    if (accMemcpy(&v, drecv + i, sizeof(v), accMemcpyDeviceToHost) != accSuccess) return acclDeviceError;
    float expect;
    if (!strcmp(op, "allgather"))
      expect = (float)(i / count + 1);
    else if (!strcmp(op, "sendrecv"))
      expect = (float)((rank + nranks - 1) % nranks + 1);
    else
      expect = (float)(nranks * (nranks + 1) / 2);
    if (v != expect) (*wrong)++;
  }
  return acclSuccess;
}

acclResult_t smallAllReduce(acclComm_t comm, accStream_t stream, long* wrong) {
  float *s = NULL, *d = NULL;
  if (accMalloc((void**)&s, 4096) != accSuccess || accMalloc((void**)&d, 4096) != accSuccess) return acclSystemError;
  fillFloat(s, 1024, (float)(rank + 1));
  acclResult_t r = runOnce("allreduce", comm, stream, s, d, 1024, wrong);
  accFree(s);
  accFree(d);
  return r;
}
