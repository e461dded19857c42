/* graph.c - rings and trees for a set of ranks, and the cost-model figures. */
#include "topology/graph.h"
#include <stdlib.h>
#include <string.h>
#include "topology/rings.h"

void acclTopoGraphFree(acclTopoGraph* p) {
  if (!p) return;
  free(p->nodeOf);
  free(p->rings);
  free(p->ringNic);
  free(p->trees);
  free(p->nodeTreeUp);
  memset(p, 0, sizeof(*p));
}

/* Ring search result of one node: orders of its devices. */
typedef struct {
  int ndev;  /* distinct devices of the node's ranks */
  int* devs; /* sorted */
  int nOrders;
  int* orders; /* nOrders x ndev */
} nodeRings;

static int cmpInt(const void* a, const void* b) {
  return (*(const int*)a > *(const int*)b) - (*(const int*)a < *(const int*)b);
}

static acclResult_t searchNode(const acclTopoNode* node, const int* devOf, const int* local, int nlocal,
                               nodeRings* prev, int nprev, nodeRings* out) {
  out->devs = malloc(sizeof(int) * (size_t)nlocal);
  if (!out->devs) return acclSystemError;
  out->ndev = 0;
  for (int i = 0; i < nlocal; i++) {
    int d = devOf[local[i]], dup = 0;
    for (int k = 0; k < out->ndev; k++) dup |= out->devs[k] == d;
    if (!dup) out->devs[out->ndev++] = d;
  }
  qsort(out->devs, (size_t)out->ndev, sizeof(int), cmpInt);
  /* Nodes usually use the same devices: reuse an earlier node's search. */
  for (int q = 0; q < nprev; q++)
    if (prev[q].ndev == out->ndev && memcmp(prev[q].devs, out->devs, sizeof(int) * (size_t)out->ndev) == 0) {
      out->nOrders = prev[q].nOrders;
      size_t sz = sizeof(int) * (size_t)(out->nOrders * out->ndev);
      out->orders = malloc(sz);
      if (!out->orders) return acclSystemError;
      memcpy(out->orders, prev[q].orders, sz);
      return acclSuccess;
    }
  return acclTopoSearchRings(node->graph, out->devs, out->ndev, ACCL_TOPO_MAX_RINGS, &out->orders, &out->nOrders);
}

/* Local sequence of node n's ranks on channel c: the device order (reversed
 * for odd replicas), rotated by `rot` devices, ranks of a device together. */
static void nodeSequence(const nodeRings* nr, const int* devOf, const int* local, int nlocal, int c, int rot,
                         int* seq) {
  int rep = c / nr->nOrders;
  const int* order = nr->orders + (c % nr->nOrders) * nr->ndev;
  int k = 0;
  for (int i = 0; i < nr->ndev; i++) {
    int idx = (rep % 2) ? (nr->ndev - i) % nr->ndev : i; /* reversed ring, same start */
    int d = order[(idx + rot) % nr->ndev];
    for (int j = 0; j < nlocal; j++)
      if (devOf[local[j]] == d) seq[k++] = local[j];
  }
}

void acclTopoGraphCost(const acclTopoNode* node, const int* devOf, acclTopoGraph* p) {
  double bwIntra = 0, latIntra = 0;
  int n = p->nranks;
  p->intraHops = p->directHops = 0;
  for (int c = 0; c < p->nRings; c++) {
    const int* ring = p->rings + c * n;
    for (int i = 0; i < n && n > 1; i++) {
      int a = ring[i], b = ring[(i + 1) % n];
      if (p->nodeOf[a] != p->nodeOf[b]) continue;
      double bw = ACCL_TOPO_SHM_BW_GBS, lat = ACCL_TOPO_SHM_LAT_US;
      int li = devOf[a] == devOf[b] ? -1 : acclLinkGraphFind(node->graph, devOf[a], devOf[b]);
      if (li >= 0) {
        bw = node->graph->links[li].bwGBs;
        lat = node->graph->links[li].latUs;
        p->directHops++;
      }
      if (p->intraHops++ == 0 || bw < bwIntra) bwIntra = bw;
      if (lat > latIntra) latIntra = lat;
    }
  }
  if (p->intraHops == 0) {
    bwIntra = ACCL_TOPO_SHM_BW_GBS;
    latIntra = ACCL_TOPO_SHM_LAT_US;
  }
  /* Between nodes: the slowest NIC the rings use; on one node, the slowest NIC there is. */
  double bwInter = 0, latInter = 0;
  int nics = 0;
  for (int i = 0; i < node->nnics; i++) {
    int used = p->nNodes == 1;
    for (int k = 0; k < p->nRings * p->nNodes && !used; k++) used = p->ringNic && p->ringNic[k] == i;
    if (!used) continue;
    if (nics++ == 0 || node->nics[i].bwGBs < bwInter) bwInter = node->nics[i].bwGBs;
    if (node->nics[i].latUs > latInter) latInter = node->nics[i].latUs;
  }
  if (nics == 0) {
    bwInter = ACCL_TOPO_NET_BW_GBS;
    latInter = ACCL_TOPO_NET_LAT_US;
  }
  p->bwIntra = bwIntra;
  p->latIntra = latIntra;
  p->bwInter = bwInter;
  p->latInter = latInter;
}

