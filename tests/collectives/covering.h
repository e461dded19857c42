/* covering.h - a deterministic pairwise covering array: rows over a few
 * factors (each with a number of levels) such that every pair of levels of
 * every two factors that some valid row can hold appears in at least one row.
 * Greedy (AETG-style): each new row starts from a pair not yet covered and
 * takes, factor by factor, the level that covers most new pairs; ties are
 * broken by a fixed-seed generator, so a seed always gives the same rows.
 * Validity is the caller's: a row is valid when valid(row, ctx) says so, and
 * normalize(row, ctx) turns any row into a valid one by resetting the levels
 * its other levels make meaningless (e.g. the op of a collective without
 * one) to level 0. Level 0 of every factor must keep any row valid.
 * Header-only; used by mpi_coll and unit-tested by test_covering. */
#ifndef ACCL_TEST_COVERING_H_
#define ACCL_TEST_COVERING_H_

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define COV_MAX_FACTORS 12
#define COV_MAX_LEVELS 16

typedef struct {
  int nFactors;
  int levels[COV_MAX_FACTORS];
  /* resets meaningless levels to 0 in place; NULL: every row is valid */
  void (*normalize)(int* row, const void* ctx);
  const void* ctx;
} covSpec;

typedef struct {
  int nRows, cap;
  int* rows; /* nRows x nFactors */
} covArray;

