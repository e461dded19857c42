/* common.c - the driver of every perf tool: processes x threads x devices,
 * buffers, the sweep over datatypes, ops, roots and sizes, nccl-tests 2.19's
 * timing loop, and the check.
 *
 * Layout (as nccl-tests): each MPI process runs -t threads, each thread
 * drives -g devices; rank = (process * threads + thread) * devices + i.
 * Communicators are created by the main thread for every local rank, or with
 * -p by each thread for its own.
 *
 * Timing of one size and placement: -w untimed launches of every size first
 * (factor 2 from -b to -e), then per row one launch, a barrier, and the host
 * clock around -n iterations of -m grouped launches followed by the wait for
 * the streams; time per op = elapsed / (n * m), combined over threads and
 * processes per -a. Each iteration works at another offset of the buffers
 * (nccl-tests' cache-defeating shift). Checking: -c more launches on fresh
 * inputs, results copied to the host and compared exactly; mismatches summed
 * over ranks. */
#include <math.h>
#include <mpi.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

extern char** environ;

typedef struct perfRun perfRun;

/* One thread of this process and the local ranks it drives. */
typedef struct {
  perfRun* run;
  int thread, first, nGpus;   /* local ranks first .. first+nGpus-1 */
  int epoch;                  /* alternates between team operations */
  char* send[PERF_MAX_LOCAL]; /* its ranks' buffers, -u elements in */
  char* recv[PERF_MAX_LOCAL];
  unsigned char* hostBuf; /* staging for inputs and results */
  unsigned char* fillBuf; /* 0xff pattern for output buffers (NaN / -1) */
  unsigned rep;           /* checked runs so far: their inputs' seed */
  perfCounts c;           /* the current row */
  size_t typeSize;
  double bwSum;
  int bwCount, errors;
  void** events; /* -I: nGpus x eventCount */
  int eventCount;
  perfResult_t ret;
  pthread_t tid;
} perfThread;

struct perfRun {
  const perfColl* coll;
  const perfBackend* be;
  perfEnv env;
  perfArgs* args;
  size_t bufBytes;            /* bytes of each buffer */
  void* send[PERF_MAX_LOCAL]; /* backend buffers (device or -H host) */
  void* recv[PERF_MAX_LOCAL];
  unsigned char id[256]; /* the job's unique id */
  perfReport report;
  int isPrinter;
  char host[PERF_HOST_LEN];
  perfThread threads[PERF_MAX_LOCAL];
  /* Team operations among this process's threads, then among processes. */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int arrived[2];
  unsigned long gen[2];
  double* acc[2];   /* max(1, iters) values each */
  double* gathered; /* process 0: nProcs x iters (-I) */
};

static double nowSec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void hostName(char* buf, size_t len) {
  if (gethostname(buf, len) != 0) snprintf(buf, len, "unknown");
  buf[len - 1] = '\0';
  buf[strcspn(buf, ".")] = '\0';
}

void perfTraceFailure(const char* file, int line) {
  char host[PERF_HOST_LEN];
  hostName(host, sizeof(host));
  const char* slash = strrchr(file, '/');
  printf(" .. %s pid %d: Test failure %s:%d\n", host, (int)getpid(), slash ? slash + 1 : file, line);
}

/* ------------------------------------------------------------ team operations */

enum { TEAM_RANK0 = 0, TEAM_AVG = 1, TEAM_MIN = 2, TEAM_MAX = 3, TEAM_SUM = 4, TEAM_BARRIER, TEAM_GATHER_MAX };

/* Combines v[0..n) of every thread of this process, then of every process:
 * TEAM_RANK0 keeps thread 0's value (no exchange between processes, as
 * nccl-tests), AVG/MIN/MAX/SUM reduce, BARRIER only waits, GATHER_MAX keeps
 * each process's maximum and gathers them on process 0 into run->gathered.
 * The last thread to arrive talks to MPI while the others wait. */
