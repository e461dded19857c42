/* tuning.c - pick algorithm and protocol per call: the cheapest feasible
 * entry of the algorithm table (each algorithm file states its own cost:
 * latency + bytes / bandwidth, figures from the topology), unless ACCL_ALGO /
 * ACCL_PROTO restrict the choice. Every rank computes the same
 * answer from the same inputs, so no agreement round is needed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "collectives/coll.h"
#include "collectives/tuning.h"
#include "core/param.h"
#include "topology/graph.h"
#include "topology/topo.h"

static const char* const protoNames[ACCL_NUM_PROTOS] = {"LL", "Simple"};

const char* acclAlgoName(acclAlgo a) {
  const acclAlgoInfo* info = acclAlgoGet(a);
  return info ? info->name : "?";
}
const char* acclFuncName(acclFunc f) {
  static const char* const names[] = {"AllReduce",     "Broadcast", "Reduce", "AllGather",
                                      "ReduceScatter", "AllToAll",  "Send",   "Recv"};
  return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f] : "?";
}
const char* acclProtoName(acclProto p) { return (unsigned)p < ACCL_NUM_PROTOS ? protoNames[p] : "?"; }

/* What the cost model knows of the communicator (the call's fields aside). */
void acclTuneBaseInput(struct acclComm* comm, acclTuneInput* in) {
  memset(in, 0, sizeof(*in));
  in->nranks = comm->nranks;
  in->nNodes = comm->nNodes;
  in->directOk = comm->coll->directOk;
  in->llMaxBytes = comm->coll->llMaxBytes;
  in->rdMaxBytes = ACCL_MIN(comm->coll->rdMaxBytes, acclTransportHalfFifo(&comm->coll->net));
  const struct acclTopoState* tp = comm->topo;
  in->haveTrees = tp && tp->nTrees >= 2 && tp->trees;
  in->hierLocal = acclHierShape(comm->nodeOf, comm->nranks, comm->nNodes);
  /* Inside a node the simulated chips' links are host memory: a hop can be
   * no faster than a host copy, and adds no latency of its own. */
  in->bwIntra = tp && tp->bwIntra > 0 ? ACCL_MIN(tp->bwIntra, ACCL_TOPO_SHM_BW_GBS) : ACCL_TOPO_SHM_BW_GBS;
  in->latIntra = tp && tp->latIntra > 0 ? ACCL_MIN(tp->latIntra, ACCL_TOPO_SHM_LAT_US) : ACCL_TOPO_SHM_LAT_US;
  in->bwInter = tp && tp->bwInter > 0 ? tp->bwInter : ACCL_TOPO_NET_BW_GBS;
  in->latInter = tp && tp->latInter > 0 ? tp->latInter : ACCL_TOPO_NET_LAT_US;
  in->bwNet = tp && tp->bwNet > 0 ? tp->bwNet : in->bwInter;
  /* the simulated device's memory is host memory, whatever the node file says */
  in->bwCopy = tp && tp->bwCopy > 0 ? ACCL_MIN(tp->bwCopy, ACCL_TOPO_SHM_BW_GBS) : ACCL_TOPO_SHM_BW_GBS;
  in->nChannels = comm->coll ? comm->coll->nChannels : 1;
  in->nTrees = tp && tp->nTrees >= 2 ? tp->nTrees : 2;
  in->sliceBytes = comm->coll ? comm->coll->net.args.slotBytes : 0;
  in->deterministic = comm->coll ? comm->coll->deterministic : 0;
}

void acclTunePlanInput(const acclTopoGraph* p, acclTuneInput* in) {
  memset(in, 0, sizeof(*in));
  in->nranks = p->nranks;
  in->nNodes = p->nNodes;
  in->directOk = 0;
  in->haveTrees = p->nTrees >= 2 && p->trees;
  in->hierLocal = acclHierShape(p->nodeOf, p->nranks, p->nNodes);
  in->llMaxBytes = 0;
  in->rdMaxBytes = (size_t)acclParamRdMaxBytes(); /* the runtime also caps it at half a FIFO */
  in->bwIntra = p->bwIntra;
  in->latIntra = p->latIntra;
  in->bwInter = p->bwInter;
  in->latInter = p->latInter;
  in->bwNet = p->bwNet;
  in->bwCopy = p->bwCopy;
  in->nChannels = ACCL_MIN(p->nRings, ACCL_TUNE_MAX_CHANNELS);
  in->nTrees = p->nTrees;
  in->sliceBytes = (size_t)acclParamSlotBytes();
}

