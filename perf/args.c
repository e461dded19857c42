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
#include <stddef.h>
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

/* Every flag once: its long and short names, how its value is read, the
 * field it sets, its default, and its usage text (after "--name "). */
enum {
  ARG_INT,   /* an int field, strtol(.., 0) */
  ARG_SIZE,  /* a size_t field, parseSize */
  ARG_COUNT, /* a size_t field, strtol(.., 0) */
  ARG_NAMED, /* an int field with a default, read by perfParseArgs' switch */
  ARG_NONE,  /* read by perfParseArgs' switch, no field of its own */
  ARG_FLAG,  /* no value (-h) */
};

typedef struct {
  const char* name;
  char letter;
  int kind;
  size_t field; /* offsetof(perfArgs, ...) for the kinds with a field */
  long long def;
  const char* usage;
} perfFlag;

#define F(member) offsetof(perfArgs, member)
/* clang-format off */
static const perfFlag flags[] = {
    {"nthreads", 't', ARG_INT, F(nThreads), 1, "<threads per process>] (1)"},
    {"ngpus", 'g', ARG_INT, F(nGpus), 1, "<devices per thread>] (1)"},
    {"minbytes", 'b', ARG_SIZE, F(minBytes), 32 << 20, "<smallest size, K/M/G suffixes>] (32M)"},
    {"maxbytes", 'e', ARG_SIZE, F(maxBytes), 32 << 20, "<largest size>] (32M)"},
    {"stepbytes", 'i', ARG_SIZE, F(stepBytes), 1 << 20, "<bytes added between sizes>] (1M)"},
    {"stepfactor", 'f', ARG_COUNT, F(stepFactor), 1, "<factor between sizes; replaces -i when > 1>]"},
    {"iters", 'n', ARG_INT, F(iters), 20, "<timed iterations>] (20)"},
    {"agg_iters", 'm', ARG_INT, F(aggIters), 1, "<operations grouped into each iteration>] (1)"},
    {"warmup_iters", 'w', ARG_INT, F(warmup), 1, "<untimed iterations per size>] (1)"},
    {"run_cycles", 'N', ARG_INT, F(runCycles), 1, "<sweeps, each printed; 0 = until stopped>] (1)"},
    {"parallel_init", 'p', ARG_INT, F(parallelInit), 0, "<0/1> threads create their communicators themselves] (0)"},
    {"check", 'c', ARG_INT, F(check), 1, "<checked iterations; 0 = none, #wrong reads N/A>] (1)"},
    {"op", 'o', ARG_NAMED, F(op), acclSum, "<sum/prod/min/max/avg/mulsum/all>] (sum)"},
    {"datatype", 'd', ARG_NAMED, F(dtype), acclFloat32, "<int8/uint8/int32/uint32/int64/uint64/half/float/double/bfloat16/all>] (float)"},
    {"root", 'r', ARG_NAMED, F(root), 0, "<root rank; -1 or all = every rank in turn>] (0)"},
    {"blocking", 'z', ARG_INT, F(blocking), 0, "<0/1/2/3> 1 = wait and barrier after each operation, 2 = wait only,\n\t    3 = wait and barrier after each iteration, the barrier left out of the time] (0)"},
    {"stream_null", 'y', ARG_INT, F(streamNull), 0, "<0/1> use the devices' default streams] (0)"},
    {"timeout", 'T', ARG_INT, F(timeout), 0, "<seconds a wait may last before the communicators are aborted; 0 = none>] (0)"},
    {"cudagraph", 'G', ARG_NONE, 0, 0, "<graph launches>] (not available: the acc runtime has no graph capture)"},
    {"report_cputime", 'C', ARG_INT, F(reportCputime), 0, "<0/1> print the launch time instead of the completion time] (0)"},
    {"report_timestamps", 'S', ARG_INT, F(reportTimestamps), 0, "<0/1> add the time of day to each row] (0)"},
    {"output_file", 'J', ARG_NONE, 0, 0, "<file.json> also write the run as nccl-tests JSON]"},
    {"average", 'a', ARG_INT, F(average), 1, "<0/1/2/3> time over processes: 0 = rank 0, 1 = mean, 2 = min, 3 = max] (1)"},
    {"local_register", 'R', ARG_NONE, 0, 0, "<0/1/2>] (not available: acc-ccl has no buffer registration)"},
    {"cta_policy", 'x', ARG_NONE, 0, 0, "<0/1/2>] (not available in acc-ccl)"},
    {"device_implementation", 'D', ARG_NONE, 0, 0, "<n>] (not available in acc-ccl)"},
    {"device_cta_count", 'V', ARG_NONE, 0, 0, "<n>] (not available in acc-ccl)"},
    {"memory", 'M', ARG_NONE, 0, 0, "<0/1>] (not available: the acc runtime cannot report free memory)"},
    {"unalign", 'u', ARG_INT, F(unalign), 0, "<elements> start each buffer that many elements in] (0)"},
    {"per_iter_timing", 'I', ARG_INT, F(perIterTiming), 0, "<0/1> time every iteration with events; adds min, max, p99, cv%] (0)"},
    {"per_iter_skip", 'K', ARG_INT, F(perIterSkip), 0, "<n> leave the first n iterations out of the -I summary] (0)"},
    {"host_buffers", 'H', ARG_NAMED, F(hostBuffers), 0, "<0/1> malloc'd host buffers instead of device memory] (0)"},
    {"help", 'h', ARG_FLAG, 0, 0, ""},
};
/* clang-format on */
#undef F
#define NUM_FLAGS (sizeof(flags) / sizeof(flags[0]))

