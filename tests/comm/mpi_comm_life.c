/* mpi_comm_life.c - the life of communicators as NCCL programs drive it:
 *  - one thread, several devices: acclCommInitRank for every device inside
 *    acclGroupStart/End, a grouped AllReduce over them all, a grouped
 *    acclCommSplit of them all, then Destroy of each in turn (no group);
 *  - several threads each driving several devices (the same, per thread);
 *  - acclCommInitAll's communicators destroyed in turn from one thread;
 *  - non-blocking creation (acclCommInitRankConfig, blocking = 0) polled
 *    with acclCommGetAsyncError, a split inheriting it, a non-blocking
 *    acclCommFinalize, then a local Destroy;
 *  - acclCommShrink excluding the last rank, which does not take part.
 * Every Destroy must return within a few seconds. Usage: mpi_comm_life NDEV NTHREADS */
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include "mpi_test.h"

static int rank, size, ndevHw;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Grouped AllReduce of n floats over comms[0..k), checked: sum of (global rank + 1). */
static void groupedAllReduce(acclComm_t* comms, int k, int n) {
  float** buf = calloc((size_t)k, sizeof(*buf));
  accStream_t* st = calloc((size_t)k, sizeof(*st));
  int nr = 0;
  for (int i = 0; i < k; i++) {
    int dev, r;
    MT_ACCL(acclCommDevice(comms[i], &dev));
    MT_ACCL(acclCommUserRank(comms[i], &r));
    MT_ACCL(acclCommCount(comms[i], &nr));
    MT_ACC(accSetDevice(dev));
    MT_ACC(accStreamCreate(&st[i]));
    MT_ACC(accMalloc((void**)&buf[i], sizeof(float) * (size_t)n));
    float* h = malloc(sizeof(float) * (size_t)n);
    for (int e = 0; e < n; e++) h[e] = (float)(r + 1);
    MT_ACC(accMemcpy(buf[i], h, sizeof(float) * (size_t)n, accMemcpyHostToDevice));
    free(h);
  }
  MT_ACCL(acclGroupStart());
  for (int i = 0; i < k; i++) MT_ACCL(acclAllReduce(buf[i], buf[i], (size_t)n, acclFloat, acclSum, comms[i], st[i]));
  MT_ACCL(acclGroupEnd());
  float want = (float)nr * (float)(nr + 1) / 2.0f;
  for (int i = 0; i < k; i++) {
    MT_ACC(accStreamSynchronize(st[i]));
    float* h = malloc(sizeof(float) * (size_t)n);
    MT_ACC(accMemcpy(h, buf[i], sizeof(float) * (size_t)n, accMemcpyDeviceToHost));
    int bad = 0;
    for (int e = 0; e < n; e++) bad += h[e] != want;
    MT_CHECK(bad == 0);
    free(h);
    MT_ACC(accFree(buf[i]));
    MT_ACC(accStreamDestroy(st[i]));
  }
  free(buf);
  free(st);
}

static void destroyAll(acclComm_t* comms, int k, const char* what) {
  double t0 = now();
  for (int i = 0; i < k; i++)
    if (comms[i]) MT_ACCL(acclCommDestroy(comms[i]));
  double dt = now() - t0;
  if (dt > 10) fprintf(stderr, "[rank %d] %s: destroying %d comms took %.1f s\n", rank, what, k, dt);
  MT_CHECK(dt < 10);
}

typedef struct {
  acclUniqueId id;
  int first, k, nranks; /* global ranks first..first+k-1, one per device */
} driver;

/* One thread creates k communicators in one group, reduces, splits, reduces, destroys. */
static void* drive(void* arg) {
  driver* d = arg;
  acclComm_t* comms = calloc((size_t)d->k, sizeof(*comms));
  acclComm_t* halves = calloc((size_t)d->k, sizeof(*halves));
  MT_ACCL(acclGroupStart());
  for (int i = 0; i < d->k; i++) {
    MT_ACC(accSetDevice((d->first + i) % ndevHw));
    MT_ACCL(acclCommInitRank(&comms[i], d->nranks, d->id, d->first + i));
  }
  MT_ACCL(acclGroupEnd());
  for (int i = 0; i < d->k; i++) MT_CHECK(comms[i] != NULL);
  groupedAllReduce(comms, d->k, 1000);
  /* XLA's pattern: splits of several communicators from one thread, in a group */
  MT_ACCL(acclGroupStart());
  for (int i = 0; i < d->k; i++) MT_ACCL(acclCommSplit(comms[i], (d->first + i) % 2, 0, &halves[i], NULL));
  MT_ACCL(acclGroupEnd());
  int nh = 0;
  for (int i = 0; i < d->k; i++)
    if (halves[i]) halves[nh++] = halves[i];
  MT_CHECK(nh == d->k || d->nranks == 1);
  groupedAllReduce(halves, nh, 3000);
  destroyAll(halves, nh, "split comms");
  destroyAll(comms, d->k, "group-created comms");
  free(comms);
  free(halves);
  return NULL;
}

static void groupCreation(int perThread, int nthreads) {
  int k = perThread * nthreads;
  acclUniqueId id;
  if (rank == 0) MT_ACCL(acclGetUniqueId(&id));
  MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD);
  driver* d = calloc((size_t)nthreads, sizeof(*d));
  pthread_t* t = calloc((size_t)nthreads, sizeof(*t));
  for (int i = 0; i < nthreads; i++) {
    d[i] = (driver){id, rank * k + i * perThread, perThread, size * k};
    pthread_create(&t[i], NULL, drive, &d[i]);
  }
  for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
  free(d);
  free(t);
}

