/* comm_internal.h - communicator creation and teardown shared by the public
 * entry points (api_comm.c) and split / init-all (comm_split.c). */
#ifndef ACCL_COMM_INTERNAL_H_
#define ACCL_COMM_INTERNAL_H_

#include "comm.h"

/* Full init of one rank on `device`: bootstrap from the id, then the common
 * steps. name may be NULL. */
acclResult_t acclCommCreate(const acclUniqueId* id, int nranks, int rank, int device, const char* name, int nChannels,
                            struct acclComm** out);
/* Init of a split member: bootstrap over the parent's, then the common steps. */
acclResult_t acclCommCreateSplit(struct acclComm* parent, const int* members, int nmembers, int myNewRank,
                                 const char* name, int nChannels, struct acclComm** out);
/* Destroy (abort = 0) or abort (abort = 1) a registered comm. Returns the
 * validation result; the comm is freed when it is acclSuccess. */
acclResult_t acclCommRelease(struct acclComm* comm, int abort, const char* fn);

/* Pure helpers, exposed for unit tests. */
/* Node of each rank from the host hashes: nodes are numbered in order of
 * their lowest rank. Returns the number of nodes. */
int acclCommComputeNodes(const uint64_t* hostHash, int nranks, int* nodeOf);
uint64_t acclHashString(const char* s, uint64_t seed);

#endif
