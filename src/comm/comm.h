/* comm.h - the communicator and what each module keeps in it. */
#ifndef ACCL_COMM_H_
#define ACCL_COMM_H_

#include <pthread.h>
#include <stdint.h>
#include "core/core.h"
#include "bootstrap/bootstrap.h"
#include "device/device.h"

#define ACCL_COMM_MAGIC 0xacc1c0aa11c0ffeeULL

/* What every rank tells every other rank at init (bootstrap allgather). */
typedef struct {
  int rank;
  int device; /* local device index */
  int pid;
  uint64_t hostHash;   /* hostname + boot id, or ACCL_HOSTID: ranks with equal hash share a node */
  uint64_t coresHash;  /* boot id: ranks with equal hash share the same cores, whatever ACCL_HOSTID says */
  uint64_t busId;      /* device identity within the node */
  accDevWindow window; /* the rank's device memory, mappable by peers on its node */
} acclPeerInfo;

struct acclCollState; /* src/collectives/: channels, connections, plans */
struct acclTopoState; /* src/topology/ */

struct acclComm {
  uint64_t magic; /* ACCL_COMM_MAGIC while alive */
  int rank, nranks, device;
  int node, nNodes;          /* this rank's node index, number of nodes */
  int localRank, localRanks; /* among ranks of the same node */
  int coreSharers;           /* ranks running on this machine's cores (>= localRanks: "nodes" made of network
                              * namespaces share one kernel) */
  int* nodeOf;               /* node index of each rank */
  uint64_t commHash;         /* identifies the communicator in logs and shm names */
  char name[64];
  acclBootstrap* bootstrap;
  acclPeerInfo* peerInfo;  /* nranks entries */
  volatile int abortFlag;  /* set by acclCommAbort (any thread) */
  volatile int asyncError; /* acclResult_t of failed asynchronous work */
  int destroyed;
  struct acclCollState* coll;
  struct acclTopoState* topo;
  uint64_t opCount;          /* collectives issued (sequence numbers for plans) */
  int users;                 /* entry points running on this comm (acclCommEnter); freed at 0 */
  uint64_t incarnation;      /* bumped when released: invalidates threads' cached validation */
  struct acclComm* nextFree; /* comm structs are recycled, never freed (see comm.c) */
  int configNChannels;       /* acclConfig_t.nChannels of the creating call (0: choose) */
  int creatorPid;            /* getpid() at registration: a forked child may not use the comm */
  int asyncErrorTextSet;     /* asyncErrorText is complete (release / acquire) */
  char asyncErrorText[512];  /* the text of the failure recorded as asyncError (acclGetLastError(comm)) */
  int blocking;              /* acclConfig_t.blocking of the creating call (1 unless set to 0) */
  /* acclSuccess: ready. acclInProgress: being created, or a non-blocking
   * finalize or split runs on it. An error: its creation failed (only
   * acclCommGetAsyncError, Abort and Destroy accept it then). */
  volatile int state;
  char stateError[256]; /* what failed, for acclGetLastError in the polling thread */
  int finalized;        /* acclCommFinalize done: only Destroy (local) or Abort remain */
  int enqueueBusy;      /* a thread is turning calls into a plan (two at once is refused, as NCCL forbids it) */
};

/* Validation used by every entry point: comm non-NULL, alive, not aborted,
 * ready (state acclSuccess) and not finalized. */
acclResult_t acclCommCheck(const struct acclComm* comm, const char* fn);
/* Drops the buffer registrations of a communicator being freed (bufreg.c). */
void acclBufRegReleaseComm(const struct acclComm* comm);
/* Like acclCommCheck, and keeps the comm alive (not freed by a concurrent
 * acclCommAbort / Destroy) until acclCommLeave. For entry points that wait. */
acclResult_t acclCommEnter(struct acclComm* comm, const char* fn);
void acclCommLeave(struct acclComm* comm);
/* Like acclCommCheck, but accepts a comm that is not ready or is finalized
 * (acclCommGetAsyncError). */
acclResult_t acclCommCheckAlive(const struct acclComm* comm, const char* fn);
/* Record an asynchronous failure (first one wins), with the calling thread's
 * last-error text (the WARN that named the failure), which
 * acclGetLastError(comm) returns from then on in every thread. */
void acclCommSetAsyncError(struct acclComm* comm, acclResult_t err);
/* The text of comm's asynchronous failure, or NULL (none, or comm is not a
 * live communicator). Sets no error. */
const char* acclCommAsyncErrorText(const struct acclComm* comm);

/* Registry (registry.c): a struct for a new communicator (recycled, so that a
 * stale handle can still be read), its release, and membership of the set of
 * live communicators that entry points validate against. */
struct acclComm* acclCommAlloc(int nranks, int rank, int device, const char* name, int nChannels);
void acclCommFree(struct acclComm* comm);
acclResult_t acclCommRegistryAdd(struct acclComm* comm);
void acclCommUnregister(struct acclComm* comm);
/* Destroy (abort = 0) or abort (abort = 1) starts: validates, sets the flag,
 * and waits until no entry point is inside the communicator. */
acclResult_t acclCommBeginRelease(struct acclComm* comm, int abort, const char* fn);

/* Peers (peers.c): exchange acclPeerInfo over the bootstrap and derive the
 * node layout (nodeOf, nNodes, localRank, coreSharers). */
acclResult_t acclCommExchangePeers(struct acclComm* comm);
/* The first rank on this node (by host hash) whose process is gone or a
 * zombie, or -1: every transport's blocked waits use it (/proc, no traffic). */
int acclCommDeadLocalPeer(const struct acclComm* comm);
/* The process `pid` of this node is gone or a zombie (/proc). */
int acclPidDead(int pid);
/* Pure helpers, exposed for unit tests. Node of each rank from the host
 * hashes: nodes are numbered in order of their lowest rank. Returns the
 * number of nodes. */
int acclCommComputeNodes(const uint64_t* hostHash, int nranks, int* nodeOf);
uint64_t acclHashString(const char* s, uint64_t seed);

#endif
