/* node.c - node descriptions: XML load with validation, dump, NIC affinity. */
#include "topology/node.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "topology/xml.h"

#ifndef ACCL_TOPO_DATADIR
#error "ACCL_TOPO_DATADIR (the installed topology directory) must be defined by the build"
#endif

void acclTopoNodeFree(acclTopoNode* n) {
  if (!n) return;
  for (int i = 0; i < n->nnics; i++) free(n->nics[i].devs);
  free(n->nics);
  free(n->devs);
  acclLinkGraphFree(n->graph);
  free(n);
}

acclResult_t acclTopoNodeAddNic(acclTopoNode* n, const char* name, const char* pci, int numa, double bwGBs,
                                double latUs, const int* devs, int ndevs) {
  acclTopoNic* nn = realloc(n->nics, sizeof(*nn) * (size_t)(n->nnics + 1));
  if (!nn) return acclSystemError;
  n->nics = nn;
  acclTopoNic* nic = &n->nics[n->nnics];
  memset(nic, 0, sizeof(*nic));
  snprintf(nic->name, sizeof(nic->name), "%s", name);
  snprintf(nic->pci, sizeof(nic->pci), "%s", pci ? pci : "");
  nic->numa = numa;
  nic->bwGBs = bwGBs;
  nic->latUs = latUs;
  if (ndevs > 0) {
    nic->devs = malloc(sizeof(int) * (size_t)ndevs);
    if (!nic->devs) return acclSystemError;
    memcpy(nic->devs, devs, sizeof(int) * (size_t)ndevs);
  }
  nic->ndevs = ndevs;
  n->nnics++;
  return acclSuccess;
}

static acclResult_t allocDevices(acclTopoNode* n, int ndev) {
  n->ndev = ndev;
  n->devs = calloc((size_t)ndev, sizeof(acclTopoDevice));
  if (!n->devs) return acclSystemError;
  for (int d = 0; d < ndev; d++) n->devs[d] = (acclTopoDevice){d, "", -1};
  return acclSuccess;
}

acclResult_t acclTopoNodeFromGraph(const acclLinkGraph* g, acclTopoNode** out) {
  acclTopoNode* n = calloc(1, sizeof(*n));
  if (!n) return acclSystemError;
  acclResult_t res = acclSystemError;
  snprintf(n->name, sizeof(n->name), "%s%d", g->kind, g->ndev);
  if (allocDevices(n, g->ndev) != acclSuccess) goto fail;
  n->graph = calloc(1, sizeof(*n->graph));
  if (!n->graph) goto fail;
  *n->graph = *g;
  n->graph->links = NULL;
  if (g->nlinks) {
    n->graph->links = malloc(sizeof(acclLink) * (size_t)g->nlinks);
    if (!n->graph->links) goto fail;
    memcpy(n->graph->links, g->links, sizeof(acclLink) * (size_t)g->nlinks);
  }
  *out = n;
  return acclSuccess;
fail:
  acclTopoNodeFree(n);
  return res;
}

acclResult_t acclTopoNodeFromSpec(const char* spec, int ndev, acclTopoNode** out) {
  acclLinkGraph* g = NULL;
  ACCLCHECK(acclLinkGraphLoad(spec, ndev, &g));
  acclResult_t res = acclTopoNodeFromGraph(g, out);
  acclLinkGraphFree(g);
  return res;
}

/* ------------------------------------------------------------------ load */

static const char* const nodeAttrs[] = {"name", "rows", "cols", "membw", NULL};
static const char* const cpuAttrs[] = {"packages", "numa", "cores", "pus", NULL};
static const char* const devAttrs[] = {"id", "pci", "numa", NULL};
static const char* const linkAttrs[] = {"a", "b", "bw", "lat", NULL};
static const char* const nicAttrs[] = {"name", "pci", "numa", "bw", "lat", "devices", NULL};

static void copyAttr(const acclXmlElem* e, const char* name, char* dst, size_t len) {
  const char* v = acclXmlAttrGet(e, name);
  snprintf(dst, len, "%s", v ? v : "");
}

