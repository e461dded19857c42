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
#include "acc_ccl.h"
#include "core/core.h"
#include "collectives/tuning.h"
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
  static const struct {
    acclParamId id;
    const char* text; /* NULL: unset */
    int64_t def;
    int warns;
    int64_t want;
    const char* w1; /* the warning has these (NULL: no check) */
    const char* w2;
  } cases[] = {
      {ACCL_PARAM_NSLOTS, "1", 8, 1, 2, "ACCL_NSLOTS=1", "using 2"},
      {ACCL_PARAM_NSLOTS, "99", 8, 1, 16, NULL, NULL},
      {ACCL_PARAM_NSLOTS, "twelve", 8, 1, 8, "using 8", NULL},
      {ACCL_PARAM_SLOT_BYTES, "5000", 4096, 1, 4864, NULL, NULL},
      {ACCL_PARAM_SLOT_BYTES, "256K", 4096, 0, 256 << 10, NULL, NULL},
      {ACCL_PARAM_TIMEOUT, "-3", 300, 1, 0, NULL, NULL},
      {ACCL_PARAM_TIMEOUT, NULL, 300, 0, 300, NULL, NULL},
      {ACCL_PARAM_TRANSPORT, "OFI", 0, 0, 2, NULL, NULL},
      {ACCL_PARAM_TRANSPORT, "tcp", 0, 1, 0, "ACCL_TRANSPORT=tcp is not one of auto, shm, ofi; using auto", NULL},
      {ACCL_PARAM_PROTO, "LL128", 0, 1, 3, "'LL128'", NULL},
      {ACCL_PARAM_ALGO, "^ring,tree,direct,p2p,hier,rd,chain", 0, 1, 127, NULL, NULL},
      {ACCL_PARAM_ALGO, "Ring", 0, 0, 1, NULL, NULL},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    acclParamValue v;
    char w[512];
    assert_int_equal(acclParamResolve(cases[i].id, cases[i].text, cases[i].def, &v, w, sizeof(w)), cases[i].warns);
    assert_int_equal(v.i, cases[i].want);
    if (cases[i].w1) assert_non_null(strstr(w, cases[i].w1));
    if (cases[i].w2) assert_non_null(strstr(w, cases[i].w2));
  }
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

/* A LIST getter's bit i is choice i: ACCL_ALGO's and ACCL_PROTO's choices
 * must follow tuning's enums. */
static void test_list_choices_follow_enums(void** state) {
  (void)state;
  for (int a = 0; a < ACCL_NUM_ALGOS; a++)
    assert_int_equal(acclParseNameList(acclAlgoName((acclAlgo)a), acclParamDefs[ACCL_PARAM_ALGO].choices, NULL, 0),
                     1 << a);
  for (int p = 0; p < ACCL_NUM_PROTOS; p++)
    assert_int_equal(acclParseNameList(acclProtoName((acclProto)p), acclParamDefs[ACCL_PARAM_PROTO].choices, NULL, 0),
                     1 << p);
}

/* Every parameter that can be wrong warns, naming the variable, the value and
 * what is used instead (free text is checked where it is used). */
