/* group.h - grouping of calls (acclGroupStart / End). */
#ifndef ACCL_GROUP_H_
#define ACCL_GROUP_H_

#include "collectives/plan.h"
struct acclComm;

/* Launch now, or collect when inside a group. */
acclResult_t acclEnqueue(struct acclComm* comm, accStream_t stream, const acclTask* task);
/* An argument error inside a group fails the whole group at acclGroupEnd. */
void acclGroupFail(acclResult_t err);
int acclGroupActive(void);
/* Residency and staging of the task's buffers (enqueue.c). */
acclResult_t acclTaskBuffers(struct acclComm* comm, acclPlan* plan, acclTask* t);
/* Inputs that another task of the plan overwrites are read from a copy taken at plan start. */
void acclPlanStageOverlaps(acclPlan* plan);

#endif
