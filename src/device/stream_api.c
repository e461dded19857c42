/* stream_api.c - public runtime entry points for streams and events
 * (acc_runtime.h): handle checks, then the active backend. */
#include "core/core.h"
#include "device/device_internal.h"

/* Resolve a user's stream argument, WARN naming the function if it is bad. */
static accError_t userStream(accStream_t* stream, const char* fn) {
  int dev;
  accError_t err = accDevResolveStream(*stream, stream, &dev);
  if (err != accSuccess) WARN("%s: argument stream %p is not a live stream", fn, (void*)*stream);
  return accDevSetError(err);
}

/* The checks of an event call on a stream (a non-NULL event, a backend, a
 * live stream of the caller's), then the call. */
#define EVENT_ON_STREAM(fn, event, stream, call)                                                         \
  do {                                                                                                   \
    if ((event) == NULL) ACC_ARG_ERROR(accErrorInvalidResourceHandle, "%s: argument event is NULL", fn); \
    OPS_OR_RETURN(ops);                                                                                  \
    accError_t err_ = userStream(&(stream), fn);                                                         \
    if (err_ != accSuccess) return err_;                                                                 \
    return accDevSetError(call);                                                                         \
  } while (0)

ACCL_EXPORT accError_t accStreamCreate(accStream_t* stream) {
  if (stream == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accStreamCreate: argument stream is NULL");
  OPS_OR_RETURN(ops);
  int dev = accDevCurrent();
  if (dev < 0 || dev >= accDevCount()) return accDevSetError(accErrorInvalidDevice);
  return accDevSetError(ops->streamCreate(dev, stream));
}

ACCL_EXPORT accError_t accStreamDestroy(accStream_t stream) {
  if (stream == NULL)
    ACC_ARG_ERROR(accErrorInvalidResourceHandle, "accStreamDestroy: the default stream cannot be destroyed");
  OPS_OR_RETURN(ops);
  accError_t err = userStream(&stream, "accStreamDestroy");
  if (err != accSuccess) return err;
  accDevStreamDestroyed();
  return accDevSetError(ops->streamDestroy(stream));
}

ACCL_EXPORT accError_t accStreamSynchronize(accStream_t stream) {
  OPS_OR_RETURN(ops);
  accError_t err = userStream(&stream, "accStreamSynchronize");
  if (err != accSuccess) return err;
  return accDevSetError(ops->streamSynchronize(stream));
}

ACCL_EXPORT accError_t accStreamQuery(accStream_t stream) {
  OPS_OR_RETURN(ops);
  accError_t err = userStream(&stream, "accStreamQuery");
  if (err != accSuccess) return err;
  err = ops->streamQuery(stream);
  return err == accErrorNotReady ? err : accDevSetError(err); /* not-ready is no error */
}

ACCL_EXPORT accError_t accStreamWaitEvent(accStream_t stream, accEvent_t event, unsigned int flags) {
  EVENT_ON_STREAM("accStreamWaitEvent", event, stream, ops->streamWaitEvent(stream, event));
}

ACCL_EXPORT accError_t accEventCreateWithFlags(accEvent_t* event, unsigned int flags) {
  if (event == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accEventCreate: argument event is NULL");
  if (flags & ~(unsigned)accEventDisableTiming)
    ACC_ARG_ERROR(accErrorInvalidValue, "accEventCreateWithFlags: argument flags=0x%x has unknown bits", flags);
  OPS_OR_RETURN(ops);
  int dev = accDevCurrent();
  if (dev < 0 || dev >= accDevCount()) return accDevSetError(accErrorInvalidDevice);
  return accDevSetError(ops->eventCreate(dev, flags, event));
}

ACCL_EXPORT accError_t accEventCreate(accEvent_t* event) { return accEventCreateWithFlags(event, accEventDefault); }

ACCL_EXPORT accError_t accEventRecord(accEvent_t event, accStream_t stream) {
  EVENT_ON_STREAM("accEventRecord", event, stream, ops->eventRecord(event, stream));
}

#define EVENT_CALL(fn, event, call)                                                                      \
  do {                                                                                                   \
    if ((event) == NULL) ACC_ARG_ERROR(accErrorInvalidResourceHandle, "%s: argument event is NULL", fn); \
    OPS_OR_RETURN(ops);                                                                                  \
    return accDevSetError(call);                                                                         \
  } while (0)

ACCL_EXPORT accError_t accEventSynchronize(accEvent_t event) {
  EVENT_CALL("accEventSynchronize", event, ops->eventSynchronize(event));
}

ACCL_EXPORT accError_t accEventQuery(accEvent_t event) {
  if (event == NULL) return accDevSetError(accErrorInvalidResourceHandle);
  OPS_OR_RETURN(ops);
  accError_t err = ops->eventQuery(event);
  return err == accErrorNotReady ? err : accDevSetError(err);
}

ACCL_EXPORT accError_t accEventDestroy(accEvent_t event) {
  EVENT_CALL("accEventDestroy", event, ops->eventDestroy(event));
}

ACCL_EXPORT accError_t accEventElapsedTime(float* ms, accEvent_t start, accEvent_t end) {
  if (ms == NULL) ACC_ARG_ERROR(accErrorInvalidValue, "accEventElapsedTime: argument ms is NULL");
  if (start == NULL || end == NULL)
    ACC_ARG_ERROR(accErrorInvalidResourceHandle, "accEventElapsedTime: argument %s is NULL",
                  start == NULL ? "start" : "end");
  OPS_OR_RETURN(ops);
  accError_t err = ops->eventElapsedTime(ms, start, end);
  return err == accErrorNotReady ? err : accDevSetError(err);
}
