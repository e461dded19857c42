/* plan.c - growing plans: lanes and steps. */
#include "collectives/plan.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collectives/tuning.h"

const char* acclSigText(const acclSig* s, char* buf, size_t len) {
  static const char* const ops[] = {"sum", "prod", "max", "min", "avg"};
  int func = (int)(s->meta & 0xff), dtype = (int)((s->meta >> 8) & 0xff), op = (int)((s->meta >> 16) & 0xff);
  long root = (long)(s->meta >> 32) - 1;
  char opText[24] = "", rootText[24] = "", seqText[24] = "";
  if (op == ACCL_SIG_OP_PREMUL)
    snprintf(opText, sizeof(opText), ", premulsum");
  else if (op >= 1 && op <= 5)
    snprintf(opText, sizeof(opText), ", %s", ops[op - 1]);
  else if (op != ACCL_SIG_OP_NONE)
    snprintf(opText, sizeof(opText), ", op %d", op - 1);
  if (root >= 0) snprintf(rootText, sizeof(rootText), ", root %ld", root);
  if (s->seq) snprintf(seqText, sizeof(seqText), " #%llu", (unsigned long long)s->seq);
  snprintf(buf, len, "%s%s (count %llu, %s%s%s)", func < ACCL_NUM_FUNCS ? acclFuncName((acclFunc)func) : "?", seqText,
           (unsigned long long)s->count, acclTypeName((acclDataType_t)dtype), opText, rootText);
  return buf;
}

acclResult_t acclPlanLane(acclPlan* plan, int64_t key, int connLane, int* lane) {
  for (int i = 0; i < plan->nLanes; i++)
    if (plan->lanes[i].key == key) {
      *lane = i;
      return acclSuccess;
    }
  if (plan->nLanes == plan->capLanes) {
    int cap = plan->capLanes ? plan->capLanes * 2 : 8;
    acclLane* nl = realloc(plan->lanes, sizeof(acclLane) * (size_t)cap);
    if (!nl) return acclSystemError;
    memset(nl + plan->capLanes, 0, sizeof(acclLane) * (size_t)(cap - plan->capLanes));
    plan->lanes = nl;
    plan->capLanes = cap;
  }
  acclLane* l = &plan->lanes[plan->nLanes]; /* may hold a steps buffer from an earlier use */
  l->nSteps = 0;
  l->connLane = connLane;
  l->key = key;
  *lane = plan->nLanes++;
  return acclSuccess;
}

acclResult_t acclPlanAddStep(acclPlan* plan, int lane, const acclStep* step) {
  acclLane* l = &plan->lanes[lane];
  if (l->nSteps == l->capSteps) {
    int cap = l->capSteps ? l->capSteps * 2 : 16;
    acclStep* ns = realloc(l->steps, sizeof(acclStep) * (size_t)cap);
    if (!ns) return acclSystemError;
    l->steps = ns;
    l->capSteps = cap;
  }
  l->steps[l->nSteps++] = *step;
  return acclSuccess;
}

acclResult_t acclPlanReserveTasks(acclPlan* plan, int n) {
  if (n <= plan->capTasks) return acclSuccess;
  acclTask* nt = realloc(plan->tasks, sizeof(acclTask) * (size_t)n);
  if (!nt) return acclSystemError;
  plan->tasks = nt;
  plan->capTasks = n;
  return acclSuccess;
}

void acclPlanReset(acclPlan* plan) {
  plan->nTasks = 0;
  plan->nLanes = 0;
  plan->stageBytes = 0;
  plan->ticket = 0;
}

void acclPlanFree(acclPlan* plan) {
  if (!plan) return;
  if (plan->exec && plan->execFree) plan->execFree(plan->exec);

  for (int i = 0; i < plan->capLanes; i++) free(plan->lanes[i].steps);
  free(plan->lanes);
  free(plan->tasks);
  free(plan);
}
