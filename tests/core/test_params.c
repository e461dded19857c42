/* test_params.c - parameters from the environment and the conf file (env
 * wins), size parsing, and the ACCL_DEBUG* parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/log.h"
#include "core/param.h"

static void test_conf_lookup(void** state) {
  (void)state;
  const char* text = "# comment\n  NCHANNELS = 4 \nACCL_BUFFSIZE=8M\nNCHANNELSX=9\n#PROTO=LL\nALGO=ring";
  char v[64];
  assert_int_equal(acclConfLookup(text, "NCHANNELS", v, sizeof(v)), 1);
  assert_string_equal(v, "4");
  assert_int_equal(acclConfLookup(text, "BUFFSIZE", v, sizeof(v)), 1);
  assert_string_equal(v, "8M");
  assert_int_equal(acclConfLookup(text, "PROTO", v, sizeof(v)), 0);
  assert_int_equal(acclConfLookup(text, "ALGO", v, sizeof(v)), 1);
  assert_string_equal(v, "ring");
  assert_int_equal(acclConfLookup(text, "NCHANNEL", v, sizeof(v)), 0);
  assert_int_equal(acclConfLookup(NULL, "ALGO", v, sizeof(v)), 0);
}

static void test_parse_size(void** state) {
  (void)state;
  assert_int_equal(acclParseSize("4096"), 4096);
  assert_int_equal(acclParseSize("16K"), 16 << 10);
  assert_int_equal(acclParseSize("512M"), 512LL << 20);
  assert_int_equal(acclParseSize("2G"), 2LL << 30);
  assert_int_equal(acclParseSize("1GB"), 1LL << 30);
  assert_int_equal(acclParseSize("0x10"), 16);
  assert_int_equal(acclParseSize("12Q"), -1);
  assert_int_equal(acclParseSize(""), -1);
  assert_int_equal(acclParseSize("-5"), -1);
  assert_int_equal(acclParseSize("99999999999T"), -1);
}

static char confPath[64];

static int writeConf(void** state) {
  (void)state;
  snprintf(confPath, sizeof(confPath), "/tmp/accl-test-conf-%d", (int)getpid());
  FILE* f = fopen(confPath, "w");
  if (!f) return -1;
  fputs("TESTA=from-conf\nACCL_TESTB=17\nTESTC=conf\n", f);
  fclose(f);
  setenv("ACCL_CONF_FILE", confPath, 1);
  acclParamReset();
  return 0;
}

static int removeConf(void** state) {
  (void)state;
  unlink(confPath);
  unsetenv("ACCL_CONF_FILE");
  acclParamReset();
  return 0;
}

static void test_env_wins_over_conf(void** state) {
  (void)state;
  setenv("ACCL_TESTC", "env", 1);
  acclParamReset();
  assert_string_equal(acclParamStr("TESTA", "dflt"), "from-conf");
  assert_int_equal(acclParamInt("TESTB", 3), 17);
  assert_string_equal(acclParamStr("TESTC", "dflt"), "env");
  assert_string_equal(acclParamStr("TESTD", "dflt"), "dflt");
  assert_null(acclParamStr("TESTD", NULL));
  unsetenv("ACCL_TESTC");
}

static void test_param_int(void** state) {
  (void)state;
  setenv("ACCL_TESTINT", "-3", 1);
  setenv("ACCL_TESTBAD", "twelve", 1);
  setenv("ACCL_TESTSZ", "2M", 1);
  acclParamReset();
  assert_int_equal(acclParamInt("TESTINT", 5), -3);
  assert_int_equal(acclParamInt("TESTBAD", 5), 5);
  assert_int_equal(acclParamInt("TESTSZ", 5), 2 << 20);
  assert_int_equal(acclParamInt("TESTUNSET", 42), 42);
  /* cached: later environment changes are not seen until a reset */
  setenv("ACCL_TESTINT", "8", 1);
  assert_int_equal(acclParamInt("TESTINT", 5), -3);
  acclParamReset();
  assert_int_equal(acclParamInt("TESTINT", 5), 8);
}

static void test_log_level(void** state) {
  (void)state;
  assert_int_equal(acclLogParseLevel("VERSION"), ACCL_LOG_VERSION);
  assert_int_equal(acclLogParseLevel("warn"), ACCL_LOG_WARN);
  assert_int_equal(acclLogParseLevel("INFO"), ACCL_LOG_INFO);
  assert_int_equal(acclLogParseLevel("TRACE"), ACCL_LOG_TRACE);
  assert_int_equal(acclLogParseLevel("bogus"), ACCL_LOG_WARN);
}

static void test_log_subsys(void** state) {
  (void)state;
  assert_int_equal(acclLogParseSubsys("INIT,NET"), ACCL_INIT | ACCL_NET);
  assert_int_equal(acclLogParseSubsys("ALL"), ACCL_ALL);
  assert_int_equal(acclLogParseSubsys("^SHM"), ~(uint32_t)ACCL_SHM);
  assert_int_equal(acclLogParseSubsys("^SHM,COLL"), ~(uint32_t)(ACCL_SHM | ACCL_COLL));
  assert_int_equal(acclLogParseSubsys("bootstrap,dev,env,tuning,p2p,topo"),
                   ACCL_BOOTSTRAP | ACCL_DEV | ACCL_ENV | ACCL_TUNING | ACCL_P2P | ACCL_TOPO);
}

static void test_log_path(void** state) {
  (void)state;
  char out[64];
  assert_int_equal(acclLogExpandPath("/tmp/log.%h.%p", "node1", 42, out, sizeof(out)), 0);
  assert_string_equal(out, "/tmp/log.node1.42");
  assert_int_equal(acclLogExpandPath("plain", "h", 1, out, sizeof(out)), 0);
  assert_string_equal(out, "plain");
  assert_int_equal(acclLogExpandPath("%h%h%h", "0123456789012345678901234", 1, out, sizeof(out)), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conf_lookup),
      cmocka_unit_test(test_parse_size),
      cmocka_unit_test_setup_teardown(test_env_wins_over_conf, writeConf, removeConf),
      cmocka_unit_test(test_param_int),
      cmocka_unit_test(test_log_level),
      cmocka_unit_test(test_log_subsys),
      cmocka_unit_test(test_log_path),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
