/* test_topo_graph.c - rings and trees over the shipped and generated
 * topologies: every ring visits every rank once over direct links, a torus
 * gives link-disjoint rings, trees are double binary trees, several nodes
 * give hierarchical graphs, graph files round-trip. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "../lib/unit_main.h"
#include "topology/node.h"
#include "collectives/tuning.h"
#include "topology/graph.h"

static acclTopoNode* loadShipped(const char* name) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s.xml", TOPO_DIR, name);
  acclTopoNode* n = NULL;
  assert_int_equal(acclTopoNodeLoad(path, &n), acclSuccess);
  return n;
}

/* Fixture: *state names a shipped topology (the prestate), which the test
 * gets loaded in *state and freed after it. */
static int shippedUp(void** state) {
  *state = loadShipped((const char*)*state);
  return *state ? 0 : -1;
}

static int shippedDown(void** state) {
  acclTopoNodeFree(*state);
  return 0;
}

#define ON_SHIPPED(test, name) cmocka_unit_test_prestate_setup_teardown(test, shippedUp, shippedDown, (void*)(name))

/* Graph `nodes` nodes x `ppn` ranks (rank i of a node on device i % ndev). */
static void graph(const acclTopoNode* n, int nodes, int ppn, int channels, acclTopoGraph* p, int** devOut) {
  int nr = nodes * ppn;
  int* dev = malloc(sizeof(int) * (size_t)nr);
  int* node = malloc(sizeof(int) * (size_t)nr);
  for (int r = 0; r < nr; r++) {
    node[r] = r / ppn;
    dev[r] = (r % ppn) % n->ndev;
  }
  assert_int_equal(acclTopoGraphCompute(n, nr, dev, node, channels, p), acclSuccess);
  char why[256];
  if (acclTopoGraphCheck(p, why, sizeof(why)) != 0) fail_msg("invalid graph: %s", why);
  free(node);
  if (devOut)
    *devOut = dev;
  else
    free(dev);
}

/* What graph() made: the graph and its device map. */
static void graphFree(acclTopoGraph* p, int* dev) {
  free(dev);
  acclTopoGraphFree(p);
}

static void assertAllHopsDirect(const acclTopoNode* n, const acclTopoGraph* p, const int* dev) {
  int nr = p->nranks, shared = 0;
  for (int c = 0; c < p->nRings; c++)
    for (int i = 0; i < nr; i++) {
      int a = p->rings[c * nr + i], b = p->rings[c * nr + (i + 1) % nr];
      if (nr > 1 && p->nodeOf[a] == p->nodeOf[b] && dev[a] == dev[b]) shared++;
      if (p->nodeOf[a] != p->nodeOf[b] || dev[a] == dev[b]) continue;
      if (acclLinkGraphFind(n->graph, dev[a], dev[b]) < 0)
        fail_msg("%s ring %d hop %d->%d (devices %d-%d) is not a direct link", n->name, c, a, b, dev[a], dev[b]);
    }
  assert_int_equal(p->directHops + shared, p->intraHops); /* the rest shares a device */
}

static void test_rings_direct(void** state) {
  (void)state;
  const char* files[] = {"trn1-like", "trn2-like", "full8", "ring4"};
  for (int i = 0; i < 4; i++) {
    acclTopoNode* n = loadShipped(files[i]);
    acclTopoGraph p;
    int* dev;
    graph(n, 1, n->ndev, 0, &p, &dev);
    assertAllHopsDirect(n, &p, dev);
    assert_true(p.bwIntra > 0 && p.latIntra > 0 && p.bwInter > 0 && p.latInter > 0);
    assert_true(p.bwIntra == n->graph->links[0].bwGBs);
    graphFree(&p, dev);
    acclTopoNodeFree(n);
  }
  const char* specs[] = {"ring", "torus2d", "full"};
  const int sizes[] = {3, 4, 6, 8, 9, 12, 16};
  for (int s = 0; s < 3; s++)
    for (int k = 0; k < 7; k++) {
      acclTopoNode* n = NULL;
      assert_int_equal(acclTopoNodeFromSpec(specs[s], sizes[k], &n), acclSuccess);
      acclTopoGraph p;
      int* dev;
      graph(n, 1, n->ndev, 0, &p, &dev);
      assertAllHopsDirect(n, &p, dev);
      graphFree(&p, dev);
      acclTopoNodeFree(n);
    }
}

