/* sim.h - internals of the simulated chip shared by the files of src/device/sim/.
 *
 * A device is one memfd (its memory, mapped shared so that peers can map it
 * too) whose first page is a control header (doorbell futex word), an
 * allocator with an allocation table, a set of streams (ordered descriptor
 * queues) and engine threads that execute the queued descriptors. */
#ifndef ACCL_SIM_H_
#define ACCL_SIM_H_

#include <pthread.h>
#include <stdint.h>
#include "core/core.h"
#include "device/device.h"

#define SIM_MAX_DEVICES 64
#define SIM_HEADER_BYTES 4096 /* control page at the start of every window */
#define SIM_ALLOC_ALIGN 256
#define SIM_WINDOW_MAGIC 0x6163632d73696d31ull /* "acc-sim1" */

/* Page 0 of a device's memory; peers map it with the rest of the window. */
typedef struct {
  uint64_t magic;
  uint64_t nonce; /* random per window: a stale handle (pid reused) does not match */
  uint64_t size;
  int32_t ownerPid;
  int32_t dev;
  /* Futex words, shared by every process that maps the window (non-private futex). */
  uint32_t doorbell __attribute__((aligned(64))); /* bumped by every ring */
  uint32_t sleepers;                              /* engine threads asleep on doorbell */
} simWindowHeader;

typedef struct {
  uintptr_t base;
  size_t size;
} simExtent;

typedef struct {
  uint64_t bytesCopied, bytesReduced, descriptors, busyNs, dmaBusyNs, reduceBusyNs;
} simCounters;

struct accStream_st;

typedef struct simDevice {
  int index;
  pthread_mutex_t lock; /* start-up, allocator, allocation table */
  int ready;            /* memory mapped, default stream and engines started */
  int memfd;
  char* base;
  size_t size;
  simWindowHeader* hdr;
  /* allocator: free extents and live allocations, both sorted by base */
  simExtent* freeList;
  int nfree, freeCap;
  simExtent* live;
  int nlive, liveCap;
  uintptr_t cursor; /* next-fit start: freed addresses are reused late, so use-after-free is caught */
  size_t used;
  /* streams */
  pthread_mutex_t streamsLock;
  struct accStream_st** streams;
  int nstreams, streamsCap;
  struct accStream_st* defaultStream;
  int nengines;
  /* host threads waiting for completions (stream / event / device sync) */
  uint32_t completions;
  uint32_t hostWaiters;
  simCounters counters; /* updated with atomic adds */
  /* engine placement requested by the topology (accDevPlaceEngines) */
  int placeNuma;
  accDevThreadBindFn placeBind;
  uint32_t placeGen;
} simDevice;

typedef enum { SIM_ITEM_DESC = 0, SIM_ITEM_EVENT_RECORD, SIM_ITEM_WAIT_EVENT } simItemKind;

typedef struct {
  accDevDesc d;
  simItemKind kind;
  struct accEvent_st* event;
  uint64_t eventGen;
} simItem;

#define SIM_STREAM_MAGIC 0x53545245414d3031ull
#define SIM_EVENT_MAGIC 0x4556454e54303031ull
#define SIM_STATE_INLINE (1ull << 63) /* the submitting thread is running the head */

struct accStream_st {
  uint64_t magic;
  simDevice* dev;
  int isDefault;
  /* Descriptors submitted but not completed (queued, running or run inline),
   * plus SIM_STATE_INLINE while a submitter runs a program itself. Idle = 0. */
  uint64_t state;
  uint64_t submitted, completed; /* sequence numbers for synchronize */
  int engineBusy;                /* an engine thread is executing this stream */
  int holders;                   /* device-synchronize waiters that pin the stream */
  int error;                     /* sticky accError_t after a failed program */
  /* Targeted wake-up of synchronize: completions wake a sleeping
   * accStreamSynchronize only once its target is reached, not one by one. */
  uint32_t waitWord;   /* futex word, bumped when the target is reached */
  uint64_t waitTarget; /* smallest completion count a sleeper waits for */
  int waitSleepers;
  pthread_mutex_t lock; /* the queue */
  simItem* q;
  uint64_t qhead, qtail, qcap; /* ring buffer, qcap a power of two */
};

struct accEvent_st {
  uint64_t magic;
  unsigned flags;
  simDevice* dev;      /* device of the last record */
  uint64_t recordGen;  /* bumped by every accEventRecord */
  uint64_t doneGen;    /* gen of the last completed record */
  uint64_t timeNs;     /* completion time of that record */
  uint64_t waiterDevs; /* devices with streams waiting on this event (doorbells to ring) */
  int refs;            /* user + pending queue items */
};

