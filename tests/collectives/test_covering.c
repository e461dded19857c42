/* test_covering.c - the pairwise covering arrays mpi_coll runs: every pair
 * of levels that a valid row can hold is in some row, every row is valid,
 * the same seed gives the same rows, and the checker itself sees a missing
 * pair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include "../lib/unit_main.h"
#include "coll_factors.h"
#include "covering.h"

/* An independent count of the pairs the rows miss: brute force over the
 * whole product for feasibility (no shortcut shared with covering.h). */
static long missingPairs(const covSpec* sp, const int* rows, int nRows, int quiet) {
  long missing = 0;
  int row[COV_MAX_FACTORS];
  for (int i = 0; i < sp->nFactors; i++)
    for (int j = i + 1; j < sp->nFactors; j++)
      for (int a = 0; a < sp->levels[i]; a++)
        for (int b = 0; b < sp->levels[j]; b++) {
          int seen = 0;
          for (int r = 0; r < nRows && !seen; r++)
            seen = rows[(size_t)r * sp->nFactors + i] == a && rows[(size_t)r * sp->nFactors + j] == b;
          if (seen) continue;
          /* required only if some valid row of the whole product holds it */
          long total = 1;
          for (int k = 0; k < sp->nFactors; k++) total *= sp->levels[k];
          int feasible = 0;
          for (long x = 0; x < total && !feasible; x++) {
            long y = x;
            for (int k = 0; k < sp->nFactors; k++) {
              row[k] = (int)(y % sp->levels[k]);
              y /= sp->levels[k];
            }
            feasible = row[i] == a && row[j] == b && covValid(sp, row);
          }
          if (feasible) {
            if (!quiet && missing < 3) print_message("missing pair: factor %d=%d, factor %d=%d\n", i, a, j, b);
            missing++;
          }
        }
  return missing;
}

static void checkSpec(const covSpec* sp, uint64_t seed) {
  covArray a;
  assert_int_equal(covBuild(sp, seed, &a), 0);
  assert_true(a.nRows > 0);
  for (int r = 0; r < a.nRows; r++) {
    const int* row = a.rows + (size_t)r * sp->nFactors;
    for (int k = 0; k < sp->nFactors; k++) assert_true(row[k] >= 0 && row[k] < sp->levels[k]);
    assert_true(covValid(sp, row));
  }
  assert_int_equal(missingPairs(sp, a.rows, a.nRows, 0), 0);
  /* the same seed, the same rows */
  covArray b;
  assert_int_equal(covBuild(sp, seed, &b), 0);
  assert_int_equal(a.nRows, b.nRows);
  assert_memory_equal(a.rows, b.rows, sizeof(int) * (size_t)a.nRows * (size_t)sp->nFactors);
  covFree(&b);
  /* the checker sees a pair go missing: drop rows until one is missing
   * (a row may hold no pair of its own, so try them in turn) */
  int sawMissing = 0;
  for (int r = 0; r < a.nRows && !sawMissing; r++) {
    int* rest = malloc(sizeof(int) * (size_t)a.nRows * (size_t)sp->nFactors);
    assert_non_null(rest);
    size_t rowSize = sizeof(int) * (size_t)sp->nFactors;
    memcpy(rest, a.rows, rowSize * (size_t)r);
    memcpy((char*)rest + rowSize * (size_t)r, a.rows + (size_t)(r + 1) * sp->nFactors,
           rowSize * (size_t)(a.nRows - r - 1));
    sawMissing = missingPairs(sp, rest, a.nRows - 1, 1) > 0;
    free(rest);
  }
  assert_true(sawMissing);
  covFree(&a);
}

static void test_plain_factors(void** state) {
  (void)state;
  covSpec sp = {.nFactors = 4, .levels = {3, 3, 3, 3}};
  checkSpec(&sp, 1);
  /* 3^4: the optimum is 9 rows; greedy stays near it */
  covArray a;
  assert_int_equal(covBuild(&sp, 1, &a), 0);
  assert_true(a.nRows >= 9 && a.nRows <= 15);
  covFree(&a);
  covSpec two = {.nFactors = 2, .levels = {5, 4}};
  assert_int_equal(covBuild(&two, 9, &a), 0);
  assert_int_equal(a.nRows, 20); /* two factors: the whole product, once each */
  assert_int_equal(missingPairs(&two, a.rows, a.nRows, 0), 0);
  covFree(&a);
}

/* The shape of mpi_coll's matrix (collective, dtype, op, variant, in-place,
 * count class, root, host), smaller levels so brute force stays quick. */
static void test_collective_rule(void** state) {
  (void)state;
  covSpec sp = {.nFactors = NFACTORS, .levels = {NCOLL, 4, 6, 3, 2, 4, 3, 2}, .normalize = collRule};
  for (uint64_t seed = 1; seed <= 3; seed++) checkSpec(&sp, seed);
  /* infeasible pairs are not asked for: sendrecv and bcast are never in
   * place, the op of allgather is always level 0, its root too */
  covArray a;
  assert_int_equal(covBuild(&sp, 7, &a), 0);
  for (int r = 0; r < a.nRows; r++) {
    const int* row = a.rows + (size_t)r * sp.nFactors;
    if (row[F_COLL] == SR || row[F_COLL] == BCAST) assert_int_equal(row[F_INPLACE], 0);
    if (row[F_COLL] == AG) assert_int_equal(row[F_OP], 0);
    if (row[F_COLL] == AG) assert_int_equal(row[F_ROOT], 0);
  }
  covFree(&a);
}

/* mpi_coll's real sizes: every pair checked (feasibility through covering.h,
 * whose rule the previous test checked against brute force). */
static void test_mpi_coll_size(void** state) {
  (void)state;
  covSpec sp = {.nFactors = NFACTORS,
                .levels = {NCOLL, COLL_NTYPES, COLL_NOPS, COLL_NVARIANTS, 2, COLL_NCOUNTS_PAIRWISE, COLL_NROOTS, 2},
                .normalize = collRule};
  unsigned char* covered = malloc(COV_PAIR_TABLE);
  assert_non_null(covered);
  for (uint64_t seed = 1; seed <= 8; seed++) {
    covArray a;
    assert_int_equal(covBuild(&sp, seed, &a), 0);
    assert_int_equal(covMark(&sp, a.rows, a.nRows, covered), 0);
    /* at least the biggest product of two factors, and far from the product */
    print_message("seed %llu: %d rows\n", (unsigned long long)seed, a.nRows);
    assert_true(a.nRows >= NCOLL * COLL_NTYPES && a.nRows <= 2 * NCOLL * COLL_NTYPES);
    covFree(&a);
  }
  free(covered);
}

static void test_bad_specs(void** state) {
  (void)state;
  covArray a;
  covSpec one = {.nFactors = 1, .levels = {3}};
  assert_int_equal(covBuild(&one, 1, &a), -1);
  covSpec zero = {.nFactors = 2, .levels = {3, 0}};
  assert_int_equal(covBuild(&zero, 1, &a), -1);
  covSpec big = {.nFactors = 2, .levels = {3, COV_MAX_LEVELS + 1}};
  assert_int_equal(covBuild(&big, 1, &a), -1);
}

UNIT_TEST_MAIN(cmocka_unit_test(test_plain_factors), cmocka_unit_test(test_collective_rule),
               cmocka_unit_test(test_mpi_coll_size), cmocka_unit_test(test_bad_specs))
