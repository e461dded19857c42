/* mpi_comm_init.c - communicators over all ranks: init / query / destroy in a
 * loop, two live at once, use after destroy refused, and acclCommInitAll
 * (several devices in one process) on each rank. */
#include <unistd.h>
#include "mpi_test.h"

static void selectDevice(int rank) {
  int ndev = 0;
  MT_ACC(accGetDeviceCount(&ndev));
  if (ndev > 0) MT_ACC(accSetDevice(rank % ndev));
}

static void checkComm(acclComm_t comm, int rank, int size) {
  int n = -1, r = -1, d = -1, cur = -2;
  acclResult_t async = acclInternalError;
  MT_ACCL(acclCommCount(comm, &n));
  MT_ACCL(acclCommUserRank(comm, &r));
  MT_ACCL(acclCommDevice(comm, &d));
  MT_ACCL(acclCommGetAsyncError(comm, &async));
  MT_ACC(accGetDevice(&cur));
  MT_CHECK(n == size);
  MT_CHECK(r == rank);
  MT_CHECK(d == cur);
  MT_CHECK(async == acclSuccess);
}

int main(int argc, char** argv) {
  int rank, size;
  mtInit(&argc, &argv, &rank, &size);
  selectDevice(rank);

  for (int iter = 0; iter < 3; iter++) {
    acclComm_t comm = NULL;
    MT_ACCL(mtCommInit(&comm, rank, size));
    if (comm == NULL) break;
    checkComm(comm, rank, size);
    MT_ACCL(acclCommDestroy(comm));
    int n;
    MT_CHECK(acclCommCount(comm, &n) == acclInvalidArgument);
    MT_CHECK(strstr(acclGetLastError(NULL), "destroyed") != NULL);
  }

  /* Two communicators alive together, destroyed in the other order. */
  acclComm_t a = NULL, b = NULL;
  MT_ACCL(mtCommInit(&a, rank, size));
  MT_ACCL(mtCommInit(&b, rank, size));
  if (a && b) {
    MT_CHECK(a != b);
    checkComm(a, rank, size);
    checkComm(b, rank, size);
    MT_ACCL(acclCommDestroy(a));
    checkComm(b, rank, size);
    MT_ACCL(acclCommDestroy(b));
  }

  /* acclCommInitAll: every rank builds its own in-process communicators. */
  int ndev = 0;
  MT_ACC(accGetDeviceCount(&ndev));
  int nall = ndev < 3 ? ndev : 3;
  if (nall >= 1) {
    acclComm_t comms[3] = {NULL, NULL, NULL};
    MT_ACCL(acclCommInitAll(comms, nall, NULL));
    for (int i = 0; i < nall; i++) {
      int n = -1, r = -1, d = -1;
      MT_ACCL(acclCommCount(comms[i], &n));
      MT_ACCL(acclCommUserRank(comms[i], &r));
      MT_ACCL(acclCommDevice(comms[i], &d));
      MT_CHECK(n == nall && r == i && d == i);
    }
    for (int i = 0; i < nall; i++) MT_ACCL(acclCommDestroy(comms[i]));
    if (nall >= 2) { /* an explicit device list, reversed */
      int devs[2] = {1, 0};
      MT_ACCL(acclCommInitAll(comms, 2, devs));
      int d0 = -1, d1 = -1;
      MT_ACCL(acclCommDevice(comms[0], &d0));
      MT_ACCL(acclCommDevice(comms[1], &d1));
      MT_CHECK(d0 == 1 && d1 == 0);
      MT_ACCL(acclCommDestroy(comms[0]));
      MT_ACCL(acclCommDestroy(comms[1]));
    }
  }
  return mtFinish("mpi_comm_init");
}
