/* check_graph.c - validate a graph dump (ACCL_GRAPH_DUMP_FILE) of NRANKS ranks
 * placed PPN per node: it must load as a valid graph for those nodes and be
 * hierarchical: each ring enters every node once, and with several nodes the
 * trees cross nodes only between node heads/tails (one parent per node).
 * usage: check_graph FILE NRANKS PPN */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "topology/graph.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s FILE NRANKS PPN\n", argv[0]);
    return 2;
  }
  int n = atoi(argv[2]), ppn = atoi(argv[3]);
  if (n < 1 || ppn < 1) return 2;
  acclTopoGraph p;
  memset(&p, 0, sizeof(p));
  p.nranks = n;
  p.nNodes = (n + ppn - 1) / ppn;
  p.nodeOf = malloc(sizeof(int) * (size_t)n);
  for (int r = 0; r < n; r++) p.nodeOf[r] = r / ppn;
  if (acclTopoGraphLoad(argv[1], &p) != acclSuccess) {
    fprintf(stderr, "check_graph: %s\n", acclLastErrorText());
    return 1;
  }
  int bad = 0;
  for (int c = 0; c < p.nRings; c++) {
    int changes = 0;
    for (int i = 0; i < n; i++) changes += p.nodeOf[p.rings[c * n + i]] != p.nodeOf[p.rings[c * n + (i + 1) % n]];
    if (p.nNodes > 1 && changes != p.nNodes) {
      fprintf(stderr, "check_graph: ring %d enters nodes %d times, expected %d\n", c, changes, p.nNodes);
      bad = 1;
    }
  }
  for (int t = 0; t < 2 && p.nNodes > 1; t++) {
    int crossing = 0; /* tree edges between nodes: exactly nNodes-1 in a hierarchical tree */
    for (int r = 0; r < n; r++) {
      int up = p.trees[t * n + r].up;
      if (up >= 0 && p.nodeOf[up] != p.nodeOf[r]) crossing++;
    }
    if (crossing != p.nNodes - 1) {
      fprintf(stderr, "check_graph: tree %d has %d edges between nodes, expected %d\n", t, crossing, p.nNodes - 1);
      bad = 1;
    }
  }
  printf("check_graph %s: %d ranks, %d nodes, %d rings, 2 trees: %s\n", argv[1], n, p.nNodes, p.nRings,
         bad ? "FAIL" : "hierarchical, valid");
  acclTopoGraphFree(&p);
  return bad;
}
