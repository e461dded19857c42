/* test_reduce.c - the reduction kernels of every ISA path against a scalar
 * reference written independently (fp16 through the compiler's _Float16, bf16
 * by choosing the nearest candidate in double precision, fp8 by decoding its
 * fields and searching all 256 codes for the nearest, ties to the even code,
 * beyond the largest finite value saturating, as acc_ccl.h defines). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "../lib/unit_main.h"
#include "core/core.h"
#include "device/sim/reduce.h"

/* ------------------------------------------------------------ reference */

static float refH2F(uint16_t h) {
  _Float16 x;
  memcpy(&x, &h, 2);
  return (float)x;
}
static uint16_t refF2H(float f) {
  _Float16 x = (_Float16)f;
  uint16_t h;
  memcpy(&h, &x, 2);
  return h;
}
static float refB2F(uint16_t b) {
  uint32_t u = (uint32_t)b << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static uint16_t refF2B(float f) {
  if (isnan(f)) return 0x7fc0;
  uint32_t u;
  memcpy(&u, &f, 4);
  if (isinf(f)) return (uint16_t)(u >> 16);
  uint16_t lo = (uint16_t)(u >> 16), hi = (uint16_t)(lo + 1); /* truncated and next away from zero */
  double dl = fabs((double)f - (double)refB2F(lo)), dh = fabs((double)refB2F(hi) - (double)f);
  if (dl < dh) return lo;
  if (dh < dl) return hi;
  return (lo & 1) ? hi : lo;
}

static int isF8(int dt) { return dt == acclFloat8e4m3 || dt == acclFloat8e5m2; }
static int isFloatType(int dt) {
  return dt == acclFloat16 || dt == acclBfloat16 || dt == acclFloat32 || dt == acclFloat64 || isF8(dt);
}

/* fp8 from its fields: e4m3 bias 7, 3 mantissa bits, S.1111.111 NaN, no inf;
 * e5m2 bias 15, 2 mantissa bits, exponent 31 inf / NaN. */
static double refF8ToD(int dt, uint8_t x) {
  int e4 = dt == acclFloat8e4m3, mb = e4 ? 3 : 2, bias = e4 ? 7 : 15, emax = e4 ? 15 : 31;
  int sign = x >> 7, e = (x & 0x7f) >> mb, m = x & ((1 << mb) - 1);
  double v;
  if (e4 && (x & 0x7f) == 0x7f) return NAN;
  if (!e4 && e == emax)
    v = m ? NAN : INFINITY;
  else if (e == 0)
    v = ldexp(m, 1 - bias - mb);
  else
    v = ldexp((1 << mb) + m, e - bias - mb);
  return sign ? -v : v;
}
/* The nearest finite code, ties to the even code; NaN 0x7f. */
static uint8_t refDToF8(int dt, double v) {
  if (isnan(v)) return 0x7f;
  uint8_t maxCode = dt == acclFloat8e4m3 ? 0x7e : 0x7b, sign = signbit(v) ? 0x80 : 0;
  static double val[2][128];
  static int filled[2];
  int k = dt == acclFloat8e5m2;
  if (!filled[k]) {
    for (unsigned c = 0; c < 128; c++) val[k][c] = refF8ToD(dt, (uint8_t)c);
    filled[k] = 1;
  }
  double a = fabs(v);
  if (a >= val[k][maxCode]) return sign | maxCode;
  uint8_t best = 0;
  for (unsigned c = 1; c <= maxCode; c++) {
    double dc = fabs(val[k][c] - a), db = fabs(val[k][best] - a);
    if (dc < db || (dc == db && !(c & 1))) best = (uint8_t)c;
  }
  return sign | best;
}

/* ldT(p): the T stored at p (any alignment). */
#define DEFINE_LOAD(name, T)     \
  static T name(const char* p) { \
    T v;                         \
    memcpy(&v, p, sizeof(v));    \
    return v;                    \
  }
DEFINE_LOAD(ldU16, uint16_t)
DEFINE_LOAD(ldI32, int32_t)
DEFINE_LOAD(ldU32, uint32_t)
DEFINE_LOAD(ldI64, int64_t)
DEFINE_LOAD(ldF32, float)
DEFINE_LOAD(ldF64, double)

static double fget(int dt, const char* p) {
  switch (dt) {
    case acclFloat8e4m3:
    case acclFloat8e5m2: return refF8ToD(dt, *(const uint8_t*)p);
    case acclFloat16: return refH2F(ldU16(p));
    case acclBfloat16: return refB2F(ldU16(p));
    case acclFloat32: return ldF32(p);
    default: return ldF64(p);
  }
}

static double dop(int op, double a, double b) {
  switch (op) {
    case ACCDEV_OP_SUM: return a + b;
    case ACCDEV_OP_PROD: return a * b;
    case ACCDEV_OP_MAX: return (a != a) ? a : (a > b ? a : b);
    default: return (a != a) ? a : (a < b ? a : b);
  }
}

/* fp32 in fp32 arithmetic: the operation in double, rounded to float, is
 * the float operation's result (double rounding is innocuous for + and *
 * when the wider format has at least 2 * 24 + 2 bits of precision). */
static float fop(int op, float a, float b) { return (float)dop(op, a, b); }

/* Integers: wrap through uint64 arithmetic, compare as the signed/unsigned type. */
static int64_t iget(int dt, const char* p) {
  switch (dt) {
    case acclInt8: return *(const int8_t*)p;
    case acclUint8: return *(const uint8_t*)p;
    case acclInt32: return ldI32(p);
    case acclUint32: return ldU32(p);
    default: return ldI64(p);
  }
}
static int64_t iwrap(int dt, uint64_t v) {
  switch (dt) {
    case acclInt8: return (int8_t)v;
    case acclUint8: return (uint8_t)v;
    case acclInt32: return (int32_t)v;
    case acclUint32: return (uint32_t)v;
    default: return (int64_t)v;
  }
}
static int64_t iop(int dt, int op, int64_t a, int64_t b) {
  int uns = dt == acclUint8 || dt == acclUint32 || dt == acclUint64;
  switch (op) {
    case ACCDEV_OP_SUM: return iwrap(dt, (uint64_t)a + (uint64_t)b);
    case ACCDEV_OP_PROD: return iwrap(dt, (uint64_t)a * (uint64_t)b);
    case ACCDEV_OP_MAX: return (uns ? (uint64_t)a > (uint64_t)b : a > b) ? a : b;
    default: return (uns ? (uint64_t)a < (uint64_t)b : a < b) ? a : b;
  }
}

static void refReduce(const struct accDevReduce* r, char* out) {
  size_t es = acclTypeSize((acclDataType_t)r->dtype);
  int dt = r->dtype;
  for (size_t i = 0; i < r->count; i++) {
    const size_t off = i * es;
    if (dt == acclFloat16 || dt == acclBfloat16 || dt == acclFloat32 || isF8(dt)) {
      float acc = 0, sv = (float)r->scalar.f;
      for (int s = 0; s < r->nsrc; s++) {
        float x = (float)fget(dt, (const char*)r->src[s] + off);
        if (r->premulMask >> s & 1) x = x * sv;
        acc = s ? fop(r->op, acc, x) : x;
      }
      if (r->postDiv > 1) acc = acc / (float)r->postDiv;
      if (dt == acclFloat32)
        memcpy(out + off, &acc, 4);
      else if (isF8(dt))
        out[off] = (char)refDToF8(dt, acc);
      else {
        uint16_t h = dt == acclFloat16 ? refF2H(acc) : refF2B(acc);
        memcpy(out + off, &h, 2);
      }
    } else if (dt == acclFloat64) {
      double acc = 0;
      for (int s = 0; s < r->nsrc; s++) {
        double x = fget(dt, (const char*)r->src[s] + off);
        if (r->premulMask >> s & 1) x = x * r->scalar.f;
        acc = s ? dop(r->op, acc, x) : x;
      }
      if (r->postDiv > 1) acc = acc / (double)r->postDiv;
      memcpy(out + off, &acc, 8);
    } else {
      int64_t acc = 0;
      for (int s = 0; s < r->nsrc; s++) {
        int64_t x = iget(dt, (const char*)r->src[s] + off);
        if (r->premulMask >> s & 1) x = iwrap(dt, (uint64_t)x * r->scalar.u);
        acc = s ? iop(dt, r->op, acc, x) : x;
      }
      if (r->postDiv > 1) {
        int uns = dt == acclUint8 || dt == acclUint32 || dt == acclUint64;
        uint64_t maxv = es == 8 ? (uns ? UINT64_MAX : INT64_MAX) : ((1ull << (8 * es - (uns ? 0 : 1))) - 1);
        if (r->postDiv > maxv)
          acc = 0;
        else
          acc = uns ? (int64_t)((uint64_t)acc / r->postDiv) : acc / (int64_t)r->postDiv;
      }
      memcpy(out + off, &acc, es); /* little endian: the low bytes */
    }
  }
}

/* Equal bit for bit, except that any NaN matches any NaN. */
static size_t firstMismatch(int dt, const char* a, const char* b, size_t count) {
  size_t es = acclTypeSize((acclDataType_t)dt);
  for (size_t i = 0; i < count; i++) {
    if (memcmp(a + i * es, b + i * es, es) == 0) continue;
    if (dt == acclFloat16 || dt == acclBfloat16 || dt == acclFloat32 || dt == acclFloat64) { /* fp8: 0x7f only */
      double x = fget(dt, a + i * es), y = fget(dt, b + i * es);
      if (isnan(x) && isnan(y)) continue;
    }
    return i;
  }
  return SIZE_MAX;
}

/* --------------------------------------------------------------- inputs */

static uint64_t rngState = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  rngState ^= rngState << 13;
  rngState ^= rngState >> 7;
  rngState ^= rngState << 17;
  return rngState;
}

