/* test_dead_peer.c - a peer process killed (SIGKILL) in the middle of a
 * collective: the survivor's stream synchronisation and
 * acclCommGetAsyncError report an error within ACCL_TIMEOUT, and
 * acclCommAbort then frees everything. No MPI: the peer is a forked child
 * (mpirun would take the whole job down with the killed rank). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "acc_ccl.h"
#include "check.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int allreduceOnce(acclComm_t comm, accStream_t s, float* buf, size_t n) {
  if (acclAllReduce(buf, buf, n, acclFloat32, acclSum, comm, s) != acclSuccess) return -1;
  return accStreamSynchronize(s) == accSuccess ? 0 : -1;
}

int main(void) {
  setenv("ACCL_TIMEOUT", "20", 0);
  acclUniqueId id;
  size_t n = 1 << 20;
  /* fork before the library starts any thread; the id travels through a pipe */
  int fds[2];
  CHECK(pipe(fds) == 0);
  pid_t child = fork();
  CHECK(child >= 0);
  int rank = child == 0 ? 1 : 0;
  if (child == 0) {
    if (read(fds[0], &id, sizeof(id)) != (ssize_t)sizeof(id)) _exit(1);
  } else {
    CHECK(acclGetUniqueId(&id) == acclSuccess);
    CHECK(write(fds[1], &id, sizeof(id)) == (ssize_t)sizeof(id));
  }
  accSetDevice(rank);
  acclComm_t comm;
  if (acclCommInitRank(&comm, 2, id, rank) != acclSuccess) {
    fprintf(stderr, "rank %d: init failed: %s\n", rank, acclGetLastError(NULL));
    if (child == 0) _exit(1);
    return 1;
  }
  float* buf;
  accStream_t s;
  CHECK(accMalloc((void**)&buf, n * sizeof(float)) == accSuccess);
  CHECK(accStreamCreate(&s) == accSuccess);
  CHECK(allreduceOnce(comm, s, buf, n) == 0); /* the pair works */
  if (child == 0) {
    /* die without a word while the parent waits in the next collective */
    usleep(300 * 1000);
    kill(getpid(), SIGKILL);
  }
  double t0 = now();
  CHECK(acclAllReduce(buf, buf, n, acclFloat32, acclSum, comm, s) == acclSuccess);
  accError_t e = accStreamSynchronize(s);
  double waited = now() - t0;
  acclResult_t async = acclSuccess;
  CHECK(acclCommGetAsyncError(comm, &async) == acclSuccess);
  printf("survivor: stream sync -> %s after %.2f s, async error %s\n", accGetErrorString(e), waited,
         acclGetErrorString(async));
  CHECK(e != accSuccess);
  CHECK(async == acclRemoteError || async == acclSystemError);
  CHECK(waited < 20.0);
  CHECK(acclCommAbort(comm) == acclSuccess);
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  accStreamDestroy(s);
  accFree(buf);
  printf("PASS\n");
  return 0;
}
