/* topo_dot.c - Graphviz picture of a node topology and a graph: chips as
 * boxes (a torus as a grid, other graphs on a circle, one block per node),
 * links in grey, NICs as ellipses next to their devices, each ring in its own
 * colour with arrows in ring direction. Positions are pinned, so render with
 * neato (dot -Kneato). */
#include "topo_dot.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char* const ringColours[] = {"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e",
                                          "#9467bd", "#8c564b", "#e377c2", "#17becf"};
#define NCOLOURS ((int)(sizeof(ringColours) / sizeof(ringColours[0])))
#define SPACING 2.0

/* Position of device d of node k, in inches. */
static void devicePos(const acclTopoNode* node, int k, int d, double* x, double* y) {
  const acclLinkGraph* g = node->graph;
  double width;
  if (g->torusRows > 0 && g->torusCols > 0) {
    width = g->torusCols * SPACING + 2.5;
    *x = (d % g->torusCols) * SPACING;
    *y = -(d / g->torusCols) * SPACING;
  } else {
    double r = node->ndev > 1 ? SPACING * node->ndev / (2 * M_PI) + 0.6 : 0;
    width = 2 * r + 3.5;
    double a = M_PI / 2 - 2 * M_PI * d / node->ndev;
    *x = r + r * cos(a);
    *y = r * sin(a);
  }
  *x += k * width;
}

/* On a torus grid, a wrap-around link (a, b) is drawn as two stubs leaving the
 * grid edge; returns 1 and the outward direction at a when (a, b) wraps. */
static int wrapDir(const acclTopoNode* node, int a, int b, double* dx, double* dy) {
  int R = node->graph->torusRows, C = node->graph->torusCols;
  if (R <= 0 || C <= 0) return 0;
  int ra = a / C, ca = a % C, rb = b / C, cb = b % C;
  *dx = *dy = 0;
  if (ra == rb && C > 2 && abs(ca - cb) == C - 1)
    *dx = ca > cb ? 1 : -1;
  else if (ca == cb && R > 2 && abs(ra - rb) == R - 1)
    *dy = ra > rb ? -1 : 1;
  else
    return 0;
  return 1;
}

/* An edge a -> b of node k with the given attributes; wrap-around links of a
 * torus become a stub out of a and a stub into b, labelled with the far end. */
static void edge(FILE* f, const acclTopoNode* node, int k, int a, int b, const char* attrs) {
  static int ghosts;
  double dx, dy, xa, ya, xb, yb;
  if (!wrapDir(node, a, b, &dx, &dy)) {
    fprintf(f, "  n%dd%d -> n%dd%d [%s];\n", k, a, k, b, attrs);
    return;
  }
  devicePos(node, k, a, &xa, &ya);
  devicePos(node, k, b, &xb, &yb);
  int g = ghosts;
  ghosts += 2;
  double out = 0.45 * SPACING;
  fprintf(f, "  ghost%d [shape=plaintext, fontsize=9, label=\"to %d\", pos=\"%g,%g!\"];\n", g, b, xa + dx * out,
          ya + dy * out);
  fprintf(f, "  ghost%d [shape=plaintext, fontsize=9, label=\"from %d\", pos=\"%g,%g!\"];\n", g + 1, a, xb - dx * out,
          yb - dy * out);
  fprintf(f, "  n%dd%d -> ghost%d [%s, arrowhead=none];\n", k, a, g, attrs);
  fprintf(f, "  ghost%d -> n%dd%d [%s];\n", g + 1, k, b, attrs);
}

static int onRing(const acclTopoGraph* p, const int* devOf, int k, int a, int b) {
  int n = p->nranks;
  for (int c = 0; c < p->nRings; c++)
    for (int i = 0; i < n; i++) {
      int r = p->rings[c * n + i], s = p->rings[c * n + (i + 1) % n];
      if (p->nodeOf[r] == k && p->nodeOf[s] == k &&
          ((devOf[r] == a && devOf[s] == b) || (devOf[r] == b && devOf[s] == a)))
        return 1;
    }
  return 0;
}

