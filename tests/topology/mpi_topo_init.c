/* mpi_topo_init.c - create and destroy a communicator over MPI_COMM_WORLD;
 * the topology module plans it and (with ACCL_GRAPH_DUMP_FILE /
 * ACCL_TOPO_DUMP_FILE) writes its rings, trees and node description, which
 * topo_hier.sh checks afterwards. */
#include "mpi_test.h"

int main(int argc, char** argv) {
  int rank, size;
  mtInit(&argc, &argv, &rank, &size);
  /* One device per rank of a "node" (TOPO_TEST_PPN ranks; default all), so rings run over device links. */
  const char* ppnEnv = getenv("TOPO_TEST_PPN");
  int ppn = ppnEnv ? atoi(ppnEnv) : size, ndev = 0;
  MT_ACC(accGetDeviceCount(&ndev));
  if (ppn > 0 && ndev > 0) MT_ACC(accSetDevice((rank % ppn) % ndev));
  acclComm_t comm = NULL;
  MT_ACCL(mtCommInit(&comm, rank, size));
  if (comm) MT_ACCL(acclCommDestroy(comm));
  return mtFinish("mpi_topo_init");
}
