/* backend_mpi.c - the reference: the same collectives through MPI on host
 * memory (MPI_Allreduce, MPI_Allgather, MPI_Reduce_scatter_block, MPI_Bcast,
 * MPI_Reduce, MPI_Alltoall, MPI_Sendrecv, MPI_Gather, MPI_Scatter), with
 * NCCL's argument conventions mapped onto MPI's:
 *  - half and bfloat16 are 2-byte MPI types with user-defined reductions
 *    (MPI has none for them), so they are slow by construction;
 *  - Avg is MPI_SUM followed by a division of the result (MPI has no avg);
 *    PreMulSum (mulsum) scales the input into a scratch buffer, then MPI_SUM;
 *  - in-place ReduceScatter leaves MPI's result at the start of the buffer and
 *    moves it to the rank's block, out-of-place Broadcast copies on the root.
 * One rank per process (-t 1 -g 1). MPI calls return when done, so stream
 * waits have nothing to do and -I's events are host clock readings. */
#include "config.h"
#include <limits.h>
#include <time.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"

static MPI_Datatype halfType = MPI_DATATYPE_NULL, bf16Type = MPI_DATATYPE_NULL;
static MPI_Op twoByteOps[4]; /* sum, prod, max, min over halfType / bf16Type */

static float load16(const uint16_t* p, MPI_Datatype t) {
  return t == bf16Type ? acclBf16ToFloat(*p) : acclHalfToFloat(*p);
}
static uint16_t store16(float v, MPI_Datatype t) { return t == bf16Type ? acclFloatToBf16(v) : acclFloatToHalf(v); }

#define TWO_BYTE_OP(name, expr)                                         \
  static void name(void* in, void* inout, int* len, MPI_Datatype* dt) { \
    const uint16_t* a = in;                                             \
    uint16_t* b = inout;                                                \
    for (int i = 0; i < *len; i++) {                                    \
      float x = load16(a + i, *dt), y = load16(b + i, *dt);             \
      b[i] = store16((expr), *dt);                                      \
    }                                                                   \
  }
TWO_BYTE_OP(opSum16, x + y)
TWO_BYTE_OP(opProd16, x* y)
TWO_BYTE_OP(opMax16, x > y ? x : y)
TWO_BYTE_OP(opMin16, x < y ? x : y)

static MPI_Datatype mpiType(int dtype) {
  switch (dtype) {
    case acclInt8: return MPI_INT8_T;
    case acclUint8: return MPI_UINT8_T;
    case acclInt32: return MPI_INT32_T;
    case acclUint32: return MPI_UINT32_T;
    case acclInt64: return MPI_INT64_T;
    case acclUint64: return MPI_UINT64_T;
    case acclFloat16: return halfType;
    case acclFloat32: return MPI_FLOAT;
    case acclFloat64: return MPI_DOUBLE;
    case acclBfloat16: return bf16Type;
    default: return MPI_DATATYPE_NULL;
  }
}

/* PreMulSum handles: the scalar in the low bits. */
#define PREMUL_BASE 0x100

static MPI_Op mpiOp(int op, int dtype) {
  int idx = (op == acclAvg || op >= PREMUL_BASE) ? acclSum : op; /* Avg: sum now, divide after */
  if (dtype == acclFloat16 || dtype == acclBfloat16) return twoByteOps[idx];
  switch (idx) {
    case acclProd: return MPI_PROD;
    case acclMax: return MPI_MAX;
    case acclMin: return MPI_MIN;
    default: return MPI_SUM;
  }
}

/* Avg = sum / nranks, for floats rounded once, for integers truncated. */
static void finishAvg(void* buf, size_t count, int dtype, int op, int nRanks) {
  if (op != acclAvg) return;
  for (size_t i = 0; i < count; i++) {
    double v = perfLoad(buf, i, dtype) / nRanks;
    perfStore(buf, i, dtype, perfTypeIsFloat(dtype) ? v : (double)(int64_t)v);
  }
}

