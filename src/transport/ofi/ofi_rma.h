/* ofi_rma.h - the rma protocol of the ofi transport (fi_writedata into the
 * receiver's slots, credits back). */
#ifndef ACCL_OFI_RMA_H_
#define ACCL_OFI_RMA_H_

#include "transport/ofi/ofi_state.h"

extern const acclConnOps acclOfiRmaOps;
/* The communicator runs the rma protocol: sends are remote writes, and
 * remote writes that arrive go to its handler. */
void acclOfiRmaInit(acclOfiState* st);

#endif
