/* report.h - output of the perf tools: the nccl-tests text format (header,
 * one row per size, footer) on stdout and the optional JSON file. Only the
 * first process calls these. */
#ifndef ACCL_PERF_REPORT_H_
#define ACCL_PERF_REPORT_H_

#include <stdio.h>
#include "common.h"

#define PERF_HOST_LEN 64
#define PERF_DEVNAME_LEN 64

/* One rank of the job, as listed under "# Using devices". */
typedef struct {
  int rank, pid, device, busId;
  char host[PERF_HOST_LEN];
  char deviceName[PERF_DEVNAME_LEN];
} perfRankInfo;

/* One measurement: a size in one of the two placements. */
typedef struct {
  size_t bytes, count;
  int dtype, op, root, inPlace;
  double timeUs, algBw, busBw;
  long long wrong; /* -1: not checked */
} perfRow;

typedef struct {
  const char* program;
  const char* backend;
  char version[256];
  const perfArgs* args;
  int nRanks;
  const perfRankInfo* ranks; /* nRanks entries */
  perfRow* rows;
  size_t nRows, capRows;
  int outOfBounds;
  double busBwSum;
} perfReport;

void perfPrintHeader(FILE* f, const perfReport* rep);
/* Prints the row prefix (size count type redop root). */
void perfPrintRowStart(FILE* f, const perfRow* row);
/* Prints one placement's columns and records the row. */
void perfPrintRowResult(FILE* f, perfReport* rep, const perfRow* row);
void perfPrintFooter(FILE* f, const perfReport* rep);
/* Writes the JSON document; returns 0 or -1 (message printed). */
int perfWriteJson(const char* path, const perfReport* rep);
void perfReportFree(perfReport* rep);

#endif
