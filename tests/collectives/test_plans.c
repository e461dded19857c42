/* test_plans.c - build the plans of every rank and run them on a model of
 * the machine (no device, no transport): FIFO steps through bounded queues,
 * direct steps through the other ranks' buffers, LL steps through per-pair
 * inboxes. The model applies the step flags as the executor does: PREMUL
 * multiplies the local input (DIRECT: every input) by the op's scalar,
 * POSTDIV divides the result by nranks, and a ZCOPY send puts a reference to
 * the sender's memory in the queue (read when the receiver takes it), so a
 * builder that marks a send zero-copy and then rewrites its memory is caught.
 * Checks that every output element gets exactly every rank's contribution,
 * and that no plan set can deadlock with small FIFOs. Trees come from
 * src/topology/trees.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "../lib/unit_main.h"
#include "collectives/algorithm.h"
#include "topology/graph.h"

#define MAXR 9
#define SLICE 5 /* elements per FIFO step buffer */
#define DEPTH 4 /* step buffers per connection */
#define MAXQ 64

/* A queued slice: its values, or (zero copy) where the sender's memory holds them. */
typedef struct {
  int64_t data[SLICE];
  size_t n;
  int zc, zcRank, zcBuf;
  size_t zcOff;
} slot;
typedef struct {
  slot q[DEPTH];
  int head, tail;
} fifo; /* head: posted, tail: consumed */

static fifo fifos[8][MAXR][MAXR]; /* [connLane][from][to] */
static int64_t* sendb[MAXR];
static int64_t* recvb[MAXR];
static acclPlan* plans[MAXR];
static int n;

static int64_t base(void) {
  int64_t b = 1;
  for (int i = 0; i < n; i++) b *= (n + 1);
  return b;
}
static int64_t pw(int r) {
  int64_t b = 1;
  for (int i = 0; i < r; i++) b *= (n + 1);
  return b;
}
static int64_t input(int r, size_t i) { return pw(r) + (int64_t)i * base(); }
static int64_t sumAll(size_t i) {
  int64_t s = 0;
  for (int r = 0; r < n; r++) s += input(r, i);
  return s;
}

static int64_t* buf(int r, int id) { return id == ACCL_BUF_SEND ? sendb[r] : recvb[r]; }

/* The op of the task under test: PreMulSum's scalar, integer Avg's divide. */
#define SCALAR 3
static int taskPremul, taskPostDiv;
static int64_t inputScaled(int64_t v, const acclStep* s) { return (s->flags & ACCL_STEP_PREMUL) ? v * SCALAR : v; }
static int64_t resultOf(int64_t v, const acclStep* s) { return (s->flags & ACCL_STEP_POSTDIV) ? v / n : v; }
/* What a reduction's output element must hold. */
static int64_t reduced(int64_t sum) { return taskPostDiv ? sum / n : taskPremul ? SCALAR * sum : sum; }
static int stepsWithFlag[8]; /* flag bit -> steps seen carrying it */

typedef struct {
  int step;
  size_t slice;
} laneSt;
static laneSt lanes[MAXR][64];