static void fillFloat(int dt, char* p, size_t count, int specials) {
  size_t es = acclTypeSize((acclDataType_t)dt);
  static const double special[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0, 1e-40, -3e-39, 5.96e-8, 6.1e-5, 65504.0};
  for (size_t i = 0; i < count; i++) {
    double v = ((double)(rnd() % 2000001) - 1000000.0) / 250000.0; /* [-4, 4] */
    if (specials && rnd() % 13 == 0) v = special[rnd() % (sizeof(special) / sizeof(special[0]))];
    if (isF8(dt))
      p[i] = (char)(rnd() % 2 ? (uint8_t)rnd() : refDToF8(dt, v)); /* half: any of the 256 codes */
    else if (dt == acclFloat64)
      memcpy(p + i * es, &v, 8);
    else if (dt == acclFloat32) {
      float f = (float)v;
      memcpy(p + i * es, &f, 4);
    } else {
      uint16_t h = dt == acclFloat16 ? refF2H((float)v) : refF2B((float)v);
      memcpy(p + i * es, &h, 2);
    }
  }
}

static void fillInputs(int dt, char* p, size_t count, int specials) {
  if (isFloatType(dt)) {
    fillFloat(dt, p, count, specials);
  } else {
    size_t bytes = count * acclTypeSize((acclDataType_t)dt);
    for (size_t i = 0; i < bytes; i++) p[i] = (char)rnd();
  }
}

