/* peers.c - what every rank tells every other at init (peer information:
 * pid, host and core identity, device window), and the node layout computed
 * from it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "comm/comm.h"
#include "core/param.h"

uint64_t acclHashString(const char* s, uint64_t seed) {
  return acclIdChecksum(s, strlen(s)) ^ (seed * 0x9e3779b97f4a7c15ULL);
}

int acclCommComputeNodes(const uint64_t* hash, int nranks, int* nodeOf) {
  int nNodes = 0;
  for (int r = 0; r < nranks; r++) {
    nodeOf[r] = -1;
    for (int q = 0; q < r; q++)
      if (hash[q] == hash[r]) {
        nodeOf[r] = nodeOf[q];
        break;
      }
    if (nodeOf[r] < 0) nodeOf[r] = nNodes++;
  }
  return nNodes;
}

static uint64_t hostHash(void) {
  const char* hostId = acclParamHostid();
  if (hostId && *hostId) return acclHashString(hostId, 1);
  char text[512] = "";
  gethostname(text, 255);
  text[255] = '\0';
  size_t len = strlen(text);
  FILE* f = fopen("/proc/sys/kernel/random/boot_id", "r");
  if (f) {
    if (fgets(text + len, (int)(sizeof(text) - len), f) == NULL) text[len] = '\0';
    fclose(f);
  }
  return acclHashString(text, 2);
}

/* The kernel instance, hence the cores: network namespaces share it. */
static uint64_t coresHash(uint64_t fallback) {
  char text[64] = "";
  FILE* f = fopen("/proc/sys/kernel/random/boot_id", "r");
  if (!f) return fallback;
  if (fgets(text, (int)sizeof(text), f) == NULL) text[0] = '\0';
  fclose(f);
  return text[0] ? acclHashString(text, 3) : fallback;
}

static acclResult_t fillPeerInfo(struct acclComm* comm, acclPeerInfo* info) {
  memset(info, 0, sizeof(*info));
  info->rank = comm->rank;
  info->device = comm->device;
  info->pid = (int)getpid();
  info->hostHash = hostHash();
  info->coresHash = coresHash(info->hostHash);
  accDeviceProp prop;
  ACCCHECK(accGetDeviceProperties(&prop, comm->device));
  info->busId = (uint64_t)(int64_t)prop.pciBusId;
  ACCCHECK(accDevWindowExport(comm->device, &info->window));
  return acclSuccess;
}

acclResult_t acclCommExchangePeers(struct acclComm* comm) {
  int n = comm->nranks;
  comm->peerInfo = calloc((size_t)n, sizeof(acclPeerInfo));
  comm->nodeOf = calloc((size_t)n, sizeof(int));
  uint64_t* hashes = calloc((size_t)n, sizeof(uint64_t));
  acclResult_t res = acclSuccess;
  if (!comm->peerInfo || !comm->nodeOf || !hashes) {
    WARN("out of memory for the peer table of %d ranks", n);
    res = acclSystemError;
    goto out;
  }
  ACCLCHECKGOTO(fillPeerInfo(comm, &comm->peerInfo[comm->rank]), res, out);
  ACCLCHECKGOTO(acclBootstrapAllGather(comm->bootstrap, comm->peerInfo, sizeof(acclPeerInfo)), res, out);
  for (int r = 0; r < n; r++) {
    if (comm->peerInfo[r].rank != r) {
      WARN("peer table entry %d claims rank %d", r, comm->peerInfo[r].rank);
      res = acclInternalError;
      goto out;
    }
    hashes[r] = comm->peerInfo[r].hostHash;
  }
  comm->nNodes = acclCommComputeNodes(hashes, n, comm->nodeOf);
  comm->node = comm->nodeOf[comm->rank];
  comm->localRank = comm->localRanks = 0;
  for (int r = 0; r < n; r++) {
    if (comm->nodeOf[r] != comm->node) continue;
    if (r < comm->rank) comm->localRank++;
    comm->localRanks++;
  }
  comm->coreSharers = 0;
  for (int r = 0; r < n; r++)
    comm->coreSharers +=
        comm->peerInfo[r].coresHash == comm->peerInfo[comm->rank].coresHash || comm->nodeOf[r] == comm->node;
out:
  free(hashes);
  return res;
}

/* A process that is gone, or a zombie (killed, not yet reaped). */
int acclPidDead(int pid) {
  char path[64], buf[256];
  snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  FILE* f = fopen(path, "re");
  if (!f) return 1;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  char* rp = strrchr(buf, ')');
  return rp && (rp[2] == 'Z' || rp[2] == 'X');
}

int acclCommDeadLocalPeer(const struct acclComm* comm) {
  int me = comm->peerInfo[comm->rank].pid;
  for (int q = 0; q < comm->nranks; q++) {
    if (q == comm->rank || comm->nodeOf[q] != comm->node || comm->peerInfo[q].pid == me) continue;
    if (acclPidDead(comm->peerInfo[q].pid)) return q;
  }
  return -1;
}