/* sim_device.c */
extern simDevice simDevices[SIM_MAX_DEVICES];
extern int simNumDevices;
simDevice* simDeviceGet(int dev); /* started (memory, default stream, engines); NULL on failure */
/* Generation of the runtime in this process, bumped in a forked child. */
extern uint64_t simGeneration;

/* sim_mem.c */
accError_t simMemMap(simDevice* d);
void simMemUnmapAfterFork(simDevice* d);
accError_t simMemAlloc(int dev, size_t size, void** ptr);
accError_t simMemInfo(int dev, size_t* freeBytes, size_t* totalBytes);
accError_t simMemFree(void* ptr);
accError_t simPtrQuery(const void* ptr, size_t len, accPointerAttributes* attr);

/* sim_ipc.c */
accError_t simWindowExport(int dev, accDevWindow* w);
accError_t simWindowOpen(const accDevWindow* w, void** localBase);
accError_t simWindowClose(void* localBase);
accError_t simIpcGetHandle(accIpcMemHandle_t* handle, void* devPtr);
accError_t simIpcOpenHandle(void** devPtr, const accIpcMemHandle_t* handle);
accError_t simIpcCloseHandle(void* devPtr);
/* Imported memory containing [p, p+len): fills attr, returns 1 if found. */
int simIpcLookup(const void* p, size_t len, accPointerAttributes* attr, accError_t* err);
void simIpcResetAfterFork(void);
void simRing(simWindowHeader* h);
void simSignal(volatile uint64_t* flag, uint64_t value);
void simDoorbell(const void* addr);

/* sim_stream.c */
accError_t simStreamInit(simDevice* d, struct accStream_st** out, int isDefault);
accError_t simDefaultStream(int dev, accStream_t* stream);
accError_t simStreamCreate(int dev, accStream_t* stream);
accError_t simStreamDestroy(accStream_t s);
accError_t simStreamCheck(accStream_t s, int* dev);
accError_t simStreamSubmit(accStream_t s, const accDevDesc* desc, unsigned flags);
accError_t simStreamPush(accStream_t s, const simItem* item);
accError_t simStreamSynchronize(accStream_t s);
accError_t simStreamQuery(accStream_t s);
accError_t simStreamError(accStream_t s);
accError_t simDeviceSynchronize(int dev);
/* Called by whoever finished the head item of s (engine or inline caller). */
void simStreamCompleted(struct accStream_st* s);
/* Wait (spin, yield, then futex on d->completions) until done(arg) is true. */
void simHostWait(simDevice* d, int (*done)(void*), void* arg);
int simStreamHelp(struct accStream_st* s, uint64_t budgetNs);
void simPlaceEngines(int dev, int numa, accDevThreadBindFn bind);
void simWakeHostWaiters(simDevice* d);

/* sim_engine.c */
accError_t simEngineStart(simDevice* d);
/* Run one item; ACCDEV_DONE, ACCDEV_AGAIN or < 0 (error of a program). */
int simItemRun(simDevice* d, struct accStream_st* s, simItem* item);

/* sim_event.c */
accError_t simEventCreate(int dev, unsigned flags, accEvent_t* event);
accError_t simEventRecord(accEvent_t e, accStream_t s);
accError_t simEventSynchronize(accEvent_t e);
accError_t simEventQuery(accEvent_t e);
accError_t simEventElapsedTime(float* ms, accEvent_t a, accEvent_t b);
accError_t simEventDestroy(accEvent_t e);
accError_t simStreamWaitEvent(accStream_t s, accEvent_t e);
void simEventRelease(struct accEvent_st* e);
void simEventRecorded(struct accEvent_st* e, uint64_t gen);

/* sim_exec.c */
accError_t simExec(int dev, const accDevDesc* desc);
accError_t simGetCounters(int dev, accDeviceCounters* c);

/* sim_handles.c: registry of live stream and event handles (bad handles are
 * rejected, never dereferenced). */
void simHandleAdd(void* h);
int simHandleRemove(void* h); /* 1 if it was live */
int simHandleLive(const void* h);
/* In a forked child: forget the parent's handles; returns the parent's table
 * (its entries point to the parent's streams and events), for the caller to
 * keep reachable. */
void* simHandleResetAfterFork(void);

static inline void simCpuRelax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* Futex helpers (shared, i.e. not FUTEX_PRIVATE: doorbells cross processes). */
void simFutexWait(uint32_t* addr, uint32_t expected, uint64_t timeoutNs);
void simFutexWake(uint32_t* addr);

/* sim_ll.c: LL line formatting (DMA engine) */
void simLLPack(uint64_t* lines, const void* src, size_t bytes, uint32_t flag);
void simLLUnpack(void* dst, const uint64_t* lines, size_t bytes);

#endif
