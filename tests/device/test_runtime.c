/* test_runtime.c - the simulated chip's runtime: memory and its errors,
 * streams, programs (inline and queued), flags, events, counters, IPC within
 * one process, fork, and no leftovers after SIGKILL. */
#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "core/core.h"
#include "device/device.h"

#define MEM_LIMIT (256ull << 20) /* ACCL_SIM_MEM of this test */

static void test_devices(void** state) {
  int n = -1, dev = -1;
  assert_int_equal(accGetDeviceCount(&n), accSuccess);
  assert_int_equal(n, 4);
  assert_int_equal(accSetDevice(4), accErrorInvalidDevice);
  assert_int_equal(accGetLastError(), accErrorInvalidDevice);
  assert_int_equal(accGetLastError(), accSuccess); /* reset by the read */
  assert_int_equal(accSetDevice(1), accSuccess);
  assert_int_equal(accGetDevice(&dev), accSuccess);
  assert_int_equal(dev, 1);
  accSetDevice(0);
  accDeviceProp p;
  assert_int_equal(accGetDeviceProperties(&p, 2), accSuccess);
  assert_int_equal(p.totalGlobalMem, MEM_LIMIT);
  assert_int_equal(p.linkPortCount, 2); /* ring of 4 */
  assert_true(p.reduceDtypeMask & (1u << acclBfloat16));
  assert_int_equal(accGetDeviceProperties(NULL, 0), accErrorInvalidValue);
  assert_int_equal(accGetDeviceCount(NULL), accErrorInvalidValue);
  assert_string_equal(accGetErrorString(accErrorMemoryAllocation), "out of device memory");
}

static void test_memory_errors(void** state) {
  char* a = NULL;
  assert_int_equal(accMalloc((void**)&a, 1000), accSuccess);
  assert_non_null(a);
  char host[2048];
  memset(host, 7, sizeof(host));
  assert_int_equal(accMemcpy(a, host, 1000, accMemcpyHostToDevice), accSuccess);
  assert_int_equal(accMemcpy(a, host, 1001, accMemcpyHostToDevice), accErrorIllegalAddress); /* past the end */
  assert_int_equal(accMemcpy(a + 500, host, 501, accMemcpyDefault), accErrorIllegalAddress);
  assert_int_equal(accMemcpy(host, a, 1000, accMemcpyHostToDevice), accErrorInvalidMemcpyDirection);
  assert_int_equal(accMemcpy(host, a, 10, (accMemcpyKind)9), accErrorInvalidMemcpyDirection);
  assert_int_equal(accMemcpy(NULL, a, 10, accMemcpyDefault), accErrorInvalidValue);
  assert_int_equal(accMemset(host, 0, 10), accErrorInvalidDevicePointer);
  assert_int_equal(accMemset(a, 3, 1000), accSuccess);
  assert_int_equal(accMemcpy(host, a, 1000, accMemcpyDefault), accSuccess);
  assert_int_equal(host[999], 3);
  accPointerAttributes at;
  assert_int_equal(accPointerGetAttributes(&at, a + 10), accSuccess);
  assert_int_equal(at.type, accMemoryTypeDevice);
  assert_int_equal(at.device, 0);
  assert_ptr_equal(at.basePointer, a);
  assert_int_equal(at.allocationSize, 1000);
  assert_int_equal(accPointerGetAttributes(&at, host), accSuccess);
  assert_int_equal(at.type, accMemoryTypeHost);
  assert_int_equal(accFree(a + 8), accErrorInvalidDevicePointer); /* not the start */
  assert_int_equal(accFree(a), accSuccess);
  assert_int_equal(accFree(a), accErrorInvalidDevicePointer);                         /* double free */
  assert_int_equal(accMemcpy(host, a, 10, accMemcpyDefault), accErrorIllegalAddress); /* use after free */
  assert_int_equal(accPointerGetAttributes(&at, a), accErrorIllegalAddress);
  assert_int_equal(accFree(host), accErrorInvalidDevicePointer);
  /* freed addresses are not handed out again at once, so the UAF above is seen */
  char* b = NULL;
  assert_int_equal(accMalloc((void**)&b, 1000), accSuccess);
  assert_ptr_not_equal(a, b);
  assert_int_equal(accFree(b), accSuccess);
  assert_int_equal(accMalloc(NULL, 10), accErrorInvalidValue);
  assert_int_equal(accMalloc((void**)&b, 0), accSuccess);
  assert_null(b);
}

