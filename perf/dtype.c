/* dtype.c - datatype and reduction-op tables of the perf tools, and exact
 * conversions between doubles and every element type (incl. half, bfloat16).
 * The library's own tables are hidden symbols, so the tools keep theirs. */
#include <math.h>
#include <string.h>
#include <strings.h>
#include "common.h"

static const struct {
  const char* name;
  const char* alias[3];
  size_t size;
  int isFloat;
} types[acclNumTypes] = {
    [acclInt8] = {"int8", {"char", NULL, NULL}, 1, 0},
    [acclUint8] = {"uint8", {NULL, NULL, NULL}, 1, 0},
    [acclInt32] = {"int32", {"int", NULL, NULL}, 4, 0},
    [acclUint32] = {"uint32", {NULL, NULL, NULL}, 4, 0},
    [acclInt64] = {"int64", {NULL, NULL, NULL}, 8, 0},
    [acclUint64] = {"uint64", {NULL, NULL, NULL}, 8, 0},
    [acclFloat16] = {"half", {"float16", "fp16", NULL}, 2, 1},
    [acclFloat32] = {"float", {"float32", "fp32", NULL}, 4, 1},
    [acclFloat64] = {"double", {"float64", "fp64", NULL}, 8, 1},
    [acclBfloat16] = {"bfloat16", {"bf16", NULL, NULL}, 2, 1},
};

static const char* opNames[acclNumOps] = {"sum", "prod", "max", "min", "avg"};

size_t perfTypeSize(int t) { return (t >= 0 && t < acclNumTypes) ? types[t].size : 0; }
const char* perfTypeName(int t) { return (t >= 0 && t < acclNumTypes) ? types[t].name : "unknown"; }
int perfTypeIsFloat(int t) { return t >= 0 && t < acclNumTypes && types[t].isFloat; }

const char* perfOpName(int op) {
  if (op == PERF_OP_NONE) return "none";
  return (op >= 0 && op < acclNumOps) ? opNames[op] : "unknown";
}

int perfTypeFromName(const char* s) {
  if (strcasecmp(s, "all") == 0) return -1;
  for (int t = 0; t < acclNumTypes; t++) {
    if (strcasecmp(s, types[t].name) == 0) return t;
    for (int a = 0; a < 3 && types[t].alias[a]; a++)
      if (strcasecmp(s, types[t].alias[a]) == 0) return t;
  }
  return -2;
}

int perfOpFromName(const char* s) {
  if (strcasecmp(s, "all") == 0) return -1;
  for (int op = 0; op < acclNumOps; op++)
    if (strcasecmp(s, opNames[op]) == 0) return op;
  return -2;
}

double perfLoad(const void* buf, size_t i, int t) {
  return (unsigned)t < acclNumTypes ? acclValueLoad(t, buf, i) : NAN;
}

void perfStore(void* buf, size_t i, int t, double v) {
  if ((unsigned)t < acclNumTypes) acclValueStore(t, buf, i, v);
}
