/* fault_rank.c - one rank of a fault scenario, as a plain process (no MPI:
 * a launcher that kills ranks must not take the whole job down with them).
 *
 *   fault_rank RANK NRANKS ID_FILE OP [BYTES [ITERS]]
 *
 * The unique id: with ACCL_COMM_ID set every rank makes it itself (the root
 * is pinned); otherwise rank 0 writes it to ID_FILE (ID_FILE.G for the G-th
 * communicator of the process) and the others wait for the file.
 *
 * OP:
 *   init                 create, then destroy
 *   allreduce, allgather, sendrecv
 *                        a loop of ITERS calls of BYTES each, results checked
 *   mm-count, mm-dtype, mm-op, mm-root, mm-coll, mm-skip
 *                        one matching call, then a mismatched one: the last
 *                        rank uses another dtype / op / root / collective,
 *                        counts differ by rank (rank r: BYTES * (n - r) / n),
 *                        or the last rank skips the middle one of three calls
 *                        of different sizes. The output buffer is its own
 *                        allocation between two guard allocations, whose
 *                        bytes are checked afterwards (guard=).
 *   badbuf-size          out-of-place AllReduce of BYTES on two 4 KiB buffers
 *   badbuf-freed         AllReduce on a freed device pointer
 *   badbuf-huge          AllReduce of SIZE_MAX int8 on a 4 KiB buffer
 *   stale-handle         destroy A, create B, then call A's handle
 *   group-destroy        destroy the communicator inside an open group
 *   threads              two threads, one stream each, ITERS AllReduces each
 *                        on the same communicator (counts differ by thread)
 *   use-after-destroy    calls on a destroyed communicator
 *   cycles               ITERS times: init, one AllReduce, destroy
 *   fork-exit, fork-call an AllReduce loop; after its first call the process
 *                        forks a child that exits at once / calls AllReduce
 *                        on the parent's communicator, then the parent goes on
 * Environment (all optional):
 *   FAULT_DIE_MS=N       SIGKILL itself N ms into acclCommInitRank (if still inside)
 *   FAULT_ABORT_MS=N     another thread aborts the communicator N ms into the loop
 *   FAULT_AFTER=1        after a failed loop, one more call of the same kind
 *   FAULT_FINISH=destroy after a failure, acclCommDestroy instead of acclCommAbort
 *   FAULT_ID_CORRUPT=bit:K | random:SEED
 *                        flip bit K of the unique id / replace it by random bytes
 *                        before acclCommInitRank
 *
 * Lines on stdout, read by tests/faults/faults.py:
 *   READY rank=R                 the communicator exists
 *   LOOP rank=R                  the first call of the loop completed
 *   DYING rank=R at=T            (FAULT_DIE_MS) about to SIGKILL itself
 *   RESULT rank=R phase=P code=C secs=S at=T async=A wrong=W guard=G err=TEXT
 *   HYGIENE rank=R fds0=F fds1=F thr0=N thr1=N rss0=K rss1=K extra=FD-TARGETS
 *   CYCLE rank=R i=I fds=F thr=N rss=K
 *   CHILD rank=R code=C status=S err=TEXT
 * phase names the step (init, loop, after, destroy, ...); secs counts from the
 * start of the phase; at is CLOCK_MONOTONIC when it ended (the launcher's
 * clock too); async is acclCommGetAsyncError after a failure; guard counts
 * bytes of the guard allocations that changed; TEXT is acclGetLastError.
 * HYGIENE compares file descriptors, threads and RSS before the first init
 * (device and stream already set up) with after the last destroy / abort.
 * After a failure the rank aborts the communicator and exits 0: what the
 * scenario judges is what the library returned, and that the process could
 * leave cleanly. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "acc_ccl.h"
#include "proc_sockets.h" /* procFdCount, procThreadCount */

static int rank, nranks, device;
static const char* idFile;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void resultEx(const char* phase, acclResult_t code, double t0, acclComm_t comm, long wrong, long guard) {
  acclResult_t async = acclSuccess;
  if (comm && code != acclSuccess) acclCommGetAsyncError(comm, &async);
  const char* err = acclGetLastError(comm);
  double t = now();
  printf("RESULT rank=%d phase=%s code=%d secs=%.3f at=%.3f async=%d wrong=%ld guard=%ld err=%s\n", rank, phase,
         (int)code, t - t0, t, (int)async, wrong, guard, code == acclSuccess ? "" : (err ? err : ""));
  fflush(stdout);
}

