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

acclResult_t acclTopoGraphDump(const acclTopoGraph* p, const char* path) {
  FILE* f = fopen(path, "w");
  if (!f) ACCL_ERROR(acclSystemError, "cannot write graph dump %s: %s", path, strerror(errno));
  acclResult_t res = acclTopoGraphWrite(p, f);
  if (fclose(f) != 0) res = acclSystemError;
  return res;
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
static const char* const ringAttrs[] = {"channel", "ranks", "nics", NULL};
static const char* const treeAttrs[] = {"id", "root", "up", "down0", "down1", "nodeup", NULL};

static acclResult_t loadGraph(const acclXmlDoc* doc, acclTopoGraph* p, int** rings, int* nRings, acclTreeNode* trees,
                              int* roots) {
  const acclXmlElem* root = &doc->elems[0];
  int n = p->nranks, nr = -1, nn = -1, ntrees = 0;
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
      if (id < 0 || id > 1) return acclXmlError(doc, e, "tree id %d must be 0 or 1", id);
      ACCLCHECK(acclXmlGetInt(doc, e, "root", 1, &roots[id]));
      acclResult_t res = getList(doc, e, "up", n, -1, n, &up);
      if (res == acclSuccess) res = getList(doc, e, "down0", n, -1, n, &d0);
      if (res == acclSuccess) res = getList(doc, e, "down1", n, -1, n, &d1);
      for (int r = 0; r < n && res == acclSuccess; r++) trees[id * n + r] = (acclTreeNode){up[r], {d0[r], d1[r]}};
      free(up);
      free(d0);
      free(d1);
      ACCLCHECK(res);
      ntrees |= 1 << id;
    } else {
      return acclXmlError(doc, e, "unknown element (expected ring or tree)");
    }
  }
  if (*nRings == 0) return acclXmlError(doc, root, "no <ring>");
  if (ntrees != 3) return acclXmlError(doc, root, "trees 0 and 1 are both required");
  return acclSuccess;
}

acclResult_t acclTopoGraphLoad(const char* path, acclTopoGraph* p) {
  acclXmlDoc* doc = NULL;
  ACCLCHECK(acclXmlParseFile(path, &doc));
  int n = p->nranks, nRings = 0, roots[2] = {-1, -1};
  int* rings = malloc(sizeof(int) * (size_t)(ACCL_TOPO_MAX_RINGS * n));
  acclTreeNode* trees = malloc(sizeof(acclTreeNode) * (size_t)(2 * n));
  acclResult_t res = acclSystemError;
  if (rings && trees) res = loadGraph(doc, p, &rings, &nRings, trees, roots);
  acclXmlFree(doc);
  if (res == acclSuccess) {
    acclTopoGraph q = *p;
    q.nRings = nRings;
    q.rings = rings;
    q.trees = trees;
    q.nTrees = 2;
    q.treeRoot[0] = roots[0];
    q.treeRoot[1] = roots[1];
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
  free(p->ringNic); /* which NIC a forced ring uses is not in the file's control */
  p->ringNic = NULL;
  p->rings = rings;
  p->nRings = nRings;
  p->trees = trees;
  p->nTrees = 2;
  p->treeRoot[0] = roots[0];
  p->treeRoot[1] = roots[1];
  INFO(ACCL_TOPO, "graph file %s: %d rings and 2 trees forced", path, nRings);
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
  for (int t = 0; t < p->nTrees; t++) {
    fprintf(f, "tree %d: root %d;", t, p->treeRoot[t]);
    for (int r = 0; r < n; r++) {
      const acclTreeNode* x = &p->trees[t * n + r];
      if (x->down[0] < 0 && x->down[1] < 0) continue;
      fprintf(f, " %d->", r);
      if (x->down[0] >= 0) fprintf(f, "%d", x->down[0]);
      if (x->down[1] >= 0) fprintf(f, "%s%d", x->down[0] >= 0 ? "," : "", x->down[1]);
    }
    fputc('\n', f);
  }
  fprintf(f, "cost model: intra %g GB/s %g us (%d of %d hops on direct links), inter %g GB/s %g us\n", p->bwIntra,
          p->latIntra, p->directHops, p->intraHops, p->bwInter, p->latInter);
}
