/* redop.c - reduction operators: the user's op to the engine's op, Avg as
 * NCCL defines it (floats: pre-multiply by 1/nranks then sum; integers: sum
 * then divide), and PreMulSum handles. */
#include <string.h>
#include "collectives/coll.h"
#include "collectives/redop.h"
#include "core/halfconv.h"

static int isFloat(acclDataType_t t) {
  return t == acclFloat16 || t == acclBfloat16 || t == acclFloat32 || t == acclFloat64 || t == acclFloat8e4m3 ||
         t == acclFloat8e5m2;
}
static int isSigned(acclDataType_t t) { return t == acclInt8 || t == acclInt32 || t == acclInt64; }

accDevScalar acclScalarFromBytes(acclDataType_t t, const void* p) {
  accDevScalar s;
  s.u = 0;
  switch (t) {
    case acclInt8: s.i = *(const int8_t*)p; break;
    case acclUint8: s.u = *(const uint8_t*)p; break;
    case acclInt32: s.i = *(const int32_t*)p; break;
    case acclUint32: s.u = *(const uint32_t*)p; break;
    case acclInt64: s.i = *(const int64_t*)p; break;
    case acclUint64: s.u = *(const uint64_t*)p; break;
    case acclFloat16: s.f = acclHalfToFloat(*(const uint16_t*)p); break;
    case acclBfloat16: s.f = acclBf16ToFloat(*(const uint16_t*)p); break;
    case acclFloat8e4m3: s.f = acclFp8e4m3ToFloat(*(const uint8_t*)p); break;
    case acclFloat8e5m2: s.f = acclFp8e5m2ToFloat(*(const uint8_t*)p); break;
    case acclFloat32: s.f = *(const float*)p; break;
    case acclFloat64: s.f = *(const double*)p; break;
    default: break;
  }
  return s;
}

acclResult_t acclRedOpResolve(struct acclComm* comm, acclRedOp_t op, acclDataType_t dtype, acclTask* t,
                              const char* fn) {
  t->premul = 0;
  t->postDiv = 0;
  t->scalarDev = NULL;
  t->scalar.u = 0;
  switch ((int)op) {
    case acclSum: t->op = ACCDEV_OP_SUM; return acclSuccess;
    case acclProd: t->op = ACCDEV_OP_PROD; return acclSuccess;
    case acclMax: t->op = ACCDEV_OP_MAX; return acclSuccess;
    case acclMin: t->op = ACCDEV_OP_MIN; return acclSuccess;
    case acclAvg:
      t->op = ACCDEV_OP_SUM;
      if (isFloat(dtype)) {
        t->premul = 1;
        t->scalar.f = 1.0 / comm->nranks;
      } else
        t->postDiv = comm->nranks > 1;
      return acclSuccess;
    default: break;
  }
  int slot = (int)op - acclNumOps;
  if (slot < 0 || slot >= ACCL_MAX_PREMUL_OPS || !comm->coll->premul[slot].inUse)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: argument op (%d) is not a valid reduction operation", fn, (int)op);
  const acclPremulOp* pm = &comm->coll->premul[slot];
  if (pm->dtype != dtype)
    ACCL_ARG_ERROR(acclInvalidArgument, "%s: op %d was created for datatype %s, not %s", fn, (int)op,
                   acclTypeName(pm->dtype), acclTypeName(dtype));
  t->op = ACCDEV_OP_SUM;
  t->premul = 1;
  t->scalar = pm->scalar;
  t->scalarDev = pm->scalarDev;
  (void)isSigned;
  return acclSuccess;
}

ACCL_EXPORT acclResult_t acclRedOpCreatePreMulSum(acclRedOp_t* op, void* scalar, acclDataType_t datatype,
                                                  acclScalarResidence_t residence, acclComm_t comm) {
  ACCLCHECK(acclCommCheck(comm, "acclRedOpCreatePreMulSum"));
  if (op == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "acclRedOpCreatePreMulSum: argument op is NULL");
  if (scalar == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "acclRedOpCreatePreMulSum: argument scalar is NULL");
  if (acclTypeSize(datatype) == 0)
    ACCL_ARG_ERROR(acclInvalidArgument, "acclRedOpCreatePreMulSum: argument datatype (%d) is unknown", (int)datatype);
  if (residence != acclScalarDevice && residence != acclScalarHostImmediate)
    ACCL_ARG_ERROR(acclInvalidArgument, "acclRedOpCreatePreMulSum: argument residence (%d) is unknown", (int)residence);
  if (residence == acclScalarDevice) {
    int dev;
    if (!accDevPtrIsDevice(scalar, &dev))
      ACCL_ARG_ERROR(acclInvalidArgument,
                     "acclRedOpCreatePreMulSum: scalar is not device memory but residence is acclScalarDevice");
  }
  for (int i = 0; i < ACCL_MAX_PREMUL_OPS; i++) {
    acclPremulOp* pm = &comm->coll->premul[i];
    if (pm->inUse) continue;
    pm->inUse = 1;
    pm->dtype = datatype;
    pm->scalarDev = residence == acclScalarDevice ? scalar : NULL;
    if (residence == acclScalarHostImmediate) pm->scalar = acclScalarFromBytes(datatype, scalar);
    *op = (acclRedOp_t)(acclNumOps + i);
    return acclSuccess;
  }
  ACCL_ARG_ERROR(acclInvalidUsage, "acclRedOpCreatePreMulSum: all %d operation slots are in use (acclRedOpDestroy?)",
                 ACCL_MAX_PREMUL_OPS);
}

ACCL_EXPORT acclResult_t acclRedOpDestroy(acclRedOp_t op, acclComm_t comm) {
  ACCLCHECK(acclCommCheck(comm, "acclRedOpDestroy"));
  int slot = (int)op - acclNumOps;
  if (slot < 0 || slot >= ACCL_MAX_PREMUL_OPS || !comm->coll->premul[slot].inUse)
    ACCL_ARG_ERROR(acclInvalidArgument, "acclRedOpDestroy: argument op (%d) is not a PreMulSum operation of this comm",
                   (int)op);
  comm->coll->premul[slot].inUse = 0;
  return acclSuccess;
}
