/* group.c - acclGroupStart / acclGroupEnd: calls between them are collected
 * per thread and launched together, one plan per (communicator, stream). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "collectives/coll.h"
#include "collectives/enqueue.h"
#include "collectives/group.h"

typedef struct {
  struct acclComm* comm;
  accStream_t stream;
  acclTask task;
} groupedTask;

static __thread int groupDepth;
static __thread groupedTask* groupTasks;
static __thread int groupCount, groupCap;
static __thread acclResult_t groupError;
static __thread acclGroupJob* groupJobs;
static __thread int groupJobCount, groupJobCap;

/* Inside acclGroupStart/End on this thread: creation calls are deferred (init.c). */
int acclGroupActive(void) { return groupDepth > 0; }

int acclGroupHolds(const struct acclComm* comm) {
  for (int i = 0; i < groupCount; i++)
    if (groupTasks[i].comm == comm) return 1;
  for (int i = 0; i < groupJobCount; i++)
    if (groupJobs[i].holds == comm) return 1;
  return 0;
}

static void groupReset(void) {
  /* each collected call kept its communicator entered until now */
  for (int i = 0; i < groupCount; i++) acclCommLeave(groupTasks[i].comm);
  free(groupTasks);
  groupTasks = NULL;
  groupCount = groupCap = 0;
  groupError = acclSuccess;
  free(groupJobs);
  groupJobs = NULL;
  groupJobCount = groupJobCap = 0;
}

acclResult_t acclGroupDefer(const acclGroupJob* job) {
  if (groupJobCount == groupJobCap) {
    int cap = groupJobCap ? groupJobCap * 2 : 8;
    acclGroupJob* nj = realloc(groupJobs, sizeof(*nj) * (size_t)cap);
    if (!nj) ACCL_ERROR(acclSystemError, "acclGroupStart/End: out of memory for a deferred call");
    groupJobs = nj;
    groupJobCap = cap;
  }
  groupJobs[groupJobCount++] = *job;
  return acclSuccess;
}

typedef struct {
  acclGroupJob job;
  acclResult_t res;
} jobRun;

static void* jobThread(void* arg) {
  jobRun* r = arg;
  r->res = r->job.run(r->job.arg);
  if (!r->job.blocking) free(r);
  return NULL;
}

/* Every deferred job at once, each on its own thread (they rendezvous with
 * each other); returns the first error of the blocking ones, else
 * acclInProgress if a non-blocking one was started. */
static acclResult_t runJobs(acclResult_t groupRes) {
  acclResult_t res = acclSuccess;
  int n = groupJobCount, inProgress = 0;
  if (n == 0) return acclSuccess;
  jobRun** runs = calloc((size_t)n, sizeof(*runs));
  pthread_t* threads = calloc((size_t)n, sizeof(*threads));
  int* started = calloc((size_t)n, sizeof(*started));
  if (!runs || !threads || !started) {
    WARN("acclGroupEnd: out of memory for %d deferred calls", n);
    if (groupRes == acclSuccess) groupRes = acclSystemError;
  }
  for (int i = 0; i < n && groupRes == acclSuccess; i++) {
    runs[i] = malloc(sizeof(jobRun));
    if (runs[i] == NULL) {
      WARN("acclGroupEnd: out of memory for a deferred call");
      groupRes = acclSystemError;
      break;
    }
    runs[i]->job = groupJobs[i];
    runs[i]->res = acclSuccess;
    int e = pthread_create(&threads[i], NULL, jobThread, runs[i]);
    if (e != 0) {
      WARN("acclGroupEnd: cannot start a thread for a deferred call: %s", strerror(e));
      free(runs[i]);
      runs[i] = NULL;
      groupRes = acclSystemError;
      break;
    }
    started[i] = 1;
    if (!groupJobs[i].blocking) {
      pthread_detach(threads[i]);
      inProgress = 1;
    }
  }
  /* jobs that did not start fail (their peers in this process time out or see the abort) */
  for (int i = 0; i < n; i++) {
    acclResult_t r;
    if (started && started[i]) {
      if (!groupJobs[i].blocking) continue;
      pthread_join(threads[i], NULL);
      r = groupJobs[i].finish(groupJobs[i].arg, runs[i]->res);
      free(runs[i]);
    } else {
      r = groupJobs[i].finish(groupJobs[i].arg, groupRes != acclSuccess ? groupRes : acclSystemError);
    }
    if (r != acclSuccess && res == acclSuccess) res = r;
  }
  free(runs);
  free(threads);
  free(started);
  if (res == acclSuccess && inProgress) res = acclInProgress;
  return res;
}

