/* fault_ops.c - fault_rank's scenarios (fault_rank.c's header says what
 * each OP does), one function each, on the communicator main made. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fault_rank.h"
#include "proc_sockets.h" /* procFdCount, procThreadCount */

/* ------------------------------------------------------------ the loop */

/* FAULT_ABORT_MS=N: aborts the communicator (arg) N ms after it starts. */
static void* abortThread(void* comm) {
  usleep((useconds_t)(atol(getenv("FAULT_ABORT_MS")) * 1000));
  acclResult_t r;
  PHASE(r, "abort", acclCommAbort((acclComm_t)comm));
  return NULL;
}

static void forkChild(const char* op, acclComm_t comm, float* dsend, float* drecv, size_t count) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return;
  }
  if (pid == 0) {
    if (!strcmp(op, "fork-call")) {
      acclResult_t r = acclAllReduce(dsend, drecv, count, acclFloat32, acclSum, comm, NULL);
      if (r == acclSuccess) r = syncResult(comm, NULL);
      const char* err = acclGetLastError(NULL);
      printf("CHILD rank=%d code=%d err=%s\n", rank, (int)r, r == acclSuccess ? "" : (err ? err : ""));
      fflush(stdout);
    }
    exit(0); /* exit, not _exit: the library's exit handlers run in the child */
  }
  double deadline = now() + 20;
  int st = 0;
  pid_t got = 0;
  while ((got = waitpid(pid, &st, WNOHANG)) == 0 && now() < deadline) usleep(10000);
  if (got == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    printf("CHILD rank=%d status=hung\n", rank);
  } else if (WIFSIGNALED(st)) {
    printf("CHILD rank=%d status=signal%d\n", rank, WTERMSIG(st));
  } else {
    printf("CHILD rank=%d status=exit%d\n", rank, WEXITSTATUS(st));
  }
  fflush(stdout);
}

int loopOp(const char* op, acclComm_t comm, accStream_t stream, size_t bytes, long iters) {
  int forking = !strncmp(op, "fork-", 5);
  const char* kind = forking ? "allreduce" : op;
  size_t count = bytes / sizeof(float);
  size_t outCount = !strcmp(kind, "allgather") ? count * (size_t)nranks : count;
  float *dsend = NULL, *drecv = NULL;
  if (accMalloc((void**)&dsend, count * sizeof(float)) != accSuccess ||
      accMalloc((void**)&drecv, outCount * sizeof(float)) != accSuccess || fillFloat(dsend, count, (float)(rank + 1))) {
    fprintf(stderr, "rank %d: allocation failed\n", rank);
    return 1;
  }
  pthread_t abT;
  const char* abMs = getenv("FAULT_ABORT_MS");
  int aborting = abMs && *abMs;
  long wrong = 0;
  double t0 = now();
  acclResult_t r = acclSuccess;
  for (long it = 0; it < iters && r == acclSuccess; it++) {
    r = runOnce(kind, comm, stream, dsend, drecv, count, &wrong);
    if (it == 0 && r == acclSuccess) {
      printf("LOOP rank=%d\n", rank);
      if (aborting) pthread_create(&abT, NULL, abortThread, comm);
      if (forking) forkChild(op, comm, dsend, drecv, count);
    }
  }
  if (aborting) {
    /* the communicator belongs to the abort thread now: no call on it */
    pthread_join(abT, NULL);
    result("loop", r, t0, NULL, wrong);
    accFree(dsend);
    accFree(drecv);
    return 0;
  }
  result("loop", r, t0, comm, wrong);
  if (r != acclSuccess) {
    const char* after = getenv("FAULT_AFTER");
    if (after && *after == '1') {
      /* the next call on a failed communicator: its error, at once */
      double t1 = now();
      acclResult_t r2 = acclAllReduce(dsend, drecv, count, acclFloat32, acclSum, comm, stream);
      double launched = now() - t1;
      if (r2 == acclSuccess) r2 = syncResult(comm, stream);
      printf("AFTER rank=%d launch_secs=%.6f\n", rank, launched);
      result("after", r2, t1, comm, 0);
    }
    accFree(dsend);
    accFree(drecv);
    finishFailed(comm);
    return 0;
  }
  accFree(dsend);
  accFree(drecv);
  finishComm(comm, r);
  return 0;
}

/* ------------------------------------------------------------ mismatched calls */

