/* errors.c - result strings, last-error text, datatype tables, clock. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include "core/core.h"

static __thread char lastError[1024];

void acclSetLastError(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(lastError, sizeof(lastError), fmt, ap);
  va_end(ap);
}

const char* acclLastErrorText(void) { return lastError; }

ACCL_EXPORT const char* acclGetErrorString(acclResult_t r) {
  switch (r) {
    case acclSuccess: return "no error";
    case acclDeviceError: return "accelerator runtime error";
    case acclSystemError: return "unhandled system error (network, memory, system call)";
    case acclInternalError: return "internal error - please report this issue";
    case acclInvalidArgument: return "invalid argument";
    case acclInvalidUsage: return "invalid usage";
    case acclRemoteError: return "remote process exited or there was a network error";
    case acclInProgress: return "operation in progress";
    case acclTimeout: return "timeout: a peer did not answer in time";
    default: return "unknown result code";
  }
}

ACCL_EXPORT acclResult_t acclGetVersion(int* version) {
  if (version == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "acclGetVersion: argument version is NULL");
  *version = ACCL_VERSION_CODE;
  return acclSuccess;
}

const char* acclTypeName(acclDataType_t t) {
  static const char* names[] = {"int8", "uint8", "int32",  "uint32",   "int64",  "uint64",
                                "half", "float", "double", "bfloat16", "f8e4m3", "f8e5m2"};
  return ((unsigned)t < acclNumTypes) ? names[t] : "unknown";
}

const char* acclOpName(acclRedOp_t op) {
  static const char* names[] = {"sum", "prod", "max", "min", "avg"};
  if ((unsigned)op < acclNumOps) return names[op];
  return "premulsum";
}

uint64_t acclClockNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
