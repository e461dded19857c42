/* signature.h - call signatures (plan.h's acclSig): what the peers called.
 * Every rank publishes the signature of the collective it starts in its
 * peers' slots; the executor compares what a peer published, or sent with
 * a step, with its own call and fails the plan on a mismatch, naming both
 * calls. Private to src/collectives (the executor is its only user). */
#ifndef ACCL_COLL_SIGNATURE_H_
#define ACCL_COLL_SIGNATURE_H_

#include "collectives/coll.h"

/* 0 when peer q's signature agrees with task's (with ACCL_CHECK_MISMATCH=0:
 * the sizes only), else -acclInvalidUsage with a WARN naming both calls. */
int acclSigCompare(struct acclComm* comm, const acclTask* task, const acclSig* peer, int q);
/* Publish task's signature in one peer slot, or in every mapped peer's. */
void acclSigPublishSlot(acclPeerSlot* slot, const acclTask* task);
void acclSigPublish(struct acclComm* comm, const acclTask* task);
/* The plan's published collective: its first, or NULL (p2p only). */
const acclTask* acclSigTask(const acclPlan* plan);
/* A blocked plan: 0, or -acclInvalidUsage when a peer on this node started
 * one of the plan's collectives with another signature. */
int acclSigScan(struct acclComm* comm, const acclPlan* plan);
/* A plan whose part is done: 1 when every peer on this node agreed (or went
 * past), 0 while one has not started the collective, -acclInvalidUsage. */
int acclSigFinal(struct acclComm* comm, const acclPlan* plan);

#endif
