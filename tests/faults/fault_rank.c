/* fault_rank.c - one rank of a fault scenario, as a plain process (no MPI:
 * a launcher that kills ranks must not take the whole job down with them).
 *
 *   fault_rank RANK NRANKS ID_FILE OP [BYTES [ITERS]]
 *
 * The unique id: with ACCL_COMM_ID set every rank makes it itself (the root
 * is pinned); otherwise rank 0 writes it to ID_FILE and the others wait for
 * the file. OP: init (create, then destroy), allreduce, allgather, sendrecv
 * (a loop of ITERS calls of BYTES each, every result checked). Lines on
 * stdout, read by tests/faults/faults.py:
 *   READY rank=R                 the communicator exists
 *   LOOP rank=R                  the first call of the loop completed
 *   RESULT rank=R phase=P code=C secs=S async=A wrong=W err=TEXT
 * phase is init, loop or destroy; secs counts from the start of the phase;
 * async is acclCommGetAsyncError after a failure; TEXT is acclGetLastError.
 * After a failure the rank aborts the communicator and exits 0: what the
 * scenario judges is what the library returned, and that the process could
 * leave cleanly. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "acc_ccl.h"

static int rank, nranks;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void result(const char* phase, acclResult_t code, double t0, acclComm_t comm, long wrong) {
  acclResult_t async = acclSuccess;
  if (comm && code != acclSuccess) acclCommGetAsyncError(comm, &async);
  const char* err = acclGetLastError(comm);
  printf("RESULT rank=%d phase=%s code=%d secs=%.3f async=%d wrong=%ld err=%s\n", rank, phase, (int)code, now() - t0,
         (int)async, wrong, code == acclSuccess ? "" : (err ? err : ""));
  fflush(stdout);
}

static int readId(const char* path, acclUniqueId* id) {
  for (int tries = 0; tries < 6000; tries++) { /* 60 s */
    FILE* f = fopen(path, "rb");
    if (f) {
      size_t got = fread(id, 1, sizeof(*id), f);
      fclose(f);
      if (got == sizeof(*id)) return 0;
    }
    usleep(10000);
  }
  return -1;
}

static int writeId(const char* path, const acclUniqueId* id) {
  char tmp[4096];
  snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
  FILE* f = fopen(tmp, "wb");
  if (!f) return -1;
  int ok = fwrite(id, 1, sizeof(*id), f) == sizeof(*id);
  ok &= fclose(f) == 0;
  return ok && rename(tmp, path) == 0 ? 0 : -1;
}

/* One call of the loop; returns the number of wrong elements (checked on the host). */
static acclResult_t runOnce(const char* op, acclComm_t comm, accStream_t stream, float* dsend, float* drecv,
                            size_t count, float* host, long* wrong) {
  acclResult_t r;
  size_t outCount = count;
  if (!strcmp(op, "allreduce")) {
    r = acclAllReduce(dsend, drecv, count, acclFloat32, acclSum, comm, stream);
  } else if (!strcmp(op, "allgather")) {
    r = acclAllGather(dsend, drecv, count, acclFloat32, comm, stream);
    outCount = count * (size_t)nranks;
  } else {
    if ((r = acclGroupStart()) != acclSuccess) return r;
    acclSend(dsend, count, acclFloat32, (rank + 1) % nranks, comm, stream);
    acclRecv(drecv, count, acclFloat32, (rank + nranks - 1) % nranks, comm, stream);
    r = acclGroupEnd();
  }
  if (r != acclSuccess) return r;
  if (accStreamSynchronize(stream) != accSuccess) {
    acclResult_t async = acclSuccess;
    acclCommGetAsyncError(comm, &async);
    return async != acclSuccess ? async : acclDeviceError;
  }
  /* check a sample: the first and last elements of every block */
  size_t probes[4] = {0, count - 1, outCount - count, outCount - 1};
  for (int p = 0; p < 4 && count; p++) {
    size_t i = probes[p];
    float v;
    if (accMemcpy(&v, drecv + i, sizeof(v), accMemcpyDeviceToHost) != accSuccess) return acclDeviceError;
    float expect;
    if (!strcmp(op, "allreduce")) expect = (float)(nranks * (nranks + 1) / 2);
    else if (!strcmp(op, "allgather")) expect = (float)(i / count + 1);
    else expect = (float)((rank + nranks - 1) % nranks + 1);
    if (v != expect) (*wrong)++;
  }
  (void)host;
  return acclSuccess;
}

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s RANK NRANKS ID_FILE OP [BYTES [ITERS]]\n", argv[0]);
    return 2;
  }
  rank = atoi(argv[1]);
  nranks = atoi(argv[2]);
  const char* idFile = argv[3];
  const char* op = argv[4];
  size_t bytes = argc > 5 ? strtoull(argv[5], NULL, 0) : 1 << 20;
  long iters = argc > 6 ? atol(argv[6]) : 1000000;
  setvbuf(stdout, NULL, _IOLBF, 0);
  int ndev = 1;
  accGetDeviceCount(&ndev);
  accSetDevice(rank % (ndev > 0 ? ndev : 1));

  double t0 = now();
  acclUniqueId id;
  const char* pinned = getenv("ACCL_COMM_ID");
  int pinnedRoot = pinned && *pinned;
  if (pinnedRoot || rank == 0) {
    acclResult_t r = acclGetUniqueId(&id);
    if (r != acclSuccess) { result("init", r, t0, NULL, 0); return 0; }
    if (!pinnedRoot && writeId(idFile, &id) != 0) { perror("writing the unique id"); return 1; }
  } else if (readId(idFile, &id) != 0) {
    fprintf(stderr, "rank %d: no unique id in %s\n", rank, idFile);
    return 1;
  }
  acclComm_t comm = NULL;
  acclResult_t r = acclCommInitRank(&comm, nranks, id, rank);
  result("init", r, t0, NULL, 0);
  if (r != acclSuccess) return 0;
  printf("READY rank=%d\n", rank);

  if (strcmp(op, "init") != 0) {
    accStream_t stream;
    size_t count = bytes / sizeof(float);
    size_t outCount = !strcmp(op, "allgather") ? count * (size_t)nranks : count;
    float *dsend = NULL, *drecv = NULL;
    float* host = malloc(count * sizeof(float));
    if (accStreamCreate(&stream) != accSuccess || accMalloc((void**)&dsend, count * sizeof(float)) != accSuccess ||
        accMalloc((void**)&drecv, outCount * sizeof(float)) != accSuccess || !host) {
      fprintf(stderr, "rank %d: allocation failed\n", rank);
      return 1;
    }
    for (size_t i = 0; i < count; i++) host[i] = (float)(rank + 1);
    accMemcpy(dsend, host, count * sizeof(float), accMemcpyHostToDevice);
    long wrong = 0;
    t0 = now();
    for (long it = 0; it < iters && r == acclSuccess; it++) {
      r = runOnce(op, comm, stream, dsend, drecv, count, host, &wrong);
      if (it == 0 && r == acclSuccess) printf("LOOP rank=%d\n", rank);
    }
    result("loop", r, t0, comm, wrong);
    accFree(dsend);
    accFree(drecv);
    free(host);
    if (r != acclSuccess) {
      t0 = now();
      r = acclCommAbort(comm);
      result("destroy", r, t0, NULL, 0);
      accStreamDestroy(stream);
      return 0;
    }
    accStreamDestroy(stream);
  }
  t0 = now();
  r = acclCommDestroy(comm);
  result("destroy", r, t0, NULL, 0);
  return 0;
}