/* One slice of a FIFO step on rank r; 1 moved, 0 blocked. */
static int fifoSlice(int r, const acclLane* ln, laneSt* ls, const acclStep* s) {
  size_t first = ls->slice * SLICE, cnt = s->count - first < SLICE ? s->count - first : SLICE;
  for (int k = 0; k < 2; k++) {
    if (s->recvPeer[k] >= 0 &&
        fifos[ln->connLane][s->recvPeer[k]][r].head == fifos[ln->connLane][s->recvPeer[k]][r].tail)
      return 0;
    if (s->sendPeer[k] >= 0) {
      fifo* f = &fifos[ln->connLane][r][s->sendPeer[k]];
      if (f->head - f->tail >= DEPTH) return 0;
    }
  }
  int64_t v[SLICE] = {0};
  int nin = 0;
  for (int k = 0; k < 2; k++) {
    if (s->recvPeer[k] < 0) continue;
    fifo* f = &fifos[ln->connLane][s->recvPeer[k]][r];
    slot* sl = &f->q[f->tail % DEPTH];
    assert_int_equal(sl->n, cnt);
    for (size_t i = 0; i < cnt; i++) v[i] += sl->zc ? buf(sl->zcRank, sl->zcBuf)[sl->zcOff + i] : sl->data[i];
    f->tail++;
    nin++;
  }
  int nrecv = nin;
  if (s->srcBuf) {
    for (size_t i = 0; i < cnt; i++) v[i] += inputScaled(buf(r, s->srcBuf)[s->srcOff + first + i], s);
    nin++;
  }
  assert_true(nin >= 1);
  for (size_t i = 0; i < cnt; i++) v[i] = resultOf(v[i], s);
  if (s->dstBuf)
    for (size_t i = 0; i < cnt; i++) buf(r, s->dstBuf)[s->dstOff + first + i] = v[i];
  /* zero copy, when the executor takes it: from dst, or from the only input */
  int zc = (s->flags & ACCL_STEP_ZCOPY) && s->sendPeer[0] >= 0 &&
           (s->dstBuf != ACCL_BUF_NONE || (nrecv == 0 && !(s->flags & ACCL_STEP_PREMUL)));
  for (int k = 0; k < 2; k++) {
    if (s->sendPeer[k] < 0) continue;
    fifo* f = &fifos[ln->connLane][r][s->sendPeer[k]];
    slot* sl = &f->q[f->head % DEPTH];
    memcpy(sl->data, v, sizeof(v));
    sl->n = cnt;
    sl->zc = zc;
    sl->zcRank = r;
    sl->zcBuf = s->dstBuf != ACCL_BUF_NONE ? s->dstBuf : s->srcBuf;
    sl->zcOff = (s->dstBuf != ACCL_BUF_NONE ? s->dstOff : s->srcOff) + first;
    f->head++;
  }
  ls->slice++;
  return 1;
}

static int arrived[MAXR], doneSeq[MAXR];
/* LL inboxes: [to][from] the lines of one collective */
static int64_t* llInbox[MAXR][MAXR];
static size_t llCount[MAXR][MAXR];
static int llFull[MAXR][MAXR];

/* Advance every lane of every rank until all finish; fail on a deadlock. */
static void runAll(void) {
  memset(fifos, 0, sizeof(fifos));
  memset(lanes, 0, sizeof(lanes));
  memset(arrived, 0, sizeof(arrived));
  memset(doneSeq, 0, sizeof(doneSeq));
  memset(llFull, 0, sizeof(llFull));
  for (int r = 0; r < n; r++)
    for (int l = 0; l < plans[r]->nLanes; l++)
      for (int k = 0; k < plans[r]->lanes[l].nSteps; k++)
        for (int b = 0; b < 8; b++) stepsWithFlag[b] += plans[r]->lanes[l].steps[k].flags >> b & 1;
  for (;;) {
    int moved = 0, pending = 0;
    for (int r = 0; r < n; r++) {
      acclPlan* p = plans[r];
      for (int l = 0; l < p->nLanes; l++) {
        const acclLane* ln = &p->lanes[l];
        laneSt* ls = &lanes[r][l];
        while (ls->step < ln->nSteps) {
          const acclStep* s = &ln->steps[ls->step];
          int fin = 0;
          if (s->kind == ACCL_STEP_FIFO) {
            size_t nsl = (s->count + SLICE - 1) / SLICE;
            if (ls->slice < nsl && !fifoSlice(r, ln, ls, s)) break;
            fin = ls->slice >= nsl;
            moved = 1;
          } else if (s->kind == ACCL_STEP_SYNC) {
            int* flag = s->phase == ACCL_SYNC_ARRIVE ? arrived : doneSeq;
            if (!ls->slice) {
              flag[r]++;
              ls->slice = 1;
              moved = 1;
            }
            fin = 1;
            for (int q = 0; q < n; q++)
              if ((s->mask >> q & 1) && flag[q] < flag[r]) fin = 0;
            if (!fin) break;
          } else if (s->kind == ACCL_STEP_DIRECT) {
            for (size_t i = 0; i < s->count; i++) {
              int64_t v = 0;
              for (int q = 0; q < n; q++)
                if (s->mask >> q & 1) v += inputScaled(buf(q, s->srcBuf)[s->srcOff + i], s);
              v = resultOf(v, s);
              for (int q = 0; q < n; q++)
                if (s->dstMask >> q & 1) buf(q, s->dstBuf)[s->dstOff + i] = v;
            }
            fin = 1;
          } else if (s->kind == ACCL_STEP_LLPUSH) {
            /* our (scaled) input into the inbox of every rank of mask */
            for (int q = 0; q < n; q++) {
              if (!(s->mask >> q & 1)) continue;
              assert_int_equal(llFull[q][r], 0); /* one collective in flight per pair */
              llInbox[q][r] = realloc(llInbox[q][r], (s->count + 1) * sizeof(int64_t));
              for (size_t i = 0; i < s->count; i++) llInbox[q][r][i] = inputScaled(buf(r, s->srcBuf)[s->srcOff + i], s);
              llCount[q][r] = s->count;
              llFull[q][r] = 1;
            }
            fin = 1;
            moved = 1;
          } else if (s->kind == ACCL_STEP_LLREDUCE) {
            int all = 1;
            for (int q = 0; q < n; q++)
              if ((s->mask >> q & 1) && !llFull[r][q]) all = 0;
            if (!all) break;
            for (size_t i = 0; i < s->count; i++) {
              int64_t v = inputScaled(buf(r, s->srcBuf)[s->srcOff + i], s);
              for (int q = 0; q < n; q++)
                if (s->mask >> q & 1) {
                  assert_int_equal(llCount[r][q], s->count);
                  v += llInbox[r][q][i];
                }
              buf(r, s->dstBuf)[s->dstOff + i] = resultOf(v, s);
            }
            for (int q = 0; q < n; q++)
              if (s->mask >> q & 1) llFull[r][q] = 0;
            fin = 1;
          } else {
            fail_msg("unexpected step kind %d", s->kind);
          }
          if (!fin) continue;
          ls->step++;
          ls->slice = 0;
          moved = 1;
        }
        if (ls->step < ln->nSteps) pending = 1;
      }
    }
    if (!pending) return;
    if (!moved) fail_msg("deadlock: no lane of any rank can move (n=%d)", n);
  }
}

