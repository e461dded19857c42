/* args.c - command line of the perf tools: the nccl-tests flags with their
 * defaults and meaning, plus -H (host buffers), -J (JSON) and, for mpi_ref,
 * -C (which collective). Bad values are reported by name, never crash. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"

/* Set for all but the first process so that mistakes are reported once. */
static int quiet;
#define ARGERR(...) (quiet ? 0 : fprintf(stderr, __VA_ARGS__))

/* "64M", "8", "1G": powers of 1024 as nccl-tests. Returns -1 when malformed. */
static long long parseSize(const char* s) {
  char* end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || v < 0) return -1;
  long long mult = 1;
  switch (toupper((unsigned char)*end)) {
    case 'K': mult = 1LL << 10; end++; break;
    case 'M': mult = 1LL << 20; end++; break;
    case 'G': mult = 1LL << 30; end++; break;
    default: break;
  }
  if (*end != '\0' && !((*end == 'B' || *end == 'b') && end[1] == '\0')) return -1;
  if (v > (1LL << 50) / mult) return -1;
  return v * mult;
}

/* An integer in [lo, hi] named `what`, or an error message. */
static int parseInt(const char* s, const char* what, long lo, long hi, int* out) {
  char* end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end != '\0' || v < lo || v > hi) {
    ARGERR("perf: invalid value '%s' for %s (expected an integer in [%ld, %ld])\n", s, what, lo, hi);
    return -1;
  }
  *out = (int)v;
  return 0;
}

void perfUsage(const char* prog, int allowCollFlag) {
  printf("USAGE: %s\n", prog);
  if (allowCollFlag) printf("\t[-C,--coll <%s>] (allreduce)\n", perfCollNames());
  printf("\t[-b,--minbytes <min size in bytes>] (32M)\n"
         "\t[-e,--maxbytes <max size in bytes>] (32M)\n"
         "\t[-i,--stepbytes <increment size>] (1M)\n"
         "\t[-f,--stepfactor <increment factor>] (disabled: -i is used)\n"
         "\t[-n,--iters <iteration count>] (20)\n"
         "\t[-w,--warmup_iters <warmup iteration count>] (1)\n"
         "\t[-m,--agg_iters <operations aggregated in one group>] (1)\n"
         "\t[-c,--check <check iteration count>] (1; 0 disables, #wrong prints N/A)\n"
         "\t[-o,--op <sum|prod|max|min|avg|all>] (sum)\n"
         "\t[-d,--datatype <int8|uint8|int32|uint32|int64|uint64|half|float|double|bfloat16|all>] (float)\n"
         "\t[-r,--root <root rank|all>] (0)\n"
         "\t[-z,--blocking <0 none, 1 wait and barrier after each op, 2 wait only>] (0)\n"
         "\t[-a,--average <0 rank 0, 1 average, 2 min, 3 max>] (1)\n"
         "\t[-g,--ngpus <devices per process>] (1)\n"
         "\t[-H,--host_buffers <0/1: malloc'd host buffers instead of device memory>] (0)\n"
         "\t[-J,--json <file: every row and the run's environment as JSON>]\n"
         "\t[-h,--help]\n");
}