static void team(perfThread* th, double* v, int n, int mode) {
  perfRun* run = th->run;
  int nThreads = run->env.nThreads, e = th->epoch;
  th->epoch ^= 1;
  pthread_mutex_lock(&run->mu);
  unsigned long gen = run->gen[e];
  double* acc = run->acc[e];
  for (int i = 0; i < n; i++) {
    if (run->arrived[e] == 0)
      acc[i] = (mode == TEAM_RANK0 && th->thread != 0) ? 0 : v[i];
    else if (mode == TEAM_RANK0) {
      if (th->thread == 0) acc[i] = v[i];
    } else if (mode == TEAM_AVG || mode == TEAM_SUM)
      acc[i] += v[i];
    else if (mode == TEAM_MIN)
      acc[i] = fmin(acc[i], v[i]);
    else if (mode == TEAM_MAX || mode == TEAM_GATHER_MAX)
      acc[i] = fmax(acc[i], v[i]);
  }
  if (++run->arrived[e] == nThreads) {
    MPI_Comm w = MPI_COMM_WORLD;
    switch (mode) {
      case TEAM_BARRIER: MPI_Barrier(w); break;
      case TEAM_AVG:
      case TEAM_SUM: MPI_Allreduce(MPI_IN_PLACE, acc, n, MPI_DOUBLE, MPI_SUM, w); break;
      case TEAM_MIN: MPI_Allreduce(MPI_IN_PLACE, acc, n, MPI_DOUBLE, MPI_MIN, w); break;
      case TEAM_MAX: MPI_Allreduce(MPI_IN_PLACE, acc, n, MPI_DOUBLE, MPI_MAX, w); break;
      case TEAM_GATHER_MAX: MPI_Gather(acc, n, MPI_DOUBLE, run->gathered, n, MPI_DOUBLE, 0, w); break;
      default: break;
    }
    if (mode == TEAM_AVG)
      for (int i = 0; i < n; i++) acc[i] /= (double)run->env.nProcs * nThreads;
    run->arrived[e] = 0;
    run->gen[e]++;
    pthread_cond_broadcast(&run->cv);
  } else {
    while (run->gen[e] == gen) pthread_cond_wait(&run->cv, &run->mu);
  }
  for (int i = 0; i < n; i++) v[i] = acc[i];
  pthread_mutex_unlock(&run->mu);
}

static void barrier(perfThread* th) { team(th, NULL, 0, TEAM_BARRIER); }

/* ------------------------------------------------------------ launching */

static perfResult_t syncOwn(perfThread* th) {
  perfRun* run = th->run;
  const perfBackend* be = run->be;
  int timeout = run->args->timeout;
  if (timeout <= 0) {
    for (int i = 0; i < th->nGpus; i++) PERFCHECK(be->sync(&run->env, th->first + i));
    return perfSuccess;
  }
  /* -T: poll, and abort the communicators when a wait outlasts the limit. */
  int done[PERF_MAX_LOCAL] = {0}, remaining = th->nGpus;
  double start = nowSec();
  while (remaining > 0) {
    int progressed = 0;
    for (int i = 0; i < th->nGpus; i++) {
      if (done[i]) continue;
      int d = 0;
      perfResult_t r = be->query(&run->env, th->first + i, &d);
      if (r != perfSuccess) {
        for (int k = 0; k < th->nGpus; k++) be->abort(&run->env, th->first + k);
        PERFCHECK(r);
      }
      if (d) {
        done[i] = 1;
        remaining--;
        progressed = 1;
      } else if (nowSec() - start > timeout) {
        for (int k = 0; k < th->nGpus; k++) be->abort(&run->env, th->first + k);
        const char* file = strrchr(__FILE__, '/');
        printf("%s: Test timeout (%ds) %s:%d\n", run->host, timeout, file ? file + 1 : __FILE__, __LINE__);
        return perfTimeout;
      }
    }
    if (!progressed) sched_yield();
  }
  return perfSuccess;
}

static size_t rowBytes(const perfThread* th) {
  const perfCounts* c = &th->c;
  return (c->sendCount > c->recvCount ? c->sendCount : c->recvCount) * th->typeSize;
}

/* Launches one operation on each of the thread's devices (grouped when
 * several); iteration `iter` works at its own offset of the buffers. */