static void setup(acclFunc func, size_t count, int root, size_t sendCount, size_t recvCount) {
  for (int r = 0; r < n; r++) {
    sendb[r] = calloc(sendCount + 1, sizeof(int64_t));
    recvb[r] = calloc(recvCount + 1, sizeof(int64_t));
    for (size_t i = 0; i < sendCount; i++) sendb[r][i] = input(r, i);
    for (size_t i = 0; i < recvCount; i++) recvb[r][i] = -1;
    plans[r] = calloc(1, sizeof(acclPlan));
    plans[r]->tasks = calloc(1, sizeof(acclTask));
    plans[r]->nTasks = 1;
    acclTask* t = &plans[r]->tasks[0];
    t->func = func;
    t->count = count;
    t->dtype = acclInt64;
    t->root = root;
    int reduces = func == ACCL_FUNC_ALLREDUCE || func == ACCL_FUNC_REDUCE || func == ACCL_FUNC_REDUCESCATTER;
    t->premul = reduces && taskPremul;
    t->postDiv = reduces && taskPostDiv;
    t->scalar.i = SCALAR;
  }
}

static void teardown(void) {
  for (int r = 0; r < n; r++) {
    free(sendb[r]);
    free(recvb[r]);
    acclPlanFree(plans[r]);
  }
}

/* Runs the AllReduce plans built: every rank ends with the sum of count
 * elements; then frees them. */
static void runAllReduced(size_t count) {
  runAll();
  for (int r = 0; r < n; r++)
    for (size_t i = 0; i < count; i++) assert_int_equal(recvb[r][i], sumAll(i));
  teardown();
}

static void ringOrder(int* ring, int rot) {
  for (int i = 0; i < n; i++) ring[i] = (i * (rot ? n - 1 : 1)) % n;
}

static void test_ring_allreduce(void** state) {
  (void)state;
  for (n = 1; n <= MAXR; n++)
    for (size_t count = 0; count < 40; count += 13) {
      int ring[MAXR];
      setup(ACCL_FUNC_ALLREDUCE, count, 0, count, count);
      for (int r = 0; r < n; r++)
        for (int c = 0; c < 2; c++) {
          size_t off, cnt;
          ringOrder(ring, c);
          acclPartition(count, 2, c, &off, &cnt);
          assert_int_equal(acclBuildRing(plans[r], 0, r, n, ring, c, off, cnt, SLICE * DEPTH / 2), acclSuccess);
        }
      runAllReduced(count);
    }
}

