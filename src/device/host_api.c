/* host_api.c - the runtime's version, error names, memory info, peer
 * access, PCI id, stream priorities, host functions on streams and
 * page-locked / registered host memory (acc_runtime.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "core/core.h"
#include "device/device_internal.h"

static accError_t checkDevice(int device, const char* fn, const char* arg) {
  int n = accDevCount();
  if (device < 0 || device >= n) {
    WARN("%s: argument %s is %d, not a device in [0, %d)", fn, arg, device, n);
    return accDevSetError(n == 0 ? accErrorInitializationError : accErrorInvalidDevice);
  }
  return accSuccess;
}

ACCL_EXPORT accError_t accRuntimeGetVersion(int* runtimeVersion) {
  if (runtimeVersion == NULL)
    ACC_ARG_ERROR(accErrorInvalidValue, "accRuntimeGetVersion: argument runtimeVersion is NULL");
  *runtimeVersion = ACC_RUNTIME_VERSION;
  return accSuccess;
}

ACCL_EXPORT const char* accGetErrorName(accError_t error) {
  switch (error) {
    case accSuccess: return "accSuccess";
    case accErrorInvalidValue: return "accErrorInvalidValue";
    case accErrorMemoryAllocation: return "accErrorMemoryAllocation";
    case accErrorInitializationError: return "accErrorInitializationError";
    case accErrorInvalidDevice: return "accErrorInvalidDevice";
    case accErrorInvalidDevicePointer: return "accErrorInvalidDevicePointer";
    case accErrorInvalidMemcpyDirection: return "accErrorInvalidMemcpyDirection";
    case accErrorInvalidResourceHandle: return "accErrorInvalidResourceHandle";
    case accErrorNotReady: return "accErrorNotReady";
    case accErrorIllegalAddress: return "accErrorIllegalAddress";
    case accErrorMapFailed: return "accErrorMapFailed";
    case accErrorLaunchFailure: return "accErrorLaunchFailure";
    case accErrorNotSupported: return "accErrorNotSupported";
    case accErrorUnknown: return "accErrorUnknown";
    default: return "unrecognized error code";
  }
}

ACCL_EXPORT accError_t accMemGetInfo(size_t* freeBytes, size_t* totalBytes) {
  if (freeBytes == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accMemGetInfo: argument free is NULL");
  if (totalBytes == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accMemGetInfo: argument total is NULL");
  OPS_OR_RETURN(ops);
  int dev = accDevCurrent();
  accError_t err = checkDevice(dev, "accMemGetInfo", "current device");
  if (err != accSuccess) return err;
  return accDevSetError(ops->memInfo(dev, freeBytes, totalBytes));
}

ACCL_EXPORT accError_t accDeviceCanAccessPeer(int* canAccessPeer, int device, int peerDevice) {
  if (canAccessPeer == NULL)
    ACC_ARG_ERROR(accErrorInvalidValue, "accDeviceCanAccessPeer: argument canAccessPeer is NULL");
  OPS_OR_RETURN(ops);
  (void)ops;
  accError_t err = checkDevice(device, "accDeviceCanAccessPeer", "device");
  if (err == accSuccess) err = checkDevice(peerDevice, "accDeviceCanAccessPeer", "peerDevice");
  if (err != accSuccess) return err;
  *canAccessPeer = device != peerDevice;
  return accSuccess;
}

ACCL_EXPORT accError_t accDeviceGetPCIBusId(char* pciBusId, int len, int device) {
  if (pciBusId == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accDeviceGetPCIBusId: argument pciBusId is NULL");
  if (len <= 0) ACC_ARG_ERROR(accErrorInvalidValue, "accDeviceGetPCIBusId: argument len is %d", len);
  accDeviceProp prop;
  accError_t err = checkDevice(device, "accDeviceGetPCIBusId", "device");
  if (err != accSuccess) return err;
  OPS_OR_RETURN(ops);
  err = ops->getProperties(device, &prop);
  if (err != accSuccess) return accDevSetError(err);
  char text[32];
  snprintf(text, sizeof(text), "0000:%02X:00.0", (unsigned)prop.pciBusId & 0xffu);
  if ((size_t)len < strlen(text) + 1)
    ACC_ARG_ERROR(accErrorInvalidValue, "accDeviceGetPCIBusId: argument len is %d, the id needs %zu bytes", len,
                  strlen(text) + 1);
  memcpy(pciBusId, text, strlen(text) + 1);
  return accSuccess;
}

ACCL_EXPORT accError_t accDeviceGetStreamPriorityRange(int* leastPriority, int* greatestPriority) {
  if (leastPriority) *leastPriority = 0;
  if (greatestPriority) *greatestPriority = 0;
  return accSuccess;
}

ACCL_EXPORT accError_t accStreamCreateWithPriority(accStream_t* stream, unsigned int flags, int priority) {
  if (stream == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accStreamCreateWithPriority: argument stream is NULL");
  if (flags & ~(unsigned)accStreamNonBlocking)
    ACC_ARG_ERROR(accErrorInvalidValue, "accStreamCreateWithPriority: argument flags (0x%x) has unknown bits", flags);
  (void)priority; /* clamped into [0, 0]: every stream is served alike */
  return accStreamCreate(stream);
}

