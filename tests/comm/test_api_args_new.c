/* test_api_args_new.c - argument checks of the entry points issue 14 added
 * (acclBcast, acclGather, acclScatter, the fp8 datatypes, buffer
 * registration and acclMemAlloc): a bad argument
 * gives the documented code and a last-error text naming it, never a crash;
 * good calls on a single-rank communicator give the right values. Public
 * API of the shared library only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "acc_ccl.h"

#define assert_error_names(call, code, text)                                                                      \
  do {                                                                                                            \
    acclResult_t res_ = (call);                                                                                   \
    if (res_ != (code) || strstr(acclGetLastError(NULL), (text)) == NULL)                                         \
      fail_msg("%s: got %d \"%s\", want %d naming \"%s\"", #call, (int)res_, acclGetLastError(NULL), (int)(code), \
               (text));                                                                                           \
  } while (0)

static acclComm_t comm;
static accStream_t stream;

static int setup(void** state) {
  (void)state;
  acclUniqueId id;
  if (acclGetUniqueId(&id) != acclSuccess || acclCommInitRank(&comm, 1, id, 0) != acclSuccess) return -1;
  return accStreamCreate(&stream) == accSuccess ? 0 : -1;
}

static int teardown(void** state) {
  (void)state;
  accStreamDestroy(stream);
  return acclCommDestroy(comm) == acclSuccess ? 0 : -1;
}

static void test_bcast_args(void** state) {
  (void)state;
  float* d = NULL;
  assert_int_equal(accMalloc((void**)&d, 4 * sizeof(float)), accSuccess);
  assert_error_names(acclBcast(d, 4, acclFloat32, 0, NULL, stream), acclInvalidArgument, "comm");
  assert_error_names(acclBcast(d, 4, acclFloat32, 1, comm, stream), acclInvalidArgument, "root");
  assert_error_names(acclBcast(d, 4, acclFloat32, -1, comm, stream), acclInvalidArgument, "root");
  assert_error_names(acclBcast(d, 4, (acclDataType_t)acclNumTypes, 0, comm, stream), acclInvalidArgument, "datatype");
  assert_error_names(acclBcast(NULL, 4, acclFloat32, 0, comm, stream), acclInvalidArgument, "argument buff");
  assert_error_names(acclBcast(d, 5, acclFloat32, 0, comm, stream), acclInvalidArgument, "argument buff");
  assert_error_names(acclBcast(d, SIZE_MAX / 2, acclFloat32, 0, comm, stream), acclInvalidArgument, "count");
  assert_error_names(acclBcast(d, 4, acclFloat32, 0, comm, (accStream_t)(uintptr_t)0x10), acclInvalidArgument,
                     "stream");
  assert_int_equal(acclBcast(NULL, 0, acclFloat32, 0, comm, stream), acclSuccess);
  float h[4] = {1, 2, 3, 4}, back[4] = {0};
  assert_int_equal(accMemcpy(d, h, sizeof(h), accMemcpyHostToDevice), accSuccess);
  assert_int_equal(acclBcast(d, 4, acclFloat32, 0, comm, stream), acclSuccess);
  assert_int_equal(accStreamSynchronize(stream), accSuccess);
  assert_int_equal(accMemcpy(back, d, sizeof(back), accMemcpyDeviceToHost), accSuccess);
  assert_memory_equal(back, h, sizeof(h));
  accFree(d);
}

/* gather = 1: acclGather, else acclScatter. */
static void rootedArgs(int gather) {
  typedef acclResult_t (*fn_t)(const void*, void*, size_t, acclDataType_t, int, acclComm_t, accStream_t);
  fn_t f = gather ? acclGather : acclScatter;
  const char* name = gather ? "acclGather" : "acclScatter";
  int32_t *s = NULL, *r = NULL;
  assert_int_equal(accMalloc((void**)&s, 8 * sizeof(int32_t)), accSuccess);
  assert_int_equal(accMalloc((void**)&r, 8 * sizeof(int32_t)), accSuccess);
  assert_error_names(f(s, r, 8, acclInt32, 0, NULL, stream), acclInvalidArgument, "comm");
  assert_error_names(f(s, r, 8, acclInt32, 1, comm, stream), acclInvalidArgument, "root");
  assert_error_names(f(s, r, 8, acclInt32, -3, comm, stream), acclInvalidArgument, "root");
  assert_error_names(f(s, r, 8, (acclDataType_t)-1, 0, comm, stream), acclInvalidArgument, "datatype");
  assert_error_names(f(NULL, r, 8, acclInt32, 0, comm, stream), acclInvalidArgument, "sendbuff");
  assert_error_names(f(s, NULL, 8, acclInt32, 0, comm, stream), acclInvalidArgument, "recvbuff");
  assert_error_names(f(s, r, 9, acclInt32, 0, comm, stream), acclInvalidArgument, "sendbuff");
  assert_error_names(f(s, r, SIZE_MAX / 3, acclInt32, 0, comm, stream), acclInvalidArgument, "count");
  assert_error_names(f(s, r, 8, acclInt32, 0, comm, (accStream_t)(uintptr_t)0x10), acclInvalidArgument, "stream");
  assert_non_null(strstr(acclGetLastError(NULL), name));
  /* inside a group the error is returned at once and fails the group */
  assert_int_equal(acclGroupStart(), acclSuccess);
  assert_error_names(f(s, r, 8, acclInt32, 2, comm, stream), acclInvalidArgument, "root");
  assert_int_equal(acclGroupEnd(), acclInvalidArgument);
  /* nothing to move: no buffer needed */
  assert_int_equal(f(NULL, NULL, 0, acclInt32, 0, comm, stream), acclSuccess);
  /* good calls: out of place, in place (a single rank's block is the whole buffer), in a group */
  int32_t h[8], back[8];
  for (int i = 0; i < 8; i++) h[i] = 100 + i;
  assert_int_equal(accMemcpy(s, h, sizeof(h), accMemcpyHostToDevice), accSuccess);
  assert_int_equal(accMemset(r, 0, sizeof(h)), accSuccess);
  assert_int_equal(f(s, r, 8, acclInt32, 0, comm, stream), acclSuccess);
  assert_int_equal(accStreamSynchronize(stream), accSuccess);
  assert_int_equal(accMemcpy(back, r, sizeof(back), accMemcpyDeviceToHost), accSuccess);
  assert_memory_equal(back, h, sizeof(h));
  assert_int_equal(acclGroupStart(), acclSuccess);
  assert_int_equal(f(s, s, 8, acclInt32, 0, comm, stream), acclSuccess);
  assert_int_equal(f(s, r, 4, acclInt32, 0, comm, stream), acclSuccess);
  assert_int_equal(acclGroupEnd(), acclSuccess);
  assert_int_equal(accStreamSynchronize(stream), accSuccess);
  assert_int_equal(accMemcpy(back, s, sizeof(back), accMemcpyDeviceToHost), accSuccess);
  assert_memory_equal(back, h, sizeof(h));
  accFree(s);
  accFree(r);
}
static void test_gather_args(void** state) {
  (void)state;
  rootedArgs(1);
}
static void test_scatter_args(void** state) {
  (void)state;
  rootedArgs(0);
}