static perfResult_t startColl(perfThread* th, int dtype, int op, int root, int inPlace, int iter) {
  perfRun* run = th->run;
  const perfBackend* be = run->be;
  perfEnv* env = &run->env;
  const perfArgs* a = run->args;
  size_t total = rowBytes(th);
  size_t steps = total ? a->maxBytes / total : 1;
  size_t shift = steps ? total * ((size_t)iter % steps) : 0;
  size_t ts = th->typeSize;
  const perfColl* coll = run->coll;
  int rounds = perfCollRounds(coll, env->nRanks);
  for (int k = 0; k < rounds; k++) {
    if (th->nGpus > 1) PERFCHECK(be->groupStart());
    for (int i = 0; i < th->nGpus; i++) {
      int l = th->first + i, rank = env->rank[l];
      char* recv = th->recv[i] + shift;
      char* send = inPlace ? recv + th->c.sendInplaceOffset * (size_t)rank * ts : th->send[i] + shift;
      if (inPlace) recv += th->c.recvInplaceOffset * (size_t)rank * ts;
      int handle = op;
      if (op == PERF_OP_MULSUM && coll->ops == PERF_OPS_REDUCE) PERFCHECK(be->createPremulSum(env, l, dtype, &handle));
      PERFCHECK(perfCollLaunch(coll, be, env, l, send, recv, th->c.paramCount, dtype, handle, root, k));
      if (handle != op) PERFCHECK(be->destroyOp(env, l, handle));
    }
    if (th->nGpus > 1) PERFCHECK(be->groupEnd());
  }
  if (a->blocking) PERFCHECK(syncOwn(th));
  if (a->blocking == 1) barrier(th);
  return perfSuccess;
}

static perfResult_t completeColl(perfThread* th) {
  const perfArgs* a = th->run->args;
  if (a->blocking && a->aggIters <= 1) return perfSuccess;
  return syncOwn(th);
}

/* ------------------------------------------------------------ checking */

static void checkCtx(const perfThread* th, int i, int dtype, int op, int root, perfCheckCtx* ctx) {
  const perfEnv* env = &th->run->env;
  *ctx = (perfCheckCtx){.rank = env->rank[th->first + i],
                        .nRanks = env->nRanks,
                        .root = root,
                        .op = op,
                        .dtype = dtype,
                        .seed = th->rep,
                        .counts = &th->c};
}

/* Fresh inputs, output areas set to the fill pattern, on every device of the thread. */
static perfResult_t prepareData(perfThread* th, int dtype, int op, int root, int inPlace) {
  perfRun* run = th->run;
  const perfBackend* be = run->be;
  const perfCounts* c = &th->c;
  size_t ts = th->typeSize;
  for (int i = 0; i < th->nGpus; i++) {
    int l = th->first + i;
    perfCheckCtx ctx;
    checkCtx(th, i, dtype, op, root, &ctx);
    if (inPlace) {
      size_t total = rowBytes(th);
      memset(th->hostBuf, 0xff, total);
      perfFillInputs(&ctx, ctx.rank, th->hostBuf + c->sendInplaceOffset * (size_t)ctx.rank * ts, c->sendCount);
      PERFCHECK(be->fromHost(&run->env, l, th->recv[i], th->hostBuf, total));
    } else {
      perfFillInputs(&ctx, ctx.rank, th->hostBuf, c->sendCount);
      PERFCHECK(be->fromHost(&run->env, l, th->send[i], th->hostBuf, c->sendCount * ts));
      PERFCHECK(be->fromHost(&run->env, l, th->recv[i], th->fillBuf, c->recvCount * ts));
    }
  }
  return perfSuccess;
}

/* Mismatching output elements on the thread's devices. */
static perfResult_t countWrong(perfThread* th, int dtype, int op, int root, int inPlace, long long* wrong) {
  perfRun* run = th->run;
  size_t ts = th->typeSize;
  *wrong = 0;
  for (int i = 0; i < th->nGpus; i++) {
    perfCheckCtx ctx;
    checkCtx(th, i, dtype, op, root, &ctx);
    if (!perfCollChecksRank(run->coll, ctx.rank, root)) continue;
    char* r = th->recv[i] + (inPlace ? th->c.recvInplaceOffset * (size_t)ctx.rank * ts : 0);
    PERFCHECK(run->be->toHost(&run->env, th->first + i, th->hostBuf, r, th->c.recvCount * ts));
    *wrong += (long long)perfCountWrong(run->coll, &ctx, th->hostBuf, th->c.recvCount);
  }
  return perfSuccess;
}

/* ------------------------------------------------------------ per-iteration timing (-I) */

