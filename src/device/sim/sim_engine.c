/* sim_engine.c - the engine threads of a device: they take descriptors from
 * the device's streams in stream order and execute them. A stream blocked on a
 * flag (WAIT_FLAG, a program returning ACCDEV_AGAIN, an event wait) blocks
 * only itself. With nothing runnable an engine polls briefly, yields, then
 * sleeps on the device's doorbell futex (in the shared window header, so a
 * peer process's accDevSignal wakes it). */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include "device/sim/sim.h"
#include "device/sim/tunables.h"

int simItemRun(simDevice* d, struct accStream_st* s, simItem* it) {
  switch (it->kind) {
    case SIM_ITEM_EVENT_RECORD: simEventRecorded(it->event, it->eventGen); return ACCDEV_DONE;
    case SIM_ITEM_WAIT_EVENT:
      if (__atomic_load_n(&it->event->doneGen, __ATOMIC_ACQUIRE) < it->eventGen) return ACCDEV_AGAIN;
      simEventRelease(it->event);
      return ACCDEV_DONE;
    case SIM_ITEM_DESC: break;
  }
  const accDevDesc* desc = &it->d;
  switch (desc->type) {
    case ACCDEV_DESC_COPY:
    case ACCDEV_DESC_MEMSET:
    case ACCDEV_DESC_REDUCE: return simExec(d->index, desc) == accSuccess ? ACCDEV_DONE : -(int)acclDeviceError;
    case ACCDEV_DESC_WAIT_FLAG:
      return __atomic_load_n(desc->u.flag.flag, __ATOMIC_ACQUIRE) >= desc->u.flag.value ? ACCDEV_DONE : ACCDEV_AGAIN;
    case ACCDEV_DESC_SET_FLAG: simSignal(desc->u.flag.flag, desc->u.flag.value); return ACCDEV_DONE;
    case ACCDEV_DESC_PROGRAM:
      /* Its data movement is timed by accDevExec; the control steps are not. */
      return desc->u.program.fn(desc->u.program.arg, d->index);
    default: return -(int)acclInternalError;
  }
}

/* Item leaves the stream with status (DONE or an error): let its owner know. */
static void itemFinished(simDevice* d, simItem* it, int status) {
  if (it->kind == SIM_ITEM_DESC) {
    if (it->d.type == ACCDEV_DESC_PROGRAM && it->d.u.program.fini) it->d.u.program.fini(it->d.u.program.arg, status);
    if (it->d.type > ACCDEV_DESC_REDUCE) __atomic_add_fetch(&d->counters.descriptors, 1, __ATOMIC_RELAXED);
  } else if (it->kind == SIM_ITEM_WAIT_EVENT && status != ACCDEV_DONE) {
    simEventRelease(it->event); /* dropped: its reference was not released by the run */
  }
}

/* What one pass over streams saw, for the engine's backoff. */
typedef struct {
  int blocked;     /* a stream waits on something */
  int queued;      /* a stream has work */
  int moved;       /* a blocked program moved (ACCDEV_MOVED) */
  uint32_t pollNs; /* the longest poll window a blocked program asked for */
} simScan;

