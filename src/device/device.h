/*
 * device.h - the internal device interface: what the rest of acc-ccl (core,
 * collectives, transports) may use of an accelerator. The public runtime in
 * acc_runtime.h sits on the same backend.
 *
 * A backend (src/device/sim/ for the simulated chip; a real chip would be one
 * more folder) fills an accDevOps table. Work reaches a device as descriptors
 * (accDevDesc) queued on streams; the device's engines execute them in stream
 * order. A PROGRAM descriptor is a resumable step function (how a collective's
 * plan runs on the device): the engine calls it until it reports DONE, and the
 * program issues its copies and reductions through accDevExec, so every data
 * movement is counted and performed by the device's DMA / reduction engines.
 */
#ifndef ACCL_DEVICE_H_
#define ACCL_DEVICE_H_

#include <stddef.h>
#include <stdint.h>
#include "acc_runtime.h"

#define ACCDEV_MAX_SRCS 16 /* inputs of one reduction descriptor */

typedef enum {
  ACCDEV_OP_SUM = 0,
  ACCDEV_OP_PROD = 1,
  ACCDEV_OP_MAX = 2,
  ACCDEV_OP_MIN = 3,
  ACCDEV_NUM_OPS = 4
} accDevRedOp;

typedef enum {
  ACCDEV_DESC_COPY = 0,  /* DMA: dst <- src */
  ACCDEV_DESC_MEMSET,    /* DMA: dst <- byte value */
  ACCDEV_DESC_REDUCE,    /* reduction engine: dst[0..ndst) <- op(src[0..nsrc)) */
  ACCDEV_DESC_WAIT_FLAG, /* block the stream until *flag >= value */
  ACCDEV_DESC_SET_FLAG,  /* *flag = value (release), then wake waiters (accDevSignal) */
  ACCDEV_DESC_PROGRAM,   /* resumable step function, see accDevProgramFn */
  ACCDEV_DESC_LL_PACK,   /* DMA: bytes of src -> 8-byte lines {4 data bytes, 4 flag bytes} */
  ACCDEV_DESC_LL_UNPACK, /* DMA: lines (all flags already seen equal to flag) -> bytes of dst */
  ACCDEV_NUM_DESC
} accDevDescType;

/* Return values of a program step. Anything < 0 is an error (-acclResult_t). */
#define ACCDEV_DONE 0
#define ACCDEV_AGAIN 1 /* blocked (waiting for a flag / peer): call again later */
#define ACCDEV_MOVED 2 /* made progress, then blocked: call again later (resets the backoff) */

struct accDevDesc;
/* Called by an engine thread (or, for inline submission, by the submitting
 * thread) until it returns ACCDEV_DONE or an error. Must not block: return
 * ACCDEV_AGAIN (nothing moved) or ACCDEV_MOVED (something moved, more to do)
 * instead, and the engine backs off (spin, yield, doorbell sleep) counting
 * from the last call that moved.
 * `dev` is the device the program runs on. */
typedef int (*accDevProgramFn)(void* arg, int dev);
/* Called exactly once when a program finishes, fails or its stream is torn
 * down (status: ACCDEV_DONE or the error); frees arg. May be NULL. */
typedef void (*accDevProgramFini)(void* arg, int status);

typedef union {
  double f;   /* float types (fp16/bf16/fp32 use it as float) */
  int64_t i;  /* signed integers */
  uint64_t u; /* unsigned integers */
} accDevScalar;

