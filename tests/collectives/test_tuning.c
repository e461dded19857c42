/* test_tuning.c - the algorithm table and the choice made over it: what each
 * algorithm accepts, the order of costs on typical machines, and what happens
 * when ACCL_ALGO / ACCL_PROTO allow nothing that can run a call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "../lib/unit_main.h"
#include "collectives/tuning.h"
#include "core/param.h"
#include "topology/graph.h"

#define ALL_ALGOS ((1u << ACCL_NUM_ALGOS) - 1)
#define ALL_PROTOS ((1u << ACCL_NUM_PROTOS) - 1)
#define BIT(x) (1u << (x))

/* One node of n simulated chips: every peer mapped. */
static acclTuneInput oneNode(int n, acclFunc f, size_t bytes) {
  acclTuneInput in = {.func = f,
                      .bytes = bytes,
                      .nranks = n,
                      .nNodes = 1,
                      .directOk = 1,
                      .haveTrees = 1,
                      .llMaxBytes = 16384,
                      .rdMaxBytes = 32768,
                      .bwIntra = ACCL_TOPO_SHM_BW_GBS,
                      .latIntra = ACCL_TOPO_SHM_LAT_US,
                      .bwInter = ACCL_TOPO_NET_BW_GBS,
                      .latInter = ACCL_TOPO_NET_LAT_US};
  return in;
}

/* nodes x local ranks over the network: no peer memory across nodes. */
static acclTuneInput multiNode(int nodes, int local, acclFunc f, size_t bytes) {
  acclTuneInput in = oneNode(nodes * local, f, bytes);
  in.nNodes = nodes;
  in.directOk = 0;
  in.hierLocal = local;
  return in;
}

static void pick(const acclTuneInput* in, unsigned am, unsigned pm, acclAlgo* a, acclProto* p) {
  assert_int_equal(acclTuneSelect(in, am, pm, a, p), acclSuccess);
}

static void expectPick(const acclTuneInput* in, unsigned am, unsigned pm, acclAlgo wantA, acclProto wantP) {
  acclAlgo a;
  acclProto p;
  pick(in, am, pm, &a, &p);
  if (a != wantA || p != wantP)
    fail_msg("func %d %zu B, %d ranks on %d nodes: chose %s/%s, expected %s/%s", in->func, in->bytes, in->nranks,
             in->nNodes, acclAlgoName(a), acclProtoName(p), acclAlgoName(wantA), acclProtoName(wantP));
}

static void test_table_is_complete(void** state) {
  (void)state;
  for (int a = 0; a < ACCL_NUM_ALGOS; a++) {
    const acclAlgoInfo* info = acclAlgoGet(a);
    assert_non_null(info);
    assert_non_null(info->feasible);
    assert_non_null(info->cost);
    assert_non_null(info->build);
    assert_string_equal(acclAlgoName((acclAlgo)a), info->name);
    for (int b = 0; b < a; b++) assert_true(strcmp(info->name, acclAlgoGet(b)->name) != 0);
  }
  assert_null(acclAlgoGet(-1));
  assert_null(acclAlgoGet(ACCL_NUM_ALGOS));
  assert_string_equal(acclAlgoName((acclAlgo)ACCL_NUM_ALGOS), "?");
}