/* Run the head items of s until one blocks. Returns the items completed. */
static int runStream(simDevice* d, struct accStream_st* s, simScan* scan) {
  int done = 0;
  for (int n = 0; n < 64; n++) {
    simItem it;
    pthread_mutex_lock(&s->lock);
    if (s->qhead == s->qtail || (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) & SIM_STATE_INLINE)) {
      pthread_mutex_unlock(&s->lock);
      break;
    }
    it = s->q[s->qhead & (s->qcap - 1)];
    pthread_mutex_unlock(&s->lock);
    int r;
    /* Sticky error: later work is dropped, but event records still complete
     * so that nobody waits forever. */
    if (__atomic_load_n(&s->error, __ATOMIC_ACQUIRE) && it.kind != SIM_ITEM_EVENT_RECORD)
      r = -(int)acclDeviceError;
    else
      r = simItemRun(d, s, &it);
    if (r == ACCDEV_AGAIN || r == ACCDEV_MOVED) {
      scan->blocked = 1;
      if (r == ACCDEV_MOVED) scan->moved = 1;
      if (it.kind == SIM_ITEM_DESC && it.d.type == ACCDEV_DESC_PROGRAM)
        scan->pollNs = ACCL_MAX(scan->pollNs, it.d.u.program.pollNs);
      break;
    }
    if (r < 0 && !__atomic_load_n(&s->error, __ATOMIC_ACQUIRE)) {
      WARN("device %d: work on stream %p failed (%d); the stream is in error from now on", d->index, (void*)s, r);
      __atomic_store_n(&s->error, accErrorLaunchFailure, __ATOMIC_RELEASE);
    }
    itemFinished(d, &it, r);
    pthread_mutex_lock(&s->lock);
    __atomic_add_fetch(&s->qhead, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&s->lock);
    simStreamCompleted(s);
    done++;
  }
  return done;
}

/* One pass over the device's streams: run what is runnable. Returns the
 * items completed; fills *scan. */
