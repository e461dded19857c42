/*
 * common.h - the benchmark driver shared by every perf tool.
 *
 * The driver reproduces nccl-tests 2.19: the same flags, the same threads x
 * devices layout, the same timing loop and the same output. Two tables plug
 * into it:
 *  - a perfColl describes one collective (buffer sizes, bus-bandwidth factor,
 *    how to launch it, which values its output must hold), one row each of
 *    the table in colls.c;
 *  - a perfBackend runs collectives through a library: acc-ccl
 *    (backend_accl.c) or MPI (backend_mpi.c, the reference).
 * MPI also coordinates the processes (barriers, time and error reductions).
 */
#ifndef ACCL_PERF_COMMON_H_
#define ACCL_PERF_COMMON_H_

#include <stddef.h>
#include <stdint.h>
#include "acc_ccl.h"
#include "core/halfconv.h" /* the library's fp16 / bf16 conversions (src/core) */

/* Results, numbered as nccl-tests' testResult_t: the exit code of a failed run. */
typedef enum {
  perfSuccess = 0,
  perfInternalError = 1,
  perfDeviceError = 2,    /* the acc runtime (or the host) failed */
  perfLibError = 3,       /* acc-ccl (or MPI) failed */
  perfTimeout = 4,        /* -T expired */
  perfNotImplemented = 5, /* e.g. more devices requested than present */
  perfInvalidUsage = 6,
  perfDataError = 7 /* wrong values, or busbw under ACCL_TESTS_MIN_BW */
} perfResult_t;

/* Trace a failure up the call chain (one line per level, as nccl-tests). */
void perfTraceFailure(const char* file, int line);
#define PERFCHECK(call)                     \
  do {                                      \
    perfResult_t perf_r_ = (call);          \
    if (perf_r_ != perfSuccess) {           \
      perfTraceFailure(__FILE__, __LINE__); \
      return perf_r_;                       \
    }                                       \
  } while (0)

#define PERF_MAX_LOCAL 64 /* -t x -g limit: devices driven by one process */

/* ---------------------------------------------------------------- options */

typedef struct {
  int nThreads, nGpus; /* -t, -g */
  size_t minBytes, maxBytes;
  size_t stepBytes;       /* -i: additive step, used when stepFactor <= 1 */
  size_t stepFactor;      /* -f: multiplicative step */
  int iters, warmup;      /* -n, -w */
  int aggIters;           /* -m: launches per group */
  int runCycles;          /* -N: sweeps (0: until killed) */
  int parallelInit;       /* -p: each thread creates its own communicators */
  int check;              /* -c: checked iterations after timing (0: none, prints N/A) */
  int op;                 /* -o: PERF_OP_*, -1 = all */
  int dtype;              /* -d: acclDataType_t, -1 = all */
  int root;               /* -r: root rank, -1 = every root in turn */
  int blocking;           /* -z: 0 none, 1 wait + barrier per op, 2 wait per op, 3 wait + barrier per iteration */
  int streamNull;         /* -y: launch on the devices' default streams */
  int timeout;            /* -T: seconds, 0 = none */
  int reportCputime;      /* -C */
  int reportTimestamps;   /* -S */
  int average;            /* -a: 0 rank 0, 1 mean, 2 min, 3 max */
  int perIterTiming;      /* -I */
  int perIterSkip;        /* -K */
  int unalign;            /* -u: first element used in each buffer */
  int hostBuffers;        /* -H (acc-ccl tools): malloc'd buffers instead of device memory */
  const char* outputFile; /* -J */
  const char* collName;   /* --coll (mpi_ref) */
  int argc;               /* the command line, for the JSON record */
  char** argv;
} perfArgs;

/* Parses argv into *args (nccl-tests' defaults first). Returns 0 to go on,
 * 1 when the program should exit with status 0 (-h, an unknown option: the
 * usage is printed, as nccl-tests does), -1 to exit with status 255 (bad
 * sizes, a flag acc-ccl cannot serve; message printed). allowCollFlag:
 * accept --coll (mpi_ref). */
int perfParseArgs(int argc, char** argv, perfArgs* args, int allowCollFlag);
void perfUsage(const char* prog, int allowCollFlag);

/* ---------------------------------------------------------------- datatypes */

#define PERF_OP_NONE (-1)         /* data-movement collectives: no reduction */
#define PERF_OP_MULSUM acclNumOps /* PreMulSum: scalar (1 on even ranks, 2 on odd) times input, summed */
#define PERF_NUM_OPS (acclNumOps + 1)

/* The types the tools run (-d): every type but fp8, whose 3 / 2 mantissa bits
 * do not hold the checks' inputs exactly. */
#define PERF_NUM_TYPES (acclBfloat16 + 1)
size_t perfTypeSize(int dtype);
const char* perfTypeName(int dtype);
const char* perfOpName(int op); /* "none" for PERF_OP_NONE */
int perfTypeIsFloat(int dtype);
/* The PreMulSum scalar of a rank. */
static inline double perfPremulScalar(int rank) { return rank % 2 == 0 ? 1.0 : 2.0; }
/* Element i of a typed buffer, as a double / stored from a double (rounded to
 * nearest even for half and bfloat16; integers truncated toward zero). */
