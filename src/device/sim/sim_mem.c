/* sim_mem.c - device memory: one memfd per device (no name in /dev/shm, so
 * nothing can be left behind), mapped shared and sparse; a next-fit
 * sub-allocator and the allocation table used to validate pointers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>
#include "device/sim/sim.h"
#include "core/param.h"

#define PAGE 4096ull

static uint64_t randomNonce(void) {
  uint64_t v = 0;
  if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v)) v = acclClockNs() ^ ((uint64_t)getpid() << 32);
  return v | 1; /* never 0 */
}

accError_t simMemMap(simDevice* d) {
  int64_t size = acclParamSimMem(); /* at least 1M: the header and a page */
  size = (int64_t)ACCL_ALIGN_UP((uint64_t)size, PAGE);
  char name[32];
  snprintf(name, sizeof(name), "acc-sim-dev%d", d->index);
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) {
    WARN("device %d: memfd_create failed: %s", d->index, strerror(errno));
    return accErrorInitializationError;
  }
  if (ftruncate(fd, (off_t)size) != 0) {
    WARN("device %d: ftruncate(%lld) failed: %s", d->index, (long long)size, strerror(errno));
    close(fd);
    return accErrorInitializationError;
  }
  void* p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (p == MAP_FAILED) {
    WARN("device %d: mmap of %lld bytes failed: %s", d->index, (long long)size, strerror(errno));
    close(fd);
    return accErrorInitializationError;
  }
  d->memfd = fd;
  d->base = p;
  d->size = (size_t)size;
  d->hdr = p;
  d->hdr->magic = SIM_WINDOW_MAGIC;
  d->hdr->nonce = randomNonce();
  d->hdr->size = (uint64_t)size;
  d->hdr->ownerPid = getpid();
  d->hdr->dev = d->index;
  d->freeCap = 64;
  d->freeList = malloc(sizeof(simExtent) * (size_t)d->freeCap);
  if (d->freeList == NULL) return accErrorInitializationError;
  d->freeList[0] = (simExtent){(uintptr_t)p + SIM_HEADER_BYTES, (size_t)size - SIM_HEADER_BYTES};
  d->nfree = 1;
  d->cursor = (uintptr_t)p + SIM_HEADER_BYTES;
  INFO(ACCL_DEV, "device %d: %lld bytes of memory at %p (memfd %d)", d->index, (long long)size, p, fd);
  return accSuccess;
}

void simMemUnmapAfterFork(simDevice* d) {
  if (d->base) munmap(d->base, d->size);
  if (d->memfd >= 0) close(d->memfd);
}

/* Insert e at index i of a sorted extent array, growing it. */
static int extentInsert(simExtent** arr, int* n, int* cap, int i, simExtent e) {
  if (*n == *cap) {
    int ncap = *cap ? *cap * 2 : 64;
    simExtent* na = realloc(*arr, sizeof(simExtent) * (size_t)ncap);
    if (na == NULL) return -1;
    *arr = na;
    *cap = ncap;
  }
  memmove(*arr + i + 1, *arr + i, sizeof(simExtent) * (size_t)(*n - i));
  (*arr)[i] = e;
  (*n)++;
  return 0;
}

static void extentRemove(simExtent* arr, int* n, int i) {
  memmove(arr + i, arr + i + 1, sizeof(simExtent) * (size_t)(*n - i - 1));
  (*n)--;
}

/* Index of the last extent whose base <= p, or -1. */
static int extentFloor(const simExtent* arr, int n, uintptr_t p) {
  int lo = 0, hi = n - 1, r = -1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    if (arr[mid].base <= p) {
      r = mid;
      lo = mid + 1;
    } else
      hi = mid - 1;
  }
  return r;
}

/* Take [start, start+size) out of free extent i (it lies inside it). */
static int carve(simDevice* d, int i, uintptr_t start, size_t size) {
  simExtent e = d->freeList[i];
  uintptr_t end = start + size, eend = e.base + e.size;
  if (start == e.base && end == eend) {
    extentRemove(d->freeList, &d->nfree, i);
    return 0;
  }
  if (start == e.base) {
    d->freeList[i] = (simExtent){end, eend - end};
    return 0;
  }
  d->freeList[i].size = start - e.base;
  if (end < eend) return extentInsert(&d->freeList, &d->nfree, &d->freeCap, i + 1, (simExtent){end, eend - end});
  return 0;
}

