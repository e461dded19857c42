/* sim_handles.c - the set of live stream and event handles, so that a bad or
 * destroyed handle from the user is rejected instead of dereferenced.
 * Open addressing over pointer values; a few hundred live handles at most. */
#include <stdlib.h>
#include "device/sim/sim.h"

static pthread_mutex_t handlesLock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t* slots; /* 0 empty, 1 deleted, else a handle */
static size_t nslots, nused;

static size_t hashPtr(uintptr_t p) { return (size_t)((p >> 4) * 0x9e3779b97f4a7c15ull); }

static void insertRaw(uintptr_t* tab, size_t n, uintptr_t h) {
  for (size_t i = hashPtr(h) & (n - 1);; i = (i + 1) & (n - 1))
    if (tab[i] <= 1) {
      tab[i] = h;
      return;
    }
}

void simHandleAdd(void* h) {
  pthread_mutex_lock(&handlesLock);
  if ((nused + 1) * 2 > nslots) { /* grow (and drop tombstones) */
    size_t n = nslots ? nslots * 2 : 64;
    uintptr_t* tab = calloc(n, sizeof(*tab));
    if (tab) {
      nused = 0;
      for (size_t i = 0; i < nslots; i++)
        if (slots[i] > 1) {
          insertRaw(tab, n, slots[i]);
          nused++;
        }
      free(slots);
      slots = tab;
      nslots = n;
    }
  }
  if (slots) {
    insertRaw(slots, nslots, (uintptr_t)h);
    nused++;
  }
  pthread_mutex_unlock(&handlesLock);
}

static size_t findSlot(uintptr_t h) {
  if (nslots == 0 || h <= 1) return SIZE_MAX;
  for (size_t i = hashPtr(h) & (nslots - 1), k = 0; k < nslots; i = (i + 1) & (nslots - 1), k++) {
    if (slots[i] == h) return i;
    if (slots[i] == 0) return SIZE_MAX;
  }
  return SIZE_MAX;
}

int simHandleRemove(void* h) {
  pthread_mutex_lock(&handlesLock);
  size_t i = findSlot((uintptr_t)h);
  if (i != SIZE_MAX) slots[i] = 1; /* tombstone; nused counts them until the next grow */
  pthread_mutex_unlock(&handlesLock);
  return i != SIZE_MAX;
}

int simHandleLive(const void* h) {
  pthread_mutex_lock(&handlesLock);
  int live = findSlot((uintptr_t)h) != SIZE_MAX;
  pthread_mutex_unlock(&handlesLock);
  return live;
}

void* simHandleResetAfterFork(void) {
  pthread_mutex_init(&handlesLock, NULL);
  void* parents = slots; /* the parent's handles are not valid here: the caller keeps the table */
  slots = NULL;
  nslots = nused = 0;
  return parents;
}