static perfResult_t initEvents(perfThread* th) {
  perfRun* run = th->run;
  const perfArgs* a = run->args;
  th->eventCount = a->blocking == 3 ? 2 * a->iters : a->iters + 1;
  th->events = calloc((size_t)th->nGpus * (size_t)th->eventCount, sizeof(void*));
  if (th->events == NULL) return perfInternalError;
  for (int i = 0; i < th->nGpus; i++)
    for (int k = 0; k < th->eventCount; k++)
      PERFCHECK(run->be->eventCreate(&run->env, th->first + i, &th->events[i * th->eventCount + k]));
  return perfSuccess;
}

static void destroyEvents(perfThread* th) {
  if (th->events == NULL) return;
  for (int k = 0; k < th->nGpus * th->eventCount; k++)
    if (th->events[k]) th->run->be->eventDestroy(th->events[k]);
  free(th->events);
  th->events = NULL;
}

static perfResult_t recordEvents(perfThread* th, int index) {
  for (int i = 0; i < th->nGpus; i++)
    PERFCHECK(th->run->be->eventRecord(&th->run->env, th->first + i, th->events[i * th->eventCount + index]));
  return perfSuccess;
}

/* Seconds per op of each iteration: the slowest of the thread's devices. */
static perfResult_t iterTimes(perfThread* th, double* times) {
  const perfArgs* a = th->run->args;
  int paired = a->blocking == 3;
  for (int it = 0; it < a->iters; it++) {
    times[it] = 0;
    for (int i = 0; i < th->nGpus; i++) {
      void** ev = &th->events[i * th->eventCount];
      float ms = 0;
      PERFCHECK(th->run->be->eventElapsed(&ms, paired ? ev[2 * it] : ev[it], paired ? ev[2 * it + 1] : ev[it + 1]));
      double sec = ms * 1e-3 / a->aggIters;
      if (sec > times[it]) times[it] = sec;
    }
  }
  return perfSuccess;
}

/* The -I columns: per iteration the slowest process (each process's slowest device). */
static void reportIters(perfThread* th, double* times, int outOfPlace) {
  perfRun* run = th->run;
  const perfArgs* a = run->args;
  int n = a->iters, nProcs = run->env.nProcs;
  team(th, times, n, TEAM_GATHER_MAX);
  if (!(run->isPrinter && th->thread == 0)) return;
  if (nProcs > 1)
    for (int it = 0; it < n; it++)
      for (int p = 0; p < nProcs; p++) times[it] = fmax(times[it], run->gathered[(size_t)p * (size_t)n + (size_t)it]);
  perfIterStats st;
  perfIterStatsCompute(times + a->perIterSkip, n - a->perIterSkip, &st);
  perfReportRowIters(&run->report, &st, times, n, a->perIterSkip, outOfPlace, nProcs > 1 ? run->gathered : NULL,
                     nProcs);
  if (!outOfPlace && a->reportTimestamps) perfReportTimestamp(&run->report);
}

/* ------------------------------------------------------------ one row */

