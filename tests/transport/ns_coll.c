/* ns_coll.c - the sampled collectives matrix without MPI, for ranks started
 * by tests/lib/nslaunch (inside network namespaces, one per "node"). Rank
 * and size come from ACCL_TEST_RANK / ACCL_TEST_NRANKS; the communicator
 * meets at the pinned root ACCL_COMM_ID. Every rank knows every rank's input
 * (a formula), so each checks its own output exactly.
 *
 *   ns_coll [NCASES]      sampled matrix (seed from ACCL_TEST_SEED, default 1)
 *   ns_coll --kill RANK   RANK kills itself in the middle of a large
 *                         allreduce; every other rank must see an error
 *                         within ACCL_TIMEOUT (+ slack), never hang. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "acc_ccl.h"
#include "acc_runtime.h"
#include "../collectives/dtype_util.h"

enum { AR, BC, RD, AG, RS, A2A, SR, NCOLL };
static const char* collNames[NCOLL] = {"allreduce",     "broadcast", "reduce",  "allgather",
                                       "reducescatter", "alltoall",  "sendrecv"};
static const acclDataType_t types[] = {acclInt8,    acclInt32,   acclUint64,  acclFloat16,
                                       acclFloat32, acclFloat64, acclBfloat16};
static const acclRedOp_t ops[] = {acclSum, acclProd, acclMax, acclMin};
static const size_t counts[] = {1, 7, 1023, 65537, 999983};
static int rank, nranks, failures;

#define CHECK(cond, ...)                                              \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "[rank %d] %s:%d: ", rank, __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                                   \
      fprintf(stderr, "\n");                                          \
      failures++;                                                     \
    }                                                                 \
  } while (0)

static double inputOf(int r, size_t i, int op) {
  if (op == 1) return ((i + (size_t)r) % 3 == 0) ? 2.0 : 1.0; /* prod: powers of two stay exact */
  return (double)(((size_t)r * 7 + i * 3) % 4);
}

static double reduced(size_t i, int op) {
  double acc = inputOf(0, i, op);
  for (int r = 1; r < nranks; r++) {
    double v = inputOf(r, i, op);
    acc = op == 1 ? acc * v : op == 2 ? (v > acc ? v : acc) : op == 3 ? (v < acc ? v : acc) : acc + v;
  }
  return acc;
}

static long runCase(acclComm_t comm, accStream_t stream, int coll, acclDataType_t t, int op, size_t n, int root) {
  size_t es = tdSize(t), N = (size_t)nranks;
  size_t sendCount = coll == RS || coll == A2A ? n * N : n, recvCount = coll == AG || coll == A2A ? n * N : n;
  char* in = malloc(sendCount * es + 1);
  char* out = malloc(recvCount * es + 1);
  void *sendDev = NULL, *recvDev = NULL;
  if (!in || !out || accMalloc(&sendDev, sendCount * es + 1) != accSuccess ||
      accMalloc(&recvDev, recvCount * es + 1) != accSuccess) {
    fprintf(stderr, "[rank %d] out of memory\n", rank);
    return 1;
  }
  for (size_t i = 0; i < sendCount; i++) tdStore(t, in, i, inputOf(rank, i, op));
  accMemcpy(sendDev, in, sendCount * es, accMemcpyHostToDevice);
  accMemset(recvDev, 0x5a, recvCount * es);
  acclResult_t r = acclSuccess;
  switch (coll) {
    case AR: r = acclAllReduce(sendDev, recvDev, n, t, ops[op], comm, stream); break;
    case BC: r = acclBroadcast(sendDev, recvDev, n, t, root, comm, stream); break;
    case RD: r = acclReduce(sendDev, recvDev, n, t, ops[op], root, comm, stream); break;
    case AG: r = acclAllGather(sendDev, recvDev, n, t, comm, stream); break;
    case RS: r = acclReduceScatter(sendDev, recvDev, n, t, ops[op], comm, stream); break;
    case A2A: r = acclAlltoAll(sendDev, recvDev, n, t, comm, stream); break;
    default:
      acclGroupStart();
      acclSend(sendDev, n, t, (rank + 1) % nranks, comm, stream);
      acclRecv(recvDev, n, t, (rank + nranks - 1) % nranks, comm, stream);
      r = acclGroupEnd();
  }
  CHECK(r == acclSuccess, "%s returned %s (%s)", collNames[coll], acclGetErrorString(r), acclGetLastError(NULL));
  accError_t e = accStreamSynchronize(stream);
  CHECK(e == accSuccess, "%s: stream error %s", collNames[coll], accGetErrorString(e));
  accMemcpy(out, recvDev, recvCount * es, accMemcpyDeviceToHost);
  long wrong = 0;
  for (size_t i = 0; i < recvCount && !(coll == RD && rank != root); i++) {
    double exp;
    switch (coll) {
      case AR:
      case RD: exp = reduced(i, op); break;
      case BC: exp = inputOf(root, i, op); break;
      case AG: exp = inputOf((int)(i / n), i % n, op); break;
      case RS: exp = reduced((size_t)rank * n + i, op); break;
      case A2A: exp = inputOf((int)(i / n), (size_t)rank * n + i % n, op); break;
      default: exp = inputOf((rank + nranks - 1) % nranks, i, op);
    }
    char tmp[8];
    tdStore(t, tmp, 0, exp);
    if (tdLoad(t, out, i) != tdLoad(t, tmp, 0)) {
      if (wrong++ < 3)
        fprintf(stderr, "[rank %d] %s type %d op %d count %zu root %d: [%zu] = %g, expected %g\n", rank,
                collNames[coll], (int)t, op, n, root, i, tdLoad(t, out, i), tdLoad(t, tmp, 0));
    }
  }
  free(in);
  free(out);
  accFree(sendDev);
  accFree(recvDev);
  return wrong;
}