static perfResult_t mpiCheck(int err, const char* what) {
  if (err == MPI_SUCCESS) return perfSuccess;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(err, msg, &len);
  fprintf(stderr, "perf: %s failed: %s\n", what, msg);
  return perfLibError;
}

static perfResult_t countOk(size_t count) {
  if (count <= (size_t)INT_MAX) return perfSuccess;
  fprintf(stderr, "perf: count %zu exceeds MPI's int counts\n", count);
  return perfInvalidUsage;
}

static void* scratch;
static size_t scratchBytes;

/* The input of a PreMulSum: s times the rank's scalar, in the scratch buffer. */
static perfResult_t premul(perfEnv* env, int l, const void** s, size_t count, int dtype, int op) {
  if (op < PREMUL_BASE) return perfSuccess;
  size_t bytes = count * perfTypeSize(dtype);
  if (bytes > scratchBytes) {
    void* p = realloc(scratch, bytes);
    if (p == NULL) {
      fprintf(stderr, "perf: cannot allocate %zu bytes of host memory\n", bytes);
      return perfDeviceError;
    }
    scratch = p;
    scratchBytes = bytes;
  }
  double scalar = perfPremulScalar(env->rank[l]);
  for (size_t i = 0; i < count; i++) perfStore(scratch, i, dtype, perfLoad(*s, i, dtype) * scalar);
  *s = scratch;
  return perfSuccess;
}

static perfResult_t init(perfEnv* env) {
  if (env->nLocal != 1) {
    if (env->proc == 0) fprintf(stderr, "perf: the MPI reference runs one rank per process (-t 1 -g 1)\n");
    return perfInvalidUsage;
  }
  env->device[0] = -1;
  MPI_Type_contiguous(2, MPI_BYTE, &halfType);
  MPI_Type_commit(&halfType);
  MPI_Type_contiguous(2, MPI_BYTE, &bf16Type);
  MPI_Type_commit(&bf16Type);
  MPI_User_function* fns[4] = {opSum16, opProd16, opMax16, opMin16};
  for (int i = 0; i < 4; i++) MPI_Op_create(fns[i], 1, &twoByteOps[i]);
  return perfSuccess;
}

static perfResult_t initComms(perfEnv* env, int first, int n, const void* id) {
  (void)env;
  (void)first;
  (void)n;
  (void)id;
  return perfSuccess;
}

static perfResult_t getUniqueId(void* id, size_t* len) {
  (void)id;
  *len = 0;
  return perfSuccess;
}

static perfResult_t fini(perfEnv* env) {
  (void)env;
  for (int i = 0; i < 4; i++) MPI_Op_free(&twoByteOps[i]);
  MPI_Type_free(&halfType);
  MPI_Type_free(&bf16Type);
  free(scratch);
  scratch = NULL;
  scratchBytes = 0;
  return perfSuccess;
}

/* Open MPI's version as a number (40104 for 4.1.4), 0 for another MPI. */
static int libraryVersion(void) {
  char lib[MPI_MAX_LIBRARY_VERSION_STRING];
  int n = 0, major = 0, minor = 0, patch = 0;
  MPI_Get_library_version(lib, &n);
  const char* v = strstr(lib, "Open MPI v");
  if (v && sscanf(v, "Open MPI v%d.%d.%d", &major, &minor, &patch) >= 2) return major * 10000 + minor * 100 + patch;
  return 0;
}

static void version(char* buf, size_t len) {
  int headers = 0;
#if defined(OMPI_MAJOR_VERSION) && defined(OMPI_MINOR_VERSION) && defined(OMPI_RELEASE_VERSION)
  headers = OMPI_MAJOR_VERSION * 10000 + OMPI_MINOR_VERSION * 100 + OMPI_RELEASE_VERSION;
#endif
  snprintf(buf, len, "acc-ccl-tests version %s openmpi-headers=%d openmpi-library=%d", PACKAGE_VERSION, headers,
           libraryVersion());
}

static const char* lastError(void) { return ""; }

