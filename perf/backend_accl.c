/* backend_accl.c - the perf driver's acc-ccl backend: one communicator and
 * one stream (or, with -y, the device's default stream) per local rank,
 * buffers in device memory (accMalloc) or, with -H, in malloc'd host memory.
 * Gather and Scatter call acclGather / acclScatter, as nccl-tests does on
 * NCCL 2.28 and later. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common.h"

typedef struct {
  acclComm_t comm[PERF_MAX_LOCAL];
  accStream_t stream[PERF_MAX_LOCAL]; /* NULL with -y: the device's default stream */
} acclState;

static acclState state;

static perfResult_t acclOk(acclResult_t r, const char* what, acclComm_t comm) {
  if (r == acclSuccess) return perfSuccess;
  char host[64];
  if (gethostname(host, sizeof(host)) != 0) snprintf(host, sizeof(host), "unknown");
  host[sizeof(host) - 1] = '\0';
  host[strcspn(host, ".")] = '\0';
  printf("%s: Test acc-ccl failure %s: '%s / %s'\n", host, what, acclGetErrorString(r), acclGetLastError(comm));
  return perfLibError;
}

static perfResult_t accOk(accError_t e, const char* what) {
  if (e == accSuccess) return perfSuccess;
  printf("perf: %s failed: %s\n", what, accGetErrorString(e));
  return perfDeviceError;
}

#define ACCL_OK(call, comm) PERFCHECK(acclOk((call), #call, (comm)))
#define ACC_OK(call) PERFCHECK(accOk((call), #call))

/* With the default stream, work goes to the current device's: select it. */
static perfResult_t useDevice(perfEnv* env, int l) {
  if (state.stream[l] == NULL) ACC_OK(accSetDevice(env->device[l]));
  return perfSuccess;
}

static perfResult_t init(perfEnv* env) {
  int count = 0;
  ACC_OK(accGetDeviceCount(&count));
  for (int l = 0; l < env->nLocal; l++) {
    if (env->device[l] < 0 || env->device[l] >= count) {
      fprintf(stderr, "perf: %d devices needed in this process (from device %d), only %d found.\n",
              env->device[0] + env->nLocal, env->device[0], count);
      fprintf(stderr, "perf: check the processes per node (mpirun) and -t / -g, or ACCL_SIM_DEVICES.\n");
      return perfNotImplemented;
    }
  }
  if (env->args->streamNull && env->nGpus > 1) {
    /* acclGroupEnd launches grouped work on the default stream of the device
     * current at acclGroupEnd, not of each call's communicator: the devices'
     * work would all go to one device and never meet. */
    fprintf(stderr,
            "perf: -y 1 with -g > 1 needs acc-ccl to resolve the default stream when a grouped call is "
            "made; use -t threads instead of -g devices\n");
    return perfInvalidUsage;
  }
  memset(&state, 0, sizeof(state));
  for (int l = 0; l < env->nLocal; l++) {
    ACC_OK(accSetDevice(env->device[l]));
    if (!env->args->streamNull) ACC_OK(accStreamCreate(&state.stream[l]));
  }
  ACC_OK(accSetDevice(env->device[0]));
  return perfSuccess;
}

static perfResult_t getUniqueId(void* id, size_t* len) {
  if (*len < sizeof(acclUniqueId)) return perfInternalError;
  *len = sizeof(acclUniqueId);
  ACCL_OK(acclGetUniqueId((acclUniqueId*)id), NULL);
  return perfSuccess;
}

/* NCCL's idiom: acclGroupStart(); per device accSetDevice + acclCommInitRank;
 * acclGroupEnd(). In a group acc-ccl defers each acclCommInitRank (on the
 * device current at the call) to acclGroupEnd, which creates them together,
 * so that one thread's communicators rendezvous with each other. */
static perfResult_t initComms(perfEnv* env, int first, int n, const void* idBytes) {
  const acclUniqueId* id = idBytes;
  ACCL_OK(acclGroupStart(), NULL);
  for (int l = first; l < first + n; l++) {
    ACC_OK(accSetDevice(env->device[l]));
    ACCL_OK(acclCommInitRank(&state.comm[l], env->nRanks, *id, env->rank[l]), NULL);
  }
  ACCL_OK(acclGroupEnd(), NULL);
  ACC_OK(accSetDevice(env->device[first]));
  return perfSuccess;
}