static void initAllDestroy(void) {
  acclComm_t comms[2] = {NULL, NULL};
  MT_ACCL(acclCommInitAll(comms, 2, NULL));
  if (!comms[0] || !comms[1]) return;
  groupedAllReduce(comms, 2, 5000);
  destroyAll(comms, 2, "acclCommInitAll comms");
  /* the same with Destroy inside a group, and with Finalize in a group first */
  MT_ACCL(acclCommInitAll(comms, 2, NULL));
  groupedAllReduce(comms, 2, 5000);
  MT_ACCL(acclGroupStart());
  for (int i = 0; i < 2; i++) MT_ACCL(acclCommDestroy(comms[i]));
  MT_ACCL(acclGroupEnd());
  MT_ACCL(acclCommInitAll(comms, 2, NULL));
  groupedAllReduce(comms, 2, 5000);
  MT_ACCL(acclGroupStart());
  for (int i = 0; i < 2; i++) MT_ACCL(acclCommFinalize(comms[i]));
  MT_ACCL(acclGroupEnd());
  int n;
  MT_CHECK(acclCommCount(comms[0], &n) == acclInvalidUsage); /* finalized: only Destroy / Abort */
  destroyAll(comms, 2, "finalized comms");
}

static acclResult_t poll(acclComm_t comm) {
  acclResult_t st = acclInProgress;
  double t0 = now();
  while (st == acclInProgress && now() - t0 < 60) {
    if (acclCommGetAsyncError(comm, &st) != acclSuccess) return acclInternalError;
    if (st == acclInProgress) usleep(1000);
  }
  return st;
}

static void nonBlocking(void) {
  acclUniqueId id;
  if (rank == 0) MT_ACCL(acclGetUniqueId(&id));
  MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD);
  acclConfig_t cfg = ACCL_CONFIG_INITIALIZER;
  cfg.blocking = 0;
  cfg.commName = "nonblocking";
  acclComm_t comm = NULL;
  acclResult_t r = acclCommInitRankConfig(&comm, size, id, rank, &cfg);
  MT_CHECK(r == acclInProgress || r == acclSuccess);
  MT_CHECK(comm != NULL);
  if (r == acclInProgress) {
    int n;
    acclResult_t early = acclCommCount(comm, &n); /* may already be ready */
    MT_CHECK(early == acclSuccess || early == acclInvalidUsage);
  }
  MT_CHECK(poll(comm) == acclSuccess);
  groupedAllReduce(&comm, 1, 100);
  /* config NULL: the split inherits blocking = 0 */
  acclComm_t sub = NULL;
  r = acclCommSplit(comm, 0, size - rank, &sub, NULL);
  MT_CHECK(r == acclInProgress || r == acclSuccess);
  MT_CHECK(poll(comm) == acclSuccess);
  MT_CHECK(poll(sub) == acclSuccess);
  int subRank = -1;
  MT_ACCL(acclCommUserRank(sub, &subRank));
  MT_CHECK(subRank == size - 1 - rank);
  groupedAllReduce(&sub, 1, 100);
  r = acclCommFinalize(sub);
  MT_CHECK(r == acclInProgress || r == acclSuccess);
  MT_CHECK(poll(sub) == acclSuccess);
  destroyAll(&sub, 1, "finalized non-blocking comm");
  /* blocking = 1 overrides the parent's */
  acclConfig_t blk = ACCL_CONFIG_INITIALIZER;
  blk.blocking = 1;
  MT_ACCL(acclCommSplit(comm, 0, 0, &sub, &blk));
  groupedAllReduce(&sub, 1, 100);
  destroyAll(&sub, 1, "blocking split");
  destroyAll(&comm, 1, "non-blocking comm");
}

static void shrink(void) {
  if (size < 2) return;
  acclComm_t comm = NULL;
  MT_ACCL(mtCommInit(&comm, rank, size));
  int excluded = size - 1;
  if (rank != excluded) {
    acclComm_t small = NULL;
    MT_ACCL(acclCommShrink(comm, &excluded, 1, &small, NULL, ACCL_SHRINK_DEFAULT));
    int n = 0, r = -1;
    MT_ACCL(acclCommCount(small, &n));
    MT_ACCL(acclCommUserRank(small, &r));
    MT_CHECK(n == size - 1 && r == rank);
    groupedAllReduce(&small, 1, 1000);
    MT_ACCL(acclCommDestroy(small));
  }
  MPI_Barrier(MPI_COMM_WORLD);
  MT_ACCL(acclCommAbort(comm)); /* the excluded rank took no part: leave without the others */
}

int main(int argc, char** argv) {
  mtInit(&argc, &argv, &rank, &size);
  int perThread = argc > 1 ? atoi(argv[1]) : 2;
  int nthreads = argc > 2 ? atoi(argv[2]) : 1;
  MT_ACC(accGetDeviceCount(&ndevHw));
  if (ndevHw < 1) ndevHw = 1;
  groupCreation(perThread, nthreads);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) initAllDestroy();
  MPI_Barrier(MPI_COMM_WORLD);
  nonBlocking();
  MPI_Barrier(MPI_COMM_WORLD);
  shrink();
  return mtFinish("mpi_comm_life");
}
