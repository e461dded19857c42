/* sim_device.c - the simulated chip's device table, start-up, properties,
 * fork handling and its accDevOps table. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "device/sim/sim.h"
#include "device/sim/reduce.h"
#include "device/sim/tunables.h"
#include "core/param.h"
#include "device/linkgraph.h"

simDevice simDevices[SIM_MAX_DEVICES];
int simNumDevices;
uint64_t simGeneration = 1;
static pthread_mutex_t simInitLock = PTHREAD_MUTEX_INITIALIZER;
simTunables simTun;

/* More ranks than cores: poll not at all before yielding, unless the user
 * chose ACCL_SIM_SPIN_NS. */
static void simHintOversubscribed(void) {
  if (!acclParamIsSet(ACCL_PARAM_SIM_SPIN_NS) && simSpinNs()) {
    __atomic_store_n(&simTun.spinNs, 0, __ATOMIC_RELAXED); /* engines read it as they go */
    INFO(ACCL_DEV, "more ranks than cores on this node: waiting threads yield without polling first");
  }
}

void simTunablesLoad(void) {
  simTun.inlineNs = (uint64_t)acclParamInlineNs();
  simTun.spinNs = (uint64_t)acclParamSimSpinNs();
  simTun.syncHelpNs = (uint64_t)acclParamSyncHelpNs();
  simTun.yields = (int)acclParamSimYields();
  simTun.engines = (int)acclParamSimEngines();
  simTun.blockedNs = 2 * 1000 * 1000;
  simTun.idleNs = 200 * 1000 * 1000;
}

void simFutexWait(uint32_t* addr, uint32_t expected, uint64_t timeoutNs) {
  struct timespec ts = {(time_t)(timeoutNs / 1000000000ull), (long)(timeoutNs % 1000000000ull)};
  syscall(SYS_futex, addr, FUTEX_WAIT, expected, &ts, NULL, 0);
}

void simFutexWake(uint32_t* addr) { syscall(SYS_futex, addr, FUTEX_WAKE, INT_MAX, NULL, NULL, 0); }

static void initDeviceStruct(simDevice* d, int index) {
  memset(d, 0, sizeof(*d));
  d->index = index;
  d->memfd = -1;
  pthread_mutex_init(&d->lock, NULL);
  pthread_mutex_init(&d->streamsLock, NULL);
}

/* What a forked child dropped of its parent's device state: the device
 * structs as the fork left them (allocation tables, streams and their
 * queues) and the parent's handle table (its streams and events). Never
 * used again: their locks may be held by threads that do not exist here,
 * and the child may still hold the parent's handles, which the new handle
 * table refuses. Not freed either (freeing the streams means walking queues
 * that a vanished engine thread may have left half updated): kept
 * reachable, so the child's exit is no leak (LeakSanitizer reported these
 * at every forked child's exit, campaign C5). One record per fork, chained:
 * a child's child keeps its parent's records too. */
typedef struct simForkOrphans {
  struct simForkOrphans* next;
  void* handles;
  int ndevices;
  simDevice devices[];
} simForkOrphans;
static simForkOrphans* simOrphans;

/* In a forked child the engine threads do not exist and locks may be held by
 * threads that are gone: drop every device (unmapping the parent's memory,
 * which the child must not scribble on) and start afresh on first use. Old
 * stream and event handles become invalid. */
static void simAfterForkChild(void) {
  /* glibc's malloc is usable in a fork handler of the child */
  simForkOrphans* o = malloc(sizeof(*o) + sizeof(simDevice) * (size_t)simNumDevices);
  if (o) {
    o->ndevices = simNumDevices;
    memcpy(o->devices, simDevices, sizeof(simDevice) * (size_t)simNumDevices);
  }
  for (int i = 0; i < simNumDevices; i++) {
    simMemUnmapAfterFork(&simDevices[i]);
    initDeviceStruct(&simDevices[i], i);
  }
  simIpcResetAfterFork();
  void* handles = simHandleResetAfterFork();
  if (o) {
    o->handles = handles;
    o->next = simOrphans;
    simOrphans = o;
  }
  pthread_mutex_init(&simInitLock, NULL);
  simGeneration++;
}

