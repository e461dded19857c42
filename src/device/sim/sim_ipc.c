/* sim_ipc.c - windows (a device's whole memory seen by a peer process), IPC
 * memory handles built on them, and the doorbells that wake a device's
 * engines: own devices' and mapped peers' alike.
 *
 * A peer maps a window by taking the owner's memfd (pidfd_getfd, else
 * /proc/<pid>/fd/<fd>) and mapping it shared; the handle's random nonce must
 * match the window header, so a handle of a dead process whose pid was reused
 * is refused. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "device/sim/sim.h"

#define SIM_MAX_PEERS 256
#define SIM_MAX_IMPORTS 1024

/* Layout of accIpcMemHandle_t for this backend. */
typedef struct {
  uint64_t magic;
  uint64_t nonce;
  uint64_t size; /* window bytes */
  int32_t pid;
  int32_t fd;
  int32_t dev;
  int32_t pad;
  uint64_t offset; /* IPC memory handle: allocation offset in the window */
  uint64_t length; /*                    and its size (0: whole window) */
} simHandle;
_Static_assert(sizeof(simHandle) <= ACC_IPC_HANDLE_SIZE, "simHandle must fit accIpcMemHandle_t");

typedef struct {
  int used; /* read without the lock by doorbell lookups */
  int32_t pid;
  int32_t dev;
  uint64_t nonce;
  char* local;
  size_t size;
  int refs;
} simPeerWindow;

typedef struct {
  char* ptr;
  size_t len;
  int peer; /* index in peers */
  int refs;
} simImport;

static pthread_mutex_t ipcLock = PTHREAD_MUTEX_INITIALIZER;
static simPeerWindow peers[SIM_MAX_PEERS];
static simImport imports[SIM_MAX_IMPORTS];
static int peersHigh; /* peers[i].used is 0 for every i >= peersHigh */

accError_t simWindowExport(int dev, accDevWindow* w) {
  simDevice* d = simDeviceGet(dev);
  if (d == NULL) return accErrorInitializationError;
  simHandle h = {SIM_WINDOW_MAGIC, d->hdr->nonce, d->size, getpid(), d->memfd, dev, 0, 0, 0};
  memset(w, 0, sizeof(*w));
  memcpy(w->handle.reserved, &h, sizeof(h));
  w->base = (uint64_t)(uintptr_t)d->base;
  w->size = d->size;
  return accSuccess;
}

static int takePeerFd(int32_t pid, int32_t fd) {
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_getfd)
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd >= 0) {
    int nfd = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
    close(pidfd);
    if (nfd >= 0) return nfd;
  }
#endif
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, (int)fd);
  return open(path, O_RDWR | O_CLOEXEC);
}

/* Map the window of handle h (or take another reference); *peer is its index. */
static accError_t peerOpen(const simHandle* h, int* peer) {
  if (h->magic != SIM_WINDOW_MAGIC || h->size < SIM_HEADER_BYTES || h->pid <= 0 || h->fd < 0)
    return accErrorInvalidResourceHandle;
  pthread_mutex_lock(&ipcLock);
  for (int i = 0; i < SIM_MAX_PEERS; i++)
    if (peers[i].used && peers[i].pid == h->pid && peers[i].nonce == h->nonce) {
      peers[i].refs++;
      *peer = i;
      pthread_mutex_unlock(&ipcLock);
      return accSuccess;
    }
  int slot = -1;
  for (int i = 0; i < SIM_MAX_PEERS && slot < 0; i++)
    if (!peers[i].used) slot = i;
  accError_t err = accErrorMapFailed;
  int fd = slot < 0 ? -1 : takePeerFd(h->pid, h->fd);
  struct stat st;
  if (fd < 0) {
    WARN("IPC: cannot take memory fd %d of process %d: %s", (int)h->fd, (int)h->pid,
         slot < 0 ? "too many windows" : strerror(errno));
  } else if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != h->size) {
    WARN("IPC: fd %d of process %d is not the window of the handle", (int)h->fd, (int)h->pid);
  } else {
    void* p = mmap(NULL, h->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (p == MAP_FAILED) {
      WARN("IPC: mmap of %llu bytes failed: %s", (unsigned long long)h->size, strerror(errno));
    } else {
      const simWindowHeader* hdr = p;
      if (hdr->magic != SIM_WINDOW_MAGIC || hdr->nonce != h->nonce || hdr->ownerPid != h->pid) {
        WARN("IPC: stale handle (process %d no longer owns that window)", (int)h->pid);
        munmap(p, h->size);
      } else {
        peers[slot] = (simPeerWindow){0, h->pid, h->dev, h->nonce, p, h->size, 1};
        __atomic_store_n(&peers[slot].used, 1, __ATOMIC_RELEASE);
        if (slot >= peersHigh) __atomic_store_n(&peersHigh, slot + 1, __ATOMIC_RELEASE);
        *peer = slot;
        err = accSuccess;
        INFO(ACCL_DEV, "IPC: mapped window of device %d of process %d at %p", (int)h->dev, (int)h->pid, p);
      }
    }
  }
  if (fd >= 0) close(fd);
  pthread_mutex_unlock(&ipcLock);
  return err;
}