/* Send and Recv run only on p2p; AllToAll on p2p or, on one node, direct. */
static void test_feasibility(void** state) {
  (void)state;
  for (int f = ACCL_FUNC_SEND; f <= ACCL_FUNC_RECV; f++) {
    acclTuneInput in = oneNode(4, (acclFunc)f, 1024);
    for (int a = 0; a < ACCL_NUM_ALGOS; a++)
      for (int p = 0; p < ACCL_NUM_PROTOS; p++) {
        int ok = acclTuneCost(&in, (acclAlgo)a, (acclProto)p) >= 0;
        assert_int_equal(ok, a == ACCL_ALGO_P2P && p == ACCL_PROTO_SIMPLE);
      }
  }
  acclTuneInput in = oneNode(4, ACCL_FUNC_ALLTOALL, 1024);
  assert_true(acclTuneCost(&in, ACCL_ALGO_DIRECT, ACCL_PROTO_SIMPLE) >= 0);
  assert_true(acclTuneCost(&in, ACCL_ALGO_RING, ACCL_PROTO_SIMPLE) < 0);
  in = multiNode(2, 2, ACCL_FUNC_ALLTOALL, 1024);
  assert_true(acclTuneCost(&in, ACCL_ALGO_DIRECT, ACCL_PROTO_SIMPLE) < 0);
  assert_true(acclTuneCost(&in, ACCL_ALGO_P2P, ACCL_PROTO_SIMPLE) >= 0);
  /* LL: one-shot AllReduce only, up to its limit, never alone */
  in = oneNode(4, ACCL_FUNC_ALLREDUCE, 16384);
  assert_true(acclTuneCost(&in, ACCL_ALGO_DIRECT, ACCL_PROTO_LL) >= 0);
  in.bytes = 16385;
  assert_true(acclTuneCost(&in, ACCL_ALGO_DIRECT, ACCL_PROTO_LL) < 0);
  in = oneNode(1, ACCL_FUNC_ALLREDUCE, 8);
  assert_true(acclTuneCost(&in, ACCL_ALGO_DIRECT, ACCL_PROTO_LL) < 0);
  for (int a = 0; a < ACCL_NUM_ALGOS; a++)
    if (a != ACCL_ALGO_DIRECT) assert_true(acclTuneCost(&in, (acclAlgo)a, ACCL_PROTO_LL) < 0);
  /* tree only with trees; rd only off-node and within half a FIFO; hier only on equal nodes */
  in = oneNode(4, ACCL_FUNC_ALLREDUCE, 8);
  in.haveTrees = 0;
  assert_true(acclTuneCost(&in, ACCL_ALGO_TREE, ACCL_PROTO_SIMPLE) < 0);
  assert_true(acclTuneCost(&in, ACCL_ALGO_RD, ACCL_PROTO_SIMPLE) < 0);
  assert_true(acclTuneCost(&in, ACCL_ALGO_HIER, ACCL_PROTO_SIMPLE) < 0);
  in = multiNode(2, 4, ACCL_FUNC_ALLREDUCE, 32768);
  assert_true(acclTuneCost(&in, ACCL_ALGO_RD, ACCL_PROTO_SIMPLE) >= 0);
  in.bytes = 32769;
  assert_true(acclTuneCost(&in, ACCL_ALGO_RD, ACCL_PROTO_SIMPLE) < 0);
  assert_true(acclTuneCost(&in, ACCL_ALGO_HIER, ACCL_PROTO_SIMPLE) >= 0);
  in.hierLocal = 0; /* unequal nodes */
  assert_true(acclTuneCost(&in, ACCL_ALGO_HIER, ACCL_PROTO_SIMPLE) < 0);
  in = multiNode(2, 4, ACCL_FUNC_ALLGATHER, 1024);
  assert_true(acclTuneCost(&in, ACCL_ALGO_HIER, ACCL_PROTO_SIMPLE) < 0);
  assert_true(acclTuneCost(&in, ACCL_ALGO_RING, ACCL_PROTO_SIMPLE) >= 0);
}

