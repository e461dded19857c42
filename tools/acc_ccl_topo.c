/* acc-ccl-topo - print a node topology (detected, from a file, or generated)
 * and the rings and trees acc-ccl would run for a number of nodes and ranks;
 * optionally write it as Graphviz (--dot) and render it (--png). */
#include <getopt.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "config.h"
#include "topo_dot.h"
#include "topology/node.h"
#include "topology/graph.h"

extern char** environ;

static void usage(FILE* f) {
  fputs(
      "usage: acc-ccl-topo [options]\n"
      "  --topo FILE|NAME|ring|torus2d|full  node description (default: detect this host; ACCL_TOPO_FILE\n"
      "                  applies); NAME: an installed topology (" ACCL_TOPO_DATADIR
      "/NAME.xml)\n"
      "  --devices N     devices of a generated node (default 8)\n"
      "  --nodes N       number of identical nodes (default 1)\n"
      "  --ranks N       ranks per node (default: one per device; more share devices)\n"
      "  --channels N    rings to graph (default: as many disjoint rings as the graph gives, up to 4)\n"
      "  --dump FILE     write the node description (XML, loadable with --topo / ACCL_TOPO_FILE)\n"
      "  --graph FILE    write the graph (XML, loadable with ACCL_GRAPH_FILE)\n"
      "  --dot FILE      write a Graphviz picture (render with dot -Kneato)\n"
      "  --png FILE      render the picture to PNG (needs Graphviz)\n"
      "  -h, --help\n",
      f);
}

static int parsePositive(const char* opt, const char* s, int lo, int* v) {
  char* end;
  long x = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || x < lo || x > 1 << 20) {
    fprintf(stderr, "acc-ccl-topo: %s needs an integer >= %d, got '%s'\n", opt, lo, s);
    return -1;
  }
  *v = (int)x;
  return 0;
}

static void printNode(const acclTopoNode* n, FILE* f) {
  fprintf(f, "node %s: %d devices, %d links, %d NICs", n->name, n->ndev, n->graph->nlinks, n->nnics);
  if (n->graph->torusRows > 0) fprintf(f, ", %d x %d torus", n->graph->torusRows, n->graph->torusCols);
  fputc('\n', f);
  if (n->packages || n->cores)
    fprintf(f, "  cpu: %d packages, %d NUMA nodes, %d cores, %d PUs\n", n->packages, n->numaNodes, n->cores, n->pus);
  for (int d = 0; d < n->ndev; d++) {
    fprintf(f, "  dev %d (pci %s, NUMA %d):", d, n->devs[d].pci[0] ? n->devs[d].pci : "-", n->devs[d].numa);
    for (int i = 0; i < n->graph->nlinks; i++) {
      const acclLink* l = &n->graph->links[i];
      if (l->a == d || l->b == d) fprintf(f, " %d(%gGB/s,%gus)", l->a == d ? l->b : l->a, l->bwGBs, l->latUs);
    }
    int nic = acclTopoNodeNicOf(n, d, 0);
    fprintf(f, "  nic %s\n", nic >= 0 ? n->nics[nic].name : "-");
  }
  for (int i = 0; i < n->nnics; i++) {
    const acclTopoNic* c = &n->nics[i];
    fprintf(f, "  nic %d %s (pci %s, NUMA %d): %g GB/s, %g us, devices", i, c->name, c->pci[0] ? c->pci : "-", c->numa,
            c->bwGBs, c->latUs);
    for (int k = 0; k < c->ndevs; k++) fprintf(f, "%s%d", k ? "," : " ", c->devs[k]);
    fputc('\n', f);
  }
}

static int renderPng(const char* dotFile, const char* png) {
  const char* dot = ACCL_DOT_PATH[0] ? ACCL_DOT_PATH : "dot";
  char* argv[] = {(char*)dot, "-Kneato", "-Tpng", "-o", (char*)png, (char*)dotFile, NULL};
  pid_t pid;
  if (posix_spawnp(&pid, dot, NULL, NULL, argv, environ) != 0) {
    fprintf(stderr, "acc-ccl-topo: cannot run Graphviz '%s' (install the graphviz package)\n", dot);
    return -1;
  }
  int st = 0;
  if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "acc-ccl-topo: Graphviz failed to render %s\n", png);
    return -1;
  }
  return 0;
}