/* out = a op b, count elements of dt, on isa. */
static void reduce2(simIsa isa, int dt, int op, const void* a, const void* b, void* out, size_t count) {
  struct accDevReduce r;
  memset(&r, 0, sizeof(r));
  r.src[0] = a;
  r.src[1] = b;
  r.nsrc = 2;
  r.dst[0] = out;
  r.ndst = 1;
  r.count = count;
  r.dtype = dt;
  r.op = (accDevRedOp)op;
  simReduceWithIsa(isa, &r);
}

/* One case: nsrc inputs at byte offset `mis` from 64-byte alignment, on `isa`. */
static void runCase(simIsa isa, int dt, int op, size_t count, int nsrc, int ndst, uint32_t premul, uint64_t postDiv,
                    int mis, int specials) {
  size_t es = acclTypeSize((acclDataType_t)dt), bytes = count * es + 64;
  struct accDevReduce r;
  memset(&r, 0, sizeof(r));
  char* in[ACCDEV_MAX_SRCS];
  for (int s = 0; s < nsrc; s++) {
    in[s] = aligned_alloc(64, ACCL_ALIGN_UP(bytes + 64, 64));
    assert_non_null(in[s]);
    fillInputs(dt, in[s] + mis, count, specials);
    r.src[s] = in[s] + mis;
  }
  char* out[2];
  char* ref = malloc(bytes);
  for (int d = 0; d < 2; d++) {
    out[d] = aligned_alloc(64, ACCL_ALIGN_UP(bytes + 64, 64));
    memset(out[d], 0x5a, bytes + 64);
  }
  r.nsrc = nsrc;
  r.ndst = ndst;
  r.dst[0] = out[0] + mis;
  /* the two outputs need not share alignment (mis 8: they do) */
  r.dst[1] = out[1] + (mis == 8 ? mis : mis ? mis - 1 : 3);
  r.count = count;
  r.dtype = dt;
  r.op = (accDevRedOp)op;
  r.premulMask = premul;
  if (isFloatType(dt))
    r.scalar.f = 0.375;
  else
    r.scalar.i = -3;
  r.postDiv = postDiv;
  simReduceWithIsa(isa, &r);
  refReduce(&r, ref);
  for (int d = 0; d < ndst; d++) {
    size_t bad = firstMismatch(dt, r.dst[d], ref, count);
    if (bad != SIZE_MAX)
      fail_msg("isa %d %s op %d count %zu nsrc %d dst %d premul %x div %llu mis %d: element %zu differs", (int)isa,
               acclTypeName((acclDataType_t)dt), op, count, nsrc, d, premul, (unsigned long long)postDiv, mis, bad);
    /* nothing written past the end */
    const unsigned char* tail = (const unsigned char*)r.dst[d] + count * es;
    for (int k = 0; k < 16; k++) assert_int_equal(tail[k], 0x5a);
  }
  if (ndst == 1) {
    const unsigned char* o1 = (const unsigned char*)out[1];
    for (size_t k = 0; k < 64; k++) assert_int_equal(o1[k], 0x5a);
  }
  for (int s = 0; s < nsrc; s++) free(in[s]);
  free(out[0]);
  free(out[1]);
  free(ref);
}