/* What the model chooses on the machines the library runs on. */
static void test_choices(void** state) {
  (void)state;
  acclTuneInput in = oneNode(8, ACCL_FUNC_ALLREDUCE, 8);
  expectPick(&in, ALL_ALGOS, ALL_PROTOS, ACCL_ALGO_DIRECT, ACCL_PROTO_LL);
  in.bytes = 16 << 20;
  expectPick(&in, ALL_ALGOS, ALL_PROTOS, ACCL_ALGO_DIRECT, ACCL_PROTO_SIMPLE);
  in = oneNode(8, ACCL_FUNC_ALLGATHER, 1 << 20);
  expectPick(&in, ALL_ALGOS, ALL_PROTOS, ACCL_ALGO_DIRECT, ACCL_PROTO_SIMPLE);
  in = oneNode(4, ACCL_FUNC_ALLTOALL, 1 << 20);
  expectPick(&in, ALL_ALGOS, ALL_PROTOS, ACCL_ALGO_P2P, ACCL_PROTO_SIMPLE);
  /* one rank per node: small AllReduce by recursive doubling (2 hops, where
   * the ring makes 6 and the hierarchy's inter-node ring 6) */
  in = multiNode(4, 1, ACCL_FUNC_ALLREDUCE, 8);
  expectPick(&in, ALL_ALGOS, ALL_PROTOS, ACCL_ALGO_RD, ACCL_PROTO_SIMPLE);
  /* several per node: small by recursive doubling (its first rounds stay
   * inside the node: one network hop), large by the hierarchy */
  in = multiNode(2, 4, ACCL_FUNC_ALLREDUCE, 8);
  expectPick(&in, ALL_ALGOS, ALL_PROTOS, ACCL_ALGO_RD, ACCL_PROTO_SIMPLE);
  /* large: a plan that crosses the network once per byte and direction (the
   * trees pipeline their node-local chains with it, the hierarchy runs its
   * phases one after the other), never the flat ring */
  in.bytes = 64 << 20;
  acclAlgo big;
  acclProto bigP;
  pick(&in, ALL_ALGOS, ALL_PROTOS, &big, &bigP);
  assert_true(big == ACCL_ALGO_TREE || big == ACCL_ALGO_HIER);
  in = multiNode(2, 4, ACCL_FUNC_BROADCAST, 1 << 20);
  expectPick(&in, ALL_ALGOS, ALL_PROTOS, ACCL_ALGO_RING, ACCL_PROTO_SIMPLE);
}

/* A cost grows with the bytes, and more ranks never make a ring cheaper. */
static void test_cost_order(void** state) {
  (void)state;
  for (int f = 0; f < ACCL_NUM_FUNCS; f++)
    for (int a = 0; a < ACCL_NUM_ALGOS; a++)
      for (int p = 0; p < ACCL_NUM_PROTOS; p++) {
        double last = -1;
        for (size_t b = 8; b <= (1u << 26); b *= 4) {
          acclTuneInput in = multiNode(2, 4, (acclFunc)f, b);
          in.rdMaxBytes = SIZE_MAX;
          double c = acclTuneCost(&in, (acclAlgo)a, (acclProto)p);
          if (c < 0) continue;
          assert_true(c > 0);
          if (last >= 0 && c < last)
            fail_msg("%s/%s func %d: %zu B costs %.3f us, less than %zu B (%.3f us)", acclAlgoName((acclAlgo)a),
                     acclProtoName((acclProto)p), f, b, c, b / 4, last);
          last = c;
        }
      }
  double last = 0;
  for (int n = 2; n <= 64; n *= 2) {
    acclTuneInput in = oneNode(n, ACCL_FUNC_ALLREDUCE, 1 << 20);
    double c = acclTuneCost(&in, ACCL_ALGO_RING, ACCL_PROTO_SIMPLE);
    assert_true(c >= last);
    last = c;
  }
}

/* ACCL_ALGO / ACCL_PROTO are preferences: honoured when the chosen pair can
 * run the call, else the model's choice among all of them. */
