/* ofi_tagged.h - the tagged protocol of the ofi transport (fi_tsend /
 * fi_trecv into posted receives). */
#ifndef ACCL_OFI_TAGGED_H_
#define ACCL_OFI_TAGGED_H_

#include "transport/ofi/ofi_state.h"

extern const acclConnOps acclOfiTaggedOps;
/* The communicator runs the tagged protocol: sends post tagged messages. */
void acclOfiTaggedInit(acclOfiState* st);
/* Receiver: post the receives of `step` into its slot (all rails). */
acclResult_t acclOfiTaggedPostRecv(acclOfiConnPriv* c, uint64_t step);

#endif