static void forEachIsa(void (*fn)(simIsa)) {
  for (int isa = 0; isa < SIM_NUM_ISA; isa++)
    if (simReduceIsaSupported((simIsa)isa)) fn((simIsa)isa);
}

static void allCombosIsa(simIsa isa) {
  static const size_t counts[] = {0, 1, 7, 8, 31, 1000};
  for (int dt = 0; dt < acclNumTypes; dt++)
    for (int op = 0; op < ACCDEV_NUM_OPS; op++)
      for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        runCase(isa, dt, op, counts[c], 2, 1, 0, 0, 0, 0);
        runCase(isa, dt, op, counts[c], 3, 2, 0, 0, 1, 1);
      }
}
static void test_all_dtypes_ops(void** state) { forEachIsa(allCombosIsa); }

/* Every dtype x op at a large odd count with ACCL_TEST_FULL; otherwise one op
 * per dtype (rotating), to keep the default run short. */
static void bigIsa(simIsa isa) {
  int full = getenv("ACCL_TEST_FULL") != NULL;
  for (int dt = 0; dt < acclNumTypes; dt++)
    for (int op = 0; op < ACCDEV_NUM_OPS; op++)
      if (full || op == (dt + (int)isa) % ACCDEV_NUM_OPS) runCase(isa, dt, op, 1000003, 2, 1, 0, 0, 0, 1);
}
static void test_large_count(void** state) { forEachIsa(bigIsa); }

/* Large outputs (here: from 4 MiB) are streamed past the caches in blocks
 * after a head that reaches 64-byte alignment: cover head, blocks, remainder,
 * tail. */
