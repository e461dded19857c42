/* rings.c - Hamiltonian ring search over a node's link graph.
 * Depth-first search with a step budget. For k link-disjoint rings, ring i+1
 * is searched on the links ring 0..i left over, and the search backtracks into
 * ring i when ring i+1 cannot be completed (e.g. on a torus the first ring
 * must leave a Hamiltonian cycle behind). Candidates are tried fastest link
 * first, then the one with the fewest onward choices (Warnsdorff's rule),
 * which finds Hamiltonian cycles of grid-like graphs almost without
 * backtracking. */
#include "topology/rings.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
  int n;
  const double* bw; /* n x n, 0 where there is no link */
  char* avail;      /* n x n: link usable (fast enough and not taken by an earlier ring) */
  char* visited;    /* target x n */
  int* orders;      /* target x n */
  int target;
  int open; /* search a path instead of a cycle */
  long steps, budget;
} search;

static int findRing(search* s, int k);

static int onward(const search* s, const char* visited, int j) {
  int c = 0;
  for (int x = 0; x < s->n; x++)
    if (!visited[x] && s->avail[j * s->n + x]) c++;
  return c;
}

static void markRing(search* s, int k, char value) {
  const int* p = s->orders + k * s->n;
  for (int i = 0; i < s->n; i++) {
    int a = p[i], b = p[(i + 1) % s->n];
    s->avail[a * s->n + b] = s->avail[b * s->n + a] = value;
  }
}

static int extend(search* s, int k, int depth) {
  if (++s->steps > s->budget) return 0;
  int n = s->n;
  int* path = s->orders + k * n;
  char* visited = s->visited + k * n;
  int last = path[depth - 1];
  if (depth == n) {
    if (s->open) return 1;
    if (!s->avail[last * n + path[0]]) return 0;
    markRing(s, k, 0);
    if (findRing(s, k + 1)) return 1;
    markRing(s, k, 1);
    return 0;
  }
  int cand[n], key[n], nc = 0;
  for (int j = 0; j < n; j++) {
    if (visited[j] || !s->avail[last * n + j]) continue;
    visited[j] = 1;
    key[nc] = onward(s, visited, j);
    visited[j] = 0;
    cand[nc++] = j;
  }
  /* insertion sort: faster link first, then fewer onward choices, then index */
  for (int i = 1; i < nc; i++)
    for (int j = i; j > 0; j--) {
      double b0 = s->bw[last * n + cand[j - 1]], b1 = s->bw[last * n + cand[j]];
      if (b1 > b0 || (b1 == b0 && key[j] < key[j - 1])) {
        int t = cand[j];
        cand[j] = cand[j - 1];
        cand[j - 1] = t;
        t = key[j];
        key[j] = key[j - 1];
        key[j - 1] = t;
      } else {
        break;
      }
    }
  for (int i = 0; i < nc; i++) {
    visited[cand[i]] = 1;
    path[depth] = cand[i];
    if (extend(s, k, depth + 1)) return 1;
    visited[cand[i]] = 0;
  }
  return 0;
}

static int findRing(search* s, int k) {
  if (k == s->target) return 1;
  memset(s->visited + k * s->n, 0, (size_t)s->n);
  s->orders[k * s->n] = 0;
  s->visited[k * s->n] = 1;
  return extend(s, k, 1);
}

static void setAvail(search* s, double threshold) {
  for (int i = 0; i < s->n * s->n; i++) s->avail[i] = s->bw[i] > 0 && s->bw[i] >= threshold;
}

/* Greedy order when not even a Hamiltonian path was found: fastest direct
 * neighbour, else the lowest unvisited device. */
static void greedyOrder(const search* s, int* order) {
  int n = s->n;
  char* seen = calloc((size_t)n, 1);
  if (!seen) {
    for (int i = 0; i < n; i++) order[i] = i;
    return;
  }
  order[0] = 0;
  seen[0] = 1;
  for (int i = 1; i < n; i++) {
    int last = order[i - 1], best = -1;
    for (int j = 0; j < n; j++)
      if (!seen[j] && s->bw[last * n + j] > 0 && (best < 0 || s->bw[last * n + j] > s->bw[last * n + best])) best = j;
    if (best < 0)
      for (int j = 0; j < n && best < 0; j++)
        if (!seen[j]) best = j;
    order[i] = best;
    seen[best] = 1;
  }
  free(seen);
}

