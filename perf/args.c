/* args.c - command line of the perf tools: every nccl-tests 2.19 flag with its
 * defaults and meaning, plus -H (host buffers, acc-ccl tools) and, for
 * mpi_ref, --coll (which collective).
 *
 * Parsed as nccl-tests parses (in every process, before MPI starts):
 * integers as strtol(.., 0) reads them, sizes with an optional K/M/G; -h and
 * an unknown option print the usage and exit 0; a bad size exits 255. Values
 * that would make nccl-tests crash or index out of bounds are refused with
 * exit 255 instead (-t/-g below 1, -u below 0, -a/-z out of range), and a
 * sweep whose next size would not grow (-b 0 -f 2, -i 0) stops instead of
 * repeating forever. Features the acc runtime or acc-ccl lacks are handled the
 * way nccl-tests handles a feature its NCCL/CUDA lacks: -G, -R, -x and -M
 * print a line and are ignored; -D and -V are refused (exit 255). */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"

/* "64M", "8", "1G", "1.5K": powers of 1024. Anything after the unit letter is
 * ignored ("64MB"). Returns -1 when malformed, negative or above 2^50. */
static double parseSize(const char* s) {
  char* end;
  double v = strtod(s, &end);
  if (end == s || !(v >= 0)) return -1;
  while (isspace((unsigned char)*end)) end++;
  switch (*end) {
    case '\0': break;
    case 'K':
    case 'k': v *= 1024.0; break;
    case 'M':
    case 'm': v *= 1024.0 * 1024.0; break;
    case 'G':
    case 'g': v *= 1024.0 * 1024.0 * 1024.0; break;
    default: return -1;
  }
  return v <= 0x1p50 ? v : -1; /* a petabyte: beyond any device, and far from overflow */
}

static long parseLong(const char* s) { return strtol(s, NULL, 0); }

/* A datatype or reduction by name (nameOf over 0..n-1): exact names, as
 * nccl-tests compares them; "all" is -1; an unknown name falls back to the
 * default with a message (nccl-tests' behaviour). */
static int fromName(const char* s, const char* what, int n, const char* (*nameOf)(int), int fallback) {
  for (int i = 0; i < n; i++)
    if (strcmp(s, nameOf(i)) == 0) return i;
  if (strcmp(s, "all") == 0) return -1;
  printf("%s '%s' is not known; using %s\n", what, s, nameOf(fallback));
  return fallback;
}

void perfUsage(const char* prog, int allowCollFlag) {
  const char* slash = strrchr(prog, '/');
  printf("USAGE: %s \n", slash ? slash + 1 : prog);
  if (allowCollFlag) printf("\t[--coll <%s>] collective to run through MPI (all_reduce)\n", perfCollNames());
  printf(
      "\t[-t,--nthreads <threads per process>] (1)\n"
      "\t[-g,--ngpus <devices per thread>] (1)\n"
      "\t[-b,--minbytes <smallest size, K/M/G suffixes>] (32M)\n"
      "\t[-e,--maxbytes <largest size>] (32M)\n"
      "\t[-i,--stepbytes <bytes added between sizes>] (1M)\n"
      "\t[-f,--stepfactor <factor between sizes; replaces -i when > 1>]\n"
      "\t[-n,--iters <timed iterations>] (20)\n"
      "\t[-m,--agg_iters <operations grouped into each iteration>] (1)\n"
      "\t[-w,--warmup_iters <untimed iterations per size>] (1)\n"
      "\t[-N,--run_cycles <sweeps, each printed; 0 = until stopped>] (1)\n"
      "\t[-p,--parallel_init <0/1> threads create their communicators themselves] (0)\n"
      "\t[-c,--check <checked iterations; 0 = none, #wrong reads N/A>] (1)\n"
      "\t[-o,--op <sum/prod/min/max/avg/mulsum/all>] (sum)\n"
      "\t[-d,--datatype <int8/uint8/int32/uint32/int64/uint64/half/float/double/bfloat16/all>] (float)\n"
      "\t[-r,--root <root rank; -1 or all = every rank in turn>] (0)\n"
      "\t[-z,--blocking <0/1/2/3> 1 = wait and barrier after each operation, 2 = wait only,\n"
      "\t    3 = wait and barrier after each iteration, the barrier left out of the time] (0)\n"
      "\t[-y,--stream_null <0/1> use the devices' default streams] (0)\n"
      "\t[-T,--timeout <seconds a wait may last before the communicators are aborted; 0 = none>] (0)\n"
      "\t[-G,--cudagraph <graph launches>] (not available: the acc runtime has no graph capture)\n"
      "\t[-C,--report_cputime <0/1> print the launch time instead of the completion time] (0)\n"
      "\t[-S,--report_timestamps <0/1> add the time of day to each row] (0)\n"
      "\t[-J,--output_file <file.json> also write the run as nccl-tests JSON]\n"
      "\t[-a,--average <0/1/2/3> time over processes: 0 = rank 0, 1 = mean, 2 = min, 3 = max] (1)\n"
      "\t[-R,--local_register <0/1/2>] (not available: acc-ccl has no buffer registration)\n"
      "\t[-x,--cta_policy <0/1/2>] (not available in acc-ccl)\n"
      "\t[-D,--device_implementation <n>] (not available in acc-ccl)\n"
      "\t[-V,--device_cta_count <n>] (not available in acc-ccl)\n"
      "\t[-M,--memory <0/1>] (not available: the acc runtime cannot report free memory)\n"
      "\t[-u,--unalign <elements> start each buffer that many elements in] (0)\n"
      "\t[-I,--per_iter_timing <0/1> time every iteration with events; adds min, max, p99, cv%%] (0)\n"
      "\t[-K,--per_iter_skip <n> leave the first n iterations out of the -I summary] (0)\n"
      "\t[-H,--host_buffers <0/1> malloc'd host buffers instead of device memory] (0)\n"
      "\t[-h,--help]\n");
}

