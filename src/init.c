/* init.c - the life of a communicator: creation (bootstrap, peers, topology,
 * collectives and transports), split, init-all, destroy and abort. The only
 * file that calls every layer; everything below it is called from here. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bootstrap/bootstrap.h"
#include "collectives/coll.h"
#include "collectives/group.h"
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

/* A communicator struct for a creation that is about to run: registered (so
 * acclCommGetAsyncError and acclCommAbort accept the handle at once) and in
 * state acclInProgress until the creation finishes. */
static acclResult_t commNew(int nranks, int rank, int device, const char* name, int nChannels, int blocking,
                            struct acclComm** out) {
  logVersionOnce();
  struct acclComm* comm = acclCommAlloc(nranks, rank, device, name, nChannels);
  if (comm == NULL) ACCL_ERROR(acclSystemError, "out of memory for a communicator");
  comm->blocking = blocking;
  comm->state = acclInProgress;
  acclResult_t res = acclCommRegistryAdd(comm);
  if (res != acclSuccess) {
    acclCommFree(comm);
    return res;
  }
  *out = comm;
  return acclSuccess;
}

/* Undo commNew and whatever part of a creation ran (commSetup undid its own steps). */
static void commDiscard(struct acclComm* comm) {
  acclBufRegReleaseComm(comm);
  acclCommUnregister(comm);
  acclCommFree(comm);
}

/* The rendezvous of a new communicator through one or several unique ids. */
static acclResult_t commBuildInit(struct acclComm* comm, const acclUniqueId* ids, int nIds) {
  INFO(ACCL_INIT, "rank %d nranks %d device %d - Init START", comm->rank, comm->nranks, comm->device);
  (void)nIds; /* one id: acclCommInitRankScalable does not exist yet */
  ACCLCHECK(acclBootstrapInit(&ids[0], comm->rank, comm->nranks, &comm->abortFlag, &comm->bootstrap));
  return commSetup(comm);
}

/* Members of parent (new-rank order) meet without the others. */
static acclResult_t commBuildSplit(struct acclComm* comm, struct acclComm* parent, const int* members, int nmembers,
                                   int myNewRank) {
  comm->nranks = nmembers;
  comm->rank = myNewRank;
  INFO(ACCL_INIT, "split of comm %s: new rank %d of %d - Init START", parent->name, myNewRank, nmembers);
  ACCLCHECK(acclBootstrapSplit(parent->bootstrap, members, nmembers, myNewRank, &comm->abortFlag, &comm->bootstrap));
  return commSetup(comm);
}

static acclResult_t acclCommCreate(const acclUniqueId* id, int nranks, int rank, int device, struct acclComm** out) {
  struct acclComm* comm;
  ACCLCHECK(commNew(nranks, rank, device, NULL, 0, 1, &comm));
  acclLogDevice = device;
  acclResult_t res = commBuildInit(comm, id, 1);
  if (res != acclSuccess) {
    commDiscard(comm);
    return res;
  }
  __atomic_store_n(&comm->state, acclSuccess, __ATOMIC_RELEASE);
  *out = comm;
  return acclSuccess;
}

/* Frees everything of a communicator whose users have left (acclCommBeginRelease). */
static void commReleaseTail(struct acclComm* comm, int abort) {
  int rank = comm->rank;
  char name[sizeof(comm->name)];
  memcpy(name, comm->name, sizeof(name));
  /* Destroy waits for queued work; abort stops it (and wakes whatever waits). */
  acclCollTeardown(comm, abort);
  if (ACCL_LOG_ON(ACCL_LOG_INFO, ACCL_DEV)) accDevLogCounters(comm->device);
  acclTopoFini(comm);
  acclBufRegReleaseComm(comm);
  acclCommUnregister(comm);
  acclCommFree(comm);
  INFO(ACCL_INIT, "comm %s rank %d - %s COMPLETE", name, rank, abort ? "Abort" : "Destroy");
}

/* ---------------------------------------------------------- lingering */

/* A communicator destroyed without acclCommFinalize over a network transport
 * still owes its peers the leaving together (acclTransportsFinalize): a
 * thread of its own does it and frees the communicator, so that Destroy
 * never waits for another rank (a thread destroying several communicators in
 * turn would otherwise wait for itself). At exit the library waits for these
 * threads, bounded by ACCL_TIMEOUT. */
