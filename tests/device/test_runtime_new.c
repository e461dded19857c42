/* test_runtime_new.c - the runtime calls issue 14 added (acc_runtime.h):
 * version, error names, peek, memory info, peer access, PCI id, stream
 * priorities, host functions ordered on a stream, page-locked and registered
 * host memory; every bad argument gives a code and no crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "../lib/unit_main.h"
#include "acc_runtime.h"

static void test_version_errors(void** state) {
  (void)state;
  int v = 0;
  assert_int_equal(accRuntimeGetVersion(&v), accSuccess);
  assert_int_equal(v, ACC_RUNTIME_VERSION);
  assert_int_equal(accRuntimeGetVersion(NULL), accErrorInvalidValue);
  assert_string_equal(accGetErrorName(accErrorInvalidValue), "accErrorInvalidValue");
  assert_string_equal(accGetErrorName(accSuccess), "accSuccess");
  assert_non_null(accGetErrorName((accError_t)999));
  (void)accGetLastError();
  assert_int_equal(accSetDevice(-1), accErrorInvalidDevice);
  /* peek keeps the error, get resets it */
  assert_int_equal(accPeekAtLastError(), accErrorInvalidDevice);
  assert_int_equal(accPeekAtLastError(), accErrorInvalidDevice);
  assert_int_equal(accGetLastError(), accErrorInvalidDevice);
  assert_int_equal(accPeekAtLastError(), accSuccess);
}

static void test_mem_info(void** state) {
  (void)state;
  size_t f0, t0, f1, t1;
  assert_int_equal(accSetDevice(0), accSuccess);
  assert_int_equal(accMemGetInfo(&f0, &t0), accSuccess);
  assert_true(f0 <= t0 && t0 > 0);
  void* p;
  assert_int_equal(accMalloc(&p, 1 << 20), accSuccess);
  assert_int_equal(accMemGetInfo(&f1, &t1), accSuccess);
  assert_int_equal(t1, t0);
  assert_true(f1 <= f0 - (1 << 20));
  assert_int_equal(accFree(p), accSuccess);
  assert_int_equal(accMemGetInfo(&f1, &t1), accSuccess);
  assert_int_equal(f1, f0);
  assert_int_equal(accMemGetInfo(NULL, &t1), accErrorInvalidValue);
  assert_int_equal(accMemGetInfo(&f1, NULL), accErrorInvalidValue);
}

static void test_peer_pci(void** state) {
  (void)state;
  int n = 0, can = -1;
  assert_int_equal(accGetDeviceCount(&n), accSuccess);
  assert_int_equal(accDeviceCanAccessPeer(&can, 0, 0), accSuccess);
  assert_int_equal(can, 0);
  if (n > 1) {
    assert_int_equal(accDeviceCanAccessPeer(&can, 0, 1), accSuccess);
    assert_int_equal(can, 1);
  }
  assert_int_equal(accDeviceCanAccessPeer(&can, 0, n), accErrorInvalidDevice);
  assert_int_equal(accDeviceCanAccessPeer(NULL, 0, 0), accErrorInvalidValue);
  char id[16], id1[16];
  assert_int_equal(accDeviceGetPCIBusId(id, sizeof(id), 0), accSuccess);
  assert_int_equal(strlen(id), 12);
  assert_memory_equal(id, "0000:", 5);
  if (n > 1) {
    assert_int_equal(accDeviceGetPCIBusId(id1, sizeof(id1), 1), accSuccess);
    assert_string_not_equal(id, id1);
  }
  assert_int_equal(accDeviceGetPCIBusId(id, 5, 0), accErrorInvalidValue);
  assert_int_equal(accDeviceGetPCIBusId(NULL, 16, 0), accErrorInvalidValue);
  assert_int_equal(accDeviceGetPCIBusId(id, 16, -2), accErrorInvalidDevice);
}

static int order[8], norder;
static void record(void* arg) { order[norder++] = (int)(intptr_t)arg; }