int perfParseArgs(int argc, char** argv, perfArgs* a, int allowCollFlag, int quietErrors) {
  quiet = quietErrors;
  opterr = !quiet;
  *a = (perfArgs){.minBytes = 32 << 20, .maxBytes = 32 << 20, .stepBytes = 1 << 20, .stepFactor = 1,
                  .iters = 20, .warmup = 1, .aggIters = 1, .check = 1, .blocking = 0, .average = 1,
                  .nLocal = 1, .hostBuffers = 0, .root = 0, .dtype = acclFloat32, .op = acclSum,
                  .jsonPath = NULL, .collName = "allreduce"};
  static const struct option longOpts[] = {
      {"coll", required_argument, 0, 'C'},       {"minbytes", required_argument, 0, 'b'},
      {"maxbytes", required_argument, 0, 'e'},   {"stepbytes", required_argument, 0, 'i'},
      {"stepfactor", required_argument, 0, 'f'}, {"iters", required_argument, 0, 'n'},
      {"warmup_iters", required_argument, 0, 'w'}, {"agg_iters", required_argument, 0, 'm'},
      {"check", required_argument, 0, 'c'},      {"op", required_argument, 0, 'o'},
      {"datatype", required_argument, 0, 'd'},   {"root", required_argument, 0, 'r'},
      {"blocking", required_argument, 0, 'z'},   {"average", required_argument, 0, 'a'},
      {"ngpus", required_argument, 0, 'g'},      {"host_buffers", required_argument, 0, 'H'},
      {"json", required_argument, 0, 'J'},       {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  const char* optString = allowCollFlag ? "C:b:e:i:f:n:w:m:c:o:d:r:z:a:g:H:J:h" : "b:e:i:f:n:w:m:c:o:d:r:z:a:g:H:J:h";
  long long v;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, optString, longOpts, NULL)) != -1) {
    switch (c) {
      case 'C':
        if (!allowCollFlag || perfCollByName(optarg) == NULL) {
          ARGERR("perf: invalid value '%s' for -C (expected %s)\n", optarg, perfCollNames());
          return -1;
        }
        a->collName = optarg;
        break;
      case 'b':
      case 'e':
      case 'i':
        if ((v = parseSize(optarg)) < 0) {
          ARGERR("perf: invalid size '%s' for -%c (expected bytes, optional K/M/G suffix)\n", optarg, c);
          return -1;
        }
        if (c == 'b') a->minBytes = (size_t)v;
        else if (c == 'e') a->maxBytes = (size_t)v;
        else a->stepBytes = (size_t)v;
        break;
      case 'f': if (parseInt(optarg, "-f (step factor)", 1, 1 << 20, &a->stepFactor)) return -1; break;
      case 'n': if (parseInt(optarg, "-n (iterations)", 1, 1 << 30, &a->iters)) return -1; break;
      case 'w': if (parseInt(optarg, "-w (warmup iterations)", 0, 1 << 30, &a->warmup)) return -1; break;
      case 'm': if (parseInt(optarg, "-m (aggregated iterations)", 1, 1 << 20, &a->aggIters)) return -1; break;
      case 'c': if (parseInt(optarg, "-c (check iterations)", 0, 1 << 20, &a->check)) return -1; break;
      case 'z': if (parseInt(optarg, "-z (blocking)", 0, 2, &a->blocking)) return -1; break;
      case 'a': if (parseInt(optarg, "-a (average)", 0, 3, &a->average)) return -1; break;
      case 'g': if (parseInt(optarg, "-g (devices per process)", 1, PERF_MAX_LOCAL, &a->nLocal)) return -1; break;
      case 'H': if (parseInt(optarg, "-H (host buffers)", 0, 1, &a->hostBuffers)) return -1; break;
      case 'J': a->jsonPath = optarg; break;
      case 'o':
        if ((a->op = perfOpFromName(optarg)) == -2) {
          ARGERR("perf: invalid value '%s' for -o (expected sum|prod|max|min|avg|all)\n", optarg);
          return -1;
        }
        break;
      case 'd':
        if ((a->dtype = perfTypeFromName(optarg)) == -2) {
          ARGERR("perf: invalid value '%s' for -d (expected a datatype name or all)\n", optarg);
          return -1;
        }
        break;
      case 'r':
        if (strcmp(optarg, "all") == 0) a->root = -1;
        else if (parseInt(optarg, "-r (root)", -1, 1 << 20, &a->root)) return -1;
        break;
      case 'h': if (!quiet) perfUsage(argv[0], allowCollFlag); return 1;
      default: if (!quiet) perfUsage(argv[0], allowCollFlag); return -1;
    }
  }
  if (optind < argc) {
    ARGERR("perf: unexpected argument '%s'\n", argv[optind]);
    return -1;
  }
  if (a->minBytes > a->maxBytes) {
    ARGERR("perf: -b (%zu) is larger than -e (%zu)\n", a->minBytes, a->maxBytes);
    return -1;
  }
  if (a->stepFactor <= 1 && a->stepBytes == 0) {
    ARGERR("perf: -i must be positive when -f is 1\n");
    return -1;
  }
  return 0;
}
