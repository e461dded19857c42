/* report.c - nccl-tests text output, column for column, and the JSON record
 * of a run (every row plus the environment needed to reproduce it). */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

extern char** environ;

void perfPrintHeader(FILE* f, const perfReport* rep) {
  const perfArgs* a = rep->args;
  fprintf(f, "# %s\n", rep->version);
  fprintf(f, "# Collective test starting: %s\n", rep->program);
  fprintf(f, "# nThread 1 nGpus %d minBytes %zu maxBytes %zu step: %zu(%s) warmup iters: %d iters: %d "
             "agg iters: %d validation: %d graph: 0\n",
          a->nLocal, a->minBytes, a->maxBytes, a->stepFactor > 1 ? (size_t)a->stepFactor : a->stepBytes,
          a->stepFactor > 1 ? "factor" : "bytes", a->warmup, a->iters, a->aggIters, a->check ? 1 : 0);
  fprintf(f, "#\n# Using devices\n");
  for (int r = 0; r < rep->nRanks; r++) {
    const perfRankInfo* ri = &rep->ranks[r];
    fprintf(f, "#  Rank %2d Group %2d Pid %6d on %10s device %2d [0x%02x] %s\n", ri->rank, 0, ri->pid,
            ri->host, ri->device, (unsigned)ri->busId & 0xff, ri->deviceName);
  }
  fprintf(f, "#\n");
  fprintf(f, "# %10s  %12s  %8s  %6s  %6s", "", "", "", "", "");
  fprintf(f, "           out-of-place                       in-place          \n");
  fprintf(f, "# %10s  %12s  %8s  %6s  %6s", "size", "count", "type", "redop", "root");
  fprintf(f, "  %7s  %6s  %6s %6s", "time", "algbw", "busbw", "#wrong");
  fprintf(f, "  %7s  %6s  %6s %6s\n", "time", "algbw", "busbw", "#wrong");
  fprintf(f, "# %10s  %12s  %8s  %6s  %6s", "(B)", "(elements)", "", "", "");
  fprintf(f, "  %7s  %6s  %6s %6s", "(us)", "(GB/s)", "(GB/s)", "");
  fprintf(f, "  %7s  %6s  %6s %6s\n", "(us)", "(GB/s)", "(GB/s)", "");
  fflush(f);
}

void perfPrintRowStart(FILE* f, const perfRow* row) {
  fprintf(f, "%12zu  %12zu  %8s  %6s  %6d", row->bytes, row->count, perfTypeName(row->dtype),
          perfOpName(row->op), row->root);
}

void perfPrintRowResult(FILE* f, perfReport* rep, const perfRow* row) {
  char timeStr[32];
  /* Fewer decimals as times grow, so the column stays 7 wide. */
  if (row->timeUs >= 10000.0) snprintf(timeStr, sizeof(timeStr), "%7.0f", row->timeUs);
  else if (row->timeUs >= 100.0) snprintf(timeStr, sizeof(timeStr), "%7.1f", row->timeUs);
  else snprintf(timeStr, sizeof(timeStr), "%7.2f", row->timeUs);
  if (row->wrong >= 0) fprintf(f, "  %7s  %6.2f  %6.2f  %5g", timeStr, row->algBw, row->busBw, (double)row->wrong);
  else fprintf(f, "  %7s  %6.2f  %6.2f  %5s", timeStr, row->algBw, row->busBw, "N/A");
  if (row->inPlace) fprintf(f, "\n");
  fflush(f);

  if (row->wrong > 0) rep->outOfBounds++;
  rep->busBwSum += row->busBw;
  if (rep->nRows == rep->capRows) {
    size_t cap = rep->capRows ? 2 * rep->capRows : 64;
    perfRow* rows = realloc(rep->rows, cap * sizeof(*rows));
    if (rows == NULL) return; /* the text output stays complete; JSON loses rows */
    rep->rows = rows;
    rep->capRows = cap;
  }
  rep->rows[rep->nRows++] = *row;
}

static double avgBusBw(const perfReport* rep) { return rep->nRows ? rep->busBwSum / rep->nRows : 0.0; }

void perfPrintFooter(FILE* f, const perfReport* rep) {
  fprintf(f, "# %-20s : %d %s\n", "Out of bounds values", rep->outOfBounds, rep->outOfBounds ? "FAILED" : "OK");
  fprintf(f, "# %-20s : %g \n", "Avg bus bandwidth", avgBusBw(rep));
  fprintf(f, "#\n# Collective test concluded: %s\n\n", rep->program);
  fflush(f);
}

/* ------------------------------------------------------------------ JSON */

static void jsonString(FILE* f, const char* s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

static void jsonEnvironment(FILE* f) {
  /* Ours, libfabric's, and the MPI component choices (not the launcher's internals). */
  static const char* prefixes[] = {"ACCL_", "FI_", "OMPI_MCA_btl", "OMPI_MCA_pml", "OMPI_MCA_mtl", "OMPI_MCA_coll"};
  int first = 1;
  fprintf(f, "  \"environment\": {");
  for (char** e = environ; *e; e++) {
    int keep = 0;
    for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++)
      if (strncmp(*e, prefixes[p], strlen(prefixes[p])) == 0) keep = 1;
    const char* eq = strchr(*e, '=');
    if (!keep || eq == NULL) continue;
    char name[256];
    size_t n = (size_t)(eq - *e) < sizeof(name) - 1 ? (size_t)(eq - *e) : sizeof(name) - 1;
    memcpy(name, *e, n);
    name[n] = '\0';
    fprintf(f, "%s\n    ", first ? "" : ",");
    jsonString(f, name);
    fprintf(f, ": ");
    jsonString(f, eq + 1);
    first = 0;
  }
  fprintf(f, "\n  },\n");
}