int mismatchOp(const char* op, acclComm_t comm, accStream_t stream, size_t bytes, long iters) {
  (void)iters;
  const char* kind = op + 3;
  int last = rank == nranks - 1;
  size_t count = bytes / sizeof(float);
  /* a matching call first: the communicator works */
  float *wsend = NULL, *wrecv = NULL;
  long wrong = 0;
  if (accMalloc((void**)&wsend, 4096) != accSuccess || accMalloc((void**)&wrecv, 4096) != accSuccess ||
      fillFloat(wsend, 1024, (float)(rank + 1))) {
    fprintf(stderr, "rank %d: allocation failed\n", rank);
    return 1;
  }
  double t0 = now();
  acclResult_t r = runOnce("allreduce", comm, stream, wsend, wrecv, 1024, &wrong);
  if (r != acclSuccess || wrong) {
    result("warmup", r, t0, comm, wrong);
    finishFailed(comm);
    return 0;
  }
  printf("LOOP rank=%d\n", rank);

  /* this rank's call */
  size_t myCount = count, sendBytes = bytes, recvBytes = bytes;
  acclDataType_t dt = acclFloat32;
  acclRedOp_t redop = acclSum;
  int root = 0, gather = 0;
  if (!strcmp(kind, "count"))
    myCount = count * (size_t)(nranks - rank) / (size_t)nranks;
  else if (!strcmp(kind, "dtype") && last)
    dt = acclInt32;
  else if (!strcmp(kind, "op") && last)
    redop = acclMax;
  else if (!strcmp(kind, "root") && last)
    root = 1;
  else if (!strcmp(kind, "coll") && last)
    gather = 1;
  if (gather) myCount = count / (size_t)nranks;
  sendBytes = myCount * sizeof(float);
  recvBytes = (gather ? myCount * (size_t)nranks : myCount) * sizeof(float);
  float* dsend = NULL;
  Guarded out;
  if (accMalloc((void**)&dsend, sendBytes ? sendBytes : 1) != accSuccess || guardedAlloc(&out, recvBytes) ||
      fillFloat(dsend, myCount, (float)(rank + 1)) || fillFloat(out.buf, recvBytes / sizeof(float), -1.0f)) {
    fprintf(stderr, "rank %d: allocation failed\n", rank);
    return 1;
  }
  float expect = (float)(nranks * (nranks + 1) / 2);
  t0 = now();
  if (!strcmp(kind, "skip")) {
    /* three calls of count, count/2, count/4 elements; the last rank skips the second */
    for (int k = 0; k < 3 && r == acclSuccess; k++) {
      if (last && k == 1) continue;
      size_t c = count >> k;
      r = acclAllReduce(dsend, out.buf, c, acclFloat32, acclSum, comm, stream);
      if (r == acclSuccess) r = syncResult(comm, stream);
      if (r == acclSuccess) wrong += countWrong(out.buf, c, expect);
    }
  } else if (!strcmp(kind, "root")) {
    expect = 1.0f; /* what rank 0 sends */
    r = acclBroadcast(dsend, out.buf, myCount, dt, root, comm, stream);
    if (r == acclSuccess) r = syncResult(comm, stream);
    if (r == acclSuccess) wrong = countWrong(out.buf, myCount, expect);
  } else if (gather) {
    r = acclAllGather(dsend, out.buf, myCount, dt, comm, stream);
    if (r == acclSuccess) r = syncResult(comm, stream);
    if (r == acclSuccess)
      for (int q = 0; q < nranks; q++)
        wrong += countWrong((float*)out.buf + (size_t)q * myCount, myCount, (float)(q + 1));
  } else {
    r = acclAllReduce(dsend, out.buf, myCount, dt, redop, comm, stream);
    if (r == acclSuccess) r = syncResult(comm, stream);
    if (r == acclSuccess) wrong = countWrong(out.buf, myCount, expect);
  }
  long damage = guardedDamage(&out);
  resultEx("loop", r, t0, comm, wrong, damage);
  accFree(wsend);
  accFree(wrecv);
  accFree(dsend);
  guardedFree(&out);
  if (r != acclSuccess)
    finishFailed(comm);
  else
    PHASE(r, "destroy", acclCommDestroy(comm));
  return 0;
}

/* ------------------------------------------------------------ bad buffers */

