/* test_api_args.c - every communicator entry point rejects bad input with
 * the documented code and a last-error text naming the argument; a
 * destroyed or aborted comm is refused without being dereferenced. Uses the
 * public API of the shared library only (single-rank communicators). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "acc_ccl.h"

#define assert_error_names(call, code, text)                  \
  do {                                                         \
    assert_int_equal((call), (code));                          \
    assert_non_null(strstr(acclGetLastError(NULL), (text)));   \
  } while (0)

static void test_library_calls(void** state) {
  (void)state;
  assert_error_names(acclGetVersion(NULL), acclInvalidArgument, "version");
  int v = 0;
  assert_int_equal(acclGetVersion(&v), acclSuccess);
  assert_int_equal(v, ACCL_VERSION_CODE);
  for (int r = -1; r <= acclNumResults + 1; r++) assert_non_null(acclGetErrorString((acclResult_t)r));
  assert_error_names(acclGetUniqueId(NULL), acclInvalidArgument, "uniqueId");
}

static void test_init_rank_args(void** state) {
  (void)state;
  acclUniqueId id;
  assert_int_equal(acclGetUniqueId(&id), acclSuccess);
  acclComm_t comm = (acclComm_t)0x1;
  assert_error_names(acclCommInitRank(NULL, 1, id, 0), acclInvalidArgument, "comm");
  assert_error_names(acclCommInitRank(&comm, 0, id, 0), acclInvalidArgument, "nranks");
  assert_null(comm);
  assert_error_names(acclCommInitRank(&comm, -4, id, 0), acclInvalidArgument, "nranks");
  assert_error_names(acclCommInitRank(&comm, 2, id, 2), acclInvalidArgument, "rank");
  assert_error_names(acclCommInitRank(&comm, 2, id, -1), acclInvalidArgument, "rank");
  acclUniqueId bad = id;
  bad.internal[20] ^= 0x40;
  assert_error_names(acclCommInitRank(&comm, 1, bad, 0), acclInvalidArgument, "commId");
  memset(&bad, 0, sizeof(bad));
  assert_error_names(acclCommInitRank(&comm, 1, bad, 0), acclInvalidArgument, "commId");
  assert_null(comm);
  /* the id is still good for a real init after all those refusals */
  assert_int_equal(acclCommInitRank(&comm, 1, id, 0), acclSuccess);
  assert_non_null(comm);
  assert_int_equal(acclCommDestroy(comm), acclSuccess);
}

static void test_invalid_comm(void** state) {
  (void)state;
  int n;
  acclResult_t err;
  struct { char junk[256]; } notAComm = {{0}};
  acclComm_t fake = (acclComm_t)(void*)&notAComm;
  assert_error_names(acclCommDestroy(NULL), acclInvalidArgument, "comm");
  assert_error_names(acclCommAbort(NULL), acclInvalidArgument, "comm");
  assert_error_names(acclCommCount(NULL, &n), acclInvalidArgument, "comm");
  assert_error_names(acclCommCount(fake, &n), acclInvalidArgument, "not a valid communicator");
  assert_error_names(acclCommDevice(fake, &n), acclInvalidArgument, "not a valid communicator");
  assert_error_names(acclCommUserRank(fake, &n), acclInvalidArgument, "not a valid communicator");
  assert_error_names(acclCommGetAsyncError(fake, &err), acclInvalidArgument, "not a valid communicator");
  assert_error_names(acclCommDestroy(fake), acclInvalidArgument, "not a valid communicator");
  assert_error_names(acclCommAbort(fake), acclInvalidArgument, "not a valid communicator");
  acclComm_t out;
  assert_error_names(acclCommSplit(fake, 0, 0, &out, NULL), acclInvalidArgument, "not a valid communicator");
}

