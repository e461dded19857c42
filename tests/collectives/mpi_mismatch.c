/* mpi_mismatch.c - mismatched calls are reported, never hung on or read past.
 *
 * For each kind, on a fresh communicator: one matching AllReduce, then a
 * call in which the last rank (or every rank, for count) disagrees:
 *  count   AllReduce, rank r passes COUNT * (n - r) / n elements
 *  near    AllReduce, the last rank passes COUNT + 256 elements (at 16384
 *          floats: 64 KiB against 65 KiB, the sizes two threads of the
 *          threads fault scenario call with; issue 22 B11)
 *  dtype   AllReduce, the last rank int32, the others float32
 *  op      AllReduce, the last rank max, the others sum
 *  root    Broadcast, the last rank root 0, the others root 1 (not the other
 *          way round: at np 2 both ranks would be roots, and two roots
 *          exchange nothing in a chain: no rank can see the other's call)
 *  roots   Broadcast, every rank says it is the root itself (np 2 with a
 *          chain: nobody receives, each rank can only see the other's call
 *          in its published signature)
 *  coll    the last rank AllGather (COUNT / n), the others AllReduce
 *  p2p     rank 0 sends COUNT to rank 1, which receives COUNT / 2
 * Every rank's buffers are exactly its own call's size. Checked: no rank
 * succeeds where its peers' calls reached it with another signature; every
 * rank that fails returns acclInvalidUsage, within ACCL_TIMEOUT / 2, with a
 * text that names this rank's call and the peer's; the receiver of p2p
 * always fails so, and where MM_STRICT=1 (one node) every rank fails so in
 * every collective kind (a rank that receives nothing from the peer that
 * disagrees, a Broadcast root, waits for every peer's published signature
 * before it succeeds; a sender need not). With ACCL_CHECK_MISMATCH=0
 * (argument "sizes"): only the kinds that change sizes must fail, and none
 * may hang. The script forces each algorithm and protocol (ACCL_ALGO,
 * ACCL_PROTO). */
#include <time.h>
#include "../lib/mpi_test.h"

static int rank, nranks;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char* funcOf(const char* kind, int last) {
  if (!strcmp(kind, "root") || !strcmp(kind, "roots")) return "Broadcast";
  if (!strcmp(kind, "coll") && last) return "AllGather";
  if (!strcmp(kind, "p2p")) return rank == 1 ? "Recv" : "Send";
  return "AllReduce";
}

