/* backend_mpi.c - the reference: the same collectives through MPI on host
 * memory (MPI_Allreduce, MPI_Allgather, MPI_Reduce_scatter_block, MPI_Bcast,
 * MPI_Reduce, MPI_Alltoall, MPI_Sendrecv), with NCCL's argument conventions
 * mapped onto MPI's:
 *  - half and bfloat16 are 2-byte MPI types with user-defined reductions
 *    (MPI has none for them), so they are slow by construction;
 *  - Avg is MPI_SUM followed by a division of the result (MPI has no avg);
 *  - in-place ReduceScatter leaves MPI's result at the start of the buffer and
 *    moves it to the rank's block, out-of-place Broadcast copies on the root. */
#include "config.h"
#include <limits.h>
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

#define TWO_BYTE_OP(name, expr)                                                 \
  static void name(void* in, void* inout, int* len, MPI_Datatype* dt) {         \
    const uint16_t* a = in;                                                     \
    uint16_t* b = inout;                                                        \
    for (int i = 0; i < *len; i++) {                                            \
      float x = load16(a + i, *dt), y = load16(b + i, *dt);                     \
      b[i] = store16((expr), *dt);                                              \
    }                                                                           \
  }
TWO_BYTE_OP(opSum16, x + y)
TWO_BYTE_OP(opProd16, x * y)
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

static MPI_Op mpiOp(int op, int dtype) {
  int idx = op == acclAvg ? acclSum : op; /* Avg: sum now, divide after */
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
  return perfError;
}

static perfResult_t countOk(size_t count) {
  if (count <= (size_t)INT_MAX) return perfSuccess;
  fprintf(stderr, "perf: count %zu exceeds MPI's int counts\n", count);
  return perfError;
}

