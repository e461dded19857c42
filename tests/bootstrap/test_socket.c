/* test_socket.c - ACCL_SOCKET_IFNAME matching, default interface order,
 * address parsing, node layout from host hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "bootstrap/socket.h"
#include "comm/comm.h"

static void test_prefix_list(void** state) {
  (void)state;
  assert_true(acclSocketIfMatch("eth", "eth0"));
  assert_true(acclSocketIfMatch("ib,eth", "eth1"));
  assert_true(acclSocketIfMatch("ib,eth", "ib0"));
  assert_false(acclSocketIfMatch("ib,eth", "enp3s0"));
  assert_false(acclSocketIfMatch("eth", "lo"));
  assert_true(acclSocketIfMatch("", "eth0") == 0);
}

static void test_exclude(void** state) {
  (void)state;
  assert_false(acclSocketIfMatch("^docker,lo", "docker0"));
  assert_false(acclSocketIfMatch("^docker,lo", "lo"));
  assert_true(acclSocketIfMatch("^docker,lo", "eth0"));
  assert_true(acclSocketIfMatch("^lo", "eth0"));
}

static void test_exact(void** state) {
  (void)state;
  assert_true(acclSocketIfMatch("=eth0", "eth0"));
  assert_false(acclSocketIfMatch("=eth0", "eth01"));
  assert_false(acclSocketIfMatch("=eth", "eth0"));
  assert_true(acclSocketIfMatch("=eth0,ib1", "ib1"));
  /* exclude + exact */
  assert_false(acclSocketIfMatch("^=eth0", "eth0"));
  assert_true(acclSocketIfMatch("^=eth0", "eth01"));
}

static void test_default_class(void** state) {
  (void)state;
  assert_true(acclSocketIfClass("ib0") < acclSocketIfClass("eth0"));
  assert_true(acclSocketIfClass("eth0") < acclSocketIfClass("docker0"));
  assert_true(acclSocketIfClass("virbr0") < acclSocketIfClass("lo"));
  assert_int_equal(acclSocketIfClass("enp3s0"), acclSocketIfClass("eth0"));
}

static void test_parse_addr(void** state) {
  (void)state;
  acclSocketAddr a;
  char buf[80];
  assert_int_equal(acclSocketParseAddr("127.0.0.1:5555", &a), 0);
  assert_string_equal(acclSocketAddrStr(&a, buf, sizeof(buf)), "127.0.0.1:5555");
  assert_int_equal(acclSocketParseAddr("[::1]:80", &a), 0);
  assert_string_equal(acclSocketAddrStr(&a, buf, sizeof(buf)), "[::1]:80");
  assert_int_equal(acclSocketParseAddr("localhost:1234", &a), 0);
  assert_int_equal(acclSocketParseAddr("127.0.0.1", &a), -1);
  assert_int_equal(acclSocketParseAddr("127.0.0.1:", &a), -1);
  assert_int_equal(acclSocketParseAddr("127.0.0.1:0", &a), -1);
  assert_int_equal(acclSocketParseAddr("127.0.0.1:70000", &a), -1);
  assert_int_equal(acclSocketParseAddr("127.0.0.1:12x", &a), -1);
  assert_int_equal(acclSocketParseAddr(":12", &a), -1);
  assert_int_equal(acclSocketParseAddr("::1:80", &a), -1);
  assert_int_equal(acclSocketParseAddr(NULL, &a), -1);
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_prefix_list),   cmocka_unit_test(test_exclude),    cmocka_unit_test(test_exact),
      cmocka_unit_test(test_default_class), cmocka_unit_test(test_parse_addr), cmocka_unit_test(test_nodes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