/* accFree tells the free listeners (registration caches) the whole range
 * before the memory goes; a removed listener hears nothing. */
static char* heardBase;
static size_t heardSize;
static int heardCount;
static void onFreeHeard(void* base, size_t size, void* arg) {
  assert_ptr_equal(arg, &heardCount);
  heardBase = base;
  heardSize = size;
  heardCount++;
}

static void test_free_listeners(void** state) {
  (void)state;
  assert_int_equal(accSetDevice(0), accSuccess);
  assert_int_equal(accDevAddFreeListener(NULL, NULL), accErrorInvalidValue);
  assert_int_equal(accDevAddFreeListener(onFreeHeard, &heardCount), accSuccess);
  char* p = NULL;
  assert_int_equal(accMalloc((void**)&p, 12345), accSuccess);
  assert_int_equal(accFree(p + 1), accErrorInvalidDevicePointer); /* not an allocation's start: nothing heard */
  assert_int_equal(heardCount, 0);
  assert_int_equal(accFree(p), accSuccess);
  assert_int_equal(heardCount, 1);
  assert_ptr_equal(heardBase, p);
  assert_true(heardSize >= 12345);
  accDevRemoveFreeListener(onFreeHeard, &heardCount);
  assert_int_equal(accMalloc((void**)&p, 100), accSuccess);
  assert_int_equal(accFree(p), accSuccess);
  assert_int_equal(heardCount, 1);
  (void)accGetLastError();
}

static void test_out_of_memory(void** state) {
  void* p = NULL;
  assert_int_equal(accMalloc(&p, MEM_LIMIT + 1), accErrorMemoryAllocation);
  void* blocks[8];
  int n = 0;
  while (n < 8 && accMalloc(&blocks[n], 64ull << 20) == accSuccess) n++;
  assert_int_equal(n, 3); /* the header page takes a little of the fourth */
  assert_int_equal(accGetLastError(), accErrorMemoryAllocation);
  for (int i = 0; i < n; i++) assert_int_equal(accFree(blocks[i]), accSuccess);
  assert_int_equal(accMalloc(&p, 128ull << 20), accSuccess); /* space is back after a wrap-around */
  assert_int_equal(accFree(p), accSuccess);
}

/* ------------------------------------------------------------ programs */

typedef struct {
  int* counter; /* per stream: ids must arrive in order */
  int id;
  int againLeft;    /* ACCDEV_AGAIN / ACCDEV_MOVED (alternating) this many times first */
  int fail;         /* return an error */
  int* finiStatus;  /* where fini writes the status */
  pthread_t* ranOn; /* thread of the last step */
} progArg;

static int progStep(void* arg, int dev) {
  progArg* p = arg;
  if (p->ranOn) *p->ranOn = pthread_self();
  int left = __atomic_load_n(&p->againLeft, __ATOMIC_ACQUIRE); /* the test may change it */
  if (left > 0) {
    __atomic_store_n(&p->againLeft, left - 1, __ATOMIC_RELEASE);
    return (left & 1) ? ACCDEV_MOVED : ACCDEV_AGAIN;
  }
  if (p->fail) return -(int)acclInternalError;
  if (*p->counter != p->id) return -(int)acclInternalError; /* out of order */
  (*p->counter)++;
  return ACCDEV_DONE;
}

static void progFini(void* arg, int status) {
  progArg* p = arg;
  if (p->finiStatus) *p->finiStatus = status;
  free(p);
}