static int lingering;

static void* lingerThread(void* arg) {
  struct acclComm* comm = arg;
  acclLogDevice = comm->device;
  acclResult_t res = acclCollFinalize(comm);
  if (res != acclSuccess)
    INFO(ACCL_INIT, "comm %s rank %d: leaving together after Destroy failed (%s); freeing anyway", comm->name,
         comm->rank, acclGetErrorString(res));
  commReleaseTail(comm, 0);
  __atomic_sub_fetch(&lingering, 1, __ATOMIC_ACQ_REL);
  return NULL;
}

__attribute__((destructor)) static void waitLingering(void) {
  if (__atomic_load_n(&lingering, __ATOMIC_ACQUIRE) == 0) return;
  int64_t timeoutS = acclParamTimeout();
  uint64_t start = acclClockNs();
  while (__atomic_load_n(&lingering, __ATOMIC_ACQUIRE) > 0) {
    if (timeoutS > 0 && acclClockNs() - start > (uint64_t)timeoutS * 1000000000ull) {
      WARN("exit: %d destroyed communicators still wait for their peers after %lld s", lingering, (long long)timeoutS);
      return;
    }
    usleep(1000);
  }
}

static acclResult_t acclCommRelease(struct acclComm* comm, int abort, const char* fn) {
  if (comm != NULL && acclGroupHolds(comm))
    ACCL_ERROR(acclInvalidUsage,
               "%s: argument comm %p has calls pending in this thread's open group; call acclGroupEnd first", fn,
               (void*)comm);
  ACCLCHECK(acclCommBeginRelease(comm, abort, fn));
  acclLogDevice = comm->device;
  INFO(ACCL_INIT, "comm %s rank %d - %s START", comm->name, comm->rank, abort ? "Abort" : "Destroy");
  int owesPeers = !abort && !comm->finalized && comm->state == acclSuccess && acclCollFinalizeIsCollective(comm) &&
                  __atomic_load_n(&comm->asyncError, __ATOMIC_ACQUIRE) == acclSuccess;
  if (owesPeers) {
    acclCollWaitIdle(comm); /* the caller may free its buffers once Destroy returns */
    acclCommUnregister(comm);
    __atomic_add_fetch(&lingering, 1, __ATOMIC_ACQ_REL);
    pthread_t t;
    int e = pthread_create(&t, NULL, lingerThread, comm);
    if (e == 0) {
      pthread_detach(t);
      return acclSuccess;
    }
    __atomic_sub_fetch(&lingering, 1, __ATOMIC_ACQ_REL);
    WARN("%s: cannot start a thread to leave together with the peers (%s): freeing at once", fn, strerror(e));
  }
  commReleaseTail(comm, abort);
  return acclSuccess;
}

/* -------------------------------------------------- create and destroy */

/* Prefix the last error text (set by a helper) with the entry point and argument. */
static acclResult_t prefixLastError(acclResult_t res, const char* fn, const char* arg) {
  char text[768];
  snprintf(text, sizeof(text), "%s", acclLastErrorText());
  ACCL_ERROR(res, "%s: argument %s: %s", fn, arg, text);
}

/* ------------------------------------------------------------- jobs */

/* Creation, split, shrink and finalize run as jobs: at once (blocking, no
 * group), on a thread of their own (non-blocking: the call returns
 * acclInProgress and the communicator's state says when it is done), or
 * deferred to acclGroupEnd, which runs every job of the group concurrently
 * so that communicators created from one thread rendezvous with each other. */
typedef enum { JOB_INIT, JOB_SPLIT, JOB_SHRINK, JOB_FINALIZE } jobKind;

typedef struct {
  jobKind kind;
  const char* fn;
  int blocking;
  struct acclComm* comm;   /* the new communicator (NULL: split with ACCL_SPLIT_NOCOLOR); finalize: its comm */
  struct acclComm* parent; /* split, shrink: entered until the job finishes */
  acclComm_t* out;         /* where the caller's handle lives (blocking failure: set to NULL) */
  int parentBusy;          /* non-blocking split / shrink: parent->state is acclInProgress meanwhile */
  acclUniqueId* ids;       /* init */
  int nIds;
  int color, key; /* split */
  int* members;   /* shrink: parent ranks of the new communicator, new-rank order */
  int nmembers, myNewRank;
  char err[256];
} lifeJob;

