/* fuzz_topo_xml.c - libFuzzer harness: the topology file reader
 * (ACCL_TOPO_FILE / ACCL_SIM_TOPO=FILE: acclXmlParseFile + acclTopoNodeLoad),
 * and the planner fed with what it accepted. Oracles: no crash or sanitizer
 * report (UBSan included); a refusal leaves an error text; an accepted file
 * dumps to a file that loads again and dumps to the same bytes. */
#include "fuzz_common.h"
#include "topology/node.h"
#include "topology/graph.h"

static char* dumpNode(const acclTopoNode* n) {
  char path[64];
  int fd = fuzzMemFile("", 0, path, sizeof(path));
  if (fd < 0) return NULL;
  FILE* f = fopen(path, "w");
  char* text = NULL;
  if (f && acclTopoNodeWrite(n, f) == acclSuccess && fclose(f) == 0)
    text = fuzzSlurp(fd, NULL);
  else if (f)
    fclose(f);
  close(fd);
  return text;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static int once;
  if (!once++) fuzzQuiet();
  char path[64];
  int fd = fuzzMemFile(data, size, path, sizeof(path));
  if (fd < 0) return 0;
  acclTopoNode* n = NULL;
  acclSetLastError("%s", "");
  acclResult_t r = acclTopoNodeLoad(path, &n);
  close(fd);
  if (r != acclSuccess) {
    fuzzCheckRefusal();
    return 0;
  }
  /* what was accepted round-trips */
  char* a = dumpNode(n);
  if (a) {
    int fd2 = fuzzMemFile(a, strlen(a), path, sizeof(path));
    acclTopoNode* m = NULL;
    if (fd2 >= 0 && acclTopoNodeLoad(path, &m) != acclSuccess)
      FUZZ_FAIL("the dump of an accepted file does not load:\n%s", a);
    if (fd2 >= 0) close(fd2);
    char* b = m ? dumpNode(m) : NULL;
    if (b && strcmp(a, b) != 0) FUZZ_FAIL("dump(load(dump(x))) != dump(x):\n%s\n---\n%s", a, b);
    free(b);
    acclTopoNodeFree(m);
    free(a);
  }
  /* and the planner copes with it: one rank per device, one node */
  if (n->ndev >= 1 && n->ndev <= 8) {
    int devOf[8], nodeOf[8];
    for (int i = 0; i < n->ndev; i++) devOf[i] = i, nodeOf[i] = 0;
    acclTopoGraph graph;
    memset(&graph, 0, sizeof(graph));
    if (acclTopoGraphCompute(n, n->ndev, devOf, nodeOf, 0, &graph) == acclSuccess) {
      char why[256];
      if (acclTopoGraphCheck(&graph, why, sizeof(why)) != 0)
        FUZZ_FAIL("the planner made an invalid graph from an accepted file: %s", why);
      acclTopoGraphFree(&graph);
    }
  }
  acclTopoNodeFree(n);
  return 0;
}