static accDevDesc program(int* counter, int id, int again, int* finiStatus) {
  progArg* p = calloc(1, sizeof(*p));
  *p = (progArg){counter, id, again, 0, finiStatus, NULL};
  accDevDesc d = {.type = ACCDEV_DESC_PROGRAM};
  d.u.program.fn = progStep;
  d.u.program.fini = progFini;
  d.u.program.arg = p;
  return d;
}

static void test_stream_order(void** state) {
  enum { NS = 3, NOPS = 600 };
  accStream_t s[NS];
  int counters[NS] = {0};
  int* dev = NULL;
  assert_int_equal(accMalloc((void**)&dev, NS * NOPS * sizeof(int)), accSuccess);
  static int vals[NS * NOPS];
  for (int i = 0; i < NS; i++) assert_int_equal(accStreamCreate(&s[i]), accSuccess);
  for (int k = 0; k < NOPS; k++)
    for (int i = 0; i < NS; i++) {
      vals[i * NOPS + k] = k;
      if (k % 3 == 0) {
        assert_int_equal(
            accMemcpyAsync(dev + i * NOPS + k, &vals[i * NOPS + k], sizeof(int), accMemcpyHostToDevice, s[i]),
            accSuccess);
      }
      accDevDesc d = program(&counters[i], k, (k % 7 == 0) ? 3 : 0, NULL); /* some wait a little */
      if (k % 5 == 0) d.u.program.pollNs = 200000;                         /* and ask to be polled on */
      assert_int_equal(accDevSubmit(s[i], &d, (k % 2) ? ACCDEV_SUBMIT_INLINE : 0), accSuccess);
    }
  for (int i = 0; i < NS; i++) {
    assert_int_equal(accStreamSynchronize(s[i]), accSuccess);
    assert_int_equal(accStreamQuery(s[i]), accSuccess);
    assert_int_equal(counters[i], NOPS);
    assert_int_equal(accDevStreamError(s[i]), accSuccess);
  }
  int back[NS * NOPS];
  assert_int_equal(accMemcpy(back, dev, sizeof(back), accMemcpyDeviceToHost), accSuccess);
  for (int i = 0; i < NS; i++)
    for (int k = 0; k < NOPS; k += 3) assert_int_equal(back[i * NOPS + k], k);
  for (int i = 0; i < NS; i++) assert_int_equal(accStreamDestroy(s[i]), accSuccess);
  assert_int_equal(accStreamDestroy(s[0]), accErrorInvalidResourceHandle); /* destroyed */
  assert_int_equal(accStreamSynchronize((accStream_t)(uintptr_t)0x1234), accErrorInvalidResourceHandle);
  assert_int_equal(accStreamDestroy(NULL), accErrorInvalidResourceHandle);
  assert_int_equal(accFree(dev), accSuccess);
}

static void test_inline_program(void** state) {
  accStream_t s;
  assert_int_equal(accStreamCreate(&s), accSuccess);
  int counter = 0, fini = -99;
  pthread_t ran;
  /* idle stream: runs on the caller's thread and is finished on return */
  accDevDesc d = program(&counter, 0, 0, &fini);
  ((progArg*)d.u.program.arg)->ranOn = &ran;
  assert_int_equal(accDevSubmit(s, &d, ACCDEV_SUBMIT_INLINE), accSuccess);
  assert_int_equal(fini, ACCDEV_DONE);
  assert_int_equal(counter, 1);
  assert_true(pthread_equal(ran, pthread_self()));
  /* a program that keeps waiting is handed to the engine, in order */
  int fini2 = -99, fini3 = -99;
  accDevDesc d2 = program(&counter, 1, 1000000000, &fini2);
  assert_int_equal(accDevSubmit(s, &d2, ACCDEV_SUBMIT_INLINE), accSuccess);
  assert_int_equal(fini2, -99);
  accDevDesc d3 = program(&counter, 2, 0, &fini3);
  assert_int_equal(accDevSubmit(s, &d3, ACCDEV_SUBMIT_INLINE), accSuccess); /* busy stream: queued */
  assert_int_equal(accStreamQuery(s), accErrorNotReady);
  assert_int_equal(counter, 1);
  __atomic_store_n(&((progArg*)d2.u.program.arg)->againLeft, 0, __ATOMIC_RELEASE); /* let it finish */
  accDevDoorbell(&counter);
  assert_int_equal(accStreamSynchronize(s), accSuccess);
  assert_int_equal(counter, 3);
  assert_int_equal(fini2, ACCDEV_DONE);
  assert_int_equal(fini3, ACCDEV_DONE);
  assert_int_equal(accStreamDestroy(s), accSuccess);
}