static acclResult_t finishJob(void* arg, acclResult_t res);

typedef struct {
  int32_t color, key, rank;
} splitEntry;

static int byKeyThenRank(const void* a, const void* b) {
  const splitEntry* x = a;
  const splitEntry* y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return (x->rank > y->rank) - (x->rank < y->rank);
}

static acclResult_t splitMembers(struct acclComm* comm, int color, int key, int** members, int* nmembers,
                                 int* myNewRank) {
  int n = comm->nranks;
  splitEntry* all = calloc((size_t)n, sizeof(*all));
  if (all == NULL) ACCL_ERROR(acclSystemError, "acclCommSplit: out of memory for %d ranks", n);
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
    ACCL_ERROR(acclSystemError, "acclCommSplit: out of memory for %d members", m);
  }
  for (int i = 0; i < m; i++) {
    (*members)[i] = all[i].rank;
    if (all[i].rank == comm->rank) *myNewRank = i;
  }
  *nmembers = m;
  free(all);
  return acclSuccess;
}

static acclResult_t runJobBody(lifeJob* j) {
  struct acclComm* dev = j->parent ? j->parent : j->comm;
  accError_t e = accSetDevice(dev->device);
  if (e != accSuccess)
    ACCL_ERROR(acclDeviceError, "%s: accSetDevice(%d) failed: %s", j->fn, dev->device, accGetErrorString(e));
  switch (j->kind) {
    case JOB_INIT: acclLogDevice = j->comm->device; return commBuildInit(j->comm, j->ids, j->nIds);
    case JOB_SPLIT: {
      acclLogDevice = j->parent->device;
      ACCLCHECK(splitMembers(j->parent, j->color, j->key, &j->members, &j->nmembers, &j->myNewRank));
      if (j->comm == NULL) return acclSuccess;
      acclResult_t res = commBuildSplit(j->comm, j->parent, j->members, j->nmembers, j->myNewRank);
      if (res != acclSuccess && __atomic_load_n(&j->parent->abortFlag, __ATOMIC_ACQUIRE))
        WARN("%s: the communicator was aborted while the split waited", j->fn);
      return res;
    }
    case JOB_SHRINK:
      acclLogDevice = j->parent->device;
      return commBuildSplit(j->comm, j->parent, j->members, j->nmembers, j->myNewRank);
    case JOB_FINALIZE:
      acclLogDevice = j->comm->device;
      INFO(ACCL_INIT, "comm %s rank %d - Finalize START", j->comm->name, j->comm->rank);
      return acclCollFinalize(j->comm);
  }
  return acclInternalError;
}

static acclResult_t runJob(void* arg) {
  lifeJob* j = arg;
  int savedDevice = acclLogDevice;
  acclSetLastError("%s", "");
  acclResult_t res = runJobBody(j);
  if (res != acclSuccess) {
    const char* text = acclLastErrorText();
    if (text[0])
      snprintf(j->err, sizeof(j->err), "%s", text);
    else
      snprintf(j->err, sizeof(j->err), "%s failed: %s", j->fn, acclGetErrorString(res));
  }
  acclLogDevice = savedDevice;
  if (!j->blocking) finishJob(j, res); /* nobody joins a non-blocking job */
  return res;
}