static void result(const char* phase, acclResult_t code, double t0, acclComm_t comm, long wrong) {
  resultEx(phase, code, t0, comm, wrong, 0);
}

/* ------------------------------------------------------------ hygiene */

static long rssKb(void) {
  FILE* f = fopen("/proc/self/statm", "r");
  long pages = 0, res = 0;
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
    fclose(f);
  }
  return res * (sysconf(_SC_PAGESIZE) / 1024);
}

#define MAX_FDS 4096
static char* fdTargets[MAX_FDS]; /* what each descriptor pointed to at the baseline */
static int fds0, thr0;
static long rss0;

static void snapFds(char** out) {
  for (int fd = 0; fd < MAX_FDS; fd++) {
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, buf, sizeof(buf) - 1);
    free(out[fd]);
    out[fd] = NULL;
    if (n < 0) continue;
    buf[n] = 0;
    out[fd] = strdup(buf);
  }
}

static void hygieneBaseline(void) {
  snapFds(fdTargets);
  fds0 = procFdCount();
  thr0 = procThreadCount();
  rss0 = rssKb();
}

/* Descriptors open now that were not at the baseline, by target. */
static void hygieneReport(void) {
  static char* later[MAX_FDS];
  snapFds(later);
  char extra[1024] = "";
  size_t used = 0;
  for (int fd = 0; fd < MAX_FDS; fd++) {
    if (!later[fd] || (fdTargets[fd] && !strcmp(fdTargets[fd], later[fd]))) continue;
    if (strstr(later[fd], "/proc/") && strstr(later[fd], "/fd")) continue; /* snapFds' own */
    int n = snprintf(extra + used, sizeof(extra) - used, "%s%d:%s", used ? "," : "", fd, later[fd]);
    if (n < 0 || (size_t)n >= sizeof(extra) - used) break;
    used += (size_t)n;
    for (char* c = extra; *c; c++)
      if (*c == ' ') *c = '_';
  }
  printf("HYGIENE rank=%d fds0=%d fds1=%d thr0=%d thr1=%d rss0=%ld rss1=%ld extra=%s\n", rank, fds0, procFdCount(),
         thr0, procThreadCount(), rss0, rssKb(), extra);
  for (int fd = 0; fd < MAX_FDS; fd++) free(later[fd]), later[fd] = NULL;
}

/* ------------------------------------------------------------ unique ids */

static void idPath(int gen, char* out, size_t len) {
  if (gen == 0)
    snprintf(out, len, "%s", idFile);
  else
    snprintf(out, len, "%s.%d", idFile, gen);
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
  char tmp[4200];
  snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
  FILE* f = fopen(tmp, "wb");
  if (!f) return -1;
  int ok = fwrite(id, 1, sizeof(*id), f) == sizeof(*id);
  ok &= fclose(f) == 0;
  return ok && rename(tmp, path) == 0 ? 0 : -1;
}

static atomic_int initDone;

static void* dieThread(void* arg) {
  long ms = (long)(intptr_t)arg;
  usleep((useconds_t)(ms * 1000));
  if (!atomic_load(&initDone)) {
    printf("DYING rank=%d at=%.3f\n", rank, now());
    fflush(stdout);
    raise(SIGKILL);
  }
  return NULL;
}

/* The gen-th communicator of this process; prints RESULT phase=init (or
 * `phase`). Returns the result of acclCommInitRank. */