/* First pass: devices (so links and NICs can refer to any of them). */
static acclResult_t loadDevices(const acclXmlDoc* doc, acclTopoNode* n) {
  int ndev = 0;
  for (int i = 1; i < doc->nelems; i++)
    if (strcmp(doc->elems[i].name, "device") == 0) ndev++;
  if (ndev == 0) return acclXmlError(doc, &doc->elems[0], "no <device> element: a node needs at least one device");
  ACCLCHECK(allocDevices(n, ndev));
  char* seen = calloc((size_t)ndev, 1);
  if (!seen) return acclSystemError;
  acclResult_t res = acclSuccess;
  for (int i = 1; i < doc->nelems && res == acclSuccess; i++) {
    const acclXmlElem* e = &doc->elems[i];
    if (strcmp(e->name, "device") != 0) continue;
    int id = -1, numa = -1;
    if ((res = acclXmlCheckAttrs(doc, e, devAttrs)) != acclSuccess) break;
    if ((res = acclXmlGetInt(doc, e, "id", 1, &id)) != acclSuccess) break;
    if ((res = acclXmlGetInt(doc, e, "numa", 0, &numa)) != acclSuccess) break;
    if (id < 0 || id >= ndev) {
      res =
          acclXmlError(doc, e, "device id %d out of range: the %d devices must be numbered 0..%d", id, ndev, ndev - 1);
    } else if (seen[id]) {
      res = acclXmlError(doc, e, "device id %d declared twice", id);
    } else {
      seen[id] = 1;
      n->devs[id].numa = numa;
      copyAttr(e, "pci", n->devs[id].pci, sizeof(n->devs[id].pci));
    }
  }
  free(seen);
  return res;
}

static acclResult_t checkDevice(const acclXmlDoc* doc, const acclXmlElem* e, const acclTopoNode* n, int d,
                                const char* what) {
  if (d < 0 || d >= n->ndev)
    return acclXmlError(doc, e, "%s refers to unknown device %d (devices are 0..%d)", what, d, n->ndev - 1);
  return acclSuccess;
}

static acclResult_t loadLink(const acclXmlDoc* doc, const acclXmlElem* e, acclTopoNode* n, int* cap) {
  acclLink l = {-1, -1, 0, 0};
  ACCLCHECK(acclXmlCheckAttrs(doc, e, linkAttrs));
  ACCLCHECK(acclXmlGetInt(doc, e, "a", 1, &l.a));
  ACCLCHECK(acclXmlGetInt(doc, e, "b", 1, &l.b));
  ACCLCHECK(acclXmlGetDouble(doc, e, "bw", 1, &l.bwGBs));
  l.latUs = ACCL_SIM_LINK_LAT_US;
  ACCLCHECK(acclXmlGetDouble(doc, e, "lat", 0, &l.latUs));
  ACCLCHECK(checkDevice(doc, e, n, l.a, "link end a"));
  ACCLCHECK(checkDevice(doc, e, n, l.b, "link end b"));
  if (l.a == l.b) return acclXmlError(doc, e, "link from device %d to itself", l.a);
  if (l.bwGBs < 0) return acclXmlError(doc, e, "negative bandwidth bw=%g", l.bwGBs);
  if (l.bwGBs == 0) return acclXmlError(doc, e, "bandwidth bw must be > 0");
  if (l.latUs < 0) return acclXmlError(doc, e, "negative latency lat=%g", l.latUs);
  acclLinkGraph* g = n->graph;
  if (acclLinkGraphFind(g, l.a, l.b) >= 0) return acclXmlError(doc, e, "link %d-%d given twice", l.a, l.b);
  if (g->nlinks == *cap) {
    int ncap = *cap ? 2 * *cap : 16;
    acclLink* nl = realloc(g->links, sizeof(acclLink) * (size_t)ncap);
    if (!nl) return acclSystemError;
    g->links = nl;
    *cap = ncap;
  }
  g->links[g->nlinks++] = l;
  return acclSuccess;
}

static acclResult_t loadNic(const acclXmlDoc* doc, const acclXmlElem* e, acclTopoNode* n) {
  char name[ACCL_TOPO_NAME_LEN], pci[ACCL_TOPO_NAME_LEN];
  int numa = -1, ndevs = 0, *devs = NULL;
  double bw = 0, lat = 0;
  ACCLCHECK(acclXmlCheckAttrs(doc, e, nicAttrs));
  if (!acclXmlAttrGet(e, "name")) return acclXmlError(doc, e, "missing attribute name");
  copyAttr(e, "name", name, sizeof(name));
  copyAttr(e, "pci", pci, sizeof(pci));
  ACCLCHECK(acclXmlGetInt(doc, e, "numa", 0, &numa));
  ACCLCHECK(acclXmlGetDouble(doc, e, "bw", 1, &bw));
  ACCLCHECK(acclXmlGetDouble(doc, e, "lat", 1, &lat));
  if (bw <= 0) return acclXmlError(doc, e, bw < 0 ? "negative bandwidth bw=%g" : "bandwidth bw=%g must be > 0", bw);
  if (lat < 0) return acclXmlError(doc, e, "negative latency lat=%g", lat);
  for (int i = 0; i < n->nnics; i++)
    if (strcmp(n->nics[i].name, name) == 0) return acclXmlError(doc, e, "NIC %s declared twice", name);
  ACCLCHECK(acclXmlGetIntList(doc, e, "devices", &devs, &ndevs));
  acclResult_t res = acclSuccess;
  for (int i = 0; i < ndevs && res == acclSuccess; i++) res = checkDevice(doc, e, n, devs[i], "devices");
  if (res == acclSuccess) res = acclTopoNodeAddNic(n, name, pci, numa, bw, lat, devs, ndevs);
  free(devs);
  return res;
}