/* Rings of a graph use pairwise disjoint links (either direction). */
static void assertDisjoint(const acclTopoNode* n, const acclTopoGraph* p, const int* dev) {
  int nl = n->graph->nlinks, nr = p->nranks;
  int* owner = malloc(sizeof(int) * (size_t)nl);
  for (int i = 0; i < nl; i++) owner[i] = -1;
  for (int c = 0; c < p->nRings; c++)
    for (int i = 0; i < nr; i++) {
      int a = p->rings[c * nr + i], b = p->rings[c * nr + (i + 1) % nr];
      int l = acclLinkGraphFind(n->graph, dev[a], dev[b]);
      assert_true(l >= 0);
      if (owner[l] >= 0 && owner[l] != c) fail_msg("%s: link %d used by rings %d and %d", n->name, l, owner[l], c);
      owner[l] = c;
    }
  free(owner);
}

static void test_torus_disjoint(void** state) {
  (void)state;
  acclTopoNode* nodes[4] = {loadShipped("trn1-like"), loadShipped("trn2-like"), NULL, loadShipped("full8")};
  assert_int_equal(acclTopoNodeFromSpec("torus2d", 16, &nodes[2]), acclSuccess);
  for (int i = 0; i < 4; i++) {
    acclTopoGraph p;
    int* dev;
    graph(nodes[i], 1, nodes[i]->ndev, 0, &p, &dev);
    assert_true(p.nRings >= (i == 3 ? 3 : 2)); /* 4-regular torus: 2; K8 (7-regular): 3 */
    assertDisjoint(nodes[i], &p, dev);
    graphFree(&p, dev);
    acclTopoNodeFree(nodes[i]);
  }
}

static int treeDepth(const acclTreeNode* t, int root) {
  int best = 0;
  for (int j = 0; j < 2; j++)
    if (t[root].down[j] >= 0) {
      int d = 1 + treeDepth(t, t[root].down[j]);
      if (d > best) best = d;
    }
  return best;
}

static int isInner(const acclTreeNode* t, int m) { return t[m].down[0] >= 0 || t[m].down[1] >= 0; }

static void checkDoubleBinaryTree(int n, const acclTreeNode* t0, const acclTreeNode* t1, const int* root) {
  int maxDepth = (int)ceil(log2((double)n));
  for (int t = 0; t < 2; t++) {
    const acclTreeNode* tr = t ? t1 : t0;
    int d = treeDepth(tr, root[t]);
    if (d > maxDepth) fail_msg("n=%d tree %d depth %d > %d", n, t, d, maxDepth);
  }
  for (int m = 0; m < n; m++)
    if (isInner(t0, m) && isInner(t1, m)) fail_msg("n=%d: member %d is inner in both trees", n, m);
}

static void test_double_binary_tree(void** state) {
  (void)state;
  for (int n = 1; n <= 70; n++) {
    acclTreeNode* t = calloc((size_t)(2 * n), sizeof(acclTreeNode));
    int root[2];
    assert_int_equal(acclTopoDoubleBinaryTree(n, t, t + n, root), acclSuccess);
    acclTopoGraph p = {.nranks = n, .nRings = 1, .nTrees = 2, .trees = t};
    int* ring = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) ring[i] = i;
    p.rings = ring;
    p.treeRoot[0] = root[0];
    p.treeRoot[1] = root[1];
    char why[256];
    if (acclTopoGraphCheck(&p, why, sizeof(why)) != 0) fail_msg("n=%d: %s", n, why);
    checkDoubleBinaryTree(n, t, t + n, root);
    free(ring);
    free(t);
  }
}

/* Several nodes: each node's ranks consecutive in every ring, one net hop per
 * node, and the node-level trees form a double binary tree. */