static void test_ring_gather_scatter_bcast_reduce(void** state) {
  (void)state;
  for (n = 1; n <= MAXR; n++) {
    int ring[MAXR];
    ringOrder(ring, 0);
    size_t count = 11;
    /* allgather */
    setup(ACCL_FUNC_ALLGATHER, count, 0, count, count * n);
    for (int r = 0; r < n; r++)
      assert_int_equal(acclBuildRing(plans[r], 0, r, n, ring, 0, 0, count, SLICE * DEPTH / 2), acclSuccess);
    runAll();
    for (int r = 0; r < n; r++)
      for (size_t i = 0; i < count * n; i++) assert_int_equal(recvb[r][i], input((int)(i / count), i % count));
    teardown();
    /* reduce-scatter */
    setup(ACCL_FUNC_REDUCESCATTER, count, 0, count * n, count);
    for (int r = 0; r < n; r++)
      assert_int_equal(acclBuildRing(plans[r], 0, r, n, ring, 0, 0, count, SLICE * DEPTH / 2), acclSuccess);
    runAll();
    for (int r = 0; r < n; r++)
      for (size_t i = 0; i < count; i++) assert_int_equal(recvb[r][i], sumAll((size_t)r * count + i));
    teardown();
    for (int root = 0; root < n; root++) {
      setup(ACCL_FUNC_BROADCAST, count, root, count, count);
      for (int r = 0; r < n; r++)
        assert_int_equal(acclBuildRing(plans[r], 0, r, n, ring, 0, 0, count, SLICE * DEPTH / 2), acclSuccess);
      runAll();
      for (int r = 0; r < n; r++)
        for (size_t i = 0; i < count; i++) assert_int_equal(recvb[r][i], input(root, i));
      teardown();
      setup(ACCL_FUNC_REDUCE, count, root, count, count);
      for (int r = 0; r < n; r++)
        assert_int_equal(acclBuildRing(plans[r], 0, r, n, ring, 0, 0, count, SLICE * DEPTH / 2), acclSuccess);
      runAll();
      for (size_t i = 0; i < count; i++) assert_int_equal(recvb[root][i], sumAll(i));
      teardown();
    }
  }
}

/* trees.c's double binary tree: every member in both trees, up and down
 * agree, one root each, every member reachable from it, depth at most
 * floor(log2 n) + 1 levels, and no member inner (with children) in both. */
static void checkTrees(int nn, const acclTreeNode* t0, const acclTreeNode* t1, const int root[2]) {
  const acclTreeNode* tt[2] = {t0, t1};
  int inner[MAXR * 8] = {0};
  int maxDepth = 1;
  while ((1 << maxDepth) <= nn) maxDepth++;
  for (int t = 0; t < 2; t++) {
    const acclTreeNode* T = tt[t];
    assert_true(root[t] >= 0 && root[t] < nn);
    assert_int_equal(T[root[t]].up, -1);
    for (int m = 0; m < nn; m++) {
      if (m != root[t]) {
        assert_true(T[m].up >= 0 && T[m].up < nn);
        const acclTreeNode* p = &T[T[m].up];
        assert_true(p->down[0] == m || p->down[1] == m);
        /* walking up reaches the root within maxDepth steps */
        int x = m, steps = 0;
        while (x != root[t] && steps <= maxDepth) x = T[x].up, steps++;
        if (x != root[t]) fail_msg("n=%d tree %d: member %d does not reach the root in %d steps", nn, t, m, maxDepth);
      }
      for (int k = 0; k < 2; k++) {
        int c = T[m].down[k];
        if (c < 0) continue;
        assert_true(c < nn && c != m);
        assert_int_equal(T[c].up, m);
        inner[m]++;
      }
      if (T[m].down[0] < 0) assert_int_equal(T[m].down[1], -1);
    }
  }
  for (int m = 0; m < nn; m++) {
    int innerIn = (t0[m].down[0] >= 0) + (t1[m].down[0] >= 0);
    if (innerIn > 1) fail_msg("n=%d: member %d is inner in both trees", nn, m);
  }
}

static void test_trees_c(void** state) {
  (void)state;
  acclTreeNode t0[64], t1[64];
  int root[2];
  for (int nn = 1; nn <= 64; nn++) {
    assert_int_equal(acclTopoDoubleBinaryTree(nn, t0, t1, root), acclSuccess);
    checkTrees(nn, t0, t1, root);
  }
  assert_int_not_equal(acclTopoDoubleBinaryTree(0, t0, t1, root), acclSuccess);
}