static void streamedIsa(simIsa isa) {
  size_t saved = simStreamMinBytes;
  simStreamMinBytes = (size_t)4 << 20;
  for (int dt = 0; dt < acclNumTypes; dt++) {
    size_t count = (4600000 + 8192 * 3) / acclTypeSize((acclDataType_t)dt) + 13;
    runCase(isa, dt, (dt + (int)isa) % ACCDEV_NUM_OPS, count, 2, 2, 0, 0, 8, 1);
    if (dt == acclFloat32 || dt == acclBfloat16) runCase(isa, dt, ACCDEV_OP_SUM, count, 3, 1, 0x2, 0, 4, 1);
  }
  simStreamMinBytes = saved;
}
static void test_streamed_outputs(void** state) { forEachIsa(streamedIsa); }

static void srcCountsIsa(simIsa isa) {
  for (int dt = 0; dt < acclNumTypes; dt++)
    for (int nsrc = 1; nsrc <= ACCDEV_MAX_SRCS; nsrc += (nsrc < 4 ? 1 : 6))
      runCase(isa, dt, ACCDEV_OP_SUM, 77, nsrc, 2, 0, 0, 3, 0);
  for (int dt = 0; dt < acclNumTypes; dt++) runCase(isa, dt, ACCDEV_OP_MAX, 100, ACCDEV_MAX_SRCS, 1, 0, 0, 0, 1);
}
static void test_source_counts(void** state) { forEachIsa(srcCountsIsa); }

static void misalignIsa(simIsa isa) {
  for (int dt = 0; dt < acclNumTypes; dt++)
    for (int mis = 1; mis < 8; mis += 3) runCase(isa, dt, ACCDEV_OP_SUM, 333, 2, 2, 0, 0, mis, 1);
}
static void test_misaligned(void** state) { forEachIsa(misalignIsa); }

static void premulDivIsa(simIsa isa) {
  for (int dt = 0; dt < acclNumTypes; dt++) {
    runCase(isa, dt, ACCDEV_OP_SUM, 129, 4, 1, 0xf, 0, 0, 0); /* PreMulSum / float Avg */
    runCase(isa, dt, ACCDEV_OP_SUM, 129, 3, 2, 0x5, 0, 0, 1); /* scalar on some inputs */
    runCase(isa, dt, ACCDEV_OP_SUM, 129, 3, 1, 0, 3, 0, 0);   /* integer Avg: divide */
    runCase(isa, dt, ACCDEV_OP_SUM, 17, 2, 1, 0, 1000, 0, 0); /* divisor beyond int8 range */
  }
}
static void test_premul_postdiv(void** state) { forEachIsa(premulDivIsa); }

/* Hand-picked rounding cases: ties to even, overflow to inf, subnormals. */
static void roundingIsa(simIsa isa) {
  struct {
    int dt;
    uint16_t a, b, want;
  } cases[] = {
      {acclFloat16, 0x3c00, 0x1000, 0x3c00},  /* 1 + 2^-11: tie -> even (1) */
      {acclFloat16, 0x3c01, 0x1000, 0x3c02},  /* (1+2^-10) + 2^-11: tie -> even (1+2^-9) */
      {acclFloat16, 0x7bff, 0x4c00, 0x7c00},  /* 65504 + 16: tie -> inf */
      {acclFloat16, 0x7bff, 0x4bfe, 0x7bff},  /* 65504 + 15.97: stays finite */
      {acclFloat16, 0x0001, 0x0001, 0x0002},  /* subnormals add exactly */
      {acclFloat16, 0x0400, 0x8001, 0x03ff},  /* smallest normal - smallest subnormal */
      {acclFloat16, 0x7c00, 0xfc00, 0x7e00},  /* inf - inf = NaN */
      {acclBfloat16, 0x3f80, 0x3b80, 0x3f80}, /* 1 + 2^-8: tie -> even (1) */
      {acclBfloat16, 0x3f81, 0x3b80, 0x3f82}, /* (1+2^-7) + 2^-8: tie -> even */
      {acclBfloat16, 0x7f7f, 0x7b80, 0x7f80}, /* max + half ulp: tie -> inf */
      {acclBfloat16, 0x0001, 0x0001, 0x0002}, /* subnormals */
      {acclBfloat16, 0x7f80, 0x3f80, 0x7f80}, /* inf + 1 = inf */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint16_t a[9], b[9], out[9];
    for (int k = 0; k < 9; k++) {
      a[k] = cases[i].a;
      b[k] = cases[i].b;
    } /* 9: vector body and tail */
    reduce2(isa, cases[i].dt, ACCDEV_OP_SUM, a, b, out, 9);
    for (int k = 0; k < 9; k++) {
      int isNan = (out[k] & 0x7fff) > (cases[i].dt == acclFloat16 ? 0x7c00 : 0x7f80);
      int wantNan = (cases[i].want & 0x7fff) > (cases[i].dt == acclFloat16 ? 0x7c00 : 0x7f80);
      if (wantNan ? !isNan : out[k] != cases[i].want)
        fail_msg("isa %d case %zu lane %d: got 0x%04x want 0x%04x", (int)isa, i, k, out[k], cases[i].want);
    }
  }
}
static void test_rounding_cases(void** state) { forEachIsa(roundingIsa); }

