/* bufreg.c - acclCommRegister / acclCommDeregister (a communicator's table of
 * registered buffers) and acclMemAlloc / acclMemFree. Registration is
 * recorded and checked (the buffer must be live memory; a handle is only
 * accepted by the communicator that made it, once); the transports do not
 * use it yet, so a registered buffer moves as an unregistered one does (as
 * NCCL falls back when a transport cannot register). */
#include <pthread.h>
#include <stdlib.h>
#include "comm/comm.h"

typedef struct acclBufReg {
  struct acclBufReg* next;
  const struct acclComm* comm;
  void* buff;
  size_t size;
} acclBufReg;

static pthread_mutex_t regLock = PTHREAD_MUTEX_INITIALIZER;
static acclBufReg* regs;

ACCL_EXPORT acclResult_t acclCommRegister(const acclComm_t comm, void* buff, size_t size, void** handle) {
  const char* fn = "acclCommRegister";
  if (handle == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument handle is NULL", fn);
  *handle = NULL;
  ACCLCHECK(acclCommCheck(comm, fn));
  if (buff == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument buff is NULL", fn);
  if (size == 0) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument size is 0", fn);
  accPointerAttributes attr;
  if (accDevPtrRange(buff, size, &attr) != accSuccess)
    ACCL_ARG_ERROR(acclInvalidArgument,
                   "%s: argument buff=%p (+%zu bytes, argument size) is not inside one live device "
                   "allocation",
                   fn, buff, size);
  acclBufReg* r = malloc(sizeof(*r));
  if (r == NULL) ACCL_ERROR(acclSystemError, "%s: out of memory", fn);
  *r = (acclBufReg){NULL, comm, buff, size};
  pthread_mutex_lock(&regLock);
  r->next = regs;
  regs = r;
  pthread_mutex_unlock(&regLock);
  INFO(ACCL_INIT, "%s: comm %p buff %p size %zu -> handle %p", fn, (void*)comm, buff, size, (void*)r);
  *handle = r;
  return acclSuccess;
}

ACCL_EXPORT acclResult_t acclCommDeregister(const acclComm_t comm, void* handle) {
  const char* fn = "acclCommDeregister";
  ACCLCHECK(acclCommCheck(comm, fn));
  if (handle == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument handle is NULL", fn);
  acclBufReg* found = NULL;
  int otherComm = 0;
  pthread_mutex_lock(&regLock);
  for (acclBufReg** p = &regs; *p; p = &(*p)->next) {
    if (*p != handle) continue;
    if ((*p)->comm != comm) {
      otherComm = 1;
      break;
    }
    found = *p;
    *p = found->next;
    break;
  }
  pthread_mutex_unlock(&regLock);
  if (otherComm)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument handle %p was registered with another communicator", fn, handle);
  if (found == NULL)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument handle %p is not a live registration (deregistered twice?)", fn,
                   handle);
  free(found);
  return acclSuccess;
}

void acclBufRegReleaseComm(const struct acclComm* comm) {
  pthread_mutex_lock(&regLock);
  for (acclBufReg** p = &regs; *p;) {
    if ((*p)->comm == comm) {
      acclBufReg* dead = *p;
      *p = dead->next;
      free(dead);
    } else {
      p = &(*p)->next;
    }
  }
  pthread_mutex_unlock(&regLock);
}

ACCL_EXPORT acclResult_t acclMemAlloc(void** ptr, size_t size) {
  if (ptr == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "acclMemAlloc: argument ptr is NULL");
  *ptr = NULL;
  if (size == 0) ACCL_ARG_ERROR(acclInvalidArgument, "acclMemAlloc: argument size is 0");
  accError_t e = accMalloc(ptr, size);
  if (e != accSuccess)
    ACCL_ERROR(e == accErrorMemoryAllocation ? acclSystemError : acclDeviceError,
               "acclMemAlloc: %zu bytes (argument size) of device memory: %s", size, accGetErrorString(e));
  return acclSuccess;
}

ACCL_EXPORT acclResult_t acclMemFree(void* ptr) {
  if (ptr == NULL) return acclSuccess;
  accError_t e = accFree(ptr);
  if (e != accSuccess)
    ACCL_ARG_ERROR(acclInvalidArgument, "acclMemFree: argument ptr=%p was not returned by acclMemAlloc: %s", ptr,
                   accGetErrorString(e));
  return acclSuccess;
}
