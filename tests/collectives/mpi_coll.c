/* mpi_coll.c - every collective x dtype x op x count x in/out of place x
 * device/host buffers, checked exactly against values computed on the host.
 * The matrix is sampled (seed printed; ACCL_TEST_SEED replays it) unless
 * ACCL_TEST_FULL=1. Algorithm / protocol come from ACCL_ALGO / ACCL_PROTO. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../lib/mpi_test.h"
#include "dtype_util.h"

/* issue 14: BCI (acclBcast, always in place), GA (acclGather), SC (acclScatter) */
enum { AR, BC, RD, AG, RS, A2A, SR, BCI, GA, SC, NCOLL };
static const char* collNames[NCOLL] = {"allreduce", "broadcast", "reduce", "allgather", "reducescatter", "alltoall", "sendrecv",
                                       "bcast", "gather", "scatter"};
static const char* typeNames[] = {"int8", "uint8", "int32", "uint32", "int64", "uint64", "half", "float", "double", "bfloat16",
                                  "f8e4m3", "f8e5m2"};
static const char* opNames[] = {"sum", "prod", "max", "min", "avg", "premulsum"};
#define NOPS 6
static const size_t counts[] = {0, 1, 2, 7, 1023, 65537, 999983, 16u << 20};
#define NCOUNTS (sizeof(counts) / sizeof(counts[0]))

static int rank, nranks;
static acclDataType_t inputType; /* the running case's */

/* Inputs: small integers, so every reduction is exact in every type (fp8:
 * 0 or 1, whose sums over up to 8 ranks, also x2, are exact in e5m2 and e4m3,
 * whatever the order of the partial sums). */
static double inputOf(int r, size_t i, int op) {
  if (op == 1) return ((i + (size_t)r) % 3 == 0) ? 2.0 : 1.0; /* prod: powers of two */
  if (inputType == acclFloat8e4m3 || inputType == acclFloat8e5m2) return (double)(((size_t)r * 7 + i * 3) % 4 % 2);
  return (double)(((size_t)r * 7 + i * 3) % 4);
}

static double combine(double a, double b, int op) {
  switch (op) {
    case 1: return a * b;
    case 2: return a > b ? a : b;
    case 3: return a < b ? a : b;
    default: return a + b;
  }
}

static double reduceAll(size_t i, int op, double scalar) {
  double acc = 0;
  for (int r = 0; r < nranks; r++) {
    double v = inputOf(r, i, op);
    if (op == 5) v *= scalar;
    acc = r == 0 ? v : combine(acc, v, op);
  }
  return acc;
}

static double expectedReduce(acclDataType_t t, size_t i, int op, double scalar) {
  double v = reduceAll(i, op, scalar);
  if (op == 4) v = tdIsFloat(t) ? v / nranks : floor(v / nranks); /* integers: sum then divide */
  return v;
}

typedef struct {
  int coll, dtype, op, inPlace, host, root;
  size_t count;
} testCase;

static void* allocBuf(size_t bytes, int host) {
  void* p = NULL;
  if (host) p = malloc(bytes ? bytes : 1);
  else if (accMalloc(&p, bytes ? bytes : 1) != accSuccess) p = NULL;
  return p;
}
static void freeBuf(void* p, int host) {
  if (host) free(p);
  else accFree(p);
}
static void toBuf(void* dst, const void* src, size_t bytes, int host) {
  if (host) memcpy(dst, src, bytes);
  else if (bytes) MT_ACC(accMemcpy(dst, src, bytes, accMemcpyHostToDevice));
}
static void fromBuf(void* dst, const void* src, size_t bytes, int host) {
  if (host) memcpy(dst, src, bytes);
  else if (bytes) MT_ACC(accMemcpy(dst, src, bytes, accMemcpyDeviceToHost));
}

