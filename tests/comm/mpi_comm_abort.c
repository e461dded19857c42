/* mpi_comm_abort.c - acclCommAbort from a second thread while the first is
 * blocked in acclCommSplit because the last rank stalls (never joins the
 * split): the split returns an error, the abort frees the comm, and the
 * stalled rank can abort its own comm afterwards. Also: abort of an idle comm
 * and use after abort. */
#include <pthread.h>
#include <unistd.h>
#include "mpi_test.h"

typedef struct {
  acclComm_t comm;
  acclComm_t out;
  acclResult_t res;
} splitCall;

static void* splitThread(void* arg) {
  splitCall* c = arg;
  c->res = acclCommSplit(c->comm, 0, 0, &c->out, NULL);
  return NULL;
}

int main(int argc, char** argv) {
  int rank, size;
  mtInitDevice(&argc, &argv, &rank, &size);

  /* abort of an idle comm, then every use is refused */
  acclComm_t idle = NULL;
  MT_ACCL(mtCommInit(&idle, rank, size));
  MT_ACCL(acclCommAbort(idle));
  int n;
  MT_CHECK(acclCommCount(idle, &n) == acclInvalidArgument);
  MT_CHECK(acclCommAbort(idle) == acclInvalidArgument);
  MT_CHECK(acclCommDestroy(idle) == acclInvalidArgument);

  if (size >= 2) {
    acclComm_t comm = NULL;
    MT_ACCL(mtCommInit(&comm, rank, size));
    int stalled = size - 1;
    if (comm && rank != stalled) {
      splitCall call = {comm, (acclComm_t)0x1, acclSuccess};
      pthread_t t;
      pthread_create(&t, NULL, splitThread, &call);
      usleep(500 * 1000); /* let the split block on the stalled rank */
      MT_ACCL(acclCommAbort(comm));
      pthread_join(t, NULL);
      MT_CHECK(call.res != acclSuccess);
      MT_CHECK(call.out == NULL);
      MT_CHECK(acclCommCount(comm, &n) == acclInvalidArgument);
    }
    MPI_Barrier(MPI_COMM_WORLD); /* the stalled rank wakes up: its peers are gone */
    if (comm && rank == stalled) MT_ACCL(acclCommAbort(comm));
  }
  return mtFinish("mpi_comm_abort");
}