static void test_restrictions_and_fallback(void** state) {
  (void)state;
  acclTuneInput in = oneNode(8, ACCL_FUNC_ALLREDUCE, 16 << 20);
  expectPick(&in, BIT(ACCL_ALGO_RING) | BIT(ACCL_ALGO_P2P), ALL_PROTOS, ACCL_ALGO_RING, ACCL_PROTO_SIMPLE);
  expectPick(&in, BIT(ACCL_ALGO_TREE) | BIT(ACCL_ALGO_P2P), ALL_PROTOS, ACCL_ALGO_TREE, ACCL_PROTO_SIMPLE);
  /* tree asked for, but this communicator has no trees: the unrestricted choice */
  in.haveTrees = 0;
  expectPick(&in, BIT(ACCL_ALGO_TREE) | BIT(ACCL_ALGO_P2P), ALL_PROTOS, ACCL_ALGO_DIRECT, ACCL_PROTO_SIMPLE);
  /* LL only, for a call LL cannot carry */
  in = oneNode(8, ACCL_FUNC_ALLGATHER, 1024);
  expectPick(&in, ALL_ALGOS, BIT(ACCL_PROTO_LL), ACCL_ALGO_DIRECT, ACCL_PROTO_SIMPLE);
  /* ^direct on one node: ring for AllGather, LL gone for AllReduce */
  in = oneNode(8, ACCL_FUNC_ALLGATHER, 1 << 20);
  expectPick(&in, ALL_ALGOS & ~BIT(ACCL_ALGO_DIRECT), ALL_PROTOS, ACCL_ALGO_RING, ACCL_PROTO_SIMPLE);
  in = oneNode(8, ACCL_FUNC_ALLREDUCE, 8);
  acclAlgo a;
  acclProto p;
  pick(&in, ALL_ALGOS & ~BIT(ACCL_ALGO_DIRECT), ALL_PROTOS, &a, &p);
  assert_int_not_equal(a, ACCL_ALGO_DIRECT);
  assert_int_equal(p, ACCL_PROTO_SIMPLE);
  /* nothing allowed at all: still an answer */
  pick(&in, 0, 0, &a, &p);
  assert_int_equal(a, ACCL_ALGO_DIRECT);
}

/* Found with acc-ccl-sim: 2 trn1-like nodes x 16 ranks, 16 MiB AllReduce. The
 * replayed plans take ~350 us on the ring and ~490 us on hier, but the tuner
 * priced every ring step at the network's latency (31 x 2 x 15 us) and chose
 * hier. Only 2 of the ring's 32 hops cross nodes. */
static void test_crossover_at_scale(void** state) {
  (void)state;
  acclTuneInput in = {.func = ACCL_FUNC_ALLREDUCE,
                      .bytes = 16 << 20,
                      .nranks = 32,
                      .nNodes = 2,
                      .haveTrees = 1,
                      .hierLocal = 16,
                      .rdMaxBytes = 32768,
                      .bwIntra = 100.0 / 3,
                      .latIntra = 1.5,
                      .bwInter = 12.5,
                      .latInter = 15,
                      .bwNet = 100,
                      .bwCopy = 612,
                      .nChannels = 8,
                      .nTrees = 16};
  expectPick(&in, ALL_ALGOS, ALL_PROTOS, ACCL_ALGO_RING, ACCL_PROTO_SIMPLE);
  /* small messages stay on the few-hop algorithms */
  in.bytes = 1024;
  acclAlgo a;
  acclProto p;
  pick(&in, ALL_ALGOS, ALL_PROTOS, &a, &p);
  assert_int_not_equal(a, ACCL_ALGO_RING);
}

/* The choices the issue names (issue 23 item 4), each at the shape it
 * names: small AllReduce on one node by direct/LL, across two nodes (one
 * rank each) by recursive doubling, large across 2-4 nodes by the ring (8
 * nodes: the trees); AllToAll
 * by p2p at every shape and size (on one node direct can run it too, but
 * costs one more hop, its SYNC, for the same bytes). */
