/* device_internal.h - shared by the generic runtime files of src/device/:
 * the per-thread state (current device, last error) and the backend lookup. */
#ifndef ACCL_DEVICE_INTERNAL_H_
#define ACCL_DEVICE_INTERNAL_H_

#include "device/device.h"

/* The simulated chip's ops table (src/device/sim/). */
extern const accDevOps accSimOps;

/* Record err as this thread's last error (unless accSuccess) and return it. */
accError_t accDevSetError(accError_t err);
/* The current device of this thread (accSetDevice; 0 by default). */
int accDevCurrent(void);
void accDevSetCurrent(int dev);
/* The active ops, or NULL (and the thread's last error set) when the runtime
 * could not start. */
const accDevOps* accDevOpsOrError(void);
/* Resolve NULL to the current device's default stream; validate the handle. */
accError_t accDevResolveStream(accStream_t stream, accStream_t* out, int* dev);

/* accFree is about to release [base, base+size) (free_listeners.c). */
void accDevNotifyFree(void* base, size_t size);

/* p lies in memory of accMallocHost / accHostRegister: its range (host_api.c). */
int accDevHostRange(const void* p, void** base, size_t* size);

/* A stream is being destroyed: cached stream checks are stale (device.c). */
void accDevStreamDestroyed(void);

/* For the runtime entry points (which include core/core.h for WARN): the
 * active backend's ops or accErrorInitializationError; a bad argument WARNs
 * naming it and records the error for accGetLastError. */
#define OPS_OR_RETURN(ops)                   \
  const accDevOps* ops = accDevOpsOrError(); \
  if (ops == NULL) return accErrorInitializationError

#define ACC_ARG_ERROR(err, ...) \
  do {                          \
    WARN(__VA_ARGS__);          \
    return accDevSetError(err); \
  } while (0)

#endif