static int runMatrix(acclComm_t comm, accStream_t stream, int ncases) {
  unsigned seed = getenv("ACCL_TEST_SEED") ? (unsigned)atoi(getenv("ACCL_TEST_SEED")) : 1u;
  srand(seed); /* the same sample on every rank */
  int total = NCOLL * (int)(sizeof(types) / sizeof(types[0])) * (int)(sizeof(counts) / sizeof(counts[0]));
  int run = 0;
  long wrong = 0;
  for (int coll = 0; coll < NCOLL; coll++)
    for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++)
      for (size_t ci = 0; ci < sizeof(counts) / sizeof(counts[0]); ci++) {
        int op = rand() % 4, root = rand() % nranks;
        if (rand() % total >= ncases) continue;
        wrong += runCase(comm, stream, coll, types[ti], op, counts[ci], root);
        run++;
      }
  CHECK(wrong == 0, "%ld wrong elements", wrong);
  if (rank == 0) printf("ns_coll np=%d seed=%u: %d cases\n", nranks, seed, run);
  return run;
}

/* The killed rank dies with a large allreduce in flight; survivors must get
 * an error back, within the timeout. */
static void runKill(acclComm_t comm, accStream_t stream, int victim) {
  size_t n = 8u << 20;
  float* buf = NULL;
  if (accMalloc((void**)&buf, n * sizeof(float)) != accSuccess) {
    failures++;
    return;
  }
  accMemset(buf, 0, n * sizeof(float));
  CHECK(acclAllReduce(buf, buf, 1024, acclFloat32, acclSum, comm, stream) == acclSuccess, "warm-up allreduce");
  CHECK(accStreamSynchronize(stream) == accSuccess, "warm-up allreduce synchronize");
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int it = 0; it < 50; it++) {
    acclResult_t r = acclAllReduce(buf, buf, n, acclFloat32, acclSum, comm, stream);
    if (rank == victim && it == 2) {
      usleep(30 * 1000); /* let the collective get going, then die without a word */
      raise(SIGKILL);
    }
    if (r != acclSuccess) break;
  }
  accError_t e = accStreamSynchronize(stream);
  acclResult_t async = acclSuccess;
  acclCommGetAsyncError(comm, &async);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  const char* to = getenv("ACCL_TIMEOUT");
  double limit = (to ? atof(to) : 300.0) + 30.0;
  CHECK(e != accSuccess || async != acclSuccess, "no error after rank %d was killed", victim);
  CHECK(secs < limit, "the error took %.1f s (limit %.0f s)", secs, limit);
  printf("[rank %d] after rank %d was killed: stream %s, async %s, after %.1f s\n", rank, victim, accGetErrorString(e),
         acclGetErrorString(async), secs);
  accFree(buf);
}

int main(int argc, char** argv) {
  const char* r = getenv("ACCL_TEST_RANK");
  const char* n = getenv("ACCL_TEST_NRANKS");
  if (!r || !n || !getenv("ACCL_COMM_ID")) {
    fprintf(stderr, "ns_coll: start me with tests/lib/nslaunch and ACCL_COMM_ID set\n");
    return 2;
  }
  rank = atoi(r);
  nranks = atoi(n);
  int victim = -1, ncases = 40;
  if (argc > 2 && strcmp(argv[1], "--kill") == 0)
    victim = atoi(argv[2]);
  else if (argc > 1)
    ncases = atoi(argv[1]);
  int ndev = 1;
  accGetDeviceCount(&ndev);
  accSetDevice(rank % (ndev > 0 ? ndev : 1));
  acclUniqueId id;
  acclComm_t comm = NULL;
  acclResult_t res = acclGetUniqueId(&id); /* pinned root: the same id everywhere */
  if (res == acclSuccess) res = acclCommInitRank(&comm, nranks, id, rank);
  if (res != acclSuccess) {
    fprintf(stderr, "[rank %d] communicator creation failed: %s (%s)\n", rank, acclGetErrorString(res),
            acclGetLastError(NULL));
    return 1;
  }
  accStream_t stream;
  accStreamCreate(&stream);
  if (victim >= 0) {
    runKill(comm, stream, victim);
    acclCommAbort(comm);
  } else {
    runMatrix(comm, stream, ncases);
    CHECK(acclCommDestroy(comm) == acclSuccess, "acclCommDestroy");
  }
  accStreamDestroy(stream);
  if (failures) fprintf(stderr, "[rank %d] ns_coll: FAIL (%d failed checks)\n", rank, failures);
  return failures ? 1 : 0;
}
