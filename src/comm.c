/* comm.c - communicator lifecycle: creation (bootstrap, peer information,
 * node layout, topology, transports), the registry of live communicators
 * that every entry point validates against, destroy and abort. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "comm_internal.h"
#include "param.h"
#include "topology/topo.h"

/* ----------------------------------------------------------------- registry */

static pthread_mutex_t registryLock = PTHREAD_MUTEX_INITIALIZER;
static struct acclComm** registry;
static int registryCount, registryCap;

static struct acclComm* commFreeList; /* released comm structs, recycled by commAlloc */

static int registryFind(const struct acclComm* comm) {
  for (int i = 0; i < registryCount; i++)
    if (registry[i] == comm) return i;
  return -1;
}

static acclResult_t registryAdd(struct acclComm* comm) {
  pthread_mutex_lock(&registryLock);
  if (registryCount == registryCap) {
    int cap = registryCap ? registryCap * 2 : 16;
    struct acclComm** grown = realloc(registry, sizeof(*grown) * (size_t)cap);
    if (grown == NULL) {
      pthread_mutex_unlock(&registryLock);
      WARN("out of memory registering a communicator");
      return acclSystemError;
    }
    registry = grown;
    registryCap = cap;
  }
  registry[registryCount++] = comm;
  pthread_mutex_unlock(&registryLock);
  return acclSuccess;
}

static void registryRemove(struct acclComm* comm) {
  pthread_mutex_lock(&registryLock);
  int i = registryFind(comm);
  if (i >= 0) registry[i] = registry[--registryCount];
  pthread_mutex_unlock(&registryLock);
}

/* Caller holds registryLock. Never dereferences an unregistered pointer. */
static acclResult_t checkLocked(const struct acclComm* comm, const char* fn) {
  if (comm == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument comm is NULL", fn);
  if (registryFind(comm) < 0 || comm->magic != ACCL_COMM_MAGIC || comm->destroyed)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: comm is not a valid communicator (destroyed?)", fn);
  if (__atomic_load_n(&comm->abortFlag, __ATOMIC_ACQUIRE)) ACCL_ARG_ERROR(acclInvalidUsage, "%s: comm was aborted", fn);
  return acclSuccess;
}

acclResult_t acclCommCheck(const struct acclComm* comm, const char* fn) {
  pthread_mutex_lock(&registryLock);
  acclResult_t res = checkLocked(comm, fn);
  pthread_mutex_unlock(&registryLock);
  return res;
}

/* The last communicator this thread validated, and its incarnation then.
 * Comm structs are never returned to malloc (released ones are recycled), so
 * a stale pointer can still be read; a release bumps the incarnation before
 * waiting for users, and an enter bumps users before re-reading the
 * incarnation (both seq_cst): one of the two always sees the other. */
static __thread struct acclComm* enteredComm;
static __thread uint64_t enteredIncarnation;

acclResult_t acclCommEnter(struct acclComm* comm, const char* fn) {
  if (comm != NULL && comm == enteredComm) {
    __atomic_add_fetch(&comm->users, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&comm->incarnation, __ATOMIC_SEQ_CST) == enteredIncarnation &&
        !__atomic_load_n(&comm->abortFlag, __ATOMIC_ACQUIRE))
      return acclSuccess;
    __atomic_sub_fetch(&comm->users, 1, __ATOMIC_SEQ_CST);
  }
  pthread_mutex_lock(&registryLock);
  acclResult_t res = checkLocked(comm, fn);
  if (res == acclSuccess) {
    __atomic_add_fetch(&comm->users, 1, __ATOMIC_SEQ_CST);
    enteredComm = comm;
    enteredIncarnation = __atomic_load_n(&comm->incarnation, __ATOMIC_SEQ_CST);
  }
  pthread_mutex_unlock(&registryLock);
  return res;
}

void acclCommLeave(struct acclComm* comm) { __atomic_sub_fetch(&comm->users, 1, __ATOMIC_SEQ_CST); }

