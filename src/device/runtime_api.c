/* runtime_api.c - public runtime entry points for errors, devices, memory and
 * IPC (acc_runtime.h): argument checks, then the active backend. */
#include "core/core.h"
#include "device/device_internal.h"

ACCL_EXPORT const char* accGetErrorString(accError_t error) {
  switch (error) {
    case accSuccess: return "no error";
    case accErrorInvalidValue: return "invalid argument";
    case accErrorMemoryAllocation: return "out of device memory";
    case accErrorInitializationError: return "initialization error";
    case accErrorInvalidDevice: return "invalid device ordinal";
    case accErrorInvalidDevicePointer: return "invalid device pointer";
    case accErrorInvalidMemcpyDirection: return "invalid copy direction for the pointers given";
    case accErrorInvalidResourceHandle: return "invalid resource handle";
    case accErrorNotReady: return "device not ready";
    case accErrorIllegalAddress: return "illegal address (past an allocation's end, or freed memory)";
    case accErrorMapFailed: return "mapping of another process's memory failed";
    case accErrorLaunchFailure: return "work on the stream failed";
    case accErrorNotSupported: return "operation not supported";
    case accErrorUnknown: return "unknown error";
    default: return "unrecognized error code";
  }
}

static accError_t checkDevice(int device, const char* fn) {
  int n = accDevCount();
  if (device < 0 || device >= n) {
    WARN("%s: device %d out of range [0, %d)", fn, device, n);
    return accDevSetError(n == 0 ? accErrorInitializationError : accErrorInvalidDevice);
  }
  return accSuccess;
}

/* ------------------------------------------------------------------ devices */

