/* core.h - the one error idiom and common helpers used by every module. */
#ifndef ACCL_CORE_H_
#define ACCL_CORE_H_

#include <stddef.h>
#include <stdint.h>
#include "acc_ccl.h"
#include "core/log.h"

#define ACCL_EXPORT __attribute__((visibility("default")))

/* Propagate a failing acclResult_t to the caller, leaving a TRACE breadcrumb. */
#define ACCLCHECK(call)                                                   \
  do {                                                                    \
    acclResult_t accl_res_ = (call);                                      \
    if (accl_res_ != acclSuccess) {                                       \
      TRACE(ACCL_ALL, "%s:%d -> %d", __FILE__, __LINE__, (int)accl_res_); \
      return accl_res_;                                                   \
    }                                                                     \
  } while (0)

/* Same, but store the result in `res` and jump to `label` for clean-up. */
#define ACCLCHECKGOTO(call, res, label)                               \
  do {                                                                \
    (res) = (call);                                                   \
    if ((res) != acclSuccess) {                                       \
      TRACE(ACCL_ALL, "%s:%d -> %d", __FILE__, __LINE__, (int)(res)); \
      goto label;                                                     \
    }                                                                 \
  } while (0)

/* A system call that returns -1 on failure: WARN with errno and return acclSystemError. */
#define SYSCHECK(call, name)                          \
  do {                                                \
    if ((call) == -1) {                               \
      WARN("%s failed: %s", (name), strerror(errno)); \
      return acclSystemError;                         \
    }                                                 \
  } while (0)

/* Map an accelerator runtime error into the library's result space. */
#define ACCCHECK(call)                                                       \
  do {                                                                       \
    accError_t acc_err_ = (call);                                            \
    if (acc_err_ != accSuccess) {                                            \
      WARN("device call %s failed: %s", #call, accGetErrorString(acc_err_)); \
      return acclDeviceError;                                                \
    }                                                                        \
  } while (0)

/* A failure: WARN (which also keeps the text for acclGetLastError) and
 * return `res`. The message names what failed and which rank, address or
 * argument. */
#define ACCL_ERROR(res, ...) \
  do {                       \
    WARN(__VA_ARGS__);       \
    return (res);            \
  } while (0)

/* Bad input from the user: the same, by another name so that argument checks
 * read as such (acclInvalidArgument / acclInvalidUsage). */
#define ACCL_ARG_ERROR(res, ...) ACCL_ERROR(res, __VA_ARGS__)

/* The thread's last-error text (acclGetLastError). Every WARN sets it. */
void acclSetLastError(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
const char* acclLastErrorText(void);

/* Size in bytes of one element of a datatype; 0 for an unknown type. */
static inline size_t acclTypeSize(acclDataType_t type) {
  static const unsigned char sizes[acclNumTypes] = {1, 1, 4, 4, 8, 8, 2, 4, 8, 2, 1, 1};
  return (unsigned)type < acclNumTypes ? sizes[type] : 0;
}
const char* acclTypeName(acclDataType_t type);
const char* acclOpName(acclRedOp_t op);

/* Monotonic clock in nanoseconds. */
uint64_t acclClockNs(void);

#define ACCL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ACCL_MAX(a, b) ((a) > (b) ? (a) : (b))
#define ACCL_DIV_UP(x, y) (((x) + (y)-1) / (y))
#define ACCL_ALIGN_UP(x, a) (ACCL_DIV_UP((x), (a)) * (a))

#endif
