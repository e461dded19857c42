/* test_api_args.c - every communicator entry point rejects bad input with
 * the documented code and a last-error text naming the argument; a
 * destroyed or aborted comm is refused without being dereferenced. Uses the
 * public API of the shared library only (single-rank communicators). */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <string.h>
#include "acc_ccl.h"
#include "acc_runtime.h"

#define assert_error_names(call, code, text)                 \
  do {                                                       \
    assert_int_equal((call), (code));                        \
    assert_non_null(strstr(acclGetLastError(NULL), (text))); \
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
  struct {
    char junk[256];
  } notAComm = {{0}};
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

/* The collective and point-to-point entry points: every argument that
 * validate() owns is refused with acclInvalidArgument and a last error
 * naming it; count 0 accepts NULL buffers. Single-rank comm on device 0. */
typedef struct {
  acclComm_t comm;
  accStream_t stream;
  float *a, *b;
} collFixture;

static int collSetup(void** state) {
  static collFixture f;
  acclUniqueId id;
  assert_int_equal(accSetDevice(0), accSuccess);
  assert_int_equal(acclGetUniqueId(&id), acclSuccess);
  assert_int_equal(acclCommInitRank(&f.comm, 1, id, 0), acclSuccess);
  assert_int_equal(accStreamCreate(&f.stream), accSuccess);
  assert_int_equal(accMalloc((void**)&f.a, 64 * sizeof(float)), accSuccess);
  assert_int_equal(accMalloc((void**)&f.b, 64 * sizeof(float)), accSuccess);
  *state = &f;
  return 0;
}

static int collTeardown(void** state) {
  collFixture* f = *state;
  accFree(f->a);
  accFree(f->b);
  accStreamDestroy(f->stream);
  return acclCommDestroy(f->comm) == acclSuccess ? 0 : -1;
}

/* Every collective and p2p call, one argument set: which one by index. */
enum { C_ALLREDUCE, C_BROADCAST, C_REDUCE, C_ALLGATHER, C_REDUCESCATTER, C_ALLTOALL, C_SEND, C_RECV, C_NUM };
static const char* const collName[C_NUM] = {"acclAllReduce",     "acclBroadcast", "acclReduce", "acclAllGather",
                                            "acclReduceScatter", "acclAlltoAll",  "acclSend",   "acclRecv"};

static acclResult_t callColl(int c, const void* s, void* r, size_t count, acclDataType_t t, acclRedOp_t op, int root,
                             acclComm_t comm, accStream_t stream) {
  switch (c) {
    case C_ALLREDUCE: return acclAllReduce(s, r, count, t, op, comm, stream);
    case C_BROADCAST: return acclBroadcast(s, r, count, t, root, comm, stream);
    case C_REDUCE: return acclReduce(s, r, count, t, op, root, comm, stream);
    case C_ALLGATHER: return acclAllGather(s, r, count, t, comm, stream);
    case C_REDUCESCATTER: return acclReduceScatter(s, r, count, t, op, comm, stream);
    case C_ALLTOALL: return acclAlltoAll(s, r, count, t, comm, stream);
    case C_SEND: return acclSend(s, count, t, root, comm, stream);
    default: return acclRecv(r, count, t, root, comm, stream);
  }
}

/* word appears in text as a whole word (an identifier: "op" is not found in
 * "operation" or "stop"). */
static int namesWord(const char* text, const char* word) {
  size_t n = strlen(word);
  for (const char* p = strstr(text, word); p; p = strstr(p + 1, word)) {
    int before = p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
    int after = isalnum((unsigned char)p[n]) || p[n] == '_';
    if (!before && !after) return 1;
  }
  return 0;
}

/* The refusal names the argument and the function that refused it. */
#define assert_coll_refused(c, call, arg)                                                  \
  do {                                                                                     \
    assert_int_equal((call), acclInvalidArgument);                                         \
    const char* e_ = acclGetLastError(NULL);                                               \
    if (!namesWord(e_, (arg)) || !namesWord(e_, collName[c]))                              \
      fail_msg("%s: last error \"%s\" does not name argument %s", collName[c], e_, (arg)); \
  } while (0)

static void test_coll_root_peer(void** state) {
  collFixture* f = *state;
  int bad[] = {1, -1, 2, 1 << 30, -(1 << 30)};
  for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
    assert_coll_refused(C_BROADCAST, acclBroadcast(f->a, f->b, 4, acclFloat32, bad[k], f->comm, f->stream), "root");
    assert_coll_refused(C_REDUCE, acclReduce(f->a, f->b, 4, acclFloat32, acclSum, bad[k], f->comm, f->stream), "root");
    assert_coll_refused(C_SEND, acclSend(f->a, 4, acclFloat32, bad[k], f->comm, f->stream), "peer");
    assert_coll_refused(C_RECV, acclRecv(f->b, 4, acclFloat32, bad[k], f->comm, f->stream), "peer");
    /* the range is checked whatever the count */
    assert_coll_refused(C_BROADCAST, acclBroadcast(f->a, f->b, 0, acclFloat32, bad[k], f->comm, f->stream), "root");
    assert_coll_refused(C_SEND, acclSend(f->a, 0, acclFloat32, bad[k], f->comm, f->stream), "peer");
  }
  /* the one good root / peer of a single-rank comm goes through */
  assert_int_equal(acclBroadcast(f->a, f->b, 4, acclFloat32, 0, f->comm, f->stream), acclSuccess);
  assert_int_equal(acclReduce(f->a, f->b, 4, acclFloat32, acclSum, 0, f->comm, f->stream), acclSuccess);
  assert_int_equal(acclGroupStart(), acclSuccess);
  assert_int_equal(acclSend(f->a, 4, acclFloat32, 0, f->comm, f->stream), acclSuccess);
  assert_int_equal(acclRecv(f->b, 4, acclFloat32, 0, f->comm, f->stream), acclSuccess);
  assert_int_equal(acclGroupEnd(), acclSuccess);
  assert_int_equal(accStreamSynchronize(f->stream), accSuccess);
}