static perfResult_t describe(perfEnv* env, int l, perfDeviceInfo* info) {
  (void)env;
  (void)l;
  snprintf(info->name, sizeof(info->name), "host memory (MPI)");
  snprintf(info->busId, sizeof(info->busId), "0000:00:00");
  info->totalMem = 0;
  return perfSuccess;
}

static perfResult_t hostAlloc(perfEnv* env, int l, size_t bytes, void** ptr) {
  (void)env;
  (void)l;
  *ptr = aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (*ptr == NULL) {
    fprintf(stderr, "perf: cannot allocate %zu bytes of host memory\n", bytes);
    return perfDeviceError;
  }
  return perfSuccess;
}

static perfResult_t hostFree(perfEnv* env, int l, void* ptr) {
  (void)env;
  (void)l;
  free(ptr);
  return perfSuccess;
}

/* MPI calls are blocking: groups and stream waits have nothing to do. */
static perfResult_t noGroup(void) { return perfSuccess; }
static perfResult_t noSync(perfEnv* env, int l) {
  (void)env;
  (void)l;
  return perfSuccess;
}
static perfResult_t alwaysDone(perfEnv* env, int l, int* done) {
  (void)env;
  (void)l;
  *done = 1;
  return perfSuccess;
}
static void noAbort(perfEnv* env, int l) {
  (void)env;
  (void)l;
}

static perfResult_t eventCreate(perfEnv* env, int l, void** ev) {
  (void)env;
  (void)l;
  *ev = calloc(1, sizeof(double));
  return *ev ? perfSuccess : perfInternalError;
}

static perfResult_t eventRecord(perfEnv* env, int l, void* ev) {
  (void)env;
  (void)l;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  *(double*)ev = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
  return perfSuccess;
}

static perfResult_t eventElapsed(float* ms, void* start, void* stop) {
  *ms = (float)((*(double*)stop - *(double*)start) * 1e3);
  return perfSuccess;
}

static void eventDestroy(void* ev) { free(ev); }

static perfResult_t createPremulSum(perfEnv* env, int l, int dtype, int* op) {
  (void)dtype;
  *op = PREMUL_BASE + (int)perfPremulScalar(env->rank[l]);
  return perfSuccess;
}

static perfResult_t destroyOp(perfEnv* env, int l, int op) {
  (void)env;
  (void)l;
  (void)op;
  return perfSuccess;
}

/* The reductions: PreMulSum's scaled input, MPI's call, then Avg's division
 * where the result lands. */
static perfResult_t reduction(perfEnv* env, int l, int coll, const void* s, void* r, size_t count, int dtype, int op,
                              int root) {
  int rank = env->rank[l], isRoot = rank == root;
  size_t blockBytes = count * perfTypeSize(dtype);
  MPI_Datatype t = mpiType(dtype);
  MPI_Op mop = mpiOp(op, dtype);
  PERFCHECK(premul(env, l, &s, coll == perfReduceScatter ? count * (size_t)env->nRanks : count, dtype, op));
  if (coll == perfAllReduce)
    PERFCHECK(
        mpiCheck(MPI_Allreduce(s == r ? MPI_IN_PLACE : s, r, (int)count, t, mop, MPI_COMM_WORLD), "MPI_Allreduce"));
  if (coll == perfReduce)
    PERFCHECK(mpiCheck(MPI_Reduce((s == r && isRoot) ? MPI_IN_PLACE : s, r, (int)count, t, mop, root, MPI_COMM_WORLD),
                       "MPI_Reduce"));
  if (coll == perfReduceScatter) {
    int inPlace = (const char*)r == (const char*)s + (size_t)rank * blockBytes;
    void* out = inPlace ? (void*)s : r;
    PERFCHECK(mpiCheck(MPI_Reduce_scatter_block(inPlace ? MPI_IN_PLACE : s, out, (int)count, t, mop, MPI_COMM_WORLD),
                       "MPI_Reduce_scatter_block"));
    if (inPlace && rank != 0) memcpy(r, s, blockBytes);
  }
  if (coll != perfReduce || isRoot) finishAvg(r, count, dtype, op, env->nRanks);
  return perfSuccess;
}