static accError_t simInit(int* ndev) {
  _Static_assert(SIM_MAX_DEVICES == 64, "ACCL_SIM_DEVICES's range in core/param.h ends at SIM_MAX_DEVICES");
  int64_t n = acclParamSimDevices();
  simNumDevices = (int)n;
  simTunablesLoad();
  for (int i = 0; i < simNumDevices; i++) initDeviceStruct(&simDevices[i], i);
  accError_t err = simReduceInit();
  if (err != accSuccess) return err;
  pthread_atfork(NULL, NULL, simAfterForkChild);
  INFO(ACCL_DEV | ACCL_INIT, "simulated accelerator: %d devices, reduction kernels %s", simNumDevices,
       simReduceIsaName());
  *ndev = simNumDevices;
  return accSuccess;
}

simDevice* simDeviceGet(int dev) {
  if (dev < 0 || dev >= simNumDevices) return NULL;
  simDevice* d = &simDevices[dev];
  if (__atomic_load_n(&d->ready, __ATOMIC_ACQUIRE)) return d;
  pthread_mutex_lock(&simInitLock);
  accError_t err = accSuccess;
  if (!d->ready) {
    err = simMemMap(d);
    if (err == accSuccess) err = simStreamInit(d, &d->defaultStream, 1);
    if (err == accSuccess) err = simEngineStart(d);
    if (err == accSuccess) __atomic_store_n(&d->ready, 1, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&simInitLock);
  return err == accSuccess ? d : NULL;
}

static accError_t simGetProperties(int dev, accDeviceProp* p) {
  memset(p, 0, sizeof(*p));
  snprintf(p->name, sizeof(p->name), "acc-sim simulated accelerator");
  int64_t mem = acclParamSimMem();
  p->totalGlobalMem = mem > 0 ? (size_t)mem : 0;
  int engines = simTun.engines;
  p->dmaEngineCount = engines;    /* each engine thread drives one DMA queue ... */
  p->reduceEngineCount = engines; /* ... and one reduction engine */
  acclLinkGraph* g = NULL;
  if (acclLinkGraphLoad(NULL, simNumDevices, &g) == acclSuccess) {
    p->linkPortCount = acclLinkGraphPorts(g, dev);
    acclLinkGraphFree(g);
  } else {
    WARN("device %d: the link graph (ACCL_SIM_TOPO) could not be loaded; reporting 0 link ports", dev);
  }
  p->reduceDtypeMask = (1u << acclNumTypes) - 1;
  p->pciBusId = 0x10 + dev; /* stable per device index */
  p->numaNode = -1;         /* not known to the simulator */
  return accSuccess;
}

static accError_t simDevSync(int dev) { return simDeviceSynchronize(dev); }

const accDevOps accSimOps = {
    .name = "sim",
    .init = simInit,
    .getProperties = simGetProperties,
    .deviceSynchronize = simDevSync,
    .getCounters = simGetCounters,
    .memAlloc = simMemAlloc,
    .memFree = simMemFree,
    .memInfo = simMemInfo,
    .ptrQuery = simPtrQuery,
    .windowExport = simWindowExport,
    .windowOpen = simWindowOpen,
    .windowClose = simWindowClose,
    .ipcGetHandle = simIpcGetHandle,
    .ipcOpenHandle = simIpcOpenHandle,
    .ipcCloseHandle = simIpcCloseHandle,
    .defaultStream = simDefaultStream,
    .streamCreate = simStreamCreate,
    .streamDestroy = simStreamDestroy,
    .streamCheck = simStreamCheck,
    .streamSubmit = simStreamSubmit,
    .streamSynchronize = simStreamSynchronize,
    .streamQuery = simStreamQuery,
    .streamError = simStreamError,
    .streamWaitEvent = simStreamWaitEvent,
    .eventCreate = simEventCreate,
    .eventRecord = simEventRecord,
    .eventSynchronize = simEventSynchronize,
    .eventQuery = simEventQuery,
    .eventElapsedTime = simEventElapsedTime,
    .eventDestroy = simEventDestroy,
    .exec = simExec,
    .signal = simSignal,
    .doorbell = simDoorbell,
    .hintOversubscribed = simHintOversubscribed,
    .placeEngines = simPlaceEngines,
};
