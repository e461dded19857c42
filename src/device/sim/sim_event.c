/* sim_event.c - events are positions in a stream: a record queues a marker
 * that, when the engine reaches it, stamps the time and marks the event's
 * generation done; a stream waiting on an event queues a marker that blocks
 * that stream until the generation is done. */
#include <stdlib.h>
#include "device/sim/sim.h"
#include "device/sim/tunables.h"

static int eventLive(struct accEvent_st* e) { return simHandleLive(e) && e->magic == SIM_EVENT_MAGIC; }

accError_t simEventCreate(int dev, unsigned flags, accEvent_t* event) {
  simDevice* d = simDeviceGet(dev);
  if (d == NULL) return accErrorInitializationError;
  struct accEvent_st* e = calloc(1, sizeof(*e));
  if (e == NULL) return accErrorMemoryAllocation;
  e->magic = SIM_EVENT_MAGIC;
  e->flags = flags;
  e->dev = d;
  e->refs = 1;
  simHandleAdd(e);
  *event = e;
  return accSuccess;
}

void simEventRelease(struct accEvent_st* e) {
  if (__atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) == 0) {
    e->magic = 0;
    free(e);
  }
}

void simEventRecorded(struct accEvent_st* e, uint64_t gen) {
  __atomic_store_n(&e->timeNs, acclClockNs(), __ATOMIC_RELAXED);
  uint64_t cur = __atomic_load_n(&e->doneGen, __ATOMIC_RELAXED);
  while (cur < gen && !__atomic_compare_exchange_n(&e->doneGen, &cur, gen, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {}
  uint64_t waiters = __atomic_load_n(&e->waiterDevs, __ATOMIC_ACQUIRE);
  for (int i = 0; waiters && i < simNumDevices; i++)
    if (waiters & (1ull << i)) simRing(simDevices[i].hdr);
  simEventRelease(e);
}

accError_t simEventRecord(accEvent_t e, accStream_t s) {
  if (!eventLive(e)) return accErrorInvalidResourceHandle;
  e->dev = s->dev;
  uint64_t gen = __atomic_add_fetch(&e->recordGen, 1, __ATOMIC_ACQ_REL);
  __atomic_add_fetch(&e->refs, 1, __ATOMIC_ACQ_REL);
  if (simStreamTryInline(s)) { /* idle stream: the event is reached now */
    simEventRecorded(e, gen);
    simStreamInlineDone(s);
    return accSuccess;
  }
  simItem it = {.kind = SIM_ITEM_EVENT_RECORD, .event = e, .eventGen = gen};
  accError_t err = simStreamPush(s, &it);
  if (err != accSuccess) simEventRecorded(e, gen);
  return err;
}

static int eventReached(void* arg) {
  struct accEvent_st* e = arg;
  return __atomic_load_n(&e->doneGen, __ATOMIC_ACQUIRE) >= __atomic_load_n(&e->recordGen, __ATOMIC_ACQUIRE);
}

accError_t simEventSynchronize(accEvent_t e) {
  if (!eventLive(e)) return accErrorInvalidResourceHandle;
  simHostWait(e->dev, eventReached, e);
  return accSuccess;
}

accError_t simEventQuery(accEvent_t e) {
  if (!eventLive(e)) return accErrorInvalidResourceHandle;
  return eventReached(e) ? accSuccess : accErrorNotReady;
}

accError_t simEventElapsedTime(float* ms, accEvent_t a, accEvent_t b) {
  if (!eventLive(a) || !eventLive(b)) return accErrorInvalidResourceHandle;
  if ((a->flags | b->flags) & accEventDisableTiming) return accErrorInvalidResourceHandle;
  if (__atomic_load_n(&a->recordGen, __ATOMIC_ACQUIRE) == 0 || __atomic_load_n(&b->recordGen, __ATOMIC_ACQUIRE) == 0)
    return accErrorInvalidResourceHandle; /* never recorded */
  if (!eventReached(a) || !eventReached(b)) return accErrorNotReady;
  int64_t dt = (int64_t)(__atomic_load_n(&b->timeNs, __ATOMIC_ACQUIRE) - __atomic_load_n(&a->timeNs, __ATOMIC_ACQUIRE));
  *ms = (float)((double)dt / 1e6);
  return accSuccess;
}

accError_t simEventDestroy(accEvent_t e) {
  if (!simHandleRemove(e)) return accErrorInvalidResourceHandle;
  simEventRelease(e); /* freed once pending records and waits are gone */
  return accSuccess;
}

accError_t simStreamWaitEvent(accStream_t s, accEvent_t e) {
  if (!eventLive(e)) return accErrorInvalidResourceHandle;
  uint64_t gen = __atomic_load_n(&e->recordGen, __ATOMIC_ACQUIRE);
  if (gen == 0 || __atomic_load_n(&e->doneGen, __ATOMIC_ACQUIRE) >= gen) return accSuccess; /* nothing to wait for */
  __atomic_or_fetch(&e->waiterDevs, 1ull << s->dev->index, __ATOMIC_ACQ_REL);
  __atomic_add_fetch(&e->refs, 1, __ATOMIC_ACQ_REL);
  simItem it = {.kind = SIM_ITEM_WAIT_EVENT, .event = e, .eventGen = gen};
  accError_t err = simStreamPush(s, &it);
  if (err != accSuccess) simEventRelease(e);
  return err;
}
