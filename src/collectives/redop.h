/* redop.h - user reduction ops to engine ops. */
#ifndef ACCL_REDOP_H_
#define ACCL_REDOP_H_

#include "collectives/plan.h"
struct acclComm;

/* Fill t->op / premul / postDiv / scalar for (op, dtype); WARN and
 * acclInvalidArgument for an unknown op. */
acclResult_t acclRedOpResolve(struct acclComm* comm, acclRedOp_t op, acclDataType_t dtype, acclTask* t, const char* fn);
accDevScalar acclScalarFromBytes(acclDataType_t t, const void* p);

#endif
