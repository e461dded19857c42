/* group.h - grouping of calls (acclGroupStart / End). */
#ifndef ACCL_GROUP_H_
#define ACCL_GROUP_H_

#include "collectives/plan.h"
struct acclComm;

/* Launch now, or collect when inside a group (launched at acclGroupEnd, one
 * plan per communicator and stream). */
acclResult_t acclGroupSubmit(struct acclComm* comm, accStream_t stream, const acclTask* task);
/* An argument error inside a group fails the whole group at acclGroupEnd. */
void acclGroupFail(acclResult_t err);

#endif
