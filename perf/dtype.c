/* dtype.c - datatype and reduction-op tables of the perf tools (nccl-tests'
 * names and order), and exact conversions between doubles and every element
 * type (incl. half, bfloat16). The library's own tables are hidden symbols,
 * so the tools keep theirs. */
#include <math.h>
#include "common.h"

/* nccl-tests' names and the sizes, by acclDataType_t. f8e4m3 and f8e5m2 are
 * named, but not run: the tools' inputs and checks assume a type that holds
 * small integers exactly (PERF_NUM_TYPES). */
static const char* const typeNames[acclNumTypes] = {
    [acclInt8] = "int8",      [acclUint8] = "uint8",       [acclInt32] = "int32",       [acclUint32] = "uint32",
    [acclInt64] = "int64",    [acclUint64] = "uint64",     [acclFloat16] = "half",      [acclFloat32] = "float",
    [acclFloat64] = "double", [acclBfloat16] = "bfloat16", [acclFloat8e4m3] = "f8e4m3", [acclFloat8e5m2] = "f8e5m2"};
static const unsigned char typeSizes[acclNumTypes] = {
    [acclInt8] = 1,    [acclUint8] = 1,    [acclInt32] = 4,      [acclUint32] = 4,
    [acclInt64] = 8,   [acclUint64] = 8,   [acclFloat16] = 2,    [acclFloat32] = 4,
    [acclFloat64] = 8, [acclBfloat16] = 2, [acclFloat8e4m3] = 1, [acclFloat8e5m2] = 1};
/* acclDataType_t lists the integer types first, then the floating ones. */
_Static_assert(acclUint64 + 1 == acclFloat16, "integer types before floating types");

static const char* opNames[PERF_NUM_OPS] = {"sum", "prod", "max", "min", "avg", "mulsum"};

size_t perfTypeSize(int t) { return (t >= 0 && t < acclNumTypes) ? typeSizes[t] : 0; }
const char* perfTypeName(int t) { return (t >= 0 && t < acclNumTypes) ? typeNames[t] : "unknown"; }
int perfTypeIsFloat(int t) { return t >= acclFloat16 && t < acclNumTypes; }

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