/* Pair each self receive with a self send of the same group (in order). */
static acclResult_t pairSelf(groupedTask* g, int n) {
  for (int i = 0; i < n; i++) {
    if (g[i].task.func != ACCL_FUNC_RECV || g[i].task.peer != g[i].comm->rank) continue;
    int found = 0;
    for (int j = 0; j < n && !found; j++) {
      acclTask* s = &g[j].task;
      if (g[j].comm != g[i].comm || s->func != ACCL_FUNC_SEND || s->peer != g[i].comm->rank || s->root == -2) continue;
      if (s->count != g[i].task.count || s->dtype != g[i].task.dtype)
        ACCL_ARG_ERROR(acclInvalidUsage, "acclRecv from self: the matching acclSend has a different count or type");
      g[i].task.sendbuff = s->sendbuff;
      s->root = -2; /* consumed */
      found = 1;
    }
    if (!found)
      ACCL_ARG_ERROR(acclInvalidUsage, "acclRecv from self (rank %d) without an acclSend to self in the group",
                     g[i].comm->rank);
  }
  for (int j = 0; j < n; j++)
    if (g[j].task.func == ACCL_FUNC_SEND && g[j].task.peer == g[j].comm->rank && g[j].task.root != -2)
      ACCL_ARG_ERROR(acclInvalidUsage, "acclSend to self (rank %d) without an acclRecv from self in the group",
                     g[j].comm->rank);
  return acclSuccess;
}

acclResult_t acclGroupSubmit(struct acclComm* comm, accStream_t stream, const acclTask* task) {
  if (groupDepth == 0) {
    if (task->func == ACCL_FUNC_SEND || task->func == ACCL_FUNC_RECV) {
      if (task->peer == comm->rank)
        ACCL_ARG_ERROR(acclInvalidUsage, "send/recv to self (rank %d) must be inside acclGroupStart/End", comm->rank);
    }
    return acclEnqueueTasks(comm, stream, task, 1);
  }
  if (groupCount == groupCap) {
    int cap = groupCap ? groupCap * 2 : 16;
    groupedTask* nt = realloc(groupTasks, sizeof(groupedTask) * (size_t)cap);
    if (!nt) {
      groupError = acclSystemError;
      return acclSystemError;
    }
    groupTasks = nt;
    groupCap = cap;
  }
  /* entered until acclGroupEnd: a Destroy or Abort from another thread waits for the group */
  __atomic_add_fetch(&comm->users, 1, __ATOMIC_SEQ_CST);
  groupTasks[groupCount++] = (groupedTask){comm, stream, *task};
  return acclSuccess;
}

void acclGroupFail(acclResult_t err) {
  if (groupDepth > 0 && groupError == acclSuccess) groupError = err;
}

ACCL_EXPORT acclResult_t acclGroupStart(void) {
  groupDepth++;
  return acclSuccess;
}

ACCL_EXPORT acclResult_t acclGroupEnd(void) {
  if (groupDepth == 0) ACCL_ARG_ERROR(acclInvalidUsage, "acclGroupEnd without acclGroupStart");
  if (--groupDepth > 0) return acclSuccess;
  acclResult_t res = groupError;
  /* creations, splits and finalizes first: the group's calls may use their communicators */
  acclResult_t jobsRes = runJobs(res);
  if (res == acclSuccess && jobsRes != acclSuccess && jobsRes != acclInProgress) res = jobsRes;
  if (res == acclSuccess) res = pairSelf(groupTasks, groupCount);
  /* one plan per (comm, stream), in order of first appearance */
  char* done = calloc((size_t)groupCount + 1, 1);
  acclTask* batch = malloc(sizeof(acclTask) * ((size_t)groupCount + 1));
  if (!done || !batch) res = acclSystemError;
  for (int i = 0; i < groupCount && res == acclSuccess; i++) {
    if (done[i]) continue;
    int n = 0;
    for (int j = i; j < groupCount; j++) {
      if (done[j] || groupTasks[j].comm != groupTasks[i].comm || groupTasks[j].stream != groupTasks[i].stream) continue;
      batch[n++] = groupTasks[j].task;
      done[j] = 1;
    }
    acclLogDevice = groupTasks[i].comm->device;
    res = acclEnqueueTasks(groupTasks[i].comm, groupTasks[i].stream, batch, n);
  }
  free(done);
  free(batch);
  groupReset();
  return res == acclSuccess ? jobsRes : res;
}
