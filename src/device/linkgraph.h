/* linkgraph.h - the chip-to-chip link graph of the accelerators of one node.
 * Both the device layer (link ports per device) and the topology planner read
 * it, so it lives in the lower of the two. ACCL_SIM_TOPO selects it: "ring", "torus2d", "full" or an XML file. */
#ifndef ACCL_LINKGRAPH_H_
#define ACCL_LINKGRAPH_H_

#include "core/core.h"

typedef struct {
  int a, b;     /* device indices; links are bidirectional */
  double bwGBs; /* per direction, GB/s */
  double latUs; /* one-way latency, microseconds */
} acclLink;

typedef struct {
  int ndev;
  int nlinks;
  acclLink* links;
  char kind[32];            /* "ring", "torus2d", "full", "file" */
  int torusRows, torusCols; /* for torus2d */
} acclLinkGraph;

/* Default figures of a simulated chip-to-chip link. */
#define ACCL_SIM_LINK_BW_GBS 100.0
#define ACCL_SIM_LINK_LAT_US 1.0

/* Build the graph of ndev devices from a spec (NULL: ACCL_SIM_TOPO, default "ring"). */
acclResult_t acclLinkGraphLoad(const char* spec, int ndev, acclLinkGraph** out);
void acclLinkGraphFree(acclLinkGraph* g);
/* Number of links touching device d. */
int acclLinkGraphPorts(const acclLinkGraph* g, int d);
/* Index of the link between a and b, or -1. */
int acclLinkGraphFind(const acclLinkGraph* g, int a, int b);
/* Factor n into rows x cols as square as possible (rows <= cols). */
void acclLinkGraphTorusShape(int n, int* rows, int* cols);

/* Provided by the topology XML reader (src/topology/): load the <links> of a node file. */
acclResult_t acclTopoXmlLoadLinks(const char* path, int ndev, acclLinkGraph* g);

#endif
