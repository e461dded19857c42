/*
 * acc_runtime.h - runtime of the acc accelerator, modelled on the CUDA runtime.
 *
 * In this build the chip is simulated in software: device memory is shared
 * memory that peer processes on the node can map (IPC), and each device runs
 * DMA queues and a reduction engine on engine threads that execute work in
 * stream order. Configuration: ACCL_SIM_DEVICES (devices per node, default 8),
 * ACCL_SIM_MEM (bytes of memory per device, default 16 GiB; suffixes K, M, G),
 * ACCL_SIM_TOPO (ring | torus2d | full | path to an XML file: the chip-to-chip links).
 */
#ifndef ACC_RUNTIME_H_
#define ACC_RUNTIME_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  accSuccess = 0,
  accErrorInvalidValue = 1,         /* an argument is out of range or NULL */
  accErrorMemoryAllocation = 2,     /* device memory exhausted (like HBM) */
  accErrorInitializationError = 3,  /* the runtime could not start */
  accErrorInvalidDevice = 4,        /* no such device */
  accErrorInvalidDevicePointer = 5, /* not the start of a live allocation / not device memory */
  accErrorInvalidMemcpyDirection = 6,
  accErrorInvalidResourceHandle = 7, /* bad or destroyed stream / event / IPC handle */
  accErrorNotReady = 8,              /* query: work still pending */
  accErrorIllegalAddress = 9,        /* a range runs past the end of its allocation, or use after free */
  accErrorMapFailed = 10,            /* an IPC handle could not be opened */
  accErrorLaunchFailure = 11,        /* work on the stream failed (see accGetLastError) */
  accErrorNotSupported = 12,
  accErrorUnknown = 13
} accError_t;

typedef struct accStream_st* accStream_t; /* NULL is the current device's default stream */
typedef struct accEvent_st* accEvent_t;

typedef enum {
  accMemcpyHostToHost = 0,
  accMemcpyHostToDevice = 1,
  accMemcpyDeviceToHost = 2,
  accMemcpyDeviceToDevice = 3,
  accMemcpyDefault = 4 /* direction inferred from the pointers */
} accMemcpyKind;

typedef enum { accMemoryTypeUnregistered = 0, accMemoryTypeHost = 1, accMemoryTypeDevice = 2 } accMemoryType;

typedef struct {
  accMemoryType type;
  int device;          /* owning device for device memory, -1 otherwise */
  void* devicePointer; /* the pointer itself for device memory */
  void* basePointer;   /* start of the allocation that contains it */
  size_t allocationSize;
} accPointerAttributes;

#define ACC_DEVICE_NAME_LEN 64
typedef struct {
  char name[ACC_DEVICE_NAME_LEN];
  size_t totalGlobalMem;    /* bytes of device memory */
  int dmaEngineCount;       /* DMA queues */
  int reduceEngineCount;    /* reduction engines */
  int linkPortCount;        /* chip-to-chip link ports connected on this node */
  uint32_t reduceDtypeMask; /* bit d set: the reduction engine handles acclDataType_t d */
  int pciBusId;             /* stable identity within the node */
  int numaNode;             /* host NUMA node the device is attached to (-1 unknown) */
} accDeviceProp;

#define ACC_IPC_HANDLE_SIZE 64
typedef struct {
  char reserved[ACC_IPC_HANDLE_SIZE];
} accIpcMemHandle_t;

/* Event flags */
#define accEventDefault 0x0
#define accEventDisableTiming 0x2

/* ---------- errors */
const char* accGetErrorString(accError_t error);
/** Returns the last error of this thread and resets it to accSuccess. */
accError_t accGetLastError(void);

/* ---------- devices */
accError_t accGetDeviceCount(int* count);
accError_t accSetDevice(int device);
accError_t accGetDevice(int* device);
accError_t accGetDeviceProperties(accDeviceProp* prop, int device);
accError_t accDeviceSynchronize(void);

/* ---------- memory */
accError_t accMalloc(void** devPtr, size_t size);
accError_t accFree(void* devPtr);
accError_t accMemcpy(void* dst, const void* src, size_t count, accMemcpyKind kind);
accError_t accMemcpyAsync(void* dst, const void* src, size_t count, accMemcpyKind kind, accStream_t stream);
accError_t accMemset(void* devPtr, int value, size_t count);
accError_t accMemsetAsync(void* devPtr, int value, size_t count, accStream_t stream);
accError_t accPointerGetAttributes(accPointerAttributes* attributes, const void* ptr);

