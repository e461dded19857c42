/* mpi_coll.c - collective x dtype x op x algorithm/protocol x in/out of
 * place x count class x root x device/host buffers, checked exactly against
 * values computed on the host. By default the cases are pairwise covering
 * arrays (covering.h) over those factors, SEEDS fixed seeds per rank count
 * (ACCL_TEST_SEED runs one other): every pair of levels of any two factors
 * is run at least SEEDS times per rank count. ACCL_TEST_FULL=1 runs the
 * whole product and a 16M-element count class. The algorithm / protocol variant is the
 * process's ACCL_ALGO / ACCL_PROTO (params are read once per process), so
 * coll_matrix.sh runs one process per variant and each runs its rows.
 * Outputs are poisoned (in place too: every part of the buffer that is not
 * this rank's input), followed by guard bytes that must stay untouched, and
 * an out-of-place input must be unchanged after the call. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../lib/mpi_test.h"
#include "coll_factors.h"
#include "covering.h"
#include "dtype_util.h"

static const char* collNames[NCOLL] = {"allreduce", "broadcast", "reduce", "allgather", "reducescatter",
                                       "alltoall",  "sendrecv",  "bcast",  "gather",    "scatter"};
static const char* typeNames[] = {"int8",   "uint8", "int32", "uint32", "int64",
                                  "uint64", "half",  "float", "double", "bfloat16"};
/* The matrix's types: fp8 (whose sums of the matrix's inputs are not exact)
 * is checked bit for bit by tests/device/test_reduce and test_api_args_new. */
#define NTYPES (int)(sizeof(typeNames) / sizeof(typeNames[0]))
_Static_assert(NTYPES == COLL_NTYPES, "coll_factors.h's type count");
static const char* opNames[] = {"sum", "prod", "max", "min", "avg", "premulsum"};
#define NOPS COLL_NOPS
_Static_assert(sizeof(opNames) / sizeof(opNames[0]) == NOPS, "coll_factors.h's op count");
static const size_t counts[] = {0, 1, 2, 7, 1023, 65537, 999983, 16u << 20};
#define NCOUNTS (sizeof(counts) / sizeof(counts[0]))
#define NCOUNTS_PAIRWISE (NCOUNTS - 1) /* the 16M class: ACCL_TEST_FULL only (one fixed big case otherwise) */
_Static_assert(NCOUNTS_PAIRWISE == COLL_NCOUNTS_PAIRWISE, "coll_factors.h's count classes");
/* The algorithm / protocol variants (ACCL_ALGO:ACCL_PROTO) with distinct
 * behaviour on one node; rd and hier need several nodes (one node falls back
 * to the default choice), LL only exists for direct AllReduce. */
static const char* const variants[] = {":", "ring:Simple", "tree:Simple", "direct:Simple", "direct:LL"};
#define NVARIANTS (int)(sizeof(variants) / sizeof(variants[0]))
_Static_assert(NVARIANTS == COLL_NVARIANTS, "coll_factors.h's variant count");
#define NROOTS COLL_NROOTS
#define GUARD 64 /* guard bytes after every buffer */
#define SEEDS 2  /* pairwise arrays per rank count (make check) */

static int rank, nranks;

