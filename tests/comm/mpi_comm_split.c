/* mpi_comm_split.c - acclCommSplit: odd / even colours, reversed and equal
 * keys, ACCL_SPLIT_NOCOLOR, a split of a split, and a named config. */
#include "mpi_test.h"

static void expectComm(acclComm_t c, int wantSize, int wantRank) {
  int n = -1, r = -1;
  MT_CHECK(c != NULL);
  if (c == NULL) return;
  MT_ACCL(acclCommCount(c, &n));
  MT_ACCL(acclCommUserRank(c, &r));
  MT_CHECK(n == wantSize);
  MT_CHECK(r == wantRank);
  if (n != wantSize || r != wantRank)
    fprintf(stderr, "[rank %d] got size %d rank %d, want %d %d\n", mpiTestRank, n, r, wantSize, wantRank);
}

int main(int argc, char** argv) {
  int rank, size;
  mtInitDevice(&argc, &argv, &rank, &size);
  acclComm_t world = NULL;
  MT_ACCL(mtCommInit(&world, rank, size));
  if (world == NULL) return mtFinish("mpi_comm_split");

  /* odd / even, key = rank: new rank = rank / 2 */
  acclComm_t parity = NULL;
  MT_ACCL(acclCommSplit(world, rank % 2, rank, &parity, NULL));
  expectComm(parity, rank % 2 ? size / 2 : (size + 1) / 2, rank / 2);

  /* one colour, keys reversed: the order flips */
  acclComm_t reversed = NULL;
  MT_ACCL(acclCommSplit(world, 7, size - rank, &reversed, NULL));
  expectComm(reversed, size, size - 1 - rank);

  /* equal keys: ties keep the parent's order */
  acclComm_t same = NULL;
  MT_ACCL(acclCommSplit(world, 0, 42, &same, NULL));
  expectComm(same, size, rank);

  /* rank 0 opts out */
  acclComm_t rest = (acclComm_t)0x1;
  MT_ACCL(acclCommSplit(world, rank == 0 ? ACCL_SPLIT_NOCOLOR : 1, 0, &rest, NULL));
  if (rank == 0)
    MT_CHECK(rest == NULL);
  else
    expectComm(rest, size - 1, rank - 1);

  /* split of a split, with a config: halves of the parity groups by key */
  if (parity) {
    int pn = 0, pr = 0;
    MT_ACCL(acclCommCount(parity, &pn));
    MT_ACCL(acclCommUserRank(parity, &pr));
    acclConfig_t cfg = ACCL_CONFIG_INITIALIZER;
    cfg.commName = "quarter";
    acclComm_t quarter = NULL;
    int half = (pn + 1) / 2;
    MT_ACCL(acclCommSplit(parity, pr < half, -pr, &quarter, &cfg));
    int qsize = pr < half ? half : pn - half;
    int qrank = pr < half ? half - 1 - pr : pn - 1 - pr;
    expectComm(quarter, qsize, qrank);
    if (quarter) MT_ACCL(acclCommDestroy(quarter));
  }

  /* the parent still works after its children are gone */
  if (parity) MT_ACCL(acclCommDestroy(parity));
  if (reversed) MT_ACCL(acclCommDestroy(reversed));
  if (same) MT_ACCL(acclCommDestroy(same));
  if (rest) MT_ACCL(acclCommDestroy(rest));
  acclComm_t again = NULL;
  MT_ACCL(acclCommSplit(world, 0, rank, &again, NULL));
  expectComm(again, size, rank);
  if (again) MT_ACCL(acclCommDestroy(again));
  MT_ACCL(acclCommDestroy(world));
  return mtFinish("mpi_comm_split");
}