int main(int argc, char** argv) {
  const char *topo = NULL, *dumpFile = NULL, *graphFile = NULL, *dotFile = NULL, *pngFile = NULL;
  int devices = 8, nodes = 1, ranksPerNode = 0, channels = 0;
  static const struct option opts[] = {{"topo", required_argument, NULL, 't'},
                                       {"devices", required_argument, NULL, 'd'},
                                       {"nodes", required_argument, NULL, 'n'},
                                       {"ranks", required_argument, NULL, 'r'},
                                       {"channels", required_argument, NULL, 'c'},
                                       {"dump", required_argument, NULL, 'u'},
                                       {"graph", required_argument, NULL, 'g'},
                                       {"dot", required_argument, NULL, 'o'},
                                       {"png", required_argument, NULL, 'p'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  int o;
  while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    int bad = 0;
    switch (o) {
      case 't': topo = optarg; break;
      case 'd': bad = parsePositive("--devices", optarg, 1, &devices); break;
      case 'n': bad = parsePositive("--nodes", optarg, 1, &nodes); break;
      case 'r': bad = parsePositive("--ranks", optarg, 1, &ranksPerNode); break;
      case 'c': bad = parsePositive("--channels", optarg, 1, &channels); break;
      case 'u': dumpFile = optarg; break;
      case 'g': graphFile = optarg; break;
      case 'o': dotFile = optarg; break;
      case 'p': pngFile = optarg; break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 2;
    }
    if (bad) return 2;
  }
  if (optind < argc) {
    fprintf(stderr, "acc-ccl-topo: unexpected argument '%s'\n", argv[optind]);
    usage(stderr);
    return 2;
  }
  if (channels > ACCL_TOPO_MAX_RINGS) {
    fprintf(stderr, "acc-ccl-topo: --channels must be at most %d\n", ACCL_TOPO_MAX_RINGS);
    return 2;
  }
  acclTopoNode* node = NULL;
  acclResult_t res;
  if (topo == NULL)
    res = acclTopoNodeDetect(&node);
  else if (strcmp(topo, "ring") == 0 || strcmp(topo, "torus2d") == 0 || strcmp(topo, "full") == 0)
    res = acclTopoNodeFromSpec(topo, devices, &node);
  else
    res = acclTopoNodeLoad(topo, &node);
  if (res != acclSuccess) {
    fprintf(stderr, "acc-ccl-topo: %s\n", acclLastErrorText()[0] ? acclLastErrorText() : acclGetErrorString(res));
    return 1;
  }
  if (ranksPerNode == 0) ranksPerNode = node->ndev;
  if ((long)ranksPerNode * nodes > INT_MAX / 4) {
    fprintf(stderr, "acc-ccl-topo: too many ranks\n");
    acclTopoNodeFree(node);
    return 2;
  }
  int nranks = ranksPerNode * nodes;
  int* devOf = malloc(sizeof(int) * (size_t)nranks);
  int* nodeOf = malloc(sizeof(int) * (size_t)nranks);
  int rc = 1;
  acclTopoGraph graph;
  memset(&graph, 0, sizeof(graph));
  if (!devOf || !nodeOf) goto out;
  for (int r = 0; r < nranks; r++) {
    nodeOf[r] = r / ranksPerNode;
    devOf[r] = (r % ranksPerNode) % node->ndev;
  }
  printNode(node, stdout);
  if (dumpFile && acclTopoNodeDump(node, dumpFile) != acclSuccess) goto out;
  res = acclTopoGraphCompute(node, nranks, devOf, nodeOf, channels, &graph);
  if (res != acclSuccess) {
    fprintf(stderr, "acc-ccl-topo: planning failed: %s\n", acclLastErrorText());
    goto out;
  }
  printf("graph for %d node%s x %d ranks:\n", nodes, nodes > 1 ? "s" : "", ranksPerNode);
  acclTopoGraphPrint(&graph, stdout);
  for (int c = 0; c < graph.nRings && nodes > 1 && graph.ringNic; c++) { /* NIC names of node 0's channels */
    int out = graph.ringNic[c * graph.nNodes], in = graph.ringNicIn ? graph.ringNicIn[c * graph.nNodes] : -1;
    printf("channel %d: leaves through %s, enters through %s\n", c, out >= 0 ? node->nics[out].name : "-",
           in >= 0 ? node->nics[in].name : "-");
  }
  if (graphFile && acclTopoGraphDump(&graph, graphFile) != acclSuccess) goto out;
  char tmpDot[] = "/tmp/acc-ccl-topo-XXXXXX";
  if (pngFile && !dotFile) { /* --png alone: the .dot file is temporary */
    int fd = mkstemp(tmpDot);
    if (fd < 0) goto out;
    close(fd);
    dotFile = tmpDot;
  }
  if (dotFile) {
    FILE* f = fopen(dotFile, "w");
    if (!f || acclTopoWriteDot(node, &graph, devOf, f) != 0) {
      fprintf(stderr, "acc-ccl-topo: cannot write %s\n", dotFile);
      if (f) fclose(f);
      goto out;
    }
    if (fclose(f) != 0) goto out;
    int bad = pngFile && renderPng(dotFile, pngFile) != 0;
    if (dotFile == tmpDot) unlink(tmpDot);
    if (bad) goto out;
  }
  rc = 0;
out:
  acclTopoGraphFree(&graph);
  acclTopoNodeFree(node);
  free(devOf);
  free(nodeOf);
  return rc;
}
