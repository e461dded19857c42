/* ofi_cq.h - reading the completion queues of the ofi transport, and the
 * proxy thread that does it while nobody else does. */
#ifndef ACCL_OFI_CQ_H_
#define ACCL_OFI_CQ_H_

#include "transport/ofi/ofi_state.h"

/* Read every completion queue once, calling each completion's handler;
 * returns completions handled (<0: fatal). */
int acclOfiProgress(acclOfiState* st);
acclResult_t acclOfiProxyStart(acclOfiState* st);
void acclOfiProxyStop(acclOfiState* st);

#endif
