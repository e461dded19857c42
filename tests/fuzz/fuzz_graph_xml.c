/* fuzz_graph_xml.c - libFuzzer harness: the graph file reader
 * (ACCL_GRAPH_FILE: acclTopoGraphLoad, which must refuse every ring or tree
 * that does not fit the communicator). The first byte picks the
 * communicator: nranks 1..16 and 1..4 nodes (consecutive ranks per node);
 * the rest is the file. Oracles: no crash or sanitizer report; a refusal
 * leaves an error text; an accepted graph passes acclTopoGraphCheck, and its
 * dump loads again to the same rings and trees. */
#include "fuzz_common.h"
#include "topology/graph.h"

static void initPlan(acclTopoGraph* p, int n, int nodes) {
  memset(p, 0, sizeof(*p));
  p->nranks = n;
  p->nNodes = nodes;
  p->nodeOf = malloc(sizeof(int) * (size_t)n);
  for (int r = 0; r < n; r++) p->nodeOf[r] = r * nodes / n;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static int once;
  if (!once++) fuzzQuiet();
  if (size < 1) return 0;
  int n = 1 + (data[0] & 15), nodes = 1 + ((data[0] >> 4) & 3);
  if (nodes > n) nodes = n;
  char path[64];
  int fd = fuzzMemFile(data + 1, size - 1, path, sizeof(path));
  if (fd < 0) return 0;
  acclTopoGraph p;
  initPlan(&p, n, nodes);
  acclSetLastError("%s", "");
  acclResult_t r = acclTopoGraphLoad(path, &p);
  close(fd);
  if (r != acclSuccess) {
    fuzzCheckRefusal();
    acclTopoGraphFree(&p);
    return 0;
  }
  char why[256];
  if (acclTopoGraphCheck(&p, why, sizeof(why)) != 0) FUZZ_FAIL("accepted an invalid graph: %s", why);
  /* round trip */
  fd = fuzzMemFile("", 0, path, sizeof(path));
  FILE* f = fd >= 0 ? fopen(path, "w") : NULL;
  if (f) {
    acclTopoGraphWrite(&p, f);
    fclose(f);
    acclTopoGraph q;
    initPlan(&q, n, nodes);
    if (acclTopoGraphLoad(path, &q) != acclSuccess) FUZZ_FAIL("the dump of an accepted graph does not load");
    if (q.nRings != p.nRings || memcmp(q.rings, p.rings, sizeof(int) * (size_t)(p.nRings * n)) != 0 ||
        memcmp(q.trees, p.trees, sizeof(acclTreeNode) * (size_t)(2 * n)) != 0 || q.treeRoot[0] != p.treeRoot[0] ||
        q.treeRoot[1] != p.treeRoot[1])
      FUZZ_FAIL("the dump of an accepted graph loads to other rings or trees");
    acclTopoGraphFree(&q);
  }
  if (fd >= 0) close(fd);
  acclTopoGraphFree(&p);
  return 0;
}