int perfParseArgs(int argc, char** argv, perfArgs* a, int allowCollFlag) {
  *a = (perfArgs){.nThreads = 1,
                  .nGpus = 1,
                  .minBytes = 32 << 20,
                  .maxBytes = 32 << 20,
                  .stepBytes = 1 << 20,
                  .stepFactor = 1,
                  .iters = 20,
                  .warmup = 1,
                  .aggIters = 1,
                  .runCycles = 1,
                  .check = 1,
                  .op = acclSum,
                  .dtype = acclFloat32,
                  .root = 0,
                  .average = 1,
                  .collName = "all_reduce",
                  .argc = argc,
                  .argv = argv};
  static const struct option longOpts[] = {{"nthreads", required_argument, 0, 't'},
                                           {"ngpus", required_argument, 0, 'g'},
                                           {"minbytes", required_argument, 0, 'b'},
                                           {"maxbytes", required_argument, 0, 'e'},
                                           {"stepbytes", required_argument, 0, 'i'},
                                           {"stepfactor", required_argument, 0, 'f'},
                                           {"iters", required_argument, 0, 'n'},
                                           {"agg_iters", required_argument, 0, 'm'},
                                           {"warmup_iters", required_argument, 0, 'w'},
                                           {"run_cycles", required_argument, 0, 'N'},
                                           {"parallel_init", required_argument, 0, 'p'},
                                           {"check", required_argument, 0, 'c'},
                                           {"op", required_argument, 0, 'o'},
                                           {"datatype", required_argument, 0, 'd'},
                                           {"root", required_argument, 0, 'r'},
                                           {"blocking", required_argument, 0, 'z'},
                                           {"stream_null", required_argument, 0, 'y'},
                                           {"timeout", required_argument, 0, 'T'},
                                           {"cudagraph", required_argument, 0, 'G'},
                                           {"report_cputime", required_argument, 0, 'C'},
                                           {"report_timestamps", required_argument, 0, 'S'},
                                           {"output_file", required_argument, 0, 'J'},
                                           {"average", required_argument, 0, 'a'},
                                           {"local_register", required_argument, 0, 'R'},
                                           {"cta_policy", required_argument, 0, 'x'},
                                           {"device_implementation", required_argument, 0, 'D'},
                                           {"device_cta_count", required_argument, 0, 'V'},
                                           {"memory", required_argument, 0, 'M'},
                                           {"unalign", required_argument, 0, 'u'},
                                           {"per_iter_timing", required_argument, 0, 'I'},
                                           {"per_iter_skip", required_argument, 0, 'K'},
                                           {"host_buffers", required_argument, 0, 'H'},
                                           {"help", no_argument, 0, 'h'},
                                           {"coll", required_argument, 0, 'X'}, /* mpi_ref only: no short form */
                                           {0, 0, 0, 0}};
  const char* optString = "t:g:b:e:i:f:n:m:w:N:p:I:K:c:o:d:r:z:y:T:hG:C:a:R:x:D:V:J:S:M:u:H:";
  double size;
  int c;
  optind = 1;
  opterr = 1;
  while ((c = getopt_long(argc, argv, optString, longOpts, NULL)) != -1) {
    switch (c) {
      case 't': a->nThreads = (int)parseLong(optarg); break;
      case 'g': a->nGpus = (int)parseLong(optarg); break;
      case 'b':
      case 'e':
      case 'i':
        if ((size = parseSize(optarg)) < 0) {
          fprintf(stderr, "perf: cannot read '%s' as a size for -%c (bytes, optionally K, M or G)\n", optarg, c);
          return -1;
        }
        if (c == 'b')
          a->minBytes = (size_t)size;
        else if (c == 'e')
          a->maxBytes = (size_t)size;
        else
          a->stepBytes = (size_t)size;
        break;
      case 'f': a->stepFactor = (size_t)parseLong(optarg); break;
      case 'n': a->iters = (int)parseLong(optarg); break;
      case 'm': a->aggIters = (int)parseLong(optarg); break;
      case 'w': a->warmup = (int)parseLong(optarg); break;
      case 'N': a->runCycles = (int)parseLong(optarg); break;
      case 'c': a->check = (int)parseLong(optarg); break;
      case 'p': a->parallelInit = (int)parseLong(optarg); break;
      case 'o': a->op = fromName(optarg, "reduction", PERF_NUM_OPS, perfOpName, acclSum); break;
      case 'd': a->dtype = fromName(optarg, "datatype", PERF_NUM_TYPES, perfTypeName, acclFloat32); break;
      case 'r': a->root = strcmp(optarg, "all") == 0 ? -1 : (int)parseLong(optarg); break;
      case 'z': a->blocking = (int)parseLong(optarg); break;
      case 'y': a->streamNull = (int)parseLong(optarg); break;
      case 'T': a->timeout = (int)parseLong(optarg); break;
      case 'G':
        printf("Option -G (graph launches) is not supported: the acc runtime has no graph capture. Ignoring\n");
        break;
      case 'C': a->reportCputime = (int)parseLong(optarg); break;
      case 'J': a->outputFile = optarg; break;
      case 'S': a->reportTimestamps = (int)parseLong(optarg); break;
      case 'a': a->average = (int)parseLong(optarg); break;
      case 'R':
        printf("Option -R (buffer registration) is not supported: acc-ccl has no acclCommRegister. Ignoring\n");
        break;
      case 'M':
        printf(
            "Option -M (memory report) is not supported: the acc runtime cannot report free device "
            "memory. Ignoring\n");
        break;
      case 'I': a->perIterTiming = (int)parseLong(optarg); break;
      case 'K': a->perIterSkip = (int)parseLong(optarg); break;
      case 'x': printf("Option -x (cta_policy) is not supported: acc-ccl has no CTA policy. Ignoring\n"); break;
      case 'D':
        fprintf(stderr, "Option -D (device implementation) needs a device API, which acc-ccl does not have\n");
        return -1;
      case 'V':
        fprintf(stderr, "Option -V (device CTA count) needs a device API, which acc-ccl does not have\n");
        return -1;
      case 'u': a->unalign = (int)parseLong(optarg); break;
      case 'H': a->hostBuffers = (int)parseLong(optarg) != 0; break;
      case 'X':
        if (!allowCollFlag) {
          printf("perf: --coll is an option of mpi_ref only\n");
          perfUsage(argv[0], allowCollFlag);
          return 1;
        }
        if (perfCollByName(optarg) == NULL) {
          fprintf(stderr, "perf: unknown collective '%s' for --coll (%s)\n", optarg, perfCollNames());
          return -1;
        }
        a->collName = optarg;
        break;
      case 'h':
      default:
        if (c != 'h') printf("perf: bad option (see above)\n");
        perfUsage(argv[0], allowCollFlag);
        return 1;
    }
  }
  if (a->minBytes > a->maxBytes) {
    fprintf(stderr, "perf: -b (%zu bytes) is larger than -e (%zu bytes)\n", a->minBytes, a->maxBytes);
    return -1;
  }
  /* What nccl-tests would turn into a hang or a crash. */
  if (a->nThreads < 1 || a->nGpus < 1 || a->nThreads * a->nGpus > PERF_MAX_LOCAL) {
    fprintf(stderr, "perf: -t %d -g %d: each must be at least 1, and at most %d devices per process\n", a->nThreads,
            a->nGpus, PERF_MAX_LOCAL);
    return -1;
  }
  if (a->unalign < 0) {
    fprintf(stderr, "perf: -u must not be negative\n");
    return -1;
  }
  if (a->average < 0 || a->average > 3) {
    fprintf(stderr, "perf: -a must be 0, 1, 2 or 3\n");
    return -1;
  }
  if (a->blocking < 0 || a->blocking > 3) {
    fprintf(stderr, "perf: -z must be 0, 1, 2 or 3\n");
    return -1;
  }
  /* nccl-tests' own corrections (message, then the option is dropped). */
  if (a->perIterTiming != 0 && a->perIterTiming != 1) {
    fprintf(stderr, "perf: -I takes 0 or 1; per-iteration timing disabled\n");
    a->perIterTiming = 0;
  }
  if (a->perIterSkip < 0 || a->perIterSkip >= a->iters) {
    fprintf(stderr, "perf: -K must be in [0, %d]; no iterations skipped\n", a->iters - 1);
    a->perIterSkip = 0;
  }
  if (a->perIterSkip && !a->perIterTiming) {
    fprintf(stderr, "perf: -K needs -I 1; no iterations skipped\n");
    a->perIterSkip = 0;
  }
  if (a->perIterTiming && a->iters < 1) {
    fprintf(stderr, "perf: -I needs at least one iteration (-n); per-iteration timing disabled\n");
    a->perIterTiming = 0;
  }
  return 0;
}