int badBufferOp(const char* op, acclComm_t comm, accStream_t stream, size_t bytes, long iters) {
  (void)iters;
  acclResult_t r;
  long damage = 0, wrong = 0;
  double t0;
  if (!strcmp(op, "badbuf-size")) {
    /* B7: send and receive buffers of 4 KiB, a call of `bytes` */
    float *a = NULL, *b = NULL;
    Guarded after;
    if (accMalloc((void**)&a, 4096) != accSuccess || accMalloc((void**)&b, 4096) != accSuccess ||
        guardedAlloc(&after, 4096)) {
      fprintf(stderr, "rank %d: allocation failed\n", rank);
      return 1;
    }
    accMemset(a, 0, 4096);
    /* b's neighbours: the allocation made right after it (and after.pre
     * lies between b and after.buf) */
    t0 = now();
    r = acclAllReduce(a, b, bytes / sizeof(float), acclFloat32, acclSum, comm, stream);
    if (r == acclSuccess) r = syncResult(comm, stream);
    damage = guardedDamage(&after);
    resultEx("call", r, t0, comm, wrong, damage);
    accFree(a);
    accFree(b);
    guardedFree(&after);
  } else if (!strcmp(op, "badbuf-freed")) {
    float* p = NULL;
    if (accMalloc((void**)&p, bytes) != accSuccess) return 1;
    accFree(p);
    t0 = now();
    r = acclAllReduce(p, p, bytes / sizeof(float), acclFloat32, acclSum, comm, stream);
    if (r == acclSuccess) r = syncResult(comm, stream);
    result("call", r, t0, comm, 0);
  } else { /* badbuf-huge: B8 */
    Guarded g;
    if (guardedAlloc(&g, 4096)) return 1;
    t0 = now();
    r = acclAllReduce(g.buf, g.buf, SIZE_MAX, acclInt8, acclSum, comm, stream);
    if (r == acclSuccess) r = syncResult(comm, stream);
    resultEx("call", r, t0, comm, 0, guardedDamage(&g));
    guardedFree(&g);
  }
  finishComm(comm, r);
  return 0;
}

/* ------------------------------------------------------------ handles */

int staleHandleOp(const char* op, acclComm_t a, accStream_t stream, size_t bytes, long iters) {
  (void)op, (void)bytes, (void)iters;
  acclResult_t r;
  PHASE(r, "destroyA", acclCommDestroy(a));
  acclComm_t b = NULL;
  if (initComm(1, &b, "initB") != acclSuccess) return 0;
  printf("INFO rank=%d same_address=%d\n", rank, a == b);
  int n = -1;
  PHASE(r, "countA", acclCommCount(a, &n));
  PHASE(r, "destroyAagain", acclCommDestroy(a));
  long wrong = 0;
  double t0 = now();
  r = smallAllReduce(b, stream, &wrong);
  result("useB", r, t0, b, wrong);
  finishComm(b, r);
  return 0;
}

int groupDestroyOp(const char* op, acclComm_t comm, accStream_t stream, size_t bytes, long iters) {
  (void)op, (void)bytes, (void)iters;
  float *s = NULL, *d = NULL;
  if (accMalloc((void**)&s, 1 << 20) != accSuccess || accMalloc((void**)&d, 1 << 20) != accSuccess) return 1;
  fillFloat(s, (1 << 20) / 4, (float)(rank + 1));
  double t0 = now();
  acclResult_t r = acclGroupStart();
  if (r == acclSuccess) r = acclAllReduce(s, d, (1 << 20) / 4, acclFloat32, acclSum, comm, stream);
  result("enqueue", r, t0, NULL, 0);
  acclResult_t rd;
  PHASE(rd, "destroyInGroup", acclCommDestroy(comm));
  t0 = now();
  r = acclGroupEnd();
  if (r == acclSuccess) r = accStreamSynchronize(stream) == accSuccess ? acclSuccess : acclDeviceError;
  result("groupEnd", r, t0, NULL, 0);
  if (rd != acclSuccess) { /* refused: the communicator still exists */
    PHASE(r, "destroy", acclCommDestroy(comm));
  }
  accFree(s);
  accFree(d);
  return 0;
}

int useAfterDestroyOp(const char* op, acclComm_t comm, accStream_t stream, size_t bytes, long iters) {
  (void)op, (void)bytes, (void)iters;
  acclResult_t r;
  PHASE(r, "destroy", acclCommDestroy(comm));
  int n;
  PHASE(r, "count", acclCommCount(comm, &n));
  acclResult_t async;
  PHASE(r, "asyncError", acclCommGetAsyncError(comm, &async));
  long wrong = 0;
  double t0 = now();
  r = smallAllReduce(comm, stream, &wrong);
  result("allreduce", r, t0, NULL, wrong);
  PHASE(r, "destroyAgain", acclCommDestroy(comm));
  return 0;
}