/* Returns the number of wrong elements on this rank. */
static long runCase(acclComm_t comm, accStream_t stream, const testCase* c) {
  acclDataType_t t = (acclDataType_t)c->dtype;
  size_t es = tdSize(t), n = c->count, N = (size_t)nranks;
  size_t sendCount = n, recvCount = n;
  inputType = t;
  if (c->coll == AG || c->coll == GA) recvCount = n * N;
  if (c->coll == SC) sendCount = n * N;
  if (c->coll == RS) sendCount = n * N;
  if (c->coll == A2A) sendCount = recvCount = n * N;
  size_t bufCount = sendCount > recvCount ? sendCount : recvCount;
  char* hostIn = malloc(sendCount * es + 1);
  char* hostOut = malloc(recvCount * es + 1);
  void* big = allocBuf(bufCount * es, c->host);
  void* other = c->inPlace ? NULL : allocBuf(recvCount * es, c->host);
  if (!hostIn || !hostOut || !big || (!c->inPlace && !other)) {
    fprintf(stderr, "[rank %d] allocation failed for %zu elements\n", rank, bufCount);
    return 1;
  }
  double scalar = 2.0;
  for (size_t i = 0; i < sendCount; i++) tdStore(t, hostIn, i, inputOf(rank, i, c->op));
  /* where the input goes and where the output comes from */
  char* sendbuf = big;
  char* recvbuf = c->inPlace ? big : other;
  if (c->inPlace && c->coll == AG) sendbuf = (char*)big + (size_t)rank * n * es;
  if (c->inPlace && c->coll == RS) recvbuf = (char*)big + (size_t)rank * n * es;
  if (c->inPlace && c->coll == GA && rank == c->root) sendbuf = (char*)big + (size_t)rank * n * es;
  if (c->inPlace && c->coll == SC && rank == c->root) recvbuf = (char*)big + (size_t)rank * n * es;
  toBuf(sendbuf, hostIn, sendCount * es, c->host);
  /* poison the output so missing writes show */
  memset(hostOut, 0x5a, recvCount * es);
  if (!c->inPlace) toBuf(recvbuf, hostOut, recvCount * es, c->host);
  acclRedOp_t op = c->op < 5 ? (acclRedOp_t)c->op : acclSum;
  char scalarBytes[8];
  tdStore(t, scalarBytes, 0, scalar);
  if (c->op == 5) MT_ACCL(acclRedOpCreatePreMulSum(&op, scalarBytes, t, acclScalarHostImmediate, comm));
  switch (c->coll) {
    case AR: MT_ACCL(acclAllReduce(sendbuf, recvbuf, n, t, op, comm, stream)); break;
    case BC: MT_ACCL(acclBroadcast(sendbuf, recvbuf, n, t, c->root, comm, stream)); break;
    case RD: MT_ACCL(acclReduce(sendbuf, recvbuf, n, t, op, c->root, comm, stream)); break;
    case AG: MT_ACCL(acclAllGather(sendbuf, recvbuf, n, t, comm, stream)); break;
    case RS: MT_ACCL(acclReduceScatter(sendbuf, recvbuf, n, t, op, comm, stream)); break;
    case A2A: MT_ACCL(acclAlltoAll(sendbuf, recvbuf, n, t, comm, stream)); break;
    case SR:
      MT_ACCL(acclGroupStart());
      MT_ACCL(acclSend(sendbuf, n, t, (rank + 1) % nranks, comm, stream));
      MT_ACCL(acclRecv(recvbuf, n, t, (rank + nranks - 1) % nranks, comm, stream));
      MT_ACCL(acclGroupEnd());
      break;
    case BCI: MT_ACCL(acclBcast(sendbuf, n, t, c->root, comm, stream)); break;
    case GA: MT_ACCL(acclGather(sendbuf, recvbuf, n, t, c->root, comm, stream)); break;
    case SC: MT_ACCL(acclScatter(sendbuf, recvbuf, n, t, c->root, comm, stream)); break;
  }
  MT_ACC(accStreamSynchronize(stream));
  if (c->op == 5) MT_ACCL(acclRedOpDestroy(op, comm));
  fromBuf(hostOut, recvbuf, recvCount * es, c->host);
  long wrong = 0;
  int checkOut = !((c->coll == RD || c->coll == GA) && rank != c->root);
  for (size_t i = 0; checkOut && i < recvCount; i++) {
    double exp;
    switch (c->coll) {
      case AR: exp = expectedReduce(t, i, c->op, scalar); break;
      case RD: exp = expectedReduce(t, i, c->op, scalar); break;
      case BC:
      case BCI: exp = inputOf(c->root, i, c->op); break;
      case GA: exp = inputOf((int)(i / n), i % n, c->op); break;
      case SC: exp = inputOf(c->root, (size_t)rank * n + i, c->op); break;
      case AG: exp = inputOf((int)(i / n), i % n, c->op); break;
      case RS: exp = expectedReduce(t, (size_t)rank * n + i, c->op, scalar); break;
      case A2A: exp = inputOf((int)(i / n), (size_t)rank * n + i % n, c->op); break;
      default: exp = inputOf((rank + nranks - 1) % nranks, i, c->op); break;
    }
    char tmp[8];
    tdStore(t, tmp, 0, exp);
    double expT = tdLoad(t, tmp, 0), got = tdLoad(t, hostOut, i);
    int ok = got == expT;
    if (!ok && c->op == 4 && tdIsFloat(t)) ok = fabs(got - exp) <= 4 * tdTolerance(t) * (fabs(exp) > 1 ? fabs(exp) : 1);
    if (!ok) {
      if (wrong < 3)
        fprintf(stderr, "[rank %d] %s %s %s count %zu %s %s root %d: [%zu] = %g, expected %g\n", rank,
                collNames[c->coll], typeNames[t], opNames[c->op], n, c->inPlace ? "in-place" : "out-of-place",
                c->host ? "host" : "device", c->root, i, got, expT);
      wrong++;
    }
  }
  free(hostIn);
  free(hostOut);
  freeBuf(big, c->host);
  if (other) freeBuf(other, c->host);
  return wrong;
}