static perfResult_t benchTime(perfThread* th, int dtype, int op, int root, int inPlace) {
  perfRun* run = th->run;
  const perfArgs* a = run->args;
  const perfColl* coll = run->coll;
  int printer = run->isPrinter && th->thread == 0;
  if (a->check) PERFCHECK(prepareData(th, dtype, op, root, inPlace));
  PERFCHECK(startColl(th, dtype, op, root, inPlace, 0));
  PERFCHECK(completeColl(th));
  barrier(th);

  int record = a->perIterTiming, paired = record && a->blocking == 3;
  if (record) PERFCHECK(initEvents(th));
  double collOnly = 0, start = nowSec();
  for (int it = 0; it < a->iters; it++) {
    double t0 = nowSec();
    if (a->aggIters > 1) PERFCHECK(run->be->groupStart());
    if (record) PERFCHECK(recordEvents(th, paired ? 2 * it : it));
    for (int m = 0; m < a->aggIters; m++) PERFCHECK(startColl(th, dtype, op, root, inPlace, it * a->aggIters + m));
    if (a->aggIters > 1) PERFCHECK(run->be->groupEnd());
    if (a->blocking == 3) {
      PERFCHECK(syncOwn(th));
      if (paired) PERFCHECK(recordEvents(th, 2 * it + 1));
      collOnly += nowSec() - t0;
      barrier(th);
    }
  }
  if (record && !paired) PERFCHECK(recordEvents(th, a->iters));
  double ops = (double)a->iters * a->aggIters;
  double cpuSec = (a->blocking == 3 ? collOnly : nowSec() - start) / ops;
  PERFCHECK(completeColl(th));
  double sec = (a->blocking == 3 ? collOnly : nowSec() - start) / ops;
  double* times = NULL;
  if (record) {
    if (a->blocking && a->aggIters <= 1) PERFCHECK(syncOwn(th));
    times = malloc(sizeof(double) * (size_t)a->iters);
    if (times == NULL) return perfInternalError;
    perfResult_t r = iterTimes(th, times);
    destroyEvents(th);
    if (r != perfSuccess) free(times);
    PERFCHECK(r);
  }
  team(th, &sec, 1, a->average);
  int n = run->env.nRanks;
  double algBw = perfCollAlgBytes(coll, &th->c, th->typeSize, n) / 1e9 / sec;
  double busBw = algBw * perfCollBusFactor(coll, n);
  barrier(th);

  int reportErrors = a->check > 0 && (!inPlace || coll->checksInPlace);
  double wrong = 0;
  th->rep++;
  for (int k = 0; k < a->check; k++) {
    PERFCHECK(prepareData(th, dtype, op, root, inPlace));
    PERFCHECK(startColl(th, dtype, op, root, inPlace, 0));
    PERFCHECK(completeColl(th));
    long long mine = 0;
    PERFCHECK(countWrong(th, dtype, op, root, inPlace, &mine));
    if (reportErrors && mine) th->errors++;
    wrong = (double)mine;
    team(th, &wrong, 1, TEAM_SUM);
    if (wrong) break;
  }
  if (printer)
    perfReportRowBody(&run->report, (a->reportCputime ? cpuSec : sec) * 1e6, algBw, busBw, reportErrors,
                      (long long)wrong, !inPlace);
  if (record) {
    reportIters(th, times, !inPlace);
    free(times);
  }
  th->bwSum += busBw;
  th->bwCount++;
  return perfSuccess;
}

static void setRow(perfThread* th, size_t bytes, int dtype) {
  th->typeSize = perfTypeSize(dtype);
  perfCollCounts(th->run->coll, bytes / th->typeSize, th->typeSize, th->run->env.nRanks, &th->c);
}

/* The next size of the sweep; SIZE_MAX ends it (past max, or no growth:
 * -b 0 with -f, -i 0, where nccl-tests would repeat one size forever). */
static size_t nextSize(size_t size, size_t factor, size_t step, size_t max) {
  size_t next = factor > 1 ? size * factor : size + step;
  return next > size && next <= max ? next : SIZE_MAX;
}

/* Every size of one (datatype, op, root): warm-up, then -N sweeps of rows. */
static perfResult_t timeTest(perfThread* th, int dtype, int op, int root) {
  perfRun* run = th->run;
  const perfArgs* a = run->args;
  int printer = run->isPrinter && th->thread == 0;
  barrier(th);
  size_t ts = perfTypeSize(dtype);
  for (int i = 0; i < th->nGpus; i++) {
    th->send[i] = (char*)run->send[th->first + i] + (size_t)a->unalign * ts;
    th->recv[i] = (char*)run->recv[th->first + i] + (size_t)a->unalign * ts;
  }
  for (size_t size = a->minBytes; size <= a->maxBytes && size != SIZE_MAX; size = nextSize(size, 2, 0, a->maxBytes)) {
    setRow(th, size, dtype);
    for (int w = 0; w < a->warmup; w++) PERFCHECK(startColl(th, dtype, op, root, 0, w));
    PERFCHECK(completeColl(th));
  }
  const char* opName = run->coll->ops == PERF_OPS_NONE ? run->coll->opLabel : perfOpName(op);
  long cycles = a->runCycles;
  do {
    for (size_t size = a->minBytes; size <= a->maxBytes && size != SIZE_MAX;
         size = nextSize(size, a->stepFactor, a->stepBytes, a->maxBytes)) {
      setRow(th, size, dtype);
      if (printer) perfReportRowStart(&run->report, rowBytes(th), th->c.paramCount, perfTypeName(dtype), opName, root);
      PERFCHECK(benchTime(th, dtype, op, root, 0));
      PERFCHECK(benchTime(th, dtype, op, root, 1));
      if (printer) perfReportRowEnd(&run->report);
    }
  } while (--cycles != 0);
  return perfSuccess;
}

