/* mpi_test.h - tiny helpers for multi-process tests: checks that report the
 * rank and location, and a whole-job verdict. Header-only. */
#ifndef ACCL_MPI_TEST_H_
#define ACCL_MPI_TEST_H_

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "acc_ccl.h"

static int mpiTestFailures;
static int mpiTestRank;

/* A failed check: where, which rank, and what (printf arguments). */
#define MT_FAIL(...)                                                       \
  do {                                                                     \
    fprintf(stderr, "[rank %d] %s:%d: ", mpiTestRank, __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__);                                          \
    mpiTestFailures++;                                                     \
  } while (0)

#define MT_CHECK(cond)                                 \
  do {                                                 \
    if (!(cond)) MT_FAIL("check failed: %s\n", #cond); \
  } while (0)

#define MT_ACCL(call)                                                                                               \
  do {                                                                                                              \
    acclResult_t mt_r_ = (call);                                                                                    \
    if (mt_r_ != acclSuccess) MT_FAIL("%s -> %s (%s)\n", #call, acclGetErrorString(mt_r_), acclGetLastError(NULL)); \
  } while (0)

#define MT_ACC(call)                                                                 \
  do {                                                                               \
    accError_t mt_e_ = (call);                                                       \
    if (mt_e_ != accSuccess) MT_FAIL("%s -> %s\n", #call, accGetErrorString(mt_e_)); \
  } while (0)

static inline void mtInit(int* argc, char*** argv, int* rank, int* size) {
  MPI_Init(argc, argv);
  MPI_Comm_rank(MPI_COMM_WORLD, rank);
  MPI_Comm_size(MPI_COMM_WORLD, size);
  mpiTestRank = *rank;
}

/* The prologue of most tests: mtInit, then this rank's device (rank modulo
 * the devices there are). */
static inline void mtInitDevice(int* argc, char*** argv, int* rank, int* size) {
  mtInit(argc, argv, rank, size);
  int ndev = 0;
  MT_ACC(accGetDeviceCount(&ndev));
  MT_CHECK(ndev > 0);
  if (ndev > 0) MT_ACC(accSetDevice(*rank % ndev));
}

/* Everyone agrees on pass/fail; rank 0 prints one line. Returns the exit code. */
static inline int mtFinish(const char* name) {
  int total = 0;
  MPI_Allreduce(&mpiTestFailures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (mpiTestRank == 0) printf("%s np=%d: %s (%d failed checks)\n", name, size, total ? "FAIL" : "PASS", total);
  MPI_Finalize();
  return total ? 1 : 0;
}

/* A communicator over MPI_COMM_WORLD's ranks on the current device. */
static inline acclResult_t mtCommInit(acclComm_t* comm, int rank, int size) {
  acclUniqueId id;
  acclResult_t r = acclSuccess;
  if (rank == 0) r = acclGetUniqueId(&id);
  MPI_Bcast(&r, sizeof(r), MPI_BYTE, 0, MPI_COMM_WORLD);
  if (r != acclSuccess) return r;
  MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD);
  return acclCommInitRank(comm, size, id, rank);
}

#endif
