/* enqueue.h - from tasks to a launched plan. */
#ifndef ACCL_ENQUEUE_H_
#define ACCL_ENQUEUE_H_

#include "collectives/plan.h"
struct acclComm;

/* Plan the tasks (one communicator, one stream) as one plan and launch it:
 * buffers, algorithm choice, steps, then the executor. */
acclResult_t acclEnqueueTasks(struct acclComm* comm, accStream_t stream, const acclTask* tasks, int ntasks);

#endif