static acclResult_t initComm(int gen, acclComm_t* comm, const char* phase) {
  double t0 = now();
  acclUniqueId id;
  const char* pinned = getenv("ACCL_COMM_ID");
  int pinnedRoot = pinned && *pinned;
  char path[4096];
  if (strlen(idFile) > 4000) exit(2);
  idPath(gen, path, sizeof(path));
  if (pinnedRoot || rank == 0) {
    acclResult_t r = acclGetUniqueId(&id);
    if (r != acclSuccess) {
      result(phase, r, t0, NULL, 0);
      return r;
    }
    if (!pinnedRoot && writeId(path, &id) != 0) {
      perror("writing the unique id");
      exit(1);
    }
  } else if (readId(path, &id) != 0) {
    fprintf(stderr, "rank %d: no unique id in %s\n", rank, path);
    exit(1);
  }
  const char* corrupt = getenv("FAULT_ID_CORRUPT");
  if (corrupt && gen == 0) {
    if (!strncmp(corrupt, "bit:", 4)) {
      int k = atoi(corrupt + 4) % (ACCL_UNIQUE_ID_BYTES * 8);
      id.internal[k / 8] = (char)(id.internal[k / 8] ^ (1 << (k % 8)));
    } else if (!strncmp(corrupt, "random:", 7)) {
      srand((unsigned)atoi(corrupt + 7));
      for (int i = 0; i < ACCL_UNIQUE_ID_BYTES; i++) id.internal[i] = (char)(rand() & 0xff);
    }
  }
  const char* die = getenv("FAULT_DIE_MS");
  if (die && *die && gen == 0) {
    pthread_t t;
    pthread_create(&t, NULL, dieThread, (void*)(intptr_t)atol(die));
    pthread_detach(t);
  }
  *comm = NULL;
  acclResult_t r = acclCommInitRank(comm, nranks, id, rank);
  atomic_store(&initDone, 1);
  result(phase, r, t0, NULL, 0);
  return r;
}

/* ------------------------------------------------------------ buffers */

/* The host chunks of these helpers are the caller's own: two threads (the
 * threads scenario) fill their buffers at once, and a shared static chunk
 * once gave one thread's input the other's values. */
#define CHUNK_ELEMS (1 << 16)

