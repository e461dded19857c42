/* tuning.c - pick algorithm and protocol per call from a cost model
 * (latency + bytes / bandwidth, figures from the topology), unless
 * ACCL_ALGO / ACCL_PROTO restrict the choice. Every rank computes the same
 * answer from the same inputs, so no agreement round is needed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "collectives/coll.h"
#include "collectives/tuning.h"
#include "core/param.h"
#include "topology/topo.h"

static const char* algoNames[ACCL_NUM_ALGOS] = {"ring", "tree", "direct", "p2p", "hier", "rd"};
static const char* protoNames[ACCL_NUM_PROTOS] = {"LL", "Simple"};

const char* acclFuncName(acclFunc f) {
  static const char* names[] = {"AllReduce",     "Broadcast", "Reduce", "AllGather",
                                "ReduceScatter", "AllToAll",  "Send",   "Recv"};
  return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f] : "?";
}
const char* acclAlgoName(acclAlgo a) { return (unsigned)a < ACCL_NUM_ALGOS ? algoNames[a] : "?"; }
const char* acclProtoName(acclProto p) { return (unsigned)p < ACCL_NUM_PROTOS ? protoNames[p] : "?"; }

/* Estimated microseconds of one call: the cost model. */
/* Estimated microseconds of one call: hops of latency plus the bytes each
 * rank reads and writes, over the bandwidth. S is the call's largest buffer.
 *  direct: every rank moves its 1/n share once, reading peers' memory and
 *          writing it in place: about 2S (ReduceScatter / Reduce: S + S/n).
 *          LL one-shot: every input goes to every peer as lines twice the
 *          size, and every rank unpacks and reduces all n of them.
 *  ring:   each hop goes through a FIFO: written into the step buffer, read
 *          out again (and forwarded), about 3S/n per hop.
 *  tree:   the same FIFO cost on every level, twice (up and down).
 *  rd:     log2(n) exchanges of the whole message (two more when n is not
 *          a power of two), each through a FIFO. */
double acclTuneCost(const acclTuneInput* in, acclAlgo algo, acclProto proto) {
  const int n = in->nranks;
  const double S = (double)in->bytes;
  const double lat = in->nNodes > 1 ? in->latInter : in->latIntra;
  const double bw = (in->nNodes > 1 ? in->bwInter : in->bwIntra) * 1e3; /* bytes per us */
  const int allreduce = in->func == ACCL_FUNC_ALLREDUCE;
  const int toOne = in->func == ACCL_FUNC_REDUCESCATTER || in->func == ACCL_FUNC_REDUCE;
  double steps, traffic;
  switch (algo) {
    case ACCL_ALGO_DIRECT:
      if (proto == ACCL_PROTO_LL) {
        steps = 1;
        traffic = 4.0 * S * (n - 1) + S * (n + 1);
      } else {
        steps = 2;
        traffic = toOne ? S + S / n : 2.0 * S;
      }
      break;
    case ACCL_ALGO_TREE: {
      int depth = 0;
      while ((1 << depth) < n) depth++;
      steps = 2.0 * depth;
      traffic = 2.0 * 3.0 * S;
      break;
    }
    case ACCL_ALGO_RING:
      steps = allreduce ? 2.0 * (n - 1) : (double)(n - 1);
      traffic = 3.0 * S * (n - 1) / n * (allreduce ? 2.0 : 1.0) + S;
      break;
    case ACCL_ALGO_RD: {
      int p = 1, rounds = 0;
      while (p * 2 <= n) {
        p *= 2;
        rounds++;
      }
      steps = rounds + (p < n ? 2 : 0);
      traffic = 3.0 * S * steps;
      break;
    }
    case ACCL_ALGO_HIER: { /* rings inside the nodes at intra speed, one ring of nNodes hops between them */
      const double L = in->hierLocal > 0 ? in->hierLocal : 1, N = in->nNodes;
      const double bwIntra = in->bwIntra * 1e3, bwInter = in->bwInter * 1e3;
      return 2.0 * (L - 1) * in->latIntra + 2.0 * (N - 1) * in->latInter + 2.0 * (3.0 * S * (L - 1) / L) / bwIntra +
             (2.0 * (3.0 * S * (N - 1) / N) + S) / bwInter;
    }
    default: steps = 1; traffic = 2.0 * S;
  }
  return steps * lat + traffic / bw;
}

