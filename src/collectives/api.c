/* api.c - the public collective and point-to-point entry points: validate
 * every argument, describe the call as a task, hand it to the group layer. */
#include <string.h>
#include "collectives/coll.h"
#include "collectives/group.h"
#include "collectives/redop.h"

typedef struct {
  const char* fn;
  acclFunc func;
  const void* sendbuff;
  void* recvbuff;
  size_t count;
  acclDataType_t dtype;
  acclRedOp_t op;
  int hasOp, root, peer;
} callArgs;

/* How many elements of count the biggest buffer of the call holds (per rank x nranks). */
static size_t bufferFactor(acclFunc f, int nranks) {
  return (f == ACCL_FUNC_ALLGATHER || f == ACCL_FUNC_REDUCESCATTER || f == ACCL_FUNC_ALLTOALL) ? (size_t)nranks : 1;
}

/* No buffer of this many bytes exists in a 47-bit (x86-64, arm64 4-level)
 * user address space: such a count is refused whatever the memory. */
#define MAX_BUFFER_BYTES (1ull << 47)

/* A device buffer must lie inside one live allocation of the device's
 * allocation table before anything is read or written (host memory cannot be
 * checked). */
static acclResult_t checkBuffer(const callArgs* a, const char* arg, const void* p, size_t bytes) {
  if (bytes >= MAX_BUFFER_BYTES)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument count (%zu of %s) makes %s %zu bytes: no such buffer can exist",
                   a->fn, a->count, acclTypeName(a->dtype), arg, bytes);
  accPointerAttributes attr;
  if (accDevPtrRange(p, bytes, &attr) == accSuccess) return acclSuccess;
  if (attr.type == accMemoryTypeDevice && attr.basePointer != NULL)
    ACCL_ARG_ERROR(acclInvalidArgument,
                   "%s: argument %s=%p: %zu bytes (count %zu of %s) run past the end of its device allocation "
                   "(%zu bytes at %p)",
                   a->fn, arg, p, bytes, a->count, acclTypeName(a->dtype), attr.allocationSize, attr.basePointer);
  ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument %s=%p is device memory that is not allocated (freed?)", a->fn, arg,
                 p);
}

/* comm has been entered (acclCommEnter) by the caller. */
static acclResult_t validate(const callArgs* a, struct acclComm* comm, accStream_t stream) {
  size_t esize = acclTypeSize(a->dtype);
  if (esize == 0) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument datatype (%d) is unknown", a->fn, (int)a->dtype);
  size_t factor = bufferFactor(a->func, comm->nranks);
  if (a->count > SIZE_MAX / esize / factor)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument count (%zu) overflows the buffer size for %s", a->fn, a->count,
                   acclTypeName(a->dtype));
  if (a->func == ACCL_FUNC_BROADCAST || a->func == ACCL_FUNC_REDUCE) {
    if (a->root < 0 || a->root >= comm->nranks)
      ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument root (%d) is not a rank of the communicator (0..%d)", a->fn,
                     a->root, comm->nranks - 1);
  }
  if (a->func == ACCL_FUNC_SEND || a->func == ACCL_FUNC_RECV) {
    if (a->peer < 0 || a->peer >= comm->nranks)
      ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument peer (%d) is not a rank of the communicator (0..%d)", a->fn,
                     a->peer, comm->nranks - 1);
  }
  if (a->count > 0) {
    int needSend = a->func != ACCL_FUNC_RECV && (a->func != ACCL_FUNC_BROADCAST || a->root == comm->rank);
    int needRecv = a->func != ACCL_FUNC_SEND && (a->func != ACCL_FUNC_REDUCE || a->root == comm->rank);
    if (needSend && a->sendbuff == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument sendbuff is NULL", a->fn);
    if (needRecv && a->recvbuff == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument recvbuff is NULL", a->fn);
    size_t n = (size_t)comm->nranks, bytes = a->count * esize;
    size_t sendBytes = bytes * (a->func == ACCL_FUNC_REDUCESCATTER || a->func == ACCL_FUNC_ALLTOALL ? n : 1);
    size_t recvBytes = bytes * (a->func == ACCL_FUNC_ALLGATHER || a->func == ACCL_FUNC_ALLTOALL ? n : 1);
    if (needSend) ACCLCHECK(checkBuffer(a, "sendbuff", a->sendbuff, sendBytes));
    if (needRecv) ACCLCHECK(checkBuffer(a, "recvbuff", a->recvbuff, recvBytes));
  }
  int dev;
  accError_t e = accDevStreamDevice(stream, &dev);
  if (e != accSuccess) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument stream is not a valid stream", a->fn);
  if (dev != comm->device)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument stream belongs to device %d, the communicator to device %d",
                   a->fn, dev, comm->device);
  return acclSuccess;
}