/* Publishes the outcome; blocking jobs: in the calling thread (group: after the join). */
static acclResult_t finishJob(void* arg, acclResult_t res) {
  lifeJob* j = arg;
  struct acclComm* comm = j->comm;
  if (j->kind == JOB_FINALIZE) {
    comm->finalized = 1; /* failed or not: what remains is Destroy or Abort */
    if (res == acclSuccess) INFO(ACCL_INIT, "comm %s rank %d - Finalize COMPLETE", comm->name, comm->rank);
    if (!j->blocking && res != acclSuccess) snprintf(comm->stateError, sizeof(comm->stateError), "%s", j->err);
    __atomic_store_n(&comm->state, j->blocking ? acclSuccess : res, __ATOMIC_RELEASE);
    acclCommLeave(comm);
  } else {
    if (comm) {
      __atomic_sub_fetch(&comm->users, 1, __ATOMIC_SEQ_CST);
      if (res == acclSuccess) {
        __atomic_store_n(&comm->state, acclSuccess, __ATOMIC_RELEASE);
      } else if (j->blocking) {
        commDiscard(comm);
        if (j->out) *j->out = NULL;
      } else {
        snprintf(comm->stateError, sizeof(comm->stateError), "%s", j->err);
        __atomic_store_n(&comm->state, res, __ATOMIC_RELEASE);
      }
    }
    if (j->parent) {
      if (res != acclSuccess && comm == NULL && !j->blocking) acclCommSetAsyncError(j->parent, res);
      if (j->parentBusy) __atomic_store_n(&j->parent->state, acclSuccess, __ATOMIC_RELEASE);
      acclCommLeave(j->parent);
    }
  }
  if (res != acclSuccess && j->blocking && j->err[0]) acclSetLastError("%s", j->err);
  free(j->ids);
  free(j->members);
  free(j);
  return res;
}

static void* jobThread(void* arg) {
  runJob(arg);
  return NULL;
}

/* Run now, on a thread, or at acclGroupEnd. Takes j in every case. */
static acclResult_t submitJob(lifeJob* j) {
  if (acclGroupActive()) {
    acclGroupJob g = {runJob, finishJob, j, j->blocking,
                      j->kind == JOB_INIT || j->kind == JOB_FINALIZE ? j->comm : j->parent};
    acclResult_t res = acclGroupDefer(&g);
    if (res != acclSuccess) {
      acclGroupFail(res);
      j->blocking = 1;
      return finishJob(j, res);
    }
    return acclSuccess;
  }
  if (j->blocking) return finishJob(j, runJob(j));
  pthread_t t;
  int e = pthread_create(&t, NULL, jobThread, j);
  if (e != 0) {
    WARN("%s: cannot start a thread for the non-blocking call: %s", j->fn, strerror(e));
    snprintf(j->err, sizeof(j->err), "%s: cannot start a thread: %s", j->fn, strerror(e));
    j->blocking = 1;
    return finishJob(j, acclSystemError);
  }
  pthread_detach(t);
  return acclInProgress;
}

static lifeJob* newJob(jobKind kind, const char* fn) {
  lifeJob* j = calloc(1, sizeof(*j));
  if (j == NULL) {
    WARN("%s: out of memory", fn);
    acclSetLastError("%s: out of memory", fn);
    return NULL;
  }
  j->kind = kind;
  j->fn = fn;
  return j;
}

/* A life-cycle call on comm, once its own argument checks gave res: enter
 * the communicator and make the call's job; a failure fails the group too. */
static acclResult_t enterWithJob(acclComm_t comm, const char* fn, jobKind kind, acclResult_t res, lifeJob** out) {
  *out = NULL;
  if (res == acclSuccess) res = acclCommEnter(comm, fn);
  if (res == acclSuccess && (*out = newJob(kind, fn)) == NULL) {
    acclCommLeave(comm);
    res = acclSystemError;
  }
  if (res != acclSuccess) acclGroupFail(res);
  return res;
}

/* ----------------------------------------------------------- config */

static acclResult_t checkConfig(const acclConfig_t* config, const char* fn) {
  if (config == NULL) return acclSuccess;
  if (config->size != sizeof(acclConfig_t))
    ACCL_ARG_ERROR(acclInvalidArgument,
                   "%s: argument config->size is %zu, this library knows only %zu (initialise the config with "
                   "ACCL_CONFIG_INITIALIZER)",
                   fn, config->size, sizeof(acclConfig_t));
  if (config->magic != ACCL_CONFIG_MAGIC)
    ACCL_ARG_ERROR(acclInvalidArgument,
                   "%s: argument config->magic is 0x%x: config was not initialised with ACCL_CONFIG_INITIALIZER", fn,
                   config->magic);
  if (config->version < ACCL_CONFIG_MIN_VERSION || config->version > (unsigned)ACCL_VERSION_CODE)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument config->version is %u, this library knows versions %u to %u", fn,
                   config->version, (unsigned)ACCL_CONFIG_MIN_VERSION, (unsigned)ACCL_VERSION_CODE);
  if (config->blocking != ACCL_CONFIG_UNDEF_INT && config->blocking != 0 && config->blocking != 1)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument config->blocking is %d, must be 0, 1 or ACCL_CONFIG_UNDEF_INT",
                   fn, config->blocking);
  if (config->nChannels != ACCL_CONFIG_UNDEF_INT && config->nChannels < 0)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument config->nChannels is %d, must be >= 0 or ACCL_CONFIG_UNDEF_INT",
                   fn, config->nChannels);
  return acclSuccess;
}