static perfResult_t fini(perfEnv* env) {
  perfResult_t res = perfSuccess;
  for (int l = 0; l < env->nLocal; l++) {
    if (state.stream[l] && accOk(accStreamDestroy(state.stream[l]), "accStreamDestroy") != perfSuccess)
      res = perfDeviceError;
    if (state.comm[l] && acclOk(acclCommDestroy(state.comm[l]), "acclCommDestroy", NULL) != perfSuccess)
      res = perfLibError;
    state.stream[l] = NULL;
    state.comm[l] = NULL;
  }
  return res;
}

static int libraryVersion(void) {
  int lib = 0;
  return acclGetVersion(&lib) == acclSuccess ? lib : -1;
}

static void version(char* buf, size_t len) {
  snprintf(buf, len, "acc-ccl-tests version %s accl-headers=%d accl-library=%d", PACKAGE_VERSION, ACCL_VERSION_CODE,
           libraryVersion());
}

static const char* lastError(void) { return acclGetLastError(NULL); }

static perfResult_t describe(perfEnv* env, int l, perfDeviceInfo* info) {
  accDeviceProp prop;
  ACC_OK(accGetDeviceProperties(&prop, env->device[l]));
  snprintf(info->name, sizeof(info->name), "%s%s", prop.name, env->args->hostBuffers ? " (host buffers)" : "");
  snprintf(info->busId, sizeof(info->busId), "%04x:%02x:%02x", 0, (unsigned)prop.pciBusId & 0xff, 0);
  info->totalMem = prop.totalGlobalMem;
  return perfSuccess;
}

static perfResult_t alloc(perfEnv* env, int l, size_t bytes, void** ptr) {
  if (env->args->hostBuffers) {
    *ptr = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (*ptr == NULL) fprintf(stderr, "perf: cannot allocate %zu bytes of host memory\n", bytes);
    return *ptr ? perfSuccess : perfDeviceError;
  }
  ACC_OK(accSetDevice(env->device[l]));
  ACC_OK(accMalloc(ptr, bytes));
  return perfSuccess;
}

static perfResult_t release(perfEnv* env, int l, void* ptr) {
  if (env->args->hostBuffers) {
    free(ptr);
    return perfSuccess;
  }
  ACC_OK(accSetDevice(env->device[l]));
  ACC_OK(accFree(ptr));
  return perfSuccess;
}

/* Host <-> buffer copies: memcpy for -H's host buffers. */
static perfResult_t hostCopy(perfEnv* env, int l, void* dst, const void* src, size_t bytes, accMemcpyKind kind) {
  if (env->args->hostBuffers) {
    memcpy(dst, src, bytes);
    return perfSuccess;
  }
  ACC_OK(accSetDevice(env->device[l]));
  ACC_OK(accMemcpy(dst, src, bytes, kind));
  return perfSuccess;
}

static perfResult_t toHost(perfEnv* env, int l, void* dst, const void* src, size_t bytes) {
  return hostCopy(env, l, dst, src, bytes, accMemcpyDeviceToHost);
}

static perfResult_t fromHost(perfEnv* env, int l, void* dst, const void* src, size_t bytes) {
  return hostCopy(env, l, dst, src, bytes, accMemcpyHostToDevice);
}

static perfResult_t groupStart(void) {
  ACCL_OK(acclGroupStart(), NULL);
  return perfSuccess;
}

static perfResult_t groupEnd(void) {
  ACCL_OK(acclGroupEnd(), NULL);
  return perfSuccess;
}

static perfResult_t syncStream(perfEnv* env, int l) {
  PERFCHECK(useDevice(env, l));
  ACC_OK(accStreamSynchronize(state.stream[l]));
  return perfSuccess;
}

static perfResult_t query(perfEnv* env, int l, int* done) {
  PERFCHECK(useDevice(env, l));
  accError_t e = accStreamQuery(state.stream[l]);
  if (e == accSuccess) {
    *done = 1;
    return perfSuccess;
  }
  if (e != accErrorNotReady) ACC_OK(e);
  acclResult_t async = acclSuccess;
  ACCL_OK(acclCommGetAsyncError(state.comm[l], &async), state.comm[l]);
  ACCL_OK(async, state.comm[l]);
  *done = 0;
  return perfSuccess;
}

static void abortComm(perfEnv* env, int l) {
  (void)env;
  if (state.comm[l]) acclCommAbort(state.comm[l]);
  state.comm[l] = NULL;
}

static perfResult_t eventCreate(perfEnv* env, int l, void** ev) {
  ACC_OK(accSetDevice(env->device[l]));
  ACC_OK(accEventCreate((accEvent_t*)ev));
  return perfSuccess;
}