static int cmpDesc(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x < y) - (x > y);
}

/* Cycles: for each bandwidth threshold, fastest first, the most disjoint rings. */
static int searchCycles(search* s, int maxRings) {
  int n = s->n, nbw = 0;
  double* levels = malloc(sizeof(double) * (size_t)(n * n));
  if (!levels) return 0;
  for (int i = 0; i < n * n; i++)
    if (s->bw[i] > 0) levels[nbw++] = s->bw[i];
  qsort(levels, (size_t)nbw, sizeof(double), cmpDesc);
  int found = 0;
  for (int l = 0; l < nbw && !found; l++) {
    if (l > 0 && levels[l] == levels[l - 1]) continue;
    setAvail(s, levels[l]);
    int mindeg = n;
    for (int i = 0; i < n; i++) {
      int d = 0;
      for (int j = 0; j < n; j++) d += s->avail[i * n + j];
      if (d < mindeg) mindeg = d;
    }
    int most = ACCL_MIN(maxRings, mindeg / 2);
    for (int k = most; k >= 1 && !found; k--) {
      setAvail(s, levels[l]);
      s->target = k;
      s->steps = 0;
      if (findRing(s, 0)) found = k;
    }
  }
  free(levels);
  return found;
}

acclResult_t acclTopoSearchRings(const acclLinkGraph* g, const int* devs, int n, int maxRings, int** orders,
                                 int* nRings) {
  if (n < 1 || maxRings < 1) return acclInternalError;
  int* out = NULL;
  double* bw = calloc((size_t)(n * n), sizeof(double));
  search s = {.n = n, .bw = bw, .budget = ACCL_RING_SEARCH_BUDGET};
  s.avail = calloc((size_t)(n * n), 1);
  s.visited = calloc((size_t)(n * maxRings), 1);
  s.orders = calloc((size_t)(n * maxRings), sizeof(int));
  acclResult_t res = acclSystemError;
  if (!bw || !s.avail || !s.visited || !s.orders) goto done;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      int li = (i == j) ? -1 : acclLinkGraphFind(g, devs[i], devs[j]);
      if (li >= 0) bw[i * n + j] = g->links[li].bwGBs;
    }
  int found = 0;
  if (n <= 2) {
    for (int i = 0; i < n; i++) s.orders[i] = i; /* one or two devices: the only order */
    found = 1;
  } else {
    found = searchCycles(&s, maxRings);
  }
  if (!found) {
    /* No Hamiltonian cycle among direct links: try a path (one indirect hop), from each start. */
    setAvail(&s, 0);
    s.open = 1;
    s.target = 1;
    for (int start = 0; start < n && !found; start++) {
      s.steps = 0;
      memset(s.visited, 0, (size_t)n);
      s.orders[0] = start;
      s.visited[start] = 1;
      if (extend(&s, 0, 1)) found = 1;
    }
    if (found) { /* rotate so the ring starts at devs[0] */
      int* tmp = malloc(sizeof(int) * (size_t)n);
      if (!tmp) goto done;
      int z = 0;
      while (s.orders[z] != 0) z++;
      for (int i = 0; i < n; i++) tmp[i] = s.orders[(z + i) % n];
      memcpy(s.orders, tmp, sizeof(int) * (size_t)n);
      free(tmp);
    } else {
      greedyOrder(&s, s.orders);
      found = 1;
    }
  }
  out = malloc(sizeof(int) * (size_t)(found * n));
  if (!out) goto done;
  for (int i = 0; i < found * n; i++) out[i] = devs[s.orders[i]];
  *orders = out;
  *nRings = found;
  res = acclSuccess;
done:
  free(bw);
  free(s.avail);
  free(s.visited);
  free(s.orders);
  return res;
}