static perfResult_t init(perfEnv* env) {
  if (env->nLocal != 1) {
    if (env->proc == 0) fprintf(stderr, "perf: the MPI reference runs one rank per process (-g 1)\n");
    return perfError;
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

static perfResult_t fini(perfEnv* env) {
  (void)env;
  for (int i = 0; i < 4; i++) MPI_Op_free(&twoByteOps[i]);
  MPI_Type_free(&halfType);
  MPI_Type_free(&bf16Type);
  return perfSuccess;
}

static void version(perfEnv* env, char* buf, size_t len) {
  (void)env;
  char lib[MPI_MAX_LIBRARY_VERSION_STRING];
  int n = 0;
  MPI_Get_library_version(lib, &n);
  lib[strcspn(lib, ",\n")] = '\0';
  snprintf(buf, len, "acc-ccl-tests version %s (git %s) backend: mpi, library: %s", PACKAGE_VERSION,
           ACCL_GIT_HASH, lib);
}

static void describe(perfEnv* env, int l, char* name, size_t len, int* busId) {
  (void)env; (void)l;
  snprintf(name, len, "host memory (MPI)");
  *busId = 0;
}

static perfResult_t hostAlloc(perfEnv* env, int l, size_t bytes, void** ptr) {
  (void)env; (void)l;
  *ptr = aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (*ptr == NULL) {
    fprintf(stderr, "perf: cannot allocate %zu bytes of host memory\n", bytes);
    return perfError;
  }
  return perfSuccess;
}

static perfResult_t hostFree(perfEnv* env, int l, void* ptr) {
  (void)env; (void)l;
  free(ptr);
  return perfSuccess;
}

static perfResult_t copy(perfEnv* env, int l, void* dst, const void* src, size_t bytes) {
  (void)env; (void)l;
  memcpy(dst, src, bytes);
  return perfSuccess;
}

/* MPI calls are blocking: groups and stream waits have nothing to do. */
static perfResult_t noGroup(void) { return perfSuccess; }
static perfResult_t noSync(perfEnv* env, int l) { (void)env; (void)l; return perfSuccess; }

static perfResult_t allReduce(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype, int op) {
  (void)l;
  PERFCHECK(countOk(count));
  PERFCHECK(mpiCheck(MPI_Allreduce(s == r ? MPI_IN_PLACE : s, r, (int)count, mpiType(dtype), mpiOp(op, dtype),
                                   MPI_COMM_WORLD), "MPI_Allreduce"));
  finishAvg(r, count, dtype, op, env->nRanks);
  return perfSuccess;
}

static perfResult_t allGather(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype) {
  int inPlace = (const char*)s == (const char*)r + (size_t)env->rank[l] * count * perfTypeSize(dtype);
  PERFCHECK(countOk(count));
  MPI_Datatype t = mpiType(dtype);
  return mpiCheck(MPI_Allgather(inPlace ? MPI_IN_PLACE : s, (int)count, t, r, (int)count, t, MPI_COMM_WORLD),
                  "MPI_Allgather");
}

static perfResult_t reduceScatter(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype, int op) {
  size_t blockBytes = count * perfTypeSize(dtype);
  int rank = env->rank[l];
  int inPlace = (const char*)r == (const char*)s + (size_t)rank * blockBytes;
  PERFCHECK(countOk(count));
  void* out = inPlace ? (void*)s : r;
  PERFCHECK(mpiCheck(MPI_Reduce_scatter_block(inPlace ? MPI_IN_PLACE : s, out, (int)count, mpiType(dtype),
                                              mpiOp(op, dtype), MPI_COMM_WORLD), "MPI_Reduce_scatter_block"));
  if (inPlace && rank != 0) memcpy(r, s, blockBytes);
  finishAvg(r, count, dtype, op, env->nRanks);
  return perfSuccess;
}

static perfResult_t broadcast(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype, int root) {
  PERFCHECK(countOk(count));
  if (env->rank[l] == root && s != r) memcpy(r, s, count * perfTypeSize(dtype));
  return mpiCheck(MPI_Bcast(r, (int)count, mpiType(dtype), root, MPI_COMM_WORLD), "MPI_Bcast");
}

static perfResult_t reduce(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype, int op, int root) {
  int isRoot = env->rank[l] == root;
  PERFCHECK(countOk(count));
  const void* in = (s == r && isRoot) ? MPI_IN_PLACE : s;
  PERFCHECK(mpiCheck(MPI_Reduce(in, r, (int)count, mpiType(dtype), mpiOp(op, dtype), root, MPI_COMM_WORLD),
                     "MPI_Reduce"));
  if (isRoot) finishAvg(r, count, dtype, op, env->nRanks);
  return perfSuccess;
}

static perfResult_t allToAll(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype) {
  (void)env; (void)l;
  PERFCHECK(countOk(count));
  MPI_Datatype t = mpiType(dtype);
  return mpiCheck(MPI_Alltoall(s == r ? MPI_IN_PLACE : s, (int)count, t, r, (int)count, t, MPI_COMM_WORLD),
                  "MPI_Alltoall");
}

static perfResult_t sendRecv(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype, int sendPeer,
                             int recvPeer) {
  (void)env; (void)l;
  PERFCHECK(countOk(count));
  MPI_Datatype t = mpiType(dtype);
  if (s == r)
    return mpiCheck(MPI_Sendrecv_replace(r, (int)count, t, sendPeer, 0, recvPeer, 0, MPI_COMM_WORLD,
                                         MPI_STATUS_IGNORE), "MPI_Sendrecv_replace");
  return mpiCheck(MPI_Sendrecv(s, (int)count, t, sendPeer, 0, r, (int)count, t, recvPeer, 0, MPI_COMM_WORLD,
                               MPI_STATUS_IGNORE), "MPI_Sendrecv");
}

const perfBackend perfBackendMpi = {"mpi",     init,      fini,          version,   describe, hostAlloc,
                                    hostFree,  copy,      copy,          noGroup,   noGroup,  noSync,
                                    allReduce, allGather, reduceScatter, broadcast, reduce,   allToAll,
                                    sendRecv};
