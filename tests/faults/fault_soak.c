/* fault_soak.c - one rank of the random soak (issue 20 item 6), a plain
 * process like fault_rank.
 *
 *   fault_soak RANK NRANKS ID_FILE SECONDS SEED
 *
 * Every rank draws the same sequence of steps from SEED: collectives
 * (AllReduce, Broadcast, Reduce, AllGather, ReduceScatter, AllToAll,
 * Send/Recv in a ring) of random size (0 to 1 MiB per rank), datatype,
 * operation, root, in place or not, device or host buffers; splits that
 * live for a few steps beside their parent; aborts in the middle of
 * launched, unsynchronised collectives, and clean destroys, each followed
 * by a new communicator. Inputs are small integers hashed from (SEED, step,
 * rank, index), so every result is exact and every element of every
 * verified result is checked. Every 16 steps an AllReduce of "time is up"
 * (max) lets all ranks stop at the same step.
 *
 * Lines on stdout:
 *   SOAK rank=R steps=S colls=C splits=P aborts=A reinits=I wrong=W errors=E maxstep=SECS maxstep_at=STEP
 *   RESULT rank=R phase=soak code=C secs=S at=T async=0 wrong=W guard=0 err=TEXT
 *   BAD rank=R step=S what=...     the first few wrong results / errors, in detail
 * A watchdog prints HANG rank=R step=S and exits 3 when one step takes more
 * than 60 s. Exit 0 when the soak ran (wrong and errors are judged by the
 * launcher), 1 on a set-up failure. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../collectives/dtype_util.h"
#include "acc_ccl.h"
#include "fault_proc.h"

static uint64_t seed;
static atomic_long curStep;
static atomic_long lastMove;

/* ------------------------------------------------------------ random */

static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/* the shared sequence: the same on every rank */
static uint64_t rngState;
static uint64_t rnd(void) { return rngState = mix(rngState); }
static int rndInt(int n) { return (int)(rnd() % (uint64_t)n); }

/* input element i of rank r at step s: 0..4 (1..2 for products) */
static int inputVal(long s, int r, size_t i, int prod) {
  uint64_t h = mix(seed ^ mix((uint64_t)s * 1000003ULL + (uint64_t)r) ^ (uint64_t)i * 0x2545f4914f6cdd1dULL);
  return prod ? 1 + (int)(h & 1) : (int)(h % 5);
}

/* ------------------------------------------------------------ datatypes */

/* the value v as this datatype stores it (integers wrap) */
static double asType(acclDataType_t t, double v) {
  unsigned char buf[8];
  tdStore(t, buf, 0, v);
  return tdLoad(t, buf, 0);
}

/* expected reduction of element i of the inputs of ranks 0..n-1 (virtual ranks) */
static double reduceExpect(long s, int n, size_t i, acclDataType_t t, acclRedOp_t op) {
  int prod = op == acclProd;
  double acc = inputVal(s, 0, i, prod);
  for (int r = 1; r < n; r++) {
    double v = inputVal(s, r, i, prod);
    if (op == acclSum || op == acclAvg)
      acc += v;
    else if (op == acclProd)
      acc *= v;
    else if (op == acclMax)
      acc = v > acc ? v : acc;
    else
      acc = v < acc ? v : acc;
  }
  if (op == acclAvg) acc = tdIsFloat(t) ? acc / n : (double)((int64_t)acc / n);
  return asType(t, acc);
}

static int close_enough(double got, double want, acclDataType_t t, acclRedOp_t op) {
  if (got == want) return 1;
  if (op != acclAvg || !tdIsFloat(t)) return 0;
  double tol = t == acclFloat16 || t == acclBfloat16 ? 1e-2 : 1e-5;
  double d = got - want;
  if (d < 0) d = -d;
  return d <= tol * (want < 0 ? -want : want) + tol;
}

/* ------------------------------------------------------------ communicators */

/* Rank 0 makes the gen-th unique id and writes it; the others read it. */
static int exchangeId(int gen, acclUniqueId* id) {
  char path[4200];
  faultIdPath(gen, path, sizeof(path));
  if (rank == 0) return acclGetUniqueId(id) == acclSuccess ? faultWriteId(path, id) : -1;
  return faultReadId(path, id);
}

typedef struct {
  acclComm_t comm;
  accStream_t stream;
  int n, me; /* size, this rank's rank in it */
} Comm;

static long wrongTotal, errors, colls, splits, aborts, reinits;
static int badLines;