static void test_coll_null_buffers(void** state) {
  collFixture* f = *state;
  for (int c = 0; c < C_NUM; c++) {
    int sends = c != C_RECV, recvs = c != C_SEND;
    if (sends)
      assert_coll_refused(c, callColl(c, NULL, f->b, 4, acclFloat32, acclSum, 0, f->comm, f->stream), "sendbuff");
    if (recvs)
      assert_coll_refused(c, callColl(c, f->a, NULL, 4, acclFloat32, acclSum, 0, f->comm, f->stream), "recvbuff");
    /* count 0: nothing is read or written, NULL is fine */
    if (c == C_SEND || c == C_RECV) assert_int_equal(acclGroupStart(), acclSuccess);
    assert_int_equal(callColl(c, NULL, NULL, 0, acclFloat32, acclSum, 0, f->comm, f->stream), acclSuccess);
    if (c == C_SEND || c == C_RECV) assert_int_equal(acclGroupEnd(), acclSuccess);
  }
  assert_int_equal(accStreamSynchronize(f->stream), accSuccess);
}

static void test_coll_dtype_op(void** state) {
  collFixture* f = *state;
  acclDataType_t badTypes[] = {acclNumTypes, (acclDataType_t)-1, (acclDataType_t)1000};
  for (int c = 0; c < C_NUM; c++)
    for (size_t k = 0; k < sizeof(badTypes) / sizeof(badTypes[0]); k++) {
      assert_coll_refused(c, callColl(c, f->a, f->b, 4, badTypes[k], acclSum, 0, f->comm, f->stream), "datatype");
      assert_coll_refused(c, callColl(c, f->a, f->b, 0, badTypes[k], acclSum, 0, f->comm, f->stream), "datatype");
    }
  /* ops: past the built-ins, negative, a PreMulSum handle never created or
   * already destroyed; with count 0 too */
  acclRedOp_t badOps[] = {acclNumOps, (acclRedOp_t)-1, (acclRedOp_t)(acclNumOps + 1000), acclMaxRedOp};
  int opColls[] = {C_ALLREDUCE, C_REDUCE, C_REDUCESCATTER};
  for (size_t i = 0; i < 3; i++)
    for (size_t k = 0; k < sizeof(badOps) / sizeof(badOps[0]); k++) {
      int c = opColls[i];
      assert_coll_refused(c, callColl(c, f->a, f->b, 4, acclFloat32, badOps[k], 0, f->comm, f->stream), "op");
      assert_coll_refused(c, callColl(c, f->a, f->b, 0, acclFloat32, badOps[k], 0, f->comm, f->stream), "op");
    }
  float two = 2.0f;
  acclRedOp_t pm;
  assert_int_equal(acclRedOpCreatePreMulSum(&pm, &two, acclFloat32, acclScalarHostImmediate, f->comm), acclSuccess);
  assert_int_equal(acclAllReduce(f->a, f->b, 4, acclFloat32, pm, f->comm, f->stream), acclSuccess);
  /* created for float32: another datatype is refused, naming the op */
  assert_coll_refused(C_ALLREDUCE, acclAllReduce(f->a, f->b, 4, acclInt32, pm, f->comm, f->stream), "op");
  assert_int_equal(acclRedOpDestroy(pm, f->comm), acclSuccess);
  assert_coll_refused(C_ALLREDUCE, acclAllReduce(f->a, f->b, 4, acclFloat32, pm, f->comm, f->stream), "op");
  assert_int_equal(accStreamSynchronize(f->stream), accSuccess);
}

