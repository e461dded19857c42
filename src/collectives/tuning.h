/* tuning.h - the cost model and algorithm / protocol selection. */
#ifndef ACCL_TUNING_H_
#define ACCL_TUNING_H_

#include "collectives/plan.h"

typedef struct {
  acclFunc func;
  size_t bytes; /* bytes of the call's per-rank buffer (AllGather: per-rank block) */
  int nranks, nNodes;
  int directOk, haveTrees;
  int hierLocal; /* ranks per node when the hierarchical plan can run (equal nodes), else 0 */
  size_t llMaxBytes;
  size_t rdMaxBytes;                           /* largest recursive-doubling message (half a FIFO) */
  double bwIntra, latIntra, bwInter, latInter; /* GB/s, us */
} acclTuneInput;

struct acclComm;
/* The communicator's part of the cost model's input (enqueue.c). */
void acclTuneBaseInput(struct acclComm* comm, acclTuneInput* in);
double acclTuneCost(const acclTuneInput* in, acclAlgo algo, acclProto proto);
acclResult_t acclTuneSelect(const acclTuneInput* in, unsigned algoMask, unsigned protoMask, acclAlgo* algo,
                            acclProto* proto);
void acclTuneLogTable(const acclTuneInput* base);
unsigned acclTuneAlgoMask(void);      /* from ACCL_ALGO (p2p always allowed) */
unsigned acclTuneProtoMask(void);     /* from ACCL_PROTO */
const char* acclFuncName(acclFunc f); /* NCCL's names: "AllReduce", ... */
const char* acclAlgoName(acclAlgo a);
const char* acclProtoName(acclProto p);

#endif
