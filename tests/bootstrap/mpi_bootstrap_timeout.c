/* mpi_bootstrap_timeout.c - every rank inits a communicator of size+1 ranks,
 * so rank `size` never arrives. With ACCL_BOOTSTRAP_TIMEOUT=3 each init must
 * return acclTimeout (not hang), name the missing rank in the last error,
 * and leave no thread or file descriptor behind. Then a normal init works. */
#include <stdlib.h>
#include <unistd.h>
#include "mpi_test.h"
#include "proc_sockets.h"

int main(int argc, char** argv) {
  setenv("ACCL_BOOTSTRAP_TIMEOUT", "3", 1); /* before the library reads it */
  int rank, size;
  mtInit(&argc, &argv, &rank, &size);
  int ndev = 0;
  MT_ACC(accGetDeviceCount(&ndev));
  if (ndev > 0) MT_ACC(accSetDevice(rank % ndev));
  /* settle lazily created resources (device runtime, interface choice) first */
  acclComm_t warm = NULL;
  MT_ACCL(mtCommInit(&warm, rank, size));
  if (warm) MT_ACCL(acclCommDestroy(warm));
  MPI_Barrier(MPI_COMM_WORLD);

  int threads0 = procThreadCount(), fds0 = procFdCount();
  acclUniqueId id;
  acclResult_t r = acclSuccess;
  if (rank == 0) r = acclGetUniqueId(&id);
  MPI_Bcast(&r, sizeof(r), MPI_BYTE, 0, MPI_COMM_WORLD);
  MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD);
  acclComm_t comm = (acclComm_t)0x1;
  double t0 = MPI_Wtime();
  r = acclCommInitRank(&comm, size + 1, id, rank);
  double dt = MPI_Wtime() - t0;
  MT_CHECK(r == acclTimeout);
  MT_CHECK(comm == NULL);
  /* functional bound only: it gave up by itself, well before the test timeout */
  MT_CHECK(dt >= 2.0 && dt < 60.0);
  char want[32];
  snprintf(want, sizeof(want), "%d of %d did not arrive", size, size + 1);
  MT_CHECK(strstr(acclGetLastError(NULL), want) != NULL);
  if (strstr(acclGetLastError(NULL), want) == NULL)
    fprintf(stderr, "[rank %d] last error: %s\n", rank, acclGetLastError(NULL));
  int threads1 = procThreadCount(), fds1 = procFdCount();
  MT_CHECK(threads1 == threads0);
  MT_CHECK(fds1 == fds0);
  if (threads1 != threads0 || fds1 != fds0)
    fprintf(stderr, "[rank %d] threads %d -> %d, fds %d -> %d\n", rank, threads0, threads1, fds0, fds1);

  /* nothing is left in a bad state: a complete communicator still forms */
  MPI_Barrier(MPI_COMM_WORLD);
  acclComm_t ok = NULL;
  MT_ACCL(mtCommInit(&ok, rank, size));
  if (ok) MT_ACCL(acclCommDestroy(ok));
  return mtFinish("mpi_bootstrap_timeout");
}