static void test_every_bad_value_warns(void** state) {
  (void)state;
  int checked = 0;
  for (int id = 0; id < ACCL_NUM_PARAMS; id++) {
    const acclParamDef* d = &acclParamDefs[id];
    if (d->type == ACCL_PARAM_T_STR) continue;
    const char* bad = d->type == ACCL_PARAM_T_ENUM || d->type == ACCL_PARAM_T_LIST ? "bogus" : "12Q";
    const char* used = NULL;
    char num[64];
    acclParamValue v;
    char w[512];
    switch (d->type) {
      case ACCL_PARAM_T_ENUM: used = d->sdeflt; break;
      case ACCL_PARAM_T_LIST: used = d->sdeflt ? d->sdeflt : "all of them"; break;
      default:
        acclParamResolve((acclParamId)id, NULL, d->deflt, &v, w, sizeof(w));
        snprintf(num, sizeof(num), "%lld", (long long)d->deflt);
        used = num;
        break;
    }
    char env[96];
    snprintf(env, sizeof(env), "ACCL_%s", d->name);
    setenv(env, bad, 1);
    acclParamReset();
    acclSetLastError("%s", "");
    /* the getter warns (WARN is also the text of acclGetLastError) */
    if (d->type == ACCL_PARAM_T_ENUM)
      acclParamGetEnum((acclParamId)id);
    else if (d->type == ACCL_PARAM_T_LIST)
      acclParamGetList((acclParamId)id);
    else
      acclParamGetInt((acclParamId)id);
    const char* last = acclLastErrorText();
    char want[128];
    snprintf(want, sizeof(want), "ACCL_%s=%s", d->name, bad);
    if (strstr(last, want) == NULL || strstr(last, "using ") == NULL) fail_msg("%s: warning was '%s'", env, last);
    if (d->type != ACCL_PARAM_T_SIZE && strstr(strstr(last, "using "), used) == NULL)
      fail_msg("%s: warning '%s' does not say it uses %s", env, last, used);
    /* and a value past the range's end says what it is clamped to */
    if (d->type == ACCL_PARAM_T_INT || d->type == ACCL_PARAM_T_BOOL) {
      char big[64];
      snprintf(big, sizeof(big), "%lld", (long long)d->hi + 1);
      assert_int_equal(acclParamResolve((acclParamId)id, big, d->deflt, &v, w, sizeof(w)), 1);
      assert_int_equal(v.i, d->hi);
      assert_non_null(strstr(w, env));
    }
    unsetenv(env);
    checked++;
  }
  acclParamReset();
  assert_true(checked > 20);
}

/* The README's environment table is the parameter table's. */
static void test_readme_table(void** state) {
  (void)state;
  const char* srcdir = getenv("srcdir");
  char path[4096];
  snprintf(path, sizeof(path), "%s/README.md", srcdir ? srcdir : "..");
  FILE* f = fopen(path, "r");
  if (!f) fail_msg("cannot open %s", path);
  static char text[1 << 18];
  size_t n = fread(text, 1, sizeof(text) - 1, f);
  fclose(f);
  text[n] = '\0';
  const char* head = "| variable | default | range | meaning |\n|---|---|---|---|\n";
  char* start = strstr(text, head);
  if (!start) fail_msg("README.md has no environment table headed '%s'", head);
  start += strlen(head);
  char* end = strstr(start, "\n\n");
  if (end) end[1] = '\0';
  size_t need = acclParamReadmeTable(NULL, 0);
  char* want = malloc(need + 1);
  assert_non_null(want);
  acclParamReadmeTable(want, need + 1);
  if (strcmp(start, want) != 0)
    fail_msg(
        "README.md's environment table differs from core/param.h; regenerate it with tests/core/test_params --readme");
  free(want);
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "--readme") == 0) {
    size_t need = acclParamReadmeTable(NULL, 0);
    char* t = malloc(need + 1);
    if (!t) return 1;
    acclParamReadmeTable(t, need + 1);
    fputs("| variable | default | range | meaning |\n|---|---|---|---|\n", stdout);
    fputs(t, stdout);
    free(t);
    return 0;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conf_lookup),
      cmocka_unit_test(test_parse_size),
      cmocka_unit_test_setup_teardown(test_env_wins_over_conf, writeConf, removeConf),
      cmocka_unit_test(test_param_int),
      cmocka_unit_test(test_clamp_rule),
      cmocka_unit_test(test_name_list),
      cmocka_unit_test(test_list_choices_follow_enums),
      cmocka_unit_test(test_every_bad_value_warns),
      cmocka_unit_test(test_readme_table),
      cmocka_unit_test(test_log_level),
      cmocka_unit_test(test_log_subsys),
      cmocka_unit_test(test_log_path),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