/* Drop one reference of peer window i; ipcLock held. */
static void peerRelease(int i) {
  if (--peers[i].refs > 0) return;
  __atomic_store_n(&peers[i].used, 0, __ATOMIC_RELEASE);
  munmap(peers[i].local, peers[i].size);
}

accError_t simWindowOpen(const accDevWindow* w, void** localBase) {
  simHandle h;
  memcpy(&h, w->handle.reserved, sizeof(h));
  int peer;
  accError_t err = peerOpen(&h, &peer);
  if (err == accSuccess) *localBase = peers[peer].local;
  return err;
}

accError_t simWindowClose(void* localBase) {
  pthread_mutex_lock(&ipcLock);
  accError_t err = accErrorInvalidValue;
  for (int i = 0; i < SIM_MAX_PEERS; i++)
    if (peers[i].used && peers[i].local == localBase) {
      peerRelease(i);
      err = accSuccess;
      break;
    }
  pthread_mutex_unlock(&ipcLock);
  return err;
}

accError_t simIpcGetHandle(accIpcMemHandle_t* handle, void* devPtr) {
  accPointerAttributes a;
  accError_t err = simPtrQuery(devPtr, 1, &a);
  if (err != accSuccess) return err;
  if (a.type != accMemoryTypeDevice) return accErrorInvalidDevicePointer;
  accDevWindow w;
  err = simWindowExport(a.device, &w);
  if (err != accSuccess) return err;
  if ((uintptr_t)a.basePointer < w.base || (uintptr_t)a.basePointer >= w.base + w.size)
    return accErrorInvalidValue; /* memory imported from a peer cannot be re-exported */
  simHandle h;
  memcpy(&h, w.handle.reserved, sizeof(h));
  h.offset = (uintptr_t)a.basePointer - w.base;
  h.length = a.allocationSize;
  memset(handle, 0, sizeof(*handle));
  memcpy(handle->reserved, &h, sizeof(h));
  return accSuccess;
}

accError_t simIpcOpenHandle(void** devPtr, const accIpcMemHandle_t* handle) {
  simHandle h;
  memcpy(&h, handle->reserved, sizeof(h));
  if (h.length == 0 || h.offset < SIM_HEADER_BYTES || h.offset + h.length > h.size)
    return accErrorInvalidResourceHandle;
  int peer;
  accError_t err = peerOpen(&h, &peer);
  if (err != accSuccess) return err;
  pthread_mutex_lock(&ipcLock);
  char* p = peers[peer].local + h.offset;
  int slot = -1;
  for (int i = 0; i < SIM_MAX_IMPORTS; i++) {
    if (imports[i].refs > 0 && imports[i].ptr == p && imports[i].peer == peer) {
      slot = i;
      break;
    }
    if (slot < 0 && imports[i].refs == 0) slot = i;
  }
  if (slot < 0) {
    peerRelease(peer);
    err = accErrorMapFailed;
  } else {
    if (imports[slot].refs == 0) imports[slot] = (simImport){p, h.length, peer, 0};
    imports[slot].refs++;
    *devPtr = p;
  }
  pthread_mutex_unlock(&ipcLock);
  return err;
}

