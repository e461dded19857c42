/* linkgraph.c - generated link graphs (ring, 2D torus, fully connected). */
#include "device/linkgraph.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/param.h"

static acclResult_t addLink(acclLinkGraph* g, int a, int b, int* cap) {
  if (a == b || acclLinkGraphFind(g, a, b) >= 0) return acclSuccess;
  if (g->nlinks == *cap) {
    int ncap = *cap ? *cap * 2 : 16;
    acclLink* nl = realloc(g->links, sizeof(acclLink) * (size_t)ncap);
    if (!nl) return acclSystemError;
    g->links = nl;
    *cap = ncap;
  }
  g->links[g->nlinks++] = (acclLink){a, b, ACCL_SIM_LINK_BW_GBS, ACCL_SIM_LINK_LAT_US};
  return acclSuccess;
}

void acclLinkGraphTorusShape(int n, int* rows, int* cols) {
  int r = 1;
  for (int i = 1; i * i <= n; i++)
    if (n % i == 0) r = i;
  *rows = r;
  *cols = n / r;
}

acclResult_t acclLinkGraphLoad(const char* spec, int ndev, acclLinkGraph** out) {
  if (ndev < 1) ACCL_ERROR(acclInvalidArgument, "link graph: number of devices %d must be >= 1", ndev);
  if (spec == NULL) spec = acclParamSimTopo();
  acclLinkGraph* g = calloc(1, sizeof(*g));
  if (!g) return acclSystemError;
  g->ndev = ndev;
  int cap = 0;
  acclResult_t res = acclSuccess;
  if (strcasecmp(spec, "ring") == 0) {
    snprintf(g->kind, sizeof(g->kind), "ring");
    for (int d = 0; d < ndev && res == acclSuccess && ndev > 1; d++) res = addLink(g, d, (d + 1) % ndev, &cap);
  } else if (strcasecmp(spec, "full") == 0) {
    snprintf(g->kind, sizeof(g->kind), "full");
    for (int a = 0; a < ndev && res == acclSuccess; a++)
      for (int b = a + 1; b < ndev && res == acclSuccess; b++) res = addLink(g, a, b, &cap);
  } else if (strcasecmp(spec, "torus2d") == 0) {
    snprintf(g->kind, sizeof(g->kind), "torus2d");
    acclLinkGraphTorusShape(ndev, &g->torusRows, &g->torusCols);
    int R = g->torusRows, C = g->torusCols;
    for (int r = 0; r < R && res == acclSuccess; r++)
      for (int c = 0; c < C && res == acclSuccess; c++) {
        int d = r * C + c;
        if (C > 1) res = addLink(g, d, r * C + (c + 1) % C, &cap);
        if (res == acclSuccess && R > 1) res = addLink(g, d, ((r + 1) % R) * C + c, &cap);
      }
  } else {
    snprintf(g->kind, sizeof(g->kind), "file");
    res = acclTopoXmlLoadLinks(spec, ndev, g);
  }
  if (res != acclSuccess) {
    acclLinkGraphFree(g);
    return res;
  }
  *out = g;
  return acclSuccess;
}

void acclLinkGraphFree(acclLinkGraph* g) {
  if (!g) return;
  free(g->links);
  free(g);
}

int acclLinkGraphPorts(const acclLinkGraph* g, int d) {
  int n = 0;
  for (int i = 0; i < g->nlinks; i++)
    if (g->links[i].a == d || g->links[i].b == d) n++;
  return n;
}

int acclLinkGraphFind(const acclLinkGraph* g, int a, int b) {
  for (int i = 0; i < g->nlinks; i++)
    if ((g->links[i].a == a && g->links[i].b == b) || (g->links[i].a == b && g->links[i].b == a)) return i;
  return -1;
}