static acclResult_t call(const callArgs* a, struct acclComm* comm, accStream_t stream) {
  int saved = acclLogDevice;
  /* entered: an acclCommAbort from another thread waits until this call leaves */
  acclResult_t res = acclCommEnter(comm, a->fn);
  if (res != acclSuccess) {
    acclGroupFail(res);
    return res;
  }
  res = validate(a, comm, stream);
  if (res != acclSuccess) {
    acclCommLeave(comm);
    acclGroupFail(res);
    return res;
  }
  acclLogDevice = comm->device;
  /* NCCL's per-call lines, field for field (send/recv name the peer under P2P) */
  unsigned long opCount = (unsigned long)__atomic_fetch_add(&comm->opCount, 1, __ATOMIC_RELAXED);
  if (a->func == ACCL_FUNC_SEND || a->func == ACCL_FUNC_RECV)
    INFO(ACCL_P2P,
         "%s: opCount %lx sendbuff %p recvbuff %p count %zu datatype %d op %d peer %d comm %p [nranks=%d] stream %p",
         a->fn + 4, opCount, a->sendbuff, a->recvbuff, a->count, (int)a->dtype, (int)a->op, a->peer, (void*)comm,
         comm->nranks, (void*)stream);
  else
    INFO(ACCL_COLL,
         "%s: opCount %lx sendbuff %p recvbuff %p count %zu datatype %d op %d root %d comm %p [nranks=%d] stream %p",
         a->fn + 4, opCount, a->sendbuff, a->recvbuff, a->count, (int)a->dtype, (int)a->op, a->root, (void*)comm,
         comm->nranks, (void*)stream);
  acclTask t;
  memset(&t, 0, sizeof(t));
  t.func = a->func;
  t.sendbuff = a->sendbuff;
  t.recvbuff = a->recvbuff;
  t.count = a->count;
  t.dtype = a->dtype;
  t.root = a->root;
  t.peer = a->peer;
  t.sigOp = !a->hasOp ? ACCL_SIG_OP_NONE : a->op < acclNumOps ? (uint8_t)(a->op + 1) : ACCL_SIG_OP_PREMUL;
  if (a->hasOp)
    res = acclRedOpResolve(comm, a->op, a->dtype, &t, a->fn);
  else
    t.op = ACCDEV_OP_SUM;
  if (res == acclSuccess && a->count > 0) res = acclGroupSubmit(comm, stream, &t);
  if (res != acclSuccess) acclGroupFail(res);
  acclCommLeave(comm);
  acclLogDevice = saved;
  return res;
}

ACCL_EXPORT acclResult_t acclAllReduce(const void* sendbuff, void* recvbuff, size_t count, acclDataType_t datatype,
                                       acclRedOp_t op, acclComm_t comm, accStream_t stream) {
  callArgs a = {"acclAllReduce", ACCL_FUNC_ALLREDUCE, sendbuff, recvbuff, count, datatype, op, 1, 0, -1};
  return call(&a, comm, stream);
}

ACCL_EXPORT acclResult_t acclBroadcast(const void* sendbuff, void* recvbuff, size_t count, acclDataType_t datatype,
                                       int root, acclComm_t comm, accStream_t stream) {
  callArgs a = {"acclBroadcast", ACCL_FUNC_BROADCAST, sendbuff, recvbuff, count, datatype, acclSum, 0, root, -1};
  return call(&a, comm, stream);
}

ACCL_EXPORT acclResult_t acclReduce(const void* sendbuff, void* recvbuff, size_t count, acclDataType_t datatype,
                                    acclRedOp_t op, int root, acclComm_t comm, accStream_t stream) {
  callArgs a = {"acclReduce", ACCL_FUNC_REDUCE, sendbuff, recvbuff, count, datatype, op, 1, root, -1};
  return call(&a, comm, stream);
}

ACCL_EXPORT acclResult_t acclAllGather(const void* sendbuff, void* recvbuff, size_t sendcount, acclDataType_t datatype,
                                       acclComm_t comm, accStream_t stream) {
  callArgs a = {"acclAllGather", ACCL_FUNC_ALLGATHER, sendbuff, recvbuff, sendcount, datatype, acclSum, 0, 0, -1};
  return call(&a, comm, stream);
}

ACCL_EXPORT acclResult_t acclReduceScatter(const void* sendbuff, void* recvbuff, size_t recvcount,
                                           acclDataType_t datatype, acclRedOp_t op, acclComm_t comm,
                                           accStream_t stream) {
  callArgs a = {"acclReduceScatter", ACCL_FUNC_REDUCESCATTER, sendbuff, recvbuff, recvcount, datatype, op, 1, 0, -1};
  return call(&a, comm, stream);
}

ACCL_EXPORT acclResult_t acclAllToAll(const void* sendbuff, void* recvbuff, size_t count, acclDataType_t datatype,
                                      acclComm_t comm, accStream_t stream) {
  callArgs a = {"acclAllToAll", ACCL_FUNC_ALLTOALL, sendbuff, recvbuff, count, datatype, acclSum, 0, 0, -1};
  return call(&a, comm, stream);
}

ACCL_EXPORT acclResult_t acclSend(const void* sendbuff, size_t count, acclDataType_t datatype, int peer,
                                  acclComm_t comm, accStream_t stream) {
  callArgs a = {"acclSend", ACCL_FUNC_SEND, sendbuff, NULL, count, datatype, acclSum, 0, 0, peer};
  return call(&a, comm, stream);
}

ACCL_EXPORT acclResult_t acclRecv(void* recvbuff, size_t count, acclDataType_t datatype, int peer, acclComm_t comm,
                                  accStream_t stream) {
  callArgs a = {"acclRecv", ACCL_FUNC_RECV, NULL, recvbuff, count, datatype, acclSum, 0, 0, peer};
  return call(&a, comm, stream);
}