static void test_issue_examples(void** state) {
  (void)state;
  static const size_t small[] = {8, 32, 64};
  for (size_t k = 0; k < sizeof(small) / sizeof(small[0]); k++)
    for (int n = 2; n <= 8; n++) {
      acclTuneInput in = oneNode(n, ACCL_FUNC_ALLREDUCE, small[k]);
      expectPick(&in, ALL_ALGOS, ALL_PROTOS, ACCL_ALGO_DIRECT, ACCL_PROTO_LL);
    }
  for (int nodes = 2; nodes <= 4; nodes *= 2) {
    acclTuneInput in = multiNode(nodes, 1, ACCL_FUNC_ALLREDUCE, 8);
    expectPick(&in, ALL_ALGOS, ALL_PROTOS, ACCL_ALGO_RD, ACCL_PROTO_SIMPLE);
    in.bytes = 32768; /* rd's limit (half a FIFO here): the measured crossover with the ring is near it */
    {
      acclAlgo a;
      acclProto p;
      pick(&in, ALL_ALGOS, ALL_PROTOS, &a, &p);
      assert_true(a == ACCL_ALGO_RD || a == ACCL_ALGO_RING);
    }
    in.bytes = 32769; /* past it: ring (2 nodes) or the trees (more nodes, fewer hops) */
    acclAlgo a;
    acclProto p;
    pick(&in, ALL_ALGOS, ALL_PROTOS, &a, &p);
    assert_true(nodes == 2 ? a == ACCL_ALGO_RING : (a == ACCL_ALGO_RING || a == ACCL_ALGO_TREE));
    in.bytes = 64 << 20; /* 2 nodes: the ring; 4: the ring or the trees (one per NIC, priced by acc-ccl-sim's model) */
    if (nodes == 2) {
      expectPick(&in, ALL_ALGOS, ALL_PROTOS, ACCL_ALGO_RING, ACCL_PROTO_SIMPLE);
    } else {
      pick(&in, ALL_ALGOS, ALL_PROTOS, &a, &p);
      assert_true(a == ACCL_ALGO_RING || a == ACCL_ALGO_TREE);
    }
  }
  /* 8 nodes: rd for tiny messages, the trees (3 hops deep) for large ones */
  acclTuneInput in8 = multiNode(8, 1, ACCL_FUNC_ALLREDUCE, 8);
  expectPick(&in8, ALL_ALGOS, ALL_PROTOS, ACCL_ALGO_RD, ACCL_PROTO_SIMPLE);
  in8.bytes = 64 << 20;
  expectPick(&in8, ALL_ALGOS, ALL_PROTOS, ACCL_ALGO_TREE, ACCL_PROTO_SIMPLE);
  /* nodes of unequal size (no hierarchy): rd while small, then the trees */
  acclTuneInput in = multiNode(2, 4, ACCL_FUNC_ALLREDUCE, 8);
  in.hierLocal = 0;
  expectPick(&in, ALL_ALGOS, ALL_PROTOS, ACCL_ALGO_RD, ACCL_PROTO_SIMPLE);
  in.bytes = 64 << 20;
  expectPick(&in, ALL_ALGOS, ALL_PROTOS, ACCL_ALGO_TREE, ACCL_PROTO_SIMPLE);
  for (size_t b = 8; b <= (64u << 20); b *= 16) {
    in = oneNode(4, ACCL_FUNC_ALLTOALL, b);
    expectPick(&in, ALL_ALGOS, ALL_PROTOS, ACCL_ALGO_P2P, ACCL_PROTO_SIMPLE);
    in = multiNode(2, 2, ACCL_FUNC_ALLTOALL, b);
    expectPick(&in, ALL_ALGOS, ALL_PROTOS, ACCL_ALGO_P2P, ACCL_PROTO_SIMPLE);
    /* Send / Recv: p2p only, whatever ACCL_ALGO says */
    in = oneNode(4, ACCL_FUNC_SEND, b);
    expectPick(&in, BIT(ACCL_ALGO_RING), ALL_PROTOS, ACCL_ALGO_P2P, ACCL_PROTO_SIMPLE);
  }
}

/* The cost order behind those choices: on one node direct/LL below direct
 * Simple below ring for small AllReduce; across nodes rd below ring below
 * tree for small messages, ring below rd never (rd moves the whole message
 * log2(n) times). */
