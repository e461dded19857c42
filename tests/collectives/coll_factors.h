/* coll_factors.h - the factors of the correctness matrix (mpi_coll) and the
 * rule that says which levels a collective makes meaningless, shared by the
 * matrix and by test_covering, which checks the covering array built from
 * exactly these factors. */
#ifndef ACCL_TEST_COLL_FACTORS_H_
#define ACCL_TEST_COLL_FACTORS_H_

/* The collectives; BCAST is acclBcast (always in place), GATHER / SCATTER
 * acclGather / acclScatter. */
enum { AR, BC, RD, AG, RS, A2A, SR, BCAST, GATHER, SCATTER, NCOLL };

/* The factors, in covering-array order. */
enum { F_COLL, F_DTYPE, F_OP, F_VARIANT, F_INPLACE, F_COUNT, F_ROOT, F_HOST, NFACTORS };

#define COLL_NTYPES 10 /* int8 .. bfloat16 (fp8 is checked by test_reduce) */
#define COLL_NOPS 6    /* sum prod max min avg premulsum */
#define COLL_NVARIANTS 5
#define COLL_NCOUNTS_PAIRWISE 7
#define COLL_NROOTS 3 /* root 0, the middle rank, the last rank */

static inline int collHasOp(int coll) { return coll == AR || coll == RD || coll == RS; }
static inline int collHasRoot(int coll) {
  return coll == BC || coll == RD || coll == BCAST || coll == GATHER || coll == SCATTER;
}
/* no separate output buffer: the in-place level is meaningless */
static inline int collNoInPlace(int coll) { return coll == SR || coll == BCAST; }

/* Levels a row's collective makes meaningless go to 0 (covSpec.normalize). */
static inline void collRule(int* row, const void* ctx) {
  (void)ctx;
  if (!collHasOp(row[F_COLL])) row[F_OP] = 0;
  if (!collHasRoot(row[F_COLL])) row[F_ROOT] = 0;
  if (collNoInPlace(row[F_COLL])) row[F_INPLACE] = 0;
}

#endif
