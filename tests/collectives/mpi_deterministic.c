/* mpi_deterministic.c - the bits of AllReduce, ReduceScatter and Reduce.
 *
 * mpi_deterministic OUTFILE [COUNT]: float32, bfloat16 and float16 sums of
 * inputs whose order matters (random signs, mantissas and exponents spread
 * over 2^-E..2^E from a fixed seed, so a different grouping rounds
 * differently). Rank 0 writes one line per (collective, datatype) to OUTFILE:
 * a hash of every rank's result bits (ReduceScatter: every rank's block;
 * Reduce: the root's). deterministic.sh runs it under many algorithms,
 * protocols, channel counts, step sizes and node layouts and compares the
 * files.
 *
 * DET_EXPECT_FOLD=1: every result element must equal, bit for bit, the host's
 * fold in rank order ((x0 + x1) + x2) ... + x(n-1), each step computed as the
 * device does (in float, rounded once to the datatype). DET_WRONG_ORDER=1
 * folds the reference in the reverse order instead: the check must then fail
 * (deterministic.sh shows it does), so it can tell one order from another. */
#include <stdint.h>
#include "../lib/mpi_test.h"
#include "dtype_util.h"

static int rank, nranks;

static uint64_t mix(uint64_t x) { /* splitmix64 */
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* Rank r's input element i, exactly representable in t. */
static double inputOf(acclDataType_t t, int r, size_t i) {
  uint64_t h = mix(0x5eedull ^ ((uint64_t)r << 40) ^ (uint64_t)i ^ ((uint64_t)t << 56));
  const int E = t == acclFloat16 ? 10 : 20; /* float16: n * 2^11 stays below 65504 */
  double m = 1.0 + (double)(h & 0xfffff) / (double)(1 << 20);
  int e = (int)((h >> 20) % (uint64_t)(2 * E + 1)) - E;
  double v = ldexp(m, e) * ((h >> 40) & 1 ? -1.0 : 1.0);
  uint8_t tmp[8];
  tdStore(t, tmp, 0, v);
  return tdLoad(t, tmp, 0);
}

/* The host's fold of element i over the ranks, in rank order (or reversed). */
static double fold(acclDataType_t t, size_t i, int reverse) {
  uint8_t acc[8];
  for (int k = 0; k < nranks; k++) {
    int r = reverse ? nranks - 1 - k : k;
    double x = inputOf(t, r, i);
    if (k == 0) {
      tdStore(t, acc, 0, x);
      continue;
    }
    float s = (float)tdLoad(t, acc, 0) + (float)x; /* the device adds in float, then rounds once */
    tdStore(t, acc, 0, (double)s);
  }
  return tdLoad(t, acc, 0);
}

static uint64_t fnv(uint64_t h, const void* p, size_t n) {
  const uint8_t* b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

int main(int argc, char** argv) {
  mtInitDevice(&argc, &argv, &rank, &nranks);
  if (argc < 2) {
    fprintf(stderr, "usage: mpi_deterministic OUTFILE [COUNT]\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  const size_t count = argc > 2 ? (size_t)atol(argv[2]) : 20011;
  const char* e = getenv("DET_EXPECT_FOLD");
  const int expectFold = e && atoi(e);
  e = getenv("DET_WRONG_ORDER");
  const int wrongOrder = e && atoi(e);
  static const acclDataType_t types[] = {acclFloat32, acclBfloat16, acclFloat16};
  static const char* const typeNames[] = {"float32", "bfloat16", "float16"};
  static const char* const funcNames[] = {"AllReduce", "ReduceScatter", "Reduce"};
  const int root = 1 % nranks;
  acclComm_t comm;
  accStream_t stream;
  MT_ACC(accStreamCreate(&stream));
  MT_ACCL(mtCommInit(&comm, rank, nranks));
  FILE* out = NULL;
  if (rank == 0 && !(out = fopen(argv[1], "w"))) {
    fprintf(stderr, "cannot write %s\n", argv[1]);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  size_t orderMatters = 0; /* elements where the two orders differ (rank 0, AllReduce) */
  for (int ti = 0; ti < 3; ti++) {
    const acclDataType_t t = types[ti];
    const size_t es = tdSize(t), total = count * (size_t)nranks;
    uint8_t* hostSend = malloc(total * es);
    uint8_t* hostRecv = malloc(total * es);
    MT_CHECK(hostSend && hostRecv);
    void *send, *recv;
    MT_ACC(accMalloc(&send, total * es));
    MT_ACC(accMalloc(&recv, total * es));
    for (int f = 0; f < 3; f++) {
      /* AllReduce / Reduce: elements 0..count; ReduceScatter: block b is elements b*count.. */
      const size_t sendElems = f == 1 ? total : count, recvElems = count;
      for (size_t i = 0; i < sendElems; i++) tdStore(t, hostSend, i, inputOf(t, rank, i));
      MT_ACC(accMemcpy(send, hostSend, sendElems * es, accMemcpyHostToDevice));
      MT_ACC(accMemset(recv, 0, recvElems * es));
      if (f == 0) MT_ACCL(acclAllReduce(send, recv, count, t, acclSum, comm, stream));
      if (f == 1) MT_ACCL(acclReduceScatter(send, recv, count, t, acclSum, comm, stream));
      if (f == 2) MT_ACCL(acclReduce(send, recv, count, t, acclSum, root, comm, stream));
      MT_ACC(accStreamSynchronize(stream));
      MT_ACC(accMemcpy(hostRecv, recv, recvElems * es, accMemcpyDeviceToHost));
      const int has = f != 2 || rank == root;
      size_t bad = 0, firstBad = 0;
      for (size_t i = 0; has && i < recvElems; i++) {
        const size_t g = f == 1 ? (size_t)rank * count + i : i; /* the element of the inputs */
        double want = fold(t, g, wrongOrder);
        if (f == 0 && rank == 0 && fold(t, g, !wrongOrder) != want) orderMatters++;
        uint8_t w[8];
        tdStore(t, w, 0, want);
        if (memcmp(w, hostRecv + i * es, es) != 0 && bad++ == 0) firstBad = i;
      }
      if (expectFold && bad) {
        fprintf(stderr,
                "rank %d: %s %s: %zu of %zu elements differ from the fold in %s rank order (first: %zu, %.9g)\n", rank,
                funcNames[f], typeNames[ti], bad, recvElems, wrongOrder ? "reverse" : "", firstBad,
                tdLoad(t, hostRecv, firstBad));
        MT_CHECK(bad == 0);
      }
      uint64_t h = has ? fnv(0xcbf29ce484222325ull, hostRecv, recvElems * es) : 0;
      uint64_t* all = rank == 0 ? malloc(sizeof(uint64_t) * (size_t)nranks) : NULL;
      MPI_Gather(&h, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
      if (rank == 0) {
        uint64_t hh = fnv(0xcbf29ce484222325ull, all, sizeof(uint64_t) * (size_t)nranks);
        fprintf(out, "%s %s np=%d count=%zu %016llx\n", funcNames[f], typeNames[ti], nranks, count,
                (unsigned long long)hh);
        free(all);
      }
    }
    MT_ACC(accFree(send));
    MT_ACC(accFree(recv));
    free(hostSend);
    free(hostRecv);
  }
  /* inputs where the order cannot matter would make the comparison empty */
  if (rank == 0 && nranks > 2) {
    printf(
        "mpi_deterministic: %zu of %zu AllReduce elements per datatype pair differ between rank order and its "
        "reverse\n",
        orderMatters, 3 * count);
    MT_CHECK(orderMatters > 0);
  }
  if (out) fclose(out);
  MT_ACCL(acclCommDestroy(comm));
  MT_ACC(accStreamDestroy(stream));
  return mtFinish("mpi_deterministic");
}