static int configBlocking(const acclConfig_t* config, int inherited) {
  return config && config->blocking != ACCL_CONFIG_UNDEF_INT ? config->blocking : inherited;
}

static int configNChannels(const acclConfig_t* config, int inherited) {
  return config && config->nChannels != ACCL_CONFIG_UNDEF_INT && config->nChannels > 0 ? config->nChannels : inherited;
}

/* ------------------------------------------------------------ creation */

/* Reject a corrupted id before any network activity. */
static acclResult_t checkId(const acclUniqueId* id, const char* fn, const char* arg) {
  const char* pinned = acclParamCommId();
  if (pinned != NULL && *pinned != '\0') return acclSuccess;
  struct sockaddr_in6 addr;
  uint8_t secret[ACCL_SECRET_BYTES];
  acclResult_t res = acclIdDecode(id, (struct sockaddr*)&addr, secret);
  if (res != acclSuccess) return prefixLastError(res, fn, arg);
  return acclSuccess;
}

static acclResult_t initRank(const char* fn, acclComm_t* comm, int nranks, const acclUniqueId* ids, int nIds, int rank,
                             acclConfig_t* config) {
  if (comm == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument comm is NULL", fn);
  *comm = NULL;
  if (nranks < 1 || nranks > ACCL_MAX_RANKS)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument nranks is %d, must be in [1, %d]", fn, nranks, ACCL_MAX_RANKS);
  if (rank < 0 || rank >= nranks)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument rank is %d, must be in [0, %d)", fn, rank, nranks);
  ACCLCHECK(checkConfig(config, fn));
  for (int i = 0; i < nIds; i++) {
    char arg[32];
    snprintf(arg, sizeof(arg), nIds == 1 ? "commId" : "commIds[%d]", i);
    ACCLCHECK(checkId(&ids[i], fn, arg));
  }
  int device;
  accError_t err = accGetDevice(&device);
  if (err != accSuccess)
    ACCL_ERROR(acclDeviceError, "%s: cannot read the current device: %s", fn, accGetErrorString(err));
  lifeJob* j = newJob(JOB_INIT, fn);
  if (j == NULL) return acclSystemError;
  j->blocking = configBlocking(config, 1);
  j->ids = malloc(sizeof(acclUniqueId) * (size_t)nIds);
  acclResult_t res = j->ids ? acclSuccess : acclSystemError;
  if (res != acclSuccess) WARN("%s: out of memory", fn);
  if (res == acclSuccess) {
    memcpy(j->ids, ids, sizeof(acclUniqueId) * (size_t)nIds);
    j->nIds = nIds;
    res = commNew(nranks, rank, device, config ? config->commName : NULL, configNChannels(config, 0), j->blocking,
                  &j->comm);
  }
  if (res != acclSuccess) {
    free(j->ids);
    free(j);
    return res;
  }
  __atomic_add_fetch(&j->comm->users, 1, __ATOMIC_SEQ_CST); /* Abort / Destroy wait for the job */
  j->out = comm;
  *comm = j->comm;
  int savedDevice = acclLogDevice;
  res = submitJob(j);
  acclLogDevice = savedDevice;
  return res;
}

ACCL_EXPORT acclResult_t acclCommInitRank(acclComm_t* comm, int nranks, acclUniqueId commId, int rank) {
  acclResult_t res = initRank("acclCommInitRank", comm, nranks, &commId, 1, rank, NULL);
  if (res != acclSuccess) acclGroupFail(res);
  return res;
}

ACCL_EXPORT acclResult_t acclCommInitRankConfig(acclComm_t* comm, int nranks, acclUniqueId commId, int rank,
                                                acclConfig_t* config) {
  acclResult_t res = initRank("acclCommInitRankConfig", comm, nranks, &commId, 1, rank, config);
  if (res != acclSuccess && res != acclInProgress) acclGroupFail(res);
  return res;
}

ACCL_EXPORT acclResult_t acclCommFinalize(acclComm_t comm) {
  const char* fn = "acclCommFinalize";
  lifeJob* j;
  acclResult_t res = enterWithJob(comm, fn, JOB_FINALIZE, acclSuccess, &j);
  if (res != acclSuccess) return res;
  j->comm = comm;
  j->blocking = comm->blocking;
  if (!j->blocking) __atomic_store_n(&comm->state, acclInProgress, __ATOMIC_RELEASE);
  int savedDevice = acclLogDevice;
  res = submitJob(j);
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

/* A job on parent making a new communicator (NULL for ACCL_SPLIT_NOCOLOR). */
static acclResult_t derive(lifeJob* j, struct acclComm* parent, int makeComm, acclComm_t* newcomm,
                           acclConfig_t* config) {
  j->parent = parent;
  j->blocking = configBlocking(config, parent->blocking);
  j->out = newcomm;
  acclResult_t res = acclSuccess;
  if (makeComm) {
    res = commNew(0, -1, parent->device, config ? config->commName : NULL,
                  configNChannels(config, parent->configNChannels), j->blocking, &j->comm);
    if (res == acclSuccess) __atomic_add_fetch(&j->comm->users, 1, __ATOMIC_SEQ_CST);
  }
  if (res != acclSuccess) {
    free(j->members);
    free(j);
    acclCommLeave(parent);
    return res;
  }
  *newcomm = j->comm;
  if (!j->blocking) {
    j->parentBusy = 1;
    __atomic_store_n(&parent->state, acclInProgress, __ATOMIC_RELEASE);
  }
  int savedDevice = acclLogDevice;
  res = submitJob(j);
  acclLogDevice = savedDevice;
  return res;
}

ACCL_EXPORT acclResult_t acclCommSplit(acclComm_t comm, int color, int key, acclComm_t* newcomm, acclConfig_t* config) {
  const char* fn = "acclCommSplit";
  acclResult_t res = acclSuccess;
  if (newcomm == NULL) {
    acclSetLastError("%s: argument newcomm is NULL", fn);
    WARN("%s: argument newcomm is NULL", fn);
    res = acclInvalidArgument;
  } else {
    *newcomm = NULL;
    if (color < 0 && color != ACCL_SPLIT_NOCOLOR) {
      acclSetLastError("%s: argument color is %d, must be >= 0 or ACCL_SPLIT_NOCOLOR", fn, color);
      WARN("%s: argument color is %d, must be >= 0 or ACCL_SPLIT_NOCOLOR", fn, color);
      res = acclInvalidArgument;
    }
  }
  if (res == acclSuccess) res = checkConfig(config, fn);
  lifeJob* j;
  res = enterWithJob(comm, fn, JOB_SPLIT, res, &j);
  if (res != acclSuccess) return res;
  j->color = color;
  j->key = key;
  res = derive(j, comm, color != ACCL_SPLIT_NOCOLOR, newcomm, config);
  if (res != acclSuccess && res != acclInProgress) acclGroupFail(res);
  return res;
}

ACCL_EXPORT acclResult_t acclCommShrink(acclComm_t comm, int* excludeRanksList, int excludeRanksCount,
                                        acclComm_t* newcomm, acclConfig_t* config, int shrinkFlags) {
  const char* fn = "acclCommShrink";
  acclResult_t res = acclSuccess;
  if (newcomm == NULL) {
    acclSetLastError("%s: argument newcomm is NULL", fn);
    WARN("%s: argument newcomm is NULL", fn);
    acclGroupFail(acclInvalidArgument);
    return acclInvalidArgument;
  }
  *newcomm = NULL;
  if (shrinkFlags != ACCL_SHRINK_DEFAULT && shrinkFlags != ACCL_SHRINK_ABORT) {
    acclSetLastError("%s: argument shrinkFlags is %d, must be ACCL_SHRINK_DEFAULT or ACCL_SHRINK_ABORT", fn,
                     shrinkFlags);
    WARN("%s", acclLastErrorText());
    res = acclInvalidArgument;
  }
  if (res == acclSuccess) res = checkConfig(config, fn);
  if (res == acclSuccess) res = acclCommEnter(comm, fn);
  if (res != acclSuccess) {
    acclGroupFail(res);
    return res;
  }
  int n = comm->nranks;
  char* excluded = calloc((size_t)n, 1);
  lifeJob* j = excluded ? newJob(JOB_SHRINK, fn) : NULL;
  int* members = j ? malloc(sizeof(int) * (size_t)n) : NULL;
  if (members == NULL) {
    WARN("%s: out of memory", fn);
    acclSetLastError("%s: out of memory", fn);
    res = acclSystemError;
  } else if (excludeRanksCount < 0 || excludeRanksCount >= n) {
    acclSetLastError("%s: argument excludeRanksCount is %d, must be in [0, %d) (nranks %d)", fn, excludeRanksCount, n,
                     n);
    WARN("%s", acclLastErrorText());
    res = acclInvalidArgument;
  } else if (excludeRanksCount > 0 && excludeRanksList == NULL) {
    acclSetLastError("%s: argument excludeRanksList is NULL with excludeRanksCount %d", fn, excludeRanksCount);
    WARN("%s", acclLastErrorText());
    res = acclInvalidArgument;
  }
  for (int i = 0; res == acclSuccess && i < excludeRanksCount; i++) {
    int r = excludeRanksList[i];
    if (r < 0 || r >= n || excluded[r]) {
      acclSetLastError("%s: argument excludeRanksList[%d] is %d: %s", fn, i, r,
                       r < 0 || r >= n ? "not a rank of comm" : "listed twice");
      WARN("%s", acclLastErrorText());
      res = acclInvalidArgument;
    } else if (r == comm->rank) {
      acclSetLastError("%s: argument excludeRanksList[%d] is this rank (%d): excluded ranks must not call it", fn, i,
                       r);
      WARN("%s", acclLastErrorText());
      res = acclInvalidArgument;
    } else {
      excluded[r] = 1;
    }
  }
  if (res != acclSuccess) {
    free(excluded);
    free(members);
    free(j);
    acclCommLeave(comm);
    acclGroupFail(res);
    return res;
  }
  int m = 0;
  for (int r = 0; r < n; r++) {
    if (excluded[r]) continue;
    if (r == comm->rank) j->myNewRank = m;
    members[m++] = r;
  }
  free(excluded);
  j->members = members;
  j->nmembers = m;
  if (shrinkFlags == ACCL_SHRINK_ABORT) {
    /* outstanding work on comm fails at once (peers may be gone) instead of being waited for */
    INFO(ACCL_INIT, "%s: ACCL_SHRINK_ABORT: stopping the outstanding work of comm %s", fn, comm->name);
    acclCommSetAsyncError(comm, acclRemoteError);
  }
  acclCollWaitIdle(comm);
  res = derive(j, comm, 1, newcomm, config);
  if (res != acclSuccess && res != acclInProgress) acclGroupFail(res);
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
  t->res = acclCommCreate(t->id, t->nranks, t->rank, t->device, &t->comm);
  return NULL;
}

ACCL_EXPORT acclResult_t acclCommInitAll(acclComm_t* comms, int ndev, const int* devlist) {
  const char* fn = "acclCommInitAll";
  if (comms == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument comms is NULL", fn);
  if (ndev < 1 || ndev > ACCL_MAX_RANKS)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument ndev is %d, must be in [1, %d]", fn, ndev, ACCL_MAX_RANKS);
  int count = 0;
  accError_t err = accGetDeviceCount(&count);
  if (err != accSuccess) ACCL_ERROR(acclDeviceError, "%s: cannot count devices: %s", fn, accGetErrorString(err));
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
    ACCL_ERROR(acclSystemError, "%s: out of memory", fn);
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
