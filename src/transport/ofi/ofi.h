/*
 * ofi.h - the network transport over libfabric reliable-datagram endpoints,
 * as transport.c sees it: one acclTransport table. The provider's files,
 * split by job as libfabric's own providers are:
 *
 *   ofi_wire.h       what goes on the wire: address record, rma CQ data,
 *                    tags, pieces (pure functions, unit-tested)
 *   ofi_state.h      the transport's state: rails, connections, requests
 *   ofi_fabric.c     provider and NIC choice; opening and closing rails
 *                    (fabric, domain, completion queue, address vector,
 *                    endpoint); the FIFO region's registration
 *   ofi_mr.c         registration cache of user buffers sent from directly
 *   ofi_cq.c         completion queues: read, dispatch each completion to its
 *                    request's handler, decode errors; the proxy thread
 *   ofi_ep.c         posting with retry and the sender's step bookkeeping
 *                    both protocols share
 *   ofi_tagged.c     the tagged protocol (fi_tsend / fi_trecv)
 *   ofi_rma.c        the rma protocol (fi_writedata, credits)
 *   ofi_transport.c  set-up (address exchange, connections), teardown and
 *                    the table
 *
 * Each file has its header; a file includes the headers of what it calls,
 * so the include graph is the call graph and has no circle
 * (tests/include_graph.sh checks it).
 */
#ifndef ACCL_OFI_H_
#define ACCL_OFI_H_

#include "transport/transport.h"

extern const acclTransport acclOfiTransport;

#endif