typedef struct accDevDesc {
  accDevDescType type;
  union {
    struct {
      void* dst;
      const void* src;
      size_t bytes;
    } copy;
    struct {
      void* dst;
      int value;
      size_t bytes;
    } memset;
    struct accDevReduce {
      void* dst[2]; /* ndst 1 or 2: reduce-copy writes both */
      int ndst;
      const void* src[ACCDEV_MAX_SRCS];
      int nsrc;     /* 1..ACCDEV_MAX_SRCS (1: copy with pre/post ops applied) */
      size_t count; /* elements */
      int dtype;    /* acclDataType_t */
      accDevRedOp op;
      uint32_t premulMask; /* bit i: src[i] is multiplied by `scalar` first (PreMulSum, float Avg) */
      accDevScalar scalar;
      uint64_t postDiv; /* > 1: the result is divided by postDiv (integer Avg) */
    } reduce;
    struct {
      volatile uint64_t* flag;
      uint64_t value;
    } flag;
    struct {
      uint64_t* lines;
      const void* src;
      void* dst;
      size_t bytes;
      uint32_t flag;
    } ll;
    /* spinNs: how long a thread running the program inline may poll it back
     * to back before yielding (0: the device's default); a program waiting on
     * a network round trip asks for more than one waiting on a local peer.
     * pollNs: how long an engine keeps polling the blocked program (yielding
     * the core between polls) after it last moved, before sleeping on the
     * doorbell (0: the device's default, a few yields). A program whose inputs
     * arrive only when someone drives a NIC's progress (and which drives it
     * itself when called) wants this: a sleeping engine costs a wake-up per
     * slice, and nobody reads the sockets meanwhile. */
    struct {
      accDevProgramFn fn;
      accDevProgramFini fini;
      void* arg;
      uint32_t spinNs, pollNs;
    } program;
  } u;
} accDevDesc;

/* Submission flags */
#define ACCDEV_SUBMIT_INLINE \
  0x1 /* if the stream is idle, the caller may run the
                                    program itself for a short time budget
                                    (ACCL_INLINE_NS) before handing it to the engine */

/* ------------------------------------------------------ used by the library */

/* Resolve a stream (NULL = current device's default) and its device. */
accError_t accDevStreamDevice(accStream_t stream, int* dev);
/* Queue a descriptor on a stream (copied; the caller's struct may be reused).
 * On failure nothing was queued and a PROGRAM's fini is not called: the
 * caller still owns it. */
accError_t accDevSubmit(accStream_t stream, const accDevDesc* desc, unsigned flags);
/* Execute a COPY / MEMSET / REDUCE descriptor now on device dev's engines, from
 * inside a running program (or from tests). Synchronous. */
accError_t accDevExec(int dev, const accDevDesc* desc);
/* Store value into a flag that may live in a peer's mapped memory and wake
 * whatever engine or thread sleeps on it (the doorbell of the memory's owner). */
void accDevSignal(volatile uint64_t* flag, uint64_t value);
/* Ring the doorbell of the device that owns (or maps) addr without storing. */
void accDevDoorbell(const void* addr);
/* Sticky error state of a stream after a failed program (accSuccess if none). */
accError_t accDevStreamError(accStream_t stream);

/* Whole device memory of this process's device `dev` as one window that a
 * peer process on the node can map once; then any device pointer p of ours is
 * at localBase + (p - base) in the peer. */
typedef struct {
  accIpcMemHandle_t handle;
  uint64_t base;
  uint64_t size;
} accDevWindow;
accError_t accDevWindowExport(int dev, accDevWindow* window);
accError_t accDevWindowOpen(const accDevWindow* window, void** localBase);
accError_t accDevWindowClose(void* localBase);

/* 1 if ptr is device memory (then *dev is its device), 0 if host memory. */
int accDevPtrIsDevice(const void* ptr, int* dev);
/* [ptr, ptr+len) against the device's allocation table: accSuccess for host
 * memory (attr->type Host) or a range inside one live device allocation;
 * accErrorIllegalAddress for device memory never allocated, freed, or a range
 * running past its allocation (attr then says what is there). Sets no error. */
accError_t accDevPtrRange(const void* ptr, size_t len, accPointerAttributes* attr);

/* Placement of a device's engine threads: the topology knows which host NUMA
 * node a device sits on; each engine thread calls bind(numa, name) once,
 * from its own context, when it next wakes. */
typedef void (*accDevThreadBindFn)(int numa, const char* what);
void accDevPlaceEngines(int dev, int numa, accDevThreadBindFn bind);

/* More ranks than cores on this node: waiting threads should give the core
 * away at once instead of polling first (the peer they wait for may need it). */
void accDevHintOversubscribed(void);

/* Log the device's hardware counters at INFO under ACCL_DEV (comm destroy). */
void accDevLogCounters(int dev);

/* Flag convention: a flag that a device's engine waits on (WAIT_FLAG or a
 * program returning ACCDEV_AGAIN) should live in that device's memory, so that
 * accDevSignal rings the waiter's doorbell. Flags elsewhere (host memory, a
 * peer's memory) still work, but wake only through accDevDoorbell or the
 * engine's periodic re-check (a few milliseconds). */