/* fp8 by hand: ties to even, saturation (no inf from a finite overflow, inf
 * itself saturates), subnormals, NaN -> 0x7f, for each op. */
static void fp8RoundingIsa(simIsa isa) {
  struct {
    int dt, op;
    uint8_t a, b, want;
  } cases[] = {
      {acclFloat8e4m3, ACCDEV_OP_SUM, 0x38, 0x18, 0x38},  /* 1 + 1/16: tie -> even (1) */
      {acclFloat8e4m3, ACCDEV_OP_SUM, 0x39, 0x18, 0x3a},  /* 1.125 + 1/16: tie -> even (1.25) */
      {acclFloat8e4m3, ACCDEV_OP_SUM, 0x7e, 0x58, 0x7e},  /* 448 + 16: tie, 448 (0x7f is NaN) */
      {acclFloat8e4m3, ACCDEV_OP_SUM, 0x7e, 0x7e, 0x7e},  /* 896 saturates to 448 */
      {acclFloat8e4m3, ACCDEV_OP_SUM, 0xfe, 0xfe, 0xfe},  /* -896 saturates to -448 */
      {acclFloat8e4m3, ACCDEV_OP_PROD, 0x7e, 0x40, 0x7e}, /* 448 * 2 */
      {acclFloat8e4m3, ACCDEV_OP_SUM, 0x01, 0x01, 0x02},  /* subnormals add exactly */
      {acclFloat8e4m3, ACCDEV_OP_SUM, 0x08, 0x81, 0x07},  /* smallest normal - smallest subnormal */
      {acclFloat8e4m3, ACCDEV_OP_PROD, 0x01, 0x30, 0x00}, /* 2^-9 * 0.5: tie -> 0 */
      {acclFloat8e4m3, ACCDEV_OP_PROD, 0x03, 0x30, 0x02}, /* 3*2^-9 * 0.5: tie -> even (2) */
      {acclFloat8e4m3, ACCDEV_OP_SUM, 0x7f, 0x38, 0x7f},  /* NaN */
      {acclFloat8e4m3, ACCDEV_OP_MAX, 0x38, 0xff, 0x7f},  /* max with NaN: NaN */
      {acclFloat8e4m3, ACCDEV_OP_MIN, 0x38, 0xc0, 0xc0},  /* min(1, -2) */
      {acclFloat8e5m2, ACCDEV_OP_SUM, 0x3c, 0x30, 0x3c},  /* 1 + 1/8: tie -> even (1) */
      {acclFloat8e5m2, ACCDEV_OP_SUM, 0x3d, 0x30, 0x3e},  /* 1.25 + 1/8: tie -> even (1.5) */
      {acclFloat8e5m2, ACCDEV_OP_SUM, 0x7b, 0x7b, 0x7b},  /* 114688 saturates to 57344 */
      {acclFloat8e5m2, ACCDEV_OP_SUM, 0x7c, 0x3c, 0x7b},  /* inf + 1 saturates */
      {acclFloat8e5m2, ACCDEV_OP_SUM, 0xfc, 0x3c, 0xfb},  /* -inf + 1 saturates */
      {acclFloat8e5m2, ACCDEV_OP_SUM, 0x7c, 0xfc, 0x7f},  /* inf - inf = NaN */
      {acclFloat8e5m2, ACCDEV_OP_MAX, 0x7c, 0x3c, 0x7b},  /* max(inf, 1) saturates */
      {acclFloat8e5m2, ACCDEV_OP_SUM, 0x01, 0x01, 0x02},  /* subnormals */
      {acclFloat8e5m2, ACCDEV_OP_SUM, 0x7e, 0x3c, 0x7f},  /* NaN */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint8_t a[37], b[37], out[37];
    for (int k = 0; k < 37; k++) {
      a[k] = cases[i].a;
      b[k] = cases[i].b;
    } /* vector body and tail */
    reduce2(isa, cases[i].dt, cases[i].op, a, b, out, 37);
    for (int k = 0; k < 37; k++)
      if (out[k] != cases[i].want)
        fail_msg("isa %d fp8 case %zu lane %d: got 0x%02x want 0x%02x", (int)isa, i, k, out[k], cases[i].want);
  }
}
static void test_fp8_rounding_cases(void** state) { forEachIsa(fp8RoundingIsa); }

