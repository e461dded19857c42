/* test_shrink_dead.c - recovering from a dead rank with acclCommShrink: three
 * processes (a parent and two forked children, no MPI: mpirun would take the
 * job down with the killed rank) run an AllReduce; rank 2 is SIGKILLed while
 * the others wait in the next one, which fails. The survivors shrink the
 * communicator excluding rank 2 with ACCL_SHRINK_ABORT, and an AllReduce on
 * the new two-rank communicator gives the right sums; then they destroy it
 * and abort the old one. Also: a shrink with ACCL_SHRINK_ABORT right after a
 * rank died between collectives (no outstanding work). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "acc_ccl.h"

#define CHECK(c)                                                                                           \
  do {                                                                                                     \
    if (!(c)) {                                                                                            \
      fprintf(stderr, "rank %d: %s:%d: check failed: %s (last error: %s)\n", rank, __FILE__, __LINE__, #c, \
              acclGetLastError(NULL));                                                                     \
      return 1;                                                                                            \
    }                                                                                                      \
  } while (0)

#define NRANKS 3
static int rank;
static int donePipe[2]; /* survivors tell the victim they finished the first AllReduce */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* buf = (rank + 1) everywhere, AllReduce, expect the sum over `ranks` of (old rank + 1). */
static int allreduceCheck(acclComm_t comm, accStream_t s, float* dbuf, float* h, size_t n, float want) {
  for (size_t i = 0; i < n; i++) h[i] = (float)(rank + 1);
  if (accMemcpy(dbuf, h, n * sizeof(float), accMemcpyHostToDevice) != accSuccess) return -1;
  if (acclAllReduce(dbuf, dbuf, n, acclFloat32, acclSum, comm, s) != acclSuccess) return -1;
  if (accStreamSynchronize(s) != accSuccess) return -1;
  if (accMemcpy(h, dbuf, n * sizeof(float), accMemcpyDeviceToHost) != accSuccess) return -1;
  for (size_t i = 0; i < n; i++)
    if (h[i] != want) {
      fprintf(stderr, "rank %d: [%zu] = %g, want %g\n", rank, i, h[i], want);
      return -1;
    }
  return 0;
}

/* idle: the victim dies between collectives; else during one. */
static int scenario(int idle, const acclUniqueId* id) {
  size_t n = 1 << 18;
  accSetDevice(rank);
  acclComm_t comm, small = NULL;
  CHECK(acclCommInitRank(&comm, NRANKS, *id, rank) == acclSuccess);
  float *dbuf, *h = malloc(n * sizeof(float));
  accStream_t s;
  CHECK(h != NULL);
  CHECK(accMalloc((void**)&dbuf, n * sizeof(float)) == accSuccess);
  CHECK(accStreamCreate(&s) == accSuccess);
  CHECK(allreduceCheck(comm, s, dbuf, h, n, 6.0f) == 0); /* the three work */
  if (rank == NRANKS - 1) {
    /* only once the others have their results too: data in flight to them is not lost */
    char c;
    for (int k = 0; k < NRANKS - 1; k++)
      if (read(donePipe[0], &c, 1) != 1) return 1;
    usleep(idle ? 0 : 300 * 1000);
    kill(getpid(), SIGKILL);
  }
  CHECK(write(donePipe[1], "x", 1) == 1);
  if (idle) {
    usleep(500 * 1000); /* it is dead before the survivors call the library again */
  } else {
    double t0 = now();
    CHECK(acclAllReduce(dbuf, dbuf, n, acclFloat32, acclSum, comm, s) == acclSuccess);
    accError_t e = accStreamSynchronize(s);
    CHECK(e != accSuccess); /* the victim never took part */
    CHECK(now() - t0 < 30.0);
  }
  int dead = NRANKS - 1;
  double t0 = now();
  acclResult_t r = acclCommShrink(comm, &dead, 1, &small, NULL, ACCL_SHRINK_ABORT);
  printf("rank %d (%s): acclCommShrink -> %s after %.2f s\n", rank, idle ? "idle" : "in a collective",
         acclGetErrorString(r), now() - t0);
  fflush(stdout);
  CHECK(r == acclSuccess);
  CHECK(small != NULL);
  int cnt = 0, me = -1;
  CHECK(acclCommCount(small, &cnt) == acclSuccess && cnt == NRANKS - 1);
  CHECK(acclCommUserRank(small, &me) == acclSuccess && me == rank);
  accStream_t s2;
  CHECK(accStreamCreate(&s2) == accSuccess);
  CHECK(allreduceCheck(small, s2, dbuf, h, n, 3.0f) == 0); /* 1 + 2 */
  CHECK(allreduceCheck(small, s2, dbuf, h, 7, 3.0f) == 0);
  CHECK(acclCommDestroy(small) == acclSuccess);
  CHECK(acclCommAbort(comm) == acclSuccess);
  accStreamDestroy(s2);
  accStreamDestroy(s);
  accFree(dbuf);
  free(h);
  return 0;
}

static int runOnce(int idle) {
  acclUniqueId id;
  int fds[NRANKS][2];
  pid_t pids[NRANKS] = {0};
  for (int r = 1; r < NRANKS; r++)
    if (pipe(fds[r]) != 0) return 1;
  if (pipe(donePipe) != 0) return 1;
  /* fork before the library starts any thread; the id travels through pipes */
  for (int r = 1; r < NRANKS; r++) {
    pids[r] = fork();
    if (pids[r] < 0) return 1;
    if (pids[r] == 0) {
      rank = r;
      if (read(fds[r][0], &id, sizeof(id)) != (ssize_t)sizeof(id)) _exit(1);
      _exit(scenario(idle, &id));
    }
  }
  rank = 0;
  CHECK(acclGetUniqueId(&id) == acclSuccess);
  for (int r = 1; r < NRANKS; r++) CHECK(write(fds[r][1], &id, sizeof(id)) == (ssize_t)sizeof(id));
  int failed = scenario(idle, &id);
  for (int r = 1; r < NRANKS; r++) {
    int status = 0;
    waitpid(pids[r], &status, 0);
    if (r == NRANKS - 1)
      CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "rank %d failed (status 0x%x)\n", r, status);
      failed = 1;
    }
  }
  return failed;
}

int main(int argc, char** argv) {
  setenv("ACCL_TIMEOUT", "20", 0);
  /* each scenario in a child of its own: a process that ran the library does not fork ranks */
  for (int idle = 0; idle < 2; idle++) {
    if (argc > 1 && atoi(argv[1]) != idle) continue;
    pid_t p = fork();
    if (p == 0) _exit(runOnce(idle));
    int status = 0;
    waitpid(p, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "scenario %s: FAILED\n", idle ? "idle" : "in a collective");
      return 1;
    }
  }
  printf("PASS\n");
  return 0;
}
