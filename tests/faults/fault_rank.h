/* fault_rank.h - the parts of fault_rank: the process and its RESULT lines
 * (fault_rank.c), device buffers and checked calls (fault_bufs.c) and the
 * scenario bodies (fault_ops.c). */
#ifndef ACCL_FAULT_RANK_H_
#define ACCL_FAULT_RANK_H_

#include <stddef.h>
#include "acc_ccl.h"
#include "fault_proc.h"

/* ------------------------------------------------ fault_rank.c: the process */

/* A RESULT line (fault_proc.h) with this phase's outcome; result: guard=0. */
void resultEx(const char* phase, acclResult_t code, double t0, acclComm_t comm, long wrong, long guard);
void result(const char* phase, acclResult_t code, double t0, acclComm_t comm, long wrong);
/* r = call, then its RESULT line for `phase` (timed from just before the call). */
#define PHASE(r, phase, call)                 \
  do {                                        \
    double phase_t0_ = now();                 \
    (r) = (call);                             \
    result((phase), (r), phase_t0_, NULL, 0); \
  } while (0)

/* The gen-th communicator of this process; prints RESULT phase=init (or
 * `phase`). Returns the result of acclCommInitRank. */
acclResult_t initComm(int gen, acclComm_t* comm, const char* phase);
/* Finish a communicator after a failure: abort (or destroy, FAULT_FINISH). */
void finishFailed(acclComm_t comm);
/* After the scenario: destroy when r is acclSuccess, else abort ("destroy" phase). */
void finishComm(acclComm_t comm, acclResult_t r);
/* Resident set in KiB; this process's files in /dev/shm. */
long rssKb(void);
int countShm(void);

/* ------------------------------------------------ fault_bufs.c: buffers */

int fillFloat(float* d, size_t count, float v);
/* Elements of d[0..count) that differ from v (all checked). */
long countWrong(const float* d, size_t count, float v);

/* An output allocation of `bytes` between two guard allocations. */
typedef struct {
  void *pre, *buf, *post;
  size_t bytes, guardBytes;
} Guarded;
int guardedAlloc(Guarded* g, size_t bytes);
/* Bytes of the two guards that changed. */
long guardedDamage(const Guarded* g);
void guardedFree(Guarded* g);

/* The stream's outcome after a launch that returned acclSuccess. */
acclResult_t syncResult(acclComm_t comm, accStream_t stream);
/* One call of the loop (allreduce, allgather or sendrecv); adds the number of
 * wrong elements (a sample, checked on the host) to *wrong. */
acclResult_t runOnce(const char* op, acclComm_t comm, accStream_t stream, float* dsend, float* drecv, size_t count,
                     long* wrong);
/* One checked AllReduce of 1024 floats on fresh buffers. */
acclResult_t smallAllReduce(acclComm_t comm, accStream_t stream, long* wrong);

/* ------------------------------------------------ fault_ops.c: the scenarios */

/* A scenario on the communicator made by main (theirs to finish); returns
 * the exit code. */
typedef int (*FaultOp)(const char* op, acclComm_t comm, accStream_t stream, size_t bytes, long iters);
int loopOp(const char* op, acclComm_t comm, accStream_t stream, size_t bytes, long iters);
int mismatchOp(const char* op, acclComm_t comm, accStream_t stream, size_t bytes, long iters);
int badBufferOp(const char* op, acclComm_t comm, accStream_t stream, size_t bytes, long iters);
int staleHandleOp(const char* op, acclComm_t comm, accStream_t stream, size_t bytes, long iters);
int groupDestroyOp(const char* op, acclComm_t comm, accStream_t stream, size_t bytes, long iters);
int useAfterDestroyOp(const char* op, acclComm_t comm, accStream_t stream, size_t bytes, long iters);
int threadsOp(const char* op, acclComm_t comm, accStream_t stream, size_t bytes, long iters);
/* cycles: ITERS times init, one AllReduce, destroy (no communicator from main). */
int cyclesOp(accStream_t stream, long iters);

#endif
