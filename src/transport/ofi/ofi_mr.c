/* ofi_mr.c - zero-copy sends and the registration cache they need.
 *
 * A step whose data already sits in device memory (the plan says so with
 * ACCL_STEP_ZCOPY) is posted straight from there instead of being copied into
 * a step buffer. The provider may need that memory registered (FI_MR_LOCAL:
 * a descriptor on every operation), so the first send from a device
 * allocation registers the whole allocation on every rail and later sends
 * reuse it: one registration per buffer for the life of the communicator,
 * not one per call. accFree tells the cache (accDevAddFreeListener) before
 * the pages go, so a new allocation at the same address is never sent from
 * through a stale registration. We register even where the provider does not
 * require it (tcp), so this path is the same everywhere. The simulated device
 * memory is host-addressable; a real chip would register with FI_HMEM. */
#include <stdlib.h>
#include <string.h>
#include "comm/comm.h"
#include "transport/ofi/ofi_fabric.h"
#include "transport/ofi/ofi_mr.h"

typedef struct acclOfiMrEntry {
  char* base;
  size_t size;
  struct fid_mr* mr[ACCL_OFI_MAX_RAILS];
} acclOfiMrEntry;

static void closeEntry(acclOfiState* st, acclOfiMrEntry* e) {
  for (int r = 0; r < st->nrails; r++)
    if (e->mr[r]) fi_close(&e->mr[r]->fid);
}

/* accFree: drop every registration inside the freed allocation. */
static void onFree(void* base, size_t size, void* arg) {
  acclOfiState* st = arg;
  char* lo = base;
  pthread_mutex_lock(&st->mrLock);
  for (int i = 0; i < st->mrCount;) {
    acclOfiMrEntry* e = &st->mrCache[i];
    if (e->base < lo + size && lo < e->base + e->size) {
      closeEntry(st, e);
      st->mrCache[i] = st->mrCache[--st->mrCount];
    } else {
      i++;
    }
  }
  pthread_mutex_unlock(&st->mrLock);
}

acclResult_t acclOfiMrCacheInit(acclOfiState* st) {
  pthread_mutex_init(&st->mrLock, NULL);
  st->mrNextKey = 1u << 16; /* the region uses keys 1..rails */
  st->mrReady = 1;
  if (accDevAddFreeListener(onFree, st) != accSuccess) return acclSystemError;
  return acclSuccess;
}

void acclOfiMrCacheFini(acclOfiState* st) {
  if (!st->mrReady) return;
  accDevRemoveFreeListener(onFree, st);
  pthread_mutex_lock(&st->mrLock);
  for (int i = 0; i < st->mrCount; i++) closeEntry(st, &st->mrCache[i]);
  free(st->mrCache);
  st->mrCache = NULL;
  st->mrCount = st->mrCap = 0;
  pthread_mutex_unlock(&st->mrLock);
  pthread_mutex_destroy(&st->mrLock);
  st->mrReady = 0;
}

static acclResult_t registerEntry(acclOfiState* st, acclOfiMrEntry* e) {
  for (int r = 0; r < st->nrails; r++) {
    acclOfiRail* rail = &st->rails[r];
    uint64_t mode = rail->info->domain_attr->mr_mode;
    uint64_t key = (mode & FI_MR_PROV_KEY) ? 0 : st->mrNextKey++;
    int rc = fi_mr_reg(rail->domain, e->base, e->size, FI_SEND | FI_WRITE, 0, key, 0, &e->mr[r], NULL);
    if (rc == 0 && (mode & FI_MR_ENDPOINT)) {
      rc = fi_mr_bind(e->mr[r], &rail->ep->fid, 0);
      if (rc == 0) rc = fi_mr_enable(e->mr[r]);
    }
    if (rc != 0) {
      char err[96];
      closeEntry(st, e);
      ACCL_ERROR(acclSystemError, "NET/OFI rank %d: registering %zu bytes of device memory at %p on rail %d failed: %s",
                 st->comm->rank, e->size, (void*)e->base, r, acclOfiErrText(rc, err, sizeof(err)));
    }
  }
  return acclSuccess;
}

acclResult_t acclOfiMrLookup(acclOfiState* st, const void* ptr, size_t len, void** descs) {
  const char* p = ptr;
  if (p >= st->region && p + len <= st->region + st->regionBytes) { /* our own region: registered at setup */
    for (int r = 0; r < st->nrails; r++) descs[r] = st->rails[r].desc;
    return acclSuccess;
  }
  acclResult_t res = acclSuccess;
  pthread_mutex_lock(&st->mrLock);
  acclOfiMrEntry* hit = NULL;
  for (int i = 0; i < st->mrCount && !hit; i++)
    if (st->mrCache[i].base <= p && p + len <= st->mrCache[i].base + st->mrCache[i].size) hit = &st->mrCache[i];
  if (!hit) {
    accPointerAttributes attr;
    if (accDevGetOps()->ptrQuery(ptr, len ? len : 1, &attr) != accSuccess || attr.type != accMemoryTypeDevice) {
      WARN("NET/OFI rank %d: %p (%zu bytes) is not inside a live device allocation: cannot send from it",
           st->comm->rank, ptr, len);
      res = acclInvalidUsage;
      goto out;
    }
    if (st->mrCount == st->mrCap) {
      int cap = st->mrCap ? 2 * st->mrCap : 16;
      acclOfiMrEntry* nc = realloc(st->mrCache, sizeof(acclOfiMrEntry) * (size_t)cap);
      if (!nc) {
        res = acclSystemError;
        goto out;
      }
      st->mrCache = nc;
      st->mrCap = cap;
    }
    acclOfiMrEntry* e = &st->mrCache[st->mrCount];
    memset(e, 0, sizeof(*e));
    e->base = attr.basePointer;
    e->size = attr.allocationSize;
    res = registerEntry(st, e);
    if (res != acclSuccess) goto out;
    st->mrCount++;
    hit = e;
    TRACE(ACCL_NET, "NET/OFI rank %d: registered device allocation %p (%zu bytes), %d cached", st->comm->rank,
          (void*)e->base, e->size, st->mrCount);
  }
  for (int r = 0; r < st->nrails; r++) descs[r] = fi_mr_desc(hit->mr[r]);
out:
  pthread_mutex_unlock(&st->mrLock);
  return res;
}