static void bad(long s, const char* fmt, const char* a, long b, long c) {
  if (badLines++ >= 8) return;
  printf("BAD rank=%d step=%ld what=", rank, s);
  printf(fmt, a, b, c);
  printf("\n");
  fflush(stdout);
}

/* ------------------------------------------------------------ one collective */

#define MAXB (1 << 20) /* bytes per rank and block */
static void *dA, *dB, *hA, *hB, *hostCheck;

static const char* collName[] = {"allreduce",     "broadcast", "reduce",  "allgather",
                                 "reducescatter", "alltoall",  "sendrecv"};

/* Draw and run one collective on c; verify it unless `noverify` (then it is
 * launched only). Returns the launch result. */
static acclResult_t oneColl(Comm* c, long s, int noverify) {
  /* a fixed number of draws, whatever they say, so that ranks that skip a
   * step (outside a split) stay in step: see skipColl */
  uint64_t d[8];
  for (int i = 0; i < 8; i++) d[i] = rnd();
  int kind = (int)(d[0] % 7);
  acclDataType_t t = (acclDataType_t)(d[1] % 10);
  acclRedOp_t op = (acclRedOp_t)(d[2] % 5);
  int root = (int)(d[3] % (uint64_t)c->n);
  int inPlace = d[4] % 3 == 0;
  int host = d[5] % 10 == 0;
  size_t es = tdSize(t);
  /* log-uniform element count, 0 now and then */
  size_t maxCount = MAXB / es / (size_t)c->n;
  size_t count = d[6] % 20 == 0 ? 0 : (size_t)1 << ((d[6] >> 8) % 21);
  count = count > maxCount ? maxCount : count;
  if (count && (d[7] & 1)) count -= (size_t)((d[7] >> 1) % (count < 1000 ? count : 1000));
  int n = c->n, me = c->me;
  size_t inCount = count, outCount = count;
  if (kind == 3) outCount = count * (size_t)n;
  if (kind == 4 || kind == 5) inCount = count * (size_t)n;
  if (kind == 5) outCount = count * (size_t)n;
  if (kind == 6 && n == 1) kind = 0;
  /* buffers: send in A, recv in B (in place: both in B) */
  char* base = host ? hA : dA;
  char* out = host ? hB : dB;
  int prod = op == acclProd && (kind == 0 || kind == 2 || kind == 4);
  char* in = base;
  if (inPlace) {
    if (kind == 3)
      in = out + (size_t)me * count * es; /* AllGather */
    else if (kind == 4) {
      in = out;
      out = in + (size_t)me * count * es;
    } /* ReduceScatter */
    else if (kind == 0 || kind == 1)
      in = out;
  }
  /* fill the input: host buffer, then copy */
  unsigned char* h = hostCheck;
  for (size_t i = 0; i < inCount; i++) tdStore(t, h, i, inputVal(s, me, i, prod));
  if (inCount && accMemcpy(in, h, inCount * es, accMemcpyDefault) != accSuccess) {
    errors++;
    return acclSystemError;
  }
  acclResult_t r;
  switch (kind) {
    case 0: r = acclAllReduce(in, out, count, t, op, c->comm, c->stream); break;
    case 1: r = acclBroadcast(in, out, count, t, root, c->comm, c->stream); break;
    case 2: r = acclReduce(in, out, count, t, op, root, c->comm, c->stream); break;
    case 3: r = acclAllGather(in, out, count, t, c->comm, c->stream); break;
    case 4: r = acclReduceScatter(in, out, count, t, op, c->comm, c->stream); break;
    case 5: r = acclAlltoAll(in, out, count, t, c->comm, c->stream); break;
    default:
      acclGroupStart();
      acclSend(in, count, t, (me + 1) % n, c->comm, c->stream);
      acclRecv(out, count, t, (me + n - 1) % n, c->comm, c->stream);
      r = acclGroupEnd();
  }
  colls++;
  if (noverify) return r;
  if (r == acclSuccess && accStreamSynchronize(c->stream) != accSuccess) r = acclRemoteError;
  if (r != acclSuccess) {
    errors++;
    bad(s, "%s failed: %s (count %ld)", collName[kind], (long)r, (long)count);
    printf("BAD rank=%d step=%ld err=%s\n", rank, s, acclGetLastError(c->comm));
    return r;
  }
  if (kind == 2 && me != root) return acclSuccess;
  if (outCount && accMemcpy(h, out, outCount * es, accMemcpyDefault) != accSuccess) {
    errors++;
    return acclSystemError;
  }
  long wrong = 0;
  size_t firstBad = 0;
  for (size_t i = 0; i < outCount; i++) {
    double want;
    switch (kind) {
      case 0:
      case 2: want = reduceExpect(s, n, i, t, op); break;
      case 1: want = asType(t, inputVal(s, root, i, 0)); break;
      case 3: want = asType(t, inputVal(s, (int)(i / count), i % count, 0)); break;
      case 4: want = reduceExpect(s, n, (size_t)me * count + i, t, op); break; /* block me of every input */
      case 5: want = asType(t, inputVal(s, (int)(i / count), (size_t)me * count + i % count, 0)); break;
      default: want = asType(t, inputVal(s, (me + n - 1) % n, i, 0)); break;
    }
    double got = tdLoad(t, h, i);
    if (!close_enough(got, want, t, kind == 1 || kind == 3 || kind == 5 || kind == 6 ? acclSum : op)) {
      if (!wrong) firstBad = i;
      wrong++;
    }
  }
  if (wrong) {
    wrongTotal += wrong;
    char what[160];
    snprintf(what, sizeof(what), "%s n=%d dtype=%d op=%d root=%d inplace=%d host=%d", collName[kind], n, (int)t,
             (int)op, root, inPlace, host);
    bad(s, "%s: %ld wrong of count %ld", what, wrong, (long)count);
    printf("BAD rank=%d step=%ld first_wrong=%zu\n", rank, s, firstBad);
  }
  return acclSuccess;
}

