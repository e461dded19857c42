/* init.c - the life of a communicator: creation (bootstrap, peers, topology,
 * collectives and transports), split, init-all, destroy and abort. The only
 * file that calls every layer; everything below it is called from here. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bootstrap/bootstrap.h"
#include "collectives/coll.h"
#include "comm/comm.h"
#include "core/param.h"
#include "topology/topo.h"

/* ------------------------------------------------------------- lifecycle */

static void logVersion(void) {
  acclLog(ACCL_LOG_VERSION, ACCL_INIT, __FILE__, __LINE__, "acc-ccl version %d.%d.%d", ACCL_MAJOR, ACCL_MINOR,
          ACCL_PATCH);
}

static void logVersionOnce(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, logVersion);
}

/* Everything after the bootstrap is connected; on failure undoes its own steps. */
static acclResult_t commSetup(struct acclComm* comm) {
  acclResult_t res;
  comm->commHash = acclBootstrapHash(comm->bootstrap);
  if (comm->name[0] == '\0') snprintf(comm->name, sizeof(comm->name), "%016llx", (unsigned long long)comm->commHash);
  ACCLCHECK(acclCommExchangePeers(comm));
  ACCLCHECK(acclTopoInit(comm));
  ACCLCHECKGOTO(acclCollSetup(comm), res, failTopo);
  ACCLCHECKGOTO(acclBootstrapBarrier(comm->bootstrap), res, failColl);
  ACCLCHECKGOTO(acclCommRegister(comm), res, failColl);
  INFO(ACCL_INIT,
       "comm %p %s rank %d nranks %d device %d busId %llx - Init COMPLETE (node %d of %d, local rank %d of %d)",
       (void*)comm, comm->name, comm->rank, comm->nranks, comm->device,
       (unsigned long long)comm->peerInfo[comm->rank].busId, comm->node, comm->nNodes, comm->localRank,
       comm->localRanks);
  return acclSuccess;
failColl:
  acclCollTeardown(comm, 1);
failTopo:
  acclTopoFini(comm);
  return res;
}

static acclResult_t acclCommCreate(const acclUniqueId* id, int nranks, int rank, int device, const char* name,
                                   int nChannels, struct acclComm** out) {
  logVersionOnce();
  struct acclComm* comm = acclCommAlloc(nranks, rank, device, name, nChannels);
  if (comm == NULL) {
    WARN("out of memory for a communicator");
    return acclSystemError;
  }
  acclLogDevice = device;
  INFO(ACCL_INIT, "rank %d nranks %d device %d - Init START", rank, nranks, device);
  acclResult_t res;
  ACCLCHECKGOTO(acclBootstrapInit(id, rank, nranks, &comm->abortFlag, &comm->bootstrap), res, fail);
  ACCLCHECKGOTO(commSetup(comm), res, fail);
  *out = comm;
  return acclSuccess;
fail:
  acclCommFree(comm);
  return res;
}

static acclResult_t acclCommCreateSplit(struct acclComm* parent, const int* members, int nmembers, int myNewRank,
                                        const char* name, int nChannels, struct acclComm** out) {
  struct acclComm* comm = acclCommAlloc(nmembers, myNewRank, parent->device, name, nChannels);
  if (comm == NULL) {
    WARN("out of memory for a communicator");
    return acclSystemError;
  }
  acclResult_t res;
  INFO(ACCL_INIT, "split of comm %s: new rank %d of %d - Init START", parent->name, myNewRank, nmembers);
  ACCLCHECKGOTO(acclBootstrapSplit(parent->bootstrap, members, nmembers, myNewRank, &comm->abortFlag, &comm->bootstrap),
                res, fail);
  acclLogDevice = comm->device;
  ACCLCHECKGOTO(commSetup(comm), res, fail);
  *out = comm;
  return acclSuccess;
fail:
  acclCommFree(comm);
  return res;
}

static acclResult_t acclCommRelease(struct acclComm* comm, int abort, const char* fn) {
  ACCLCHECK(acclCommBeginRelease(comm, abort, fn));
  int rank = comm->rank;
  acclLogDevice = comm->device;
  char name[sizeof(comm->name)];
  memcpy(name, comm->name, sizeof(name));
  INFO(ACCL_INIT, "comm %s rank %d - %s START", name, rank, abort ? "Abort" : "Destroy");
  /* Destroy waits for queued work; abort stops it (and wakes whatever waits). */
  acclCollTeardown(comm, abort);
  if (ACCL_LOG_ON(ACCL_LOG_INFO, ACCL_DEV)) accDevLogCounters(comm->device);
  acclTopoFini(comm);
  acclCommUnregister(comm);
  acclCommFree(comm);
  INFO(ACCL_INIT, "comm %s rank %d - %s COMPLETE", name, rank, abort ? "Abort" : "Destroy");
  return acclSuccess;
}

