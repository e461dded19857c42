/* node.h - the description of one node: host CPUs, accelerator devices, the
 * chip-to-chip link graph and the NICs with the devices they are close to.
 * One XML format serves ACCL_TOPO_FILE, ACCL_TOPO_DUMP_FILE and
 * ACCL_SIM_TOPO=FILE:
 *
 *   <node name="trn1-like" rows="4" cols="4" membw="820">  rows/cols: optional torus shape;
 *                                                      membw: optional device memory GB/s
 *     <cpu packages="2" numa="2" cores="64" pus="128"/> optional
 *     <device id="0" pci="0000:10:00.0" numa="0"/>      ids 0..n-1, each once
 *     <link a="0" b="1" bw="100" lat="1"/>              GB/s per direction, microseconds
 *     <nic name="efa0" pci="0000:20:00.0" numa="0" bw="12.5" lat="10" devices="0,1"/>
 *   </node>
 *
 * Loading a dump and dumping it again gives the same bytes. */
#ifndef ACCL_TOPO_NODE_H_
#define ACCL_TOPO_NODE_H_

#include <stdio.h>
#include "core/core.h"
#include "device/linkgraph.h"

#define ACCL_TOPO_NAME_LEN 64

typedef struct {
  int id;
  char pci[ACCL_TOPO_NAME_LEN]; /* "" when unknown */
  int numa;                     /* host NUMA node, -1 unknown */
} acclTopoDevice;

typedef struct {
  char name[ACCL_TOPO_NAME_LEN];
  char pci[ACCL_TOPO_NAME_LEN];
  int numa;
  double bwGBs, latUs;
  int ndevs;
  int* devs; /* devices this NIC is closest to */
} acclTopoNic;

typedef struct {
  char name[ACCL_TOPO_NAME_LEN];
  int packages, numaNodes, cores, pus; /* 0: unknown (no <cpu> element) */
  double memBwGBs;                     /* device memory copy bandwidth, GB/s; 0: unknown (host memory) */
  int ndev;
  acclTopoDevice* devs;
  acclLinkGraph* graph; /* graph->ndev == ndev */
  int nnics;
  acclTopoNic* nics;
} acclTopoNode;

/* Load and validate a node file. Errors name the file, line and problem. A
 * bare name that is no file here (trn1-like) loads an installed topology
 * (ACCL_TOPO_DATADIR/trn1-like.xml). */
acclResult_t acclTopoNodeLoad(const char* name, acclTopoNode** out);
/* Node of ndev devices from a generated link graph spec ("ring", "torus2d",
 * "full"), no NICs, no host information. */
acclResult_t acclTopoNodeFromSpec(const char* spec, int ndev, acclTopoNode** out);
/* Node whose devices and links come from an existing graph (copied). */
acclResult_t acclTopoNodeFromGraph(const acclLinkGraph* g, acclTopoNode** out);
acclResult_t acclTopoNodeWrite(const acclTopoNode* n, FILE* f);
acclResult_t acclTopoNodeDump(const acclTopoNode* n, const char* path);
void acclTopoNodeFree(acclTopoNode* n);
/* This process's node: ACCL_TOPO_FILE when set, else detected (devices from
 * the device runtime, links from ACCL_SIM_TOPO, CPUs and NICs from the host). */
acclResult_t acclTopoNodeDetect(acclTopoNode** out);
/* Append a NIC (copies devs). */
acclResult_t acclTopoNodeAddNic(acclTopoNode* n, const char* name, const char* pci, int numa, double bwGBs,
                                double latUs, const int* devs, int ndevs);
/* The NIC device dev should use: one that lists dev (the `channel`-th of them
 * when several do), else one on dev's NUMA node, else round-robin by device.
 * -1 when the node has no NIC. */
int acclTopoNodeNicOf(const acclTopoNode* n, int dev, int channel);

#endif
