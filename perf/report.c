/* report.c - nccl-tests 2.19.6's text output, byte for byte apart from the
 * library's and the device's names, and its JSON document (version 3, the
 * same keys and value types) written as the run goes. */
#include "config.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "report.h"

#define PERF_JSON_VERSION 3
#define PERF_TIME_FORMAT "%Y-%m-%d %H:%M:%S"

static void now(char* buf, size_t len) {
  time_t t = time(NULL);
  struct tm tm;
  localtime_r(&t, &tm);
  strftime(buf, len, PERF_TIME_FORMAT, &tm);
}

void perfFormatNumber(double value, int width, char* out) {
  /* out holds width + 1 bytes. */
  static const char* fixed[] = {"%*.2f", "%*.1f", "%*.0f"};
  for (int i = 0; i < 3; i++)
    if (snprintf(out, (size_t)width + 1, fixed[i], width, value) <= width) return;
  snprintf(out, (size_t)width + 1, width >= 7 ? "%*.1e" : "%*.0e", width, value);
}

/* ------------------------------------------------------------------ header */

static int hasJsonSuffix(const char* path) {
  const char* dot = strrchr(path, '.');
  const char* slash = strrchr(path, '/');
  return dot && (!slash || dot > slash) && dot[1] != '\0' && strcasecmp(dot + 1, "json") == 0;
}

void perfReportJsonInit(perfReport* rep, int argc, char** argv, char** envp) {
  const char* path = rep->args->outputFile;
  if (path == NULL || !hasJsonSuffix(path)) return;
  const char* used = perfJsonOpen(&rep->json, path);
  if (used == NULL) {
    printf("# skipping json output; %s not accessible\n", path);
    return;
  }
  printf("# Writing JSON output to %s\n", used);
  rep->writeJson = 1;
  perfJson* j = &rep->json;
  char date[64];
  now(date, sizeof(date));
  perfJsonBeginObject(j);
  perfJsonKeyInt(j, "version", PERF_JSON_VERSION);
  perfJsonKeyString(j, "start_time", date);
  perfJsonKey(j, "args");
  perfJsonBeginList(j);
  for (int i = 0; i < argc; i++) perfJsonString(j, argv[i]);
  perfJsonEndList(j);
  perfJsonKey(j, "env");
  perfJsonBeginList(j);
  for (char** e = envp; e && *e; e++) perfJsonString(j, *e);
  perfJsonEndList(j);
  /* The key is nccl-tests' (readers look it up by name); the value is acc-ccl's version code. */
  perfJsonKeyInt(j, "nccl_version", rep->libVersion);
}

void perfReportHeader(perfReport* rep) {
  const perfArgs* a = rep->args;
  printf("# %s\n", rep->version);
  printf("# Collective test starting: %s\n", rep->program);
  printf(
      "# nThread %d nGpus %d minBytes %zu maxBytes %zu step: %zu(%s) warmup iters: %d iters: %d agg iters: %d "
      "validation: %d graph: %d unalign: %d\n",
      a->nThreads, a->nGpus, a->minBytes, a->maxBytes, a->stepFactor > 1 ? a->stepFactor : a->stepBytes,
      a->stepFactor > 1 ? "factor" : "bytes", a->warmup, a->iters, a->aggIters, a->check, 0, a->unalign);
  if (a->blocking == 1) printf("# Blocking Enabled: wait and barrier after each inner iteration (-m) \n");
  if (a->blocking == 2) printf("# Blocking Enabled: wait after each inner iteration (-m), no barrier \n");
  if (a->blocking == 3)
    printf("# Blocking Enabled: wait and barrier after each outer iteration (-n); time excludes barrier \n");
  if (a->perIterTiming) {
    printf("# Per-Iteration Report: acc event timing; i_* uses max over process rows");
    if (a->perIterSkip) printf("; summary skips first %d iterations", a->perIterSkip);
    printf(" \n");
  }
  if (a->parallelInit) printf("# Parallel Init Enabled: threads call into AcclInitRank concurrently \n");
  printf("#\n");
  if (rep->writeJson) {
    perfJson* j = &rep->json;
    perfJsonKey(j, "config");
    perfJsonBeginObject(j);
    perfJsonKeyInt(j, "nthreads", a->nThreads);
    perfJsonKeyInt(j, "ngpus", a->nGpus);
    perfJsonKeySize(j, "minimum_bytes", a->minBytes);
    perfJsonKeySize(j, "maximum_bytes", a->maxBytes);
    perfJsonKeySize(j, a->stepFactor > 1 ? "step_factor" : "step_bytes",
                    a->stepFactor > 1 ? a->stepFactor : a->stepBytes);
    perfJsonKeyInt(j, "warmup_iters", a->warmup);
    perfJsonKeyInt(j, "iterations", a->iters);
    perfJsonKeyInt(j, "aggregated_iterations", a->aggIters);
    perfJsonKeyInt(j, "validation", a->check);
    perfJsonKeyInt(j, "graph", 0);
    perfJsonKeyBool(j, "blocking_collectives", a->blocking);
    perfJsonKeyBool(j, "per_iter_timing", a->perIterTiming);
    perfJsonKeyInt(j, "per_iter_skip", a->perIterSkip);
    perfJsonKeyBool(j, "parallel_init", a->parallelInit);
  }
  printf("# Using devices\n");
}

