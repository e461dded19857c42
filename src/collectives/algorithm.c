/* algorithm.c - the algorithm table and what its entries share. */
#include "collectives/algorithm.h"
#include "topology/graph.h"

/* Indexed by acclAlgo: the order is the enum's, which plans and logs record. */
static const acclAlgoInfo* const algoTable[ACCL_NUM_ALGOS] = {
    [ACCL_ALGO_RING] = &acclAlgoRing,   [ACCL_ALGO_TREE] = &acclAlgoTree, [ACCL_ALGO_DIRECT] = &acclAlgoDirect,
    [ACCL_ALGO_P2P] = &acclAlgoP2P,     [ACCL_ALGO_HIER] = &acclAlgoHier, [ACCL_ALGO_RD] = &acclAlgoRD,
    [ACCL_ALGO_CHAIN] = &acclAlgoChain,
};

const acclAlgoInfo* acclAlgoGet(int algo) { return algo >= 0 && algo < ACCL_NUM_ALGOS ? algoTable[algo] : NULL; }

/* A channel below 32 KiB spends more time on its per-step latency than on
 * bytes, so small calls use fewer, fuller channels. */
int acclAlgoCallChannels(int nChannels, size_t bytes) {
  int nch = nChannels > 0 ? nChannels : 1;
  while (nch > 1 && bytes / (size_t)nch < 32768) nch--;
  return nch;
}

int acclAlgoChannels(const acclAlgoCtx* ctx, size_t bytes) { return acclAlgoCallChannels(ctx->nChannels, bytes); }

double acclAlgoSliceBytes(const acclTuneInput* in) {
  return in->sliceBytes > 0 ? (double)in->sliceBytes : (double)(512 << 10);
}

double acclAlgoCopyGBs(const acclTuneInput* in) { return in->bwCopy > 0 ? in->bwCopy : ACCL_TOPO_SHM_BW_GBS; }

double acclAlgoByteCost(const acclTuneInput* in, double linkGBs, double streams) {
  const double link = 1.0 / (linkGBs * 1e3), mem = 3.0 * (streams > 1 ? streams : 1) / (acclAlgoCopyGBs(in) * 1e3);
  return link > mem ? link : mem;
}

double acclAlgoHopByteCost(const acclTuneInput* in, int inter) {
  const int C = acclAlgoCallChannels(in->nChannels, in->bytes);
  return acclAlgoByteCost(in, inter ? in->bwInter : in->bwIntra, C);
}

double acclAlgoTime(const acclTuneInput* in, double hops, double bytes) {
  const double lat = in->nNodes > 1 ? in->latInter : in->latIntra;
  const double bw = (in->nNodes > 1 ? in->bwInter : in->bwIntra) * 1e3; /* bytes per us */
  return hops * lat + bytes / bw;
}
