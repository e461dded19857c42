/* free_listeners.c - who must hear that device memory goes away: caches
 * that registered it with a NIC (the ofi registration cache) drop their
 * registration before the pages are released, so a later allocation at the
 * same address is never sent from through a stale registration. */
#include <pthread.h>
#include <stdlib.h>
#include "core/core.h"
#include "device/device_internal.h"

typedef struct {
  accDevFreeListener fn;
  void* arg;
} listener;
static listener* listeners; /* one per communicator with network peers */
static int nListeners, capListeners;
static pthread_mutex_t listenersLock = PTHREAD_MUTEX_INITIALIZER;

accError_t accDevAddFreeListener(accDevFreeListener fn, void* arg) {
  if (fn == NULL) return accErrorInvalidValue;
  accError_t err = accSuccess;
  pthread_mutex_lock(&listenersLock);
  if (nListeners == capListeners) {
    int cap = capListeners ? 2 * capListeners : 8;
    listener* nl = realloc(listeners, sizeof(listener) * (size_t)cap);
    if (nl) {
      listeners = nl;
      capListeners = cap;
    } else {
      err = accErrorMemoryAllocation;
    }
  }
  if (err == accSuccess) listeners[nListeners++] = (listener){fn, arg};
  pthread_mutex_unlock(&listenersLock);
  return err;
}

void accDevRemoveFreeListener(accDevFreeListener fn, void* arg) {
  pthread_mutex_lock(&listenersLock);
  for (int i = 0; i < nListeners; i++) {
    if (listeners[i].fn != fn || listeners[i].arg != arg) continue;
    listeners[i] = listeners[--nListeners];
    break;
  }
  pthread_mutex_unlock(&listenersLock);
}

/* Called by accFree with the allocation's range, before the backend frees it. */
void accDevNotifyFree(void* base, size_t size) {
  pthread_mutex_lock(&listenersLock);
  for (int i = 0; i < nListeners; i++) listeners[i].fn(base, size, listeners[i].arg);
  pthread_mutex_unlock(&listenersLock);
}
