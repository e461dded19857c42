/* transport.c - which transport serves each pair of ranks, the FIFO
 * geometry every transport shares, and the transports' lifecycle. */
#include "transport/transport.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "comm/comm.h"
#include "core/param.h"
#include "transport/ofi/ofi.h"
#include "transport/shm/shm.h"

/* In order of preference: the first that can connect a pair serves it. */
static const acclTransport* const transports[] = {&acclShmTransport, &acclOfiTransport};
#define NTRANSPORTS ((int)(sizeof(transports) / sizeof(transports[0])))
_Static_assert(ACCL_FIFO_MAX_SLOTS == 16, "ACCL_NSLOTS's range in core/param.h ends at ACCL_FIFO_MAX_SLOTS");
_Static_assert(sizeof(transports) / sizeof(transports[0]) <= ACCL_TRANSPORT_MAX, "raise ACCL_TRANSPORT_MAX");

int acclTransportOf(const acclTransportSet* set, int a, int b) {
  if (a == b) return -1;
  for (int t = 0; t < set->n; t++) {
    acclTransportArgs args = set->args;
    args.self = t;
    if (set->table[t]->canConnect(set->comm, &args, a, b)) return t;
  }
  return -1;
}

/* Step size: with network peers 128 KiB, unless ranks outnumber cores. The
 * thread that drives a socket provider sends and receives in turn, one step
 * at a time: smaller steps interleave the two directions. Where ranks queue
 * for cores each step costs a wake-up more and 512 KiB does better, as it
 * does inside a node (figures in perf/RESULTS.md). */
static acclResult_t geometry(struct acclComm* comm, int nLanes, acclTransportArgs* args) {
  enum { TRANSPORT_AUTO, TRANSPORT_SHM, TRANSPORT_OFI }; /* ACCL_TRANSPORT's choices */
  int transport = acclParamTransport();
  int forceNet = transport == TRANSPORT_OFI;
  if (comm->nNodes > 1 && transport == TRANSPORT_SHM)
    ACCL_ERROR(acclInvalidArgument, "rank %d: ACCL_TRANSPORT=shm but the ranks span %d nodes", comm->rank,
               comm->nNodes);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int oversubscribed = cores > 0 && comm->coreSharers > cores;
  int network = forceNet || comm->nNodes > 1;
  int64_t defaultSlot = network && !oversubscribed ? 128 << 10 : 512 << 10;
  int64_t slotBytes = acclParamGetIntDefault(ACCL_PARAM_SLOT_BYTES, defaultSlot);
  int64_t nslots = acclParamNslots();
  int64_t llMax = acclParamLlMaxBytes();
  memset(args, 0, sizeof(*args));
  args->nLanes = nLanes;
  args->nslots = (int)nslots;
  args->slotBytes = (size_t)slotBytes;
  args->llBytes = (size_t)llMax * 2 + ACCL_LL_HEADER_BYTES; /* lines carry 4 data bytes in 8 */
  args->forceNetwork = forceNet;
  return acclSuccess;
}

acclResult_t acclTransportsSetup(struct acclComm* comm, int nLanes, acclTransportSet* set, acclConnTable* conns) {
  memset(set, 0, sizeof(*set));
  set->comm = comm;
  set->table = transports;
  set->n = NTRANSPORTS;
  ACCLCHECK(geometry(comm, nLanes, &set->args));
  set->args.set = set;
  conns->nLanes = nLanes;
  conns->nranks = comm->nranks;
  conns->send = calloc((size_t)nLanes * comm->nranks, sizeof(acclConn));
  conns->recv = calloc((size_t)nLanes * comm->nranks, sizeof(acclConn));
  if (!conns->send || !conns->recv)
    ACCL_ERROR(acclSystemError, "rank %d: out of memory for the connection table", comm->rank);
  /* the step size is known to the executor even where no peer is connected */
  for (int i = 0; i < nLanes * comm->nranks; i++) {
    conns->send[i].slotBytes = conns->recv[i].slotBytes = set->args.slotBytes;
    conns->send[i].nslots = conns->recv[i].nslots = set->args.nslots;
  }
  /* which transports any pair uses: the same answer on every rank, so every
   * rank takes part in the same (collective) set-ups */
  int used[ACCL_TRANSPORT_MAX] = {0}, mine[ACCL_TRANSPORT_MAX] = {0};
  const int n = comm->nranks, me = comm->rank;
  for (int a = 0; a < n; a++)
    for (int b = a + 1; b < n; b++) {
      int t = acclTransportOf(set, a, b);
      if (t >= 0) used[t] = 1;
      if (t >= 0 && (a == me || b == me)) mine[t]++;
    }
  for (int t = 0; t < set->n; t++) {
    if (!used[t]) continue;
    acclTransportArgs args = set->args;
    args.self = t;
    acclResult_t res = set->table[t]->setup(comm, &args, conns, &set->state[t]);
    if (res != acclSuccess) {
      acclTransportsTeardown(set, conns, 1);
      return res;
    }
    if (set->table[t]->network && mine[t]) set->network = 1;
    if (set->table[t]->network) set->anyNetwork = 1;
  }
  /* direct and LL plans need every peer mapped, through one transport */
  int pm = -1;
  for (int q = 0; q < n && pm != -2; q++) {
    if (q == me) continue;
    int t = acclTransportOf(set, me, q);
    pm = t < 0 || set->table[t]->peerMem == NULL || (pm >= 0 && pm != t) ? -2 : t;
  }
  if (pm >= 0) set->peerMem = (acclPeerMem){set->table[pm]->peerMem, set->state[pm]};
  INFO(ACCL_INIT, "rank %d: transports %s%s%s, %d lanes x %d slots x %zu bytes, peer memory %s", me,
       set->state[0] ? set->table[0]->name : "", set->state[0] && set->n > 1 && set->state[1] ? "+" : "",
       set->n > 1 && set->state[1] ? set->table[1]->name : "", nLanes, set->args.nslots, set->args.slotBytes,
       set->peerMem.ops ? "mapped" : "none");
  return acclSuccess;
}

acclResult_t acclTransportsFinalize(acclTransportSet* set) {
  struct acclComm* comm = set->comm;
  acclResult_t res = acclSuccess;
  for (int t = 0; t < set->n && res == acclSuccess; t++)
    if (set->state[t] && set->table[t]->finalize) res = set->table[t]->finalize(comm, set->state[t]);
  if (res != acclSuccess || !set->anyNetwork) return res;
  /* peers may still be receiving our last sends or returning credits: leave together */
  if (__atomic_load_n(&comm->asyncError, __ATOMIC_ACQUIRE) != acclSuccess) return acclSuccess;
  return acclBootstrapBarrier(comm->bootstrap);
}

void acclTransportsTeardown(acclTransportSet* set, acclConnTable* conns, int abort) {
  /* the network first: its proxy may still touch connections */
  for (int t = set->n - 1; t >= 0; t--) {
    if (set->state[t]) set->table[t]->teardown(set->comm, set->state[t], abort);
    set->state[t] = NULL;
  }
  set->peerMem.ops = NULL;
  free(conns->send);
  free(conns->recv);
  conns->send = conns->recv = NULL;
}

int acclTransportsFailedPeer(const acclTransportSet* set) {
  for (int t = 0; t < set->n; t++) {
    if (!set->state[t]) continue;
    int q = set->table[t]->failedPeer(set->state[t]);
    if (q >= 0) return q;
  }
  return -1;
}
