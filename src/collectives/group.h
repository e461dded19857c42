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
} acclGroupJob;
acclResult_t acclGroupDefer(const acclGroupJob* job);

#endif