/* Every (datatype, op, root) the flags select, in nccl-tests' order. */
static perfResult_t runTests(perfThread* th) {
  perfRun* run = th->run;
  const perfArgs* a = run->args;
  const perfColl* coll = run->coll;
  int n = run->env.nRanks;
  if (coll->needsPow2 && (n & (n - 1)) != 0) {
    printf("nRanks %d is not a power of 2, skipping\n", n);
    return perfSuccess;
  }
  int t0 = a->dtype < 0 ? 0 : a->dtype, t1 = a->dtype < 0 ? PERF_NUM_TYPES - 1 : a->dtype;
  int o0 = PERF_OP_NONE, o1 = PERF_OP_NONE;
  if (coll->ops != PERF_OPS_NONE) {
    o0 = a->op < 0 ? 0 : a->op;
    o1 = a->op < 0 ? PERF_NUM_OPS - 1 : a->op;
  }
  int r0 = -1, r1 = -1;
  if (coll->hasRoot) {
    r0 = a->root < 0 ? 0 : a->root;
    r1 = a->root < 0 ? n - 1 : a->root;
  }
  for (int t = t0; t <= t1; t++)
    for (int op = o0; op <= o1; op++)
      for (int root = r0; root <= r1; root++) PERFCHECK(timeTest(th, t, op, root));
  return perfSuccess;
}

/* ------------------------------------------------------------ set-up */

static perfResult_t allocBuffers(perfRun* run, int first, int n) {
  for (int l = first; l < first + n; l++) {
    PERFCHECK(run->be->alloc(&run->env, l, run->bufBytes, &run->send[l]));
    PERFCHECK(run->be->alloc(&run->env, l, run->bufBytes, &run->recv[l]));
  }
  return perfSuccess;
}

static perfResult_t threadBody(perfThread* th) {
  perfRun* run = th->run;
  if (run->args->parallelInit) {
    PERFCHECK(run->be->initComms(&run->env, th->first, th->nGpus, run->id));
    PERFCHECK(allocBuffers(run, th->first, th->nGpus));
  }
  th->hostBuf = malloc(run->bufBytes);
  th->fillBuf = malloc(run->bufBytes);
  if (th->hostBuf == NULL || th->fillBuf == NULL) {
    fprintf(stderr, "perf: out of host memory for %zu-byte staging buffers\n", run->bufBytes);
    return perfInternalError;
  }
  memset(th->fillBuf, 0xff, run->bufBytes);
  return runTests(th);
}

static void failJob(perfRun* run, perfResult_t r) {
  if (run->isPrinter) perfReportAbandon(&run->report);
  fflush(stdout);
  fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, (int)r);
}

static void* threadMain(void* arg) {
  perfThread* th = arg;
  th->ret = threadBody(th);
  /* A thread that stops leaves the others waiting in a barrier: end the job. */
  if (th->ret != perfSuccess) failJob(th->run, th->ret);
  return NULL;
}

/* Every rank's host, pid and device, gathered on the printing process. */
static perfResult_t gatherRankInfo(perfRun* run, perfRankInfo** out) {
  perfEnv* env = &run->env;
  perfRankInfo mine[PERF_MAX_LOCAL];
  for (int l = 0; l < env->nLocal; l++) {
    memset(&mine[l], 0, sizeof(mine[l]));
    mine[l].rank = env->rank[l];
    mine[l].pid = (int)getpid();
    mine[l].device = env->device[l];
    snprintf(mine[l].host, sizeof(mine[l].host), "%s", run->host);
    PERFCHECK(run->be->describe(env, l, &mine[l].dev));
  }
  perfRankInfo* all = calloc((size_t)env->nRanks, sizeof(perfRankInfo));
  if (all == NULL) return perfInternalError;
  int bytes = (int)(sizeof(perfRankInfo) * (size_t)env->nLocal);
  MPI_Gather(mine, bytes, MPI_BYTE, all, bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
  *out = all;
  return perfSuccess;
}

/* Rank layout and devices: process p, thread t, device i has rank
 * (p * threads + t) * devices + i and uses device (local process index *
 * threads * devices + t * devices + i), or ACCL_TESTS_DEVICE + that offset. */
static void setupEnv(perfRun* run) {
  perfEnv* env = &run->env;
  const perfArgs* a = run->args;
  MPI_Comm_size(MPI_COMM_WORLD, &env->nProcs);
  MPI_Comm_rank(MPI_COMM_WORLD, &env->proc);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, env->proc, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &env->localProc);
  MPI_Comm_free(&node);
  env->nThreads = a->nThreads;
  env->nGpus = a->nGpus;
  env->nLocal = a->nThreads * a->nGpus;
  env->nRanks = env->nProcs * env->nLocal;
  const char* dev0 = getenv("ACCL_TESTS_DEVICE");
  int first = dev0 ? atoi(dev0) : env->localProc * env->nLocal;
  for (int l = 0; l < env->nLocal; l++) {
    env->rank[l] = env->proc * env->nLocal + l;
    env->device[l] = first + l;
  }
  env->args = a;
}