static void test_single_rank_lifecycle(void** state) {
  (void)state;
  acclUniqueId id;
  acclComm_t comm;
  assert_int_equal(acclGetUniqueId(&id), acclSuccess);
  assert_int_equal(acclCommInitRank(&comm, 1, id, 0), acclSuccess);
  int n = -1, r = -1, d = -1;
  acclResult_t err = acclInternalError;
  assert_int_equal(acclCommCount(comm, &n), acclSuccess);
  assert_int_equal(n, 1);
  assert_int_equal(acclCommUserRank(comm, &r), acclSuccess);
  assert_int_equal(r, 0);
  assert_int_equal(acclCommDevice(comm, &d), acclSuccess);
  assert_true(d >= 0);
  assert_int_equal(acclCommGetAsyncError(comm, &err), acclSuccess);
  assert_int_equal(err, acclSuccess);
  assert_error_names(acclCommCount(comm, NULL), acclInvalidArgument, "count");
  assert_error_names(acclCommUserRank(comm, NULL), acclInvalidArgument, "rank");
  assert_error_names(acclCommDevice(comm, NULL), acclInvalidArgument, "device");
  assert_error_names(acclCommGetAsyncError(comm, NULL), acclInvalidArgument, "asyncError");

  /* split argument checks, then real single-rank splits */
  acclComm_t sub = (acclComm_t)0x1;
  assert_error_names(acclCommSplit(comm, 0, 0, NULL, NULL), acclInvalidArgument, "newcomm");
  assert_error_names(acclCommSplit(comm, -7, 0, &sub, NULL), acclInvalidArgument, "color");
  assert_null(sub);
  acclConfig_t cfg = ACCL_CONFIG_INITIALIZER;
  cfg.magic = 0;
  assert_error_names(acclCommSplit(comm, 0, 0, &sub, &cfg), acclInvalidArgument, "config");
  cfg = (acclConfig_t)ACCL_CONFIG_INITIALIZER;
  cfg.nChannels = -1;
  assert_error_names(acclCommSplit(comm, 0, 0, &sub, &cfg), acclInvalidArgument, "nChannels");
  assert_int_equal(acclCommSplit(comm, ACCL_SPLIT_NOCOLOR, 0, &sub, NULL), acclSuccess);
  assert_null(sub);
  cfg = (acclConfig_t)ACCL_CONFIG_INITIALIZER;
  cfg.commName = "single";
  assert_int_equal(acclCommSplit(comm, 3, 9, &sub, &cfg), acclSuccess);
  assert_non_null(sub);
  assert_int_equal(acclCommCount(sub, &n), acclSuccess);
  assert_int_equal(n, 1);
  assert_int_equal(acclCommAbort(sub), acclSuccess);

  assert_int_equal(acclCommDestroy(comm), acclSuccess);
  /* use after destroy: refused, never dereferenced */
  assert_error_names(acclCommCount(comm, &n), acclInvalidArgument, "destroyed");
  assert_error_names(acclCommDestroy(comm), acclInvalidArgument, "destroyed");
  assert_error_names(acclCommAbort(comm), acclInvalidArgument, "destroyed");
}

static void test_init_all_args(void** state) {
  (void)state;
  acclComm_t comms[4];
  int dup[2] = {0, 0}, neg[1] = {-1}, huge[1] = {1 << 20};
  assert_error_names(acclCommInitAll(NULL, 1, NULL), acclInvalidArgument, "comms");
  assert_error_names(acclCommInitAll(comms, 0, NULL), acclInvalidArgument, "ndev");
  assert_error_names(acclCommInitAll(comms, 2, dup), acclInvalidArgument, "devlist");
  assert_error_names(acclCommInitAll(comms, 1, neg), acclInvalidArgument, "devlist");
  assert_error_names(acclCommInitAll(comms, 1, huge), acclInvalidArgument, "devlist");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_library_calls),   cmocka_unit_test(test_init_rank_args),
      cmocka_unit_test(test_invalid_comm),    cmocka_unit_test(test_single_rank_lifecycle),
      cmocka_unit_test(test_init_all_args),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
