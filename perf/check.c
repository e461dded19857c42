/* check.c - input data and exact expected values. Inputs are small integers
 * that depend on (seed, rank, index), so a misplaced block or a missed rank
 * changes the result, yet every sum, product, max and min is exact in every
 * datatype (bfloat16 holds integers up to 256 exactly, so sums stay exact up
 * to 85 ranks, PreMulSums, whose scalars are 1 and 2, up to 42 ranks). Only a
 * float Avg over a rank count that is not a power of two is inexact (1/n is
 * not representable); there a relative error of n units in the last place is
 * accepted. */
#include <math.h>
#include "common.h"

static uint32_t mix(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

double perfInput(const perfCheckCtx* ctx, int r, size_t j) {
  uint32_t h = mix((uint32_t)j * 2654435761u ^ mix((uint32_t)r * 40503u + ctx->seed * 977u));
  switch (ctx->op) {
    case acclSum:
    case acclAvg:
    case PERF_OP_MULSUM: return h % 4;
    /* At most one rank per element contributes a factor other than 1. */
    case acclProd: return ((j + (size_t)r) % (size_t)ctx->nRanks == 0) ? 1 + h % 3 : 1;
    default: return h % 64; /* max, min, data movement */
  }
}

static int isPowerOfTwo(int n) { return n > 0 && (n & (n - 1)) == 0; }

double perfReduceInputs(const perfCheckCtx* ctx, size_t j) {
  double acc = perfInput(ctx, 0, j) * (ctx->op == PERF_OP_MULSUM ? perfPremulScalar(0) : 1.0);
  for (int r = 1; r < ctx->nRanks; r++) {
    double v = perfInput(ctx, r, j);
    if (ctx->op == PERF_OP_MULSUM) v *= perfPremulScalar(r);
    switch (ctx->op) {
      case acclProd: acc *= v; break;
      case acclMax: acc = v > acc ? v : acc; break;
      case acclMin: acc = v < acc ? v : acc; break;
      default: acc += v; break; /* sum, avg, mulsum */
    }
  }
  if (ctx->op == acclAvg) {
    if (perfTypeIsFloat(ctx->dtype))
      acc /= ctx->nRanks;
    else
      acc = floor(acc / ctx->nRanks); /* integers: sum, then divide (values are >= 0) */
  }
  /* Round through the datatype so the comparison sees what the type can hold. */
  unsigned char tmp[8];
  perfStore(tmp, 0, ctx->dtype, acc);
  return perfLoad(tmp, 0, ctx->dtype);
}

void perfFillInputs(const perfCheckCtx* ctx, int r, void* buf, size_t n) {
  for (size_t j = 0; j < n; j++) perfStore(buf, j, ctx->dtype, perfInput(ctx, r, j));
}

/* Accepted distance between got and want: 0 except for the float Avg case above. */
static double tolerance(const perfCheckCtx* ctx, double want) {
  if (ctx->op != acclAvg || !perfTypeIsFloat(ctx->dtype) || isPowerOfTwo(ctx->nRanks)) return 0;
  double eps;
  switch (ctx->dtype) {
    case acclFloat16: eps = ldexp(1, -10); break;
    case acclBfloat16: eps = ldexp(1, -7); break;
    case acclFloat32: eps = ldexp(1, -23); break;
    default: eps = ldexp(1, -52); break;
  }
  return ctx->nRanks * eps * fmax(fabs(want), 1.0);
}

size_t perfCountWrong(const perfColl* coll, const perfCheckCtx* ctx, const void* got, size_t n) {
  size_t wrong = 0;
  for (size_t i = 0; i < n; i++) {
    double want = perfCollExpected(coll, ctx, i);
    double have = perfLoad(got, i, ctx->dtype);
    /* NaN (the fill pattern of unwritten output) never compares equal. */
    if (!(fabs(have - want) <= tolerance(ctx, want))) wrong++;
  }
  return wrong;
}