void perfReportDevices(perfReport* rep, const perfRankInfo* ranks, int n) {
  for (int r = 0; r < n; r++) {
    const perfRankInfo* ri = &ranks[r];
    printf("#  Rank %2d Group %2d Pid %6d on %10s device %2d [%s] %s\n", ri->rank, ri->group, ri->pid, ri->host,
           ri->device, ri->dev.busId, ri->dev.name);
  }
  if (!rep->writeJson) return;
  perfJson* j = &rep->json;
  perfJsonKey(j, "devices");
  perfJsonBeginList(j);
  for (int r = 0; r < n; r++) {
    const perfRankInfo* ri = &ranks[r];
    perfJsonBeginObject(j);
    perfJsonKeyInt(j, "rank", ri->rank);
    perfJsonKeyInt(j, "group", ri->group);
    perfJsonKeyInt(j, "pid", ri->pid);
    perfJsonKeyString(j, "hostname", ri->host);
    perfJsonKeyInt(j, "device", ri->device);
    perfJsonKeyString(j, "device_hex", ri->dev.busId);
    perfJsonKeyString(j, "device_info", ri->dev.name);
    perfJsonEndObject(j);
  }
  perfJsonEndList(j);
}

void perfReportHeaderDone(perfReport* rep) {
  if (rep->writeJson) perfJsonEndObject(&rep->json); /* config */
}

void perfReportColumns(perfReport* rep) {
  const perfArgs* a = rep->args;
  const char* label = a->reportTimestamps ? "timestamp" : "";
  int pad = a->reportTimestamps ? 19 : 0;
  const char* unit = a->reportTimestamps ? PERF_TIME_FORMAT : "";
  const char* t = a->reportCputime ? "cputime" : "time";
  printf("#\n");
  if (a->perIterTiming) {
    printf(
        "# %10s  %12s  %8s  %6s  %6s              out-of-place (+ per-iteration)                                "
        "in-place (+ per-iteration)\n",
        "", "", "", "", "");
    printf(
        "# %10s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %6s  %7s  %7s  %7s  %7s  %7s  %6s  %6s  %6s  %7s  %7s  %7s  "
        "%7s %*s\n",
        "size", "count", "type", "redop", "root", t, "algbw", "busbw", "#wrong", "i_min", "i_max", "i_p99", "i_cv%", t,
        "algbw", "busbw", "#wrong", "i_min", "i_max", "i_p99", "i_cv%", pad, label);
    printf(
        "# %10s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %6s  %7s  %7s  %7s  %7s  %7s  %6s  %6s  %6s  %7s  %7s  %7s  "
        "%7s %*s\n",
        "(B)", "(elements)", "", "", "", "(us)", "(GB/s)", "(GB/s)", "", "(us)", "(us)", "(us)", "(%)", "(us)",
        "(GB/s)", "(GB/s)", "", "(us)", "(us)", "(us)", "(%)", pad, unit);
  } else {
    printf("# %10s  %12s  %8s  %6s  %6s           out-of-place                       in-place          \n", "", "", "",
           "", "");
    printf("# %10s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %6s  %7s  %6s  %6s  %6s %*s\n", "size", "count", "type",
           "redop", "root", t, "algbw", "busbw", "#wrong", t, "algbw", "busbw", "#wrong", pad, label);
    printf("# %10s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %6s  %7s  %6s  %6s  %6s %*s\n", "(B)", "(elements)", "", "", "",
           "(us)", "(GB/s)", "(GB/s)", "", "(us)", "(GB/s)", "(GB/s)", "", pad, unit);
  }
  if (rep->writeJson) {
    perfJsonKey(&rep->json, "results");
    perfJsonBeginList(&rep->json);
  }
}

