/* coll.h - per-communicator state of the collectives engine. */
#ifndef ACCL_COLL_H_
#define ACCL_COLL_H_

#include "comm/comm.h"
#include "collectives/plan.h"
#include "transport/transport.h"

#define ACCL_MAX_PREMUL_OPS 64

typedef struct {
  int inUse;
  acclDataType_t dtype;
  accDevScalar scalar;   /* host immediate, converted */
  const void* scalarDev; /* device residence: read when each collective runs */
} acclPremulOp;

struct acclCollState {
  int nChannels;  /* ring channels (lanes 0..nChannels-1) */
  int nConnLanes; /* >= 2 (two trees) + 1 p2p lane */
  int p2pLane;
  acclConnTable conns;
  acclTransportSet net;         /* the transports (src/transport): geometry, peer memory, liveness */
  int directOk;                 /* all ranks on one node and mapped: direct / LL plans possible */
  size_t llMaxBytes;            /* largest one-shot LL payload per rank */
  size_t rdMaxBytes;            /* ACCL_RD_MAX_BYTES: largest recursive-doubling AllReduce */
  uint64_t nextTicket;          /* issued plans (host side) */
  int plansLive;                /* launched plans whose fini has not finished (teardown waits) */
  volatile uint64_t execTicket; /* finished plans (device side) */
  uint64_t seq;                 /* sequence number of the last collective issued */
  uint64_t llLast[2];           /* seq of the last one-shot LL push into each inbox parity (engine side) */
  acclPremulOp premul[ACCL_MAX_PREMUL_OPS];
  int inlineMaxBytes;
  uint32_t netSpinNs; /* ACCL_NET_SPIN_NS: polling before yielding when plans wait on the network */
  uint32_t netPollNs; /* ACCL_NET_POLL_NS: engine polls (yielding) this long after a network plan last moved */
  unsigned algoMask, protoMask; /* ACCL_ALGO / ACCL_PROTO, read once */
#define ACCL_PLAN_CACHE 4
  acclPlan* planCache[ACCL_PLAN_CACHE]; /* finished plans kept for reuse (no allocation per call) */
  uint64_t timeoutNs;                   /* ACCL_TIMEOUT */
  int checkMismatch;                    /* ACCL_CHECK_MISMATCH: compare the peers' call signatures */
  int deterministic;                    /* ACCL_DETERMINISTIC: reductions fold in rank order (chain.c) */
  /* Staging area for host (or other devices') buffers: plans of a comm run one
   * at a time, so one area serves them all; grown by the running plan. */
  char* stageBuf;
  size_t stageCap;
  struct {
    size_t bytes;
    int valid, premulSum;
    acclAlgo algo;
    acclProto proto;
  } lastTune[ACCL_NUM_FUNCS];
};

/* The collectives engine of a communicator: set up by init.c after the
 * topology (channels, transports), torn down by destroy / abort. */
acclResult_t acclCollSetup(struct acclComm* comm);
/* Wait (locally, at most 30 s) until every plan issued on comm has finished or failed. */
void acclCollWaitIdle(struct acclComm* comm);
/* acclCommFinalize's work: wait for every queued plan, then
 * acclTransportsFinalize (collective where a network transport is used). */
acclResult_t acclCollFinalize(struct acclComm* comm);
/* Does acclCollFinalize wait for the peers (a network transport is used)? The
 * same answer on every rank. */
int acclCollFinalizeIsCollective(const struct acclComm* comm);
/* Frees the engine and the transports, locally (abort: without waiting for
 * this rank's queued work either). */
void acclCollTeardown(struct acclComm* comm, int abort);

/* A plan to fill (the cached one when free), and back when done (frees its scratch). */
acclPlan* acclPlanGet(struct acclComm* comm);
void acclPlanPut(struct acclComm* comm, acclPlan* plan);

/* Enqueue a finished plan on a stream (takes ownership of plan). */
acclResult_t acclPlanLaunch(struct acclComm* comm, acclPlan* plan, accStream_t stream);

#endif