void perfUsage(const char* prog, int allowCollFlag) {
  const char* slash = strrchr(prog, '/');
  printf("USAGE: %s \n", slash ? slash + 1 : prog);
  if (allowCollFlag) printf("\t[--coll <%s>] collective to run through MPI (all_reduce)\n", perfCollNames());
  for (size_t f = 0; f < NUM_FLAGS; f++)
    printf("\t[-%c,--%s%s%s\n", flags[f].letter, flags[f].name, *flags[f].usage ? " " : "]", flags[f].usage);
}

static const perfFlag* flagOf(int letter) {
  for (size_t f = 0; f < NUM_FLAGS; f++)
    if (flags[f].letter == letter) return &flags[f];
  return NULL;
}

int perfParseArgs(int argc, char** argv, perfArgs* a, int allowCollFlag) {
  *a = (perfArgs){.collName = "all_reduce", .argc = argc, .argv = argv};
  struct option longOpts[NUM_FLAGS + 2];
  char optString[3 * NUM_FLAGS + 1], *o = optString;
  for (size_t f = 0; f < NUM_FLAGS; f++) {
    int hasArg = flags[f].kind != ARG_FLAG;
    longOpts[f] = (struct option){flags[f].name, hasArg ? required_argument : no_argument, 0, flags[f].letter};
    *o++ = flags[f].letter;
    if (hasArg) *o++ = ':';
    void* field = (char*)a + flags[f].field;
    if (flags[f].kind == ARG_INT || flags[f].kind == ARG_NAMED) *(int*)field = (int)flags[f].def;
    if (flags[f].kind == ARG_SIZE || flags[f].kind == ARG_COUNT) *(size_t*)field = (size_t)flags[f].def;
  }
  *o = '\0';
  longOpts[NUM_FLAGS] = (struct option){"coll", required_argument, 0, 'X'}; /* mpi_ref only: no short form */
  longOpts[NUM_FLAGS + 1] = (struct option){0, 0, 0, 0};
  double size;
  int c;
  optind = 1;
  opterr = 1;
  while ((c = getopt_long(argc, argv, optString, longOpts, NULL)) != -1) {
    const perfFlag* flag = flagOf(c);
    void* field = flag ? (char*)a + flag->field : NULL;
    if (flag && flag->kind == ARG_INT) {
      *(int*)field = (int)parseLong(optarg);
      continue;
    }
    if (flag && flag->kind == ARG_COUNT) {
      *(size_t*)field = (size_t)parseLong(optarg);
      continue;
    }
    if (flag && flag->kind == ARG_SIZE) {
      if ((size = parseSize(optarg)) < 0) {
        fprintf(stderr, "perf: cannot read '%s' as a size for -%c (bytes, optionally K, M or G)\n", optarg, c);
        return -1;
      }
      *(size_t*)field = (size_t)size;
      continue;
    }
    switch (c) {
      case 'o': a->op = fromName(optarg, "reduction", PERF_NUM_OPS, perfOpName, acclSum); break;
      case 'd': a->dtype = fromName(optarg, "datatype", PERF_NUM_TYPES, perfTypeName, acclFloat32); break;
      case 'r': a->root = strcmp(optarg, "all") == 0 ? -1 : (int)parseLong(optarg); break;
      case 'G':
        printf("Option -G (graph launches) is not supported: the acc runtime has no graph capture. Ignoring\n");
        break;
      case 'J': a->outputFile = optarg; break;
      case 'R':
        printf("Option -R (buffer registration) is not supported: acc-ccl has no acclCommRegister. Ignoring\n");
        break;
      case 'M':
        printf(
            "Option -M (memory report) is not supported: the acc runtime cannot report free device "
            "memory. Ignoring\n");
        break;
      case 'x': printf("Option -x (cta_policy) is not supported: acc-ccl has no CTA policy. Ignoring\n"); break;
      case 'D':
        fprintf(stderr, "Option -D (device implementation) needs a device API, which acc-ccl does not have\n");
        return -1;
      case 'V':
        fprintf(stderr, "Option -V (device CTA count) needs a device API, which acc-ccl does not have\n");
        return -1;
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
