/* common.c - the driver of every perf tool: buffers, the sweep over
 * datatypes, ops, roots and sizes, the nccl-tests timing loop, and the check.
 *
 * Timing (as nccl-tests): after -w warmup launches, a barrier, then a host
 * clock around -n iterations of -m launches (grouped), followed by waiting
 * for the streams; time per op = elapsed / (n * m), combined across
 * processes per -a. Checking: -c more launches on fresh inputs, results
 * copied to the host and compared exactly; mismatches summed over ranks. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

typedef struct {
  const perfColl* coll;
  const perfBackend* be;
  perfEnv env;
  size_t bufBytes;                 /* bytes of each buffer */
  void* send[PERF_MAX_LOCAL];      /* backend buffers (device or -H host) */
  void* recv[PERF_MAX_LOCAL];
  unsigned char* hostBuf;          /* staging for inputs and results */
  unsigned char* fillBuf;          /* 0xff pattern for output buffers (NaN / -1) */
  perfReport report;
  int isPrinter;
} perfRun;

static double nowSec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Where the placement puts this local rank's send and recv pointers. */
static void placeBuffers(perfRun* run, int l, const perfCounts* c, size_t typeSize, int inPlace,
                         char** s, char** r) {
  if (!inPlace) {
    *s = run->send[l];
    *r = run->recv[l];
    return;
  }
  int rank = run->env.rank[l];
  *s = (char*)run->recv[l] + c->sendInplaceOffset * (size_t)rank * typeSize;
  *r = (char*)run->recv[l] + c->recvInplaceOffset * (size_t)rank * typeSize;
}

static perfResult_t syncAll(perfRun* run) {
  for (int l = 0; l < run->env.nLocal; l++) PERFCHECK(run->be->sync(&run->env, l));
  return perfSuccess;
}

/* One iteration: -m launches on every local rank, grouped when there is more than one. */
static perfResult_t launchIteration(perfRun* run, const perfCounts* c, int dtype, int op, int root, int inPlace) {
  size_t ts = perfTypeSize(dtype);
  int grouped = run->env.nLocal > 1 || run->env.args->aggIters > 1;
  if (grouped) PERFCHECK(run->be->groupStart());
  for (int a = 0; a < run->env.args->aggIters; a++) {
    for (int l = 0; l < run->env.nLocal; l++) {
      char *s, *r;
      placeBuffers(run, l, c, ts, inPlace, &s, &r);
      PERFCHECK(run->coll->run(run->be, &run->env, l, s, r, c, dtype, op, root));
    }
  }
  if (grouped) PERFCHECK(run->be->groupEnd());
  return perfSuccess;
}