static inline uint64_t covRand(uint64_t* s) { /* splitmix64 */
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static inline int covValid(const covSpec* sp, const int* row) {
  if (!sp->normalize) return 1;
  int tmp[COV_MAX_FACTORS];
  memcpy(tmp, row, sizeof(int) * (size_t)sp->nFactors);
  sp->normalize(tmp, sp->ctx);
  return memcmp(tmp, row, sizeof(int) * (size_t)sp->nFactors) == 0;
}

/* Whether some valid row holds level a of factor i and level b of factor j:
 * the other factors are tried at level 0 and then, one factor at a time, at
 * every level (enough for rules where one factor makes others meaningless). */
static inline int covPairFeasible(const covSpec* sp, int i, int a, int j, int b) {
  int row[COV_MAX_FACTORS] = {0};
  row[i] = a;
  row[j] = b;
  if (covValid(sp, row)) return 1;
  for (int k = 0; k < sp->nFactors; k++) {
    if (k == i || k == j) continue;
    for (int l = 1; l < sp->levels[k]; l++) {
      row[k] = l;
      if (covValid(sp, row)) return 1;
    }
    row[k] = 0;
  }
  return 0;
}

/* Index of the pair (i=a, j=b), i < j, in a flat table. */
static inline size_t covPairIndex(int i, int a, int j, int b) {
  return (((size_t)i * COV_MAX_FACTORS + (size_t)j) * COV_MAX_LEVELS + (size_t)a) * COV_MAX_LEVELS + (size_t)b;
}
#define COV_PAIR_TABLE ((size_t)COV_MAX_FACTORS * COV_MAX_FACTORS * COV_MAX_LEVELS * COV_MAX_LEVELS)

/* The row that holds pair p (covPairIndex's inverse) and nothing else:
 * factor *i at its level, factor *j at its level, every other factor 0. */
static inline void covPairRow(size_t p, int* row, int* i, int* j) {
  int b = (int)(p % COV_MAX_LEVELS), a = (int)(p / COV_MAX_LEVELS % COV_MAX_LEVELS);
  *j = (int)(p / COV_MAX_LEVELS / COV_MAX_LEVELS % COV_MAX_FACTORS);
  *i = (int)(p / COV_MAX_LEVELS / COV_MAX_LEVELS / COV_MAX_FACTORS);
  memset(row, 0, sizeof(int) * COV_MAX_FACTORS);
  row[*i] = a;
  row[*j] = b;
}

/* covered[p]: 0 not covered, 1 covered, 2 not required (infeasible). Returns
 * the number of required pairs not covered by the first nRows rows. */
static inline long covMark(const covSpec* sp, const int* rows, int nRows, unsigned char* covered) {
  memset(covered, 2, COV_PAIR_TABLE);
  for (int i = 0; i < sp->nFactors; i++)
    for (int j = i + 1; j < sp->nFactors; j++)
      for (int a = 0; a < sp->levels[i]; a++)
        for (int b = 0; b < sp->levels[j]; b++)
          if (covPairFeasible(sp, i, a, j, b)) covered[covPairIndex(i, a, j, b)] = 0;
  for (int r = 0; r < nRows; r++) {
    const int* row = rows + (size_t)r * sp->nFactors;
    for (int i = 0; i < sp->nFactors; i++)
      for (int j = i + 1; j < sp->nFactors; j++) {
        size_t p = covPairIndex(i, row[i], j, row[j]);
        if (covered[p] == 0) covered[p] = 1;
      }
  }
  long missing = 0;
  for (size_t p = 0; p < COV_PAIR_TABLE; p++) missing += covered[p] == 0;
  return missing;
}

/* New pairs a row would cover. */
static inline int covGain(const covSpec* sp, const int* row, const unsigned char* covered) {
  int g = 0;
  for (int i = 0; i < sp->nFactors; i++)
    for (int j = i + 1; j < sp->nFactors; j++) g += covered[covPairIndex(i, row[i], j, row[j])] == 0;
  return g;
}

static inline int covAppend(covArray* out, const int* row, int nFactors) {
  if (out->nRows == out->cap) {
    int cap = out->cap ? 2 * out->cap : 64;
    int* p = realloc(out->rows, sizeof(int) * (size_t)cap * (size_t)nFactors);
    if (!p) return -1;
    out->rows = p;
    out->cap = cap;
  }
  memcpy(out->rows + (size_t)out->nRows * nFactors, row, sizeof(int) * (size_t)nFactors);
  out->nRows++;
  return 0;
}

/* Builds the array for seed; 0 on success, -1 on a bad spec or no memory. */
static inline int covBuild(const covSpec* sp, uint64_t seed, covArray* out) {
  memset(out, 0, sizeof(*out));
  if (sp->nFactors < 2 || sp->nFactors > COV_MAX_FACTORS) return -1;
  for (int i = 0; i < sp->nFactors; i++)
    if (sp->levels[i] < 1 || sp->levels[i] > COV_MAX_LEVELS) return -1;
  unsigned char* covered = malloc(COV_PAIR_TABLE);
  if (!covered) return -1;
  long missing = covMark(sp, NULL, 0, covered);
  uint64_t rng = seed;
  const int nCand = 24;
  int best[COV_MAX_FACTORS], cand[COV_MAX_FACTORS];
  while (missing > 0) {
    /* the uncovered pairs, to start candidates from */
    int bestGain = -1;
    for (int c = 0; c < nCand; c++) {
      /* a random uncovered pair: scan from a random start */
      size_t start = (size_t)(covRand(&rng) % COV_PAIR_TABLE), p = start;
      while (covered[p] != 0) p = (p + 1) % COV_PAIR_TABLE;
      int i, j;
      covPairRow(p, cand, &i, &j);
      /* fill the other factors in a random order, each with its best level */
      int order[COV_MAX_FACTORS], no = 0;
      for (int k = 0; k < sp->nFactors; k++)
        if (k != i && k != j) order[no++] = k;
      for (int k = no - 1; k > 0; k--) {
        int m = (int)(covRand(&rng) % (uint64_t)(k + 1)), t = order[k];
        order[k] = order[m];
        order[m] = t;
      }
      int fixed[COV_MAX_FACTORS] = {0};
      fixed[i] = fixed[j] = 1;
      for (int o = 0; o < no; o++) {
        int k = order[o], bestL = 0, bestG = -1, ties = 0;
        for (int l = 0; l < sp->levels[k]; l++) {
          cand[k] = l;
          /* pairs with the factors already fixed */
          int g = 0;
          for (int q = 0; q < sp->nFactors; q++) {
            if (!fixed[q]) continue;
            size_t pi = q < k ? covPairIndex(q, cand[q], k, l) : covPairIndex(k, l, q, cand[q]);
            g += covered[pi] == 0;
          }
          if (g > bestG) {
            bestG = g;
            bestL = l;
            ties = 1;
          } else if (g == bestG && covRand(&rng) % (uint64_t)(++ties) == 0) {
            bestL = l;
          }
        }
        cand[k] = bestL;
        fixed[k] = 1;
      }
      if (sp->normalize) sp->normalize(cand, sp->ctx);
      int g = covGain(sp, cand, covered);
      if (g > bestGain) {
        bestGain = g;
        memcpy(best, cand, sizeof(best));
      }
    }
    if (bestGain <= 0) {
      /* normalisation undid every candidate's pair: take the first uncovered
       * pair with a row built to hold it (it is feasible by construction) */
      size_t p = 0;
      while (covered[p] != 0) p++;
      int i, j;
      covPairRow(p, best, &i, &j);
      for (int k = 0; k < sp->nFactors && !covValid(sp, best); k++) {
        if (k == i || k == j) continue;
        for (int l = 1; l < sp->levels[k] && !covValid(sp, best); l++) best[k] = l;
        if (!covValid(sp, best)) best[k] = 0;
      }
      if (!covValid(sp, best) || covGain(sp, best, covered) == 0) {
        free(covered);
        return -1;
      }
    }
    if (covAppend(out, best, sp->nFactors) != 0) {
      free(covered);
      return -1;
    }
    for (int i = 0; i < sp->nFactors; i++)
      for (int j = i + 1; j < sp->nFactors; j++) {
        size_t pi = covPairIndex(i, best[i], j, best[j]);
        if (covered[pi] == 0) {
          covered[pi] = 1;
          missing--;
        }
      }
  }
  free(covered);
  return 0;
}

static inline void covFree(covArray* a) {
  free(a->rows);
  memset(a, 0, sizeof(*a));
}

#endif