static int fillFloat(float* d, size_t count, float v) {
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
static long countWrong(const float* d, size_t count, float v) {
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

/* An output allocation of `bytes` between two guard allocations. */
typedef struct {
  void *pre, *buf, *post;
  size_t bytes, guardBytes;
} Guarded;

static int guardedAlloc(Guarded* g, size_t bytes) {
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

static long guardedDamage(const Guarded* g) {
  return guardDamage(g->pre, g->guardBytes) + guardDamage(g->post, g->guardBytes);
}

static void guardedFree(Guarded* g) {
  accFree(g->pre);
  accFree(g->buf);
  accFree(g->post);
}

/* The stream's outcome after a launch that returned acclSuccess. */
static acclResult_t syncResult(acclComm_t comm, accStream_t stream) {
  if (accStreamSynchronize(stream) == accSuccess) return acclSuccess;
  acclResult_t async = acclSuccess;
  acclCommGetAsyncError(comm, &async);
  return async != acclSuccess ? async : acclDeviceError;
}

/* ------------------------------------------------------------ the loop */

/* One call of the loop; returns the number of wrong elements (checked on the host). */
static acclResult_t runOnce(const char* op, acclComm_t comm, accStream_t stream, float* dsend, float* drecv,
                            size_t count, long* wrong) {
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

typedef struct {
  acclComm_t comm;
  long ms;
  atomic_int done;
} AbortArg;

static void* abortThread(void* arg) {
  AbortArg* a = arg;
  usleep((useconds_t)(a->ms * 1000));
  double t0 = now();
  acclResult_t r = acclCommAbort(a->comm);
  result("abort", r, t0, NULL, 0);
  atomic_store(&a->done, 1);
  return NULL;
}

/* Finish a communicator after a failure: abort (or destroy, FAULT_FINISH). */
static void finishFailed(acclComm_t comm) {
  const char* fin = getenv("FAULT_FINISH");
  double t0 = now();
  acclResult_t r = fin && !strcmp(fin, "destroy") ? acclCommDestroy(comm) : acclCommAbort(comm);
  result("destroy", r, t0, NULL, 0);
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

static int loopOp(const char* op, acclComm_t comm, accStream_t stream, size_t bytes, long iters) {
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
  AbortArg ab = {comm, 0, 0};
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
      if (aborting) {
        ab.ms = atol(abMs);
        pthread_create(&abT, NULL, abortThread, &ab);
      }
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
  t0 = now();
  r = acclCommDestroy(comm);
  result("destroy", r, t0, NULL, 0);
  return 0;
}

/* ------------------------------------------------------------ mismatched calls */

static int mismatchOp(const char* op, acclComm_t comm, accStream_t stream, size_t bytes) {
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
  if (r != acclSuccess) {
    finishFailed(comm);
    return 0;
  }
  t0 = now();
  r = acclCommDestroy(comm);
  result("destroy", r, t0, NULL, 0);
  return 0;
}

/* ------------------------------------------------------------ bad buffers */

static int badBufferOp(const char* op, acclComm_t comm, accStream_t stream, size_t bytes) {
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
  t0 = now();
  r = r == acclSuccess ? acclCommDestroy(comm) : acclCommAbort(comm);
  result("destroy", r, t0, NULL, 0);
  return 0;
}

/* ------------------------------------------------------------ handles */

static acclResult_t smallAllReduce(acclComm_t comm, accStream_t stream, long* wrong) {
  float *s = NULL, *d = NULL;
  if (accMalloc((void**)&s, 4096) != accSuccess || accMalloc((void**)&d, 4096) != accSuccess) return acclSystemError;
  fillFloat(s, 1024, (float)(rank + 1));
  acclResult_t r = runOnce("allreduce", comm, stream, s, d, 1024, wrong);
  accFree(s);
  accFree(d);
  return r;
}

static int staleHandleOp(acclComm_t a, accStream_t stream) {
  double t0 = now();
  acclResult_t r = acclCommDestroy(a);
  result("destroyA", r, t0, NULL, 0);
  acclComm_t b = NULL;
  if (initComm(1, &b, "initB") != acclSuccess) return 0;
  printf("INFO rank=%d same_address=%d\n", rank, a == b);
  int n = -1;
  t0 = now();
  r = acclCommCount(a, &n);
  result("countA", r, t0, NULL, 0);
  t0 = now();
  r = acclCommDestroy(a);
  result("destroyAagain", r, t0, NULL, 0);
  long wrong = 0;
  t0 = now();
  r = smallAllReduce(b, stream, &wrong);
  result("useB", r, t0, b, wrong);
  t0 = now();
  r = r == acclSuccess ? acclCommDestroy(b) : acclCommAbort(b);
  result("destroy", r, t0, NULL, 0);
  return 0;
}

static int groupDestroyOp(acclComm_t comm, accStream_t stream) {
  float *s = NULL, *d = NULL;
  if (accMalloc((void**)&s, 1 << 20) != accSuccess || accMalloc((void**)&d, 1 << 20) != accSuccess) return 1;
  fillFloat(s, (1 << 20) / 4, (float)(rank + 1));
  double t0 = now();
  acclResult_t r = acclGroupStart();
  if (r == acclSuccess) r = acclAllReduce(s, d, (1 << 20) / 4, acclFloat32, acclSum, comm, stream);
  result("enqueue", r, t0, NULL, 0);
  t0 = now();
  acclResult_t rd = acclCommDestroy(comm);
  result("destroyInGroup", rd, t0, NULL, 0);
  t0 = now();
  r = acclGroupEnd();
  if (r == acclSuccess) r = accStreamSynchronize(stream) == accSuccess ? acclSuccess : acclDeviceError;
  result("groupEnd", r, t0, NULL, 0);
  if (rd != acclSuccess) { /* refused: the communicator still exists */
    t0 = now();
    r = acclCommDestroy(comm);
    result("destroy", r, t0, NULL, 0);
  }
  accFree(s);
  accFree(d);
  return 0;
}

static int useAfterDestroyOp(acclComm_t comm, accStream_t stream) {
  double t0 = now();
  acclResult_t r = acclCommDestroy(comm);
  result("destroy", r, t0, NULL, 0);
  int n;
  t0 = now();
  r = acclCommCount(comm, &n);
  result("count", r, t0, NULL, 0);
  acclResult_t async;
  t0 = now();
  r = acclCommGetAsyncError(comm, &async);
  result("asyncError", r, t0, NULL, 0);
  long wrong = 0;
  t0 = now();
  r = smallAllReduce(comm, stream, &wrong);
  result("allreduce", r, t0, NULL, wrong);
  t0 = now();
  r = acclCommDestroy(comm);
  result("destroyAgain", r, t0, NULL, 0);
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

static int threadsOp(acclComm_t comm, size_t bytes, long iters) {
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
  double t1 = now();
  printf("RESULT rank=%d phase=loop code=%d secs=%.3f at=%.3f async=0 wrong=%ld guard=0 err=%s\n", rank, (int)r,
         t1 - t0, t1, args[0].wrong + args[1].wrong,
         r == acclSuccess ? "" : (args[0].errText[0] ? args[0].errText : args[1].errText));
  t0 = now();
  r = r == acclSuccess ? acclCommDestroy(comm) : acclCommAbort(comm);
  result("destroy", r, t0, NULL, 0);
  return 0;
}

/* ------------------------------------------------------------ cycles */

static int countShm(void) {
  DIR* d = opendir("/dev/shm");
  if (!d) return 0;
  char pid[32];
  snprintf(pid, sizeof(pid), "%d", (int)getpid());
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)))
    if (strstr(e->d_name, pid)) n++;
  closedir(d);
  return n;
}

static int cyclesOp(accStream_t stream, long iters) {
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

/* ------------------------------------------------------------ main */

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s RANK NRANKS ID_FILE OP [BYTES [ITERS]]\n", argv[0]);
    return 2;
  }
  rank = atoi(argv[1]);
  nranks = atoi(argv[2]);
  idFile = argv[3];
  const char* op = argv[4];
  size_t bytes = argc > 5 ? strtoull(argv[5], NULL, 0) : 1 << 20;
  long iters = argc > 6 ? atol(argv[6]) : 1000000;
  setvbuf(stdout, NULL, _IOLBF, 0);
  int ndev = 1;
  accGetDeviceCount(&ndev);
  device = rank % (ndev > 0 ? ndev : 1);
  accSetDevice(device);
  /* the device and a stream exist before the baseline: they are the
   * process's, not the communicator's */
  accStream_t stream;
  void* warm = NULL;
  if (accStreamCreate(&stream) != accSuccess || accMalloc(&warm, 4096) != accSuccess) {
    fprintf(stderr, "rank %d: no device\n", rank);
    return 1;
  }
  accMemset(warm, 0, 4096);
  accStreamSynchronize(stream);
  accFree(warm);
  hygieneBaseline();

  if (!strcmp(op, "cycles")) {
    cyclesOp(stream, iters);
    hygieneReport();
    return 0;
  }
  acclComm_t comm = NULL;
  if (initComm(0, &comm, "init") != acclSuccess) {
    hygieneReport();
    return 0;
  }
  printf("READY rank=%d\n", rank);

  int rc = 0;
  if (!strcmp(op, "init")) {
    double t0 = now();
    acclResult_t r = acclCommDestroy(comm);
    result("destroy", r, t0, NULL, 0);
  } else if (!strncmp(op, "mm-", 3)) {
    rc = mismatchOp(op, comm, stream, bytes);
  } else if (!strncmp(op, "badbuf-", 7)) {
    rc = badBufferOp(op, comm, stream, bytes);
  } else if (!strcmp(op, "stale-handle")) {
    rc = staleHandleOp(comm, stream);
  } else if (!strcmp(op, "group-destroy")) {
    rc = groupDestroyOp(comm, stream);
  } else if (!strcmp(op, "use-after-destroy")) {
    rc = useAfterDestroyOp(comm, stream);
  } else if (!strcmp(op, "threads")) {
    rc = threadsOp(comm, bytes, iters);
  } else if (!strcmp(op, "allreduce") || !strcmp(op, "allgather") || !strcmp(op, "sendrecv") ||
             !strncmp(op, "fork-", 5)) {
    rc = loopOp(op, comm, stream, bytes, iters);
  } else {
    fprintf(stderr, "unknown OP %s\n", op);
    return 2;
  }
  hygieneReport();
  accStreamDestroy(stream);
  return rc;
}