static acclResult_t checkInput(const acclTopoNode* node, int nranks, const int* devOf, const int* nodeOf, int* nNodes) {
  if (nranks < 1) ACCL_ARG_ERROR(acclInvalidArgument, "topology graph: nranks %d must be >= 1", nranks);
  int nn = 0;
  for (int r = 0; r < nranks; r++) {
    if (devOf[r] < 0 || devOf[r] >= node->ndev)
      ACCL_ARG_ERROR(acclInvalidArgument, "topology: rank %d uses device %d but the node topology %s has %d devices", r,
                     devOf[r], node->name, node->ndev);
    if (nodeOf[r] < 0 || nodeOf[r] >= nranks)
      ACCL_ARG_ERROR(acclInvalidArgument, "topology graph: rank %d has node index %d", r, nodeOf[r]);
    nn = ACCL_MAX(nn, nodeOf[r] + 1);
  }
  for (int k = 0; k < nn; k++) {
    int any = 0;
    for (int r = 0; r < nranks && !any; r++) any = nodeOf[r] == k;
    if (!any) ACCL_ARG_ERROR(acclInvalidArgument, "topology graph: node %d has no rank", k);
  }
  *nNodes = nn;
  return acclSuccess;
}

static acclResult_t buildTrees(acclTopoGraph* p, int* const* localSeq, const int* nlocal) {
  int n = p->nranks, N = p->nNodes;
  p->nTrees = 2;
  p->trees = calloc((size_t)(2 * n), sizeof(acclTreeNode));
  if (!p->trees) return acclSystemError;
  if (N == 1) return acclTopoDoubleBinaryTree(n, p->trees, p->trees + n, p->treeRoot);
  acclTreeNode* nt = calloc((size_t)(2 * N), sizeof(acclTreeNode));
  p->nodeTreeUp = malloc(sizeof(int) * (size_t)(2 * N));
  if (!nt || !p->nodeTreeUp) {
    free(nt);
    return acclSystemError;
  }
  int nroot[2];
  acclResult_t res = acclTopoDoubleBinaryTree(N, nt, nt + N, nroot);
  for (int t = 0; t < 2 && res == acclSuccess; t++) {
    acclTreeNode* tr = p->trees + t * n;
    const acclTreeNode* ntr = nt + t * N;
    for (int k = 0; k < N; k++) { /* chain inside node k */
      const int* s = localSeq[k];
      p->nodeTreeUp[t * N + k] = ntr[k].up;
      for (int i = 0; i < nlocal[k]; i++)
        tr[s[i]] = (acclTreeNode){i ? s[i - 1] : -1, {i + 1 < nlocal[k] ? s[i + 1] : -1, -1}};
    }
    for (int k = 0; k < N; k++) { /* first child node under the head, second under the tail */
      const int* s = localSeq[k];
      int head = s[0], tail = s[nlocal[k] - 1];
      for (int j = 0; j < 2; j++) {
        int ch = ntr[k].down[j];
        if (ch < 0) continue;
        int at = (j == 0) ? head : tail;
        int slot = (tr[at].down[0] < 0) ? 0 : 1;
        tr[at].down[slot] = localSeq[ch][0];
        tr[localSeq[ch][0]].up = at;
      }
    }
    p->treeRoot[t] = localSeq[nroot[t]][0];
  }
  free(nt);
  return res;
}