/* ------------------------------------------------------------------ rows */

void perfReportRowStart(perfReport* rep, size_t bytes, size_t count, const char* type, const char* op, int root) {
  char rootStr[16];
  snprintf(rootStr, sizeof(rootStr), "%6i", root);
  printf("%12zu  %12zu  %8s  %6s  %6s", bytes, count, type, op, rootStr);
  if (!rep->writeJson) return;
  perfJson* j = &rep->json;
  perfJsonBeginObject(j);
  perfJsonKeySize(j, "size", bytes);
  perfJsonKeySize(j, "count", count);
  perfJsonKeyString(j, "type", type);
  perfJsonKeyString(j, "redop", op);
  perfJsonKey(j, "root"); /* a string, padded as printed: nccl-tests' schema */
  perfJsonString(j, rootStr);
}

void perfReportTimestamp(perfReport* rep) {
  (void)rep;
  char date[64];
  now(date, sizeof(date));
  printf("%21s", date);
}

void perfReportRowBody(perfReport* rep, double timeUs, double algBw, double busBw, int reportErrors, long long wrong,
                       int outOfPlace) {
  const perfArgs* a = rep->args;
  char timeStr[8], algStr[7], busStr[7];
  perfFormatNumber(timeUs, 7, timeStr);
  perfFormatNumber(algBw, 6, algStr);
  perfFormatNumber(busBw, 6, busStr);
  if (reportErrors && wrong >= 0)
    printf("  %7s  %6s  %6s  %6g", timeStr, algStr, busStr, (double)wrong);
  else
    printf("  %7s  %6s  %6s    N/A", timeStr, algStr, busStr);
  if (!outOfPlace && a->reportTimestamps && !a->perIterTiming) perfReportTimestamp(rep);
  if (!rep->writeJson) return;
  perfJson* j = &rep->json;
  perfJsonKey(j, outOfPlace ? "out_of_place" : "in_place");
  perfJsonBeginObject(j);
  perfJsonKeyDouble(j, a->reportCputime ? "cpu_time" : "time", timeUs);
  perfJsonKeyDouble(j, "alg_bw", algBw);
  perfJsonKeyDouble(j, "bus_bw", busBw);
  perfJsonKey(j, "nwrong");
  if (reportErrors && wrong >= 0)
    perfJsonDouble(j, (double)wrong);
  else
    perfJsonNull(j);
  perfJsonEndObject(j);
}

static int cmpDouble(const void* x, const void* y) {
  double a = *(const double*)x, b = *(const double*)y;
  return (a > b) - (a < b);
}

void perfIterStatsCompute(const double* times, int n, perfIterStats* st) {
  memset(st, 0, sizeof(*st));
  if (n <= 0) return;
  double* s = malloc(sizeof(double) * (size_t)n);
  if (s == NULL) return;
  memcpy(s, times, sizeof(double) * (size_t)n);
  qsort(s, (size_t)n, sizeof(double), cmpDouble);
  /* Nearest-rank percentiles: the smallest sample with at least p% at or below it. */
  int i95 = (n * 95 + 99) / 100 - 1, i99 = (n * 99 + 99) / 100 - 1;
  st->min = s[0];
  st->max = s[n - 1];
  st->p50 = s[n / 2];
  st->p95 = s[i95 < n - 1 ? i95 : n - 1];
  st->p99 = s[i99 < n - 1 ? i99 : n - 1];
  double sum = 0, var = 0;
  for (int i = 0; i < n; i++) sum += s[i];
  st->avg = sum / n;
  for (int i = 0; i < n; i++) var += (s[i] - st->avg) * (s[i] - st->avg);
  st->stdev = sqrt(var / n);
  free(s);
}

