/* sim_stream.c - streams: ordered descriptor queues, submission (including the
 * inline path, where an idle stream's submitter runs a program itself) and the
 * host side of synchronisation.
 *
 * Stream ownership: s->state counts descriptors submitted and not completed;
 * SIM_STATE_INLINE is set while a submitter runs one itself. A submitter may
 * take an idle stream (state 0 -> INLINE|1) with one compare-and-swap and no
 * lock; the engine never runs a stream's queue while INLINE is set, and the
 * queue cannot be non-empty when the CAS succeeds, so order is kept. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include "device/sim/sim.h"
#include "device/sim/tunables.h"

static accError_t queueInit(struct accStream_st* s) {
  s->qcap = 64;
  s->waitTarget = UINT64_MAX;
  s->q = malloc(sizeof(simItem) * s->qcap);
  return s->q ? accSuccess : accErrorMemoryAllocation;
}

accError_t simStreamInit(simDevice* d, struct accStream_st** out, int isDefault) {
  struct accStream_st* s = calloc(1, sizeof(*s));
  if (s == NULL || queueInit(s) != accSuccess) {
    free(s);
    return accErrorMemoryAllocation;
  }
  s->magic = SIM_STREAM_MAGIC;
  s->dev = d;
  s->isDefault = isDefault;
  pthread_mutex_init(&s->lock, NULL);
  pthread_mutex_lock(&d->streamsLock);
  if (d->nstreams == d->streamsCap) {
    int ncap = d->streamsCap ? d->streamsCap * 2 : 16;
    struct accStream_st** ns = realloc(d->streams, sizeof(*ns) * (size_t)ncap);
    if (ns == NULL) {
      pthread_mutex_unlock(&d->streamsLock);
      free(s->q);
      free(s);
      return accErrorMemoryAllocation;
    }
    d->streams = ns;
    d->streamsCap = ncap;
  }
  d->streams[d->nstreams++] = s;
  pthread_mutex_unlock(&d->streamsLock);
  simHandleAdd(s);
  *out = s;
  return accSuccess;
}

accError_t simDefaultStream(int dev, accStream_t* stream) {
  if (dev < 0 || dev >= simNumDevices) return accErrorInvalidDevice;
  simDevice* d = simDeviceGet(dev);
  if (d == NULL) return accErrorInitializationError;
  *stream = d->defaultStream;
  return accSuccess;
}

accError_t simStreamCreate(int dev, accStream_t* stream) {
  simDevice* d = simDeviceGet(dev);
  if (d == NULL) return accErrorInitializationError;
  return simStreamInit(d, stream, 0);
}

accError_t simStreamCheck(accStream_t s, int* dev) {
  if (!simHandleLive(s) || s->magic != SIM_STREAM_MAGIC) return accErrorInvalidResourceHandle;
  *dev = s->dev->index;
  return accSuccess;
}

/* Queue an item at the tail (or, for a program handed over by an inline
 * runner, at the head); the caller rings the doorbell. */
static accError_t queuePush(struct accStream_st* s, const simItem* item, int front, int counted) {
  pthread_mutex_lock(&s->lock);
  if (s->qtail - s->qhead == s->qcap) {
    simItem* nq = malloc(sizeof(simItem) * s->qcap * 2);
    if (nq == NULL) {
      pthread_mutex_unlock(&s->lock);
      return accErrorMemoryAllocation;
    }
    for (uint64_t i = 0; i < s->qcap; i++) nq[i] = s->q[(s->qhead + i) & (s->qcap - 1)];
    free(s->q);
    s->q = nq;
    s->qhead = 0;
    s->qtail = s->qcap;
    s->qcap *= 2;
  }
  if (front) {
    s->q[(s->qhead - 1) & (s->qcap - 1)] = *item;
    __atomic_sub_fetch(&s->qhead, 1, __ATOMIC_RELEASE);
    __atomic_and_fetch(&s->state, ~SIM_STATE_INLINE, __ATOMIC_ACQ_REL);
  } else {
    s->q[s->qtail & (s->qcap - 1)] = *item;
    __atomic_add_fetch(&s->qtail, 1, __ATOMIC_RELEASE);
  }
  if (!counted) {
    /* Counted before the queue lock is released, so that the engine can
     * never complete an item that the state does not count yet. */
    __atomic_add_fetch(&s->state, 1, __ATOMIC_ACQ_REL);
    __atomic_add_fetch(&s->submitted, 1, __ATOMIC_ACQ_REL);
  }
  pthread_mutex_unlock(&s->lock);
  return accSuccess;
}

