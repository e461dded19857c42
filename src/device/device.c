/* device.c - backend selection and the library-facing device interface
 * (device.h): the rest of acc-ccl reaches the device only through here. */
#include <pthread.h>
#include "core/core.h"
#include "device/device_internal.h"

static pthread_once_t opsOnce = PTHREAD_ONCE_INIT;
static const accDevOps* activeOps;
static int activeCount;
static __thread int currentDevice;
static __thread accError_t lastError;

static void opsInit(void) {
  /* One backend exists today; a real chip's backend would be chosen here
   * (e.g. by probing its driver) before falling back to the simulator. */
  int n = 0;
  accError_t err = accSimOps.init(&n);
  if (err != accSuccess || n < 1) {
    WARN("device backend %s failed to start: %s", accSimOps.name, accGetErrorString(err));
    return;
  }
  activeCount = n;
  __atomic_store_n(&activeOps, &accSimOps, __ATOMIC_RELEASE);
}

const accDevOps* accDevGetOps(void) {
  pthread_once(&opsOnce, opsInit);
  return __atomic_load_n(&activeOps, __ATOMIC_ACQUIRE);
}

int accDevCount(void) { return accDevGetOps() ? activeCount : 0; }

accError_t accDevSetError(accError_t err) {
  if (err != accSuccess) lastError = err;
  return err;
}

ACCL_EXPORT accError_t accGetLastError(void) {
  accError_t e = lastError;
  lastError = accSuccess;
  return e;
}

ACCL_EXPORT accError_t accPeekAtLastError(void) { return lastError; }

int accDevCurrent(void) { return currentDevice; }
void accDevSetCurrent(int dev) {
  currentDevice = dev;
  acclLogDevice = dev; /* log lines name the current device, as NCCL's do */
}

const accDevOps* accDevOpsOrError(void) {
  const accDevOps* ops = accDevGetOps();
  if (ops == NULL) accDevSetError(accErrorInitializationError);
  return ops;
}

accError_t accDevResolveStream(accStream_t stream, accStream_t* out, int* dev) {
  const accDevOps* ops = accDevOpsOrError();
  if (ops == NULL) return accErrorInitializationError;
  if (stream == NULL) {
    *dev = currentDevice;
    return ops->defaultStream(currentDevice, out);
  }
  *out = stream;
  return ops->streamCheck(stream, dev);
}

/* ------------------------------------------------ library-facing functions */

/* Bumped by every stream destroy: invalidates the threads' cached checks. */
static uint64_t streamGeneration;
static __thread accStream_t checkedStream;
static __thread int checkedDev;
static __thread uint64_t checkedGeneration;

void accDevStreamDestroyed(void) { __atomic_add_fetch(&streamGeneration, 1, __ATOMIC_SEQ_CST); }

accError_t accDevStreamDevice(accStream_t stream, int* dev) {
  if (dev == NULL) return accErrorInvalidValue;
  /* the last stream this thread checked, if no stream was destroyed since:
   * the handle table lookup (and its lock) is skipped on every call */
  if (stream != NULL && stream == checkedStream &&
      __atomic_load_n(&streamGeneration, __ATOMIC_ACQUIRE) == checkedGeneration) {
    *dev = checkedDev;
    return accSuccess;
  }
  uint64_t gen = __atomic_load_n(&streamGeneration, __ATOMIC_ACQUIRE);
  accStream_t s;
  accError_t err = accDevResolveStream(stream, &s, dev);
  if (err == accSuccess && stream != NULL) {
    checkedStream = stream;
    checkedDev = *dev;
    checkedGeneration = gen;
  }
  return err;
}

accError_t accDevSubmit(accStream_t stream, const accDevDesc* desc, unsigned flags) {
  if (desc == NULL) return accErrorInvalidValue;
  const accDevOps* ops = accDevGetOps();
  if (ops == NULL) return accErrorInitializationError;
  if (stream == NULL) {
    accError_t err = ops->defaultStream(currentDevice, &stream);
    if (err != accSuccess) return err;
  }
  return ops->streamSubmit(stream, desc, flags);
}

accError_t accDevDescCheck(const accDevDesc* d) {
  switch (d->type) {
    case ACCDEV_DESC_COPY:
      if (d->u.copy.bytes && (d->u.copy.dst == NULL || d->u.copy.src == NULL)) return accErrorInvalidValue;
      return accSuccess;
    case ACCDEV_DESC_MEMSET:
      if (d->u.memset.bytes && d->u.memset.dst == NULL) return accErrorInvalidValue;
      return accSuccess;
    case ACCDEV_DESC_LL_PACK:
    case ACCDEV_DESC_LL_UNPACK:
      if (d->u.ll.bytes &&
          (d->u.ll.lines == NULL || (d->type == ACCDEV_DESC_LL_PACK ? d->u.ll.src == NULL : d->u.ll.dst == NULL)))
        return accErrorInvalidValue;
      return accSuccess;
    case ACCDEV_DESC_REDUCE: {
      const struct accDevReduce* r = &d->u.reduce;
      if (r->nsrc < 1 || r->nsrc > ACCDEV_MAX_SRCS || r->ndst < 1 || r->ndst > 2) return accErrorInvalidValue;
      if (r->dtype < 0 || r->dtype >= acclNumTypes || (unsigned)r->op >= ACCDEV_NUM_OPS) return accErrorInvalidValue;
      if (r->count == 0) return accSuccess;
      for (int i = 0; i < r->nsrc; i++)
        if (r->src[i] == NULL) return accErrorInvalidValue;
      for (int i = 0; i < r->ndst; i++)
        if (r->dst[i] == NULL) return accErrorInvalidValue;
      return accSuccess;
    }
    default: return accErrorInvalidValue;
  }
}

