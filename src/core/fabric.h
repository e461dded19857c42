/*
 * core/fabric.h - libfabric, loaded only when it is needed, and kept from
 * changing the signal dispositions of the process.
 *
 * libacc-ccl does not link libfabric: linking it made every process that
 * loads acc-ccl (import acc_ccl_torch included) run the constructors of
 * libfabric's dependencies, and libinfinipath (psm provider) installs
 * handlers for SIGINT, SIGTERM, SIGSEGV, SIGBUS, SIGABRT and SIGILL that call
 * exit(). acclFabricLoad() dlopens it on first use (the ofi transport, or
 * topology logging at INFO), with IPATH_NO_BACKTRACE=1 unless the user set
 * that variable. Providers also install handlers when endpoints open (the
 * shm provider: SIGINT, SIGTERM, SIGSEGV, SIGBUS); every call that can do so
 * runs between acclFabricGuardEnter / acclFabricGuardLeave, which put back
 * any disposition that changed in between.
 *
 * Include this header instead of <rdma/fabric.h>: the six libfabric
 * functions the library calls are redirected to the loaded library. The
 * other fi_* calls are inline wrappers over the objects' operation tables.
 */
#ifndef ACCL_CORE_FABRIC_H_
#define ACCL_CORE_FABRIC_H_

#include <rdma/fabric.h>
#include <rdma/fi_errno.h>
#include "core/core.h"

typedef struct {
  int (*getinfo)(uint32_t version, const char* node, const char* service, uint64_t flags, const struct fi_info* hints,
                 struct fi_info** info);
  void (*freeinfo)(struct fi_info* info);
  struct fi_info* (*dupinfo)(const struct fi_info* info);
  int (*fabric)(struct fi_fabric_attr* attr, struct fid_fabric** fabric, void* context);
  const char* (*strerror)(int errnum);
  char* (*tostr)(const void* data, enum fi_type datatype);
} acclFabricApi;

extern acclFabricApi acclFabric;

/* Loads libfabric once per process (later calls return the first answer).
 * acclSystemError, with the reason in the last error, when it cannot. */
acclResult_t acclFabricLoad(void);

/* Bracket local libfabric calls that may install signal handlers (endpoint
 * and provider set-up). Serialised process-wide; never wait on other ranks
 * in between. Leave restores every disposition changed since Enter. */
void acclFabricGuardEnter(void);
void acclFabricGuardLeave(void);

#define fi_getinfo acclFabric.getinfo
#define fi_freeinfo acclFabric.freeinfo
#define fi_dupinfo acclFabric.dupinfo
#undef fi_allocinfo
#define fi_allocinfo() acclFabric.dupinfo(NULL)
#define fi_fabric acclFabric.fabric
#define fi_strerror acclFabric.strerror
#define fi_tostr acclFabric.tostr

#endif
