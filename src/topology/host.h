/* host.h - host discovery with hwloc (once per process), NUMA placement, and
 * NIC discovery (libibverbs RDMA devices, libfabric providers, network
 * interfaces). */
#ifndef ACCL_TOPO_HOST_H_
#define ACCL_TOPO_HOST_H_

#include "core/core.h"
#include "topology/node.h"

#define ACCL_HOST_MAX_NETS 16

typedef struct {
  char name[ACCL_TOPO_NAME_LEN];
  char pci[ACCL_TOPO_NAME_LEN];
  int numa;
  int rdma;     /* 1: an RDMA (verbs) device */
  double bwGBs; /* 0: unknown */
} acclHostNet;

typedef struct {
  char hostname[ACCL_TOPO_NAME_LEN];
  int packages, numaNodes, cores, pus, l3Caches, pciDevices;
  int nnets;
  acclHostNet nets[ACCL_HOST_MAX_NETS];
} acclTopoHost;

/* The host as hwloc sees it; discovered on first use, then cached. */
acclResult_t acclTopoHostGet(const acclTopoHost** host);
/* RDMA devices through libibverbs (when built with it); appends to host. */
void acclTopoHostProbeVerbs(acclTopoHost* host);
/* Log what each libfabric provider offers (fi_getinfo). Never fails. */
void acclTopoHostLogFabric(void);

/* Fill the node's host part (CPU counts) and its NICs from the host: RDMA
 * devices when there are any, else the network interfaces (used over
 * libfabric tcp, with the ACCL_TOPO_NET_* figures). A NIC is close to the
 * devices on its NUMA node (all of them when NUMA is unknown or single). */
acclResult_t acclTopoHostFillNode(const acclTopoHost* host, acclTopoNode* node);

/* Bind the calling thread to the CPUs of NUMA node `numa` (-1: leave as is).
 * Keeps within the thread's current binding and never narrows to one core. */
acclResult_t acclTopoBindThreadNuma(int numa, const char* what);
/* Bind [addr, addr+len) to NUMA node numa's memory (no-op with one node). */
acclResult_t acclTopoBindMemory(void* addr, size_t len, int numa);

#endif