static void test_hierarchical(void** state) {
  const acclTopoNode* n = *state;
  const int nodeCounts[] = {2, 3, 4, 7};
  const int ppns[] = {16, 4, 1, 20};
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 4; b++) {
      int N = nodeCounts[a], ppn = ppns[b], nr = N * ppn;
      acclTopoGraph p;
      int* dev;
      graph(n, N, ppn, 0, &p, &dev);
      assert_int_equal(p.nNodes, N);
      for (int c = 0; c < p.nRings; c++) {
        int changes = 0;
        for (int i = 0; i < nr; i++)
          changes += p.nodeOf[p.rings[c * nr + i]] != p.nodeOf[p.rings[c * nr + (i + 1) % nr]];
        assert_int_equal(changes, N); /* each node entered once: its ranks are consecutive */
        for (int k = 0; k < N; k++) assert_true(p.ringNic[c * N + k] >= 0);
      }
      if (p.nRings > 1) /* channels leave a node through different NICs */
        assert_int_not_equal(p.ringNic[0], p.ringNic[N]);
      /* node-level trees: rebuild from nodeTreeUp and check the double binary tree properties */
      acclTreeNode* nt = calloc((size_t)(2 * N), sizeof(acclTreeNode));
      int root[2] = {-1, -1};
      for (int t = 0; t < 2; t++) {
        for (int k = 0; k < N; k++) nt[t * N + k] = (acclTreeNode){-1, {-1, -1}};
        for (int k = 0; k < N; k++) {
          int up = p.nodeTreeUp[t * N + k];
          nt[t * N + k].up = up;
          if (up < 0) {
            root[t] = k;
            continue;
          }
          int slot = nt[t * N + up].down[0] < 0 ? 0 : 1;
          nt[t * N + up].down[slot] = k;
        }
        assert_int_equal(p.nodeOf[p.treeRoot[t]], root[t]);
      }
      checkDoubleBinaryTree(N, nt, nt + N, root);
      assertAllHopsDirect(n, &p, dev);
      assert_true(p.bwInter == 12.5 && p.latInter == 15);
      free(nt);
      graphFree(&p, dev);
    }
}

/* Ranks sharing devices and devices without a Hamiltonian cycle among them. */
static void test_shared_and_sparse(void** state) {
  (void)state;
  acclTopoNode* n = loadShipped("ring4");
  acclTopoGraph p;
  int* dev;
  graph(n, 1, 8, 0, &p, &dev);  /* 8 ranks on 4 devices */
  for (int i = 0; i < 8; i++) { /* ranks of one device are neighbours */
    int a = p.rings[i], b = p.rings[(i + 1) % 8];
    assert_true(dev[a] == dev[b] || acclLinkGraphFind(n->graph, dev[a], dev[b]) >= 0);
  }
  assert_true(p.bwIntra == 10.0); /* the shared-memory hop is the slowest */
  graphFree(&p, dev);
  acclTopoNodeFree(n);

  assert_int_equal(acclTopoNodeFromSpec("ring", 8, &n), acclSuccess);
  int devs[3] = {0, 1, 2}, nodes[3] = {0, 0, 0};
  assert_int_equal(acclTopoGraphCompute(n, 3, devs, nodes, 0, &p), acclSuccess);
  char why[128];
  assert_int_equal(acclTopoGraphCheck(&p, why, sizeof(why)), 0);
  assert_int_equal(p.directHops, 2); /* 0-1-2 direct, 2->0 through the host */
  acclTopoGraphFree(&p);
  /* one rank: figures still filled */
  assert_int_equal(acclTopoGraphCompute(n, 1, devs, nodes, 0, &p), acclSuccess);
  assert_true(p.bwIntra > 0 && p.bwInter > 0 && p.latIntra > 0 && p.latInter > 0);
  assert_int_equal(p.nRings, 1);
  acclTopoGraphFree(&p);
  /* bad input */
  int bad[2] = {0, 9};
  assert_int_equal(acclTopoGraphCompute(n, 2, bad, nodes, 0, &p), acclInvalidArgument);
  assert_int_equal(acclTopoGraphCompute(n, 2, devs, nodes, 99, &p), acclInvalidArgument);
  acclTopoNodeFree(n);
}

static void test_channels(void** state) {
  const acclTopoNode* n = *state;
  acclTopoGraph p;
  graph(n, 1, 4, 6, &p, NULL);
  assert_int_equal(p.nRings, 6); /* one ring on a 4-ring: the others replicate it */
  for (int i = 0; i < 4; i++) {  /* odd replicas run the other way round */
    assert_int_equal(p.rings[4 + i], p.rings[(4 - i) % 4]);
    assert_int_equal(p.rings[8 + i], p.rings[i]);
  }
  acclTopoGraphFree(&p);
  graph(n, 2, 4, 3, &p, NULL);
  assert_int_equal(p.nRings, 3);
  acclTopoGraphFree(&p);
}