int acclTopoWriteDot(const acclTopoNode* node, const acclTopoGraph* p, const int* devOf, FILE* f) {
  int n = p->nranks, N = p->nNodes;
  fprintf(f, "digraph topology {\n  graph [splines=false, overlap=true, fontname=\"Helvetica\", labelloc=t, label=\"");
  fprintf(f, "%s: %d devices, %d links, %d NICs; %d node%s, %d ranks; ", node->name, node->ndev, node->graph->nlinks,
          node->nnics, N, N > 1 ? "s" : "", n);
  fprintf(f, "%d ring%s (one colour each)\"];\n", p->nRings, p->nRings > 1 ? "s" : "");
  fprintf(f, "  node [fontname=\"Helvetica\", fontsize=11];\n");
  fprintf(f, "  edge [fontname=\"Helvetica\", fontsize=9];\n");
  /* legend: one coloured swatch per ring */
  for (int c = 0; c < p->nRings; c++) {
    /* across nodes, the NICs channel c leaves and enters node 0 through */
    int out = N > 1 && p->ringNic ? p->ringNic[c * N] : -1, in = N > 1 && p->ringNicIn ? p->ringNicIn[c * N] : -1;
    char nics[160] = "";
    if (out >= 0 && out < node->nnics)
      snprintf(nics, sizeof(nics), ": out %s, in %s", node->nics[out].name,
               in >= 0 && in < node->nnics ? node->nics[in].name : "-");
    fprintf(f, "  legend%d [shape=plaintext, label=\"ring %d%s\", fontcolor=\"%s\", pos=\"%g,%g!\"];\n", c, c, nics,
            ringColours[c % NCOLOURS], -2.5, -0.5 * c);
  }
  for (int k = 0; k < N; k++) {
    for (int d = 0; d < node->ndev; d++) {
      double x, y;
      devicePos(node, k, d, &x, &y);
      char ranks[256] = "";
      size_t len = 0;
      for (int r = 0; r < n && len < sizeof(ranks) - 16; r++)
        if (p->nodeOf[r] == k && devOf[r] == d)
          len += (size_t)snprintf(ranks + len, sizeof(ranks) - len, "%sr%d", len ? "," : "", r);
      char name[32];
      if (N > 1)
        snprintf(name, sizeof(name), "n%d dev %d", k, d);
      else
        snprintf(name, sizeof(name), "dev %d", d);
      fprintf(f,
              "  n%dd%d [shape=box, style=\"rounded,filled\", fillcolor=\"%s\", label=\"%s\\n%s\", pos=\"%g,%g!\"];\n",
              k, d, len ? "#fff7d6" : "#eeeeee", name, ranks, x, y);
    }
    for (int i = 0; i < node->graph->nlinks; i++) {
      const acclLink* l = &node->graph->links[i];
      if (onRing(p, devOf, k, l->a, l->b)) continue; /* drawn in the ring's colour below */
      char attrs[96];
      snprintf(attrs, sizeof(attrs), "dir=none, color=\"#b0b0b0\", label=\"%g\"", l->bwGBs);
      edge(f, node, k, l->a, l->b, attrs);
    }
    for (int i = 0; i < node->nnics; i++) {
      const acclTopoNic* nic = &node->nics[i];
      double x = 0, y = 0;
      if (nic->ndevs > 0) {
        devicePos(node, k, nic->devs[0], &x, &y);
        x += SPACING * 0.45;
        y += SPACING * 0.4;
      } else {
        devicePos(node, k, 0, &x, &y);
        y += SPACING;
      }
      fprintf(f,
              "  n%dnic%d [shape=ellipse, style=filled, fillcolor=\"#dff0ff\", fontsize=9, width=0.3, height=0.2, "
              "label=\"%s\\n%g GB/s\", pos=\"%g,%g!\"];\n",
              k, i, nic->name, nic->bwGBs, x, y);
      for (int j = 0; j < nic->ndevs; j++)
        fprintf(f, "  n%dnic%d -> n%dd%d [dir=none, style=dotted, color=\"#6fa8dc\"];\n", k, i, k, nic->devs[j]);
    }
  }
  for (int c = 0; c < p->nRings; c++) {
    const char* col = ringColours[c % NCOLOURS];
    for (int i = 0; i < n; i++) {
      int r = p->rings[c * n + i], s = p->rings[c * n + (i + 1) % n];
      int kr = p->nodeOf[r], ks = p->nodeOf[s];
      if (kr == ks && devOf[r] == devOf[s]) continue; /* ranks sharing a device */
      if (kr == ks) {
        int direct = acclLinkGraphFind(node->graph, devOf[r], devOf[s]) >= 0;
        char attrs[96];
        snprintf(attrs, sizeof(attrs), "color=\"%s\", penwidth=3%s", col,
                 direct ? "" : ", style=dashed, label=\"host\"");
        edge(f, node, kr, devOf[r], devOf[s], attrs);
      } else {
        int nic = p->ringNic ? p->ringNic[c * N + kr] : -1;
        if (nic >= 0) {
          fprintf(f, "  n%dd%d -> n%dnic%d [color=\"%s\", penwidth=2, style=dashed];\n", kr, devOf[r], kr, nic, col);
          fprintf(f, "  n%dnic%d -> n%dd%d [color=\"%s\", penwidth=2, style=dashed, label=\"net\"];\n", kr, nic, ks,
                  devOf[s], col);
        } else {
          fprintf(f, "  n%dd%d -> n%dd%d [color=\"%s\", penwidth=2, style=dashed, label=\"net\"];\n", kr, devOf[r], ks,
                  devOf[s], col);
        }
      }
    }
  }
  fputs("}\n", f);
  return ferror(f) ? -1 : 0;
}
