/* setup.c - the collectives engine of a communicator: channels, connection
 * lanes, transports; and its teardown. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "collectives/coll.h"
#include "collectives/tuning.h"
#include "core/param.h"
#include "topology/topo.h"

acclResult_t acclCollSetup(struct acclComm* comm) {
  struct acclCollState* cs = calloc(1, sizeof(*cs));
  if (!cs) return acclSystemError;
  comm->coll = cs;
  /* the topology chose the channels (one per ring it found, or ACCL_NCHANNELS) */
  int64_t nch = comm->topo && comm->topo->nRings > 0 ? comm->topo->nRings : 1;
  if (nch > ACCL_TUNE_MAX_CHANNELS) nch = ACCL_TUNE_MAX_CHANNELS;
  cs->nChannels = (int)nch;
  /* ring channels, the trees (a pair, or one per NIC across nodes), point-to-point */
  int nTrees = comm->topo && comm->topo->nTrees >= 2 ? comm->topo->nTrees : 2;
  cs->nConnLanes = cs->nChannels + nTrees + 1;
  cs->p2pLane = cs->nChannels + nTrees;
  /* Recursive doubling moves the whole message in each round without
   * pipelining: across two namespaces it beats the ring below ~32 KiB and
   * loses above (64 KiB: 57 vs 44 us). Never above half a FIFO. */
  cs->rdMaxBytes = (size_t)acclParamRdMaxBytes();
  cs->inlineMaxBytes = (int)acclParamInlineMaxBytes();
  /* yielding inside a network round trip costs a context switch per call (perf/RESULTS.md) */
  cs->netSpinNs = (uint32_t)acclParamNetSpinNs();
  cs->netPollNs = (uint32_t)acclParamNetPollNs();
  cs->timeoutNs = (uint64_t)acclParamTimeout() * 1000000000ull;
  cs->checkMismatch = (int)acclParamCheckMismatch();
  cs->deterministic = (int)acclParamDeterministic();
  cs->algoMask = acclTuneAlgoMask();
  cs->protoMask = acclTuneProtoMask();
  ACCLCHECK(acclTransportsSetup(comm, cs->nConnLanes, &cs->net, &cs->conns));
  cs->llMaxBytes = (cs->net.args.llBytes - ACCL_LL_HEADER_BYTES) / 2;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int oversubscribed = cores > 0 && comm->coreSharers > cores;
  if (oversubscribed) accDevHintOversubscribed();
  /* direct / LL plans read peers' memory: only when every peer is mapped */
  cs->directOk =
      (cs->net.peerMem.ops != NULL || comm->nranks == 1) && comm->nNodes == 1 && comm->nranks <= ACCDEV_MAX_SRCS;
  INFO(ACCL_INIT, "rank %d: %d channels, %d connection lanes, direct %s", comm->rank, cs->nChannels, cs->nConnLanes,
       cs->directOk ? "on" : "off");
  if (comm->rank == 0 && ACCL_LOG_ON(ACCL_LOG_INFO, ACCL_TUNING)) {
    acclTuneInput in;
    acclTuneBaseInput(comm, &in);
    acclTuneLogTable(&in);
  }
  return acclSuccess;
}

/* Wait until every plan issued on the communicator has finished (or failed). */
static void waitIdle(struct acclComm* comm) {
  struct acclCollState* cs = comm->coll;
  uint64_t start = acclClockNs();
  int spins = 0;
  /* every plan finished and its fini done with the communicator's state */
  while (__atomic_load_n(&cs->plansLive, __ATOMIC_ACQUIRE) > 0) {
    if (acclClockNs() - start > 30ull * 1000000000ull) {
      WARN("rank %d: communicator destroyed with work still queued after 30 s", comm->rank);
      return;
    }
    if (++spins < 100)
      sched_yield();
    else
      usleep(200);
  }
}

void acclCollWaitIdle(struct acclComm* comm) {
  if (comm->coll) waitIdle(comm);
}

acclResult_t acclCollFinalize(struct acclComm* comm) {
  struct acclCollState* cs = comm->coll;
  if (!cs) return acclSuccess;
  waitIdle(comm);
  return acclTransportsFinalize(&cs->net);
}

int acclCollFinalizeIsCollective(const struct acclComm* comm) { return comm->coll && comm->coll->net.anyNetwork; }

void acclCollTeardown(struct acclComm* comm, int abort) {
  struct acclCollState* cs = comm->coll;
  if (!cs) return;
  (void)abort; /* with abortFlag set, queued plans fail at once and advance the ticket */
  waitIdle(comm);
  acclTransportsTeardown(&cs->net, &cs->conns, abort);
  for (int i = 0; i < ACCL_PLAN_CACHE; i++) acclPlanFree(cs->planCache[i]);
  if (cs->stageBuf) accFree(cs->stageBuf);
  free(cs);
  comm->coll = NULL;
}