ACCL_EXPORT accError_t accGetDeviceCount(int* count) {
  if (count == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accGetDeviceCount: argument count is NULL");
  OPS_OR_RETURN(ops);
  (void)ops;
  *count = accDevCount();
  return accSuccess;
}

ACCL_EXPORT accError_t accSetDevice(int device) {
  accError_t err = checkDevice(device, "accSetDevice");
  if (err != accSuccess) return err;
  accDevSetCurrent(device);
  return accSuccess;
}

ACCL_EXPORT accError_t accGetDevice(int* device) {
  if (device == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accGetDevice: argument device is NULL");
  *device = accDevCurrent();
  return accSuccess;
}

ACCL_EXPORT accError_t accGetDeviceProperties(accDeviceProp* prop, int device) {
  if (prop == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accGetDeviceProperties: argument prop is NULL");
  accError_t err = checkDevice(device, "accGetDeviceProperties");
  if (err != accSuccess) return err;
  OPS_OR_RETURN(ops);
  return accDevSetError(ops->getProperties(device, prop));
}

ACCL_EXPORT accError_t accDeviceSynchronize(void) {
  int dev = accDevCurrent();
  accError_t err = checkDevice(dev, "accDeviceSynchronize");
  if (err != accSuccess) return err;
  OPS_OR_RETURN(ops);
  return accDevSetError(ops->deviceSynchronize(dev));
}

ACCL_EXPORT accError_t accDeviceGetCounters(int device, accDeviceCounters* counters) {
  if (counters == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accDeviceGetCounters: argument counters is NULL");
  accError_t err = checkDevice(device, "accDeviceGetCounters");
  if (err != accSuccess) return err;
  OPS_OR_RETURN(ops);
  return accDevSetError(ops->getCounters(device, counters));
}

/* ------------------------------------------------------------------- memory */

ACCL_EXPORT accError_t accMalloc(void** devPtr, size_t size) {
  if (devPtr == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accMalloc: argument devPtr is NULL");
  int dev = accDevCurrent();
  accError_t err = checkDevice(dev, "accMalloc");
  if (err != accSuccess) return err;
  OPS_OR_RETURN(ops);
  *devPtr = NULL;
  if (size == 0) return accSuccess; /* like cudaMalloc: nothing allocated, NULL returned */
  err = ops->memAlloc(dev, size, devPtr);
  if (err == accErrorMemoryAllocation)
    WARN("accMalloc: %zu bytes do not fit in the free memory of device %d", size, dev);
  return accDevSetError(err);
}

ACCL_EXPORT accError_t accFree(void* devPtr) {
  if (devPtr == NULL) return accSuccess; /* like free(NULL) */
  OPS_OR_RETURN(ops);
  accPointerAttributes attr;
  if (ops->ptrQuery(devPtr, 1, &attr) == accSuccess && attr.type == accMemoryTypeDevice && attr.basePointer == devPtr)
    accDevNotifyFree(attr.basePointer, attr.allocationSize);
  accError_t err = ops->memFree(devPtr);
  if (err != accSuccess)
    WARN("accFree: %p is not the start of a live allocation (double free?): %s", devPtr, accGetErrorString(err));
  return accDevSetError(err);
}

ACCL_EXPORT accError_t accPointerGetAttributes(accPointerAttributes* attributes, const void* ptr) {
  if (attributes == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accPointerGetAttributes: argument attributes is NULL");
  OPS_OR_RETURN(ops);
  *attributes = (accPointerAttributes){.type = accMemoryTypeUnregistered, .device = -1};
  if (ptr == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accPointerGetAttributes: argument ptr is NULL");
  accError_t err = ops->ptrQuery(ptr, 1, attributes);
  if (err == accSuccess && attributes->type == accMemoryTypeHost)
    accDevHostRange(ptr, &attributes->basePointer, &attributes->allocationSize); /* pinned / registered */
  return accDevSetError(err);
}

/* Check one side of a copy: its memory type must be what the kind says and a
 * device range must lie inside one live allocation. */
static accError_t checkSide(const accDevOps* ops, const void* p, size_t n, int wantDevice, int* isDev, const char* fn,
                            const char* arg) {
  accPointerAttributes a = {.type = accMemoryTypeUnregistered, .device = -1};
  accError_t err = ops->ptrQuery(p, n, &a);
  if (err != accSuccess) {
    WARN("%s: argument %s=%p (+%zu bytes): %s", fn, arg, p, n, accGetErrorString(err));
    return err;
  }
  *isDev = a.type == accMemoryTypeDevice;
  if (wantDevice >= 0 && *isDev != wantDevice) {
    WARN("%s: argument %s=%p is %s memory, not what the copy kind says", fn, arg, p, *isDev ? "device" : "host");
    return accErrorInvalidMemcpyDirection;
  }
  return accSuccess;
}

/* One copy or memset on the caller's stream. A synchronous one on an idle
 * stream runs on the caller's thread (no engine hand-off) and is waited
 * for; an asynchronous one always goes to the engine. */
static accError_t submitOnStream(const accDevOps* ops, accStream_t stream, const accDevDesc* d, int sync,
                                 const char* fn) {
  int dev;
  accError_t err = accDevResolveStream(stream, &stream, &dev);
  if (err != accSuccess) ACC_ARG_ERROR(err, "%s: argument stream is not a live stream", fn);
  err = ops->streamSubmit(stream, d, sync ? ACCDEV_SUBMIT_INLINE : 0);
  if (err == accSuccess && sync) err = ops->streamSynchronize(stream);
  return accDevSetError(err);
}

static accError_t memcpyCommon(void* dst, const void* src, size_t count, accMemcpyKind kind, accStream_t stream,
                               int sync, const char* fn) {
  if ((unsigned)kind > accMemcpyDefault)
    ACC_ARG_ERROR(accErrorInvalidMemcpyDirection, "%s: argument kind=%d is not an accMemcpyKind", fn, (int)kind);
  if (count == 0) return accSuccess;
  if (dst == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "%s: argument dst is NULL", fn);
  if (src == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "%s: argument src is NULL", fn);
  OPS_OR_RETURN(ops);
  int wantDst = -1, wantSrc = -1, dIsDev, sIsDev;
  switch (kind) {
    case accMemcpyHostToHost:
      wantDst = 0;
      wantSrc = 0;
      break;
    case accMemcpyHostToDevice:
      wantDst = 1;
      wantSrc = 0;
      break;
    case accMemcpyDeviceToHost:
      wantDst = 0;
      wantSrc = 1;
      break;
    case accMemcpyDeviceToDevice:
      wantDst = 1;
      wantSrc = 1;
      break;
    default: break;
  }
  accError_t err = checkSide(ops, dst, count, wantDst, &dIsDev, fn, "dst");
  if (err == accSuccess) err = checkSide(ops, src, count, wantSrc, &sIsDev, fn, "src");
  if (err != accSuccess) return accDevSetError(err);
  accDevDesc d = {.type = ACCDEV_DESC_COPY, .u.copy = {dst, src, count}};
  return submitOnStream(ops, stream, &d, sync, fn);
}

ACCL_EXPORT accError_t accMemcpy(void* dst, const void* src, size_t count, accMemcpyKind kind) {
  return memcpyCommon(dst, src, count, kind, NULL, 1, "accMemcpy");
}

ACCL_EXPORT accError_t accMemcpyAsync(void* dst, const void* src, size_t count, accMemcpyKind kind,
                                      accStream_t stream) {
  return memcpyCommon(dst, src, count, kind, stream, 0, "accMemcpyAsync");
}

static accError_t memsetCommon(void* devPtr, int value, size_t count, accStream_t stream, int sync, const char* fn) {
  if (count == 0) return accSuccess;
  if (devPtr == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "%s: argument devPtr is NULL", fn);
  OPS_OR_RETURN(ops);
  int isDev;
  accError_t err = checkSide(ops, devPtr, count, 1, &isDev, fn, "devPtr");
  if (err == accErrorInvalidMemcpyDirection) err = accErrorInvalidDevicePointer;
  if (err != accSuccess) return accDevSetError(err);
  accDevDesc d = {.type = ACCDEV_DESC_MEMSET, .u.memset = {devPtr, value, count}};
  return submitOnStream(ops, stream, &d, sync, fn);
}

ACCL_EXPORT accError_t accMemset(void* devPtr, int value, size_t count) {
  return memsetCommon(devPtr, value, count, NULL, 1, "accMemset");
}

ACCL_EXPORT accError_t accMemsetAsync(void* devPtr, int value, size_t count, accStream_t stream) {
  return memsetCommon(devPtr, value, count, stream, 0, "accMemsetAsync");
}

/* ---------------------------------------------------------------------- IPC */

ACCL_EXPORT accError_t accIpcGetMemHandle(accIpcMemHandle_t* handle, void* devPtr) {
  if (handle == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accIpcGetMemHandle: argument handle is NULL");
  if (devPtr == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accIpcGetMemHandle: argument devPtr is NULL");
  OPS_OR_RETURN(ops);
  accError_t err = ops->ipcGetHandle(handle, devPtr);
  if (err != accSuccess) WARN("accIpcGetMemHandle: argument devPtr=%p: %s", devPtr, accGetErrorString(err));
  return accDevSetError(err);
}

ACCL_EXPORT accError_t accIpcOpenMemHandle(void** devPtr, accIpcMemHandle_t handle, unsigned int flags) {
  if (devPtr == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accIpcOpenMemHandle: argument devPtr is NULL");
  OPS_OR_RETURN(ops);
  *devPtr = NULL;
  accError_t err = ops->ipcOpenHandle(devPtr, &handle);
  if (err != accSuccess) WARN("accIpcOpenMemHandle: argument handle cannot be opened: %s", accGetErrorString(err));
  return accDevSetError(err);
}

ACCL_EXPORT accError_t accIpcCloseMemHandle(void* devPtr) {
  if (devPtr == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accIpcCloseMemHandle: argument devPtr is NULL");
  OPS_OR_RETURN(ops);
  accError_t err = ops->ipcCloseHandle(devPtr);
  if (err != accSuccess) WARN("accIpcCloseMemHandle: argument devPtr=%p was not opened by accIpcOpenMemHandle", devPtr);
  return accDevSetError(err);
}