/* The machine as far as it shapes the numbers: CPUs and the devices' placement. */
static void jsonTopology(FILE* f, const perfReport* rep) {
  char model[256] = "unknown", line[512];
  FILE* cpu = fopen("/proc/cpuinfo", "r");
  if (cpu) {
    while (fgets(line, sizeof(line), cpu)) {
      char* colon = strchr(line, ':');
      if (strncmp(line, "model name", 10) == 0 && colon) {
        snprintf(model, sizeof(model), "%s", colon + 2);
        model[strcspn(model, "\n")] = '\0';
        break;
      }
    }
    fclose(cpu);
  }
  const char* simTopo = getenv("ACCL_SIM_TOPO");
  fprintf(f, "  \"topology\": {\"onlineCpus\": %ld, \"cpuModel\": ", sysconf(_SC_NPROCESSORS_ONLN));
  jsonString(f, model);
  fprintf(f, ", \"simTopo\": ");
  jsonString(f, simTopo ? simTopo : "default");
  fprintf(f, ",\n    \"ranks\": [");
  for (int r = 0; r < rep->nRanks; r++) {
    const perfRankInfo* ri = &rep->ranks[r];
    fprintf(f, "%s\n      {\"rank\": %d, \"host\": ", r ? "," : "", ri->rank);
    jsonString(f, ri->host);
    fprintf(f, ", \"pid\": %d, \"device\": %d, \"busId\": %d, \"deviceName\": ", ri->pid, ri->device, ri->busId);
    jsonString(f, ri->deviceName);
    fprintf(f, "}");
  }
  fprintf(f, "\n    ]\n  },\n");
}

int perfWriteJson(const char* path, const perfReport* rep) {
  FILE* f = fopen(path, "w");
  if (f == NULL) {
    perror(path);
    return -1;
  }
  const perfArgs* a = rep->args;
  char date[64];
  time_t now = time(NULL);
  strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S%z", localtime(&now));
  fprintf(f, "{\n  \"program\": ");
  jsonString(f, rep->program);
  fprintf(f, ",\n  \"backend\": ");
  jsonString(f, rep->backend);
  fprintf(f, ",\n  \"library\": ");
  jsonString(f, rep->version);
  fprintf(f, ",\n  \"acclVersion\": \"%d.%d.%d\", \"gitHash\": ", ACCL_MAJOR, ACCL_MINOR, ACCL_PATCH);
  jsonString(f, ACCL_GIT_HASH);
  fprintf(f, ",\n  \"date\": \"%s\",\n", date);
  fprintf(f, "  \"args\": {\"minBytes\": %zu, \"maxBytes\": %zu, \"stepBytes\": %zu, \"stepFactor\": %d, "
             "\"iters\": %d, \"warmupIters\": %d, \"aggIters\": %d, \"check\": %d, \"blocking\": %d, "
             "\"average\": %d, \"ngpus\": %d, \"hostBuffers\": %d, \"root\": %d, \"datatype\": \"%s\", "
             "\"op\": \"%s\"},\n",
          a->minBytes, a->maxBytes, a->stepBytes, a->stepFactor, a->iters, a->warmup, a->aggIters, a->check,
          a->blocking, a->average, a->nLocal, a->hostBuffers, a->root, a->dtype < 0 ? "all" : perfTypeName(a->dtype),
          a->op < 0 ? "all" : perfOpName(a->op));
  fprintf(f, "  \"nranks\": %d,\n", rep->nRanks);
  jsonEnvironment(f);
  jsonTopology(f, rep);
  fprintf(f, "  \"rows\": [");
  for (size_t i = 0; i < rep->nRows; i++) {
    const perfRow* r = &rep->rows[i];
    fprintf(f, "%s\n    {\"size\": %zu, \"count\": %zu, \"type\": \"%s\", \"redop\": \"%s\", \"root\": %d, "
               "\"placement\": \"%s\", \"time_us\": %.3f, \"algbw_GBps\": %.4f, \"busbw_GBps\": %.4f, "
               "\"wrong\": %lld}",
            i ? "," : "", r->bytes, r->count, perfTypeName(r->dtype), perfOpName(r->op), r->root,
            r->inPlace ? "in-place" : "out-of-place", r->timeUs, r->algBw, r->busBw, r->wrong);
  }
  fprintf(f, "\n  ],\n  \"outOfBounds\": %d,\n  \"avgBusBw_GBps\": %.4f\n}\n", rep->outOfBounds, avgBusBw(rep));
  if (fclose(f) != 0) {
    perror(path);
    return -1;
  }
  return 0;
}

void perfReportFree(perfReport* rep) {
  free(rep->rows);
  rep->rows = NULL;
  rep->nRows = rep->capRows = 0;
}