static void test_cost_order_between_algorithms(void** state) {
  (void)state;
  acclTuneInput in = oneNode(8, ACCL_FUNC_ALLREDUCE, 8);
  double ll = acclTuneCost(&in, ACCL_ALGO_DIRECT, ACCL_PROTO_LL);
  double simple = acclTuneCost(&in, ACCL_ALGO_DIRECT, ACCL_PROTO_SIMPLE);
  double ring = acclTuneCost(&in, ACCL_ALGO_RING, ACCL_PROTO_SIMPLE);
  assert_true(ll > 0 && ll < simple && simple < ring);
  in = multiNode(4, 1, ACCL_FUNC_ALLREDUCE, 8);
  double rd = acclTuneCost(&in, ACCL_ALGO_RD, ACCL_PROTO_SIMPLE);
  ring = acclTuneCost(&in, ACCL_ALGO_RING, ACCL_PROTO_SIMPLE);
  assert_true(rd > 0 && rd < ring);
  in.bytes = 32768;
  in.rdMaxBytes = SIZE_MAX;
  for (; in.bytes <= (64u << 20); in.bytes *= 4) {
    rd = acclTuneCost(&in, ACCL_ALGO_RD, ACCL_PROTO_SIMPLE);
    ring = acclTuneCost(&in, ACCL_ALGO_RING, ACCL_PROTO_SIMPLE);
    if (in.bytes >= (1u << 20) && !(ring < rd))
      fail_msg("%zu B on 4 nodes: ring %.1f us not below rd %.1f us", in.bytes, ring, rd);
  }
  /* one node: LL's cost grows faster than direct Simple's (lines are twice the data, n copies) */
  in = oneNode(8, ACCL_FUNC_ALLREDUCE, 16384);
  assert_true(acclTuneCost(&in, ACCL_ALGO_DIRECT, ACCL_PROTO_LL) /
                  acclTuneCost(&in, ACCL_ALGO_DIRECT, ACCL_PROTO_SIMPLE) >
              ll / simple);
}

/* ACCL_ALGO / ACCL_PROTO through the parameter table to the masks the
 * communicator keeps: names, '^' exclusions, p2p always allowed, bad names
 * ignored (all allowed). */
static void test_env_masks(void** state) {
  (void)state;
  static const struct {
    const char *algo, *proto;
    unsigned am, pm;
  } cases[] = {
      {NULL, NULL, ALL_ALGOS, ALL_PROTOS},
      {"ring", "Simple", BIT(ACCL_ALGO_RING) | BIT(ACCL_ALGO_P2P), BIT(ACCL_PROTO_SIMPLE)},
      {"tree,direct", "LL", BIT(ACCL_ALGO_TREE) | BIT(ACCL_ALGO_DIRECT) | BIT(ACCL_ALGO_P2P), BIT(ACCL_PROTO_LL)},
      {"^direct", "^LL", ALL_ALGOS & ~BIT(ACCL_ALGO_DIRECT), BIT(ACCL_PROTO_SIMPLE)},
      {"RD", "simple", BIT(ACCL_ALGO_RD) | BIT(ACCL_ALGO_P2P), BIT(ACCL_PROTO_SIMPLE)},
      {"nosuch", "nosuch", ALL_ALGOS, ALL_PROTOS},
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    if (cases[k].algo)
      setenv("ACCL_ALGO", cases[k].algo, 1);
    else
      unsetenv("ACCL_ALGO");
    if (cases[k].proto)
      setenv("ACCL_PROTO", cases[k].proto, 1);
    else
      unsetenv("ACCL_PROTO");
    acclParamReset();
    if (acclTuneAlgoMask() != cases[k].am || acclTuneProtoMask() != cases[k].pm)
      fail_msg("ACCL_ALGO=%s ACCL_PROTO=%s: masks 0x%x 0x%x, expected 0x%x 0x%x", cases[k].algo, cases[k].proto,
               acclTuneAlgoMask(), acclTuneProtoMask(), cases[k].am, cases[k].pm);
  }
  unsetenv("ACCL_ALGO");
  unsetenv("ACCL_PROTO");
  acclParamReset();
  /* a mask of ring alone still runs AllToAll (p2p) and a small AllReduce by ring */
  acclTuneInput in = oneNode(4, ACCL_FUNC_ALLTOALL, 1024);
  expectPick(&in, BIT(ACCL_ALGO_RING) | BIT(ACCL_ALGO_P2P), ALL_PROTOS, ACCL_ALGO_P2P, ACCL_PROTO_SIMPLE);
  in = oneNode(4, ACCL_FUNC_ALLREDUCE, 8);
  expectPick(&in, BIT(ACCL_ALGO_RING) | BIT(ACCL_ALGO_P2P), ALL_PROTOS, ACCL_ALGO_RING, ACCL_PROTO_SIMPLE);
  /* hier asked for on one node: it cannot run, the unrestricted choice */
  expectPick(&in, BIT(ACCL_ALGO_HIER) | BIT(ACCL_ALGO_P2P), ALL_PROTOS, ACCL_ALGO_DIRECT, ACCL_PROTO_LL);
  /* rd asked for above its limit across nodes: the unrestricted choice (ring) */
  in = multiNode(4, 1, ACCL_FUNC_ALLREDUCE, 1 << 20);
  expectPick(&in, BIT(ACCL_ALGO_RD) | BIT(ACCL_ALGO_P2P), ALL_PROTOS, ACCL_ALGO_RING, ACCL_PROTO_SIMPLE);
}