static acclResult_t loadDoc(const acclXmlDoc* doc, acclTopoNode* n) {
  const acclXmlElem* root = &doc->elems[0];
  if (strcmp(root->name, "node") != 0) return acclXmlError(doc, root, "the root element must be <node>");
  ACCLCHECK(acclXmlCheckAttrs(doc, root, nodeAttrs));
  copyAttr(root, "name", n->name, sizeof(n->name));
  ACCLCHECK(loadDevices(doc, n));
  n->graph = calloc(1, sizeof(*n->graph));
  if (!n->graph) return acclSystemError;
  n->graph->ndev = n->ndev;
  snprintf(n->graph->kind, sizeof(n->graph->kind), "file");
  int rows = 0, cols = 0;
  ACCLCHECK(acclXmlGetInt(doc, root, "rows", 0, &rows));
  ACCLCHECK(acclXmlGetInt(doc, root, "cols", 0, &cols));
  if (rows || cols) {
    if (rows <= 0 || cols <= 0 || rows * cols != n->ndev)
      return acclXmlError(doc, root, "rows=%d x cols=%d does not match the %d devices", rows, cols, n->ndev);
    n->graph->torusRows = rows;
    n->graph->torusCols = cols;
  }
  ACCLCHECK(acclXmlGetDouble(doc, root, "membw", 0, &n->memBwGBs));
  if (n->memBwGBs < 0) return acclXmlError(doc, root, "negative device memory bandwidth membw=%g", n->memBwGBs);
  int cap = 0, sawCpu = 0;
  for (int i = 1; i < doc->nelems; i++) {
    const acclXmlElem* e = &doc->elems[i];
    if (e->parent != 0) return acclXmlError(doc, e, "unexpected element inside <%s>", doc->elems[e->parent].name);
    if (strcmp(e->name, "device") == 0) continue; /* done in loadDevices */
    if (strcmp(e->name, "link") == 0) {
      ACCLCHECK(loadLink(doc, e, n, &cap));
    } else if (strcmp(e->name, "nic") == 0) {
      ACCLCHECK(loadNic(doc, e, n));
    } else if (strcmp(e->name, "cpu") == 0) {
      if (sawCpu++) return acclXmlError(doc, e, "more than one <cpu> element");
      ACCLCHECK(acclXmlCheckAttrs(doc, e, cpuAttrs));
      ACCLCHECK(acclXmlGetInt(doc, e, "packages", 0, &n->packages));
      ACCLCHECK(acclXmlGetInt(doc, e, "numa", 0, &n->numaNodes));
      ACCLCHECK(acclXmlGetInt(doc, e, "cores", 0, &n->cores));
      ACCLCHECK(acclXmlGetInt(doc, e, "pus", 0, &n->pus));
      if (n->packages < 0 || n->numaNodes < 0 || n->cores < 0 || n->pus < 0)
        return acclXmlError(doc, e, "negative CPU count");
    } else {
      return acclXmlError(doc, e, "unknown element (expected cpu, device, link or nic)");
    }
  }
  return acclSuccess;
}

/* A bare name (no '/') that is not a file here names a shipped topology:
 * NAME.xml (or NAME) in the installed directory ACCL_TOPO_DATADIR. */
static acclResult_t resolveTopoPath(const char* path, char* buf, size_t len, const char** resolved) {
  *resolved = path;
  if (strchr(path, '/') || access(path, F_OK) == 0) return acclSuccess;
  size_t n = strlen(path);
  const char* ext = n > 4 && strcmp(path + n - 4, ".xml") == 0 ? "" : ".xml";
  if ((size_t)snprintf(buf, len, "%s/%s%s", ACCL_TOPO_DATADIR, path, ext) >= len)
    ACCL_ARG_ERROR(acclInvalidArgument, "topology '%s': name too long", path);
  if (access(buf, R_OK) != 0)
    ACCL_ARG_ERROR(acclInvalidArgument,
                   "topology '%s': no such file here, and no %s%s among the installed topologies in %s", path, path,
                   ext, ACCL_TOPO_DATADIR);
  *resolved = buf;
  return acclSuccess;
}

acclResult_t acclTopoNodeLoad(const char* name, acclTopoNode** out) {
  if (name == NULL) ACCL_ARG_ERROR(acclInvalidArgument, "topology file: path is NULL");
  char buf[4096];
  const char* path;
  ACCLCHECK(resolveTopoPath(name, buf, sizeof(buf), &path));
  acclXmlDoc* doc = NULL;
  ACCLCHECK(acclXmlParseFile(path, &doc));
  acclTopoNode* n = calloc(1, sizeof(*n));
  if (!n) {
    acclXmlFree(doc);
    return acclSystemError;
  }
  acclResult_t res = loadDoc(doc, n);
  acclXmlFree(doc);
  if (res != acclSuccess) {
    acclTopoNodeFree(n);
    return res;
  }
  INFO(ACCL_TOPO, "topology file %s: node %s, %d devices, %d links, %d NICs", path, n->name, n->ndev, n->graph->nlinks,
       n->nnics);
  *out = n;
  return acclSuccess;
}