/* Can this algorithm / protocol run this call at all? */
static int feasible(const acclTuneInput* in, acclAlgo a, acclProto p) {
  int p2p = in->func == ACCL_FUNC_SEND || in->func == ACCL_FUNC_RECV;
  if (p2p) return a == ACCL_ALGO_P2P && p == ACCL_PROTO_SIMPLE;
  if (a == ACCL_ALGO_P2P) return in->func == ACCL_FUNC_ALLTOALL && p == ACCL_PROTO_SIMPLE;
  if (in->func == ACCL_FUNC_ALLTOALL) return a == ACCL_ALGO_DIRECT && p == ACCL_PROTO_SIMPLE && in->directOk;
  if (a == ACCL_ALGO_DIRECT) {
    if (!in->directOk) return 0;
    if (p == ACCL_PROTO_LL) return in->func == ACCL_FUNC_ALLREDUCE && in->bytes <= in->llMaxBytes && in->nranks > 1;
    return 1;
  }
  if (p == ACCL_PROTO_LL) return 0; /* ring and tree run the Simple protocol */
  if (a == ACCL_ALGO_TREE) return in->func == ACCL_FUNC_ALLREDUCE && in->haveTrees;
  /* rd serves the network: inside a node, direct and LL do better */
  if (a == ACCL_ALGO_RD)
    return in->func == ACCL_FUNC_ALLREDUCE && in->nranks > 1 && !in->directOk && in->bytes <= in->rdMaxBytes;
  if (a == ACCL_ALGO_HIER) return in->func == ACCL_FUNC_ALLREDUCE && in->nNodes > 1 && in->hierLocal > 0;
  return 1;
}

acclResult_t acclTuneSelect(const acclTuneInput* in, unsigned algoMask, unsigned protoMask, acclAlgo* algo,
                            acclProto* proto) {
  double best = -1;
  for (int pass = 0; pass < 2 && best < 0; pass++) {
    /* pass 1: the user's restriction cannot run this call; use any algorithm */
    unsigned am = pass ? ~0u : algoMask, pm = pass ? ~0u : protoMask;
    for (int a = 0; a < ACCL_NUM_ALGOS; a++) {
      if (!(am & (1u << a))) continue;
      for (int p = 0; p < ACCL_NUM_PROTOS; p++) {
        if (!(pm & (1u << p)) || !feasible(in, (acclAlgo)a, (acclProto)p)) continue;
        double c = acclTuneCost(in, (acclAlgo)a, (acclProto)p);
        if (best < 0 || c < best) {
          best = c;
          *algo = (acclAlgo)a;
          *proto = (acclProto)p;
        }
      }
    }
  }
  return best < 0 ? acclInternalError : acclSuccess;
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
        for (int p = 0; p < ACCL_NUM_PROTOS; p++)
          if (feasible(&in, (acclAlgo)a, (acclProto)p) && o < (int)sizeof(line))
            o += snprintf(line + o, sizeof(line) - (size_t)o, " %s/%s=%.1fus", algoNames[a], protoNames[p],
                          acclTuneCost(&in, (acclAlgo)a, (acclProto)p));
      INFO(ACCL_TUNING, "%s", line);
    }
  }
}

unsigned acclTuneAlgoMask(void) {
  return acclParamAlgo() | (1u << ACCL_ALGO_P2P); /* ACCL_ALGO's choices are algoNames, in order */
}
unsigned acclTuneProtoMask(void) { return acclParamProto(); /* ACCL_PROTO's choices are protoNames, in order */ }