void acclCommSetAsyncError(struct acclComm* comm, acclResult_t err) {
  int expected = acclSuccess;
  __atomic_compare_exchange_n(&comm->asyncError, &expected, (int)err, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/* ------------------------------------------------------------ peer details */

static uint64_t hostHash(void) {
  const char* hostId = acclParamStr("HOSTID", NULL);
  if (hostId && *hostId) return acclHashString(hostId, 1);
  char text[512] = "";
  gethostname(text, 255);
  text[255] = '\0';
  size_t len = strlen(text);
  FILE* f = fopen("/proc/sys/kernel/random/boot_id", "r");
  if (f) {
    if (fgets(text + len, (int)(sizeof(text) - len), f) == NULL) text[len] = '\0';
    fclose(f);
  }
  return acclHashString(text, 2);
}

/* The kernel instance, hence the cores: network namespaces share it. */
static uint64_t coresHash(uint64_t fallback) {
  char text[64] = "";
  FILE* f = fopen("/proc/sys/kernel/random/boot_id", "r");
  if (!f) return fallback;
  if (fgets(text, (int)sizeof(text), f) == NULL) text[0] = '\0';
  fclose(f);
  return text[0] ? acclHashString(text, 3) : fallback;
}

static acclResult_t fillPeerInfo(struct acclComm* comm, acclPeerInfo* info) {
  memset(info, 0, sizeof(*info));
  info->rank = comm->rank;
  info->device = comm->device;
  info->pid = (int)getpid();
  info->hostHash = hostHash();
  info->coresHash = coresHash(info->hostHash);
  accDeviceProp prop;
  ACCCHECK(accGetDeviceProperties(&prop, comm->device));
  info->busId = (uint64_t)(int64_t)prop.pciBusId;
  ACCCHECK(accDevWindowExport(comm->device, &info->window));
  return acclSuccess;
}

static acclResult_t exchangePeerInfo(struct acclComm* comm) {
  int n = comm->nranks;
  comm->peerInfo = calloc((size_t)n, sizeof(acclPeerInfo));
  comm->nodeOf = calloc((size_t)n, sizeof(int));
  uint64_t* hashes = calloc((size_t)n, sizeof(uint64_t));
  acclResult_t res = acclSuccess;
  if (!comm->peerInfo || !comm->nodeOf || !hashes) {
    WARN("out of memory for the peer table of %d ranks", n);
    res = acclSystemError;
    goto out;
  }
  ACCLCHECKGOTO(fillPeerInfo(comm, &comm->peerInfo[comm->rank]), res, out);
  ACCLCHECKGOTO(acclBootstrapAllGather(comm->bootstrap, comm->peerInfo, sizeof(acclPeerInfo)), res, out);
  for (int r = 0; r < n; r++) {
    if (comm->peerInfo[r].rank != r) {
      WARN("peer table entry %d claims rank %d", r, comm->peerInfo[r].rank);
      res = acclInternalError;
      goto out;
    }
    hashes[r] = comm->peerInfo[r].hostHash;
  }
  comm->nNodes = acclCommComputeNodes(hashes, n, comm->nodeOf);
  comm->node = comm->nodeOf[comm->rank];
  comm->localRank = comm->localRanks = 0;
  for (int r = 0; r < n; r++) {
    if (comm->nodeOf[r] != comm->node) continue;
    if (r < comm->rank) comm->localRank++;
    comm->localRanks++;
  }
  comm->coreSharers = 0;
  for (int r = 0; r < n; r++)
    comm->coreSharers +=
        comm->peerInfo[r].coresHash == comm->peerInfo[comm->rank].coresHash || comm->nodeOf[r] == comm->node;
out:
  free(hashes);
  return res;
}

/* --------------------------------------------------------- create / free */

static void logVersion(void) {
  acclLog(ACCL_LOG_VERSION, ACCL_INIT, __FILE__, __LINE__, "acc-ccl version %d.%d.%d", ACCL_MAJOR, ACCL_MINOR,
          ACCL_PATCH);
}

static void logVersionOnce(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, logVersion);
}

static struct acclComm* commAlloc(int nranks, int rank, int device, const char* name, int nChannels) {
  pthread_mutex_lock(&registryLock);
  struct acclComm* comm = commFreeList;
  if (comm) commFreeList = comm->nextFree;
  pthread_mutex_unlock(&registryLock);
  if (comm) { /* recycled: keep the incarnation counting up */
    uint64_t incarnation = comm->incarnation;
    memset(comm, 0, sizeof(*comm));
    comm->incarnation = incarnation;
  } else {
    comm = calloc(1, sizeof(*comm));
  }
  if (comm == NULL) return NULL;
  comm->rank = rank;
  comm->nranks = nranks;
  comm->device = device;
  comm->configNChannels = nChannels;
  if (name) snprintf(comm->name, sizeof(comm->name), "%s", name);
  return comm;
}

static void commFree(struct acclComm* comm) {
  acclBootstrapClose(comm->bootstrap);
  free(comm->peerInfo);
  free(comm->nodeOf);
  comm->magic = 0;
  __atomic_add_fetch(&comm->incarnation, 1, __ATOMIC_SEQ_CST);
  pthread_mutex_lock(&registryLock);
  comm->nextFree = commFreeList;
  commFreeList = comm;
  pthread_mutex_unlock(&registryLock);
}

/* Everything after the bootstrap is connected; on failure undoes its own steps. */
static acclResult_t commSetup(struct acclComm* comm) {
  acclResult_t res;
  comm->commHash = acclBootstrapHash(comm->bootstrap);
  if (comm->name[0] == '\0') snprintf(comm->name, sizeof(comm->name), "%016llx", (unsigned long long)comm->commHash);
  ACCLCHECK(exchangePeerInfo(comm));
  ACCLCHECK(acclTopoInit(comm));
  ACCLCHECKGOTO(acclCollSetup(comm), res, failTopo);
  ACCLCHECKGOTO(acclBootstrapBarrier(comm->bootstrap), res, failColl);
  comm->magic = ACCL_COMM_MAGIC;
  ACCLCHECKGOTO(registryAdd(comm), res, failColl);
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

acclResult_t acclCommCreate(const acclUniqueId* id, int nranks, int rank, int device, const char* name, int nChannels,
                            struct acclComm** out) {
  logVersionOnce();
  struct acclComm* comm = commAlloc(nranks, rank, device, name, nChannels);
  if (comm == NULL) {
    WARN("out of memory for a communicator");
    return acclSystemError;
  }
  acclLogRank = rank;
  INFO(ACCL_INIT, "rank %d nranks %d device %d - Init START", rank, nranks, device);
  acclResult_t res;
  ACCLCHECKGOTO(acclBootstrapInit(id, rank, nranks, &comm->abortFlag, &comm->bootstrap), res, fail);
  ACCLCHECKGOTO(commSetup(comm), res, fail);
  *out = comm;
  return acclSuccess;
fail:
  commFree(comm);
  return res;
}

acclResult_t acclCommCreateSplit(struct acclComm* parent, const int* members, int nmembers, int myNewRank,
                                 const char* name, int nChannels, struct acclComm** out) {
  struct acclComm* comm = commAlloc(nmembers, myNewRank, parent->device, name, nChannels);
  if (comm == NULL) {
    WARN("out of memory for a communicator");
    return acclSystemError;
  }
  acclResult_t res;
  INFO(ACCL_INIT, "split of comm %s: new rank %d of %d - Init START", parent->name, myNewRank, nmembers);
  ACCLCHECKGOTO(acclBootstrapSplit(parent->bootstrap, members, nmembers, myNewRank, &comm->abortFlag, &comm->bootstrap),
                res, fail);
  acclLogRank = myNewRank;
  ACCLCHECKGOTO(commSetup(comm), res, fail);
  *out = comm;
  return acclSuccess;
fail:
  commFree(comm);
  return res;
}

acclResult_t acclCommRelease(struct acclComm* comm, int abort, const char* fn) {
  pthread_mutex_lock(&registryLock);
  acclResult_t res = checkLocked(comm, fn);
  if (res == acclSuccess) {
    if (abort)
      __atomic_store_n(&comm->abortFlag, 1, __ATOMIC_RELEASE);
    else
      comm->destroyed = 1;
  }
  pthread_mutex_unlock(&registryLock);
  if (res != acclSuccess) return res;
  int rank = comm->rank;
  acclLogRank = rank;
  char name[sizeof(comm->name)];
  memcpy(name, comm->name, sizeof(name));
  INFO(ACCL_INIT, "comm %s rank %d - %s START", name, rank, abort ? "Abort" : "Destroy");
  /* Threads' cached validations of this comm stop here (see acclCommEnter). */
  __atomic_add_fetch(&comm->incarnation, 1, __ATOMIC_SEQ_CST);
  /* Entry points still inside (a split blocked on a stalled peer, a collective
   * running inline) see the abort flag and leave; wait for them, sleeping,
   * before tearing anything down. */
  for (int spins = 0; __atomic_load_n(&comm->users, __ATOMIC_SEQ_CST) != 0; spins++) {
    if (spins < 100)
      sched_yield();
    else
      nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
  /* Destroy waits for queued work; abort stops it (and wakes whatever waits). */
  acclCollTeardown(comm, abort);
  if (ACCL_LOG_ON(ACCL_LOG_INFO, ACCL_DEV)) accDevLogCounters(comm->device);
  acclTopoFini(comm);
  registryRemove(comm);
  commFree(comm);
  INFO(ACCL_INIT, "comm %s rank %d - %s COMPLETE", name, rank, abort ? "Abort" : "Destroy");
  return acclSuccess;
}