static void test_graph_file_roundtrip(void** state) {
  const acclTopoNode* n = *state;
  acclTopoGraph p, q;
  graph(n, 2, 16, 0, &p, NULL);
  char path[256];
  snprintf(path, sizeof(path), "/tmp/accl_graph_test_%d.xml", (int)getpid());
  assert_int_equal(acclTopoGraphDump(&p, path), acclSuccess);
  int dev[32], node[32];
  for (int r = 0; r < 32; r++) {
    dev[r] = (31 - r) % 16;
    node[r] = r / 16;
  }
  assert_int_equal(acclTopoGraphCompute(n, 32, dev, node, 1, &q), acclSuccess);
  assert_int_equal(acclTopoGraphLoad(path, &q), acclSuccess);
  assert_int_equal(q.nRings, p.nRings);
  assert_memory_equal(q.rings, p.rings, sizeof(int) * (size_t)(p.nRings * 32));
  assert_int_equal(q.nTrees, p.nTrees);
  assert_memory_equal(q.trees, p.trees, sizeof(acclTreeNode) * 32 * (size_t)p.nTrees);
  assert_memory_equal(q.treeRoot, p.treeRoot, sizeof(int) * (size_t)p.nTrees);
  acclTopoGraphFree(&q);
  /* a graph for another rank count is refused, naming the file */
  assert_int_equal(acclTopoGraphCompute(n, 16, dev, node, 0, &q), acclSuccess);
  assert_int_equal(acclTopoGraphLoad(path, &q), acclInvalidArgument);
  assert_non_null(strstr(acclLastErrorText(), path));
  acclTopoGraphFree(&q);
  unlink(path);
  acclTopoGraphFree(&p);
}

/* Several nodes of trn1-like / trn2-like: every NIC carries its share. Each
 * NIC near the node's ranks is the exit and the entry of exactly one channel
 * (and only through devices near it), each tree pair crosses nodes through
 * its own NIC, and the hierarchical graph's local ranks cover every NIC. */
static void test_nic_coverage(void** state) {
  (void)state;
  const char* files[] = {"trn1-like", "trn2-like"};
  const int nodeCounts[] = {2, 4, 16};
  for (int f = 0; f < 2; f++) {
    acclTopoNode* n = loadShipped(files[f]);
    for (int a = 0; a < 3; a++) {
      int N = nodeCounts[a], ppn = n->ndev, nr = N * ppn;
      acclTopoGraph p;
      int* dev;
      graph(n, N, ppn, 0, &p, &dev);
      assert_int_equal(p.nNics, n->nnics);
      assert_int_equal(p.nRings, n->nnics);
      for (int k = 0; k < N; k++) {
        int outSeen[64] = {0}, inSeen[64] = {0};
        for (int c = 0; c < p.nRings; c++) {
          int out = p.ringNic[c * N + k], in = p.ringNicIn[c * N + k];
          assert_true(out >= 0 && out < n->nnics && in >= 0 && in < n->nnics);
          outSeen[out]++;
          inSeen[in]++;
          /* the ring's last rank on node k sits on a device near its exit NIC, the first near its entry NIC */
          int pos = -1;
          for (int i = 0; i < nr; i++)
            if (p.nodeOf[p.rings[c * nr + i]] == k) pos = i;
          int last = p.rings[c * nr + pos], first = p.rings[c * nr + pos - ppn + 1];
          int lastNear = 0, firstNear = 0;
          for (int d = 0; d < n->nics[out].ndevs; d++) lastNear |= n->nics[out].devs[d] == dev[last];
          for (int d = 0; d < n->nics[in].ndevs; d++) firstNear |= n->nics[in].devs[d] == dev[first];
          if (!lastNear || !firstNear)
            fail_msg("%s x%d channel %d node %d: leaves from device %d (nic %d), enters at %d (nic %d)", files[f], N, c,
                     k, dev[last], out, dev[first], in);
        }
        for (int i = 0; i < n->nnics; i++)
          if (outSeen[i] != 1 || inSeen[i] != 1)
            fail_msg("%s x%d node %d: NIC %d carries %d channels out, %d in", files[f], N, k, i, outSeen[i], inSeen[i]);
      }
      /* trees: a pair per NIC; an edge between nodes leaves and enters through
       * the NICs of its channel (one NIC where NICs serve two devices) */
      assert_int_equal(p.nTrees, 2 * n->nnics);
      int treeSeen[64] = {0};
      for (int t = 0; t < p.nTrees; t++) {
        int nic = p.treeNic[t];
        assert_true(nic >= 0 && nic < n->nnics);
        treeSeen[nic]++;
        for (int r = 0; r < nr; r++) {
          int up = p.trees[t * nr + r].up;
          if (up < 0 || p.nodeOf[up] == p.nodeOf[r]) continue;
          int nearR = 0, nearUp = 0, q = t / 2;
          const int nics2[2] = {p.ringNic[q * N + p.nodeOf[r]], p.ringNicIn[q * N + p.nodeOf[r]]};
          const int nicsUp[2] = {p.ringNic[q * N + p.nodeOf[up]], p.ringNicIn[q * N + p.nodeOf[up]]};
          assert_int_equal(nics2[0], nic);
          for (int w = 0; w < 2; w++)
            for (int d = 0; d < n->nics[nics2[w]].ndevs; d++) {
              nearR |= n->nics[nics2[w]].devs[d] == dev[r];
              nearUp |= n->nics[nicsUp[w]].devs[d] == dev[up];
            }
          if (!nearR || !nearUp)
            fail_msg("%s x%d tree %d: edge %d-%d between nodes off NIC %d", files[f], N, t, r, up, nic);
        }
      }
      for (int i = 0; i < n->nnics; i++) assert_int_equal(treeSeen[i], 2);
      /* hier: local rank j crosses nodes through its device's NIC; together they cover every NIC */
      int hierSeen[64] = {0};
      for (int j = 0; j < ppn; j++) hierSeen[acclTopoNodeNicOf(n, dev[j], 0)]++;
      for (int i = 0; i < n->nnics; i++) assert_true(hierSeen[i] > 0);
      /* the cost model sees all of it */
      double total = 0;
      for (int i = 0; i < n->nnics; i++) total += n->nics[i].bwGBs;
      assert_true(fabs(p.bwNet - total) < 1e-9);
      assert_true(fabs(p.bwInter * p.nRings - total) < 1e-9);
      graphFree(&p, dev);
    }
    acclTopoNodeFree(n);
  }
}