static void test_coll_count_overflow(void** state) {
  collFixture* f = *state;
  size_t bad[] = {SIZE_MAX, SIZE_MAX / 2, SIZE_MAX / 4 + 1, (size_t)1 << 62, (size_t)1 << 45};
  for (int c = 0; c < C_NUM; c++)
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
      if (c == C_SEND || c == C_RECV) assert_int_equal(acclGroupStart(), acclSuccess);
      assert_coll_refused(c, callColl(c, f->a, f->b, bad[k], acclFloat32, acclSum, 0, f->comm, f->stream), "count");
      if (c == C_SEND || c == C_RECV) assert_int_equal(acclGroupEnd(), acclInvalidArgument);
    }
  /* a count that fits the address space but not the allocation names the buffer */
  assert_coll_refused(C_ALLREDUCE, acclAllReduce(f->a, f->b, 65, acclFloat32, acclSum, f->comm, f->stream), "sendbuff");
  assert_int_equal(acclAllReduce(f->a, f->b, 64, acclFloat32, acclSum, f->comm, f->stream), acclSuccess);
  assert_int_equal(accStreamSynchronize(f->stream), accSuccess);
}

static void test_coll_stream(void** state) {
  collFixture* f = *state;
  int ndev = 0;
  assert_int_equal(accGetDeviceCount(&ndev), accSuccess);
  assert_true(ndev >= 2); /* main() asks for 4 simulated devices */
  accStream_t other;
  assert_int_equal(accSetDevice(1), accSuccess);
  assert_int_equal(accStreamCreate(&other), accSuccess);
  assert_int_equal(accSetDevice(0), accSuccess);
  for (int c = 0; c < C_NUM; c++) {
    assert_coll_refused(c, callColl(c, f->a, f->b, 4, acclFloat32, acclSum, 0, f->comm, other), "stream");
    assert_coll_refused(c, callColl(c, f->a, f->b, 0, acclFloat32, acclSum, 0, f->comm, other), "stream");
  }
  assert_int_equal(accStreamDestroy(other), accSuccess);
  /* a destroyed stream is no stream */
  assert_coll_refused(C_ALLREDUCE, acclAllReduce(f->a, f->b, 4, acclFloat32, acclSum, f->comm, other), "stream");
  /* the NULL stream is the current device's default stream: device 0 here */
  assert_int_equal(acclAllReduce(f->a, f->b, 4, acclFloat32, acclSum, f->comm, NULL), acclSuccess);
  assert_int_equal(accStreamSynchronize(NULL), accSuccess);
}

/* A refusal inside a group fails the group at acclGroupEnd, and the group
 * after it starts clean. */
static void test_coll_refused_in_group(void** state) {
  collFixture* f = *state;
  assert_int_equal(acclGroupStart(), acclSuccess);
  assert_int_equal(acclAllReduce(f->a, f->b, 4, acclFloat32, acclSum, f->comm, f->stream), acclSuccess);
  assert_coll_refused(C_BROADCAST, acclBroadcast(f->a, f->b, 4, acclFloat32, 7, f->comm, f->stream), "root");
  assert_int_equal(acclGroupEnd(), acclInvalidArgument);
  assert_int_equal(acclGroupStart(), acclSuccess);
  assert_int_equal(acclAllReduce(f->a, f->b, 4, acclFloat32, acclSum, f->comm, f->stream), acclSuccess);
  assert_int_equal(acclGroupEnd(), acclSuccess);
  assert_int_equal(accStreamSynchronize(f->stream), accSuccess);
}

int main(void) {
  /* the stream test needs a second device */
  setenv("ACCL_SIM_DEVICES", "4", 1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_library_calls), cmocka_unit_test(test_init_rank_args),
      cmocka_unit_test(test_invalid_comm),  cmocka_unit_test(test_single_rank_lifecycle),
      cmocka_unit_test(test_init_all_args),
  };
  const struct CMUnitTest collTests[] = {
      cmocka_unit_test(test_coll_root_peer), cmocka_unit_test(test_coll_null_buffers),
      cmocka_unit_test(test_coll_dtype_op),  cmocka_unit_test(test_coll_count_overflow),
      cmocka_unit_test(test_coll_stream),    cmocka_unit_test(test_coll_refused_in_group),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  return failed + cmocka_run_group_tests(collTests, collSetup, collTeardown);
}