/* ------------------------------------------------------ host functions */

typedef struct {
  accHostFn_t fn;
  void* userData;
} hostCall;

static int hostCallRun(void* arg, int dev) {
  (void)dev;
  hostCall* c = arg;
  c->fn(c->userData);
  return ACCDEV_DONE;
}

static void hostCallFini(void* arg, int status) {
  (void)status;
  free(arg);
}

ACCL_EXPORT accError_t accLaunchHostFunc(accStream_t stream, accHostFn_t fn, void* userData) {
  if (fn == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accLaunchHostFunc: argument fn is NULL");
  OPS_OR_RETURN(ops);
  int dev;
  accError_t err = accDevResolveStream(stream, &stream, &dev);
  if (err != accSuccess)
    ACC_ARG_ERROR(err, "accLaunchHostFunc: argument stream %p is not a live stream", (void*)stream);
  hostCall* c = malloc(sizeof(*c));
  if (c == NULL) ACC_ARG_ERROR(accErrorMemoryAllocation, "accLaunchHostFunc: out of host memory");
  c->fn = fn;
  c->userData = userData;
  accDevDesc d = {.type = ACCDEV_DESC_PROGRAM, .u.program = {hostCallRun, hostCallFini, c, 0, 0}};
  err = ops->streamSubmit(stream, &d, 0);
  if (err != accSuccess)
    WARN("accLaunchHostFunc: cannot queue on stream %p: %s", (void*)stream, accGetErrorString(err));
  return accDevSetError(err);
}

/* ------------------------------------------- page-locked / registered host */

typedef struct {
  char* base;
  size_t size;
  int allocated; /* by accMallocHost (freed by accFreeHost), else registered */
} hostRange;

static pthread_mutex_t hostLock = PTHREAD_MUTEX_INITIALIZER;
static hostRange* hostRanges;
static int nHost, capHost;

/* Index of the range containing p, or -1. Locked. */
static int hostFind(const void* p) {
  for (int i = 0; i < nHost; i++)
    if ((const char*)p >= hostRanges[i].base && (const char*)p < hostRanges[i].base + hostRanges[i].size) return i;
  return -1;
}

static accError_t hostAdd(void* p, size_t size, int allocated, const char* fn) {
  accError_t err = accSuccess;
  pthread_mutex_lock(&hostLock);
  for (int i = 0; i < nHost && err == accSuccess; i++)
    if ((char*)p < hostRanges[i].base + hostRanges[i].size && hostRanges[i].base < (char*)p + size) {
      WARN("%s: argument ptr=%p (+%zu bytes) overlaps host memory already registered at %p (+%zu)", fn, p, size,
           (void*)hostRanges[i].base, hostRanges[i].size);
      err = accErrorInvalidValue;
    }
  if (err == accSuccess && nHost == capHost) {
    int cap = capHost ? 2 * capHost : 16;
    hostRange* nr = realloc(hostRanges, sizeof(*nr) * (size_t)cap);
    if (nr == NULL) {
      WARN("%s: out of host memory", fn);
      err = accErrorMemoryAllocation;
    } else {
      hostRanges = nr;
      capHost = cap;
    }
  }
  if (err == accSuccess) hostRanges[nHost++] = (hostRange){p, size, allocated};
  pthread_mutex_unlock(&hostLock);
  return err;
}

/* Removes the range starting exactly at p of the kind given; -1 if none. */
static int hostRemove(void* p, int allocated, size_t* size) {
  int found = -1;
  pthread_mutex_lock(&hostLock);
  int i = hostFind(p);
  if (i >= 0 && hostRanges[i].base == (char*)p && hostRanges[i].allocated == allocated) {
    *size = hostRanges[i].size;
    hostRanges[i] = hostRanges[--nHost];
    found = 0;
  }
  pthread_mutex_unlock(&hostLock);
  return found;
}

int accDevHostRange(const void* p, void** base, size_t* size) {
  pthread_mutex_lock(&hostLock);
  int i = hostFind(p);
  if (i >= 0) {
    *base = hostRanges[i].base;
    *size = hostRanges[i].size;
  }
  pthread_mutex_unlock(&hostLock);
  return i >= 0;
}

ACCL_EXPORT accError_t accMallocHost(void** ptr, size_t size) {
  if (ptr == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accMallocHost: argument ptr is NULL");
  *ptr = NULL;
  if (size == 0) return accSuccess;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  void* p = NULL;
  if (size > SIZE_MAX - page || posix_memalign(&p, page, ACCL_ALIGN_UP(size, page)) != 0)
    ACC_ARG_ERROR(accErrorMemoryAllocation, "accMallocHost: %zu bytes of host memory are not available", size);
  /* page-locked as far as the process may (RLIMIT_MEMLOCK); the engines need no more than plain memory */
  if (mlock(p, size) != 0) INFO(ACCL_DEV, "accMallocHost: mlock of %zu bytes refused; the memory stays pageable", size);
  accError_t err = hostAdd(p, size, 1, "accMallocHost");
  if (err != accSuccess) {
    free(p);
    return accDevSetError(err);
  }
  *ptr = p;
  return accSuccess;
}

ACCL_EXPORT accError_t accFreeHost(void* ptr) {
  if (ptr == NULL) return accSuccess;
  size_t size;
  if (hostRemove(ptr, 1, &size) != 0)
    ACC_ARG_ERROR(accErrorInvalidValue, "accFreeHost: argument ptr=%p was not returned by accMallocHost (or freed)",
                  ptr);
  munlock(ptr, size);
  free(ptr);
  return accSuccess;
}

ACCL_EXPORT accError_t accHostRegister(void* ptr, size_t size, unsigned int flags) {
  if (ptr == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accHostRegister: argument ptr is NULL");
  if (size == 0) ACC_ARG_ERROR(accErrorInvalidValue, "accHostRegister: argument size is 0");
  if (flags & ~(unsigned)(accHostRegisterPortable | accHostRegisterMapped))
    ACC_ARG_ERROR(accErrorInvalidValue, "accHostRegister: argument flags (0x%x) has unknown bits", flags);
  OPS_OR_RETURN(ops);
  accPointerAttributes a;
  if (ops->ptrQuery(ptr, 1, &a) == accSuccess && a.type == accMemoryTypeDevice)
    ACC_ARG_ERROR(accErrorInvalidValue, "accHostRegister: argument ptr=%p is device memory", ptr);
  return accDevSetError(hostAdd(ptr, size, 0, "accHostRegister"));
}

ACCL_EXPORT accError_t accHostUnregister(void* ptr) {
  if (ptr == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accHostUnregister: argument ptr is NULL");
  size_t size;
  if (hostRemove(ptr, 0, &size) != 0)
    ACC_ARG_ERROR(accErrorInvalidValue, "accHostUnregister: argument ptr=%p is not the start of a registered range",
                  ptr);
  return accSuccess;
}