acclResult_t acclTopoGraphCompute(const acclTopoNode* node, int nranks, const int* devOf, const int* nodeOf,
                                  int nChannels, acclTopoGraph* p) {
  memset(p, 0, sizeof(*p));
  int N = 0;
  ACCLCHECK(checkInput(node, nranks, devOf, nodeOf, &N));
  if (nChannels < 0 || nChannels > ACCL_TOPO_MAX_RINGS)
    ACCL_ARG_ERROR(acclInvalidArgument, "topology graph: %d channels requested, must be 0..%d", nChannels,
                   ACCL_TOPO_MAX_RINGS);
  p->nranks = nranks;
  p->nNodes = N;
  acclResult_t res = acclSystemError;
  nodeRings* nr = calloc((size_t)N, sizeof(nodeRings));
  int** seq = calloc((size_t)N, sizeof(int*));
  int* nlocal = calloc((size_t)N, sizeof(int));
  p->nodeOf = malloc(sizeof(int) * (size_t)nranks);
  if (!nr || !seq || !nlocal || !p->nodeOf) goto done;
  memcpy(p->nodeOf, nodeOf, sizeof(int) * (size_t)nranks);
  int minOrders = ACCL_TOPO_MAX_RINGS;
  for (int k = 0; k < N; k++) {
    seq[k] = malloc(sizeof(int) * (size_t)nranks);
    if (!seq[k]) goto done;
    for (int r = 0; r < nranks; r++)
      if (nodeOf[r] == k) seq[k][nlocal[k]++] = r;
    ACCLCHECKGOTO(searchNode(node, devOf, seq[k], nlocal[k], nr, k, &nr[k]), res, done);
    minOrders = ACCL_MIN(minOrders, nr[k].nOrders);
  }
  p->nRings = nChannels ? nChannels : ACCL_MIN(minOrders, ACCL_TOPO_DEFAULT_MAX_RINGS);
  p->rings = malloc(sizeof(int) * (size_t)(p->nRings * nranks));
  p->ringNic = malloc(sizeof(int) * (size_t)(p->nRings * N));
  int* tmp = malloc(sizeof(int) * (size_t)nranks);
  if (!p->rings || !p->ringNic || !tmp) {
    free(tmp);
    goto done;
  }
  for (int c = 0; c < p->nRings; c++) {
    int pos = 0;
    for (int k = 0; k < N; k++) {
      /* Across nodes, rotate the cut of the node's cycle so channels leave through different devices. */
      int rot = (N > 1) ? c % nr[k].ndev : 0;
      nodeSequence(&nr[k], devOf, seq[k], nlocal[k], c, rot, tmp);
      memcpy(p->rings + c * nranks + pos, tmp, sizeof(int) * (size_t)nlocal[k]);
      int exitDev = devOf[tmp[nlocal[k] - 1]];
      p->ringNic[c * N + k] = (N > 1) ? acclTopoNodeNicOf(node, exitDev, c) : -1;
      pos += nlocal[k];
      if (c == 0) memcpy(seq[k], tmp, sizeof(int) * (size_t)nlocal[k]); /* chain order of the trees */
    }
  }
  free(tmp);
  ACCLCHECKGOTO(buildTrees(p, seq, nlocal), res, done);
  acclTopoGraphCost(node, devOf, p);
  res = acclSuccess;
done:
  for (int k = 0; k < N && nr && seq; k++) {
    free(nr[k].devs);
    free(nr[k].orders);
    free(seq[k]);
  }
  free(nr);
  free(seq);
  free(nlocal);
  if (res != acclSuccess) acclTopoGraphFree(p);
  return res;
}

/* ---------------------------------------------------------------- checks */

int acclTopoGraphCheck(const acclTopoGraph* p, char* why, size_t len) {
  int n = p->nranks;
  char* seen = calloc((size_t)n, 1);
  int* stack = malloc(sizeof(int) * (size_t)n);
  int ret = -1;
  if (!seen || !stack) {
    snprintf(why, len, "out of memory");
    goto done;
  }
  if (p->nRings < 1) {
    snprintf(why, len, "no ring");
    goto done;
  }
  for (int c = 0; c < p->nRings; c++) {
    memset(seen, 0, (size_t)n);
    for (int i = 0; i < n; i++) {
      int r = p->rings[c * n + i];
      if (r < 0 || r >= n || seen[r]++) {
        snprintf(why, len, "ring %d: rank %d out of range or visited twice", c, r);
        goto done;
      }
    }
  }
  for (int t = 0; t < p->nTrees; t++) {
    const acclTreeNode* tr = p->trees + t * n;
    int root = p->treeRoot[t], sp = 0, count = 0;
    if (root < 0 || root >= n || tr[root].up != -1) {
      snprintf(why, len, "tree %d: root %d invalid or has a parent", t, root);
      goto done;
    }
    memset(seen, 0, (size_t)n);
    stack[sp++] = root;
    seen[root] = 1;
    while (sp) {
      int r = stack[--sp];
      count++;
      for (int j = 0; j < 2; j++) {
        int ch = tr[r].down[j];
        if (ch == -1) continue;
        if (ch < 0 || ch >= n || seen[ch] || tr[ch].up != r) {
          snprintf(why, len, "tree %d: child %d of rank %d invalid, seen twice or disagrees on its parent", t, ch, r);
          goto done;
        }
        seen[ch] = 1;
        stack[sp++] = ch;
      }
    }
    if (count != n) {
      snprintf(why, len, "tree %d reaches %d of %d ranks", t, count, n);
      goto done;
    }
  }
  ret = 0;
done:
  free(seen);
  free(stack);
  return ret;
}