static void test_program_error_is_sticky(void** state) {
  accStream_t s;
  assert_int_equal(accStreamCreate(&s), accSuccess);
  int counter = 0, f1 = -99, f2 = -99;
  accDevDesc bad = program(&counter, 0, 2, &f1);
  ((progArg*)bad.u.program.arg)->fail = 1;
  accDevDesc next = program(&counter, 0, 0, &f2);
  assert_int_equal(accDevSubmit(s, &bad, 0), accSuccess);
  assert_int_equal(accDevSubmit(s, &next, 0), accSuccess);
  assert_int_equal(accStreamSynchronize(s), accErrorLaunchFailure);
  assert_int_equal(f1, -(int)acclInternalError);
  assert_true(f2 < 0); /* dropped with an error, never run */
  assert_int_equal(counter, 0);
  assert_int_equal(accDevStreamError(s), accErrorLaunchFailure);
  assert_int_equal(accStreamQuery(s), accErrorLaunchFailure);
  assert_int_equal(accStreamDestroy(s), accSuccess);
}

/* Fixture of the two-stream tests: *state is the streams a and b. */
static int twoStreamsUp(void** state) {
  static accStream_t s[2];
  if (accStreamCreate(&s[0]) != accSuccess || accStreamCreate(&s[1]) != accSuccess) return -1;
  *state = s;
  return 0;
}

/* Both destroyed, or the test fails. */
static int twoStreamsDown(void** state) {
  accStream_t* s = *state;
  return accStreamDestroy(s[0]) == accSuccess && accStreamDestroy(s[1]) == accSuccess ? 0 : -1;
}

static void test_flags(void** state) {
  accStream_t a = ((accStream_t*)*state)[0], b = ((accStream_t*)*state)[1];
  uint64_t* flags = NULL;
  assert_int_equal(accMalloc((void**)&flags, 2 * sizeof(uint64_t)), accSuccess);
  assert_int_equal(accMemset(flags, 0, 2 * sizeof(uint64_t)), accSuccess);
  int counter = 0;
  accDevDesc w = {.type = ACCDEV_DESC_WAIT_FLAG, .u.flag = {&flags[0], 5}};
  accDevDesc w2 = {.type = ACCDEV_DESC_WAIT_FLAG, .u.flag = {&flags[1], 1}};
  accDevDesc set = {.type = ACCDEV_DESC_SET_FLAG, .u.flag = {&flags[1], 1}};
  assert_int_equal(accDevSubmit(a, &w, 0), accSuccess);   /* a: wait host's signal */
  assert_int_equal(accDevSubmit(a, &set, 0), accSuccess); /*    then release b */
  assert_int_equal(accDevSubmit(b, &w2, 0), accSuccess);  /* b: wait for a */
  accDevDesc p = program(&counter, 0, 0, NULL);
  assert_int_equal(accDevSubmit(b, &p, 0), accSuccess);
  usleep(2000);
  assert_int_equal(accStreamQuery(a), accErrorNotReady);
  assert_int_equal(accStreamQuery(b), accErrorNotReady);
  assert_int_equal(counter, 0);
  accDevSignal(&flags[0], 4); /* not enough */
  usleep(2000);
  assert_int_equal(accStreamQuery(b), accErrorNotReady);
  accDevSignal(&flags[0], 5);
  assert_int_equal(accStreamSynchronize(b), accSuccess);
  assert_int_equal(counter, 1);
  assert_int_equal(accDeviceSynchronize(), accSuccess);
  assert_int_equal(accFree(flags), accSuccess);
}

