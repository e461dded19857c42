/* backend_accl.c - the perf driver's acc-ccl backend: one communicator and
 * one stream per local rank, buffers in device memory (accMalloc) or, with
 * -H, in malloc'd host memory. Each rank uses device
 * (local process index * ranks per process + local rank) % device count.
 * Communicators come from acclCommInitAll when one process drives every
 * rank, else from acclCommInitRank (one thread per local rank when -g > 1,
 * since each init blocks until all ranks arrive). */
#include "config.h"
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"

typedef struct {
  acclComm_t comm[PERF_MAX_LOCAL];
  accStream_t stream[PERF_MAX_LOCAL];
} acclState;

static acclState state;

static perfResult_t acclOk(acclResult_t r, const char* what, acclComm_t comm) {
  if (r == acclSuccess) return perfSuccess;
  fprintf(stderr, "perf: %s failed: %s (%s)\n", what, acclGetErrorString(r), acclGetLastError(comm));
  return perfError;
}

static perfResult_t accOk(accError_t e, const char* what) {
  if (e == accSuccess) return perfSuccess;
  fprintf(stderr, "perf: %s failed: %s\n", what, accGetErrorString(e));
  return perfError;
}

#define ACCL_OK(call, comm) PERFCHECK(acclOk((call), #call, (comm)))
#define ACC_OK(call) PERFCHECK(accOk((call), #call))

typedef struct {
  acclComm_t* comm;
  int nRanks, rank, device;
  acclUniqueId id;
  acclResult_t result;
} initJob;

static void* initRankThread(void* arg) {
  initJob* job = arg;
  accError_t e = accSetDevice(job->device);
  job->result = e == accSuccess ? acclCommInitRank(job->comm, job->nRanks, job->id, job->rank) : acclDeviceError;
  return NULL;
}

static perfResult_t initComms(perfEnv* env) {
  if (env->nProcs == 1) {
    ACCL_OK(acclCommInitAll(state.comm, env->nLocal, env->device), NULL);
    return perfSuccess;
  }
  acclUniqueId id;
  int ok = 1;
  if (env->proc == 0) ok = acclOk(acclGetUniqueId(&id), "acclGetUniqueId", NULL) == perfSuccess;
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (!ok) return perfError;
  MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD);
  if (env->nLocal == 1) {
    ACC_OK(accSetDevice(env->device[0]));
    ACCL_OK(acclCommInitRank(&state.comm[0], env->nRanks, id, env->rank[0]), NULL);
    return perfSuccess;
  }
  initJob jobs[PERF_MAX_LOCAL];
  pthread_t threads[PERF_MAX_LOCAL];
  int started = 0;
  perfResult_t res = perfSuccess;
  for (int l = 0; l < env->nLocal; l++) {
    jobs[l] = (initJob){&state.comm[l], env->nRanks, env->rank[l], env->device[l], id, acclSuccess};
    if (pthread_create(&threads[l], NULL, initRankThread, &jobs[l]) != 0) {
      fprintf(stderr, "perf: cannot start a thread to initialise local rank %d\n", l);
      res = perfError;
      break;
    }
    started++;
  }
  for (int l = 0; l < started; l++) {
    pthread_join(threads[l], NULL);
    if (acclOk(jobs[l].result, "acclCommInitRank", NULL) != perfSuccess) res = perfError;
  }
  return res;
}

static perfResult_t init(perfEnv* env) {
  int count = 0;
  ACC_OK(accGetDeviceCount(&count));
  if (count <= 0) {
    fprintf(stderr, "perf: no acc device found\n");
    return perfError;
  }
  for (int l = 0; l < env->nLocal; l++) env->device[l] = (env->localProc * env->nLocal + l) % count;
  PERFCHECK(initComms(env));
  for (int l = 0; l < env->nLocal; l++) {
    ACC_OK(accSetDevice(env->device[l]));
    ACC_OK(accStreamCreate(&state.stream[l]));
  }
  ACC_OK(accSetDevice(env->device[0]));
  return perfSuccess;
}

static perfResult_t fini(perfEnv* env) {
  perfResult_t res = perfSuccess;
  for (int l = 0; l < env->nLocal; l++) {
    if (state.stream[l] && accOk(accStreamDestroy(state.stream[l]), "accStreamDestroy") != perfSuccess)
      res = perfError;
    if (state.comm[l] && acclOk(acclCommDestroy(state.comm[l]), "acclCommDestroy", NULL) != perfSuccess)
      res = perfError;
  }
  return res;
}