accError_t simStreamPush(accStream_t s, const simItem* item) {
  accError_t err = queuePush(s, item, 0, 0);
  if (err == accSuccess) simRing(s->dev->hdr);
  return err;
}

void simWakeHostWaiters(simDevice* d) {
  __atomic_add_fetch(&d->completions, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&d->hostWaiters, __ATOMIC_SEQ_CST)) simFutexWake(&d->completions);
}

static void wakeStreamWaiters(struct accStream_st* s, uint64_t completed) {
  if (__atomic_load_n(&s->waitSleepers, __ATOMIC_SEQ_CST) &&
      completed >= __atomic_load_n(&s->waitTarget, __ATOMIC_SEQ_CST)) {
    __atomic_add_fetch(&s->waitWord, 1, __ATOMIC_SEQ_CST);
    simFutexWake(&s->waitWord);
  }
}

void simStreamCompleted(struct accStream_st* s) {
  uint64_t c = __atomic_add_fetch(&s->completed, 1, __ATOMIC_SEQ_CST);
  __atomic_sub_fetch(&s->state, 1, __ATOMIC_ACQ_REL);
  wakeStreamWaiters(s, c);
  if (__atomic_load_n(&s->dev->hostWaiters, __ATOMIC_SEQ_CST)) simWakeHostWaiters(s->dev);
}