/* ------------------------------------------------------------ the soak */

static void skipColl(void) {
  for (int i = 0; i < 8; i++) rnd();
}

static void* watchdog(void* arg) {
  (void)arg;
  for (;;) {
    sleep(1);
    long last = atomic_load(&lastMove);
    if ((long)now() - last > 60) {
      printf("HANG rank=%d step=%ld\n", rank, atomic_load(&curStep));
      fflush(stdout);
      _exit(3);
    }
  }
  return NULL;
}

static int newComm(Comm* c, int gen) {
  acclUniqueId id;
  if (exchangeId(gen, &id) != 0) return -1;
  memset(c, 0, sizeof(*c));
  acclResult_t r = acclCommInitRank(&c->comm, nranks, id, rank);
  if (r != acclSuccess) {
    printf("BAD rank=%d init gen %d: %d %s\n", rank, gen, (int)r, acclGetLastError(NULL));
    return -1;
  }
  if (accStreamCreate(&c->stream) != accSuccess) return -1;
  c->n = nranks;
  c->me = rank;
  return 0;
}

int main(int argc, char** argv) {
  int rc = faultProcStart(argc, argv, 5, "RANK NRANKS ID_FILE SECONDS SEED");
  if (rc) return rc;
  double seconds = atof(argv[4]);
  seed = strtoull(argv[5], NULL, 0);
  rngState = seed;
  size_t big = (size_t)MAXB;
  if (accMalloc(&dA, big) != accSuccess || accMalloc(&dB, big) != accSuccess || !(hA = malloc(big)) ||
      !(hB = malloc(big)) || !(hostCheck = malloc(big))) {
    fprintf(stderr, "rank %d: allocation failed\n", rank);
    return 1;
  }
  atomic_store(&lastMove, (long)now());
  pthread_t wd;
  pthread_create(&wd, NULL, watchdog, NULL);
  pthread_detach(wd);

  double t0 = now();
  int gen = 0;
  Comm world, sub;
  int haveSub = 0, subLeft = 0;
  if (newComm(&world, gen++) != 0) return 1;
  long s;
  int stop = 0;
  int* stopFlag = NULL;
  accMalloc((void**)&stopFlag, 64);
  double stepStart = now(), maxStep = 0;
  long maxStepAt = 0;
  for (s = 0; !stop; s++) {
    double t = now();
    if (s > 0 && t - stepStart > maxStep) {
      maxStep = t - stepStart;
      maxStepAt = s - 1;
    }
    stepStart = t;
    atomic_store(&curStep, s);
    atomic_store(&lastMove, (long)t);
    if (s % 16 == 15) {
      /* agree on stopping: max over ranks of "my time is up" */
      int mine = now() - t0 > seconds;
      accMemcpy(stopFlag, &mine, sizeof(mine), accMemcpyHostToDevice);
      acclResult_t r = acclAllReduce(stopFlag, stopFlag, 1, acclInt32, acclMax, world.comm, world.stream);
      if (r != acclSuccess || accStreamSynchronize(world.stream) != accSuccess) {
        errors++;
        printf("BAD rank=%d step=%ld stop vote failed: %s\n", rank, s, acclGetLastError(world.comm));
        break;
      }
      accMemcpy(&stop, stopFlag, sizeof(stop), accMemcpyDeviceToHost);
      continue;
    }
    int action = rndInt(100);
    if (action < 3) {
      /* abort in the middle of launched collectives, then a new communicator */
      int k = 1 + rndInt(3);
      for (int i = 0; i < k; i++) oneColl(&world, s, 1);
      if (haveSub) {
        acclCommAbort(sub.comm);
        accStreamDestroy(sub.stream);
        haveSub = 0;
      }
      subLeft = 0;
      acclResult_t r = acclCommAbort(world.comm);
      if (r != acclSuccess) {
        errors++;
        bad(s, "%s returned %ld%ld", "acclCommAbort", (long)r, 0);
      }
      accStreamDestroy(world.stream); /* it may be in error from the aborted work */
      aborts++;
      if (newComm(&world, gen++) != 0) {
        errors++;
        break;
      }
    } else if (action < 5) {
      /* a clean destroy and a new communicator */
      if (haveSub) {
        acclCommDestroy(sub.comm);
        accStreamDestroy(sub.stream);
        haveSub = 0;
      }
      subLeft = 0;
      if (acclCommDestroy(world.comm) != acclSuccess) errors++;
      accStreamDestroy(world.stream);
      reinits++;
      if (newComm(&world, gen++) != 0) {
        errors++;
        break;
      }
    } else if (action < 9 && subLeft == 0 && nranks > 1) {
      /* a split that lives a few steps: colours and keys from the shared draw */
      int color[64], key[64];
      for (int r = 0; r < nranks && r < 64; r++) {
        int c = rndInt(3);
        color[r] = c == 2 ? ACCL_SPLIT_NOCOLOR : c;
        key[r] = rndInt(4);
      }
      acclComm_t nc = NULL;
      acclResult_t r = acclCommSplit(world.comm, color[rank], key[rank], &nc, NULL);
      splits++;
      if (r != acclSuccess) {
        errors++;
        bad(s, "%s returned %ld%ld", "acclCommSplit", (long)r, 0);
        printf("BAD rank=%d step=%ld err=%s\n", rank, s, acclGetLastError(world.comm));
        continue;
      }
      if (nc) {
        /* my rank in it: members ordered by (key, old rank) */
        int me = 0, n = 0;
        for (int q = 0; q < nranks; q++) {
          if (color[q] != color[rank]) continue;
          n++;
          if (key[q] < key[rank] || (key[q] == key[rank] && q < rank)) me++;
        }
        int cr = -1, cn = -1;
        acclCommUserRank(nc, &cr);
        acclCommCount(nc, &cn);
        if (cr != me || cn != n) {
          errors++;
          bad(s, "%s: rank %ld of %ld", "split", (long)cr, (long)cn);
        }
        sub.comm = nc;
        sub.n = n;
        sub.me = me;
        accStreamCreate(&sub.stream);
        haveSub = 1;
      }
      subLeft = 2 + rndInt(6);
    } else {
      /* a collective on the parent, or on the split (its members only) */
      int onSub = subLeft > 0 && rndInt(2);
      /* every rank draws the same; ranks outside the split skip its steps,
       * drawing the collective's parameters all the same */
      if (onSub && haveSub) {
        oneColl(&sub, s, 0);
      } else if (onSub) {
        skipColl(); /* not a member: stay in step with the shared draw */
      } else {
        oneColl(&world, s, 0);
      }
      if (onSub && --subLeft == 0 && haveSub) {
        acclCommDestroy(sub.comm);
        accStreamDestroy(sub.stream);
        haveSub = 0;
      }
    }
  }
  if (haveSub) {
    acclCommDestroy(sub.comm);
    accStreamDestroy(sub.stream);
  }
  acclResult_t r = acclCommDestroy(world.comm);
  accStreamDestroy(world.stream);
  printf(
      "SOAK rank=%d steps=%ld colls=%ld splits=%ld aborts=%ld reinits=%ld wrong=%ld errors=%ld maxstep=%.2f "
      "maxstep_at=%ld\n",
      rank, s, colls, splits, aborts, reinits, wrongTotal, errors, maxStep, maxStepAt);
  faultResultLine("soak", errors ? acclRemoteError : r, t0, NULL, wrongTotal, 0, errors ? "see BAD lines" : "");
  return 0;
}
