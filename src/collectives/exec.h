/* exec.h - the executor's state while a plan runs, shared by executor.c
 * (the FIFO steps, the lane loop, health and launch) and exec_peer.c (the
 * steps that read and write peers' memory directly: SYNC, DIRECT, LL).
 * Private to src/collectives. */
#ifndef ACCL_COLL_EXEC_H_
#define ACCL_COLL_EXEC_H_

#include "collectives/coll.h"

typedef struct {
  int step;          /* current step in the lane */
  size_t slice;      /* next slice of the current step */
  int syncPublished; /* SYNC / LL: our part was written */
} laneState;

/* What one call of a step, or of a lane, achieved. */
typedef enum {
  ACCL_LANE_FAILED = -1,  /* an error, logged; acclExec.err says which */
  ACCL_LANE_BLOCKED = 0,  /* nothing moved: waits for a peer, a credit or an input */
  ACCL_LANE_MOVED = 1,    /* moved, and more of the step (or lane) remains */
  ACCL_LANE_STEP_DONE = 2 /* the step is complete: the lane goes on with the next */
} acclLaneResult;

typedef struct {
  acclPlan* plan;
  struct acclComm* comm;
  int stage;      /* 0 wait turn, 1 run */
  int sigChecked; /* acclSigFinal passed */
  laneState* lanes;
  int lanesCap;
  uint64_t lastProgressNs, lastCheckNs;
  void* llTemp; /* LL: unpacked inputs */
  size_t llTempBytes;
  acclConn** zcConns; /* connections with zero-copy sends this run (idle before the plan ends) */
  int nZc, capZc;
  acclResult_t err; /* why a step returned ACCL_LANE_FAILED */
} acclExec;

static inline acclLaneResult acclLaneFail(acclExec* x, acclResult_t err) {
  x->err = err;
  return ACCL_LANE_FAILED;
}

static inline char* acclExecBuf(const acclTask* t, int id) {
  return id == ACCL_BUF_SEND ? (char*)t->sendDev : id == ACCL_BUF_RECV ? (char*)t->recvDev : NULL;
}

/* out = reduce(in...) into up to 3 outputs, through the device engines (a
 * plain copy is a DMA copy). */
accError_t acclExecReduce(int dev, const acclTask* task, const void** in, int nin, uint32_t premulMask, int postDiv,
                          void** out, int nout, size_t count);

/* Peer-memory steps (exec_peer.c): ACCL_LANE_STEP_DONE, BLOCKED or FAILED. */
acclLaneResult acclExecSyncStep(acclExec* x, laneState* ls, const acclStep* s);
acclLaneResult acclExecDirectStep(acclExec* x, const acclStep* s, int dev);
acclLaneResult acclExecLLPushStep(acclExec* x, const acclStep* s, int dev);
acclLaneResult acclExecLLReduceStep(acclExec* x, laneState* ls, const acclStep* s, int dev);

#endif