/* The chain (chain.c): never the cost model's choice, even where it is
 * feasible; chosen when ACCL_ALGO names it alone; and with deterministic set
 * the only answer for AllReduce / ReduceScatter / Reduce whatever the masks
 * say, while the other collectives are chosen as before. */
static void test_deterministic_chain(void** state) {
  (void)state;
  static const size_t sizes[] = {8, 4096, 1 << 20, 64 << 20};
  const unsigned restrictions[][2] = {{ALL_ALGOS, ALL_PROTOS},
                                      {BIT(ACCL_ALGO_RING) | BIT(ACCL_ALGO_P2P), ALL_PROTOS},
                                      {BIT(ACCL_ALGO_TREE) | BIT(ACCL_ALGO_P2P), BIT(ACCL_PROTO_SIMPLE)},
                                      {BIT(ACCL_ALGO_DIRECT) | BIT(ACCL_ALGO_P2P), BIT(ACCL_PROTO_LL)},
                                      {BIT(ACCL_ALGO_HIER) | BIT(ACCL_ALGO_RD), ALL_PROTOS}};
  for (int layout = 0; layout < 3; layout++)
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++)
      for (int f = 0; f <= ACCL_FUNC_REDUCESCATTER; f++) {
        acclTuneInput in = layout == 0   ? oneNode(4, (acclFunc)f, sizes[si])
                           : layout == 1 ? multiNode(2, 2, (acclFunc)f, sizes[si])
                                         : oneNode(1, (acclFunc)f, sizes[si]);
        int red = f == ACCL_FUNC_ALLREDUCE || f == ACCL_FUNC_REDUCESCATTER || f == ACCL_FUNC_REDUCE;
        assert_int_equal(acclTuneCost(&in, ACCL_ALGO_CHAIN, ACCL_PROTO_SIMPLE) >= 0, red);
        assert_true(acclTuneCost(&in, ACCL_ALGO_CHAIN, ACCL_PROTO_LL) < 0);
        for (size_t k = 0; k < sizeof(restrictions) / sizeof(restrictions[0]); k++) {
          acclAlgo a, plain;
          acclProto p, plainP;
          in.deterministic = 0;
          pick(&in, restrictions[k][0], restrictions[k][1], &plain, &plainP);
          assert_int_not_equal(plain, ACCL_ALGO_CHAIN);
          in.deterministic = 1;
          pick(&in, restrictions[k][0], restrictions[k][1], &a, &p);
          if (red) {
            assert_int_equal(a, ACCL_ALGO_CHAIN);
            assert_int_equal(p, ACCL_PROTO_SIMPLE);
          } else {
            assert_int_equal(a, plain);
            assert_int_equal(p, plainP);
          }
        }
        /* ACCL_ALGO=chain alone: the chain where it runs, the unrestricted choice elsewhere */
        in.deterministic = 0;
        acclAlgo a;
        acclProto p;
        pick(&in, BIT(ACCL_ALGO_CHAIN) | BIT(ACCL_ALGO_P2P), ALL_PROTOS, &a, &p);
        assert_int_equal(a == ACCL_ALGO_CHAIN, red);
        /* named beside another: the cost decides, and never for the chain */
        pick(&in, BIT(ACCL_ALGO_CHAIN) | BIT(ACCL_ALGO_RING), ALL_PROTOS, &a, &p);
        assert_int_not_equal(a, ACCL_ALGO_CHAIN);
      }
  /* the variable itself */
  setenv("ACCL_DETERMINISTIC", "1", 1);
  acclParamReset();
  assert_int_equal(acclParamDeterministic(), 1);
  unsetenv("ACCL_DETERMINISTIC");
  acclParamReset();
  assert_int_equal(acclParamDeterministic(), 0);
}

