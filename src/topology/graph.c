/* graph.c - rings and trees for a set of ranks, and the cost-model figures. */
#include "topology/graph.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "topology/rings.h"

void acclTopoGraphDropNics(acclTopoGraph* p) {
  free(p->ringNic);
  free(p->ringNicIn);
  free(p->treeNic);
  free(p->nodeTreeUp);
  p->ringNic = p->ringNicIn = p->treeNic = p->nodeTreeUp = NULL;
}

void acclTopoGraphFree(acclTopoGraph* p) {
  if (!p) return;
  acclTopoGraphDropNics(p);
  free(p->nodeOf);
  free(p->rings);
  free(p->trees);
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

/* Local sequence of a node's ranks: device order o (reversed when rev),
 * starting at its rot-th device, ranks of a device together. */
static void nodeSequence(const nodeRings* nr, const int* devOf, const int* local, int nlocal, int o, int rev, int rot,
                         int* seq) {
  const int* order = nr->orders + o * nr->ndev;
  int k = 0;
  for (int i = 0; i < nr->ndev; i++) {
    int idx = rev ? (nr->ndev - i) % nr->ndev : i; /* reversed ring, same start */
    int d = order[(idx + rot) % nr->ndev];
    for (int j = 0; j < nlocal; j++)
      if (devOf[local[j]] == d) seq[k++] = local[j];
  }
}

/* 1 when NIC `nic` is one device `dev` is close to. */
static int nicNear(const acclTopoNode* node, int nic, int dev) {
  const acclTopoNic* c = &node->nics[nic];
  for (int k = 0; k < c->ndevs; k++)
    if (c->devs[k] == dev) return 1;
  return c->ndevs == 0 && acclTopoNodeNicOf(node, dev, 0) == nic;
}

/* The NICs near a node's devices (each device's closest ones), in NIC order. */
static int nodeNics(const acclTopoNode* node, const nodeRings* nr, int* nics, int max) {
  int n = 0;
  for (int i = 0; i < node->nnics && n < max; i++) {
    int near = 0;
    for (int d = 0; d < nr->ndev && !near; d++) near = nicNear(node, i, nr->devs[d]);
    if (near) nics[n++] = i;
  }
  if (n == 0 && node->nnics > 0) /* NICs that list no device of ours: the first device's */
    nics[n++] = acclTopoNodeNicOf(node, nr->devs[0], 0);
  return n;
}

/* Across nodes: the order, direction and cut of channel c's ring inside a node
 * so that it leaves through a device near NIC `nic` (and, where the ring
 * allows, enters through one); among equals the order and direction used
 * least so far, so the channels spread over the node's links. */
static void chooseCut(const acclTopoNode* node, const nodeRings* nr, int nic, int* used, int* inUsed, int* o, int* rev,
                      int* rot) {
  int best = INT_MIN;
  *o = *rev = *rot = 0;
  for (int oo = 0; oo < nr->nOrders; oo++)
    for (int rv = 0; rv < 2; rv++) {
      if (rv && nr->ndev <= 2) continue; /* one or two devices: reversing changes nothing */
      for (int rt = 0; rt < nr->ndev; rt++) {
        const int* order = nr->orders + oo * nr->ndev;
        int first = order[rt], last = order[(rv ? rt + 1 : rt + nr->ndev - 1) % nr->ndev];
        /* then an entry NIC no channel enters through yet (NICs of one device each) */
        int in = nicNear(node, nic, first) ? nic : acclTopoNodeNicOf(node, first, 0);
        int score = 1024 * (4 * nicNear(node, nic, last) + 2 * nicNear(node, nic, first)) -
                    32 * (in >= 0 && in < ACCL_TOPO_MAX_RINGS ? inUsed[in] : 0) - used[oo * 2 + rv];
        if (score > best) {
          best = score;
          *o = oo;
          *rev = rv;
          *rot = rt;
        }
      }
    }
  used[*o * 2 + *rev]++;
  const int* order = nr->orders + *o * nr->ndev;
  int first = order[*rot], in = nicNear(node, nic, first) ? nic : acclTopoNodeNicOf(node, first, 0);
  if (in >= 0 && in < ACCL_TOPO_MAX_RINGS) inUsed[in]++;
}

/* Channels sharing a resource share its bandwidth evenly: per channel, the
 * slowest hop inside a node is its link's bandwidth over the channels on
 * that link in that direction; between nodes, its NIC's bandwidth over the
 * channels leaving (or entering) the node through that NIC. */
void acclTopoGraphCost(const acclTopoNode* node, const int* devOf, acclTopoGraph* p) {
  int n = p->nranks, N = p->nNodes, L = node->graph->nlinks, C = p->nRings;
  double bwIntra = 0, latIntra = 0;
  /* per node: links by direction; NICs out, in */
  int* use = calloc((size_t)(2 * L * N + 2 * node->nnics * N + 1), sizeof(int));
  int* nicOut = use + 2 * L * N;
  int* nicIn = nicOut + node->nnics * N;
  p->intraHops = p->directHops = 0;
  /* pass 0 counts the channels on each link direction and NIC, pass 1 prices the hops */
  for (int pass = 0; pass < 2; pass++)
    for (int c = 0; c < C; c++) {
      const int* ring = p->rings + c * n;
      for (int i = 0; i < n && n > 1; i++) {
        int a = ring[i], b = ring[(i + 1) % n];
        if (p->nodeOf[a] != p->nodeOf[b]) {
          int k = p->nodeOf[a], kb = p->nodeOf[b];
          int out = p->ringNic ? p->ringNic[c * N + k] : -1, in = p->ringNicIn ? p->ringNicIn[c * N + kb] : -1;
          if (pass == 0 && use) {
            if (out >= 0) nicOut[out * N + k]++;
            if (in >= 0) nicIn[in * N + kb]++;
          }
          continue;
        }
        double bw = ACCL_TOPO_SHM_BW_GBS, lat = ACCL_TOPO_SHM_LAT_US;
        int li = devOf[a] == devOf[b] ? -1 : acclLinkGraphFind(node->graph, devOf[a], devOf[b]);
        int dir = li >= 0 && node->graph->links[li].a != devOf[a];
        int slot = 2 * (p->nodeOf[a] * L + li) + dir;
        if (pass == 0) {
          if (li >= 0 && use) use[slot]++;
          continue;
        }
        if (li >= 0) {
          bw = node->graph->links[li].bwGBs / (use && use[slot] > 0 ? use[slot] : 1);
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
  /* Between nodes: each channel's share of its NICs, the slowest channel's.
   * On one node (or without NIC choice), the slowest NIC there is. */
  double bwInter = 0, latInter = 0, bwNet = 0;
  int priced = 0;
  for (int c = 0; c < C && N > 1 && p->ringNic && use; c++)
    for (int k = 0; k < N; k++) {
      int out = p->ringNic[c * N + k], in = p->ringNicIn ? p->ringNicIn[c * N + (k + 1) % N] : -1;
      if (out < 0) continue;
      double bw = node->nics[out].bwGBs / nicOut[out * N + k];
      if (in >= 0 && nicIn[in * N + (k + 1) % N] > 0)
        bw = ACCL_MIN(bw, node->nics[in].bwGBs / nicIn[in * N + (k + 1) % N]);
      if (priced++ == 0 || bw < bwInter) bwInter = bw;
      latInter = ACCL_MAX(latInter, node->nics[out].latUs);
    }
  if (N > 1 && priced) /* the NICs near node 0's ranks, together: hier and the trees stripe over them */
    for (int i = 0; i < node->nnics; i++) {
      int near = 0;
      for (int r = 0; r < n && !near; r++) near = p->nodeOf[r] == 0 && nicNear(node, i, devOf[r]);
      if (near) bwNet += node->nics[i].bwGBs;
    }
  if (!priced)
    for (int i = 0; i < node->nnics; i++) {
      if (priced++ == 0 || node->nics[i].bwGBs < bwInter) bwInter = node->nics[i].bwGBs;
      latInter = ACCL_MAX(latInter, node->nics[i].latUs);
    }
  if (!priced) {
    bwInter = ACCL_TOPO_NET_BW_GBS;
    latInter = ACCL_TOPO_NET_LAT_US;
  }
  free(use);
  p->bwIntra = bwIntra;
  p->latIntra = latIntra;
  p->bwInter = bwInter;
  p->latInter = latInter;
  p->bwNet = bwNet > 0 ? bwNet : bwInter;
  p->bwCopy = node->memBwGBs > 0 ? node->memBwGBs : ACCL_TOPO_SHM_BW_GBS;
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

/* One double binary tree over the nodes per pair; pair q chains each node's
 * ranks in chainSeq[q][k] order. */
static acclResult_t buildTrees(acclTopoGraph* p, int pairs, int** const* chainSeq, const int* nlocal) {
  int n = p->nranks, N = p->nNodes;
  p->nTrees = N == 1 ? 2 : 2 * pairs;
  p->trees = calloc((size_t)(p->nTrees * n), sizeof(acclTreeNode));
  p->treeNic = malloc(sizeof(int) * (size_t)p->nTrees);
  if (!p->trees || !p->treeNic) return acclSystemError;
  for (int t = 0; t < p->nTrees; t++) p->treeNic[t] = -1;
  if (N == 1) return acclTopoDoubleBinaryTree(n, p->trees, p->trees + n, p->treeRoot);
  acclTreeNode* nt = calloc((size_t)(2 * N), sizeof(acclTreeNode));
  p->nodeTreeUp = malloc(sizeof(int) * (size_t)(p->nTrees * N));
  if (!nt || !p->nodeTreeUp) {
    free(nt);
    return acclSystemError;
  }
  int nroot[2];
  acclResult_t res = acclTopoDoubleBinaryTree(N, nt, nt + N, nroot);
  for (int t = 0; t < p->nTrees && res == acclSuccess; t++) {
    acclTreeNode* tr = p->trees + t * n;
    const acclTreeNode* ntr = nt + (t % 2) * N;
    int* const* localSeq = chainSeq[t / 2];
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
    p->treeRoot[t] = localSeq[nroot[t % 2]][0];
    p->treeNic[t] = p->ringNic ? p->ringNic[(t / 2) * N] : -1;
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
  int*** chain = NULL;
  int pairsMade = 0;
  p->nodeOf = malloc(sizeof(int) * (size_t)nranks);
  if (!nr || !seq || !nlocal || !p->nodeOf) goto done;
  memcpy(p->nodeOf, nodeOf, sizeof(int) * (size_t)nranks);
  int minOrders = ACCL_TOPO_MAX_RINGS;
  for (int r = 0; r < nranks; r++) nlocal[nodeOf[r]]++;
  for (int k = 0; k < N; k++) {
    seq[k] = malloc(sizeof(int) * (size_t)nlocal[k]);
    if (!seq[k]) goto done;
    nlocal[k] = 0;
  }
  for (int r = 0; r < nranks; r++) seq[nodeOf[r]][nlocal[nodeOf[r]]++] = r;
  for (int k = 0; k < N; k++) {
    ACCLCHECKGOTO(searchNode(node, devOf, seq[k], nlocal[k], nr, k, &nr[k]), res, done);
    minOrders = ACCL_MIN(minOrders, nr[k].nOrders);
  }
  int nics[ACCL_TOPO_MAX_RINGS];
  p->nNics = N > 1 ? nodeNics(node, &nr[0], nics, ACCL_TOPO_MAX_RINGS) : 0;
  p->nRings = nChannels ? nChannels : ACCL_MIN(minOrders, ACCL_TOPO_DEFAULT_MAX_RINGS);
  if (!nChannels && p->nNics > p->nRings) p->nRings = p->nNics; /* every NIC carries a channel */
  const int pairs = N > 1 ? ACCL_MAX(1, ACCL_MIN(p->nNics, p->nRings)) : 1;
  p->rings = malloc(sizeof(int) * (size_t)(p->nRings * nranks));
  p->ringNic = malloc(sizeof(int) * (size_t)(p->nRings * N));
  p->ringNicIn = malloc(sizeof(int) * (size_t)(p->nRings * N));
  chain = calloc((size_t)pairs, sizeof(int**));
  pairsMade = chain ? pairs : 0;
  int* tmp = malloc(sizeof(int) * (size_t)nranks);
  int* used = calloc((size_t)(3 * ACCL_TOPO_MAX_RINGS * N), sizeof(int)); /* per node: orders x 2, NICs in */
  if (!p->rings || !p->ringNic || !p->ringNicIn || !chain || !tmp || !used) {
    free(tmp);
    free(used);
    goto done;
  }
  for (int c = 0; c < p->nRings; c++) {
    int pos = 0;
    for (int k = 0; k < N; k++) {
      int o = c % nr[k].nOrders, rev = (c / nr[k].nOrders) % 2, rot = 0;
      if (N > 1 && p->nNics > 0) /* cut the node's cycle where channel c's NIC is */
        chooseCut(node, &nr[k], nics[c % p->nNics], used + 3 * ACCL_TOPO_MAX_RINGS * k,
                  used + 3 * ACCL_TOPO_MAX_RINGS * k + 2 * ACCL_TOPO_MAX_RINGS, &o, &rev, &rot);
      else if (N > 1)
        rot = c % nr[k].ndev; /* no NIC: channels at least leave through different devices */
      nodeSequence(&nr[k], devOf, seq[k], nlocal[k], o, rev, rot, tmp);
      memcpy(p->rings + c * nranks + pos, tmp, sizeof(int) * (size_t)nlocal[k]);
      int exitDev = devOf[tmp[nlocal[k] - 1]], entryDev = devOf[tmp[0]];
      int want = p->nNics > 0 ? nics[c % p->nNics] : -1;
      p->ringNic[c * N + k] = N == 1                                      ? -1
                              : want >= 0 && nicNear(node, want, exitDev) ? want
                                                                          : acclTopoNodeNicOf(node, exitDev, c);
      p->ringNicIn[c * N + k] = N == 1                                       ? -1
                                : want >= 0 && nicNear(node, want, entryDev) ? want
                                                                             : acclTopoNodeNicOf(node, entryDev, c);
      pos += nlocal[k];
    }
  }
  free(tmp);
  free(used);
  /* tree pair q chains each node's ranks in channel q's order */
  for (int q = 0; q < pairs; q++) {
    chain[q] = calloc((size_t)N, sizeof(int*));
    if (!chain[q]) goto done;
    int pos = 0;
    for (int k = 0; k < N; k++) {
      chain[q][k] = p->rings + q * nranks + pos;
      pos += nlocal[k];
    }
  }
  ACCLCHECKGOTO(buildTrees(p, pairs, chain, nlocal), res, done);
  acclTopoGraphCost(node, devOf, p);
  res = acclSuccess;
done:
  for (int k = 0; k < N && nr && seq; k++) {
    free(nr[k].devs);
    free(nr[k].orders);
    free(seq[k]);
  }
  for (int q = 0; chain && q < pairsMade; q++) free(chain[q]);
  free(chain);
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