int main(int argc, char** argv) {
  mtInit(&argc, &argv, &rank, &nranks);
  int sizesOnly = argc > 1 && !strcmp(argv[1], "sizes");
  size_t count = argc > 2 ? (size_t)atol(argv[2]) : 1024;
  const char* strictEnv = getenv("MM_STRICT");
  int strict = strictEnv && atoi(strictEnv);
  const char* toEnv = getenv("ACCL_TIMEOUT");
  double limit = (toEnv ? atof(toEnv) : 300) / 2;
  int ndev = 1;
  accGetDeviceCount(&ndev);
  MT_ACC(accSetDevice(rank % ndev));
  const char* kinds[] = {"count", "near", "dtype", "op", "root", "roots", "coll", "p2p"};
  const int nkinds = (int)(sizeof(kinds) / sizeof(kinds[0]));
  const int last = rank == nranks - 1;
  for (int k = 0; k < nkinds && nranks > 1; k++) {
    const char* kind = kinds[k];
    if (sizesOnly && strcmp(kind, "count") && strcmp(kind, "near") && strcmp(kind, "coll") && strcmp(kind, "p2p"))
      continue;
    acclComm_t comm;
    accStream_t stream; /* a fresh one: a failed collective leaves its stream failed */
    MT_ACC(accStreamCreate(&stream));
    MT_ACCL(mtCommInit(&comm, rank, nranks));
    float *send, *recv;
    size_t myCount = count, sendElems, recvElems;
    acclDataType_t dt = acclFloat32;
    acclRedOp_t op = acclSum;
    int root = 0, gather = 0;
    if (!strcmp(kind, "count")) myCount = count * (size_t)(nranks - rank) / (size_t)nranks;
    if (!strcmp(kind, "near") && last) myCount = count + 256;
    if (!strcmp(kind, "dtype") && last) dt = acclInt32;
    if (!strcmp(kind, "op") && last) op = acclMax;
    if (!strcmp(kind, "root")) root = last ? 0 : 1;
    if (!strcmp(kind, "roots")) root = rank;
    if (!strcmp(kind, "coll") && last) gather = 1;
    if (gather) myCount = count / (size_t)nranks;
    if (!strcmp(kind, "p2p") && rank == 1) myCount = count / 2;
    sendElems = myCount;
    recvElems = gather ? myCount * (size_t)nranks : myCount;
    MT_ACC(accMalloc((void**)&send, sendElems * sizeof(float)));
    MT_ACC(accMalloc((void**)&recv, recvElems * sizeof(float)));
    MT_ACC(accMemset(send, 0, sendElems * sizeof(float)));
    /* a matching call first: the communicator works */
    MT_ACCL(acclAllReduce(send, recv, 1, acclFloat32, acclSum, comm, stream));
    MT_ACC(accStreamSynchronize(stream));
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = now();
    acclResult_t r = acclSuccess;
    if (!strcmp(kind, "root") || !strcmp(kind, "roots"))
      r = acclBroadcast(send, recv, myCount, dt, root, comm, stream);
    else if (gather)
      r = acclAllGather(send, recv, myCount, dt, comm, stream);
    else if (!strcmp(kind, "p2p")) {
      if (rank == 0)
        r = acclSend(send, myCount, dt, 1, comm, stream);
      else if (rank == 1)
        r = acclRecv(recv, myCount, dt, 0, comm, stream);
    } else
      r = acclAllReduce(send, recv, myCount, dt, op, comm, stream);
    if (r == acclSuccess && accStreamSynchronize(stream) != accSuccess) acclCommGetAsyncError(comm, &r);
    double secs = now() - t0;
    const char* text = acclGetLastError(comm);
    /* on one node (MM_STRICT) every rank of a mismatched collective fails,
     * the Broadcast roots too (they wait for every peer's signature) */
    int mustFail = !strcmp(kind, "p2p") ? rank == 1 : strict;
    printf("rank %d %s: %s in %.2f s: %s\n", rank, kind, acclGetErrorString(r), secs, r == acclSuccess ? "" : text);
    fflush(stdout);
    /* ACCL_CHECK_MISMATCH=0 keeps only the size checks: an AllGather beside
     * AllReduces of the same byte size is then not seen, and a rank may wait
     * for ACCL_TIMEOUT instead (never reading past a buffer) */
    int sizesTimeout = sizesOnly && !strcmp(kind, "coll") && r == acclTimeout;
    if (r != acclSuccess && !sizesTimeout) {
      MT_CHECK(r == acclInvalidUsage);
      MT_CHECK(secs < limit);
      MT_CHECK(strstr(text, "mismatched calls") != NULL);
      if (!sizesOnly) {
        const char* mine = funcOf(kind, last);
        MT_CHECK(strstr(text, mine) != NULL);
        MT_CHECK(strstr(text, "called") != NULL && strstr(strstr(text, "called") + 6, "called") != NULL);
      }
    } else if (!sizesTimeout) {
      MT_CHECK(!mustFail);
    }
    /* every rank has its verdict: leave this communicator (abort: it failed) */
    int anyFailed = r != acclSuccess, failedRanks = 0;
    MPI_Allreduce(&anyFailed, &failedRanks, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) printf("kind %s: %d of %d ranks report the mismatch\n", kind, failedRanks, nranks);
    MT_CHECK(failedRanks > 0);
    acclCommAbort(comm);
    accStreamDestroy(stream);
    accFree(send);
    accFree(recv);
  }
  return mtFinish("mpi_mismatch");
}