static void test_events(void** state) {
  accStream_t a = ((accStream_t*)*state)[0], b = ((accStream_t*)*state)[1];
  accEvent_t e0, e1, nt;
  assert_int_equal(accEventCreate(&e0), accSuccess);
  assert_int_equal(accEventCreate(&e1), accSuccess);
  assert_int_equal(accEventCreateWithFlags(&nt, accEventDisableTiming), accSuccess);
  float ms = -1;
  assert_int_equal(accEventQuery(e0), accSuccess); /* never recorded: complete */
  assert_int_equal(accEventElapsedTime(&ms, e0, e1), accErrorInvalidResourceHandle);
  uint64_t* flag = NULL;
  assert_int_equal(accMalloc((void**)&flag, 8), accSuccess);
  assert_int_equal(accMemset(flag, 0, 8), accSuccess);
  assert_int_equal(accEventRecord(e0, a), accSuccess);
  accDevDesc w = {.type = ACCDEV_DESC_WAIT_FLAG, .u.flag = {flag, 1}};
  assert_int_equal(accDevSubmit(a, &w, 0), accSuccess);
  assert_int_equal(accEventRecord(e1, a), accSuccess);
  assert_int_equal(accEventRecord(nt, a), accSuccess);
  /* b waits for e1: its program must not run before a passes the flag */
  int counter = 0;
  assert_int_equal(accStreamWaitEvent(b, e1, 0), accSuccess);
  accDevDesc p = program(&counter, 0, 0, NULL);
  assert_int_equal(accDevSubmit(b, &p, 0), accSuccess);
  usleep(3000);
  assert_int_equal(accEventQuery(e1), accErrorNotReady);
  assert_int_equal(accEventElapsedTime(&ms, e0, e1), accErrorNotReady);
  assert_int_equal(counter, 0);
  accDevSignal(flag, 1);
  assert_int_equal(accEventSynchronize(e1), accSuccess);
  assert_int_equal(accStreamSynchronize(b), accSuccess);
  assert_int_equal(counter, 1);
  assert_int_equal(accEventElapsedTime(&ms, e0, e1), accSuccess);
  assert_true(ms >= 1.0f); /* the flag was held for 3 ms at least */
  assert_int_equal(accEventElapsedTime(&ms, e0, nt), accErrorInvalidResourceHandle);
  assert_int_equal(accEventDestroy(e0), accSuccess);
  assert_int_equal(accEventDestroy(e0), accErrorInvalidResourceHandle);
  assert_int_equal(accEventQuery(e0), accErrorInvalidResourceHandle);
  assert_int_equal(accEventDestroy(e1), accSuccess);
  assert_int_equal(accEventDestroy(nt), accSuccess);
  assert_int_equal(accFree(flag), accSuccess);
}

