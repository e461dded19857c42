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
 * leave cleanly.
 *
 * This file: the process (device, unique id, hygiene) and the scenario
 * table; fault_ops.c holds the scenarios, fault_bufs.c their buffers. */
#include "fault_rank.h"
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "proc_sockets.h" /* procFdCount, procThreadCount */

void resultEx(const char* phase, acclResult_t code, double t0, acclComm_t comm, long wrong, long guard) {
  faultResultLine(phase, code, t0, comm, wrong, guard, NULL);
}

void result(const char* phase, acclResult_t code, double t0, acclComm_t comm, long wrong) {
  resultEx(phase, code, t0, comm, wrong, 0);
}

void finishFailed(acclComm_t comm) {
  const char* fin = getenv("FAULT_FINISH");
  acclResult_t r;
  PHASE(r, "destroy", fin && !strcmp(fin, "destroy") ? acclCommDestroy(comm) : acclCommAbort(comm));
}

void finishComm(acclComm_t comm, acclResult_t r) {
  PHASE(r, "destroy", r == acclSuccess ? acclCommDestroy(comm) : acclCommAbort(comm));
}

/* ------------------------------------------------------------ hygiene */

long rssKb(void) {
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

/* ------------------------------------------------------------ communicators */

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
acclResult_t initComm(int gen, acclComm_t* comm, const char* phase) {
  double t0 = now();
  acclUniqueId id;
  const char* pinned = getenv("ACCL_COMM_ID");
  int pinnedRoot = pinned && *pinned;
  char path[4096];
  if (strlen(idFile) > 4000) exit(2);
  faultIdPath(gen, path, sizeof(path));
  if (pinnedRoot || rank == 0) {
    acclResult_t r = acclGetUniqueId(&id);
    if (r != acclSuccess) {
      result(phase, r, t0, NULL, 0);
      return r;
    }
    if (!pinnedRoot && faultWriteId(path, &id) != 0) {
      perror("writing the unique id");
      exit(1);
    }
  } else if (faultReadId(path, &id) != 0) {
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

int countShm(void) {
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

/* ------------------------------------------------------------ main */

static const struct {
  const char* name; /* an OP, or the start of OPs ending in '*' */
  FaultOp run;
} scenarios[] = {
    {"allreduce", loopOp},
    {"allgather", loopOp},
    {"sendrecv", loopOp},
    {"fork-*", loopOp},
    {"mm-*", mismatchOp},
    {"badbuf-*", badBufferOp},
    {"stale-handle", staleHandleOp},
    {"group-destroy", groupDestroyOp},
    {"use-after-destroy", useAfterDestroyOp},
    {"threads", threadsOp},
};

static FaultOp findScenario(const char* op) {
  for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
    size_t n = strlen(scenarios[i].name);
    int prefix = scenarios[i].name[n - 1] == '*';
    if (prefix ? !strncmp(op, scenarios[i].name, n - 1) : !strcmp(op, scenarios[i].name)) return scenarios[i].run;
  }
  return NULL;
}

int main(int argc, char** argv) {
  int rc = faultProcStart(argc, argv, 4, "RANK NRANKS ID_FILE OP [BYTES [ITERS]]");
  if (rc) return rc;
  const char* op = argv[4];
  size_t bytes = argc > 5 ? strtoull(argv[5], NULL, 0) : 1 << 20;
  long iters = argc > 6 ? atol(argv[6]) : 1000000;
  FaultOp run = findScenario(op);
  if (!run && strcmp(op, "init") && strcmp(op, "cycles")) {
    fprintf(stderr, "unknown OP %s\n", op);
    return 2;
  }
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
  if (run) {
    rc = run(op, comm, stream, bytes, iters);
  } else { /* init */
    acclResult_t r;
    PHASE(r, "destroy", acclCommDestroy(comm));
  }
  hygieneReport();
  accStreamDestroy(stream);
  return rc;
}