double perfLoad(const void* buf, size_t i, int dtype);
void perfStore(void* buf, size_t i, int dtype, double v);

/* ---------------------------------------------------------------- backends */

/* This process's ranks and the communicators/streams behind them. Local
 * rank l (0 <= l < nLocal) belongs to thread l / nGpus. */
typedef struct perfEnv {
  int nProcs, proc;           /* MPI processes and this one's index */
  int localProc;              /* index of this process among those on its host */
  int nThreads, nGpus;        /* -t, -g */
  int nLocal;                 /* ranks (devices) in this process: nThreads * nGpus */
  int nRanks;                 /* nProcs * nLocal */
  int rank[PERF_MAX_LOCAL];   /* global rank of each local rank */
  int device[PERF_MAX_LOCAL]; /* device index used by each local rank (-1: host) */
  const perfArgs* args;
} perfEnv;

/* One device's description for the "Using devices" header. */
typedef struct {
  char name[96];
  char busId[32];  /* "dddd:bb:dd" */
  size_t totalMem; /* bytes, 0 if unknown */
} perfDeviceInfo;

typedef struct perfBackend {
  const char* name; /* "acc-ccl" or "mpi" */
  /* Process set-up: device checks, streams (not communicators). Prints its
   * own message on failure. */
  perfResult_t (*init)(perfEnv* env);
  /* Creates the communicators of local ranks first .. first+n-1 as one group;
   * id is the job's unique id (from getUniqueId on process 0). */
  perfResult_t (*initComms)(perfEnv* env, int first, int n, const void* id);
  perfResult_t (*getUniqueId)(void* id, size_t* len); /* len in: capacity, out: bytes */
  perfResult_t (*fini)(perfEnv* env);
  /* "acc-ccl-tests version V accl-headers=H accl-library=L" (without "# "). */
  void (*version)(char* buf, size_t len);
  int (*libraryVersion)(void);
  const char* (*lastError)(void); /* "" when none */
  perfResult_t (*describe)(perfEnv* env, int l, perfDeviceInfo* info);
  perfResult_t (*alloc)(perfEnv* env, int l, size_t bytes, void** ptr);
  perfResult_t (*free)(perfEnv* env, int l, void* ptr);
  perfResult_t (*toHost)(perfEnv* env, int l, void* dst, const void* src, size_t bytes);
  perfResult_t (*fromHost)(perfEnv* env, int l, void* dst, const void* src, size_t bytes);
  perfResult_t (*groupStart)(void);
  perfResult_t (*groupEnd)(void);
  perfResult_t (*sync)(perfEnv* env, int l); /* waits for local rank l's launched work */
  /* 1: done, 0: still running; on an error of the stream or the communicator returns it. */
  perfResult_t (*query)(perfEnv* env, int l, int* done);
  void (*abort)(perfEnv* env, int l); /* aborts local rank l's communicator */
  /* Per-iteration timing (-I): events on local rank l's stream. */
  perfResult_t (*eventCreate)(perfEnv* env, int l, void** ev);
  perfResult_t (*eventRecord)(perfEnv* env, int l, void* ev);
  perfResult_t (*eventElapsed)(float* ms, void* start, void* stop);
  void (*eventDestroy)(void* ev);
  /* A PreMulSum operation for local rank l (scalar = perfPremulScalar(rank)). */
  perfResult_t (*createPremulSum)(perfEnv* env, int l, int dtype, int* op);
  perfResult_t (*destroyOp)(perfEnv* env, int l, int op);
  /* The library collectives by id (perfAllReduce .. perfScatter but
   * perfSendRecv), NCCL argument conventions (in place when buffers alias):
   * count is the call's count argument (perfCounts.paramCount); op is an
   * acclRedOp_t or a handle from createPremulSum (reductions only); root for
   * the rooted ones. Gather: rank r's count elements end up at block r of the
   * root's r; Scatter: block r of the root's s goes to rank r's r. */
  perfResult_t (*collective)(perfEnv* env, int l, int coll, const void* s, void* r, size_t count, int dtype, int op,
                             int root);
  /* Sends count elements of s to sendPeer and receives count into r from recvPeer, as one group. */
  perfResult_t (*sendRecv)(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype, int sendPeer,
                           int recvPeer);
  /* bytes from s to r in local rank l's stream order (same device). */
  perfResult_t (*copy)(perfEnv* env, int l, void* dst, const void* src, size_t bytes);
} perfBackend;

extern const perfBackend perfBackendAccl;
extern const perfBackend perfBackendMpi;

/* ---------------------------------------------------------------- collectives */

/* Element counts for one row, as nccl-tests' getCollByteCount. */
typedef struct {
  size_t sendCount, recvCount; /* elements of each buffer */
  size_t paramCount;           /* the count argument of the call (printed) */
  size_t sendInplaceOffset;    /* in place: sendbuff = buffer + rank * this many elements */
  size_t recvInplaceOffset;    /* in place: recvbuff = buffer + rank * this many elements */
} perfCounts;