/* Try to take an idle stream for the calling thread. */
int simStreamTryInline(struct accStream_st* s) {
  uint64_t idle = 0;
  if (!__atomic_compare_exchange_n(&s->state, &idle, SIM_STATE_INLINE | 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
    return 0;
  __atomic_add_fetch(&s->submitted, 1, __ATOMIC_RELAXED);
  return 1;
}

/* The inline runner finished its item: give the stream back. */
void simStreamInlineDone(struct accStream_st* s) {
  uint64_t c = __atomic_add_fetch(&s->completed, 1, __ATOMIC_SEQ_CST);
  wakeStreamWaiters(s, c);
  uint64_t left = __atomic_sub_fetch(&s->state, SIM_STATE_INLINE | 1, __ATOMIC_ACQ_REL);
  if (left) simRing(s->dev->hdr); /* others queued behind us while we ran */
  if (__atomic_load_n(&s->dev->hostWaiters, __ATOMIC_SEQ_CST)) simWakeHostWaiters(s->dev);
}

/* Run a program on the caller's thread for at most the inline budget:
 * polling for the first ACCL_SIM_SPIN_NS, then yielding the core between
 * polls (a peer rank may need it: 8 ranks share 2 cores). Handing the program
 * to the engine costs a thread hand-off per step afterwards, so the budget is
 * worth spending while the peers are merely descheduled. */
static int runProgramInline(const accDevDesc* desc, int dev) {
  int r = desc->u.program.fn(desc->u.program.arg, dev);
  if (r != ACCDEV_AGAIN && r != ACCDEV_MOVED) return r;
  uint64_t start = acclClockNs(), now = start;
  /* the program's own spin wish counts only where spinning is allowed at all
   * (not when ranks outnumber cores: then the default is 0) */
  uint64_t spin = simSpinNs() ? ACCL_MAX(simSpinNs(), (uint64_t)desc->u.program.spinNs) : 0;
  uint64_t budget = ACCL_MAX(simTun.inlineNs, spin + spin / 2);
  unsigned polls = 0;
  do {
    /* Poll back to back at first (a pause instruction costs ~40 ns on recent
     * cores: more than the wait it would smooth), then pause, then yield. */
    if (now - start >= spin)
      sched_yield();
    else if (polls >= 64)
      simCpuRelax();
    r = desc->u.program.fn(desc->u.program.arg, dev);
    if ((++polls & 7) == 0) now = acclClockNs(); /* the clock costs more than a poll */
  } while ((r == ACCDEV_AGAIN || r == ACCDEV_MOVED) && now - start < budget);
  return r == ACCDEV_MOVED ? ACCDEV_AGAIN : r;
}

accError_t simStreamSubmit(accStream_t s, const accDevDesc* desc, unsigned flags) {
  if (s == NULL || s->magic != SIM_STREAM_MAGIC) return accErrorInvalidResourceHandle;
  switch (desc->type) {
    case ACCDEV_DESC_COPY:
    case ACCDEV_DESC_MEMSET:
    case ACCDEV_DESC_REDUCE: {
      accError_t err = accDevDescCheck(desc);
      if (err != accSuccess) return err;
      break;
    }
    case ACCDEV_DESC_WAIT_FLAG:
    case ACCDEV_DESC_SET_FLAG:
      if (desc->u.flag.flag == NULL) return accErrorInvalidValue;
      break;
    case ACCDEV_DESC_PROGRAM:
      if (desc->u.program.fn == NULL) return accErrorInvalidValue;
      break;
    default: return accErrorInvalidValue;
  }
  int inlineOk = (flags & ACCDEV_SUBMIT_INLINE) && desc->type != ACCDEV_DESC_WAIT_FLAG &&
                 (desc->type != ACCDEV_DESC_PROGRAM || simTun.inlineNs > 0);
  /* Work queued ahead of us (an earlier program handed to the engine): run it
   * here first, so a burst of small calls gets back to running inline. */
  if (inlineOk && __atomic_load_n(&s->state, __ATOMIC_ACQUIRE)) simStreamHelp(s, simTun.inlineNs);
  if (inlineOk && simStreamTryInline(s)) {
    simDevice* d = s->dev;
    int r;
    if (__atomic_load_n(&s->error, __ATOMIC_ACQUIRE))
      r = -(int)acclDeviceError;
    else if (desc->type == ACCDEV_DESC_PROGRAM)
      r = runProgramInline(desc, d->index);
    else {
      simItem it = {.d = *desc, .kind = SIM_ITEM_DESC};
      r = simItemRun(d, s, &it);
    }
    if (r == ACCDEV_AGAIN) {
      /* Hand the program (its progress is in arg) to the engine, ahead of
       * anything queued meanwhile. */
      simItem it = {.d = *desc, .kind = SIM_ITEM_DESC};
      accError_t err = queuePush(s, &it, 1, 1);
      if (err != accSuccess) {
        /* Cannot queue it: the submitter gets the error and still owns the
         * program (as for every failed submission: fini is not called). */
        __atomic_store_n(&s->error, accErrorLaunchFailure, __ATOMIC_RELEASE);
        simStreamInlineDone(s);
        return err;
      }
      simRing(d->hdr);
      return accSuccess;
    }
    if (r < 0) __atomic_store_n(&s->error, accErrorLaunchFailure, __ATOMIC_RELEASE);
    if (desc->type == ACCDEV_DESC_PROGRAM && desc->u.program.fini) desc->u.program.fini(desc->u.program.arg, r);
    __atomic_add_fetch(&d->counters.descriptors, 1, __ATOMIC_RELAXED);
    simStreamInlineDone(s);
    return accSuccess;
  }
  simItem it = {.d = *desc, .kind = SIM_ITEM_DESC};
  return simStreamPush(s, &it);
}

/* ---------------------------------------------------------- host waiting */

void simHostWait(simDevice* d, int (*done)(void*), void* arg) {
  if (done(arg)) return;
  uint64_t start = acclClockNs();
  while (acclClockNs() - start < simSpinNs()) {
    for (int i = 0; i < 32; i++) simCpuRelax();
    if (done(arg)) return;
  }
  for (int i = 0; i < simTun.yields; i++) {
    sched_yield();
    if (done(arg)) return;
  }
  while (!done(arg)) {
    uint32_t seen = __atomic_load_n(&d->completions, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&d->hostWaiters, 1, __ATOMIC_SEQ_CST);
    if (!done(arg)) simFutexWait(&d->completions, seen, 10 * 1000 * 1000ull);
    __atomic_sub_fetch(&d->hostWaiters, 1, __ATOMIC_SEQ_CST);
  }
}

typedef struct {
  struct accStream_st* s;
  uint64_t target;
} streamTarget;

static int streamReached(void* arg) {
  streamTarget* t = arg;
  return __atomic_load_n(&t->s->completed, __ATOMIC_ACQUIRE) >= t->target;
}

/* Spin, yield, then sleep until the stream's completions reach the target
 * (the engine wakes us once, when it gets there). */
static void streamWait(struct accStream_st* s, uint64_t target) {
  streamTarget t = {s, target};
  if (streamReached(&t)) return;
  /* Run the queue ourselves while the engine is not on it: the waiting
   * thread has nothing better to do. Blocked longer than the help budget
   * (ACCL_SYNC_HELP_NS), it leaves the rest to the engine and sleeps. */
  if (simTun.syncHelpNs > 0) simStreamHelp(s, simTun.syncHelpNs);
  if (streamReached(&t)) return;
  uint64_t start = acclClockNs();
  while (acclClockNs() - start < simSpinNs()) {
    for (int i = 0; i < 32; i++) simCpuRelax();
    if (streamReached(&t)) return;
  }
  for (int i = 0; i < simTun.yields; i++) {
    sched_yield();
    if (streamReached(&t)) return;
  }
  while (!streamReached(&t)) {
    uint32_t seen = __atomic_load_n(&s->waitWord, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&s->waitSleepers, 1, __ATOMIC_SEQ_CST);
    uint64_t cur = __atomic_load_n(&s->waitTarget, __ATOMIC_SEQ_CST);
    while (target < cur &&
           !__atomic_compare_exchange_n(&s->waitTarget, &cur, target, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {}
    /* the 2 ms timeout bounds the rare race with another sleeper resetting the target */
    if (!streamReached(&t)) simFutexWait(&s->waitWord, seen, 2 * 1000 * 1000ull);
    if (__atomic_sub_fetch(&s->waitSleepers, 1, __ATOMIC_SEQ_CST) == 0)
      __atomic_store_n(&s->waitTarget, UINT64_MAX, __ATOMIC_SEQ_CST);
  }
}

accError_t simStreamSynchronize(accStream_t s) {
  streamWait(s, __atomic_load_n(&s->submitted, __ATOMIC_ACQUIRE));
  return __atomic_load_n(&s->error, __ATOMIC_ACQUIRE) ? accErrorLaunchFailure : accSuccess;
}

accError_t simStreamQuery(accStream_t s) {
  if (__atomic_load_n(&s->error, __ATOMIC_ACQUIRE)) return accErrorLaunchFailure;
  return __atomic_load_n(&s->completed, __ATOMIC_ACQUIRE) >= __atomic_load_n(&s->submitted, __ATOMIC_ACQUIRE)
             ? accSuccess
             : accErrorNotReady;
}

accError_t simStreamError(accStream_t s) {
  return __atomic_load_n(&s->error, __ATOMIC_ACQUIRE) ? accErrorLaunchFailure : accSuccess;
}

accError_t simDeviceSynchronize(int dev) {
  simDevice* d = simDeviceGet(dev);
  if (d == NULL) return accErrorInitializationError;
  pthread_mutex_lock(&d->streamsLock);
  int n = d->nstreams;
  streamTarget* t = malloc(sizeof(*t) * (size_t)(n ? n : 1));
  if (t == NULL) {
    pthread_mutex_unlock(&d->streamsLock);
    return accErrorMemoryAllocation;
  }
  for (int i = 0; i < n; i++) {
    t[i].s = d->streams[i];
    t[i].target = __atomic_load_n(&t[i].s->submitted, __ATOMIC_ACQUIRE);
    __atomic_add_fetch(&t[i].s->holders, 1, __ATOMIC_ACQ_REL); /* pins it against destroy */
  }
  pthread_mutex_unlock(&d->streamsLock);
  accError_t err = accSuccess;
  for (int i = 0; i < n; i++) {
    streamWait(t[i].s, t[i].target);
    if (__atomic_load_n(&t[i].s->error, __ATOMIC_ACQUIRE)) err = accErrorLaunchFailure;
    __atomic_sub_fetch(&t[i].s->holders, 1, __ATOMIC_ACQ_REL);
  }
  free(t);
  return err;
}

accError_t simStreamDestroy(accStream_t s) {
  if (s->isDefault) return accErrorInvalidResourceHandle;
  if (!simHandleRemove(s)) return accErrorInvalidResourceHandle;
  simDevice* d = s->dev;
  streamWait(s, __atomic_load_n(&s->submitted, __ATOMIC_ACQUIRE));
  pthread_mutex_lock(&d->streamsLock);
  for (int i = 0; i < d->nstreams; i++)
    if (d->streams[i] == s) {
      d->streams[i] = d->streams[--d->nstreams];
      break;
    }
  pthread_mutex_unlock(&d->streamsLock);
  /* No engine can pick it any more; wait for one that still runs it. */
  while (__atomic_load_n(&s->engineBusy, __ATOMIC_ACQUIRE) || __atomic_load_n(&s->holders, __ATOMIC_ACQUIRE))
    sched_yield();
  s->magic = 0;
  free(s->q);
  pthread_mutex_destroy(&s->lock);
  free(s);
  return accSuccess;
}