/* The fp8 types are accepted by every collective, sized 1 byte; one past
 * the last type is refused. */
static void test_fp8_types(void** state) {
  (void)state;
  uint8_t *d = NULL, h[16], back[16];
  assert_int_equal(accMalloc((void**)&d, 16), accSuccess);
  for (int t = acclFloat8e4m3; t <= acclFloat8e5m2; t++) {
    for (int i = 0; i < 16; i++) h[i] = (uint8_t)(0x30 + i);
    assert_int_equal(accMemcpy(d, h, 16, accMemcpyHostToDevice), accSuccess);
    assert_int_equal(acclAllReduce(d, d, 16, (acclDataType_t)t, acclMax, comm, stream), acclSuccess);
    assert_int_equal(acclReduceScatter(d, d, 16, (acclDataType_t)t, acclSum, comm, stream), acclSuccess);
    assert_int_equal(acclAllGather(d, d, 16, (acclDataType_t)t, comm, stream), acclSuccess);
    assert_int_equal(accStreamSynchronize(stream), accSuccess);
    assert_int_equal(accMemcpy(back, d, 16, accMemcpyDeviceToHost), accSuccess);
    assert_memory_equal(back, h, 16); /* one rank: every op is the identity */
    assert_error_names(acclAllReduce(d, d, 17, (acclDataType_t)t, acclSum, comm, stream), acclInvalidArgument,
                       "sendbuff");
    acclRedOp_t op;
    uint8_t two = t == acclFloat8e4m3 ? 0x40 : 0x40; /* 2.0 in both */
    assert_int_equal(acclRedOpCreatePreMulSum(&op, &two, (acclDataType_t)t, acclScalarHostImmediate, comm),
                     acclSuccess);
    assert_int_equal(acclAllReduce(d, d, 16, (acclDataType_t)t, op, comm, stream), acclSuccess);
    assert_int_equal(accStreamSynchronize(stream), accSuccess);
    assert_int_equal(acclRedOpDestroy(op, comm), acclSuccess);
  }
  assert_error_names(acclAllReduce(d, d, 16, (acclDataType_t)acclNumTypes, acclSum, comm, stream), acclInvalidArgument,
                     "datatype");
  accFree(d);
}