accError_t accDevExec(int dev, const accDevDesc* desc) {
  if (desc == NULL) return accErrorInvalidValue;
  const accDevOps* ops = accDevGetOps();
  if (ops == NULL) return accErrorInitializationError;
  if (dev < 0 || dev >= activeCount) return accErrorInvalidDevice;
  accError_t err = accDevDescCheck(desc);
  if (err != accSuccess) return err;
  return ops->exec(dev, desc);
}

void accDevSignal(volatile uint64_t* flag, uint64_t value) {
  const accDevOps* ops = accDevGetOps();
  if (ops)
    ops->signal(flag, value);
  else
    __atomic_store_n(flag, value, __ATOMIC_RELEASE);
}

void accDevPlaceEngines(int dev, int numa, accDevThreadBindFn bind) {
  const accDevOps* ops = accDevGetOps();
  if (ops && ops->placeEngines && dev >= 0 && dev < activeCount) ops->placeEngines(dev, numa, bind);
}

void accDevHintOversubscribed(void) {
  const accDevOps* ops = accDevGetOps();
  if (ops && ops->hintOversubscribed) ops->hintOversubscribed();
}

void accDevDoorbell(const void* addr) {
  const accDevOps* ops = accDevGetOps();
  if (ops) ops->doorbell(addr);
}

accError_t accDevStreamError(accStream_t stream) {
  const accDevOps* ops = accDevGetOps();
  if (ops == NULL) return accErrorInitializationError;
  int dev;
  accError_t err = accDevResolveStream(stream, &stream, &dev);
  if (err != accSuccess) return err;
  return ops->streamError(stream);
}

accError_t accDevWindowExport(int dev, accDevWindow* window) {
  const accDevOps* ops = accDevGetOps();
  if (ops == NULL) return accErrorInitializationError;
  if (window == NULL) return accErrorInvalidValue;
  if (dev < 0 || dev >= activeCount) return accErrorInvalidDevice;
  return ops->windowExport(dev, window);
}

accError_t accDevWindowOpen(const accDevWindow* window, void** localBase) {
  const accDevOps* ops = accDevGetOps();
  if (ops == NULL) return accErrorInitializationError;
  if (window == NULL || localBase == NULL) return accErrorInvalidValue;
  return ops->windowOpen(window, localBase);
}

accError_t accDevWindowClose(void* localBase) {
  const accDevOps* ops = accDevGetOps();
  if (ops == NULL) return accErrorInitializationError;
  if (localBase == NULL) return accErrorInvalidValue;
  return ops->windowClose(localBase);
}

int accDevPtrIsDevice(const void* ptr, int* dev) {
  const accDevOps* ops = accDevGetOps();
  if (ops == NULL || ptr == NULL) return 0;
  accPointerAttributes attr = {.type = accMemoryTypeUnregistered, .device = -1};
  /* The type is filled even when the query fails (freed device memory is
   * still device memory for classification). */
  (void)ops->ptrQuery(ptr, 0, &attr);
  if (attr.type != accMemoryTypeDevice) return 0;
  if (dev) *dev = attr.device;
  return 1;
}

accError_t accDevPtrRange(const void* ptr, size_t len, accPointerAttributes* attr) {
  const accDevOps* ops = accDevGetOps();
  *attr = (accPointerAttributes){.type = accMemoryTypeUnregistered, .device = -1};
  if (ops == NULL) return accErrorInitializationError;
  return ops->ptrQuery(ptr, len, attr);
}

void accDevLogCounters(int dev) {
  const accDevOps* ops = accDevGetOps();
  accDeviceCounters c;
  if (ops == NULL || dev < 0 || dev >= activeCount || ops->getCounters(dev, &c) != accSuccess) return;
  INFO(
      ACCL_DEV,
      "device %d counters: copied %llu B, reduced %llu B, %llu descriptors, busy %.3f ms (dma %.3f ms, reduce %.3f ms)",
      dev, (unsigned long long)c.bytesCopied, (unsigned long long)c.bytesReduced, (unsigned long long)c.descriptors,
      c.busyNs / 1e6, c.dmaBusyNs / 1e6, c.reduceBusyNs / 1e6);
}
