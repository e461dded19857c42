/* report.h - output of the perf tools: nccl-tests 2.19.6's text format
 * (header, one row per size, footer) on stdout and, with -J FILE.json,
 * nccl-tests' JSON document (version 3) written alongside. Only the printing
 * thread (thread 0 of process 0) calls these. */
#ifndef ACCL_PERF_REPORT_H_
#define ACCL_PERF_REPORT_H_

#include <stdio.h>
#include "common.h"
#include "json.h"

#define PERF_HOST_LEN 64

/* One rank of the job, as listed under "# Using devices". */
typedef struct {
  int rank, group, pid, device;
  char host[PERF_HOST_LEN];
  perfDeviceInfo dev;
} perfRankInfo;

/* Per-iteration statistics (-I), seconds. */
typedef struct {
  double min, max, avg, p50, p95, p99, stdev;
} perfIterStats;

typedef struct {
  const perfArgs* args;
  const char* program; /* basename of argv[0] */
  char version[256];   /* "acc-ccl-tests version ..." */
  int libVersion;
  perfJson json;
  int writeJson;
} perfReport;

/* -J: opens the file (FILE.json only, as nccl-tests: any other suffix writes
 * nothing) and writes the run's arguments and environment. */
void perfReportJsonInit(perfReport* rep, int argc, char** argv, char** envp);
/* Version, parameters, mode lines, then "# Using devices" (the device lines
 * come from perfReportDevices). */
void perfReportHeader(perfReport* rep);
void perfReportDevices(perfReport* rep, const perfRankInfo* ranks, int n);
/* Ends the JSON "config" object (after the device list). */
void perfReportHeaderDone(perfReport* rep);
void perfReportColumns(perfReport* rep);
void perfReportRowStart(perfReport* rep, size_t bytes, size_t count, const char* type, const char* op, int root);
/* One placement's time, bandwidths and #wrong (wrong < 0 or !reportErrors: N/A). */
void perfReportRowBody(perfReport* rep, double timeUs, double algBw, double busBw, int reportErrors, long long wrong,
                       int outOfPlace);
/* -I: the summary columns and, in JSON, every iteration's time; perProcess
 * (nProcs x nIters, or NULL) the slowest device of each process. */
void perfReportRowIters(perfReport* rep, const perfIterStats* st, const double* times, int nIters, int skipped,
                        int outOfPlace, const double* perProcess, int nProcs);
void perfReportTimestamp(perfReport* rep);
void perfReportRowEnd(perfReport* rep);
void perfReportFooter(perfReport* rep, int errors, double avgBusBw, double minBusBw);
/* The closing "#", the last library error (or an empty line), end of JSON. */
void perfReportFinish(perfReport* rep, const char* lastError);
/* A run that failed: the JSON document is closed where it stands. */
void perfReportAbandon(perfReport* rep);
/* Width-limited number as nccl-tests prints it: 2 decimals, then 1, then
 * none, then exponent notation, whichever fits first. */
void perfFormatNumber(double value, int width, char* out);
void perfIterStatsCompute(const double* times, int n, perfIterStats* st);

#endif