/* Seconds per op on this process, then combined over processes per -a. */
static perfResult_t timeOps(perfRun* run, const perfCounts* c, int dtype, int op, int root, int inPlace,
                            double* sec) {
  const perfArgs* a = run->env.args;
  for (int w = 0; w < a->warmup; w++) PERFCHECK(launchIteration(run, c, dtype, op, root, inPlace));
  PERFCHECK(syncAll(run));
  MPI_Barrier(MPI_COMM_WORLD);
  double start = nowSec();
  for (int it = 0; it < a->iters; it++) {
    PERFCHECK(launchIteration(run, c, dtype, op, root, inPlace));
    if (a->blocking) {
      PERFCHECK(syncAll(run));
      if (a->blocking == 1) MPI_Barrier(MPI_COMM_WORLD);
    }
  }
  PERFCHECK(syncAll(run));
  double mine = (nowSec() - start) / ((double)a->iters * a->aggIters);
  switch (a->average) {
    case 0: *sec = mine; MPI_Bcast(sec, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD); break;
    case 2: MPI_Allreduce(&mine, sec, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD); break;
    case 3: MPI_Allreduce(&mine, sec, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD); break;
    default:
      MPI_Allreduce(&mine, sec, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      *sec /= run->env.nProcs;
      break;
  }
  return perfSuccess;
}

/* Fresh inputs with output areas set to the fill pattern, for local rank l. */
static perfResult_t prepareCheck(perfRun* run, int l, const perfCheckCtx* ctx, int inPlace) {
  const perfCounts* c = ctx->counts;
  size_t ts = perfTypeSize(ctx->dtype);
  char *s, *r;
  placeBuffers(run, l, c, ts, inPlace, &s, &r);
  if (inPlace) {
    size_t total = (c->sendCount > c->recvCount ? c->sendCount : c->recvCount) * ts;
    memset(run->hostBuf, 0xff, total);
    size_t off = c->sendInplaceOffset * (size_t)ctx->rank * ts;
    perfFillInputs(ctx, ctx->rank, run->hostBuf + off, c->sendCount);
    return run->be->fromHost(&run->env, l, run->recv[l], run->hostBuf, total);
  }
  perfFillInputs(ctx, ctx->rank, run->hostBuf, c->sendCount);
  PERFCHECK(run->be->fromHost(&run->env, l, s, run->hostBuf, c->sendCount * ts));
  return run->be->fromHost(&run->env, l, r, run->fillBuf, c->recvCount * ts);
}

/* Runs -c checked launches; *wrong = mismatches summed over all ranks. */
static perfResult_t checkOps(perfRun* run, const perfCounts* c, int dtype, int op, int root, int inPlace,
                             long long* wrong) {
  const perfArgs* a = run->env.args;
  size_t ts = perfTypeSize(dtype);
  long long mine = 0;
  for (int it = 0; it < a->check; it++) {
    perfCheckCtx ctx[PERF_MAX_LOCAL];
    for (int l = 0; l < run->env.nLocal; l++) {
      ctx[l] = (perfCheckCtx){.rank = run->env.rank[l], .nRanks = run->env.nRanks, .root = root, .op = op,
                              .dtype = dtype, .seed = (unsigned)it + 1, .counts = c};
      PERFCHECK(prepareCheck(run, l, &ctx[l], inPlace));
    }
    /* One launch per rank (not -m of them): in-place outputs feed no further ops. */
    int grouped = run->env.nLocal > 1;
    if (grouped) PERFCHECK(run->be->groupStart());
    for (int l = 0; l < run->env.nLocal; l++) {
      char *s, *r;
      placeBuffers(run, l, c, ts, inPlace, &s, &r);
      PERFCHECK(run->coll->run(run->be, &run->env, l, s, r, c, dtype, op, root));
    }
    if (grouped) PERFCHECK(run->be->groupEnd());
    PERFCHECK(syncAll(run));
    for (int l = 0; l < run->env.nLocal; l++) {
      if (!run->coll->checksRank(ctx[l].rank, root)) continue;
      char *s, *r;
      placeBuffers(run, l, c, ts, inPlace, &s, &r);
      PERFCHECK(run->be->toHost(&run->env, l, run->hostBuf, r, c->recvCount * ts));
      mine += (long long)perfCountWrong(run->coll, &ctx[l], run->hostBuf, c->recvCount);
    }
  }
  MPI_Allreduce(&mine, wrong, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
  return perfSuccess;
}

/* One printed line: a size, out of place then in place. */
static perfResult_t benchSize(perfRun* run, size_t bytes, int dtype, int op, int root) {
  int n = run->env.nRanks;
  size_t ts = perfTypeSize(dtype);
  perfCounts c;
  run->coll->getCounts(bytes / ts, ts, n, &c);
  size_t maxCount = c.sendCount > c.recvCount ? c.sendCount : c.recvCount;
  perfRow row = {.bytes = maxCount * ts, .count = c.paramCount, .dtype = dtype,
                 .op = run->coll->hasOp ? op : PERF_OP_NONE, .root = run->coll->hasRoot ? root : -1};
  if (run->isPrinter) perfPrintRowStart(stdout, &row);
  for (int inPlace = 0; inPlace <= 1; inPlace++) {
    double sec;
    PERFCHECK(timeOps(run, &c, dtype, op, root, inPlace, &sec));
    row.inPlace = inPlace;
    row.wrong = -1;
    if (run->env.args->check) PERFCHECK(checkOps(run, &c, dtype, op, root, inPlace, &row.wrong));
    row.timeUs = sec * 1e6;
    row.algBw = sec > 0 ? run->coll->algBytes(&c, ts, n) / 1e9 / sec : 0;
    row.busBw = row.algBw * run->coll->busFactor(n);
    if (run->isPrinter) perfPrintRowResult(stdout, &run->report, &row);
  }
  return perfSuccess;
}

static perfResult_t sweep(perfRun* run) {
  const perfArgs* a = run->env.args;
  int t0 = a->dtype < 0 ? 0 : a->dtype, t1 = a->dtype < 0 ? acclNumTypes - 1 : a->dtype;
  int hasOp = run->coll->hasOp, hasRoot = run->coll->hasRoot;
  int o0 = !hasOp ? PERF_OP_NONE : a->op < 0 ? 0 : a->op;
  int o1 = !hasOp ? PERF_OP_NONE : a->op < 0 ? acclNumOps - 1 : a->op;
  int r0 = !hasRoot ? 0 : a->root < 0 ? 0 : a->root;
  int r1 = !hasRoot ? 0 : a->root < 0 ? run->env.nRanks - 1 : a->root;
  for (int t = t0; t <= t1; t++)
    for (int op = o0; op <= o1; op++)
      for (int root = r0; root <= r1; root++)
        for (size_t bytes = a->minBytes; bytes <= a->maxBytes;
             bytes = a->stepFactor > 1 ? bytes * (size_t)a->stepFactor : bytes + a->stepBytes) {
          PERFCHECK(benchSize(run, bytes, t, op, root));
          if (bytes == 0 && a->stepFactor > 1) break; /* 0 * factor would never end */
        }
  return perfSuccess;
}

/* Every rank's host, pid and device, gathered on the printing process. */
static perfResult_t gatherRankInfo(perfRun* run, perfRankInfo** out) {
  perfEnv* env = &run->env;
  perfRankInfo mine[PERF_MAX_LOCAL];
  char host[PERF_HOST_LEN];
  if (gethostname(host, sizeof(host)) != 0) snprintf(host, sizeof(host), "unknown");
  host[sizeof(host) - 1] = '\0';
  for (int l = 0; l < env->nLocal; l++) {
    memset(&mine[l], 0, sizeof(mine[l]));
    mine[l].rank = env->rank[l];
    mine[l].pid = (int)getpid();
    mine[l].device = env->device[l];
    snprintf(mine[l].host, sizeof(mine[l].host), "%s", host);
    run->be->describe(env, l, mine[l].deviceName, sizeof(mine[l].deviceName), &mine[l].busId);
  }
  perfRankInfo* all = malloc(sizeof(perfRankInfo) * (size_t)env->nRanks);
  if (all == NULL) return perfError;
  int bytes = (int)(sizeof(perfRankInfo) * (size_t)env->nLocal);
  MPI_Gather(mine, bytes, MPI_BYTE, all, bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
  *out = all;
  return perfSuccess;
}

static perfResult_t allocBuffers(perfRun* run) {
  /* Every collective's buffers fit in -e bytes (counts are rounded down). */
  run->bufBytes = run->env.args->maxBytes > 0 ? run->env.args->maxBytes : 1;
  for (int l = 0; l < run->env.nLocal; l++) {
    PERFCHECK(run->be->alloc(&run->env, l, run->bufBytes, &run->send[l]));
    PERFCHECK(run->be->alloc(&run->env, l, run->bufBytes, &run->recv[l]));
  }
  run->hostBuf = malloc(run->bufBytes);
  run->fillBuf = malloc(run->bufBytes);
  if (run->hostBuf == NULL || run->fillBuf == NULL) {
    fprintf(stderr, "perf: out of host memory for %zu-byte staging buffers\n", run->bufBytes);
    return perfError;
  }
  memset(run->fillBuf, 0xff, run->bufBytes);
  return perfSuccess;
}

static void freeBuffers(perfRun* run) {
  for (int l = 0; l < run->env.nLocal; l++) {
    if (run->send[l]) run->be->free(&run->env, l, run->send[l]);
    if (run->recv[l]) run->be->free(&run->env, l, run->recv[l]);
  }
  free(run->hostBuf);
  free(run->fillBuf);
}

/* Rank layout: process p drives ranks p*g .. p*g+g-1. */
static void setupEnv(perfRun* run, const perfArgs* args) {
  perfEnv* env = &run->env;
  memset(env, 0, sizeof(*env));
  MPI_Comm_size(MPI_COMM_WORLD, &env->nProcs);
  MPI_Comm_rank(MPI_COMM_WORLD, &env->proc);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, env->proc, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &env->localProc);
  MPI_Comm_free(&node);
  env->nLocal = args->nLocal;
  env->nRanks = env->nProcs * env->nLocal;
  for (int l = 0; l < env->nLocal; l++) env->rank[l] = env->proc * env->nLocal + l;
  env->args = args;
}

static int validate(const perfRun* run) {
  const perfArgs* a = run->env.args;
  if (a->root >= run->env.nRanks) {
    if (run->isPrinter) fprintf(stderr, "perf: invalid root %d for -r: only %d ranks\n", a->root, run->env.nRanks);
    return -1;
  }
  return 0;
}

int perfMain(int argc, char** argv, const perfColl* coll, const perfBackend* be, int allowCollFlag) {
  MPI_Init(&argc, &argv);
  int proc;
  MPI_Comm_rank(MPI_COMM_WORLD, &proc);
  perfArgs args;
  /* Every process parses; only the first reports mistakes. */
  int parsed = perfParseArgs(argc, argv, &args, allowCollFlag, proc != 0);
  if (parsed != 0) {
    MPI_Finalize();
    return parsed > 0 ? 0 : 2;
  }
  if (coll == NULL) coll = perfCollByName(args.collName);

  perfRun run;
  memset(&run, 0, sizeof(run));
  run.coll = coll;
  run.be = be;
  run.isPrinter = proc == 0;
  setupEnv(&run, &args);
  if (validate(&run) != 0) {
    MPI_Finalize();
    return 2;
  }
  int failed = be->init(&run.env) != perfSuccess;
  int anyFailed = 0;
  MPI_Allreduce(&failed, &anyFailed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (anyFailed) {
    if (run.isPrinter) fprintf(stderr, "perf: %s backend initialisation failed\n", be->name);
    MPI_Finalize();
    return 1;
  }

  perfRankInfo* ranks = NULL;
  perfReport* rep = &run.report;
  char program[128];
  if (allowCollFlag) snprintf(program, sizeof(program), "mpi_ref -C %s", coll->name);
  else snprintf(program, sizeof(program), "%s", coll->program);
  rep->program = program;
  rep->backend = be->name;
  rep->args = &args;
  rep->nRanks = run.env.nRanks;
  be->version(&run.env, rep->version, sizeof(rep->version));
  failed = gatherRankInfo(&run, &ranks) != perfSuccess || allocBuffers(&run) != perfSuccess;
  MPI_Allreduce(&failed, &anyFailed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (!anyFailed) {
    rep->ranks = ranks;
    if (run.isPrinter) perfPrintHeader(stdout, rep);
    /* A failing launch on one process would leave the others waiting: abort the job. */
    if (sweep(&run) != perfSuccess) {
      fprintf(stderr, "perf: process %d: benchmark failed, aborting the job\n", proc);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (run.isPrinter) {
      perfPrintFooter(stdout, rep);
      if (args.jsonPath && perfWriteJson(args.jsonPath, rep) != 0) failed = 1;
    }
  }
  freeBuffers(&run);
  be->fini(&run.env);
  int errors = (run.isPrinter ? rep->outOfBounds : 0) + failed;
  MPI_Allreduce(&errors, &anyFailed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  perfReportFree(rep);
  free(ranks);
  MPI_Finalize();
  return anyFailed ? 1 : 0;
}
