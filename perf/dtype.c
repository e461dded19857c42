/* dtype.c - datatype and reduction-op tables of the perf tools (nccl-tests'
 * names and order), and exact conversions between doubles and every element
 * type (incl. half, bfloat16). The library's own tables are hidden symbols,
 * so the tools keep theirs. */
#include <math.h>
#include "common.h"

static const struct {
  const char* name;
  size_t size;
  int isFloat;
} types[acclNumTypes] = {
    [acclInt8] = {"int8", 1, 0},
    [acclUint8] = {"uint8", 1, 0},
    [acclInt32] = {"int32", 4, 0},
    [acclUint32] = {"uint32", 4, 0},
    [acclInt64] = {"int64", 8, 0},
    [acclUint64] = {"uint64", 8, 0},
    [acclFloat16] = {"half", 2, 1},
    [acclFloat32] = {"float", 4, 1},
    [acclFloat64] = {"double", 8, 1},
    [acclBfloat16] = {"bfloat16", 2, 1},
    /* named, but not run: the tools' inputs and checks assume a type that holds
     * small integers exactly (PERF_NUM_TYPES) */
    [acclFloat8e4m3] = {"f8e4m3", 1, 1},
    [acclFloat8e5m2] = {"f8e5m2", 1, 1},
};

static const char* opNames[PERF_NUM_OPS] = {"sum", "prod", "max", "min", "avg", "mulsum"};

size_t perfTypeSize(int t) { return (t >= 0 && t < acclNumTypes) ? types[t].size : 0; }
const char* perfTypeName(int t) { return (t >= 0 && t < acclNumTypes) ? types[t].name : "unknown"; }
int perfTypeIsFloat(int t) { return t >= 0 && t < acclNumTypes && types[t].isFloat; }

const char* perfOpName(int op) {
  if (op == PERF_OP_NONE) return "none";
  return (op >= 0 && op < PERF_NUM_OPS) ? opNames[op] : "unknown";
}

double perfLoad(const void* buf, size_t i, int t) {
  return (unsigned)t < acclNumTypes ? acclValueLoad(t, buf, i) : NAN;
}

void perfStore(void* buf, size_t i, int t, double v) {
  if ((unsigned)t < acclNumTypes) acclValueStore(t, buf, i, v);
}
