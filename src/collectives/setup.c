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
#include "transport/ofi/ofi.h"

acclResult_t acclCollSetup(struct acclComm* comm) {
  struct acclCollState* cs = calloc(1, sizeof(*cs));
  if (!cs) return acclSystemError;
  comm->coll = cs;
  /* the topology chose the channels (one per ring it found, or ACCL_NCHANNELS) */
  int64_t nch = comm->topo && comm->topo->nRings > 0 ? comm->topo->nRings : 1;
  if (nch > 16) nch = 16;
  cs->nChannels = (int)nch;
  cs->nConnLanes = cs->nChannels + 3; /* ring channels, two trees, point-to-point */
  cs->p2pLane = cs->nChannels + 2;
  /* Transports: shm between ranks of a node, ofi between nodes;
   * ACCL_TRANSPORT=ofi puts every peer on ofi (same value on every rank). */
  const char* transport = acclParamStr("TRANSPORT", "auto");
  int forceOfi = strcasecmp(transport, "ofi") == 0;
  if (!forceOfi && strcasecmp(transport, "auto") != 0 && strcasecmp(transport, "shm") != 0) {
    ACCL_ERROR(acclInvalidArgument, "ACCL_TRANSPORT=%s: expected auto, shm or ofi", transport);
  }
  if (comm->nNodes > 1 && strcasecmp(transport, "shm") == 0) {
    ACCL_ERROR(acclInvalidArgument, "ACCL_TRANSPORT=shm but the ranks span %d nodes", comm->nNodes);
  }
  /* Step size: with network peers 128 KiB, unless ranks outnumber cores. The
   * thread that drives a socket provider sends and receives in turn, one step
   * at a time: smaller steps interleave the two directions (2 namespaces, a
   * core per rank, 16 MiB: 512 KiB steps 1.15 GB/s, 128 KiB 1.49, medians of
   * 8). Where ranks queue for cores, each step costs a wake-up more and 512
   * KiB does better (8 ranks on 2 cores, 16 MiB: 0.39 vs 0.26 GB/s), as it
   * does inside a node. */
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int oversubscribed = cores > 0 && comm->coreSharers > cores;
  int network = forceOfi || comm->nNodes > 1;
  int64_t defaultSlot = network && !oversubscribed ? 128 << 10 : 512 << 10;
  int64_t slotBytes = acclParamInt("SLOT_BYTES", defaultSlot);
  int64_t nslots = acclParamInt("NSLOTS", 8);
  int64_t llMax = acclParamInt("LL_MAX_BYTES", 16 << 10);
  if (slotBytes < 4096 || slotBytes % 256) {
    WARN("ACCL_SLOT_BYTES=%lld must be a multiple of 256 and >= 4096, using %lldK", (long long)slotBytes,
         (long long)(defaultSlot >> 10));
    slotBytes = defaultSlot;
  }
  if (nslots < 2 || nslots > ACCL_SHM_MAX_SLOTS) {
    WARN("ACCL_NSLOTS=%lld out of range 2..%d, using 8", (long long)nslots, ACCL_SHM_MAX_SLOTS);
    nslots = 8;
  }
  if (llMax < 0 || llMax > (1 << 20)) llMax = 16 << 10;
  cs->llMaxBytes = (size_t)llMax;
  /* Recursive doubling moves the whole message in each round without
   * pipelining: across two namespaces it beats the ring below ~32 KiB and
   * loses above (64 KiB: 57 vs 44 us). Never above half a FIFO. */
  int64_t rdMax = acclParamInt("RD_MAX_BYTES", 32 << 10);
  cs->rdMaxBytes = rdMax < 0 ? 0 : (size_t)rdMax;
  cs->inlineMaxBytes = (int)acclParamInt("INLINE_MAX_BYTES", 1 << 20);
  /* a network round trip takes ~10 us here: yielding before it ends costs a context switch per call */
  int64_t netSpin = acclParamInt("NET_SPIN_NS", 30000);
  cs->netSpinNs = netSpin < 0 ? 0 : netSpin > 1000000 ? 1000000 : (uint32_t)netSpin;
  int64_t netPoll = acclParamInt("NET_POLL_NS", 2000000);
  cs->netPollNs = netPoll < 0 ? 0 : netPoll > 100000000 ? 100000000 : (uint32_t)netPoll;
  int64_t timeoutS = acclParamInt("TIMEOUT", 300);
  cs->timeoutNs = timeoutS > 0 ? (uint64_t)timeoutS * 1000000000ull : 0;
  cs->algoMask = acclTuneAlgoMask();
  cs->protoMask = acclTuneProtoMask();
  acclConnTable* ct = &cs->conns;
  ct->nLanes = cs->nConnLanes;
  ct->nranks = comm->nranks;
  ct->send = calloc((size_t)ct->nLanes * comm->nranks, sizeof(acclConn));
  ct->recv = calloc((size_t)ct->nLanes * comm->nranks, sizeof(acclConn));
  if (!ct->send || !ct->recv) return acclSystemError;
  /* slot size known to the executor even when no peer is connected */
  for (int i = 0; i < ct->nLanes * comm->nranks; i++) ct->send[i].slotBytes = ct->recv[i].slotBytes = (size_t)slotBytes;
  acclShmComputeLayout(&cs->shm.layout, comm->nranks, ct->nLanes, (int)nslots, (size_t)slotBytes, (size_t)llMax * 2);
  ACCLCHECK(acclShmSetup(comm, &cs->shm, ct));
  if (forceOfi || comm->nNodes > 1) {
    cs->ofi = calloc(1, sizeof(acclOfiState));
    if (!cs->ofi) return acclSystemError;
    acclResult_t res = acclOfiSetup(comm, cs->ofi, ct, forceOfi, (int)nslots, (size_t)slotBytes);
    if (res != acclSuccess) {
      acclOfiTeardown(cs->ofi, 1);
      free(cs->ofi);
      cs->ofi = NULL;
      return res;
    }
  }
  if (oversubscribed) accDevHintOversubscribed();
  /* direct / LL plans read peers' memory: only when every peer is mapped */
  cs->directOk = cs->ofi == NULL && comm->nNodes == 1 && comm->nranks <= ACCDEV_MAX_SRCS;
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

void acclCollTeardown(struct acclComm* comm, int abort) {
  struct acclCollState* cs = comm->coll;
  if (!cs) return;
  (void)abort; /* with abortFlag set, queued plans fail at once and advance the ticket */
  waitIdle(comm);
  if (cs->ofi) {
    acclOfiTeardown(cs->ofi, abort);
    free(cs->ofi);
  }
  acclShmTeardown(comm, &cs->shm);
  for (int i = 0; i < ACCL_PLAN_CACHE; i++) acclPlanFree(cs->planCache[i]);
  if (cs->stageBuf) accFree(cs->stageBuf);
  free(cs->conns.send);
  free(cs->conns.recv);
  free(cs);
  comm->coll = NULL;
}
