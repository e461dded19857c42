/* api_comm.c - public entry points for communicators: argument validation,
 * then the lifecycle code in comm.c / comm_split.c. */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "comm_internal.h"
#include "param.h"

/* Prefix the last error text (set by a helper) with the entry point and argument. */
static acclResult_t prefixLastError(acclResult_t res, const char* fn, const char* arg) {
  char text[768];
  snprintf(text, sizeof(text), "%s", acclLastErrorText());
  ACCL_ERROR(res, "%s: argument %s: %s", fn, arg, text);
}

ACCL_EXPORT acclResult_t acclGetUniqueId(acclUniqueId* uniqueId) {
  if (uniqueId == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "acclGetUniqueId: argument uniqueId is NULL");
  return acclBootstrapGetUniqueId(uniqueId);
}

ACCL_EXPORT acclResult_t acclCommInitRank(acclComm_t* comm, int nranks, acclUniqueId commId, int rank) {
  const char* fn = "acclCommInitRank";
  if (comm == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument comm is NULL", fn);
  *comm = NULL;
  if (nranks < 1 || nranks > ACCL_MAX_RANKS)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument nranks is %d, must be in [1, %d]", fn, nranks, ACCL_MAX_RANKS);
  if (rank < 0 || rank >= nranks)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument rank is %d, must be in [0, %d)", fn, rank, nranks);
  const char* pinned = acclParamStr("COMM_ID", NULL);
  if (pinned == NULL || *pinned == '\0') {
    /* Reject a corrupted id before any network activity. */
    struct sockaddr_in6 addr;
    uint8_t secret[ACCL_SECRET_BYTES];
    acclResult_t res = acclIdDecode(&commId, (struct sockaddr*)&addr, secret);
    if (res != acclSuccess) return prefixLastError(res, fn, "commId");
  }
  int device;
  accError_t err = accGetDevice(&device);
  if (err != accSuccess) {
    ACCL_ERROR(acclDeviceError, "%s: cannot read the current device: %s", fn, accGetErrorString(err));
  }
  int savedRank = acclLogRank;
  acclResult_t res = acclCommCreate(&commId, nranks, rank, device, NULL, 0, comm);
  acclLogRank = savedRank;
  return res;
}

ACCL_EXPORT acclResult_t acclCommDestroy(acclComm_t comm) {
  int savedRank = acclLogRank;
  acclResult_t res = acclCommRelease(comm, 0, "acclCommDestroy");
  acclLogRank = savedRank;
  return res;
}

ACCL_EXPORT acclResult_t acclCommAbort(acclComm_t comm) {
  int savedRank = acclLogRank;
  acclResult_t res = acclCommRelease(comm, 1, "acclCommAbort");
  acclLogRank = savedRank;
  return res;
}

ACCL_EXPORT acclResult_t acclCommGetAsyncError(acclComm_t comm, acclResult_t* asyncError) {
  if (asyncError == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "acclCommGetAsyncError: argument asyncError is NULL");
  acclResult_t res = acclCommCheck(comm, "acclCommGetAsyncError");
  if (res != acclSuccess) return res;
  *asyncError = (acclResult_t)__atomic_load_n(&comm->asyncError, __ATOMIC_ACQUIRE);
  return acclSuccess;
}

ACCL_EXPORT acclResult_t acclCommCount(const acclComm_t comm, int* count) {
  if (count == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "acclCommCount: argument count is NULL");
  ACCLCHECK(acclCommCheck(comm, "acclCommCount"));
  *count = comm->nranks;
  return acclSuccess;
}

ACCL_EXPORT acclResult_t acclCommDevice(const acclComm_t comm, int* device) {
  if (device == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "acclCommDevice: argument device is NULL");
  ACCLCHECK(acclCommCheck(comm, "acclCommDevice"));
  *device = comm->device;
  return acclSuccess;
}

ACCL_EXPORT acclResult_t acclCommUserRank(const acclComm_t comm, int* rank) {
  if (rank == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "acclCommUserRank: argument rank is NULL");
  ACCLCHECK(acclCommCheck(comm, "acclCommUserRank"));
  *rank = comm->rank;
  return acclSuccess;
}
