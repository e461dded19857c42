/* query.c - entry points that read a communicator (count, device, rank,
 * asynchronous error, last error) and acclGetUniqueId. */
#include "bootstrap/bootstrap.h"
#include "comm/comm.h"

ACCL_EXPORT acclResult_t acclGetUniqueId(acclUniqueId* uniqueId) {
  if (uniqueId == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "acclGetUniqueId: argument uniqueId is NULL");
  return acclBootstrapGetUniqueId(uniqueId);
}

ACCL_EXPORT acclResult_t acclCommGetAsyncError(acclComm_t comm, acclResult_t* asyncError) {
  if (asyncError == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "acclCommGetAsyncError: argument asyncError is NULL");
  acclResult_t res = acclCommCheckAlive(comm, "acclCommGetAsyncError");
  if (res != acclSuccess) return res;
  int state = __atomic_load_n(&comm->state, __ATOMIC_ACQUIRE);
  if (state != acclSuccess) {
    /* in progress, or the non-blocking creation / finalize failed: say what failed to this thread */
    if (state != acclInProgress) acclSetLastError("%s", comm->stateError);
    *asyncError = (acclResult_t)state;
    return acclSuccess;
  }
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

/* The communicator's asynchronous failure (recorded on whichever thread saw
 * it) names the root cause; otherwise the calling thread's last error. */
ACCL_EXPORT const char* acclGetLastError(acclComm_t comm) {
  const char* text = acclCommAsyncErrorText(comm);
  return text ? text : acclLastErrorText();
}