static void test_exec_and_counters(void** state) {
  accDeviceCounters c0, c1;
  assert_int_equal(accDeviceGetCounters(0, &c0), accSuccess);
  float *x = NULL, *y = NULL;
  enum { N = 4096 };
  assert_int_equal(accMalloc((void**)&x, N * 4), accSuccess);
  assert_int_equal(accMalloc((void**)&y, N * 4), accSuccess);
  float h[N];
  for (int i = 0; i < N; i++) h[i] = (float)i;
  assert_int_equal(accMemcpy(x, h, sizeof(h), accMemcpyHostToDevice), accSuccess);
  accDevDesc r = {.type = ACCDEV_DESC_REDUCE};
  r.u.reduce.src[0] = x;
  r.u.reduce.src[1] = x;
  r.u.reduce.nsrc = 2;
  r.u.reduce.dst[0] = y;
  r.u.reduce.dst[1] = h; /* reduce-copy: a second destination in host memory */
  r.u.reduce.ndst = 2;
  r.u.reduce.count = N;
  r.u.reduce.dtype = acclFloat32;
  r.u.reduce.op = ACCDEV_OP_SUM;
  assert_int_equal(accDevExec(0, &r), accSuccess);
  float back[N];
  assert_int_equal(accMemcpy(back, y, sizeof(back), accMemcpyDeviceToHost), accSuccess);
  for (int i = 0; i < N; i++) {
    assert_true(back[i] == 2.0f * (float)i);
    assert_true(h[i] == 2.0f * (float)i);
  }
  assert_int_equal(accDeviceGetCounters(0, &c1), accSuccess);
  assert_true(c1.bytesCopied >= c0.bytesCopied + 2 * sizeof(h));
  assert_int_equal(c1.bytesReduced - c0.bytesReduced, 2 * N * 4);
  assert_true(c1.descriptors >= c0.descriptors + 3);
  assert_true(c1.busyNs > c0.busyNs);
  /* bad descriptors are refused */
  r.u.reduce.nsrc = 0;
  assert_int_equal(accDevExec(0, &r), accErrorInvalidValue);
  r.u.reduce.nsrc = 2;
  r.u.reduce.dtype = 77;
  assert_int_equal(accDevExec(0, &r), accErrorInvalidValue);
  assert_int_equal(accDevExec(9, &r), accErrorInvalidDevice);
  accDevLogCounters(0);
  assert_int_equal(accFree(x), accSuccess);
  assert_int_equal(accFree(y), accSuccess);
}

static void test_ipc_same_process(void** state) {
  int* a = NULL;
  assert_int_equal(accMalloc((void**)&a, 4096), accSuccess);
  accIpcMemHandle_t h;
  assert_int_equal(accIpcGetMemHandle(&h, a), accSuccess);
  int* m = NULL;
  assert_int_equal(accIpcOpenMemHandle((void**)&m, h, 0), accSuccess);
  assert_ptr_not_equal(m, a); /* a second mapping of the same memory */
  m[10] = 1234;
  assert_int_equal(a[10], 1234);
  accPointerAttributes at;
  assert_int_equal(accPointerGetAttributes(&at, m + 1), accSuccess);
  assert_int_equal(at.type, accMemoryTypeDevice);
  assert_ptr_equal(at.basePointer, m);
  int hostBuf[8];
  assert_int_equal(accMemcpy(hostBuf, m + 1020, 16, accMemcpyDeviceToHost), accSuccess);
  assert_int_equal(accMemcpy(hostBuf, m + 1020, 32, accMemcpyDeviceToHost), accErrorIllegalAddress);
  int dev = -1;
  assert_int_equal(accDevPtrIsDevice(m, &dev), 1);
  assert_int_equal(dev, 0);
  assert_int_equal(accDevPtrIsDevice(hostBuf, &dev), 0);
  assert_int_equal(accIpcCloseMemHandle(m), accSuccess);
  assert_int_equal(accIpcCloseMemHandle(m), accErrorInvalidDevicePointer);
  /* a stale handle (wrong nonce) is refused */
  accIpcMemHandle_t bad = h;
  bad.reserved[8] ^= 0x55;
  assert_int_equal(accIpcOpenMemHandle((void**)&m, bad, 0), accErrorMapFailed);
  memset(&bad, 0, sizeof(bad));
  assert_int_equal(accIpcOpenMemHandle((void**)&m, bad, 0), accErrorInvalidResourceHandle);
  /* windows: the whole device memory */
  accDevWindow w;
  void* base = NULL;
  assert_int_equal(accDevWindowExport(0, &w), accSuccess);
  assert_int_equal(accDevWindowOpen(&w, &base), accSuccess);
  int* alias = (int*)((char*)base + ((uintptr_t)a - w.base));
  assert_int_equal(alias[10], 1234);
  /* a signal through the peer mapping rings the owner's doorbell */
  accDevSignal((volatile uint64_t*)(alias + 16), 7);
  assert_int_equal(a[16], 7);
  assert_int_equal(accDevWindowClose(base), accSuccess);
  assert_int_equal(accDevWindowClose(base), accErrorInvalidValue);
  assert_int_equal(accFree(a), accSuccess);
}