static int scanStreams(simDevice* d, simScan* scan) {
  int progress = 0;
  for (int i = 0;; i++) {
    pthread_mutex_lock(&d->streamsLock);
    if (i >= d->nstreams) {
      pthread_mutex_unlock(&d->streamsLock);
      break;
    }
    struct accStream_st* s = d->streams[i];
    int claimed = 0;
    if (__atomic_load_n(&s->qtail, __ATOMIC_ACQUIRE) != __atomic_load_n(&s->qhead, __ATOMIC_RELAXED)) {
      int expect = 0;
      scan->queued = 1;
      claimed = __atomic_compare_exchange_n(&s->engineBusy, &expect, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&d->streamsLock);
    if (claimed) {
      progress += runStream(d, s, scan);
      __atomic_store_n(&s->engineBusy, 0, __ATOMIC_RELEASE);
    }
  }
  return progress;
}

/* A host thread (a submitter or a synchronizer) runs stream s's queued items
 * itself, as an engine would, until the queue is empty or it has been blocked
 * (no item completing) for budgetNs: with 2 cores and several ranks, doing
 * the work in the thread that wants it done beats handing it to an engine
 * thread and waking back. Returns the items completed (0 when an engine holds
 * the stream). */
int simStreamHelp(struct accStream_st* s, uint64_t budgetNs) {
  int expect = 0;
  if (__atomic_load_n(&s->qtail, __ATOMIC_ACQUIRE) == __atomic_load_n(&s->qhead, __ATOMIC_ACQUIRE)) return 0;
  if (!__atomic_compare_exchange_n(&s->engineBusy, &expect, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return 0;
  simDevice* d = s->dev;
  uint64_t start = acclClockNs();
  int done = 0;
  for (;;) {
    simScan scan = {0, 0, 0, 0};
    int n = runStream(d, s, &scan);
    done += n;
    if (__atomic_load_n(&s->qtail, __ATOMIC_ACQUIRE) == __atomic_load_n(&s->qhead, __ATOMIC_ACQUIRE)) break;
    /* progress: the blocked-time budget starts again (a program that merely
     * moved counts only where ranks do not outnumber cores: there the engine
     * takes over and this thread sleeps) */
    if (n || (scan.moved && simSpinNs())) {
      start = acclClockNs();
      continue;
    }
    uint64_t spent = acclClockNs() - start;
    if (spent >= budgetNs) break;
    if (spent < simSpinNs())
      simCpuRelax();
    else
      sched_yield();
  }
  __atomic_store_n(&s->engineBusy, 0, __ATOMIC_RELEASE);
  /* left work behind: the engine carries on */
  if (__atomic_load_n(&s->qtail, __ATOMIC_ACQUIRE) != __atomic_load_n(&s->qhead, __ATOMIC_ACQUIRE)) simRing(d->hdr);
  return done;
}

void simPlaceEngines(int dev, int numa, accDevThreadBindFn bind) {
  simDevice* d = &simDevices[dev];
  pthread_mutex_lock(&d->lock);
  d->placeNuma = numa;
  d->placeBind = bind;
  __atomic_add_fetch(&d->placeGen, 1, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&d->lock);
  if (__atomic_load_n(&d->ready, __ATOMIC_ACQUIRE)) simRing(d->hdr); /* let sleeping engines see it */
}

/* Apply a placement request from the engine thread itself. */
static void placeSelf(simDevice* d, uint32_t* seenGen, int engine) {
  uint32_t gen = __atomic_load_n(&d->placeGen, __ATOMIC_ACQUIRE);
  if (gen == *seenGen) return;
  *seenGen = gen;
  pthread_mutex_lock(&d->lock);
  int numa = d->placeNuma;
  accDevThreadBindFn bind = d->placeBind;
  pthread_mutex_unlock(&d->lock);
  char what[48];
  snprintf(what, sizeof(what), "engine %d of device %d", engine, d->index);
  if (bind) bind(numa, what);
}

static void* engineMain(void* arg) {
  simDevice* d = arg;
  acclLogDevice = d->index; /* its log lines name its device */
  uint64_t idleSince = 0;
  int yields = 0;
  uint32_t placeGen = 0;
  for (;;) {
    simScan scan = {0, 0, 0, 0};
    placeSelf(d, &placeGen, 0);
    if (scanStreams(d, &scan) || scan.moved) {
      idleSince = 0;
      yields = 0;
      continue;
    }
    /* Back off: poll, then yield (for as long as a blocked program's poll
     * window asks, counted from its last move), then sleep until a doorbell
     * (or a timeout, to re-check flags whose setters do not ring). */
    uint64_t now = acclClockNs();
    if (idleSince == 0) idleSince = now;
    if (now - idleSince < simSpinNs()) {
      for (int k = 0; k < 64; k++) simCpuRelax();
      continue;
    }
    /* (no poll window where ranks outnumber cores: the polls would take the
     * cores from the peers that do the work) */
    if (yields < simTun.yields || (simSpinNs() && now - idleSince < scan.pollNs)) {
      yields++;
      sched_yield();
      continue;
    }
    /* Announce the sleep, then look once more: a ringer that stored its work
     * before reading `sleepers` as 0 is seen by this pass; one that reads it
     * after sees us and bumps the doorbell (simRing). */
    __atomic_add_fetch(&d->hdr->sleepers, 1, __ATOMIC_SEQ_CST);
    uint32_t seen = __atomic_load_n(&d->hdr->doorbell, __ATOMIC_SEQ_CST);
    int progress = scanStreams(d, &scan) || scan.moved;
    if (!progress)
      simFutexWait(&d->hdr->doorbell, seen, (scan.blocked || scan.queued) ? simTun.blockedNs : simTun.idleNs);
    __atomic_sub_fetch(&d->hdr->sleepers, 1, __ATOMIC_SEQ_CST);
    if (progress || __atomic_load_n(&d->hdr->doorbell, __ATOMIC_SEQ_CST) != seen) {
      idleSince = 0; /* woken by work: poll again for a while */
      yields = 0;
    }
  }
  return NULL;
}

accError_t simEngineStart(simDevice* d) {
  d->nengines = simTun.engines;
  for (int i = 0; i < d->nengines; i++) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, engineMain, d);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
      WARN("device %d: cannot start engine thread %d", d->index, i);
      return accErrorInitializationError;
    }
    char name[32];
    snprintf(name, sizeof(name), "acc-sim%d-e%d", d->index, i);
    name[15] = '\0'; /* the kernel keeps 15 characters */
    pthread_setname_np(t, name);
  }
  return accSuccess;
}
