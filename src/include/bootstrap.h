/* bootstrap.h - out-of-band TCP rendezvous and the library's internal
 * collectives over bootstrap sockets (allgather, barrier, send/recv).
 * Every connection presents the job's 128-bit secret first; connections that
 * do not are closed with a WARN and never disturb the job. */
#ifndef ACCL_BOOTSTRAP_H_
#define ACCL_BOOTSTRAP_H_

#include <stddef.h>
#include "core.h"

typedef struct acclBootstrap acclBootstrap;

/* Root side of acclGetUniqueId: listen (ACCL_COMM_ID or the interface chosen by
 * ACCL_SOCKET_IFNAME), start the root thread, fill the id. */
acclResult_t acclBootstrapGetUniqueId(acclUniqueId* id);
/* Rendezvous of nranks ranks. abortFlag (may be NULL) makes waits give up with
 * acclInvalidUsage... when set; waits give up with acclTimeout after
 * ACCL_BOOTSTRAP_TIMEOUT seconds. */
acclResult_t acclBootstrapInit(const acclUniqueId* id, int rank, int nranks, volatile int* abortFlag,
                               acclBootstrap** out);
/* data holds nranks blocks of `size` bytes; this rank's block is data + rank*size. */
acclResult_t acclBootstrapAllGather(acclBootstrap* bs, void* data, size_t size);
acclResult_t acclBootstrapBarrier(acclBootstrap* bs);
acclResult_t acclBootstrapSend(acclBootstrap* bs, int peer, int tag, const void* data, size_t size);
acclResult_t acclBootstrapRecv(acclBootstrap* bs, int peer, int tag, void* data, size_t size);
/* Bootstrap of a sub-group: ranks[] lists the parent ranks of the new group in
 * new-rank order, myNewRank is ours. Collective over the members only. */
acclResult_t acclBootstrapSplit(acclBootstrap* parent, const int* ranks, int nnew, int myNewRank,
                                volatile int* abortFlag, acclBootstrap** out);
acclResult_t acclBootstrapClose(acclBootstrap* bs);

#endif