/* PreMulSum: direct Simple reduces peers' inputs with this rank's scalar, so
 * it is never chosen (the scalars may differ by rank); LL scales its own
 * input before pushing it and stays; any other op keeps direct Simple. */
static void test_premulsum_not_direct_simple(void** state) {
  (void)state;
  static const size_t sizes[] = {8, 4096, 1 << 20, 64 << 20};
  static const acclFunc funcs[] = {ACCL_FUNC_ALLREDUCE, ACCL_FUNC_REDUCE, ACCL_FUNC_REDUCESCATTER};
  for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++)
    for (size_t fi = 0; fi < sizeof(funcs) / sizeof(funcs[0]); fi++) {
      acclTuneInput in = oneNode(4, funcs[fi], sizes[si]);
      assert_true(acclTuneCost(&in, ACCL_ALGO_DIRECT, ACCL_PROTO_SIMPLE) >= 0);
      in.premulSum = 1;
      assert_true(acclTuneCost(&in, ACCL_ALGO_DIRECT, ACCL_PROTO_SIMPLE) < 0);
      acclAlgo a;
      acclProto p;
      pick(&in, ALL_ALGOS, ALL_PROTOS, &a, &p);
      assert_false(a == ACCL_ALGO_DIRECT && p == ACCL_PROTO_SIMPLE);
      pick(&in, BIT(ACCL_ALGO_DIRECT), BIT(ACCL_PROTO_SIMPLE), &a, &p); /* forced: falls back */
      assert_false(a == ACCL_ALGO_DIRECT && p == ACCL_PROTO_SIMPLE);
      if (funcs[fi] == ACCL_FUNC_ALLREDUCE && sizes[si] <= in.llMaxBytes)
        assert_true(acclTuneCost(&in, ACCL_ALGO_DIRECT, ACCL_PROTO_LL) >= 0);
    }
}

UNIT_TEST_MAIN(cmocka_unit_test(test_premulsum_not_direct_simple), cmocka_unit_test(test_table_is_complete),
               cmocka_unit_test(test_feasibility), cmocka_unit_test(test_choices), cmocka_unit_test(test_cost_order),
               cmocka_unit_test(test_restrictions_and_fallback), cmocka_unit_test(test_crossover_at_scale),
               cmocka_unit_test(test_issue_examples), cmocka_unit_test(test_cost_order_between_algorithms),
               cmocka_unit_test(test_env_masks), cmocka_unit_test(test_deterministic_chain))