static void test_register_args(void** state) {
  (void)state;
  void *d = NULL, *h = NULL, *h2 = NULL;
  assert_error_names(acclMemAlloc(NULL, 64), acclInvalidArgument, "ptr");
  assert_error_names(acclMemAlloc(&d, 0), acclInvalidArgument, "size");
  assert_int_equal(acclMemAlloc(&d, 4096), acclSuccess);
  assert_non_null(d);
  assert_error_names(acclCommRegister(comm, d, 4096, NULL), acclInvalidArgument, "handle");
  assert_error_names(acclCommRegister(NULL, d, 4096, &h), acclInvalidArgument, "comm");
  assert_error_names(acclCommRegister(comm, NULL, 4096, &h), acclInvalidArgument, "buff");
  assert_error_names(acclCommRegister(comm, d, 0, &h), acclInvalidArgument, "size");
  assert_error_names(acclCommRegister(comm, d, 4097, &h), acclInvalidArgument, "buff");
  assert_null(h);
  assert_int_equal(acclCommRegister(comm, d, 4096, &h), acclSuccess);
  assert_int_equal(acclCommRegister(comm, (char*)d + 1024, 1024, &h2), acclSuccess);
  assert_non_null(h);
  /* a registered buffer works in collectives */
  assert_int_equal(acclAllReduce(d, d, 1024, acclFloat32, acclSum, comm, stream), acclSuccess);
  assert_int_equal(accStreamSynchronize(stream), accSuccess);
  assert_error_names(acclCommDeregister(comm, NULL), acclInvalidArgument, "handle");
  assert_error_names(acclCommDeregister(NULL, h), acclInvalidArgument, "comm");
  int junk;
  assert_error_names(acclCommDeregister(comm, &junk), acclInvalidArgument, "handle");
  assert_int_equal(acclCommDeregister(comm, h), acclSuccess);
  assert_error_names(acclCommDeregister(comm, h), acclInvalidArgument, "handle"); /* twice */
  /* another communicator's handle is refused; the comm's end drops what is left */
  acclUniqueId id;
  acclComm_t other;
  assert_int_equal(acclGetUniqueId(&id), acclSuccess);
  assert_int_equal(acclCommInitRank(&other, 1, id, 0), acclSuccess);
  assert_error_names(acclCommDeregister(other, h2), acclInvalidArgument, "another communicator");
  void* h3 = NULL;
  assert_int_equal(acclCommRegister(other, d, 16, &h3), acclSuccess);
  assert_int_equal(acclCommDestroy(other), acclSuccess);
  assert_int_equal(acclCommDeregister(comm, h2), acclSuccess);
  assert_int_equal(acclMemFree(d), acclSuccess);
  assert_int_equal(acclMemFree(NULL), acclSuccess);
  assert_error_names(acclMemFree(d), acclInvalidArgument, "ptr"); /* twice */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bcast_args), cmocka_unit_test(test_gather_args),   cmocka_unit_test(test_scatter_args),
      cmocka_unit_test(test_fp8_types),  cmocka_unit_test(test_register_args),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