static void test_priority_hostfunc(void** state) {
  (void)state;
  int least = 7, greatest = 7;
  assert_int_equal(accDeviceGetStreamPriorityRange(&least, &greatest), accSuccess);
  assert_true(greatest <= least);
  accStream_t s;
  assert_int_equal(accStreamCreateWithPriority(&s, accStreamNonBlocking, greatest - 5), accSuccess);
  assert_int_equal(accStreamCreateWithPriority(NULL, 0, 0), accErrorInvalidValue);
  assert_int_equal(accStreamCreateWithPriority(&s, 0x80, 0), accErrorInvalidValue);
  /* a host function runs after the work before it, and before the work after it */
  size_t n = 8 << 20;
  char *d, *h = malloc(n);
  assert_non_null(h);
  assert_int_equal(accMalloc((void**)&d, n), accSuccess);
  assert_int_equal(accMemsetAsync(d, 7, n, s), accSuccess);
  assert_int_equal(accMemcpyAsync(h, d, n, accMemcpyDeviceToHost, s), accSuccess);
  norder = 0;
  assert_int_equal(accLaunchHostFunc(s, record, (void*)(intptr_t)1), accSuccess);
  assert_int_equal(accLaunchHostFunc(s, record, (void*)(intptr_t)2), accSuccess);
  assert_int_equal(accStreamSynchronize(s), accSuccess);
  assert_int_equal(norder, 2);
  assert_int_equal(order[0], 1);
  assert_int_equal(order[1], 2);
  assert_int_equal(h[n - 1], 7);
  assert_int_equal(accLaunchHostFunc(s, NULL, NULL), accErrorInvalidValue);
  assert_int_equal(accLaunchHostFunc((accStream_t)(uintptr_t)0x20, record, NULL), accErrorInvalidResourceHandle);
  assert_int_equal(accStreamDestroy(s), accSuccess);
  accFree(d);
  free(h);
}

static void test_pinned_host(void** state) {
  (void)state;
  char* p = NULL;
  assert_int_equal(accMallocHost((void**)&p, 10000), accSuccess);
  assert_non_null(p);
  assert_int_equal((uintptr_t)p % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
  accPointerAttributes a;
  assert_int_equal(accPointerGetAttributes(&a, p + 100), accSuccess);
  assert_int_equal(a.type, accMemoryTypeHost);
  assert_ptr_equal(a.basePointer, p);
  assert_int_equal(a.allocationSize, 10000);
  /* engines read and write it directly */
  char* d;
  assert_int_equal(accMalloc((void**)&d, 10000), accSuccess);
  assert_int_equal(accMemset(d, 5, 10000), accSuccess);
  assert_int_equal(accMemcpy(p, d, 10000, accMemcpyDeviceToHost), accSuccess);
  assert_int_equal(p[9999], 5);
  assert_int_equal(accHostRegister(p + 10, 10, 0), accErrorInvalidValue); /* already pinned */
  assert_int_equal(accFreeHost(p + 1), accErrorInvalidValue);
  assert_int_equal(accFreeHost(p), accSuccess);
  assert_int_equal(accFreeHost(p), accErrorInvalidValue); /* double free refused, not a crash */
  assert_int_equal(accMallocHost(NULL, 10), accErrorInvalidValue);
  void* z = (void*)1;
  assert_int_equal(accMallocHost(&z, 0), accSuccess);
  assert_null(z);

  char* h = malloc(4096);
  assert_int_equal(accHostRegister(h, 4096, accHostRegisterPortable), accSuccess);
  assert_int_equal(accPointerGetAttributes(&a, h + 4095), accSuccess);
  assert_ptr_equal(a.basePointer, h);
  assert_int_equal(a.allocationSize, 4096);
  assert_int_equal(accHostRegister(h + 100, 10, 0), accErrorInvalidValue); /* overlap */
  assert_int_equal(accHostRegister(d, 10, 0), accErrorInvalidValue);       /* device memory */
  assert_int_equal(accHostRegister(NULL, 10, 0), accErrorInvalidValue);
  assert_int_equal(accHostRegister(h, 0, 0), accErrorInvalidValue);
  assert_int_equal(accHostRegister(h, 10, 0x100), accErrorInvalidValue);
  assert_int_equal(accHostUnregister(h + 1), accErrorInvalidValue);
  assert_int_equal(accHostUnregister(h), accSuccess);
  assert_int_equal(accHostUnregister(h), accErrorInvalidValue);
  assert_int_equal(accPointerGetAttributes(&a, h), accSuccess);
  assert_null(a.basePointer);
  free(h);
  accFree(d);
}

UNIT_TEST_MAIN(cmocka_unit_test(test_version_errors), cmocka_unit_test(test_mem_info), cmocka_unit_test(test_peer_pci),
               cmocka_unit_test(test_priority_hostfunc), cmocka_unit_test(test_pinned_host))