accError_t simIpcCloseHandle(void* devPtr) {
  pthread_mutex_lock(&ipcLock);
  accError_t err = accErrorInvalidDevicePointer;
  for (int i = 0; i < SIM_MAX_IMPORTS; i++)
    if (imports[i].refs > 0 && imports[i].ptr == devPtr) {
      imports[i].refs--;
      peerRelease(imports[i].peer);
      err = accSuccess;
      break;
    }
  pthread_mutex_unlock(&ipcLock);
  return err;
}

int simIpcLookup(const void* ptr, size_t len, accPointerAttributes* attr, accError_t* err) {
  const char* p = ptr;
  int found = 0;
  pthread_mutex_lock(&ipcLock);
  for (int i = 0; i < SIM_MAX_IMPORTS && !found; i++)
    if (imports[i].refs > 0 && p >= imports[i].ptr && p < imports[i].ptr + imports[i].len) {
      *attr = (accPointerAttributes){accMemoryTypeDevice, peers[imports[i].peer].dev, (void*)ptr, imports[i].ptr,
                                     imports[i].len};
      *err = len > (size_t)(imports[i].ptr + imports[i].len - p) ? accErrorIllegalAddress : accSuccess;
      found = 1;
    }
  for (int i = 0; i < SIM_MAX_PEERS && !found; i++)
    if (peers[i].used && p >= peers[i].local && p < peers[i].local + peers[i].size) {
      /* A whole mapped window: the peer's allocation table is not visible here. */
      *attr = (accPointerAttributes){accMemoryTypeDevice, peers[i].dev, (void*)ptr, peers[i].local, peers[i].size};
      *err = len > (size_t)(peers[i].local + peers[i].size - p) ? accErrorIllegalAddress : accSuccess;
      found = 1;
    }
  pthread_mutex_unlock(&ipcLock);
  return found;
}

void simIpcResetAfterFork(void) {
  for (int i = 0; i < SIM_MAX_PEERS; i++)
    if (peers[i].used) munmap(peers[i].local, peers[i].size);
  memset(peers, 0, sizeof(peers));
  memset(imports, 0, sizeof(imports));
  peersHigh = 0;
  pthread_mutex_init(&ipcLock, NULL);
}

/* ---------------------------------------------------------------- doorbells */

void simRing(simWindowHeader* h) {
  /* The work was stored before this fence. Pairs with the engine's
   * "sleepers++, then one more pass over its streams" (both seq_cst): either
   * that pass sees the work, or we see the sleeper and bump + wake. No
   * sleeper, no write: the doorbell line is not bounced between cores on
   * every step of a busy collective. */
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (__atomic_load_n(&h->sleepers, __ATOMIC_SEQ_CST)) {
    __atomic_fetch_add(&h->doorbell, 1, __ATOMIC_SEQ_CST);
    simFutexWake(&h->doorbell);
  }
}

/* Header of the window (own device or mapped peer) containing addr, or NULL. */
static simWindowHeader* headerOf(const void* addr) {
  const char* p = addr;
  for (int i = 0; i < simNumDevices; i++) {
    simDevice* d = &simDevices[i];
    if (__atomic_load_n(&d->ready, __ATOMIC_ACQUIRE) && p >= d->base && p < d->base + d->size) return d->hdr;
  }
  int high = __atomic_load_n(&peersHigh, __ATOMIC_ACQUIRE);
  for (int i = 0; i < high; i++)
    if (__atomic_load_n(&peers[i].used, __ATOMIC_ACQUIRE) && p >= peers[i].local && p < peers[i].local + peers[i].size)
      return (simWindowHeader*)peers[i].local;
  return NULL;
}

void simDoorbell(const void* addr) {
  simWindowHeader* h = headerOf(addr);
  if (h) {
    simRing(h);
    return;
  }
  /* Host memory: any local engine may be waiting on it. */
  for (int i = 0; i < simNumDevices; i++)
    if (__atomic_load_n(&simDevices[i].ready, __ATOMIC_ACQUIRE)) simRing(simDevices[i].hdr);
}

void simSignal(volatile uint64_t* flag, uint64_t value) {
  __atomic_store_n(flag, value, __ATOMIC_RELEASE);
  simDoorbell((const void*)flag);
}