/* ------------------------------------------------------------ two threads */

typedef struct {
  acclComm_t comm;
  int t;
  long iters;
  size_t count;
  long wrong, refused, ok;
  acclResult_t firstErr;
  char errText[256];
} ThreadArg;

static void* threadLoop(void* arg) {
  ThreadArg* a = arg;
  accSetDevice(device);
  accStream_t s;
  float *send = NULL, *recv = NULL;
  if (accStreamCreate(&s) != accSuccess || accMalloc((void**)&send, a->count * 4) != accSuccess ||
      accMalloc((void**)&recv, a->count * 4) != accSuccess) {
    a->firstErr = acclSystemError;
    return NULL;
  }
  fillFloat(send, a->count, (float)((rank + 1) * (a->t + 1)));
  float expect = (float)((a->t + 1) * nranks * (nranks + 1) / 2);
  for (long i = 0; i < a->iters; i++) {
    acclResult_t r = acclAllReduce(send, recv, a->count, acclFloat32, acclSum, a->comm, s);
    if (r == acclSuccess) r = accStreamSynchronize(s) == accSuccess ? acclSuccess : acclRemoteError;
    if (r == acclInvalidUsage) {
      a->refused++;
      continue;
    }
    if (r != acclSuccess) {
      if (a->firstErr == acclSuccess) {
        a->firstErr = r;
        snprintf(a->errText, sizeof(a->errText), "%s", acclGetLastError(a->comm));
      }
      break;
    }
    a->ok++;
    float v[2];
    accMemcpy(&v[0], recv, 4, accMemcpyDeviceToHost);
    accMemcpy(&v[1], recv + a->count - 1, 4, accMemcpyDeviceToHost);
    a->wrong += (v[0] != expect) + (v[1] != expect);
  }
  accFree(send);
  accFree(recv);
  accStreamDestroy(s);
  return NULL;
}

int threadsOp(const char* op, acclComm_t comm, accStream_t stream, size_t bytes, long iters) {
  (void)op, (void)stream;
  ThreadArg args[2];
  pthread_t th[2];
  double t0 = now();
  const char* nt = getenv("FAULT_THREADS"); /* 1: the same loop on one thread (a check of the check) */
  int nthreads = nt && atoi(nt) == 1 ? 1 : 2;
  memset(args, 0, sizeof(args));
  for (int t = 0; t < nthreads; t++) {
    memset(&args[t], 0, sizeof(args[t]));
    args[t].comm = comm;
    args[t].t = t;
    args[t].iters = iters;
    args[t].count = bytes / 4 + (size_t)t * 256; /* the threads' calls differ in count */
    pthread_create(&th[t], NULL, threadLoop, &args[t]);
  }
  for (int t = 0; t < nthreads; t++) pthread_join(th[t], NULL);
  acclResult_t r = args[0].firstErr != acclSuccess ? args[0].firstErr : args[1].firstErr;
  printf("THREADS rank=%d ok=%ld,%ld refused=%ld,%ld wrong=%ld,%ld\n", rank, args[0].ok, args[1].ok, args[0].refused,
         args[1].refused, args[0].wrong, args[1].wrong);
  faultResultLine("loop", r, t0, NULL, args[0].wrong + args[1].wrong, 0,
                  args[0].errText[0] ? args[0].errText : args[1].errText);
  finishComm(comm, r);
  return 0;
}

int cyclesOp(accStream_t stream, long iters) {
  for (long i = 0; i < iters; i++) {
    acclComm_t comm = NULL;
    if (initComm((int)i + 1, &comm, i == 0 ? "init" : "cycle") != acclSuccess) return 0;
    long wrong = 0;
    double t0 = now();
    acclResult_t r = smallAllReduce(comm, stream, &wrong);
    if (r != acclSuccess || wrong) {
      result("loop", r, t0, comm, wrong);
      finishFailed(comm);
      return 0;
    }
    r = acclCommDestroy(comm);
    if (r != acclSuccess) {
      result("destroy", r, t0, NULL, 0);
      return 0;
    }
    printf("CYCLE rank=%d i=%ld fds=%d thr=%d rss=%ld shm=%d\n", rank, i, procFdCount(), procThreadCount(), rssKb(),
           countShm());
  }
  result("destroy", acclSuccess, now(), NULL, 0);
  return 0;
}
