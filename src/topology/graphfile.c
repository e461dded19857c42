/* graphfile.c - write, read and print the chosen rings and trees
 * (ACCL_GRAPH_DUMP_FILE, ACCL_GRAPH_FILE, acc-ccl-topo). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "topology/graph.h"
#include "topology/xml.h"

static void writeList(FILE* f, const char* name, const int* v, int n) {
  fprintf(f, " %s=\"", name);
  for (int i = 0; i < n; i++) fprintf(f, "%s%d", i ? "," : "", v[i]);
  fputc('"', f);
}

/* which: -1 the parent, 0/1 a child slot */
static void writeTreeField(FILE* f, const char* name, const acclTreeNode* tr, int n, int which) {
  fprintf(f, " %s=\"", name);
  for (int i = 0; i < n; i++) fprintf(f, "%s%d", i ? "," : "", which < 0 ? tr[i].up : tr[i].down[which]);
  fputc('"', f);
}

acclResult_t acclTopoGraphWrite(const acclTopoGraph* p, FILE* f) {
  int n = p->nranks, N = p->nNodes;
  fprintf(f, "<?xml version=\"1.0\"?>\n<graph nranks=\"%d\" nnodes=\"%d\"", n, N);
  writeList(f, "nodes", p->nodeOf, n);
  fputs(">\n", f);
  fprintf(
      f,
      "  <!-- cost model: intra %g GB/s %g us, inter %g GB/s %g us; %d of %d hops inside nodes are direct links -->\n",
      p->bwIntra, p->latIntra, p->bwInter, p->latInter, p->directHops, p->intraHops);
  for (int c = 0; c < p->nRings; c++) {
    fprintf(f, "  <ring channel=\"%d\"", c);
    writeList(f, "ranks", p->rings + c * n, n);
    if (p->ringNic) writeList(f, "nics", p->ringNic + c * N, N);
    if (p->ringNicIn) writeList(f, "nicsin", p->ringNicIn + c * N, N);
    fputs("/>\n", f);
  }
  for (int t = 0; t < p->nTrees; t++) {
    const acclTreeNode* tr = p->trees + t * n;
    fprintf(f, "  <tree id=\"%d\" root=\"%d\"", t, p->treeRoot[t]);
    writeTreeField(f, "up", tr, n, -1);
    writeTreeField(f, "down0", tr, n, 0);
    writeTreeField(f, "down1", tr, n, 1);
    if (p->nodeTreeUp) writeList(f, "nodeup", p->nodeTreeUp + t * N, N);
    fputs("/>\n", f);
  }
  fputs("</graph>\n", f);
  return ferror(f) ? acclSystemError : acclSuccess;
}

static acclResult_t writeGraph(const void* p, FILE* f) { return acclTopoGraphWrite(p, f); }

acclResult_t acclTopoGraphDump(const acclTopoGraph* p, const char* path) {
  return acclXmlWriteFile(path, "graph dump", writeGraph, p);
}

/* A list attribute of exactly n entries in [lo, hi). */
static acclResult_t getList(const acclXmlDoc* doc, const acclXmlElem* e, const char* name, int n, int lo, int hi,
                            int** out) {
  int cnt = 0;
  ACCLCHECK(acclXmlGetIntList(doc, e, name, out, &cnt));
  acclResult_t res = acclSuccess;
  if (cnt != n) res = acclXmlError(doc, e, "%s has %d entries, expected %d", name, cnt, n);
  for (int i = 0; i < cnt && res == acclSuccess; i++)
    if ((*out)[i] < lo || (*out)[i] >= hi) res = acclXmlError(doc, e, "%s: value %d out of range", name, (*out)[i]);
  if (res != acclSuccess) {
    free(*out);
    *out = NULL;
  }
  return res;
}

static const char* const graphAttrs[] = {"nranks", "nnodes", "nodes", NULL};
static const char* const ringAttrs[] = {"channel", "ranks", "nics", "nicsin", NULL};
static const char* const treeAttrs[] = {"id", "root", "up", "down0", "down1", "nodeup", NULL};