void perfReportRowIters(perfReport* rep, const perfIterStats* st, const double* times, int nIters, int skipped,
                        int outOfPlace, const double* perProcess, int nProcs) {
  double cv = st->avg > 0 ? st->stdev / st->avg * 100.0 : 0.0;
  char minStr[8], maxStr[8], p99Str[8], cvStr[8];
  perfFormatNumber(st->min * 1e6, 7, minStr);
  perfFormatNumber(st->max * 1e6, 7, maxStr);
  perfFormatNumber(st->p99 * 1e6, 7, p99Str);
  perfFormatNumber(cv, 7, cvStr);
  printf("  %7s  %7s  %7s  %7s", minStr, maxStr, p99Str, cvStr);
  if (!rep->writeJson) return;
  perfJson* j = &rep->json;
  perfJsonKey(j, outOfPlace ? "out_of_place_per_iter" : "in_place_per_iter");
  perfJsonBeginObject(j);
  perfJsonKeyInt(j, "skipped_iterations", skipped);
  static const char* keys[] = {"min_us", "max_us", "avg_us", "p50_us", "p95_us", "p99_us", "stdev_us"};
  double vals[] = {st->min, st->max, st->avg, st->p50, st->p95, st->p99, st->stdev};
  for (int k = 0; k < 7; k++) { perfJsonKeyDouble(j, keys[k], vals[k] * 1e6); }
  perfJsonKeyDouble(j, "cv_pct", cv);
  perfJsonKey(j, "times_us");
  perfJsonBeginList(j);
  for (int i = 0; i < nIters; i++) perfJsonDouble(j, times[i] * 1e6);
  perfJsonEndList(j);
  if (perProcess && nProcs > 1) {
    perfJsonKey(j, "per_process_max_times_us");
    perfJsonBeginList(j);
    for (int p = 0; p < nProcs; p++) {
      perfJsonBeginList(j);
      for (int i = 0; i < nIters; i++) perfJsonDouble(j, perProcess[(size_t)p * (size_t)nIters + (size_t)i] * 1e6);
      perfJsonEndList(j);
    }
    perfJsonEndList(j);
  }
  perfJsonEndObject(j);
}

void perfReportRowEnd(perfReport* rep) {
  printf("\n");
  if (!rep->writeJson) return;
  perfJson* j = &rep->json;
  perfJsonKeyInt(j, "actual_iterations", rep->args->iters);
  perfJsonKeyString(j, "experiment_name", "");
  perfJsonEndObject(j);
}

/* ------------------------------------------------------------------ footer */

void perfReportFooter(perfReport* rep, int errors, double avgBusBw, double minBusBw) {
  if (rep->writeJson) perfJsonEndList(&rep->json); /* results */
  printf("# %-20s : %d %s\n", "Out of bounds values", errors, errors ? "FAILED" : "OK");
  printf("# %-20s : %g %s\n", "Avg bus bandwidth", avgBusBw,
         minBusBw < 0 ? "" : (avgBusBw < minBusBw * 0.9 ? "FAILED" : "OK"));
  printf("#\n");
  printf("# Collective test concluded: %s\n", rep->program);
  if (!rep->writeJson) return;
  perfJson* j = &rep->json;
  perfJsonKey(j, "out_of_bounds");
  perfJsonBeginObject(j);
  perfJsonKeyInt(j, "count", errors);
  perfJsonKeyBool(j, "okay", errors == 0);
  perfJsonEndObject(j);
  perfJsonKey(j, "average_bus_bandwidth");
  perfJsonBeginObject(j);
  perfJsonKeyDouble(j, "bandwidth", avgBusBw);
  perfJsonKey(j, "okay");
  if (minBusBw < 0)
    perfJsonString(j, "unchecked");
  else
    perfJsonBool(j, avgBusBw >= minBusBw * 0.9);
  perfJsonEndObject(j);
}

static void closeJson(perfReport* rep) {
  perfJson* j = &rep->json;
  if (perfJsonDepth(j) == 1) {
    char date[64];
    now(date, sizeof(date));
    perfJsonKeyString(j, "end_time", date);
  }
  perfJsonClose(j);
  rep->writeJson = 0;
}

void perfReportFinish(perfReport* rep, const char* lastError) {
  printf("#\n");
  if (lastError && *lastError)
    printf("# error: %s\n", lastError);
  else
    printf("\n");
  fflush(stdout);
  if (!rep->writeJson) return;
  perfJson* j = &rep->json;
  perfJsonKey(j, "errors");
  perfJsonBeginList(j);
  if (lastError) perfJsonString(j, lastError);
  perfJsonEndList(j);
  closeJson(rep);
}

void perfReportAbandon(perfReport* rep) {
  fflush(stdout);
  if (rep->writeJson) closeJson(rep);
}
