/* mpi_ll_order.c - the one-shot LL AllReduce interleaved with collectives
 * that do not wait for every peer.
 *
 * The LL inbox a peer writes into must not be overwritten before this rank
 * has read it. A rank that finishes an LL AllReduce, then a collective that
 * returns without waiting for its peers (the root of a Broadcast, a
 * non-root of a Reduce, a Send), then another LL AllReduce, runs ahead of a
 * peer still inside the first one. Patterns, ITERS times each (the rank
 * that runs ahead arrives late, so that the other waits inside the first
 * AllReduce when it comes):
 *  bcast   AllReduce(8 B); Broadcast(root r); AllReduce(8 B); the root is late
 *  reduce  AllReduce(8 B); Reduce(root r); AllReduce(8 B); a non-root is late
 *  send    AllReduce(8 B); rank 0 sends to the last rank; AllReduce(8 B)
 *  mixed   LL AllReduces of other sizes between non-waiting collectives
 * Every result is checked; a hang is an ACCL_TIMEOUT failure (the script
 * sets a short one). */
#include <stdint.h>
#include <unistd.h>
#include "../lib/mpi_test.h"

static int rank, nranks;
static accStream_t stream;
static acclComm_t comm;

/* sync, reporting a failure with the library's text */
static int syncOk(const char* what, int iter) {
  accError_t e = accStreamSynchronize(stream);
  if (e == accSuccess) return 1;
  acclResult_t async = acclSuccess;
  acclCommGetAsyncError(comm, &async);
  fprintf(stderr, "[rank %d] %s, iteration %d: stream failed (%s): %s %s\n", rank, what, iter, accGetErrorString(e),
          acclGetErrorString(async), acclGetLastError(comm));
  mpiTestFailures++;
  return 0;
}

static void checkFloats(const char* what, int iter, const float* dev, size_t n, float want) {
  float host[64];
  MT_ACC(accMemcpy(host, dev, n * sizeof(float), accMemcpyDeviceToHost));
  for (size_t i = 0; i < n; i++)
    if (host[i] != want) {
      fprintf(stderr, "[rank %d] %s, iteration %d: element %zu is %g, expected %g\n", rank, what, iter, i, host[i],
              want);
      mpiTestFailures++;
      return;
    }
}

static void fillFloats(float* dev, size_t n, float base) {
  float host[64];
  for (size_t i = 0; i < n; i++) host[i] = base;
  MT_ACC(accMemcpy(dev, host, n * sizeof(float), accMemcpyHostToDevice));
}

int main(int argc, char** argv) {
  mtInit(&argc, &argv, &rank, &nranks);
  int iters = argc > 1 ? atoi(argv[1]) : 30;
  int ndev = 1;
  accGetDeviceCount(&ndev);
  MT_ACC(accSetDevice(rank % ndev));
  MT_ACC(accStreamCreate(&stream));
  MT_ACCL(mtCommInit(&comm, rank, nranks));
  if (nranks < 2) {
    acclCommDestroy(comm);
    return mtFinish("mpi_ll_order");
  }
  float *a, *b, *c, *x;
  MT_ACC(accMalloc((void**)&a, 64 * sizeof(float)));
  MT_ACC(accMalloc((void**)&b, 64 * sizeof(float)));
  MT_ACC(accMalloc((void**)&c, 64 * sizeof(float)));
  MT_ACC(accMalloc((void**)&x, 64 * sizeof(float)));
  const float sumRanks = (float)(nranks * (nranks - 1) / 2);
  const char* patterns[] = {"bcast", "reduce", "send", "mixed"};
  for (int p = 0; p < 4 && mpiTestFailures == 0; p++) {
    const char* pat = patterns[p];
    for (int it = 0; it < iters && mpiTestFailures == 0; it++) {
      int root = it % nranks;
      int late = !strcmp(pat, "reduce") ? (root + 1) % nranks : !strcmp(pat, "send") ? 0 : root;
      size_t n1 = 2, n2 = !strcmp(pat, "mixed") ? (size_t)(1 + it % 16) : 2;
      MPI_Barrier(MPI_COMM_WORLD);
      if (rank == late) usleep(20000); /* the others wait inside the first AllReduce */
      fillFloats(a, n1, (float)rank);
      fillFloats(c, n2, (float)(2 * rank));
      int src = !strcmp(pat, "send") ? 0 : root;
      fillFloats(x, 8, rank == src ? 7.0f : -1.0f);
      MT_ACCL(acclAllReduce(a, b, n1, acclFloat32, acclSum, comm, stream));
      if (!strcmp(pat, "bcast") || !strcmp(pat, "mixed")) {
        MT_ACCL(acclBroadcast(x, x, 8, acclFloat32, root, comm, stream));
      } else if (!strcmp(pat, "reduce")) {
        MT_ACCL(acclReduce(x, x, 8, acclFloat32, acclMax, root, comm, stream));
      } else if (rank == 0) {
        MT_ACCL(acclSend(x, 8, acclFloat32, nranks - 1, comm, stream));
      } else if (rank == nranks - 1) {
        MT_ACCL(acclRecv(x, 8, acclFloat32, 0, comm, stream));
      }
      MT_ACCL(acclAllReduce(c, c, n2, acclFloat32, acclSum, comm, stream));
      if (!syncOk(pat, it)) break;
      checkFloats(pat, it, b, n1, sumRanks);
      checkFloats(pat, it, c, n2, 2 * sumRanks);
      int xOut = !strcmp(pat, "send") ? rank == nranks - 1 : !strcmp(pat, "reduce") ? rank == root : 1;
      if (xOut) checkFloats(pat, it, x, 8, 7.0f);
    }
    if (rank == 0) printf("pattern %s: %d iterations done\n", pat, iters);
  }
  accFree(a);
  accFree(b);
  accFree(c);
  accFree(x);
  if (mpiTestFailures) {
    acclCommAbort(comm);
  } else {
    MT_ACCL(acclCommDestroy(comm));
  }
  accStreamDestroy(stream);
  return mtFinish("mpi_ll_order");
}
