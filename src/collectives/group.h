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
/* This thread is inside acclGroupStart / End. */
int acclGroupActive(void);
/* This thread's open group holds calls or deferred jobs on comm: destroying
 * it now would wait for a group that cannot end. */
int acclGroupHolds(const struct acclComm* comm);
/* Work that acclGroupEnd runs before launching the group's calls: creation,
 * split and finalize of communicators (init.c), deferred so that several of
 * them called from one thread rendezvous concurrently. run() executes on a
 * thread of its own; for a blocking job acclGroupEnd joins it and returns
 * finish(arg, result), for a non-blocking one run() must complete the job
 * itself (acclGroupEnd then returns acclInProgress). finish(arg, err) with
 * err != acclSuccess and run never called: the group failed before running. */
typedef struct {
  acclResult_t (*run)(void* arg);
  acclResult_t (*finish)(void* arg, acclResult_t res);
  void* arg;
  int blocking;
  const struct acclComm* holds; /* the communicator the job keeps entered (Destroy / Abort wait for it) */
} acclGroupJob;
acclResult_t acclGroupDefer(const acclGroupJob* job);

#endif