static void test_tree_allreduce(void** state) {
  (void)state;
  for (n = 1; n <= MAXR; n++) {
    acclTreeNode dbt[2][MAXR];
    int roots[2];
    assert_int_equal(acclTopoDoubleBinaryTree(n, dbt[0], dbt[1], roots), acclSuccess);
    size_t count = 23;
    setup(ACCL_FUNC_ALLREDUCE, count, 0, count, count);
    for (int r = 0; r < n; r++)
      for (int t = 0; t < 2; t++) {
        size_t off, cnt;
        const acclTreeNode* tn = &dbt[t][r];
        acclPartition(count, 2, t, &off, &cnt);
        assert_int_equal(acclBuildTree(plans[r], 0, t, r, tn->up, tn->down, 2 + t, off, cnt), acclSuccess);
      }
    runAllReduced(count);
  }
}

/* Recursive doubling, n = 1..MAXR (powers of two and not), messages of up to
 * DEPTH/2 slices as the tuner allows: every rank ends with the full sum. */
static void test_rd_allreduce(void** state) {
  (void)state;
  for (n = 1; n <= MAXR; n++)
    for (size_t count = 0; count <= SLICE * DEPTH / 2; count += 3) {
      setup(ACCL_FUNC_ALLREDUCE, count, 0, count, count);
      for (int r = 0; r < n; r++) assert_int_equal(acclBuildRD(plans[r], 0, r, n, 0, count), acclSuccess);
      runAllReduced(count);
    }
}

static void test_direct_and_alltoall(void** state) {
  (void)state;
  for (n = 1; n <= MAXR; n++) {
    size_t count = 17;
    acclFunc funcs[] = {ACCL_FUNC_ALLREDUCE, ACCL_FUNC_ALLGATHER, ACCL_FUNC_REDUCESCATTER, ACCL_FUNC_ALLTOALL};
    for (int f = 0; f < 4; f++) {
      size_t sc = count, rc = count;
      if (funcs[f] == ACCL_FUNC_ALLGATHER) rc = count * n;
      if (funcs[f] == ACCL_FUNC_REDUCESCATTER) sc = count * n;
      if (funcs[f] == ACCL_FUNC_ALLTOALL) sc = rc = count * n;
      for (int viaP2P = 0; viaP2P < (funcs[f] == ACCL_FUNC_ALLTOALL ? 2 : 1); viaP2P++) {
        setup(funcs[f], count, 0, sc, rc);
        for (int r = 0; r < n; r++)
          assert_int_equal(viaP2P ? acclBuildP2P(plans[r], 0, r, n, 4) : acclBuildDirect(plans[r], 0, r, n),
                           acclSuccess);
        runAll();
        for (int r = 0; r < n; r++)
          for (size_t i = 0; i < rc; i++) {
            int64_t exp;
            switch (funcs[f]) {
              case ACCL_FUNC_ALLREDUCE: exp = sumAll(i); break;
              case ACCL_FUNC_ALLGATHER: exp = input((int)(i / count), i % count); break;
              case ACCL_FUNC_REDUCESCATTER: exp = sumAll((size_t)r * count + i); break;
              default: exp = input((int)(i / count), (size_t)r * count + i % count);
            }
            assert_int_equal(recvb[r][i], exp);
          }
        teardown();
      }
    }
  }
}

/* Buffer sizes (elements) of a call with `count` per rank. */
static void sizesOf(acclFunc f, size_t count, size_t* sc, size_t* rc) {
  *sc = *rc = count;
  if (f == ACCL_FUNC_ALLGATHER) *rc = count * (size_t)n;
  if (f == ACCL_FUNC_REDUCESCATTER) *sc = count * (size_t)n;
  if (f == ACCL_FUNC_ALLTOALL) *sc = *rc = count * (size_t)n;
}

/* What rank r's output element i must hold (Reduce: only at the root). */
static void checkResult(acclFunc f, size_t count, int root) {
  size_t sc, rc;
  sizesOf(f, count, &sc, &rc);
  for (int r = 0; r < n; r++) {
    if (f == ACCL_FUNC_REDUCE && r != root) continue;
    for (size_t i = 0; i < rc; i++) {
      int64_t exp;
      switch (f) {
        case ACCL_FUNC_ALLREDUCE:
        case ACCL_FUNC_REDUCE: exp = reduced(sumAll(i)); break;
        case ACCL_FUNC_BROADCAST: exp = input(root, i); break;
        case ACCL_FUNC_ALLGATHER: exp = input((int)(i / count), i % count); break;
        case ACCL_FUNC_REDUCESCATTER: exp = reduced(sumAll((size_t)r * count + i)); break;
        default: exp = input((int)(i / count), (size_t)r * count + i % count);
      }
      if (recvb[r][i] != exp)
        fail_msg("func %d n=%d count=%zu root=%d: rank %d element %zu is %lld, expected %lld", f, n, count, root, r, i,
                 (long long)recvb[r][i], (long long)exp);
    }
  }
}