static int hasOp(int coll) { return coll == AR || coll == RD || coll == RS; }

int main(int argc, char** argv) {
  mtInit(&argc, &argv, &rank, &nranks);
  int full = getenv("ACCL_TEST_FULL") && atoi(getenv("ACCL_TEST_FULL"));
  unsigned seed = getenv("ACCL_TEST_SEED") ? (unsigned)atoi(getenv("ACCL_TEST_SEED")) : (unsigned)time(NULL);
  MPI_Bcast(&seed, 1, MPI_UNSIGNED, 0, MPI_COMM_WORLD);
  int ncases = argc > 1 ? atoi(argv[1]) : 40;
  int ndev = 1;
  MT_ACC(accGetDeviceCount(&ndev));
  MT_ACC(accSetDevice(rank % (ndev > 0 ? ndev : 1)));
  acclComm_t comm;
  MT_ACCL(mtCommInit(&comm, rank, nranks));
  accStream_t stream;
  MT_ACC(accStreamCreate(&stream));
  if (rank == 0)
    printf("mpi_coll np=%d seed=%u (replay: ACCL_TEST_SEED=%u) ALGO=%s PROTO=%s %s\n", nranks, seed, seed,
           getenv("ACCL_ALGO") ? getenv("ACCL_ALGO") : "-", getenv("ACCL_PROTO") ? getenv("ACCL_PROTO") : "-",
           full ? "full matrix" : "sampled");
  srand(seed);
  long wrongTotal = 0;
  int run = 0, bigDone = 0;
  testCase c;
  for (int coll = 0; coll < NCOLL; coll++)
    for (int dt = 0; dt < acclNumTypes; dt++)
      for (int op = 0; op < (hasOp(coll) ? NOPS : 1); op++)
        for (size_t ci = 0; ci < NCOUNTS; ci++)
          for (int inPlace = 0; inPlace < (coll == SR ? 1 : 2); inPlace++)
            for (int host = 0; host < 2; host++) {
              /* the same pseudo-random sample on every rank */
              int pick = full ? 1 : (rand() % 1000) < (ncases * 1000 / 3000 + 1);
              if (!pick) continue;
              if (coll == BCI && !inPlace) continue; /* acclBcast is in place */
              if (counts[ci] == (16u << 20) && (!full && (bigDone || nranks > 4))) continue;
              if (counts[ci] == (16u << 20)) bigDone = 1;
              c = (testCase){coll, dt, op, inPlace, host, (coll == BC || coll == RD || coll >= BCI) ? (int)(seed + ci) % nranks : 0,
                             counts[ci]};
              wrongTotal += runCase(comm, stream, &c);
              run++;
            }
  /* back-to-back queued collectives with no synchronisation in between */
  {
    size_t n = 4099;
    float* d[4];
    float* h = malloc(n * sizeof(float));
    for (int k = 0; k < 4; k++) MT_ACC(accMalloc((void**)&d[k], n * sizeof(float)));
    for (size_t i = 0; i < n; i++) h[i] = (float)(rank + 1);
    MT_ACC(accMemcpy(d[0], h, n * sizeof(float), accMemcpyHostToDevice));
    for (int k = 0; k < 3; k++) MT_ACCL(acclAllReduce(d[k], d[k + 1], n, acclFloat32, acclSum, comm, stream));
    MT_ACC(accStreamSynchronize(stream));
    MT_ACC(accMemcpy(h, d[3], n * sizeof(float), accMemcpyDeviceToHost));
    double s = (double)nranks * (nranks + 1) / 2 * nranks * nranks;
    for (size_t i = 0; i < n; i++)
      if (h[i] != (float)s) { wrongTotal++; if (wrongTotal < 3) fprintf(stderr, "[rank %d] chained allreduce [%zu]=%g expected %g\n", rank, i, h[i], s); }
    for (int k = 0; k < 4; k++) accFree(d[k]);
    free(h);
    run++;
  }
  /* one group: an AllReduce plus sends to every peer and receives from every
   * peer, sizes differing per pair, self send/recv included */
  {
    size_t base = 3001;
    int N = nranks;
    float* hsend = malloc(sizeof(float) * (base + (size_t)N) * (size_t)N);
    float* hrecv = malloc(sizeof(float) * (base + (size_t)N) * (size_t)N);
    float *dsend, *drecv, *dar;
    size_t total = (base + (size_t)N) * (size_t)N;
    MT_ACC(accMalloc((void**)&dsend, total * sizeof(float)));
    MT_ACC(accMalloc((void**)&drecv, total * sizeof(float)));
    MT_ACC(accMalloc((void**)&dar, base * sizeof(float)));
    for (size_t i = 0; i < total; i++) hsend[i] = (float)(rank * 1000 + (int)(i % 997));
    MT_ACC(accMemcpy(dsend, hsend, total * sizeof(float), accMemcpyHostToDevice));
    MT_ACC(accMemcpy(dar, hsend, base * sizeof(float), accMemcpyHostToDevice));
    MT_ACCL(acclGroupStart());
    MT_ACCL(acclAllReduce(dar, dar, base, acclFloat32, acclMax, comm, stream));
    for (int q = 0; q < N; q++) {
      size_t cnt = base + (size_t)((rank + q) % N); /* the pair (rank, q) agrees on the size */
      MT_ACCL(acclSend(dsend + (size_t)q * (base + N), cnt, acclFloat32, q, comm, stream));
      MT_ACCL(acclRecv(drecv + (size_t)q * (base + N), cnt, acclFloat32, q, comm, stream));
    }
    MT_ACCL(acclGroupEnd());
    MT_ACC(accStreamSynchronize(stream));
    MT_ACC(accMemcpy(hrecv, drecv, total * sizeof(float), accMemcpyDeviceToHost));
    long bad = 0;
    for (int q = 0; q < N; q++) {
      size_t cnt = base + (size_t)((rank + q) % N);
      for (size_t i = 0; i < cnt; i++) {
        /* q sent us its block number `rank` */
        float expv = (float)(q * 1000 + (int)(((size_t)rank * (base + N) + i) % 997));
        if (hrecv[(size_t)q * (base + N) + i] != expv) bad++;
      }
    }
    MT_ACC(accMemcpy(hrecv, dar, base * sizeof(float), accMemcpyDeviceToHost));
    for (size_t i = 0; i < base; i++)
      if (hrecv[i] != (float)((N - 1) * 1000 + (int)(i % 997))) bad++;
    if (bad) fprintf(stderr, "[rank %d] mixed group: %ld wrong values\n", rank, bad);
    wrongTotal += bad;
    accFree(dsend);
    accFree(drecv);
    accFree(dar);
    free(hsend);
    free(hrecv);
    run++;
  }
  MT_CHECK(wrongTotal == 0);
  MT_ACC(accStreamDestroy(stream));
  MT_ACCL(acclCommDestroy(comm));
  if (rank == 0) printf("mpi_coll np=%d: %d cases\n", nranks, run);
  return mtFinish("mpi_coll");
}
