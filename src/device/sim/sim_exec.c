/* sim_exec.c - the DMA queues and the reduction engine: synchronous execution
 * of COPY / MEMSET / REDUCE descriptors, and the hardware-like counters. */
#include <string.h>
#include "device/sim/reduce.h"
#include "device/sim/sim.h"

/* Descriptors below this many bytes are counted but not timed: two clock reads
 * would cost more than the work itself. */
#define SIM_TIMED_BYTES 4096

static size_t descBytes(const accDevDesc* desc) {
  switch (desc->type) {
    case ACCDEV_DESC_COPY: return desc->u.copy.bytes;
    case ACCDEV_DESC_MEMSET: return desc->u.memset.bytes;
    case ACCDEV_DESC_REDUCE: return desc->u.reduce.count * acclTypeSize((acclDataType_t)desc->u.reduce.dtype);
    default: return desc->u.ll.bytes;
  }
}

accError_t simExec(int dev, const accDevDesc* desc) {
  simDevice* d = &simDevices[dev];
  int timed = descBytes(desc) >= SIM_TIMED_BYTES;
  uint64_t t0 = timed ? acclClockNs() : 0;
  simCounters* c = &d->counters;
  switch (desc->type) {
    case ACCDEV_DESC_COPY:
      /* memmove: a DMA queue copes with overlapping ranges */
      if (desc->u.copy.bytes) memmove(desc->u.copy.dst, desc->u.copy.src, desc->u.copy.bytes);
      __atomic_add_fetch(&c->bytesCopied, desc->u.copy.bytes, __ATOMIC_RELAXED);
      break;
    case ACCDEV_DESC_MEMSET:
      if (desc->u.memset.bytes) memset(desc->u.memset.dst, desc->u.memset.value, desc->u.memset.bytes);
      __atomic_add_fetch(&c->bytesCopied, desc->u.memset.bytes, __ATOMIC_RELAXED);
      break;
    case ACCDEV_DESC_REDUCE: {
      const struct accDevReduce* r = &desc->u.reduce;
      simReduce(r);
      __atomic_add_fetch(&c->bytesReduced, (uint64_t)r->nsrc * r->count * acclTypeSize((acclDataType_t)r->dtype),
                         __ATOMIC_RELAXED);
      break;
    }
    case ACCDEV_DESC_LL_PACK:
      simLLPack(desc->u.ll.lines, desc->u.ll.src, desc->u.ll.bytes, desc->u.ll.flag);
      __atomic_add_fetch(&c->bytesCopied, desc->u.ll.bytes, __ATOMIC_RELAXED);
      break;
    case ACCDEV_DESC_LL_UNPACK:
      simLLUnpack(desc->u.ll.dst, desc->u.ll.lines, desc->u.ll.bytes);
      __atomic_add_fetch(&c->bytesCopied, desc->u.ll.bytes, __ATOMIC_RELAXED);
      break;
    default: return accErrorInvalidValue;
  }
  if (timed) {
    uint64_t dt = acclClockNs() - t0;
    __atomic_add_fetch(desc->type == ACCDEV_DESC_REDUCE ? &c->reduceBusyNs : &c->dmaBusyNs, dt, __ATOMIC_RELAXED);
    __atomic_add_fetch(&c->busyNs, dt, __ATOMIC_RELAXED);
  }
  __atomic_add_fetch(&c->descriptors, 1, __ATOMIC_RELAXED);
  return accSuccess;
}

accError_t simGetCounters(int dev, accDeviceCounters* out) {
  const simCounters* c = &simDevices[dev].counters;
  out->bytesCopied = __atomic_load_n(&c->bytesCopied, __ATOMIC_RELAXED);
  out->bytesReduced = __atomic_load_n(&c->bytesReduced, __ATOMIC_RELAXED);
  out->descriptors = __atomic_load_n(&c->descriptors, __ATOMIC_RELAXED);
  out->busyNs = __atomic_load_n(&c->busyNs, __ATOMIC_RELAXED);
  out->dmaBusyNs = __atomic_load_n(&c->dmaBusyNs, __ATOMIC_RELAXED);
  out->reduceBusyNs = __atomic_load_n(&c->reduceBusyNs, __ATOMIC_RELAXED);
  return accSuccess;
}