static acclResult_t loadGraph(const acclXmlDoc* doc, acclTopoGraph* p, int** rings, int* nRings, acclTreeNode* trees,
                              int* roots, unsigned* ntreesOut) {
  const acclXmlElem* root = &doc->elems[0];
  int n = p->nranks, nr = -1, nn = -1;
  if (strcmp(root->name, "graph") != 0) return acclXmlError(doc, root, "the root element must be <graph>");
  ACCLCHECK(acclXmlCheckAttrs(doc, root, graphAttrs));
  ACCLCHECK(acclXmlGetInt(doc, root, "nranks", 1, &nr));
  ACCLCHECK(acclXmlGetInt(doc, root, "nnodes", 1, &nn));
  if (nr != n || nn != p->nNodes)
    return acclXmlError(doc, root, "file is for %d ranks on %d nodes, this communicator has %d ranks on %d nodes", nr,
                        nn, n, p->nNodes);
  int* nodes = NULL;
  ACCLCHECK(getList(doc, root, "nodes", n, 0, nn, &nodes));
  int same = memcmp(nodes, p->nodeOf, sizeof(int) * (size_t)n) == 0;
  free(nodes);
  if (!same) return acclXmlError(doc, root, "nodes do not match the ranks' nodes of this communicator");
  for (int i = 1; i < doc->nelems; i++) {
    const acclXmlElem* e = &doc->elems[i];
    if (e->parent != 0) return acclXmlError(doc, e, "unexpected nested element");
    if (strcmp(e->name, "ring") == 0) {
      if (*nRings == ACCL_TOPO_MAX_RINGS) return acclXmlError(doc, e, "more than %d rings", ACCL_TOPO_MAX_RINGS);
      ACCLCHECK(acclXmlCheckAttrs(doc, e, ringAttrs));
      int* r = NULL;
      ACCLCHECK(getList(doc, e, "ranks", n, 0, n, &r));
      memcpy(*rings + *nRings * n, r, sizeof(int) * (size_t)n);
      free(r);
      (*nRings)++;
    } else if (strcmp(e->name, "tree") == 0) {
      int id = -1, *up = NULL, *d0 = NULL, *d1 = NULL;
      ACCLCHECK(acclXmlCheckAttrs(doc, e, treeAttrs));
      ACCLCHECK(acclXmlGetInt(doc, e, "id", 1, &id));
      if (id < 0 || id >= ACCL_TOPO_MAX_TREES)
        return acclXmlError(doc, e, "tree id %d must be 0..%d", id, ACCL_TOPO_MAX_TREES - 1);
      if (*ntreesOut & (1u << id)) return acclXmlError(doc, e, "tree %d given twice", id);
      ACCLCHECK(acclXmlGetInt(doc, e, "root", 1, &roots[id]));
      acclResult_t res = getList(doc, e, "up", n, -1, n, &up);
      if (res == acclSuccess) res = getList(doc, e, "down0", n, -1, n, &d0);
      if (res == acclSuccess) res = getList(doc, e, "down1", n, -1, n, &d1);
      for (int r = 0; r < n && res == acclSuccess; r++) trees[id * n + r] = (acclTreeNode){up[r], {d0[r], d1[r]}};
      free(up);
      free(d0);
      free(d1);
      ACCLCHECK(res);
      *ntreesOut |= 1u << id;
    } else {
      return acclXmlError(doc, e, "unknown element (expected ring or tree)");
    }
  }
  if (*nRings == 0) return acclXmlError(doc, root, "no <ring>");
  unsigned t = *ntreesOut;
  if ((t & 3u) != 3u || (t & (t + 1)) != 0 || (__builtin_popcount(t) % 2) != 0)
    return acclXmlError(doc, root, "trees must be pairs numbered from 0 (0 and 1 at least, no gaps)");
  return acclSuccess;
}

