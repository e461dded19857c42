/*
 * common.h - the benchmark driver shared by every perf tool.
 *
 * The driver reproduces nccl-tests: same flags, same timing loop, same output
 * columns. Two tables plug into it:
 *  - a perfColl describes one collective (buffer sizes, bus-bandwidth factor,
 *    how to launch it, which values its output must hold), one file each;
 *  - a perfBackend runs collectives through a library: acc-ccl
 *    (backend_accl.c) or MPI (backend_mpi.c, the reference).
 * MPI also coordinates the processes (barriers, time and error reductions).
 */
#ifndef ACCL_PERF_COMMON_H_
#define ACCL_PERF_COMMON_H_

#include <stddef.h>
#include <stdint.h>
#include "acc_ccl.h"
#include "halfconv.h" /* the library's fp16 / bf16 conversions (src/include) */

typedef enum { perfSuccess = 0, perfError = 1 } perfResult_t;

/* Print where and why, then propagate. */
#define PERFCHECK(call)                                                          \
  do {                                                                           \
    perfResult_t perf_r_ = (call);                                               \
    if (perf_r_ != perfSuccess) {                                                \
      fprintf(stderr, "perf: %s:%d: %s failed\n", __FILE__, __LINE__, #call);     \
      return perf_r_;                                                            \
    }                                                                            \
  } while (0)

#define PERF_MAX_LOCAL 64 /* -g limit: devices driven by one process */

/* ---------------------------------------------------------------- options */

typedef struct {
  size_t minBytes, maxBytes;
  size_t stepBytes;      /* -i: additive step, used when stepFactor <= 1 */
  int stepFactor;        /* -f: multiplicative step */
  int iters, warmup;     /* -n, -w */
  int aggIters;          /* -m: launches per group */
  int check;             /* -c: checked iterations after timing (0: none, prints N/A) */
  int blocking;          /* -z: 0 none, 1 sync + barrier per iteration, 2 sync only */
  int average;           /* -a: 0 rank 0, 1 mean, 2 min, 3 max over processes */
  int nLocal;            /* -g: devices (ranks) per process */
  int hostBuffers;       /* -H: malloc buffers instead of device memory */
  int root;              /* -r: root rank, -1 = every root in turn */
  int dtype;             /* -d: acclDataType_t, -1 = all */
  int op;                /* -o: acclRedOp_t, -1 = all */
  const char* jsonPath;  /* -J */
  const char* collName;  /* -C (mpi_ref) or fixed by the binary */
} perfArgs;

/* Parses argv into *args (defaults of nccl-tests first). Returns 1 when the
 * program should exit successfully (-h), -1 on bad input (message printed
 * unless quietErrors). allowCollFlag: accept -C (mpi_ref). */
int perfParseArgs(int argc, char** argv, perfArgs* args, int allowCollFlag, int quietErrors);
void perfUsage(const char* prog, int allowCollFlag);

/* ---------------------------------------------------------------- datatypes */

#define PERF_OP_NONE (-1) /* data-movement collectives: no reduction */

size_t perfTypeSize(int dtype);
const char* perfTypeName(int dtype);
const char* perfOpName(int op);    /* "none" for PERF_OP_NONE */
int perfTypeFromName(const char* s); /* -1: "all", -2: unknown */
int perfOpFromName(const char* s);   /* -1: "all", -2: unknown */
int perfTypeIsFloat(int dtype);
/* Element i of a typed buffer, as a double / stored from a double (rounded to
 * nearest even for half and bfloat16; integers truncated toward zero). */
double perfLoad(const void* buf, size_t i, int dtype);
void perfStore(void* buf, size_t i, int dtype, double v);

/* ---------------------------------------------------------------- backends */

/* This process's ranks and the communicators/streams behind them. */
typedef struct perfEnv {
  int nProcs, proc;      /* MPI processes and this one's index */
  int localProc;         /* index of this process among those on its host */
  int nLocal;            /* ranks (devices) in this process */
  int nRanks;            /* nProcs * nLocal */
  int rank[PERF_MAX_LOCAL];   /* global rank of each local rank */
  int device[PERF_MAX_LOCAL]; /* device index used by each local rank (-1: host) */
  const perfArgs* args;
  void* state;           /* backend private */
} perfEnv;

typedef struct perfBackend {
  const char* name; /* "acc-ccl" or "mpi" */
  perfResult_t (*init)(perfEnv* env);
  perfResult_t (*fini)(perfEnv* env);
  /* One line that names the library and its version. */
  void (*version)(perfEnv* env, char* buf, size_t len);
  /* Device description of local rank l for the "Using devices" header. */
  void (*describe)(perfEnv* env, int l, char* name, size_t len, int* busId);
  perfResult_t (*alloc)(perfEnv* env, int l, size_t bytes, void** ptr);
  perfResult_t (*free)(perfEnv* env, int l, void* ptr);
  perfResult_t (*toHost)(perfEnv* env, int l, void* dst, const void* src, size_t bytes);
  perfResult_t (*fromHost)(perfEnv* env, int l, void* dst, const void* src, size_t bytes);
  perfResult_t (*groupStart)(void);
  perfResult_t (*groupEnd)(void);
  perfResult_t (*sync)(perfEnv* env, int l); /* waits for local rank l's launched work */
  /* The collectives, NCCL argument conventions (in place when buffers alias). */
  perfResult_t (*allReduce)(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype, int op);
  perfResult_t (*allGather)(perfEnv* env, int l, const void* s, void* r, size_t sendcount, int dtype);
  perfResult_t (*reduceScatter)(perfEnv* env, int l, const void* s, void* r, size_t recvcount, int dtype,
                                int op);
  perfResult_t (*broadcast)(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype, int root);
  perfResult_t (*reduce)(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype, int op,
                         int root);
  perfResult_t (*allToAll)(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype);
  perfResult_t (*sendRecv)(perfEnv* env, int l, const void* s, void* r, size_t count, int dtype,
                           int sendPeer, int recvPeer);
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

/* Per-rank block of count elements split over nRanks, rounded down to 16
 * bytes as nccl-tests does (small sizes give empty blocks, rows of size 0). */
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

typedef struct perfColl {
  const char* name;     /* -C name: "allreduce" */
  const char* program;  /* binary name: "allreduce_perf" */
  int hasOp, hasRoot;
  void (*getCounts)(size_t count, size_t typeSize, int nRanks, perfCounts* c);
  /* Bytes behind algbw (nccl-tests' S) and busbw = algbw * busFactor. */
  double (*algBytes)(const perfCounts* c, size_t typeSize, int nRanks);
  double (*busFactor)(int nRanks);
  perfResult_t (*run)(const perfBackend* be, perfEnv* env, int l, const void* s, void* r,
                      const perfCounts* c, int dtype, int op, int root);
  /* Whether this rank's output is defined (Reduce: only the root's). */
  int (*checksRank)(int rank, int root);
  /* Expected value of output element i (of recvCount) on ctx->rank. */
  double (*expected)(const perfCheckCtx* ctx, size_t i);
} perfColl;

extern const perfColl perfCollAllReduce, perfCollAllGather, perfCollReduceScatter,
    perfCollBroadcast, perfCollReduce, perfCollAllToAll, perfCollSendRecv;
const perfColl* perfCollByName(const char* name);
/* Shared by the collectives whose send and receive buffers both hold `count`
 * elements (AllReduce, Broadcast, Reduce, SendRecv): their count rule, algbw
 * bytes, and the bus factor 1. */
void perfCountsSame(size_t count, size_t typeSize, int nRanks, perfCounts* c);
double perfAlgBytesParam(const perfCounts* c, size_t typeSize, int nRanks);
double perfBusFactorOne(int n);
/* Shared by AllGather, ReduceScatter and AllToAll (n blocks of paramCount):
 * algbw counts the whole array, bus factor (n-1)/n. */
double perfAlgBytesBlocks(const perfCounts* c, size_t typeSize, int nRanks);
double perfBusFactorBlocks(int n);
/* Every rank's output is checked (all but Reduce). */
int perfChecksEveryRank(int rank, int root);
const char* perfCollNames(void); /* "allreduce|allgather|..." for usage text */

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

/* Runs the whole benchmark; returns the process exit code. */
int perfMain(int argc, char** argv, const perfColl* coll, const perfBackend* be, int allowCollFlag);

#endif