/* Every entry of the algorithm table, for every collective it calls itself
 * able to run (Simple protocol; LL lines are not modelled here), on one node
 * and on two: built through the table's build for every rank and run on the
 * model. Feasible must mean buildable and correct. */
static void test_table_builds_what_it_accepts(void** state) {
  (void)state;
  static const acclFunc funcs[] = {ACCL_FUNC_ALLREDUCE, ACCL_FUNC_BROADCAST,     ACCL_FUNC_REDUCE,
                                   ACCL_FUNC_ALLGATHER, ACCL_FUNC_REDUCESCATTER, ACCL_FUNC_ALLTOALL};
  acclTreeNode trees[2 * MAXR];
  int nodeOf[MAXR];
  int rings[2 * MAXR];
  int built[ACCL_NUM_ALGOS] = {0}, builtLL = 0;
  for (n = 1; n <= MAXR; n++) {
    int roots[2];
    assert_int_equal(acclTopoDoubleBinaryTree(n, trees, trees + n, roots), acclSuccess);
    ringOrder(rings, 0);
    ringOrder(rings + n, 1);
    for (int nodes = 1; nodes <= 2; nodes++) {
      if (nodes == 2 && (n < 2 || n % 2)) continue;
      for (int r = 0; r < n; r++) nodeOf[r] = nodes == 1 ? 0 : r / (n / 2);
      const size_t halfFifo = SLICE * DEPTH / 2 * sizeof(int64_t);
      acclAlgoCtx ctx = {.nranks = n,
                         .nChannels = 2,
                         .p2pLane = 4,
                         .halfFifo = halfFifo,
                         .rings = rings,
                         .nRings = 2,
                         .trees = trees,
                         .nodeOf = nodeOf,
                         .nNodes = nodes};
      for (size_t fi = 0; fi < sizeof(funcs) / sizeof(funcs[0]); fi++)
        for (size_t count = 1; count <= 31; count += 15) {
          acclTuneInput in = {.func = funcs[fi],
                              .bytes = count * sizeof(int64_t),
                              .nranks = n,
                              .nNodes = nodes,
                              .directOk = nodes == 1,
                              .haveTrees = 1,
                              .hierLocal = nodes == 2 ? n / 2 : 0,
                              .llMaxBytes = 64,
                              .rdMaxBytes = halfFifo,
                              .bwIntra = 10,
                              .latIntra = 1,
                              .bwInter = 1,
                              .latInter = 10};
          if (funcs[fi] != ACCL_FUNC_ALLREDUCE && funcs[fi] != ACCL_FUNC_BROADCAST && funcs[fi] != ACCL_FUNC_REDUCE)
            in.bytes *= (size_t)n;
          for (int a = 0; a < ACCL_NUM_ALGOS; a++)
            for (int proto = 0; proto < ACCL_NUM_PROTOS; proto++) {
              const acclAlgoInfo* info = acclAlgoGet(a);
              if (!info->feasible(&in, (acclProto)proto)) continue;
              const int root = n > 2 ? 2 : 0;
              size_t sc, rc;
              sizesOf(funcs[fi], count, &sc, &rc);
              setup(funcs[fi], count, root, sc, rc);
              for (int r = 0; r < n; r++) {
                plans[r]->tasks[0].algo = (acclAlgo)a;
                plans[r]->tasks[0].proto = (acclProto)proto;
                ctx.rank = r;
                acclResult_t res = info->build(plans[r], 0, &ctx);
                if (res != acclSuccess)
                  fail_msg("%s: build failed for func %d n=%d nodes=%d", info->name, funcs[fi], n, nodes);
              }
              runAll();
              checkResult(funcs[fi], count, root);
              teardown();
              built[a]++;
              if (proto == ACCL_PROTO_LL) builtLL++;
            }
        }
    }
  }
  /* the test reached every algorithm, and LL */
  for (int a = 0; a < ACCL_NUM_ALGOS; a++)
    if (built[a] == 0) fail_msg("algorithm %s never built", acclAlgoGet(a)->name);
  if (builtLL == 0) fail_msg("no LL plan built");
}