/* Per-rank block of count elements split over nRanks, rounded down to a
 * multiple of 16 bytes, exactly as nccl-tests 2.19 does: small sizes give
 * empty blocks (rows of size 0), as in nccl-tests' own logs. */
static inline size_t perfBlockCount(size_t count, int nRanks, size_t typeSize) {
  size_t align = typeSize < 16 ? 16 / typeSize : 1;
  return (count / (size_t)nRanks) / align * align;
}

/* What a collective's check needs to know about one run. */
typedef struct {
  int rank, nRanks, root, op, dtype;
  unsigned seed;
  const perfCounts* counts;
} perfCheckCtx;

enum { PERF_OPS_NONE = 0, PERF_OPS_REDUCE = 1, PERF_OPS_LABEL = 2 };

/* The collectives, in the order of the table in colls.c. */
typedef enum {
  perfAllReduce,
  perfAllGather,
  perfReduceScatter,
  perfBroadcast,
  perfReduce,
  perfAllToAll,
  perfSendRecv,
  perfGather,
  perfScatter,
  perfHyperCube,
  perfNumColls
} perfCollId;

/* One row of the table of collectives (colls.c): what differs between them,
 * as data. */
typedef struct perfColl {
  perfCollId id;
  const char* name; /* --coll name and program stem: "all_reduce" */
  /* PERF_OPS_REDUCE: -o selects the reduction; PERF_OPS_LABEL: -o only
   * labels the rows (SendRecv, as nccl-tests); PERF_OPS_NONE: redop column
   * reads opLabel. */
  int ops;
  const char* opLabel; /* "none", or "" (HyperCube) */
  int hasRoot;
  int checksInPlace; /* 0: the in-place #wrong column reads N/A (AllToAll, SendRecv) */
  int needsPow2;     /* runs only on a power-of-two rank count (HyperCube) */
  int counts;        /* count rule (colls.c: COUNT_*) */
  int algFactor;     /* algbw bytes = paramCount * typeSize * this factor (colls.c: BY_*) */
  int busFactor;     /* busbw = algbw * this factor */
  int rootOnly;      /* only the root's output is defined and checked (Reduce, Gather) */
  int from;          /* where expected values come from (colls.c: FROM_*) */
  int ownBlock;      /* expected element i is at i of this rank's block of the inputs */
} perfColl;

const perfColl* perfCollByName(const char* name); /* "all_reduce", "all_reduce_perf" (or old "allreduce") */
const char* perfCollNames(void);                  /* "all_reduce|all_gather|..." for usage text */
/* Element counts of the row of `count` elements (nccl-tests' getCollByteCount). */
void perfCollCounts(const perfColl* coll, size_t count, size_t typeSize, int nRanks, perfCounts* c);
/* Bytes behind algbw (nccl-tests' S), and busbw = algbw * perfCollBusFactor. */
double perfCollAlgBytes(const perfColl* coll, const perfCounts* c, size_t typeSize, int nRanks);
double perfCollBusFactor(const perfColl* coll, int nRanks);
/* Whether this rank's output is defined (Reduce, Gather: only the root's). */
int perfCollChecksRank(const perfColl* coll, int rank, int root);
/* Expected value of output element i (of recvCount) on ctx->rank. */
double perfCollExpected(const perfColl* coll, const perfCheckCtx* ctx, size_t i);
/* Collectives made of dependent rounds (HyperCube): the number of rounds; the
 * driver launches round k on every device of a thread before round k+1. 1
 * for the others. */
int perfCollRounds(const perfColl* coll, int nRanks);
/* Launches round `round` of the collective on local rank l: count is the
 * call's count (perfCounts.paramCount). */
perfResult_t perfCollLaunch(const perfColl* coll, const perfBackend* be, perfEnv* env, int l, void* s, void* r,
                            size_t count, int dtype, int op, int root, int round);

/* ---------------------------------------------------------------- data */

/* Input element j of rank r's send buffer: a small non-negative integer,
 * exactly representable in every datatype, chosen so that reductions stay
 * exact too (sums <= 3 per rank, products of at most one factor <= 3). */
double perfInput(const perfCheckCtx* ctx, int r, size_t j);
/* The reduction of perfInput(ctx, r, j) over all ranks r, rounded to ctx->dtype. */
double perfReduceInputs(const perfCheckCtx* ctx, size_t j);
/* Fill host buffer `buf` (n elements) with rank r's inputs. */
void perfFillInputs(const perfCheckCtx* ctx, int r, void* buf, size_t n);
/* Count elements of got[0..n) that differ from ctx's collective's expected values. */
size_t perfCountWrong(const perfColl* coll, const perfCheckCtx* ctx, const void* got, size_t n);

/* ---------------------------------------------------------------- driver */

/* Runs the whole benchmark; returns the process exit code. coll NULL: the
 * collective comes from --coll (mpi_ref). */
int perfMain(int argc, char** argv, const perfColl* coll, const perfBackend* be, int allowCollFlag);

#endif
