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

static acclResult_t checkStream(const char* fn, const struct acclComm* comm, accStream_t stream) {
  int dev;
  accError_t e = accDevStreamDevice(stream, &dev);
  if (e != accSuccess) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument stream is not a valid stream", fn);
  if (dev != comm->device)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument stream belongs to device %d, the communicator to device %d", fn,
                   dev, comm->device);
  return acclSuccess;
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
    /* acclBcast has one buffer argument, buff */
    int bcast = strcmp(a->fn, "acclBcast") == 0;
    const char *sname = bcast ? "buff" : "sendbuff", *rname = bcast ? "buff" : "recvbuff";
    if (needSend && a->sendbuff == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument %s is NULL", a->fn, sname);
    if (needRecv && a->recvbuff == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument %s is NULL", a->fn, rname);
    size_t n = (size_t)comm->nranks, bytes = a->count * esize;
    size_t sendBytes = bytes * (a->func == ACCL_FUNC_REDUCESCATTER || a->func == ACCL_FUNC_ALLTOALL ? n : 1);
    size_t recvBytes = bytes * (a->func == ACCL_FUNC_ALLGATHER || a->func == ACCL_FUNC_ALLTOALL ? n : 1);
    if (needSend) ACCLCHECK(checkBuffer(a, sname, a->sendbuff, sendBytes));
    if (needRecv) ACCLCHECK(checkBuffer(a, rname, a->recvbuff, recvBytes));
  }
  return checkStream(a->fn, comm, stream);
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

/* Gather / Scatter (NCCL 2.28): the root's side moves nranks blocks of count
 * elements, every other rank's one block; built as the sends and receives of
 * one group, as NCCL does, so they run on the p2p lanes and nest in a user's
 * group like any send or receive. comm has been entered by the caller. */
static acclResult_t validateRooted(const callArgs* a, struct acclComm* comm, accStream_t stream, int gather) {
  size_t esize = acclTypeSize(a->dtype);
  if (esize == 0) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument datatype (%d) is unknown", a->fn, (int)a->dtype);
  if (a->count > SIZE_MAX / esize / (size_t)comm->nranks)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument count (%zu) overflows the buffer size for %s", a->fn, a->count,
                   acclTypeName(a->dtype));
  if (a->root < 0 || a->root >= comm->nranks)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument root (%d) is not a rank of the communicator (0..%d)", a->fn,
                   a->root, comm->nranks - 1);
  if (a->count > 0) {
    int isRoot = a->root == comm->rank;
    size_t block = a->count * esize, all = block * (size_t)comm->nranks;
    /* gather: every rank sends a block, the root receives all; scatter: the converse */
    int needSend = gather || isRoot, needRecv = !gather || isRoot;
    if (needSend && a->sendbuff == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument sendbuff is NULL", a->fn);
    if (needRecv && a->recvbuff == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument recvbuff is NULL", a->fn);
    if (needSend) ACCLCHECK(checkBuffer(a, "sendbuff", a->sendbuff, gather ? block : all));
    if (needRecv) ACCLCHECK(checkBuffer(a, "recvbuff", a->recvbuff, gather ? all : block));
  }
  return checkStream(a->fn, comm, stream);
}

static acclResult_t submitP2p(struct acclComm* comm, accStream_t stream, acclFunc func, const void* sbuf, void* rbuf,
                              const callArgs* a, int peer) {
  acclTask t;
  memset(&t, 0, sizeof(t));
  t.func = func;
  t.sendbuff = sbuf;
  t.recvbuff = rbuf;
  t.count = a->count;
  t.dtype = a->dtype;
  t.peer = peer;
  t.op = ACCDEV_OP_SUM;
  return acclGroupSubmit(comm, stream, &t);
}

static acclResult_t rootedCall(const callArgs* a, struct acclComm* comm, accStream_t stream, int gather) {
  acclResult_t res = acclCommEnter(comm, a->fn);
  if (res != acclSuccess) {
    acclGroupFail(res);
    return res;
  }
  res = validateRooted(a, comm, stream, gather);
  if (res != acclSuccess) {
    acclCommLeave(comm);
    acclGroupFail(res);
    return res;
  }
  int saved = acclLogDevice;
  acclLogDevice = comm->device;
  unsigned long opCount = (unsigned long)__atomic_fetch_add(&comm->opCount, 1, __ATOMIC_RELAXED);
  INFO(ACCL_COLL,
       "%s: opCount %lx sendbuff %p recvbuff %p count %zu datatype %d op %d root %d comm %p [nranks=%d] stream %p",
       a->fn + 4, opCount, a->sendbuff, a->recvbuff, a->count, (int)a->dtype, (int)a->op, a->root, (void*)comm,
       comm->nranks, (void*)stream);
  if (a->count > 0) {
    size_t block = a->count * acclTypeSize(a->dtype);
    int isRoot = a->root == comm->rank;
    acclGroupStart();
    if (gather) {
      res = submitP2p(comm, stream, ACCL_FUNC_SEND, a->sendbuff, NULL, a, a->root);
      for (int p = 0; isRoot && p < comm->nranks && res == acclSuccess; p++)
        res = submitP2p(comm, stream, ACCL_FUNC_RECV, NULL, (char*)a->recvbuff + (size_t)p * block, a, p);
    } else {
      for (int p = 0; isRoot && p < comm->nranks && res == acclSuccess; p++)
        res = submitP2p(comm, stream, ACCL_FUNC_SEND, (const char*)a->sendbuff + (size_t)p * block, NULL, a, p);
      if (res == acclSuccess) res = submitP2p(comm, stream, ACCL_FUNC_RECV, NULL, a->recvbuff, a, a->root);
    }
    if (res != acclSuccess) acclGroupFail(res);
    acclResult_t endRes = acclGroupEnd(); /* nested in a user's group: launched at the user's acclGroupEnd */
    if (res == acclSuccess) res = endRes;
  }
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

/* NCCL's in-place broadcast: acclBroadcast with sendbuff == recvbuff == buff. */
ACCL_EXPORT acclResult_t acclBcast(void* buff, size_t count, acclDataType_t datatype, int root, acclComm_t comm,
                                   accStream_t stream) {
  callArgs a = {"acclBcast", ACCL_FUNC_BROADCAST, buff, buff, count, datatype, acclSum, 0, root, -1};
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

ACCL_EXPORT acclResult_t acclAlltoAll(const void* sendbuff, void* recvbuff, size_t count, acclDataType_t datatype,
                                      acclComm_t comm, accStream_t stream) {
  callArgs a = {"acclAlltoAll", ACCL_FUNC_ALLTOALL, sendbuff, recvbuff, count, datatype, acclSum, 0, 0, -1};
  return call(&a, comm, stream);
}

ACCL_EXPORT acclResult_t acclGather(const void* sendbuff, void* recvbuff, size_t count, acclDataType_t datatype,
                                    int root, acclComm_t comm, accStream_t stream) {
  callArgs a = {"acclGather", ACCL_FUNC_SEND, sendbuff, recvbuff, count, datatype, acclSum, 0, root, -1};
  return rootedCall(&a, comm, stream, 1);
}

ACCL_EXPORT acclResult_t acclScatter(const void* sendbuff, void* recvbuff, size_t count, acclDataType_t datatype,
                                     int root, acclComm_t comm, accStream_t stream) {
  callArgs a = {"acclScatter", ACCL_FUNC_RECV, sendbuff, recvbuff, count, datatype, acclSum, 0, root, -1};
  return rootedCall(&a, comm, stream, 0);
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