/* -------------------------------------------------- create and destroy */

/* Prefix the last error text (set by a helper) with the entry point and argument. */
static acclResult_t prefixLastError(acclResult_t res, const char* fn, const char* arg) {
  char text[768];
  snprintf(text, sizeof(text), "%s", acclLastErrorText());
  ACCL_ERROR(res, "%s: argument %s: %s", fn, arg, text);
}

ACCL_EXPORT acclResult_t acclCommInitRank(acclComm_t* comm, int nranks, acclUniqueId commId, int rank) {
  const char* fn = "acclCommInitRank";
  if (comm == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument comm is NULL", fn);
  *comm = NULL;
  if (nranks < 1 || nranks > ACCL_MAX_RANKS)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument nranks is %d, must be in [1, %d]", fn, nranks, ACCL_MAX_RANKS);
  if (rank < 0 || rank >= nranks)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument rank is %d, must be in [0, %d)", fn, rank, nranks);
  const char* pinned = acclParamCommId();
  if (pinned == NULL || *pinned == '\0') {
    /* Reject a corrupted id before any network activity. */
    struct sockaddr_in6 addr;
    uint8_t secret[ACCL_SECRET_BYTES];
    acclResult_t res = acclIdDecode(&commId, (struct sockaddr*)&addr, secret);
    if (res != acclSuccess) return prefixLastError(res, fn, "commId");
  }
  int device;
  accError_t err = accGetDevice(&device);
  if (err != accSuccess) {
    ACCL_ERROR(acclDeviceError, "%s: cannot read the current device: %s", fn, accGetErrorString(err));
  }
  int savedDevice = acclLogDevice;
  acclResult_t res = acclCommCreate(&commId, nranks, rank, device, NULL, 0, comm);
  acclLogDevice = savedDevice;
  return res;
}

ACCL_EXPORT acclResult_t acclCommDestroy(acclComm_t comm) {
  int savedDevice = acclLogDevice;
  acclResult_t res = acclCommRelease(comm, 0, "acclCommDestroy");
  acclLogDevice = savedDevice;
  return res;
}

ACCL_EXPORT acclResult_t acclCommAbort(acclComm_t comm) {
  int savedDevice = acclLogDevice;
  acclResult_t res = acclCommRelease(comm, 1, "acclCommAbort");
  acclLogDevice = savedDevice;
  return res;
}

/* ----------------------------------------------------------------- split */

typedef struct {
  int32_t color, key, rank;
} splitEntry;

static int byKeyThenRank(const void* a, const void* b) {
  const splitEntry* x = a;
  const splitEntry* y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return (x->rank > y->rank) - (x->rank < y->rank);
}

static acclResult_t checkConfig(const acclConfig_t* config, const char* fn) {
  if (config == NULL) return acclSuccess;
  if (config->magic != ACCL_CONFIG_MAGIC || config->size != sizeof(acclConfig_t))
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument config was not initialised with ACCL_CONFIG_INITIALIZER", fn);
  if (config->blocking != 0 && config->blocking != 1)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument config->blocking is %d, must be 0 or 1", fn, config->blocking);
  if (config->nChannels < 0)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument config->nChannels is %d, must be >= 0", fn, config->nChannels);
  return acclSuccess;
}

static acclResult_t splitMembers(struct acclComm* comm, int color, int key, int** members, int* nmembers,
                                 int* myNewRank) {
  int n = comm->nranks;
  splitEntry* all = calloc((size_t)n, sizeof(*all));
  if (all == NULL) return acclSystemError;
  all[comm->rank] = (splitEntry){color, key, comm->rank};
  acclResult_t res = acclBootstrapAllGather(comm->bootstrap, all, sizeof(*all));
  if (res != acclSuccess || color == ACCL_SPLIT_NOCOLOR) {
    free(all);
    return res;
  }
  int m = 0;
  for (int r = 0; r < n; r++)
    if (all[r].color == color) all[m++] = all[r];
  qsort(all, (size_t)m, sizeof(*all), byKeyThenRank);
  *members = malloc(sizeof(int) * (size_t)m);
  if (*members == NULL) {
    free(all);
    return acclSystemError;
  }
  for (int i = 0; i < m; i++) {
    (*members)[i] = all[i].rank;
    if (all[i].rank == comm->rank) *myNewRank = i;
  }
  *nmembers = m;
  free(all);
  return acclSuccess;
}

ACCL_EXPORT acclResult_t acclCommSplit(acclComm_t comm, int color, int key, acclComm_t* newcomm, acclConfig_t* config) {
  const char* fn = "acclCommSplit";
  if (newcomm == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument newcomm is NULL", fn);
  *newcomm = NULL;
  if (color < 0 && color != ACCL_SPLIT_NOCOLOR)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument color is %d, must be >= 0 or ACCL_SPLIT_NOCOLOR", fn, color);
  ACCLCHECK(checkConfig(config, fn));
  ACCLCHECK(acclCommEnter(comm, fn));
  int savedDevice = acclLogDevice;
  acclLogDevice = comm->device;
  int* members = NULL;
  int nmembers = 0, myNewRank = -1;
  acclResult_t res = splitMembers(comm, color, key, &members, &nmembers, &myNewRank);
  if (res == acclSuccess && color != ACCL_SPLIT_NOCOLOR) {
    const char* name = config ? config->commName : NULL;
    int nChannels = config && config->nChannels > 0 ? config->nChannels : comm->configNChannels;
    res = acclCommCreateSplit(comm, members, nmembers, myNewRank, name, nChannels, newcomm);
  }
  if (res != acclSuccess && __atomic_load_n(&comm->abortFlag, __ATOMIC_ACQUIRE)) {
    WARN("%s: the communicator was aborted while the split waited", fn);
  }
  free(members);
  acclLogDevice = savedDevice;
  acclCommLeave(comm);
  return res;
}

/* ------------------------------------------------------------ init all */

typedef struct {
  const acclUniqueId* id;
  int nranks, rank, device;
  struct acclComm* comm;
  acclResult_t res;
} initAllTask;

static void* initAllThread(void* arg) {
  initAllTask* t = arg;
  accError_t err = accSetDevice(t->device);
  if (err != accSuccess) {
    WARN("acclCommInitAll: accSetDevice(%d) failed: %s", t->device, accGetErrorString(err));
    t->res = acclDeviceError;
    return NULL;
  }
  t->res = acclCommCreate(t->id, t->nranks, t->rank, t->device, NULL, 0, &t->comm);
  return NULL;
}

ACCL_EXPORT acclResult_t acclCommInitAll(acclComm_t* comms, int ndev, const int* devlist) {
  const char* fn = "acclCommInitAll";
  if (comms == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument comms is NULL", fn);
  if (ndev < 1 || ndev > ACCL_MAX_RANKS)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument ndev is %d, must be in [1, %d]", fn, ndev, ACCL_MAX_RANKS);
  int count = 0;
  accError_t err = accGetDeviceCount(&count);
  if (err != accSuccess) { ACCL_ERROR(acclDeviceError, "%s: cannot count devices: %s", fn, accGetErrorString(err)); }
  for (int i = 0; i < ndev; i++) {
    int d = devlist ? devlist[i] : i;
    if (d < 0 || d >= count)
      ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument devlist[%d] is %d, this process sees %d devices", fn, i, d,
                     count);
    for (int j = 0; devlist && j < i; j++)
      if (devlist[j] == d) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument devlist lists device %d twice", fn, d);
  }
  for (int i = 0; i < ndev; i++) comms[i] = NULL;
  acclUniqueId id;
  ACCLCHECK(acclBootstrapGetLocalUniqueId(&id));
  initAllTask* tasks = calloc((size_t)ndev, sizeof(*tasks));
  pthread_t* threads = calloc((size_t)ndev, sizeof(*threads));
  if (!tasks || !threads) {
    free(tasks);
    free(threads);
    WARN("%s: out of memory", fn);
    return acclSystemError;
  }
  acclResult_t res = acclSuccess;
  int started = 0;
  for (int i = 0; i < ndev; i++) {
    tasks[i] = (initAllTask){&id, ndev, i, devlist ? devlist[i] : i, NULL, acclSuccess};
    int e = pthread_create(&threads[i], NULL, initAllThread, &tasks[i]);
    if (e != 0) {
      WARN("%s: cannot start an init thread: %s", fn, strerror(e));
      res = acclSystemError;
      break;
    }
    started++;
  }
  /* With a thread missing the others time out; they still must be joined. */
  for (int i = 0; i < started; i++) {
    pthread_join(threads[i], NULL);
    if (tasks[i].res != acclSuccess && res == acclSuccess) res = tasks[i].res;
  }
  for (int i = 0; i < started; i++) {
    if (res == acclSuccess)
      comms[i] = tasks[i].comm;
    else if (tasks[i].comm)
      acclCommRelease(tasks[i].comm, 1, fn);
  }
  free(tasks);
  free(threads);
  return res;
}
