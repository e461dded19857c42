/* mpi_ref.c - the MPI reference: the perf driver over MPI collectives.
 * --coll selects the collective; flags and output are those of the acc-ccl tools. */
#include "common.h"

int main(int argc, char** argv) { return perfMain(argc, argv, NULL, &perfBackendMpi, 1); }
