/* topo.c - per-communicator topology: describe the node, compute the graph
 * (rings and trees) for the communicator's ranks, fill the cost-model figures, honour the
 * dump / force files, log the graph and the NUMA placement. */
#include "topology/topo.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "comm/comm.h"
#include "core/param.h"
#include "topology/host.h"
#include "topology/node.h"
#include "topology/graph.h"

/* Node description of this process: ACCL_TOPO_FILE, or detected (devices and
 * links from the device layer, CPUs and NICs from the host). */
acclResult_t acclTopoNodeDetect(acclTopoNode** out) {
  const char* file = acclParamTopoFile();
  if (file && file[0]) return acclTopoNodeLoad(file, out);
  int ndev = 0;
  ACCCHECK(accGetDeviceCount(&ndev));
  acclLinkGraph* g = NULL;
  ACCLCHECK(acclLinkGraphLoad(NULL, ndev, &g));
  acclResult_t res = acclTopoNodeFromGraph(g, out);
  acclLinkGraphFree(g);
  ACCLCHECK(res);
  acclTopoNode* n = *out;
  const acclTopoHost* host = NULL;
  ACCLCHECKGOTO(acclTopoHostGet(&host), res, fail);
  snprintf(n->name, sizeof(n->name), "%s", host->hostname);
  for (int d = 0; d < ndev; d++) {
    accDeviceProp prop;
    if (accGetDeviceProperties(&prop, d) != accSuccess) continue;
    snprintf(n->devs[d].pci, sizeof(n->devs[d].pci), "0000:%02x:00.0", prop.pciBusId & 0xff);
    /* a simulated chip has no PCI slot: spread the chips over the host's NUMA nodes */
    n->devs[d].numa = prop.numaNode >= 0 ? prop.numaNode : (host->numaNodes > 0 ? d % host->numaNodes : -1);
  }
  ACCLCHECKGOTO(acclTopoHostFillNode(host, n), res, fail);
  return acclSuccess;
fail:
  acclTopoNodeFree(n);
  *out = NULL;
  return res;
}

static void logFabricOnce(void) { acclTopoHostLogFabric(); }

/* INFO each line of the printed graph. */
static void logGraph(const struct acclComm* comm, const acclTopoGraph* graph) {
  if (!ACCL_LOG_ON(ACCL_LOG_INFO, ACCL_TOPO)) return;
  char* buf = NULL;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  if (!f) return;
  acclTopoGraphPrint(graph, f);
  fclose(f);
  for (char *line = buf, *nl; line && *line; line = nl ? nl + 1 : NULL) {
    nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    INFO(ACCL_TOPO, "comm %s: %s", comm->name, line);
  }
  free(buf);
}

static int channelsWanted(const struct acclComm* comm) {
  if (comm->configNChannels > 0) return comm->configNChannels;
  return (int)acclParamNchannels();
}

static acclResult_t graphForComm(struct acclComm* comm, const acclTopoNode* node, acclTopoGraph* graph) {
  int n = comm->nranks;
  int* devOf = malloc(sizeof(int) * (size_t)n);
  if (!devOf) return acclSystemError;
  for (int r = 0; r < n; r++) devOf[r] = comm->peerInfo[r].device;
  int nch = channelsWanted(comm);
  acclResult_t res = acclSuccess;
  if (nch < 0 || nch > ACCL_TOPO_MAX_RINGS) {
    WARN("ACCL_NCHANNELS / config nChannels = %d: must be 0 (choose) .. %d", nch, ACCL_TOPO_MAX_RINGS);
    res = acclInvalidArgument;
    goto out;
  }
  ACCLCHECKGOTO(acclTopoGraphCompute(node, n, devOf, comm->nodeOf, nch, graph), res, out);
  const char* force = acclParamGraphFile();
  if (force && force[0]) {
    ACCLCHECKGOTO(acclTopoGraphLoad(force, graph), res, out);
    acclTopoGraphCost(node, devOf, graph);
  }
out:
  free(devOf);
  return res;
}

static void bindEngine(int numa, const char* what) { acclTopoBindThreadNuma(numa, what); }

acclResult_t acclTopoInit(struct acclComm* comm) {
  static pthread_once_t fabricOnce = PTHREAD_ONCE_INIT;
  pthread_once(&fabricOnce, logFabricOnce);
  struct acclTopoState* ts = calloc(1, sizeof(*ts));
  if (!ts) return acclSystemError;
  acclTopoNode* node = NULL;
  acclTopoGraph graph;
  memset(&graph, 0, sizeof(graph));
  acclResult_t res;
  ACCLCHECKGOTO(acclTopoNodeDetect(&node), res, fail);
  const char* dump = acclParamTopoDumpFile();
  if (dump && dump[0] && comm->rank == 0) ACCLCHECKGOTO(acclTopoNodeDump(node, dump), res, fail);
  ACCLCHECKGOTO(graphForComm(comm, node, &graph), res, fail);
  const char* gdump = acclParamGraphDumpFile();
  if (gdump && gdump[0] && comm->rank == 0) ACCLCHECKGOTO(acclTopoGraphDump(&graph, gdump), res, fail);
  logGraph(comm, &graph);

  ts->nRings = graph.nRings;
  ts->rings = graph.rings;
  ts->nTrees = graph.nTrees;
  ts->trees = graph.trees;
  for (int t = 0; t < graph.nTrees && t < (int)(sizeof(ts->treeRoot) / sizeof(ts->treeRoot[0])); t++)
    ts->treeRoot[t] = graph.treeRoot[t];
  graph.rings = NULL;
  graph.trees = NULL;
  ts->bwIntra = graph.bwIntra;
  ts->latIntra = graph.latIntra;
  ts->bwInter = graph.bwInter;
  ts->latInter = graph.latInter;
  ts->bwNet = graph.bwNet;
  ts->bwCopy = graph.bwCopy;
  ts->nNodes = graph.nNodes;
  ts->nic = acclTopoNodeNicOf(node, comm->device < node->ndev ? comm->device : 0, 0);
  if (ts->nic >= 0) snprintf(ts->nicName, sizeof(ts->nicName), "%s", node->nics[ts->nic].name);
  ts->numaNode = comm->device < node->ndev ? node->devs[comm->device].numa : -1;
  /* the device's engine threads run NUMA-locally to it (they bind themselves) */
  accDevPlaceEngines(comm->device, ts->numaNode, bindEngine);
  INFO(ACCL_TOPO,
       "comm %s rank %d: device %d NUMA %d (engine and proxy threads bind there), NIC %s; %d rings, "
       "intra %g GB/s %g us, inter %g GB/s %g us",
       comm->name, comm->rank, comm->device, ts->numaNode, ts->nic >= 0 ? ts->nicName : "none", ts->nRings, ts->bwIntra,
       ts->latIntra, ts->bwInter, ts->latInter);
  acclTopoGraphFree(&graph);
  acclTopoNodeFree(node);
  comm->topo = ts;
  return acclSuccess;
fail:
  acclTopoGraphFree(&graph);
  acclTopoNodeFree(node);
  free(ts);
  return res;
}

void acclTopoFini(struct acclComm* comm) {
  if (!comm || !comm->topo) return;
  free(comm->topo->rings);
  free(comm->topo->trees);
  free(comm->topo);
  comm->topo = NULL;
}
