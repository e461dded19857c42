/* pkgconfig_prog.c - built against an installed acc-ccl with only
 * `pkg-config --cflags --libs acc-ccl` (and MPI to launch): creates and
 * destroys a communicator over all ranks. */
#include <mpi.h>
#include <stdio.h>
#include <acc_ccl.h>

int main(int argc, char** argv) {
  int rank, size, bad = 0;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  acclUniqueId id;
  if (rank == 0 && acclGetUniqueId(&id) != acclSuccess) bad = 1;
  MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD);
  acclComm_t comm;
  acclResult_t r = acclCommInitRank(&comm, size, id, rank);
  int n = 0;
  if (r != acclSuccess) {
    fprintf(stderr, "rank %d: acclCommInitRank: %s\n", rank, acclGetLastError(NULL));
    bad = 1;
  } else {
    if (acclCommCount(comm, &n) != acclSuccess || n != size) bad = 1;
    if (acclCommDestroy(comm) != acclSuccess) bad = 1;
  }
  int total = 0;
  MPI_Allreduce(&bad, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) printf("pkg-config program np=%d: %s\n", size, total ? "FAIL" : "PASS");
  MPI_Finalize();
  return total ? 1 : 0;
}
