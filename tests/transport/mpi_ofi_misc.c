/* mpi_ofi_misc.c - the ofi transport's contract around the data path
 * (run with ACCL_TRANSPORT=ofi):
 *  - `badprov`: a provider named by ACCL_OFI_PROVIDER that does not exist fails
 *    communicator creation with a clear error naming it, on every rank;
 *  - `badproto`: ACCL_OFI_PROTOCOL set to something that is no protocol is
 *    warned about (variable, value, what is used: auto), as every bad
 *    parameter is, and the communicator works;
 *  - otherwise, buffers allocated and freed between calls (the registration
 *    cache of zero-copy sends), then fork after init (data-loader workers): the child runs on its own and
 *    exits without touching the communicator, while the parent keeps running
 *    collectives over the network; the results stay exact. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mpi_test.h"

static void allreduceCheck(acclComm_t comm, accStream_t stream, int rank, int size, size_t n) {
  float* h = malloc(n * sizeof(float));
  float* d = NULL;
  MT_ACC(accMalloc((void**)&d, n * sizeof(float)));
  for (size_t i = 0; i < n; i++) h[i] = (float)(rank + (int)(i % 5));
  MT_ACC(accMemcpy(d, h, n * sizeof(float), accMemcpyHostToDevice));
  MT_ACCL(acclAllReduce(d, d, n, acclFloat32, acclSum, comm, stream));
  MT_ACC(accStreamSynchronize(stream));
  MT_ACC(accMemcpy(h, d, n * sizeof(float), accMemcpyDeviceToHost));
  long wrong = 0;
  for (size_t i = 0; i < n; i++) {
    float want = (float)(size * (size - 1) / 2 + size * (int)(i % 5));
    if (h[i] != want) wrong++;
  }
  MT_CHECK(wrong == 0);
  accFree(d);
  free(h);
}

int main(int argc, char** argv) {
  int rank, size;
  mtInit(&argc, &argv, &rank, &size);
  MT_ACC(accSetDevice(0));

  if (argc > 1 && strcmp(argv[1], "badprov") == 0) {
    /* run with ACCL_OFI_PROVIDER=no-such-provider: a clear error, no fallback */
    acclComm_t bad = NULL;
    acclResult_t r = mtCommInit(&bad, rank, size);
    MT_CHECK(r != acclSuccess);
    MT_CHECK(bad == NULL);
    MT_CHECK(strstr(acclGetLastError(NULL), "no-such-provider") != NULL);
    return mtFinish("mpi_ofi_misc badprov");
  }
  if (argc > 1 && strcmp(argv[1], "badproto") == 0) {
    acclComm_t comm = NULL;
    MT_ACCL(mtCommInit(&comm, rank, size));
    MT_CHECK(strstr(acclGetLastError(NULL),
                    "ACCL_OFI_PROTOCOL=carrier-pigeon is not one of auto, rma, tagged; using "
                    "auto") != NULL);
    accStream_t stream;
    MT_ACC(accStreamCreate(&stream));
    allreduceCheck(comm, stream, rank, size, 100000);
    MT_ACCL(acclCommDestroy(comm));
    return mtFinish("mpi_ofi_misc badproto");
  }

  /* 2. fork after init */
  acclComm_t comm = NULL;
  MT_ACCL(mtCommInit(&comm, rank, size));
  accStream_t stream;
  MT_ACC(accStreamCreate(&stream));
  allreduceCheck(comm, stream, rank, size, 300000);
  /* buffers come and go: zero-copy sends register each one once and the
   * cache forgets it at accFree (the next allocation may reuse the address) */
  for (int i = 0; i < 8; i++) allreduceCheck(comm, stream, rank, size, 200000 + (size_t)i * 4099);
  pid_t child = fork();
  if (child == 0) {
    /* a data-loader worker: touches its own memory, never the communicator */
    size_t n = 1 << 20;
    char* p = malloc(n);
    for (size_t i = 0; i < n; i += 4096) p[i] = (char)i;
    usleep(200 * 1000);
    free(p);
    _exit(0);
  }
  MT_CHECK(child > 0);
  allreduceCheck(comm, stream, rank, size, 300000); /* while the child lives */
  int st = 0;
  if (child > 0) waitpid(child, &st, 0);
  MT_CHECK(child > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  allreduceCheck(comm, stream, rank, size, 1000); /* and after it is gone */
  MT_ACC(accStreamDestroy(stream));
  MT_ACCL(acclCommDestroy(comm));
  return mtFinish("mpi_ofi_misc");
}