/* The same through the table with PreMulSum (PREMUL: each input scaled once)
 * and integer Avg (POSTDIV: the sum divided once): the flags must sit on the
 * right steps of every builder, LL's included. */
static void test_table_step_flags(void** state) {
  memset(stepsWithFlag, 0, sizeof(stepsWithFlag));
  taskPremul = 1;
  test_table_builds_what_it_accepts(state);
  taskPremul = 0;
  assert_true(stepsWithFlag[0] > 0); /* ACCL_STEP_PREMUL */
  taskPostDiv = 1;
  test_table_builds_what_it_accepts(state);
  taskPostDiv = 0;
  assert_true(stepsWithFlag[1] > 0); /* ACCL_STEP_POSTDIV */
  assert_true(stepsWithFlag[2] > 0); /* ACCL_STEP_ZCOPY */
}

/* The fold order of a chain plan: every step that reduces (a received
 * partial result and the local input) is on rank k > 0 and receives from
 * rank k-1, so each element is ((x0 op x1) op x2) ... op x(n-1); only rank 0
 * reads its input without receiving. */
static void checkChainOrder(void) {
  for (int r = 0; r < n; r++)
    for (int l = 0; l < plans[r]->nLanes; l++)
      for (int k = 0; k < plans[r]->lanes[l].nSteps; k++) {
        const acclStep* s = &plans[r]->lanes[l].steps[k];
        assert_int_equal(s->kind, ACCL_STEP_FIFO);
        assert_int_equal(s->recvPeer[1], -1);
        assert_int_equal(s->sendPeer[1], -1);
        if (s->srcBuf == ACCL_BUF_NONE) continue;
        if (r == 0)
          assert_int_equal(s->recvPeer[0], -1);
        else if (s->recvPeer[0] != r - 1)
          fail_msg("n=%d rank %d: a reducing step receives from %d, not from rank %d", n, r, s->recvPeer[0], r - 1);
      }
}

/* The chain (ACCL_DETERMINISTIC) for 1..9 ranks: AllReduce, ReduceScatter
 * and Reduce at every root, over 1-3 channels and chunks of 1, 3 and 10
 * elements (many rounds), with tiny FIFOs: it ends, the results are exact and
 * the fold order is the rank order. */
static void test_chain(void** state) {
  (void)state;
  static const acclFunc funcs[] = {ACCL_FUNC_ALLREDUCE, ACCL_FUNC_REDUCESCATTER, ACCL_FUNC_REDUCE};
  static const size_t chunks[] = {1, 3, SLICE * DEPTH / 2};
  int runs = 0;
  for (n = 1; n <= MAXR; n++)
    for (size_t fi = 0; fi < 3; fi++)
      for (size_t count = 0; count <= 23; count += 23)
        for (int nch = 1; nch <= 3; nch++)
          for (size_t ci = 0; ci < 3; ci++)
            for (int root = 0; root < (funcs[fi] == ACCL_FUNC_REDUCE ? n : 1); root++) {
              size_t sc, rc;
              sizesOf(funcs[fi], count, &sc, &rc);
              setup(funcs[fi], count, root, sc, rc);
              for (int r = 0; r < n; r++)
                for (int c = 0; c < nch; c++) {
                  size_t off, cnt;
                  acclPartition(count, nch, c, &off, &cnt);
                  assert_int_equal(acclBuildChain(plans[r], 0, r, n, c, off, cnt, chunks[ci]), acclSuccess);
                }
              checkChainOrder();
              runAll();
              checkResult(funcs[fi], count, root);
              teardown();
              runs++;
            }
  assert_true(runs > 0);
}

UNIT_TEST_MAIN(cmocka_unit_test(test_ring_allreduce), cmocka_unit_test(test_ring_gather_scatter_bcast_reduce),
               cmocka_unit_test(test_tree_allreduce), cmocka_unit_test(test_rd_allreduce),
               cmocka_unit_test(test_direct_and_alltoall), cmocka_unit_test(test_table_builds_what_it_accepts),
               cmocka_unit_test(test_table_step_flags), cmocka_unit_test(test_trees_c), cmocka_unit_test(test_chain))
