/* registry.c - the registry of live communicators that every entry point
 * validates against (unknown pointers are never dereferenced), entering and
 * leaving a communicator, asynchronous errors, and the recycling of
 * communicator structs. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "comm/comm.h"

/* ----------------------------------------------------------------- registry */

static pthread_mutex_t registryLock = PTHREAD_MUTEX_INITIALIZER;
static struct acclComm** registry;
static int registryCount, registryCap;

/* Released comm structs, recycled by acclCommAlloc oldest first and only
 * once ACCL_COMM_QUARANTINE (1024) newer ones were released: a stale handle
 * (a communicator destroyed, then another created) keeps pointing at a dead
 * struct instead of at the new communicator. */
static struct acclComm *commFreeHead, *commFreeTail;
static int commFreeCount;
#define COMM_QUARANTINE 1024

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
      ACCL_ERROR(acclSystemError, "out of memory registering a communicator");
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
  if (comm->creatorPid != (int)getpid())
    ACCL_ARG_ERROR(acclInvalidUsage,
                   "%s: comm (rank %d of %d) was created by process %d; this forked child (pid %d) cannot use it", fn,
                   comm->rank, comm->nranks, comm->creatorPid, (int)getpid());
  return acclSuccess;
}

/* Caller holds registryLock and checkLocked passed. */
static acclResult_t checkReadyLocked(const struct acclComm* comm, const char* fn) {
  int state = __atomic_load_n(&comm->state, __ATOMIC_ACQUIRE);
  if (state == acclInProgress)
    ACCL_ARG_ERROR(acclInvalidUsage,
                   "%s: comm is not ready: a non-blocking creation, split or finalize still runs on it "
                   "(poll acclCommGetAsyncError until it returns acclSuccess)",
                   fn);
  if (state != acclSuccess)
    ACCL_ARG_ERROR(acclInvalidUsage, "%s: comm failed to initialise (%s); only acclCommAbort or acclCommDestroy remain",
                   fn, comm->stateError);
  if (comm->finalized)
    ACCL_ARG_ERROR(acclInvalidUsage, "%s: comm was finalized; only acclCommDestroy or acclCommAbort remain", fn);
  return acclSuccess;
}

acclResult_t acclCommCheck(const struct acclComm* comm, const char* fn) {
  pthread_mutex_lock(&registryLock);
  acclResult_t res = checkLocked(comm, fn);
  if (res == acclSuccess) res = checkReadyLocked(comm, fn);
  pthread_mutex_unlock(&registryLock);
  return res;
}

acclResult_t acclCommCheckAlive(const struct acclComm* comm, const char* fn) {
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

/* A forked child inherits the forking thread's cached validation: drop it,
 * so that its first call meets the creator-pid check. */
static void forgetEnteredInChild(void) { enteredComm = NULL; }
static void registerAtfork(void) { pthread_atfork(NULL, NULL, forgetEnteredInChild); }

acclResult_t acclCommEnter(struct acclComm* comm, const char* fn) {
  if (comm != NULL && comm == enteredComm) {
    __atomic_add_fetch(&comm->users, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&comm->incarnation, __ATOMIC_SEQ_CST) == enteredIncarnation &&
        !__atomic_load_n(&comm->abortFlag, __ATOMIC_ACQUIRE) &&
        __atomic_load_n(&comm->state, __ATOMIC_ACQUIRE) == acclSuccess && !comm->finalized)
      return acclSuccess;
    __atomic_sub_fetch(&comm->users, 1, __ATOMIC_SEQ_CST);
  }
  pthread_mutex_lock(&registryLock);
  acclResult_t res = checkLocked(comm, fn);
  if (res == acclSuccess) res = checkReadyLocked(comm, fn);
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
  if (!__atomic_compare_exchange_n(&comm->asyncError, &expected, (int)err, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return;
  const char* text = acclLastErrorText();
  if (text[0])
    snprintf(comm->asyncErrorText, sizeof(comm->asyncErrorText), "%s", text);
  else
    snprintf(comm->asyncErrorText, sizeof(comm->asyncErrorText), "rank %d: asynchronous failure: %s", comm->rank,
             acclGetErrorString(err));
  __atomic_store_n(&comm->asyncErrorTextSet, 1, __ATOMIC_RELEASE);
}

const char* acclCommAsyncErrorText(const struct acclComm* comm) {
  if (comm == NULL) return NULL;
  pthread_mutex_lock(&registryLock);
  int live = registryFind(comm) >= 0 && comm->magic == ACCL_COMM_MAGIC;
  pthread_mutex_unlock(&registryLock);
  if (!live || !__atomic_load_n(&comm->asyncErrorTextSet, __ATOMIC_ACQUIRE)) return NULL;
  return comm->asyncErrorText;
}

struct acclComm* acclCommAlloc(int nranks, int rank, int device, const char* name, int nChannels) {
  pthread_mutex_lock(&registryLock);
  struct acclComm* comm = NULL;
  if (commFreeCount > COMM_QUARANTINE) {
    comm = commFreeHead;
    commFreeHead = comm->nextFree;
    if (commFreeHead == NULL) commFreeTail = NULL;
    commFreeCount--;
  }
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
  comm->blocking = 1;
  if (name) snprintf(comm->name, sizeof(comm->name), "%s", name);
  return comm;
}

void acclCommFree(struct acclComm* comm) {
  acclBootstrapClose(comm->bootstrap);
  free(comm->peerInfo);
  free(comm->nodeOf);
  comm->magic = 0;
  __atomic_add_fetch(&comm->incarnation, 1, __ATOMIC_SEQ_CST);
  pthread_mutex_lock(&registryLock);
  comm->nextFree = NULL;
  if (commFreeTail)
    commFreeTail->nextFree = comm;
  else
    commFreeHead = comm;
  commFreeTail = comm;
  commFreeCount++;
  pthread_mutex_unlock(&registryLock);
}

acclResult_t acclCommRegistryAdd(struct acclComm* comm) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, registerAtfork);
  comm->magic = ACCL_COMM_MAGIC;
  comm->creatorPid = (int)getpid();
  return registryAdd(comm);
}

void acclCommUnregister(struct acclComm* comm) { registryRemove(comm); }

acclResult_t acclCommBeginRelease(struct acclComm* comm, int abort, const char* fn) {
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
  /* Threads' cached validations of this comm stop here (see acclCommEnter). */
  __atomic_add_fetch(&comm->incarnation, 1, __ATOMIC_SEQ_CST);
  /* Entry points still inside (a split blocked on a stalled peer, a collective
   * running inline) see the abort flag and leave; wait for them, sleeping,
   * before anything is torn down. */
  for (int spins = 0; __atomic_load_n(&comm->users, __ATOMIC_SEQ_CST) != 0; spins++) {
    if (spins < 100)
      sched_yield();
    else
      nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
  return acclSuccess;
}