double acclTuneCost(const acclTuneInput* in, acclAlgo algo, acclProto proto) {
  const acclAlgoInfo* info = acclAlgoGet(algo);
  if (!info || (unsigned)proto >= ACCL_NUM_PROTOS || !info->feasible(in, proto)) return -1;
  return info->cost(in, proto);
}

/* The chain (chain.c) costs more than the others and exists for its fixed
 * order: the cost comparison never picks it. It runs when ACCL_DETERMINISTIC
 * asks for it (the reducing collectives, whatever the masks say) or when the
 * mask names it and no other algorithm (ACCL_ALGO=chain; p2p aside). */
static int chainOnly(unsigned algoMask) {
  return (algoMask & ~(1u << ACCL_ALGO_P2P) & ((1u << ACCL_NUM_ALGOS) - 1)) == 1u << ACCL_ALGO_CHAIN;
}

acclResult_t acclTuneSelect(const acclTuneInput* in, unsigned algoMask, unsigned protoMask, acclAlgo* algo,
                            acclProto* proto) {
  if (in->deterministic && acclTuneCost(in, ACCL_ALGO_CHAIN, ACCL_PROTO_SIMPLE) >= 0) {
    static int told;
    if ((!(algoMask & (1u << ACCL_ALGO_CHAIN)) || !(protoMask & (1u << ACCL_PROTO_SIMPLE))) &&
        !__atomic_exchange_n(&told, 1, __ATOMIC_RELAXED))
      INFO(ACCL_TUNING,
           "ACCL_DETERMINISTIC=1: %s and the other reductions run chain/Simple whatever ACCL_ALGO / "
           "ACCL_PROTO say",
           acclFuncName(in->func));
    *algo = ACCL_ALGO_CHAIN;
    *proto = ACCL_PROTO_SIMPLE;
    return acclSuccess;
  }
  double best = -1;
  for (int pass = 0; pass < 2 && best < 0; pass++) {
    /* pass 1: the user's restriction cannot run this call; use any algorithm */
    unsigned am = pass ? ~0u : algoMask, pm = pass ? ~0u : protoMask;
    for (int a = 0; a < ACCL_NUM_ALGOS; a++) {
      if (!(am & (1u << a)) || (a == ACCL_ALGO_CHAIN && !chainOnly(am))) continue;
      for (int p = 0; p < ACCL_NUM_PROTOS; p++) {
        if (!(pm & (1u << p))) continue;
        double c = acclTuneCost(in, (acclAlgo)a, (acclProto)p);
        if (c >= 0 && (best < 0 || c < best)) {
          best = c;
          *algo = (acclAlgo)a;
          *proto = (acclProto)p;
        }
      }
    }
    if (pass == 1 && best >= 0)
      INFO(ACCL_TUNING,
           "ACCL_ALGO / ACCL_PROTO allow nothing that can run func %d of %zu bytes on %d ranks: using %s/%s", in->func,
           in->bytes, in->nranks, acclAlgoName(*algo), acclProtoName(*proto));
  }
  if (best < 0)
    ACCL_ERROR(acclInternalError, "no algorithm can run %s of %zu bytes on %d ranks", acclFuncName(in->func), in->bytes,
               in->nranks);
  return acclSuccess;
}

void acclTuneLogTable(const acclTuneInput* base) {
  static const size_t sizes[] = {8, 1024, 65536, 1 << 20, 16 << 20, 256 << 20};
  for (int f = 0; f <= ACCL_FUNC_REDUCESCATTER; f++) {
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
      acclTuneInput in = *base;
      in.func = (acclFunc)f;
      in.bytes = sizes[i];
      char line[512];
      int o = snprintf(line, sizeof(line), "%-13s %10zu B:", acclFuncName((acclFunc)f), sizes[i]);
      for (int a = 0; a < ACCL_NUM_ALGOS; a++)
        for (int p = 0; p < ACCL_NUM_PROTOS; p++) {
          double c = acclTuneCost(&in, (acclAlgo)a, (acclProto)p);
          if (c >= 0 && o < (int)sizeof(line))
            o += snprintf(line + o, sizeof(line) - (size_t)o, " %s/%s=%.1fus", acclAlgoName((acclAlgo)a), protoNames[p],
                          c);
        }
      INFO(ACCL_TUNING, "%s", line);
    }
  }
}

/* ACCL_ALGO's and ACCL_PROTO's choices are the table's names and protoNames,
 * in enum order (tests/core/test_params checks it). */
unsigned acclTuneAlgoMask(void) { return acclParamAlgo() | (1u << ACCL_ALGO_P2P); }
unsigned acclTuneProtoMask(void) { return acclParamProto(); }