/* The cost model's time (us) of a ring AllReduce of `bytes` (simple protocol) on graph p. */
static double ringAllReduceUs(const acclTopoGraph* p, size_t bytes) {
  acclTuneInput in;
  acclTunePlanInput(p, &in);
  in.func = ACCL_FUNC_ALLREDUCE;
  in.bytes = bytes;
  return acclTuneCost(&in, ACCL_ALGO_RING, ACCL_PROTO_SIMPLE);
}

/* 2 trn1-like nodes: the cost model's ring AllReduce reaches 0.9 x 8 x 12.5 GB/s busbw. */
static void test_predicted_busbw(void** state) {
  const acclTopoNode* n = *state;
  acclTopoGraph p;
  graph(n, 2, 16, 0, &p, NULL);
  size_t bytes = (size_t)1 << 30;
  double us = ringAllReduceUs(&p, bytes);
  assert_true(us > 0);
  double busbw = (double)bytes / (us * 1e3) * 2.0 * (p.nranks - 1) / p.nranks;
  if (busbw < 0.9 * 8 * 12.5) fail_msg("predicted ring busbw %.1f GB/s < 90 GB/s", busbw);
  /* one channel on one NIC could not: the figure comes from the striping */
  acclTopoGraph q;
  graph(n, 2, 16, 1, &q, NULL);
  double us1 = ringAllReduceUs(&q, bytes);
  assert_true(us1 > 6 * us);
  acclTopoGraphFree(&q);
  acclTopoGraphFree(&p);
}

UNIT_TEST_MAIN(cmocka_unit_test(test_rings_direct), cmocka_unit_test(test_torus_disjoint),
               cmocka_unit_test(test_double_binary_tree), ON_SHIPPED(test_hierarchical, "trn1-like"),
               cmocka_unit_test(test_shared_and_sparse), ON_SHIPPED(test_channels, "ring4"),
               ON_SHIPPED(test_graph_file_roundtrip, "trn1-like"), cmocka_unit_test(test_nic_coverage),
               ON_SHIPPED(test_predicted_busbw, "trn1-like"))