/* ---------- IPC: map another process's device memory on the same node */
accError_t accIpcGetMemHandle(accIpcMemHandle_t* handle, void* devPtr);
accError_t accIpcOpenMemHandle(void** devPtr, accIpcMemHandle_t handle, unsigned int flags);
accError_t accIpcCloseMemHandle(void* devPtr);

/* ---------- streams */
accError_t accStreamCreate(accStream_t* stream);
accError_t accStreamDestroy(accStream_t stream);
accError_t accStreamSynchronize(accStream_t stream);
/** accSuccess when all work is done, accErrorNotReady otherwise. */
accError_t accStreamQuery(accStream_t stream);
accError_t accStreamWaitEvent(accStream_t stream, accEvent_t event, unsigned int flags);

/* ---------- events */
accError_t accEventCreate(accEvent_t* event);
accError_t accEventCreateWithFlags(accEvent_t* event, unsigned int flags);
accError_t accEventRecord(accEvent_t event, accStream_t stream);
accError_t accEventSynchronize(accEvent_t event);
accError_t accEventQuery(accEvent_t event);
/** Milliseconds between two recorded, completed events. */
accError_t accEventElapsedTime(float* ms, accEvent_t start, accEvent_t end);
accError_t accEventDestroy(accEvent_t event);

/* ---------- hardware counters */
typedef struct {
  uint64_t bytesCopied;  /* by the DMA queues */
  uint64_t bytesReduced; /* bytes read by the reduction engine */
  uint64_t descriptors;  /* descriptors executed */
  uint64_t busyNs;       /* time the engines spent executing descriptors of 4 KiB or more */
  uint64_t dmaBusyNs;
  uint64_t reduceBusyNs;
} accDeviceCounters;
accError_t accDeviceGetCounters(int device, accDeviceCounters* counters);

/* ---------- CUDA runtime calls that users of a collective library make
 * around it (cudaX -> accX, CUDA's semantics unless stated). */

/** Version of this runtime API: 1000 * major + 10 * minor (as CUDART_VERSION). */
#define ACC_RUNTIME_VERSION 1000
accError_t accRuntimeGetVersion(int* runtimeVersion);
/** "accErrorInvalidValue" etc.: the code's name (accGetErrorString: its text). */
const char* accGetErrorName(accError_t error);
/** This thread's last error, without resetting it (accGetLastError resets). */
accError_t accPeekAtLastError(void);
/** Unallocated and total bytes of the current device's memory. */
accError_t accMemGetInfo(size_t* freeBytes, size_t* totalBytes);
/** 1 when device can read and write peerDevice's memory directly: every pair
 *  of distinct devices of the simulated chip (they share the host's memory);
 *  0 for a device and itself, as CUDA. */
accError_t accDeviceCanAccessPeer(int* canAccessPeer, int device, int peerDevice);
/** "0000:BB:00.0" for the device's PCI identity (accDeviceProp.pciBusId
 *  as the bus number); len includes the terminating NUL (13 bytes suffice). */
accError_t accDeviceGetPCIBusId(char* pciBusId, int len, int device);

#define accStreamDefault 0x0
#define accStreamNonBlocking 0x1 /* accepted; streams never synchronise with the default stream here */
/** Stream priorities, as CUDA: lower numbers are higher priority. The
 *  simulated engines serve every stream alike, so the range is [0, 0]
 *  (CUDA's answer for a device without priorities), and
 *  accStreamCreateWithPriority clamps the priority into it. */
accError_t accDeviceGetStreamPriorityRange(int* leastPriority, int* greatestPriority);
accError_t accStreamCreateWithPriority(accStream_t* stream, unsigned int flags, int priority);

/** fn(userData) runs on a runtime thread once the work queued before it on
 *  stream is done; the work queued after it waits for it to return. It must
 *  not call the runtime or acc-ccl. */
typedef void (*accHostFn_t)(void* userData);
accError_t accLaunchHostFunc(accStream_t stream, accHostFn_t fn, void* userData);

/** Page-locked host memory (accMallocHost / accFreeHost) and host ranges
 *  registered as such (accHostRegister / accHostUnregister): engines and the
 *  transports read and write them directly, like any host memory of this
 *  simulated chip; accPointerGetAttributes reports them as
 *  accMemoryTypeHost with their base and size. A range may be registered
 *  once (overlap: accErrorInvalidValue). */
#define accHostRegisterDefault 0x0
#define accHostRegisterPortable 0x1
#define accHostRegisterMapped 0x2
accError_t accMallocHost(void** ptr, size_t size);
accError_t accFreeHost(void* ptr);
accError_t accHostRegister(void* ptr, size_t size, unsigned int flags);
accError_t accHostUnregister(void* ptr);

#ifdef __cplusplus
}
#endif
#endif /* ACC_RUNTIME_H_ */