/* One entry for the library collectives; in place is told by where the
 * buffers alias (NCCL's convention), which MPI says with MPI_IN_PLACE. */
static perfResult_t collective(perfEnv* env, int l, int coll, const void* s, void* r, size_t count, int dtype, int op,
                               int root) {
  PERFCHECK(countOk(count));
  if (coll == perfAllReduce || coll == perfReduce || coll == perfReduceScatter)
    return reduction(env, l, coll, s, r, count, dtype, op, root);
  int rank = env->rank[l], isRoot = rank == root, n = (int)count;
  size_t blockBytes = count * perfTypeSize(dtype);
  MPI_Datatype t = mpiType(dtype);
  switch (coll) {
    case perfAllGather: {
      int inPlace = (const char*)s == (const char*)r + (size_t)rank * blockBytes;
      return mpiCheck(MPI_Allgather(inPlace ? MPI_IN_PLACE : s, n, t, r, n, t, MPI_COMM_WORLD), "MPI_Allgather");
    }
    case perfBroadcast:
      if (isRoot && s != r) memcpy(r, s, blockBytes);
      return mpiCheck(MPI_Bcast(r, n, t, root, MPI_COMM_WORLD), "MPI_Bcast");
    case perfAllToAll:
      return mpiCheck(MPI_Alltoall(s == r ? MPI_IN_PLACE : s, n, t, r, n, t, MPI_COMM_WORLD), "MPI_Alltoall");
    case perfGather: {
      int inPlace = isRoot && (const char*)s == (const char*)r + (size_t)root * blockBytes;
      return mpiCheck(MPI_Gather(inPlace ? MPI_IN_PLACE : s, n, t, r, n, t, root, MPI_COMM_WORLD), "MPI_Gather");
    }
    case perfScatter: {
      int inPlace = isRoot && (const char*)r == (const char*)s + (size_t)root * blockBytes;
      return mpiCheck(MPI_Scatter(s, n, t, inPlace ? MPI_IN_PLACE : r, n, t, root, MPI_COMM_WORLD), "MPI_Scatter");
    }
    default: return perfInternalError;
  }
}

static perfResult_t sendRecv(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype, int sendPeer,
                             int recvPeer) {
  (void)env;
  (void)l;
  PERFCHECK(countOk(count));
  MPI_Datatype t = mpiType(dtype);
  if (s == r)
    return mpiCheck(MPI_Sendrecv_replace(r, (int)count, t, sendPeer, 0, recvPeer, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
                    "MPI_Sendrecv_replace");
  return mpiCheck(
      MPI_Sendrecv(s, (int)count, t, sendPeer, 0, r, (int)count, t, recvPeer, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
      "MPI_Sendrecv");
}

static perfResult_t copyBytes(perfEnv* env, int l, void* dst, const void* src, size_t bytes) {
  (void)env;
  (void)l;
  if (bytes) memmove(dst, src, bytes);
  return perfSuccess;
}

const perfBackend perfBackendMpi = {
    .name = "mpi",
    .init = init,
    .initComms = initComms,
    .getUniqueId = getUniqueId,
    .fini = fini,
    .version = version,
    .libraryVersion = libraryVersion,
    .lastError = lastError,
    .describe = describe,
    .alloc = hostAlloc,
    .free = hostFree,
    .toHost = copyBytes,
    .fromHost = copyBytes,
    .groupStart = noGroup,
    .groupEnd = noGroup,
    .sync = noSync,
    .query = alwaysDone,
    .abort = noAbort,
    .eventCreate = eventCreate,
    .eventRecord = eventRecord,
    .eventElapsed = eventElapsed,
    .eventDestroy = eventDestroy,
    .createPremulSum = createPremulSum,
    .destroyOp = destroyOp,
    .collective = collective,
    .sendRecv = sendRecv,
    .copy = copyBytes,
};