/* The backend's ops table: one per device kind. The generic layer
 * (the .c files of src/device/) checks arguments, keeps the current device per thread and
 * the last error, and calls these; a backend validates its own handles
 * (streams, events, IPC handles) and pointers. Streams and events are the
 * backend's structs (struct accStream_st / accEvent_st). */
typedef struct accDevOps {
  const char* name;
  accError_t (*init)(int* ndev); /* once per process; *ndev devices */
  accError_t (*getProperties)(int dev, accDeviceProp* prop);
  accError_t (*deviceSynchronize)(int dev);
  accError_t (*getCounters)(int dev, accDeviceCounters* counters);

  /* memory */
  accError_t (*memAlloc)(int dev, size_t size, void** ptr);
  accError_t (*memFree)(void* ptr);
  accError_t (*memInfo)(int dev, size_t* freeBytes, size_t* totalBytes); /* unallocated / all device memory */
  /* Classify [ptr, ptr+len): host memory (attr->type Host), or a range inside
   * one live device allocation (own or mapped from a peer). A range that runs
   * past its allocation, or device memory not allocated (freed), is an error. */
  accError_t (*ptrQuery)(const void* ptr, size_t len, accPointerAttributes* attr);
  accError_t (*windowExport)(int dev, accDevWindow* window);
  accError_t (*windowOpen)(const accDevWindow* window, void** localBase);
  accError_t (*windowClose)(void* localBase);
  accError_t (*ipcGetHandle)(accIpcMemHandle_t* handle, void* devPtr);
  accError_t (*ipcOpenHandle)(void** devPtr, const accIpcMemHandle_t* handle);
  accError_t (*ipcCloseHandle)(void* devPtr);

  /* streams and events; `stream` is never NULL here (the generic layer
   * resolves NULL through defaultStream) */
  accError_t (*defaultStream)(int dev, accStream_t* stream);
  accError_t (*streamCreate)(int dev, accStream_t* stream);
  accError_t (*streamDestroy)(accStream_t stream);
  accError_t (*streamCheck)(accStream_t stream, int* dev); /* live handle? its device */
  accError_t (*streamSubmit)(accStream_t stream, const accDevDesc* desc, unsigned flags);
  accError_t (*streamSynchronize)(accStream_t stream);
  accError_t (*streamQuery)(accStream_t stream);
  accError_t (*streamError)(accStream_t stream);
  accError_t (*streamWaitEvent)(accStream_t stream, accEvent_t event);
  accError_t (*eventCreate)(int dev, unsigned flags, accEvent_t* event);
  accError_t (*eventRecord)(accEvent_t event, accStream_t stream);
  accError_t (*eventSynchronize)(accEvent_t event);
  accError_t (*eventQuery)(accEvent_t event);
  accError_t (*eventElapsedTime)(float* ms, accEvent_t start, accEvent_t end);
  accError_t (*eventDestroy)(accEvent_t event);

  /* data movement and wake-ups (see the library-facing functions above) */
  accError_t (*exec)(int dev, const accDevDesc* desc);
  void (*signal)(volatile uint64_t* flag, uint64_t value);
  void (*doorbell)(const void* addr);
  void (*hintOversubscribed)(void);
  void (*placeEngines)(int dev, int numa, accDevThreadBindFn bind);
} accDevOps;

/* The active backend (initialised on first use), NULL if it failed to start. */
const accDevOps* accDevGetOps(void);

/* Called with the range of a device allocation just before accFree releases
 * it (a registration cache drops what it registered there); may run on any
 * thread, must not call back into the runtime. */
typedef void (*accDevFreeListener)(void* base, size_t size, void* arg);
accError_t accDevAddFreeListener(accDevFreeListener fn, void* arg);
void accDevRemoveFreeListener(accDevFreeListener fn, void* arg);
/* Number of devices of the active backend (0 before a successful init). */
int accDevCount(void);
/* Validate a COPY / MEMSET / REDUCE descriptor's fields (not its pointers). */
accError_t accDevDescCheck(const accDevDesc* desc);

#endif
