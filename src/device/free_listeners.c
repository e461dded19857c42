/* free_listeners.c - who must hear that device memory goes away: caches
 * that registered it with a NIC (the ofi registration cache) drop their
 * registration before the pages are released, so a later allocation at the
 * same address is never sent from through a stale registration. */
#include <pthread.h>
#include "core.h"
#include "device/device_internal.h"

#define MAX_LISTENERS 64

static struct { accDevFreeListener fn; void* arg; } listeners[MAX_LISTENERS];
static int nListeners;
static pthread_mutex_t listenersLock = PTHREAD_MUTEX_INITIALIZER;

accError_t accDevAddFreeListener(accDevFreeListener fn, void* arg) {
  if (fn == NULL) return accErrorInvalidValue;
  pthread_mutex_lock(&listenersLock);
  int ok = nListeners < MAX_LISTENERS;
  if (ok) {
    listeners[nListeners].fn = fn;
    listeners[nListeners].arg = arg;
    nListeners++;
  }
  pthread_mutex_unlock(&listenersLock);
  if (!ok) WARN("device: more than %d free listeners (communicators with network peers) at once", MAX_LISTENERS);
  return ok ? accSuccess : accErrorMemoryAllocation;
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
