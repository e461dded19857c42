/* ofi_fabric.h - the libfabric objects of the ofi transport: which provider
 * and NICs, the rails (fabric, domain, completion queue, address vector,
 * endpoint), the FIFO region's registration, error text. */
#ifndef ACCL_OFI_FABRIC_H_
#define ACCL_OFI_FABRIC_H_

#include "transport/ofi/ofi_state.h"

/* A libfabric call that returns 0 or -FI_E*: WARN naming it and return
 * acclSystemError (in a function with an acclOfiState* st). */
#define OFICHECK(call, what)                                                                \
  do {                                                                                      \
    int ofi_rc_ = (call);                                                                   \
    char ofi_b_[96];                                                                        \
    if (ofi_rc_ != 0)                                                                       \
      ACCL_ERROR(acclSystemError, "NET/OFI rank %d: %s failed: %s", st->comm->rank, (what), \
                 acclOfiErrText(ofi_rc_, ofi_b_, sizeof(ofi_b_)));                          \
  } while (0)

/* Choose provider and NICs: fills st->rails[].info, st->nrails, and st->rma
 * when the provider offers what the rma protocol needs and
 * ACCL_OFI_PROTOCOL allows it. */
acclResult_t acclOfiChooseProvider(acclOfiState* st, int nNodes);
/* Open rail `idx` (sharing fabric, domain and queue with an earlier rail on
 * the same NIC). */
acclResult_t acclOfiOpenRail(acclOfiState* st, int idx);
/* Register the FIFO region (st->region) on rail `idx`. */
acclResult_t acclOfiRegisterRegion(acclOfiState* st, int idx);
/* Close everything of rail `idx` (those sharing an earlier rail's domain first). */
void acclOfiCloseRail(acclOfiState* st, int idx);
/* Name of a libfabric error for logs: fi_strerror plus the number. */
const char* acclOfiErrText(int err, char* buf, size_t len);

#endif