/* -------------------------------------------------------------- fork */

/* /dev/shm entries of process pid: names that carry its pid as a whole
 * number (libfabric's "PID:..", OpenMPI's segments, ...). Other jobs' entries
 * come and go while the test runs; only the child's own are counted. */
static int countShmOf(pid_t pid) {
  char want[24];
  snprintf(want, sizeof(want), "%d", (int)pid);
  size_t len = strlen(want);
  DIR* d = opendir("/dev/shm");
  int n = 0;
  if (!d) return 0;
  for (struct dirent* e; (e = readdir(d));)
    for (const char* p = strstr(e->d_name, want); p; p = strstr(p + 1, want)) {
      int before = p > e->d_name && isdigit((unsigned char)p[-1]);
      if (!before && !isdigit((unsigned char)p[len])) {
        n++;
        break;
      }
    }
  closedir(d);
  return n;
}

/* Lines of /proc/pid/maps that map something under /dev/shm. */
static int shmMappingsOf(pid_t pid) {
  char path[64], line[512];
  snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
  FILE* f = fopen(path, "r");
  assert_non_null(f);
  int n = 0;
  while (fgets(line, sizeof(line), f)) n += strstr(line, "/dev/shm/") != NULL;
  fclose(f);
  return n;
}

static void test_sigkill_leaves_nothing(void** state) {
  int pipefd[2];
  assert_int_equal(pipe(pipefd), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    /* the runtime restarts in the child (the parent's engines do not exist here) */
    char* p = NULL;
    char ok = accMalloc((void**)&p, 32 << 20) == accSuccess && accMemset(p, 1, 32 << 20) == accSuccess ? 'y' : 'n';
    if (write(pipefd[1], &ok, 1) != 1) _exit(2);
    pause();
    _exit(0);
  }
  char ok = 0;
  assert_int_equal(read(pipefd[0], &ok, 1), 1);
  assert_int_equal(ok, 'y');
  /* the child's device memory is an anonymous memfd: no name anywhere */
  char path[64], link[256];
  int sawMemfd = 0;
  for (int fd = 0; fd < 64; fd++) {
    snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
    ssize_t n = readlink(path, link, sizeof(link) - 1);
    if (n <= 0) continue;
    link[n] = '\0';
    if (strstr(link, "memfd:acc-sim-dev")) sawMemfd = 1;
    assert_null(strstr(link, "/dev/shm/"));
  }
  assert_true(sawMemfd);
  assert_int_equal(shmMappingsOf(pid), 0);
  kill(pid, SIGKILL);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status));
  snprintf(path, sizeof(path), "/proc/%d", (int)pid);
  assert_int_not_equal(access(path, F_OK), 0);
  assert_int_equal(countShmOf(pid), 0);
  close(pipefd[0]);
  close(pipefd[1]);
  /* and the parent still works */
  assert_int_equal(accDeviceSynchronize(), accSuccess);
}

int main(void) {
  setenv("ACCL_SIM_MEM", "256M", 1);
  setenv("ACCL_SIM_DEVICES", "4", 1);
  setenv("ACCL_SIM_TOPO", "ring", 1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_devices),
      cmocka_unit_test(test_memory_errors),
      cmocka_unit_test(test_free_listeners),
      cmocka_unit_test(test_out_of_memory),
      cmocka_unit_test(test_stream_order),
      cmocka_unit_test(test_inline_program),
      cmocka_unit_test(test_program_error_is_sticky),
      cmocka_unit_test_setup_teardown(test_flags, twoStreamsUp, twoStreamsDown),
      cmocka_unit_test_setup_teardown(test_events, twoStreamsUp, twoStreamsDown),
      cmocka_unit_test(test_exec_and_counters),
      cmocka_unit_test(test_ipc_same_process),
      cmocka_unit_test(test_sigkill_leaves_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
