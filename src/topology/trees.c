/* trees.c - double binary trees over n members.
 * Tree 0 numbers members 1..n (member i at position i+1). A position p with
 * lowest set bit b has children p-b/2 and p+b/2 (the latter, when past n,
 * replaced by the nearest existing node of its left spine); odd positions are
 * leaves and the root is the largest power of two <= n, so the depth is
 * floor(log2 n). Tree 1 mirrors the positions (n even) or shifts them by one
 * (n odd): either way a member inner in tree 0 (even position) is a leaf in
 * tree 1, so every member forwards data in at most one tree. */
#include "topology/graph.h"

static int lowbit(int p) { return p & -p; }

static int rightChild(int p, int n) {
  int b = lowbit(p);
  if (b == 1) return 0;
  int c = p + b / 2;
  while (c > n) {
    int cb = lowbit(c);
    if (cb == 1) return 0;
    c -= cb / 2;
  }
  return c;
}

/* Fill one tree given member -> position and position -> member maps (1-based positions). */
static void buildTree(int n, const int* posOf, const int* memberAt, acclTreeNode* t, int* root) {
  int top = 1;
  while (top * 2 <= n) top *= 2;
  *root = memberAt[top];
  for (int m = 0; m < n; m++) t[m] = (acclTreeNode){-1, {-1, -1}};
  for (int m = 0; m < n; m++) {
    int p = posOf[m], b = lowbit(p);
    if (b == 1) continue;
    int l = p - b / 2, r = rightChild(p, n);
    t[m].down[0] = memberAt[l];
    t[memberAt[l]].up = m;
    if (r) {
      t[m].down[1] = memberAt[r];
      t[memberAt[r]].up = m;
    }
  }
}

acclResult_t acclTopoDoubleBinaryTree(int n, acclTreeNode* t0, acclTreeNode* t1, int root[2]) {
  if (n < 1) return acclInternalError;
  int posOf[n], memberAt[n + 1];
  for (int m = 0; m < n; m++) {
    posOf[m] = m + 1;
    memberAt[m + 1] = m;
  }
  buildTree(n, posOf, memberAt, t0, &root[0]);
  for (int m = 0; m < n; m++) {
    posOf[m] = (n % 2 == 0) ? n - m : (m + 1) % n + 1;
    memberAt[posOf[m]] = m;
  }
  buildTree(n, posOf, memberAt, t1, &root[1]);
  return acclSuccess;
}