accError_t simMemAlloc(int dev, size_t size, void** ptr) {
  simDevice* d = simDeviceGet(dev);
  if (d == NULL) return accErrorInitializationError;
  if (size > d->size) return accErrorMemoryAllocation;
  size_t carved = ACCL_ALIGN_UP(size, SIM_ALLOC_ALIGN);
  accError_t err = accErrorMemoryAllocation;
  pthread_mutex_lock(&d->lock);
  /* Next fit: from the cursor to the end, then from the start. */
  int first = extentFloor(d->freeList, d->nfree, d->cursor);
  if (first < 0) first = 0;
  for (int k = 0; k < d->nfree; k++) {
    int i = (first + k) % d->nfree;
    simExtent e = d->freeList[i];
    uintptr_t start = e.base, end = e.base + e.size;
    if (k == 0 && d->cursor > start && d->cursor + carved <= end) start = d->cursor;
    if (start + carved > end) continue;
    /* The table keeps the size asked for: a copy past it is caught even
     * inside the rounding. */
    int li = extentFloor(d->live, d->nlive, start) + 1;
    if (extentInsert(&d->live, &d->nlive, &d->liveCap, li, (simExtent){start, size}) != 0) break;
    if (carve(d, i, start, carved) != 0) {
      extentRemove(d->live, &d->nlive, li);
      break;
    }
    d->cursor = start + carved;
    d->used += carved;
    *ptr = (void*)start;
    err = accSuccess;
    break;
  }
  pthread_mutex_unlock(&d->lock);
  return err;
}

static simDevice* deviceOf(uintptr_t p) {
  for (int i = 0; i < simNumDevices; i++) {
    simDevice* d = &simDevices[i];
    if (__atomic_load_n(&d->ready, __ATOMIC_ACQUIRE) && p >= (uintptr_t)d->base && p < (uintptr_t)d->base + d->size)
      return d;
  }
  return NULL;
}

accError_t simMemFree(void* ptr) {
  uintptr_t p = (uintptr_t)ptr;
  simDevice* d = deviceOf(p);
  if (d == NULL) return accErrorInvalidDevicePointer;
  pthread_mutex_lock(&d->lock);
  int li = extentFloor(d->live, d->nlive, p);
  if (li < 0 || d->live[li].base != p) {
    pthread_mutex_unlock(&d->lock);
    return accErrorInvalidDevicePointer;
  }
  simExtent blk = {p, ACCL_ALIGN_UP(d->live[li].size, SIM_ALLOC_ALIGN)};
  extentRemove(d->live, &d->nlive, li);
  d->used -= blk.size;
  /* Return the block to the free list, merged with its neighbours. */
  int fi = extentFloor(d->freeList, d->nfree, p);
  simExtent m = blk;
  int at = fi + 1;
  if (fi >= 0 && d->freeList[fi].base + d->freeList[fi].size == blk.base) {
    m.base = d->freeList[fi].base;
    m.size += d->freeList[fi].size;
    extentRemove(d->freeList, &d->nfree, fi);
    at = fi;
  }
  if (at < d->nfree && d->freeList[at].base == blk.base + blk.size) {
    m.size += d->freeList[at].size;
    extentRemove(d->freeList, &d->nfree, at);
  }
  accError_t err = accSuccess;
  if (extentInsert(&d->freeList, &d->nfree, &d->freeCap, at, m) != 0) err = accErrorUnknown;
  pthread_mutex_unlock(&d->lock);
  /* Give whole free pages back to the system (the memory stays reserved). */
  uintptr_t lo = ACCL_ALIGN_UP(ACCL_MAX(m.base, blk.base & ~(PAGE - 1)), PAGE);
  uintptr_t hi = ACCL_MIN(m.base + m.size, ACCL_ALIGN_UP(blk.base + blk.size, PAGE)) & ~(PAGE - 1);
  if (hi > lo)
    fallocate(d->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(lo - (uintptr_t)d->base), (off_t)(hi - lo));
  return err;
}

accError_t simPtrQuery(const void* ptr, size_t len, accPointerAttributes* attr) {
  uintptr_t p = (uintptr_t)ptr;
  simDevice* d = deviceOf(p);
  if (d == NULL) {
    accError_t err = accSuccess;
    if (simIpcLookup(ptr, len, attr, &err)) return err;
    *attr = (accPointerAttributes){.type = accMemoryTypeHost, .device = -1};
    return accSuccess;
  }
  *attr = (accPointerAttributes){.type = accMemoryTypeDevice, .device = d->index, .devicePointer = (void*)ptr};
  pthread_mutex_lock(&d->lock);
  int li = extentFloor(d->live, d->nlive, p);
  accError_t err = accSuccess;
  if (li < 0 || p >= d->live[li].base + d->live[li].size) {
    err = accErrorIllegalAddress; /* never allocated, or freed: use after free */
  } else {
    attr->basePointer = (void*)d->live[li].base;
    attr->allocationSize = d->live[li].size;
    if (len > d->live[li].base + d->live[li].size - p) err = accErrorIllegalAddress;
  }
  pthread_mutex_unlock(&d->lock);
  return err;
}

/* accMemGetInfo: the free extents' sum and the memory behind the allocator. */
accError_t simMemInfo(int dev, size_t* freeBytes, size_t* totalBytes) {
  simDevice* d = simDeviceGet(dev);
  if (d == NULL) return accErrorInitializationError;
  size_t sum = 0;
  pthread_mutex_lock(&d->lock);
  for (int i = 0; i < d->nfree; i++) sum += d->freeList[i].size;
  pthread_mutex_unlock(&d->lock);
  *freeBytes = sum;
  *totalBytes = d->size - SIM_HEADER_BYTES;
  return accSuccess;
}
