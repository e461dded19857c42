/* tuning.h - algorithm / protocol selection over the algorithm table. */
#ifndef ACCL_TUNING_H_
#define ACCL_TUNING_H_

#include "collectives/algorithm.h"
#include "topology/graph.h"

struct acclComm;
/* The communicator's part of the cost model's input (enqueue.c). */
void acclTuneBaseInput(struct acclComm* comm, acclTuneInput* in);
/* Estimated microseconds, or a negative value when the pair cannot run the call. */
double acclTuneCost(const acclTuneInput* in, acclAlgo algo, acclProto proto);
/* The cheapest feasible pair among those the masks allow; when the masks
 * allow none that can run the call, the cheapest of all (ACCL_ALGO is a
 * preference, never a reason to fail). */
acclResult_t acclTuneSelect(const acclTuneInput* in, unsigned algoMask, unsigned protoMask, acclAlgo* algo,
                            acclProto* proto);
void acclTuneLogTable(const acclTuneInput* base);
/* The cost model's input for a topology plan as the plan gives it (no clamp
 * to this host's memory: the simulator's view of the described hardware),
 * with nChannels capped as the communicator caps it. */
void acclTunePlanInput(const acclTopoGraph* plan, acclTuneInput* in);
#define ACCL_TUNE_MAX_CHANNELS 16     /* channels a communicator runs at most (setup.c) */
unsigned acclTuneAlgoMask(void);      /* from ACCL_ALGO (p2p always allowed) */
unsigned acclTuneProtoMask(void);     /* from ACCL_PROTO */
const char* acclFuncName(acclFunc f); /* NCCL's names: "AllReduce", ... */
const char* acclAlgoName(acclAlgo a);
const char* acclProtoName(acclProto p);

#endif