/* halfconv.h's fp8 conversions (the engine's and the tests' helpers) against
 * the field-by-field reference: every code exactly, and floats near and across
 * the whole fp8 range. */
static void test_fp8_conversions(void** state) {
  for (int dt = acclFloat8e4m3; dt <= acclFloat8e5m2; dt++) {
    for (unsigned c = 0; c < 256; c++) {
      double want = refF8ToD(dt, (uint8_t)c);
      float got = dt == acclFloat8e4m3 ? acclFp8e4m3ToFloat((uint8_t)c) : acclFp8e5m2ToFloat((uint8_t)c);
      if (isnan(want))
        assert_true(isnan(got));
      else if ((double)got != want || !signbit(got) != !signbit(want))
        fail_msg("%s 0x%02x: got %g want %g", acclTypeName((acclDataType_t)dt), c, got, want);
    }
    for (int i = 0; i < 400000; i++) {
      uint32_t u = (uint32_t)rnd();
      if (i < 300000) u = (u & 0x807fffffu) | ((uint32_t)(100 + (u >> 23) % 50) << 23); /* 2^-27 .. 2^22 */
      float f;
      memcpy(&f, &u, 4);
      uint8_t got = dt == acclFloat8e4m3 ? acclFloatToFp8e4m3(f) : acclFloatToFp8e5m2(f);
      uint8_t want = refDToF8(dt, f);
      if (got != want)
        fail_msg("%s of 0x%08x (%g): got 0x%02x want 0x%02x", acclTypeName((acclDataType_t)dt), u, f, got, want);
    }
  }
}

/* The scalar fp16 conversions of the portable path against the compiler's. */
static void test_half_conversions(void** state) {
  for (uint32_t h = 0; h < 65536; h++) {
    float f = acclHalfToFloat((uint16_t)h), g = refH2F((uint16_t)h);
    if (isnan(g))
      assert_true(isnan(f));
    else
      assert_memory_equal(&f, &g, 4);
  }
  for (int i = 0; i < 2000000; i++) {
    uint32_t u = (uint32_t)rnd();
    if (i < 1000000) u = (u & 0x807fffffu) | ((uint32_t)(100 + (u >> 23) % 50) << 23); /* near the half range */
    float f;
    memcpy(&f, &u, 4);
    uint16_t a = acclFloatToHalf(f), b = refF2H(f);
    if (isnan(f))
      assert_true((a & 0x7fff) > 0x7c00);
    else if (a != b)
      fail_msg("0x%08x: got 0x%04x want 0x%04x", u, a, b);
  }
}

UNIT_TEST_MAIN(cmocka_unit_test(test_half_conversions), cmocka_unit_test(test_rounding_cases),
               cmocka_unit_test(test_fp8_conversions), cmocka_unit_test(test_fp8_rounding_cases),
               cmocka_unit_test(test_all_dtypes_ops), cmocka_unit_test(test_source_counts),
               cmocka_unit_test(test_misaligned), cmocka_unit_test(test_premul_postdiv),
               cmocka_unit_test(test_large_count), cmocka_unit_test(test_streamed_outputs))
