/* test_topo_files.c - topology files: shipped examples load and round-trip
 * byte for byte, generated graphs round-trip, malformed files give errors that
 * name the file, the line and the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "../lib/unit_main.h"
#include "device/linkgraph.h"
#include "topology/node.h"

static const char* const shipped[] = {"trn1-like", "trn2-like", "full8", "ring4"};

static char* slurp(const char* path) {
  FILE* f = fopen(path, "r");
  if (!f) return NULL;
  char* buf = calloc(1, 1 << 20);
  size_t n = fread(buf, 1, (1 << 20) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void tmpName(char* out, size_t len, const char* tag) {
  snprintf(out, len, "/tmp/accl_topo_test_%d_%s.xml", (int)getpid(), tag);
}

static void test_shipped_roundtrip(void** state) {
  (void)state;
  for (size_t i = 0; i < sizeof(shipped) / sizeof(shipped[0]); i++) {
    char path[512], out[256];
    snprintf(path, sizeof(path), "%s/%s.xml", TOPO_DIR, shipped[i]);
    acclTopoNode* n = NULL;
    assert_int_equal(acclTopoNodeLoad(path, &n), acclSuccess);
    assert_true(n->ndev == 16 || n->ndev == 8 || n->ndev == 4);
    assert_true(n->nnics > 0);
    tmpName(out, sizeof(out), "rt");
    assert_int_equal(acclTopoNodeDump(n, out), acclSuccess);
    char* a = slurp(path);
    char* b = slurp(out);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a, b); /* load + dump gives the same file */
    free(a);
    free(b);
    unlink(out);
    acclTopoNodeFree(n);
  }
}

static void test_generated_roundtrip(void** state) {
  (void)state;
  const char* specs[] = {"ring", "torus2d", "full"};
  for (int s = 0; s < 3; s++) {
    acclTopoNode *n = NULL, *m = NULL;
    assert_int_equal(acclTopoNodeFromSpec(specs[s], 16, &n), acclSuccess);
    char p1[256], p2[256];
    tmpName(p1, sizeof(p1), "g1");
    tmpName(p2, sizeof(p2), "g2");
    assert_int_equal(acclTopoNodeDump(n, p1), acclSuccess);
    assert_int_equal(acclTopoNodeLoad(p1, &m), acclSuccess);
    assert_int_equal(m->graph->nlinks, n->graph->nlinks);
    assert_int_equal(acclTopoNodeDump(m, p2), acclSuccess);
    char *a = slurp(p1), *b = slurp(p2);
    assert_string_equal(a, b);
    free(a);
    free(b);
    unlink(p1);
    unlink(p2);
    acclTopoNodeFree(n);
    acclTopoNodeFree(m);
  }
}

/* The link graph reads a node file for ACCL_SIM_TOPO=FILE; the device count must match. */
static void test_linkgraph_from_file(void** state) {
  (void)state;
  char path[512];
  snprintf(path, sizeof(path), "%s/trn1-like.xml", TOPO_DIR);
  acclLinkGraph* g = NULL;
  assert_int_equal(acclLinkGraphLoad(path, 16, &g), acclSuccess);
  assert_int_equal(g->nlinks, 32);
  assert_int_equal(g->torusRows, 4);
  assert_int_equal(acclLinkGraphPorts(g, 5), 4);
  assert_true(acclLinkGraphFind(g, 0, 3) >= 0); /* wrap-around link */
  acclLinkGraphFree(g);
  assert_int_equal(acclLinkGraphLoad(path, 8, &g), acclInvalidArgument);
  assert_non_null(strstr(acclLastErrorText(), "16 devices"));
}

/* Write text to a file, load it, expect failure whose message has all of `needles`. */
static void expectError(const char* text, const char* lineTag, const char* problem) {
  char path[256];
  tmpName(path, sizeof(path), "bad");
  FILE* f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  acclTopoNode* n = NULL;
  acclResult_t r = acclTopoNodeLoad(path, &n);
  const char* msg = acclLastErrorText();
  if (r == acclSuccess || !strstr(msg, path) || !strstr(msg, lineTag) || !strstr(msg, problem))
    fail_msg("expected error with '%s' and '%s', got %d: %s", lineTag, problem, (int)r, msg);
  assert_null(n);
  unlink(path);
}

#define HEAD "<?xml version=\"1.0\"?>\n<node name=\"x\">\n  <device id=\"0\"/>\n  <device id=\"1\"/>\n"

static void test_malformed(void** state) {
  (void)state;
  expectError(HEAD "  <link a=\"0\" b=\"1\" bw=\"10\">\n</node>\n", ":6:", "does not match <link>");
  expectError(HEAD "  <link a=\"0\" b=\"1\" bw=\"10\"/>\n", ":6:", "not closed");
  expectError(HEAD "  <link a=\"0\" b=\"1 bw=\"10\"/>\n</node>\n", ":5:", "");
  expectError(HEAD "  <link a=\"0\" b=\"7\" bw=\"10\"/>\n</node>\n", ":5:", "unknown device 7");
  expectError(HEAD "  <link a=\"0\" b=\"1\" bw=\"-5\"/>\n</node>\n", ":5:", "negative bandwidth");
  expectError(HEAD "  <nic name=\"e\" bw=\"5\" lat=\"1\" devices=\"0,4\"/>\n</node>\n", ":5:", "unknown device 4");
  expectError(HEAD "  <gpu id=\"0\"/>\n</node>\n", ":5:", "unknown element");
  expectError(HEAD "  <device id=\"1\"/>\n</node>\n", ":5:", "declared twice");
  expectError(HEAD "  <link a=\"0\" b=\"1\" bw=\"fast\"/>\n</node>\n", ":5:", "not a number");
  expectError(HEAD "  <link a=\"0\" b=\"1\" bw=\"1\" colour=\"red\"/>\n</node>\n", ":5:", "unknown attribute colour");
  expectError(HEAD "  <link a=\"0\" b=\"1\" bw=\"1\"/>\n  <link a=\"1\" b=\"0\" bw=\"1\"/>\n</node>\n",
              ":6:", "given twice");
  expectError("<node>\n</node>\n", ":1:", "no <device>");
  expectError("<graph/>\n", ":1:", "must be <node>");
  expectError(HEAD "</node>\ntrailing\n", ":6:", "text outside");
  /* a file that does not exist names itself */
  acclTopoNode* n = NULL;
  assert_int_equal(acclTopoNodeLoad("/nonexistent/topo.xml", &n), acclInvalidArgument);
  assert_non_null(strstr(acclLastErrorText(), "/nonexistent/topo.xml"));
}

UNIT_TEST_MAIN(cmocka_unit_test(test_shipped_roundtrip), cmocka_unit_test(test_generated_roundtrip),
               cmocka_unit_test(test_linkgraph_from_file), cmocka_unit_test(test_malformed))