acclResult_t acclTopoGraphLoad(const char* path, acclTopoGraph* p) {
  acclXmlDoc* doc = NULL;
  ACCLCHECK(acclXmlParseFile(path, &doc));
  int n = p->nranks, nRings = 0, roots[ACCL_TOPO_MAX_TREES];
  unsigned treeMask = 0;
  for (int t = 0; t < ACCL_TOPO_MAX_TREES; t++) roots[t] = -1;
  int* rings = malloc(sizeof(int) * (size_t)(ACCL_TOPO_MAX_RINGS * n));
  acclTreeNode* trees = malloc(sizeof(acclTreeNode) * (size_t)(ACCL_TOPO_MAX_TREES * n));
  acclResult_t res = acclSystemError;
  if (rings && trees) res = loadGraph(doc, p, &rings, &nRings, trees, roots, &treeMask);
  acclXmlFree(doc);
  int nTrees = __builtin_popcount(treeMask);
  if (res == acclSuccess) {
    acclTopoGraph q = *p;
    q.nRings = nRings;
    q.rings = rings;
    q.trees = trees;
    q.nTrees = nTrees;
    memcpy(q.treeRoot, roots, sizeof(roots));
    char why[256];
    if (acclTopoGraphCheck(&q, why, sizeof(why)) != 0) {
      WARN("%s: invalid graph: %s", path, why);
      res = acclInvalidArgument;
    }
  }
  if (res != acclSuccess) {
    free(rings);
    free(trees);
    return res;
  }
  free(p->rings);
  free(p->trees);
  /* which NIC a forced ring or tree uses is not in the file's control */
  acclTopoGraphDropNics(p);
  p->rings = rings;
  p->nRings = nRings;
  p->trees = trees;
  p->nTrees = nTrees;
  memcpy(p->treeRoot, roots, sizeof(roots));
  INFO(ACCL_TOPO, "graph file %s: %d rings and %d trees forced", path, nRings, nTrees);
  return acclSuccess;
}

void acclTopoGraphPrint(const acclTopoGraph* p, FILE* f) {
  int n = p->nranks;
  for (int c = 0; c < p->nRings; c++) {
    fprintf(f, "ring %d:", c);
    for (int i = 0; i < n; i++) {
      int r = p->rings[c * n + i];
      if (i && p->nodeOf[r] != p->nodeOf[p->rings[c * n + i - 1]]) {
        int nic = p->ringNic ? p->ringNic[c * p->nNodes + p->nodeOf[p->rings[c * n + i - 1]]] : -1;
        if (nic >= 0)
          fprintf(f, " =[nic %d]=>", nic);
        else
          fputs(" =[net]=>", f);
      }
      fprintf(f, " %d", r);
    }
    fputc('\n', f);
  }
  for (int c = 0; c < p->nRings && p->nNodes > 1 && p->ringNic; c++) {
    fprintf(f, "channel %d NICs (out/in) per node:", c);
    for (int k = 0; k < p->nNodes && k < 8; k++)
      fprintf(f, " %d/%d", p->ringNic[c * p->nNodes + k], p->ringNicIn ? p->ringNicIn[c * p->nNodes + k] : -1);
    fputs(p->nNodes > 8 ? " ...\n" : "\n", f);
  }
  for (int t = 0; t < p->nTrees; t++) {
    fprintf(f, "tree %d: root %d", t, p->treeRoot[t]);
    if (p->treeNic && p->treeNic[t] >= 0) fprintf(f, " (nic %d)", p->treeNic[t]);
    fputc(';', f);
    for (int r = 0; r < n; r++) {
      const acclTreeNode* x = &p->trees[t * n + r];
      if (x->down[0] < 0 && x->down[1] < 0) continue;
      fprintf(f, " %d->", r);
      if (x->down[0] >= 0) fprintf(f, "%d", x->down[0]);
      if (x->down[1] >= 0) fprintf(f, "%s%d", x->down[0] >= 0 ? "," : "", x->down[1]);
    }
    fputc('\n', f);
  }
  fprintf(f,
          "cost model: intra %g GB/s %g us per channel (%d of %d hops on direct links), inter %g GB/s %g us per "
          "channel, %d NICs %g GB/s per node, device memory %g GB/s\n",
          p->bwIntra, p->latIntra, p->directHops, p->intraHops, p->bwInter, p->latInter, p->nNics, p->bwNet, p->bwCopy);
}
