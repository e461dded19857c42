/* mpi_abort_wait.c - two things about waiting for a late peer:
 *  1. a rank that waits 2 s in a collective for a late peer uses under 10%
 *     of a core (engines and waiting threads sleep);
 *  2. acclCommAbort from another thread while a collective waits for a peer
 *     that never comes: the collective fails, the abort returns, nothing hangs. */
#include <pthread.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "../lib/mpi_test.h"

static double cpuSeconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru); /* every thread of the process, engines included */
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static double wallSeconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void* abortLater(void* arg) {
  usleep(1000 * 1000);
  acclResult_t r = acclCommAbort((acclComm_t)arg);
  return (void*)(intptr_t)r;
}

int main(int argc, char** argv) {
  int rank, nranks;
  mtInitDevice(&argc, &argv, &rank, &nranks);
  size_t n = 4096;
  float* buf;
  MT_ACC(accMalloc((void**)&buf, n * sizeof(float)));
  accStream_t s;
  MT_ACC(accStreamCreate(&s));
  acclComm_t comm;
  MT_ACCL(mtCommInit(&comm, rank, nranks));
  if (nranks >= 2) {
    /* 1. the last rank arrives 2 s late; the others measure their CPU use */
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == nranks - 1) sleep(2);
    double c0 = cpuSeconds(), w0 = wallSeconds();
    MT_ACCL(acclAllReduce(buf, buf, n, acclFloat32, acclSum, comm, s));
    MT_ACC(accStreamSynchronize(s));
    double cpu = cpuSeconds() - c0, wall = wallSeconds() - w0;
    if (rank != nranks - 1) {
      printf("rank %d waited %.2f s for a late peer using %.3f s of CPU (%.1f%% of a core)\n", rank, wall, cpu,
             100 * cpu / wall);
      MT_CHECK(wall > 1.5);
      MT_CHECK(cpu < 0.10 * wall);
    }
    /* 2. the last rank never joins; the others abort from a second thread */
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank != nranks - 1) {
      pthread_t th;
      pthread_create(&th, NULL, abortLater, comm);
      MT_ACCL(acclAllReduce(buf, buf, n, acclFloat32, acclSum, comm, s));
      accError_t e = accStreamSynchronize(s);
      MT_CHECK(e != accSuccess); /* the aborted collective failed */
      void* ret;
      pthread_join(th, &ret);
      MT_CHECK((acclResult_t)(intptr_t)ret == acclSuccess);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == nranks - 1) MT_ACCL(acclCommAbort(comm));
  } else {
    MT_ACCL(acclCommDestroy(comm));
  }
  accStreamDestroy(s);
  accFree(buf);
  return mtFinish("mpi_abort_wait");
}
