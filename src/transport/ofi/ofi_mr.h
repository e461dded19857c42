/* ofi_mr.h - registration cache of the device allocations the ofi transport
 * sends from directly (zero copy). */
#ifndef ACCL_OFI_MR_H_
#define ACCL_OFI_MR_H_

#include "transport/ofi/ofi_state.h"

/* Descriptors (per rail) of a registration covering [ptr, ptr+len), registering
 * the whole allocation on a miss; entries live until the allocation is freed
 * (accFree tells the cache) or the communicator is destroyed. */
acclResult_t acclOfiMrLookup(acclOfiState* st, const void* ptr, size_t len, void** descs);
acclResult_t acclOfiMrCacheInit(acclOfiState* st);
void acclOfiMrCacheFini(acclOfiState* st);

#endif
