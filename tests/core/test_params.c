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

static char confPath[64], sysConfPath[64];

static int writeConf(void** state) {
  (void)state;
  snprintf(confPath, sizeof(confPath), "/tmp/accl-test-conf-%d", (int)getpid());
  snprintf(sysConfPath, sizeof(sysConfPath), "/tmp/accl-test-sysconf-%d", (int)getpid());
  FILE* f = fopen(confPath, "w");
  if (!f) return -1;
  fputs("HOSTID=from-conf\nACCL_NSLOTS=4\nTOPO_FILE=conf\n", f);
  fclose(f);
  f = fopen(sysConfPath, "w");
  if (!f) return -1;
  fputs("HOSTID=from-system\nNCHANNELS=3\nGRAPH_FILE=system\n", f);
  fclose(f);
  setenv("ACCL_CONF_FILE", confPath, 1);
  acclParamSetSystemConf(sysConfPath);
  acclParamReset();
  return 0;
}

static int removeConf(void** state) {
  (void)state;
  unlink(confPath);
  unlink(sysConfPath);
  unsetenv("ACCL_CONF_FILE");
  acclParamSetSystemConf("/etc/acc-ccl.conf");
  acclParamReset();
  return 0;
}

/* environment, then the user's file, then the system's */
static void test_env_wins_over_conf(void** state) {
  (void)state;
  setenv("ACCL_TOPO_FILE", "env", 1);
  acclParamReset();
  assert_string_equal(acclParamHostid(), "from-conf");
  assert_int_equal(acclParamNslots(), 4);
  assert_string_equal(acclParamTopoFile(), "env");
  assert_int_equal(acclParamNchannels(), 3);
  assert_string_equal(acclParamGraphFile(), "system");
  assert_null(acclParamGraphDumpFile());
  assert_true(acclParamIsSet(ACCL_PARAM_HOSTID));
  assert_false(acclParamIsSet(ACCL_PARAM_GRAPH_DUMP_FILE));
  unsetenv("ACCL_TOPO_FILE");
}

static void test_param_int(void** state) {
  (void)state;
  setenv("ACCL_TIMEOUT", "7", 1);
  setenv("ACCL_SIM_MEM", "2G", 1);
  unsetenv("ACCL_SIM_YIELDS");
  acclParamReset();
  assert_int_equal(acclParamTimeout(), 7);
  assert_int_equal(acclParamSimMem(), 2LL << 30);
  assert_int_equal(acclParamSimYields(), 8);
  /* cached: later environment changes are not seen until a reset */
  setenv("ACCL_TIMEOUT", "8", 1);
  assert_int_equal(acclParamTimeout(), 7);
  acclParamReset();
  assert_int_equal(acclParamTimeout(), 8);
  assert_int_equal(acclParamGetIntDefault(ACCL_PARAM_SLOT_BYTES, 128 << 10), 128 << 10);
  unsetenv("ACCL_TIMEOUT");
  unsetenv("ACCL_SIM_MEM");
  acclParamReset();
}

/* The one rule: unparseable -> default, out of range -> the nearest end,
 * not a multiple -> rounded down; each with one warning naming the
 * variable, the value and what is used. */
static void test_clamp_rule(void** state) {
  (void)state;
  acclParamValue v;
  char w[512];
  assert_int_equal(acclParamResolve(ACCL_PARAM_NSLOTS, "1", 8, &v, w, sizeof(w)), 1);
  assert_int_equal(v.i, 2);
  assert_non_null(strstr(w, "ACCL_NSLOTS=1"));
  assert_non_null(strstr(w, "using 2"));
  assert_int_equal(acclParamResolve(ACCL_PARAM_NSLOTS, "99", 8, &v, w, sizeof(w)), 1);
  assert_int_equal(v.i, 16);
  assert_int_equal(acclParamResolve(ACCL_PARAM_NSLOTS, "twelve", 8, &v, w, sizeof(w)), 1);
  assert_int_equal(v.i, 8);
  assert_non_null(strstr(w, "using 8"));
  assert_int_equal(acclParamResolve(ACCL_PARAM_SLOT_BYTES, "5000", 4096, &v, w, sizeof(w)), 1);
  assert_int_equal(v.i, 4864);
  assert_int_equal(acclParamResolve(ACCL_PARAM_SLOT_BYTES, "256K", 4096, &v, w, sizeof(w)), 0);
  assert_int_equal(v.i, 256 << 10);
  assert_int_equal(acclParamResolve(ACCL_PARAM_TIMEOUT, "-3", 300, &v, w, sizeof(w)), 1);
  assert_int_equal(v.i, 0);
  assert_int_equal(acclParamResolve(ACCL_PARAM_TIMEOUT, NULL, 300, &v, w, sizeof(w)), 0);
  assert_int_equal(v.i, 300);
  assert_int_equal(acclParamResolve(ACCL_PARAM_TRANSPORT, "OFI", 0, &v, w, sizeof(w)), 0);
  assert_int_equal(v.i, 2);
  assert_int_equal(acclParamResolve(ACCL_PARAM_TRANSPORT, "tcp", 0, &v, w, sizeof(w)), 1);
  assert_int_equal(v.i, 0);
  assert_non_null(strstr(w, "ACCL_TRANSPORT=tcp is not one of auto, shm, ofi; using auto"));
  assert_int_equal(acclParamResolve(ACCL_PARAM_PROTO, "LL128", 0, &v, w, sizeof(w)), 1);
  assert_int_equal(v.i, 3);
  assert_non_null(strstr(w, "'LL128'"));
  assert_int_equal(acclParamResolve(ACCL_PARAM_ALGO, "^ring,tree,direct,p2p,hier,rd", 0, &v, w, sizeof(w)), 1);
  assert_int_equal(v.i, 63);
  assert_int_equal(acclParamResolve(ACCL_PARAM_ALGO, "Ring", 0, &v, w, sizeof(w)), 0);
  assert_int_equal(v.i, 1);
}

static void test_name_list(void** state) {
  (void)state;
  char bad[32];
  assert_int_equal(acclParseNameList("b,c", "a,b,c", bad, sizeof(bad)), 6);
  assert_int_equal(acclParseNameList("^b", "a,b,c", bad, sizeof(bad)), 5);
  assert_int_equal(acclParseNameList(" A , c ", "a,b,c", bad, sizeof(bad)), 5);
  assert_int_equal(acclParseNameList(NULL, "a,b,c", bad, sizeof(bad)), 7);
  assert_int_equal(acclParseNameList("all", "a,b,ALL", bad, sizeof(bad)), 7);
  assert_int_equal(acclParseNameList("a,x", "a,b,c", bad, sizeof(bad)), -1);
  assert_string_equal(bad, "x");
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
  const uint32_t every = (ACCL_ENV << 1) - 1;
  assert_int_equal(acclLogParseSubsys("ALL"), every);
  assert_int_equal(acclLogParseSubsys("^SHM"), every & ~(uint32_t)ACCL_SHM);
  assert_int_equal(acclLogParseSubsys("^SHM,COLL"), every & ~(uint32_t)(ACCL_SHM | ACCL_COLL));
  assert_int_equal(acclLogParseSubsys(NULL), ACCL_INIT | ACCL_BOOTSTRAP | ACCL_ENV);
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
      cmocka_unit_test(test_clamp_rule),
      cmocka_unit_test(test_name_list),
      cmocka_unit_test(test_log_level),
      cmocka_unit_test(test_log_subsys),
      cmocka_unit_test(test_log_path),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