/* Used by the link graph for ACCL_SIM_TOPO=FILE: the file must describe exactly ndev devices. */
acclResult_t acclTopoXmlLoadLinks(const char* path, int ndev, acclLinkGraph* g) {
  acclTopoNode* n = NULL;
  ACCLCHECK(acclTopoNodeLoad(path, &n));
  acclResult_t res = acclSuccess;
  if (n->ndev != ndev) {
    WARN("%s: the file describes %d devices but %d are configured (ACCL_SIM_DEVICES)", path, n->ndev, ndev);
    res = acclInvalidArgument;
  } else {
    free(g->links);
    g->links = n->graph->links;
    g->nlinks = n->graph->nlinks;
    g->torusRows = n->graph->torusRows;
    g->torusCols = n->graph->torusCols;
    n->graph->links = NULL;
    n->graph->nlinks = 0;
  }
  acclTopoNodeFree(n);
  return res;
}

/* ------------------------------------------------------------------ dump */

acclResult_t acclTopoNodeWrite(const acclTopoNode* n, FILE* f) {
  fputs("<?xml version=\"1.0\"?>\n<node name=\"", f);
  acclXmlWriteEscaped(f, n->name);
  fputc('"', f);
  if (n->graph->torusRows > 0 && n->graph->torusCols > 0)
    fprintf(f, " rows=\"%d\" cols=\"%d\"", n->graph->torusRows, n->graph->torusCols);
  if (n->memBwGBs > 0) fprintf(f, " membw=\"%g\"", n->memBwGBs);
  fputs(">\n", f);
  if (n->packages || n->numaNodes || n->cores || n->pus)
    fprintf(f, "  <cpu packages=\"%d\" numa=\"%d\" cores=\"%d\" pus=\"%d\"/>\n", n->packages, n->numaNodes, n->cores,
            n->pus);
  for (int d = 0; d < n->ndev; d++) {
    fprintf(f, "  <device id=\"%d\" pci=\"", d);
    acclXmlWriteEscaped(f, n->devs[d].pci);
    fprintf(f, "\" numa=\"%d\"/>\n", n->devs[d].numa);
  }
  for (int i = 0; i < n->graph->nlinks; i++) {
    const acclLink* l = &n->graph->links[i];
    fprintf(f, "  <link a=\"%d\" b=\"%d\" bw=\"%g\" lat=\"%g\"/>\n", l->a, l->b, l->bwGBs, l->latUs);
  }
  for (int i = 0; i < n->nnics; i++) {
    const acclTopoNic* nic = &n->nics[i];
    fputs("  <nic name=\"", f);
    acclXmlWriteEscaped(f, nic->name);
    fputs("\" pci=\"", f);
    acclXmlWriteEscaped(f, nic->pci);
    fprintf(f, "\" numa=\"%d\" bw=\"%g\" lat=\"%g\" devices=\"", nic->numa, nic->bwGBs, nic->latUs);
    for (int k = 0; k < nic->ndevs; k++) fprintf(f, "%s%d", k ? "," : "", nic->devs[k]);
    fputs("\"/>\n", f);
  }
  fputs("</node>\n", f);
  return ferror(f) ? acclSystemError : acclSuccess;
}

static acclResult_t writeNode(const void* n, FILE* f) { return acclTopoNodeWrite(n, f); }

acclResult_t acclTopoNodeDump(const acclTopoNode* n, const char* path) {
  return acclXmlWriteFile(path, "topology dump", writeNode, n);
}

/* ------------------------------------------------------------ NIC choice */

int acclTopoNodeNicOf(const acclTopoNode* n, int dev, int channel) {
  if (n->nnics == 0) return -1;
  int close[64], nclose = 0;
  for (int i = 0; i < n->nnics && nclose < 64; i++)
    for (int k = 0; k < n->nics[i].ndevs; k++)
      if (n->nics[i].devs[k] == dev) close[nclose++] = i;
  if (nclose == 0 && dev >= 0 && dev < n->ndev && n->devs[dev].numa >= 0)
    for (int i = 0; i < n->nnics && nclose < 64; i++)
      if (n->nics[i].numa == n->devs[dev].numa) close[nclose++] = i;
  if (channel < 0) channel = 0;
  if (nclose) return close[channel % nclose];
  return (dev < 0 ? 0 : dev + channel) % n->nnics;
}