/* Inputs: small integers, so every reduction is exact in every type. */
static double inputOf(int r, size_t i, int op) {
  if (op == 1) return ((i + (size_t)r) % 3 == 0) ? 2.0 : 1.0; /* prod: powers of two */
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

/* PreMulSum: every rank scales its own input by its own scalar (as
 * nccl-tests does), so an algorithm that scales a peer's input with this
 * rank's scalar is caught. 1 and 2 are exact in every type. */
static double scalarOf(int r) { return 1.0 + (r % 2); }

static double reduceAll(size_t i, int op) {
  double acc = 0;
  for (int r = 0; r < nranks; r++) {
    double v = inputOf(r, i, op);
    if (op == 5) v *= scalarOf(r);
    acc = r == 0 ? v : combine(acc, v, op);
  }
  return acc;
}

static double expectedReduce(acclDataType_t t, size_t i, int op) {
  double v = reduceAll(i, op);
  if (op == 4) v = tdIsFloat(t) ? v / nranks : floor(v / nranks); /* integers: sum then divide */
  return v;
}

typedef struct {
  int coll, dtype, op, inPlace, host, root;
  size_t count;
} testCase;

static void* allocBuf(size_t bytes, int host) {
  void* p = NULL;
  if (host)
    p = malloc(bytes + GUARD);
  else if (accMalloc(&p, bytes + GUARD) != accSuccess)
    p = NULL;
  return p;
}
static void freeBuf(void* p, int host) {
  if (host)
    free(p);
  else
    accFree(p);
}
static void toBuf(void* dst, const void* src, size_t bytes, int host) {
  if (host)
    memcpy(dst, src, bytes);
  else if (bytes)
    MT_ACC(accMemcpy(dst, src, bytes, accMemcpyHostToDevice));
}
static void fromBuf(void* dst, const void* src, size_t bytes, int host) {
  if (host)
    memcpy(dst, src, bytes);
  else if (bytes)
    MT_ACC(accMemcpy(dst, src, bytes, accMemcpyDeviceToHost));
}

static unsigned char guardByte(size_t i) { return (unsigned char)(0xa5 ^ (i * 29)); }
static void setGuard(char* end, int host) {
  unsigned char g[GUARD];
  for (size_t i = 0; i < GUARD; i++) g[i] = guardByte(i);
  toBuf(end, g, GUARD, host);
}
/* 1 when the guard after a buffer was written */
static int guardBroken(const char* end, int host) {
  unsigned char g[GUARD];
  fromBuf(g, end, GUARD, host);
  for (size_t i = 0; i < GUARD; i++)
    if (g[i] != guardByte(i)) return 1;
  return 0;
}

/* Returns the number of wrong elements on this rank. */
static long runCase(acclComm_t comm, accStream_t stream, const testCase* c) {
  acclDataType_t t = (acclDataType_t)c->dtype;
  size_t es = tdSize(t), n = c->count, N = (size_t)nranks;
  size_t sendCount = n, recvCount = n;
  if (c->coll == AG || c->coll == GATHER) recvCount = n * N;
  if (c->coll == RS || c->coll == SCATTER) sendCount = n * N;
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
  for (size_t i = 0; i < sendCount; i++) tdStore(t, hostIn, i, inputOf(rank, i, c->op));
  /* where the input goes and where the output comes from */
  char* sendbuf = big;
  char* recvbuf = c->inPlace ? big : other;
  /* in place: a rank's block of the larger buffer (acclGather's and
   * acclScatter's rule on the root; elsewhere their other buffer is unused) */
  if (c->inPlace && (c->coll == AG || c->coll == GATHER)) sendbuf = (char*)big + (size_t)rank * n * es;
  if (c->inPlace && (c->coll == RS || c->coll == SCATTER)) recvbuf = (char*)big + (size_t)rank * n * es;
  /* poison the output so missing writes show: out of place the whole
   * output buffer; in place every part of the buffer that is not this
   * rank's input (AllGather's other blocks, a broadcast's non-root buffer) */
  char* poison = malloc(bufCount * es + 1);
  if (!poison) {
    fprintf(stderr, "[rank %d] allocation failed for %zu elements\n", rank, bufCount);
    return 1;
  }
  memset(poison, 0x5a, bufCount * es);
  /* a non-root's broadcast or scatter input is never read */
  int inputUnused = (c->coll == BC || c->coll == BCAST || c->coll == SCATTER) && rank != c->root;
  if (c->inPlace) {
    if (!inputUnused) memcpy(poison + (sendbuf - (char*)big), hostIn, sendCount * es);
    toBuf(big, poison, bufCount * es, c->host);
  } else {
    toBuf(sendbuf, hostIn, sendCount * es, c->host);
    toBuf(recvbuf, poison, recvCount * es, c->host);
    setGuard((char*)other + recvCount * es, c->host);
  }
  setGuard((char*)big + bufCount * es, c->host);
  free(poison);
  acclRedOp_t op = c->op < 5 ? (acclRedOp_t)c->op : acclSum;
  char scalarBytes[8];
  tdStore(t, scalarBytes, 0, scalarOf(rank));
  if (c->op == 5) MT_ACCL(acclRedOpCreatePreMulSum(&op, scalarBytes, t, acclScalarHostImmediate, comm));
  switch (c->coll) {
    case AR: MT_ACCL(acclAllReduce(sendbuf, recvbuf, n, t, op, comm, stream)); break;
    case BC: MT_ACCL(acclBroadcast(sendbuf, recvbuf, n, t, c->root, comm, stream)); break;
    case RD: MT_ACCL(acclReduce(sendbuf, recvbuf, n, t, op, c->root, comm, stream)); break;
    case AG: MT_ACCL(acclAllGather(sendbuf, recvbuf, n, t, comm, stream)); break;
    case RS: MT_ACCL(acclReduceScatter(sendbuf, recvbuf, n, t, op, comm, stream)); break;
    case A2A: MT_ACCL(acclAlltoAll(sendbuf, recvbuf, n, t, comm, stream)); break;
    case BCAST: MT_ACCL(acclBcast(big, n, t, c->root, comm, stream)); break;
    case GATHER: MT_ACCL(acclGather(sendbuf, recvbuf, n, t, c->root, comm, stream)); break;
    case SCATTER: MT_ACCL(acclScatter(sendbuf, recvbuf, n, t, c->root, comm, stream)); break;
    case SR:
      MT_ACCL(acclGroupStart());
      MT_ACCL(acclSend(sendbuf, n, t, (rank + 1) % nranks, comm, stream));
      MT_ACCL(acclRecv(recvbuf, n, t, (rank + nranks - 1) % nranks, comm, stream));
      MT_ACCL(acclGroupEnd());
      break;
  }
  MT_ACC(accStreamSynchronize(stream));
  if (c->op == 5) MT_ACCL(acclRedOpDestroy(op, comm));
  fromBuf(hostOut, recvbuf, recvCount * es, c->host);
  long wrong = 0;
  const char* what = collNames[c->coll];
  if (guardBroken((char*)big + bufCount * es, c->host) ||
      (!c->inPlace && guardBroken((char*)other + recvCount * es, c->host))) {
    fprintf(stderr, "[rank %d] %s %s %s count %zu %s %s root %d: wrote past the end of its buffer\n", rank, what,
            typeNames[t], opNames[c->op], n, c->inPlace ? "in-place" : "out-of-place", c->host ? "host" : "device",
            c->root);
    wrong++;
  }
  if (!c->inPlace && sendCount > 0) {
    /* the input is const: unchanged after the call */
    char* after = malloc(sendCount * es);
    if (!after) return wrong + 1;
    fromBuf(after, sendbuf, sendCount * es, c->host);
    if (memcmp(after, hostIn, sendCount * es) != 0) {
      fprintf(stderr, "[rank %d] %s %s count %zu %s: the send buffer changed\n", rank, what, typeNames[t], n,
              c->host ? "host" : "device");
      wrong++;
    }
    free(after);
  }
  int checkOut = !((c->coll == RD || c->coll == GATHER) && rank != c->root);
  if (!checkOut && !c->inPlace) {
    /* a Reduce's or Gather's recvbuff is the root's only: elsewhere it stays as it was */
    for (size_t i = 0; i < recvCount * es; i++)
      if ((unsigned char)hostOut[i] != 0x5a) {
        fprintf(stderr, "[rank %d] %s %s count %zu root %d: a non-root's recvbuff was written (byte %zu)\n", rank, what,
                typeNames[t], n, c->root, i);
        wrong++;
        break;
      }
  }
  for (size_t i = 0; checkOut && i < recvCount; i++) {
    double exp;
    switch (c->coll) {
      case AR: exp = expectedReduce(t, i, c->op); break;
      case RD: exp = expectedReduce(t, i, c->op); break;
      case BC:
      case BCAST: exp = inputOf(c->root, i, c->op); break;
      case AG:
      case GATHER: exp = inputOf((int)(i / n), i % n, c->op); break;
      case SCATTER: exp = inputOf(c->root, (size_t)rank * n + i, c->op); break;
      case RS: exp = expectedReduce(t, (size_t)rank * n + i, c->op); break;
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

/* This process's variant, from ACCL_ALGO / ACCL_PROTO; -1 if not one of
 * the matrix's (ofi_matrix.sh's rd, hier, ...). */
static int myVariant(char* v, size_t len) {
  snprintf(v, len, "%s:%s", getenv("ACCL_ALGO") ? getenv("ACCL_ALGO") : "",
           getenv("ACCL_PROTO") ? getenv("ACCL_PROTO") : "");
  for (int k = 0; k < NVARIANTS; k++)
    if (strcmp(v, variants[k]) == 0) return k;
  return -1;
}

static int rootOf(int level) { return level == 0 ? 0 : level == 1 ? nranks / 2 : nranks - 1; }

static long runRow(acclComm_t comm, accStream_t stream, const int* row, size_t count) {
  /* acclBcast has one buffer: always in place */
  int inPlace = row[F_INPLACE] || row[F_COLL] == BCAST;
  testCase c = {row[F_COLL], row[F_DTYPE], row[F_OP], inPlace, row[F_HOST], rootOf(row[F_ROOT]), count};
  return runCase(comm, stream, &c);
}

int main(int argc, char** argv) {
  mtInitDevice(&argc, &argv, &rank, &nranks);
  (void)argc;
  (void)argv;
  int full = getenv("ACCL_TEST_FULL") && atoi(getenv("ACCL_TEST_FULL"));
  /* A fixed seed list: SEEDS arrays per rank count, seeds k * 1000 + nranks
   * (each rank count runs its own rows); ACCL_TEST_SEED=s runs the one array
   * of seed s instead (replay, or exploring other seeds). */
  unsigned seeds[SEEDS];
  int nseeds = SEEDS;
  for (int k = 0; k < SEEDS; k++) seeds[k] = 1000u * (unsigned)(k + 1) + (unsigned)nranks;
  if (getenv("ACCL_TEST_SEED")) {
    seeds[0] = (unsigned)strtoul(getenv("ACCL_TEST_SEED"), NULL, 0);
    nseeds = 1;
  }
  char envVariant[160];
  int variant = myVariant(envVariant, sizeof(envVariant));
  if (variant < 0) {
    /* another setting (other algorithms, transports, nodes): the rows of
     * the default variant of arrays seeded by the setting too */
    for (int k = 0; k < nseeds; k++)
      for (const char* p = envVariant; *p; p++) seeds[k] = seeds[k] * 31u + (unsigned char)*p;
    variant = 0;
  }
  acclComm_t comm;
  MT_ACCL(mtCommInit(&comm, rank, nranks));
  accStream_t stream;
  MT_ACC(accStreamCreate(&stream));
  long wrongTotal = 0;
  int run = 0;
  if (full) {
    int row[NFACTORS];
    row[F_VARIANT] = variant;
    for (row[F_COLL] = 0; row[F_COLL] < NCOLL; row[F_COLL]++)
      for (row[F_DTYPE] = 0; row[F_DTYPE] < NTYPES; row[F_DTYPE]++)
        for (row[F_OP] = 0; row[F_OP] < (collHasOp(row[F_COLL]) ? NOPS : 1); row[F_OP]++)
          for (size_t ci = 0; ci < NCOUNTS; ci++)
            for (row[F_INPLACE] = 0; row[F_INPLACE] < (collNoInPlace(row[F_COLL]) ? 1 : 2); row[F_INPLACE]++)
              for (row[F_ROOT] = 0; row[F_ROOT] < (collHasRoot(row[F_COLL]) ? NROOTS : 1); row[F_ROOT]++)
                for (row[F_HOST] = 0; row[F_HOST] < 2; row[F_HOST]++) {
                  wrongTotal += runRow(comm, stream, row, counts[ci]);
                  run++;
                }
  } else {
    covSpec sp = {.nFactors = NFACTORS,
                  .levels = {NCOLL, NTYPES, NOPS, NVARIANTS, 2, (int)NCOUNTS_PAIRWISE, NROOTS, 2},
                  .normalize = collRule};
    for (int k = 0; k < nseeds; k++) {
      covArray cov;
      if (covBuild(&sp, seeds[k], &cov) != 0) {
        fprintf(stderr, "[rank %d] covering array for seed %u failed\n", rank, seeds[k]);
        MPI_Abort(MPI_COMM_WORLD, 1);
      }
      int mine = 0;
      for (int r = 0; r < cov.nRows; r++) {
        const int* row = cov.rows + (size_t)r * NFACTORS;
        if (row[F_VARIANT] != variant) continue;
        wrongTotal += runRow(comm, stream, row, counts[row[F_COUNT]]);
        run++;
        mine++;
      }
      if (rank == 0)
        printf("mpi_coll np=%d ALGO:PROTO=%s seed=%u (ACCL_TEST_SEED=%u replays it): %d of %d pairwise rows\n", nranks,
               envVariant, seeds[k], seeds[k], mine, cov.nRows);
      covFree(&cov);
    }
    /* one big case per variant (the 16M class runs whole in check-full) */
    const char* bigEnv = getenv("ACCL_TEST_BIG"); /* 0: skip it (make mutate) */
    if (nranks <= 4 && !(bigEnv && strcmp(bigEnv, "0") == 0)) {
      /* narrow types: 16M elements is many pipeline chunks, in 16-32 MiB */
      static const int bigType[NVARIANTS] = {acclInt8, acclUint8, acclFloat16, acclBfloat16, acclInt8};
      testCase big = {AR, bigType[variant], 0, variant % 2, 0, 0, counts[NCOUNTS - 1]};
      wrongTotal += runCase(comm, stream, &big);
      run++;
    }
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
      if (h[i] != (float)s) {
        wrongTotal++;
        if (wrongTotal < 3) fprintf(stderr, "[rank %d] chained allreduce [%zu]=%g expected %g\n", rank, i, h[i], s);
      }
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