static perfResult_t eventRecord(perfEnv* env, int l, void* ev) {
  PERFCHECK(useDevice(env, l));
  ACC_OK(accEventRecord((accEvent_t)ev, state.stream[l]));
  return perfSuccess;
}

static perfResult_t eventElapsed(float* ms, void* start, void* stop) {
  ACC_OK(accEventSynchronize((accEvent_t)stop));
  ACC_OK(accEventElapsedTime(ms, (accEvent_t)start, (accEvent_t)stop));
  return perfSuccess;
}

static void eventDestroy(void* ev) { accEventDestroy((accEvent_t)ev); }

static perfResult_t createPremulSum(perfEnv* env, int l, int dtype, int* op) {
  unsigned char scalar[8];
  perfStore(scalar, 0, dtype, perfPremulScalar(env->rank[l]));
  acclRedOp_t handle;
  ACCL_OK(acclRedOpCreatePreMulSum(&handle, scalar, dtype, acclScalarHostImmediate, state.comm[l]), state.comm[l]);
  *op = (int)handle;
  return perfSuccess;
}

static perfResult_t destroyOp(perfEnv* env, int l, int op) {
  (void)env;
  ACCL_OK(acclRedOpDestroy((acclRedOp_t)op, state.comm[l]), state.comm[l]);
  return perfSuccess;
}

/* The failure line names the call, as ACCL_OK's does. */
#define CALL(fn, ...) (what = #fn, fn(__VA_ARGS__))

static perfResult_t collective(perfEnv* env, int l, int coll, const void* s, void* r, size_t count, int dtype, int op,
                               int root) {
  acclComm_t comm = state.comm[l];
  accStream_t stream = state.stream[l];
  const char* what;
  acclResult_t res;
  PERFCHECK(useDevice(env, l));
  switch (coll) {
    case perfAllReduce: res = CALL(acclAllReduce, s, r, count, dtype, op, comm, stream); break;
    case perfAllGather: res = CALL(acclAllGather, s, r, count, dtype, comm, stream); break;
    case perfReduceScatter: res = CALL(acclReduceScatter, s, r, count, dtype, op, comm, stream); break;
    case perfBroadcast: res = CALL(acclBroadcast, s, r, count, dtype, root, comm, stream); break;
    case perfReduce: res = CALL(acclReduce, s, r, count, dtype, op, root, comm, stream); break;
    case perfAllToAll: res = CALL(acclAlltoAll, s, r, count, dtype, comm, stream); break;
    case perfGather: res = CALL(acclGather, s, r, count, dtype, root, comm, stream); break;
    case perfScatter: res = CALL(acclScatter, s, r, count, dtype, root, comm, stream); break;
    default: return perfInternalError;
  }
  PERFCHECK(acclOk(res, what, comm));
  return perfSuccess;
}

static perfResult_t sendRecv(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype, int sendPeer,
                             int recvPeer) {
  acclComm_t comm = state.comm[l];
  PERFCHECK(useDevice(env, l));
  ACCL_OK(acclGroupStart(), comm);
  ACCL_OK(acclSend(s, count, dtype, sendPeer, comm, state.stream[l]), comm);
  ACCL_OK(acclRecv(r, count, dtype, recvPeer, comm, state.stream[l]), comm);
  ACCL_OK(acclGroupEnd(), comm);
  return perfSuccess;
}

static perfResult_t copy(perfEnv* env, int l, void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return perfSuccess;
  PERFCHECK(useDevice(env, l));
  ACC_OK(accMemcpyAsync(dst, src, bytes, accMemcpyDefault, state.stream[l]));
  return perfSuccess;
}

const perfBackend perfBackendAccl = {
    .name = "acc-ccl",
    .init = init,
    .initComms = initComms,
    .getUniqueId = getUniqueId,
    .fini = fini,
    .version = version,
    .libraryVersion = libraryVersion,
    .lastError = lastError,
    .describe = describe,
    .alloc = alloc,
    .free = release,
    .toHost = toHost,
    .fromHost = fromHost,
    .groupStart = groupStart,
    .groupEnd = groupEnd,
    .sync = syncStream,
    .query = query,
    .abort = abortComm,
    .eventCreate = eventCreate,
    .eventRecord = eventRecord,
    .eventElapsed = eventElapsed,
    .eventDestroy = eventDestroy,
    .createPremulSum = createPremulSum,
    .destroyOp = destroyOp,
    .collective = collective,
    .sendRecv = sendRecv,
    .copy = copy,
};