static void version(perfEnv* env, char* buf, size_t len) {
  (void)env;
  int lib = 0;
  if (acclGetVersion(&lib) != acclSuccess) lib = -1;
  snprintf(buf, len, "acc-ccl-tests version %s (git %s) accl-headers=%d accl-library=%d", PACKAGE_VERSION,
           ACCL_GIT_HASH, ACCL_VERSION_CODE, lib);
}

static void describe(perfEnv* env, int l, char* name, size_t len, int* busId) {
  accDeviceProp prop;
  if (accGetDeviceProperties(&prop, env->device[l]) != accSuccess) {
    snprintf(name, len, "unknown device");
    *busId = 0;
    return;
  }
  snprintf(name, len, "%s%s", prop.name, env->args->hostBuffers ? " (host buffers)" : "");
  *busId = prop.pciBusId;
}

static perfResult_t alloc(perfEnv* env, int l, size_t bytes, void** ptr) {
  if (env->args->hostBuffers) {
    *ptr = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (*ptr == NULL) fprintf(stderr, "perf: cannot allocate %zu bytes of host memory\n", bytes);
    return *ptr ? perfSuccess : perfError;
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

static perfResult_t toHost(perfEnv* env, int l, void* dst, const void* src, size_t bytes) {
  if (env->args->hostBuffers) {
    memcpy(dst, src, bytes);
    return perfSuccess;
  }
  ACC_OK(accSetDevice(env->device[l]));
  ACC_OK(accMemcpy(dst, src, bytes, accMemcpyDeviceToHost));
  return perfSuccess;
}

static perfResult_t fromHost(perfEnv* env, int l, void* dst, const void* src, size_t bytes) {
  if (env->args->hostBuffers) {
    memcpy(dst, src, bytes);
    return perfSuccess;
  }
  ACC_OK(accSetDevice(env->device[l]));
  ACC_OK(accMemcpy(dst, src, bytes, accMemcpyHostToDevice));
  return perfSuccess;
}

static perfResult_t groupStart(void) {
  ACCL_OK(acclGroupStart(), NULL);
  return perfSuccess;
}

static perfResult_t groupEnd(void) {
  ACCL_OK(acclGroupEnd(), NULL);
  return perfSuccess;
}

static perfResult_t sync(perfEnv* env, int l) {
  (void)env;
  ACC_OK(accStreamSynchronize(state.stream[l]));
  return perfSuccess;
}

static perfResult_t allReduce(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype, int op) {
  (void)env;
  ACCL_OK(acclAllReduce(s, r, count, dtype, op, state.comm[l], state.stream[l]), state.comm[l]);
  return perfSuccess;
}

static perfResult_t allGather(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype) {
  (void)env;
  ACCL_OK(acclAllGather(s, r, count, dtype, state.comm[l], state.stream[l]), state.comm[l]);
  return perfSuccess;
}

static perfResult_t reduceScatter(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype, int op) {
  (void)env;
  ACCL_OK(acclReduceScatter(s, r, count, dtype, op, state.comm[l], state.stream[l]), state.comm[l]);
  return perfSuccess;
}

static perfResult_t broadcast(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype, int root) {
  (void)env;
  ACCL_OK(acclBroadcast(s, r, count, dtype, root, state.comm[l], state.stream[l]), state.comm[l]);
  return perfSuccess;
}

static perfResult_t reduce(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype, int op, int root) {
  (void)env;
  ACCL_OK(acclReduce(s, r, count, dtype, op, root, state.comm[l], state.stream[l]), state.comm[l]);
  return perfSuccess;
}

static perfResult_t allToAll(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype) {
  (void)env;
  ACCL_OK(acclAllToAll(s, r, count, dtype, state.comm[l], state.stream[l]), state.comm[l]);
  return perfSuccess;
}

static perfResult_t sendRecv(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype, int sendPeer,
                             int recvPeer) {
  (void)env;
  acclComm_t comm = state.comm[l];
  ACCL_OK(acclGroupStart(), comm);
  ACCL_OK(acclSend(s, count, dtype, sendPeer, comm, state.stream[l]), comm);
  ACCL_OK(acclRecv(r, count, dtype, recvPeer, comm, state.stream[l]), comm);
  ACCL_OK(acclGroupEnd(), comm);
  return perfSuccess;
}

const perfBackend perfBackendAccl = {"acc-ccl",  init,      fini,          version,   describe, alloc,
                                     release,    toHost,    fromHost,      groupStart, groupEnd, sync,
                                     allReduce,  allGather, reduceScatter, broadcast, reduce,   allToAll,
                                     sendRecv};
