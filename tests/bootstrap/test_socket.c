/* test_socket.c - ACCL_SOCKET_IFNAME matching, default interface order,
 * address parsing, node layout from host hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "../lib/unit_main.h"
#include <string.h>
#include "bootstrap/socket.h"
#include "comm/comm.h"

/* ACCL_SOCKET_IFNAME patterns: prefixes, a list, ^ excludes, = exact names. */
static const struct {
  const char *pattern, *ifname;
  int match;
} ifCases[] = {
    {"eth", "eth0", 1},        {"ib,eth", "eth1", 1},   {"ib,eth", "ib0", 1},         {"ib,eth", "enp3s0", 0},
    {"eth", "lo", 0},          {"", "eth0", 0},         {"^docker,lo", "docker0", 0}, {"^docker,lo", "lo", 0},
    {"^docker,lo", "eth0", 1}, {"^lo", "eth0", 1},      {"=eth0", "eth0", 1},         {"=eth0", "eth01", 0},
    {"=eth", "eth0", 0},       {"=eth0,ib1", "ib1", 1}, {"^=eth0", "eth0", 0}, /* exclude + exact */
    {"^=eth0", "eth01", 1},
};

static void test_if_match(void** state) {
  (void)state;
  for (size_t i = 0; i < sizeof(ifCases) / sizeof(ifCases[0]); i++)
    if ((acclSocketIfMatch(ifCases[i].pattern, ifCases[i].ifname) != 0) != ifCases[i].match)
      fail_msg("pattern \"%s\", interface %s: want match=%d", ifCases[i].pattern, ifCases[i].ifname, ifCases[i].match);
}

static void test_default_class(void** state) {
  (void)state;
  assert_true(acclSocketIfClass("ib0") < acclSocketIfClass("eth0"));
  assert_true(acclSocketIfClass("eth0") < acclSocketIfClass("docker0"));
  assert_true(acclSocketIfClass("virbr0") < acclSocketIfClass("lo"));
  assert_int_equal(acclSocketIfClass("enp3s0"), acclSocketIfClass("eth0"));
}

/* host:port and [v6]:port; shown (where not NULL) is what AddrStr prints back. */
static const struct {
  const char* addr;
  int ok;
  const char* shown;
} addrCases[] = {
    {"127.0.0.1:5555", 1, "127.0.0.1:5555"},
    {"[::1]:80", 1, "[::1]:80"},
    {"localhost:1234", 1, NULL},
    {"127.0.0.1", 0, NULL},
    {"127.0.0.1:", 0, NULL},
    {"127.0.0.1:0", 0, NULL},
    {"127.0.0.1:70000", 0, NULL},
    {"127.0.0.1:12x", 0, NULL},
    {":12", 0, NULL},
    {"::1:80", 0, NULL},
    {NULL, 0, NULL},
};

static void test_parse_addr(void** state) {
  (void)state;
  for (size_t i = 0; i < sizeof(addrCases) / sizeof(addrCases[0]); i++) {
    acclSocketAddr a;
    char buf[80];
    assert_int_equal(acclSocketParseAddr(addrCases[i].addr, &a), addrCases[i].ok ? 0 : -1);
    if (addrCases[i].shown) assert_string_equal(acclSocketAddrStr(&a, buf, sizeof(buf)), addrCases[i].shown);
  }
}

static void test_nodes(void** state) {
  (void)state;
  uint64_t h[6] = {7, 9, 7, 5, 9, 7};
  int nodeOf[6];
  assert_int_equal(acclCommComputeNodes(h, 6, nodeOf), 3);
  int want[6] = {0, 1, 0, 2, 1, 0};
  assert_memory_equal(nodeOf, want, sizeof(want));
  assert_int_not_equal(acclHashString("hostA", 1), acclHashString("hostB", 1));
  assert_int_equal(acclHashString("hostA", 1), acclHashString("hostA", 1));
}

UNIT_TEST_MAIN(cmocka_unit_test(test_if_match), cmocka_unit_test(test_default_class), cmocka_unit_test(test_parse_addr),
               cmocka_unit_test(test_nodes))