/* A failure anywhere is a failure everywhere: the largest result code wins. */
static perfResult_t agree(perfResult_t mine) {
  int in = (int)mine, out = 0;
  MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return (perfResult_t)out;
}

/* nccl-tests' memory rule: per device keep min(1 GiB per 16 GiB, 4 GiB) plus
 * 1 GiB free and leave the rest to the three buffers (two without -c). */
static void limitMaxBytes(perfRun* run) {
  perfArgs* a = run->args;
  unsigned long long mem = ~0ULL;
  for (int l = 0; l < run->env.nLocal; l++) {
    perfDeviceInfo info;
    if (run->be->describe(&run->env, l, &info) == perfSuccess && info.totalMem > 0 && info.totalMem < mem)
      mem = info.totalMem;
  }
  MPI_Allreduce(MPI_IN_PLACE, &mem, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
  if (mem == ~0ULL || a->hostBuffers) return;
  const unsigned long long gib = 1ULL << 30;
  unsigned long long reserve = (mem + 16 * gib - 1) / (16 * gib) * gib;
  if (reserve > 4 * gib) reserve = 4 * gib;
  unsigned long long usable = (mem - reserve - gib) / (a->check ? 3 : 2);
  if (a->maxBytes > usable) {
    a->maxBytes = usable;
    if (a->minBytes > a->maxBytes) a->minBytes = a->maxBytes;
    if (run->isPrinter) printf("#\n# Reducing maxBytes to %zu due to memory limitation\n", a->maxBytes);
  }
}

static perfResult_t initTeam(perfRun* run) {
  pthread_mutex_init(&run->mu, NULL);
  pthread_cond_init(&run->cv, NULL);
  size_t n = run->args->iters > 1 ? (size_t)run->args->iters : 1;
  run->acc[0] = calloc(n, sizeof(double));
  run->acc[1] = calloc(n, sizeof(double));
  if (run->isPrinter && run->args->perIterTiming) run->gathered = calloc(n * (size_t)run->env.nProcs, sizeof(double));
  if (!run->acc[0] || !run->acc[1] || (run->isPrinter && run->args->perIterTiming && !run->gathered))
    return perfInternalError;
  return perfSuccess;
}

/* The program's name as nccl-tests prints it (libtool's uninstalled wrapper
 * may run it as lt-NAME). */
static const char* baseName(const char* path) {
  const char* slash = strrchr(path, '/');
  const char* name = slash ? slash + 1 : path;
  return strncmp(name, "lt-", 3) == 0 ? name + 3 : name;
}

/* The run after MPI is up; returns the result every process agrees on. */
static perfResult_t runJob(perfRun* run) {
  perfArgs* a = run->args;
  perfEnv* env = &run->env;
  const perfBackend* be = run->be;
  perfReport* rep = &run->report;
  if (run->isPrinter) perfReportHeader(rep);
  perfResult_t r = agree(be->init(env));
  if (r != perfSuccess) return r;
  perfRankInfo* ranks = NULL;
  r = agree(gatherRankInfo(run, &ranks));
  if (r != perfSuccess) return r;
  if (run->isPrinter) {
    perfReportDevices(rep, ranks, env->nRanks);
    perfReportHeaderDone(rep);
  }
  free(ranks);
  limitMaxBytes(run);
  run->bufBytes = a->maxBytes + 8 * (size_t)a->unalign;
  if (run->bufBytes == 0) run->bufBytes = 1;

  size_t idLen = sizeof(run->id);
  r = perfSuccess;
  if (env->proc == 0) r = be->getUniqueId(run->id, &idLen);
  if ((r = agree(r)) != perfSuccess) return r;
  MPI_Bcast(&idLen, sizeof(idLen), MPI_BYTE, 0, MPI_COMM_WORLD);
  MPI_Bcast(run->id, (int)idLen, MPI_BYTE, 0, MPI_COMM_WORLD);
  if (!a->parallelInit) {
    r = be->initComms(env, 0, env->nLocal, run->id);
    if (r == perfSuccess) r = allocBuffers(run, 0, env->nLocal);
    if ((r = agree(r)) != perfSuccess) return r;
  }
  if ((r = agree(initTeam(run))) != perfSuccess) return r;

  fflush(stdout);
  if (run->isPrinter) perfReportColumns(rep);
  for (int t = env->nThreads - 1; t >= 0; t--) {
    perfThread* th = &run->threads[t];
    *th = (perfThread){.run = run, .thread = t, .first = t * env->nGpus, .nGpus = env->nGpus};
    if (t > 0 && pthread_create(&th->tid, NULL, threadMain, th) != 0) {
      fprintf(stderr, "perf: cannot start thread %d\n", t);
      failJob(run, perfInternalError);
    }
  }
  threadMain(&run->threads[0]);
  int errors = 0, bwCount = 0;
  double bwSum = 0;
  for (int t = env->nThreads - 1; t >= 0; t--) {
    perfThread* th = &run->threads[t];
    if (t > 0) pthread_join(th->tid, NULL);
    errors += th->errors;
    bwSum += th->bwSum;
    bwCount += th->bwCount;
    free(th->hostBuf);
    free(th->fillBuf);
  }
  MPI_Allreduce(MPI_IN_PLACE, &errors, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  for (int l = 0; l < env->nLocal; l++) {
    if (run->send[l]) be->free(env, l, run->send[l]);
    if (run->recv[l]) be->free(env, l, run->recv[l]);
  }
  be->fini(env);
  const char* minEnv = getenv("ACCL_TESTS_MIN_BW");
  double minBw = minEnv ? atof(minEnv) : -1;
  double avgBw = bwSum / bwCount;
  if (run->isPrinter) perfReportFooter(rep, errors, avgBw, minBw);
  return errors || (minBw >= 0 && avgBw < minBw * 0.9) ? perfDataError : perfSuccess;
}

int perfMain(int argc, char** argv, const perfColl* coll, const perfBackend* be, int allowCollFlag) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  static perfArgs args;
  int parsed = perfParseArgs(argc, argv, &args, allowCollFlag);
  if (parsed != 0) return parsed > 0 ? 0 : 255;
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
  if (coll == NULL) coll = perfCollByName(args.collName);

  static perfRun run;
  memset(&run, 0, sizeof(run));
  run.coll = coll;
  run.be = be;
  run.args = &args;
  hostName(run.host, sizeof(run.host));
  setupEnv(&run);
  run.isPrinter = run.env.proc == 0;
  perfReport* rep = &run.report;
  rep->args = &args;
  rep->program = baseName(argv[0]);
  rep->libVersion = be->libraryVersion();
  be->version(rep->version, sizeof(rep->version));
  if (run.isPrinter) perfReportJsonInit(rep, argc, argv, environ);

  perfResult_t r = perfSuccess;
  if (args.nThreads > 1 && provided < MPI_THREAD_SERIALIZED) {
    if (run.isPrinter) fprintf(stderr, "perf: -t %d needs an MPI with thread support\n", args.nThreads);
    r = perfInvalidUsage;
  } else if (coll->hasRoot && (args.root < -1 || args.root >= run.env.nRanks)) {
    if (run.isPrinter) fprintf(stderr, "perf: invalid root %d for -r: %d ranks\n", args.root, run.env.nRanks);
    r = perfInvalidUsage;
  } else {
    r = runJob(&run);
  }
  if (run.isPrinter) {
    if (r == perfSuccess || r == perfDataError)
      perfReportFinish(rep, be->lastError());
    else
      perfReportAbandon(rep);
  }
  free(run.acc[0]);
  free(run.acc[1]);
  free(run.gathered);
  MPI_Finalize();
  if (r != perfSuccess) perfTraceFailure(__FILE__, __LINE__);
  return (int)r;
}
