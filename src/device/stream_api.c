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

ACCL_EXPORT accError_t accStreamCreate(accStream_t* stream) {
  if (stream == NULL) {
    WARN("accStreamCreate: argument stream is NULL");
    return accDevSetError(accErrorInvalidValue);
  }
  OPS_OR_RETURN(ops);
  int dev = accDevCurrent();
  if (dev < 0 || dev >= accDevCount()) return accDevSetError(accErrorInvalidDevice);
  return accDevSetError(ops->streamCreate(dev, stream));
}

ACCL_EXPORT accError_t accStreamDestroy(accStream_t stream) {
  if (stream == NULL) {
    WARN("accStreamDestroy: the default stream cannot be destroyed");
    return accDevSetError(accErrorInvalidResourceHandle);
  }
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
  if (event == NULL) {
    WARN("accStreamWaitEvent: argument event is NULL");
    return accDevSetError(accErrorInvalidResourceHandle);
  }
  OPS_OR_RETURN(ops);
  accError_t err = userStream(&stream, "accStreamWaitEvent");
  if (err != accSuccess) return err;
  return accDevSetError(ops->streamWaitEvent(stream, event));
}

ACCL_EXPORT accError_t accEventCreateWithFlags(accEvent_t* event, unsigned int flags) {
  if (event == NULL) {
    WARN("accEventCreate: argument event is NULL");
    return accDevSetError(accErrorInvalidValue);
  }
  if (flags & ~(unsigned)accEventDisableTiming) {
    WARN("accEventCreateWithFlags: argument flags=0x%x has unknown bits", flags);
    return accDevSetError(accErrorInvalidValue);
  }
  OPS_OR_RETURN(ops);
  int dev = accDevCurrent();
  if (dev < 0 || dev >= accDevCount()) return accDevSetError(accErrorInvalidDevice);
  return accDevSetError(ops->eventCreate(dev, flags, event));
}

ACCL_EXPORT accError_t accEventCreate(accEvent_t* event) { return accEventCreateWithFlags(event, accEventDefault); }

ACCL_EXPORT accError_t accEventRecord(accEvent_t event, accStream_t stream) {
  if (event == NULL) {
    WARN("accEventRecord: argument event is NULL");
    return accDevSetError(accErrorInvalidResourceHandle);
  }
  OPS_OR_RETURN(ops);
  accError_t err = userStream(&stream, "accEventRecord");
  if (err != accSuccess) return err;
  return accDevSetError(ops->eventRecord(event, stream));
}

#define EVENT_CALL(fn, event, call)                         \
  do {                                                      \
    if ((event) == NULL) {                                  \
      WARN("%s: argument event is NULL", fn);               \
      return accDevSetError(accErrorInvalidResourceHandle); \
    }                                                       \
    OPS_OR_RETURN(ops);                                     \
    return accDevSetError(call);                            \
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
  if (ms == NULL) {
    WARN("accEventElapsedTime: argument ms is NULL");
    return accDevSetError(accErrorInvalidValue);
  }
  if (start == NULL || end == NULL) {
    WARN("accEventElapsedTime: argument %s is NULL", start == NULL ? "start" : "end");
    return accDevSetError(accErrorInvalidResourceHandle);
  }
  OPS_OR_RETURN(ops);
  accError_t err = ops->eventElapsedTime(ms, start, end);
  return err == accErrorNotReady ? err : accDevSetError(err);
}
