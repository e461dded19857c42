/* mpi_bootstrap_attack.c - while the ranks bootstrap, a thread in every
 * process finds the library's new listening sockets (the root's and each
 * rank's) and attacks each one: garbage, a well-formed hello with a wrong
 * secret (a stale job), a connection that says nothing, one that sends half
 * a hello and stalls, one that closes at once. Init and a split must still
 * succeed. The last rank arrives late so the others are attacked mid-init. */
#include <pthread.h>
#include <unistd.h>
#include "bootstrap/wire.h"
#include "mpi_test.h"
#include "proc_sockets.h"

#define MAX_KNOWN 512
static unsigned long known[MAX_KNOWN];
static int nknown;
static int heldFds[MAX_KNOWN];
static int nheld;
static int attacked;
static volatile int stopAttack;

static int isKnown(unsigned long ino) {
  for (int i = 0; i < nknown; i++)
    if (known[i] == ino) return 1;
  return 0;
}

static int dial(const procListener* l) {
  int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  socklen_t len = l->addr.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  if (connect(fd, (const struct sockaddr*)&l->addr, len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static void hold(int fd) {
  if (fd < 0) return;
  if (nheld < MAX_KNOWN)
    heldFds[nheld++] = fd;
  else
    close(fd);
}

static int attackOne(const procListener* l) {
  int ok = 0;
  int fd = dial(l); /* garbage */
  if (fd >= 0) {
    char junk[200];
    for (size_t i = 0; i < sizeof(junk); i++) junk[i] = (char)(rand() & 0xff);
    ok += send(fd, junk, sizeof(junk), MSG_NOSIGNAL) > 0;
    close(fd);
  }
  fd = dial(l); /* a stale job: right format, wrong secret */
  if (fd >= 0) {
    acclHello h;
    memset(&h, 0, sizeof(h));
    h.magic = ACCL_HELLO_MAGIC;
    memset(h.mac, 0xab, sizeof(h.mac));
    h.kind = ACCL_HELLO_ROOT;
    h.rank = 0;
    h.nranks = 1;
    ok += send(fd, &h, sizeof(h), MSG_NOSIGNAL) > 0;
    hold(fd);
  }
  fd = dial(l); /* silent */
  ok += fd >= 0;
  hold(fd);
  fd = dial(l); /* half a hello, then nothing */
  if (fd >= 0) {
    uint64_t magic = ACCL_HELLO_MAGIC;
    ok += send(fd, &magic, sizeof(magic), MSG_NOSIGNAL) > 0;
    hold(fd);
  }
  fd = dial(l); /* connect and leave */
  if (fd >= 0) {
    ok++;
    close(fd);
  }
  return ok == 5;
}

static void* attacker(void* arg) {
  (void)arg;
  while (!stopAttack) {
    procListener ls[64];
    int n = procListeners(ls, 64);
    for (int i = 0; i < n; i++) {
      if (isKnown(ls[i].inode) || nknown == MAX_KNOWN) continue;
      known[nknown++] = ls[i].inode;
      if (attackOne(&ls[i])) attacked++;
    }
    usleep(5000);
  }
  return NULL;
}

int main(int argc, char** argv) {
  int rank, size;
  mtInitDevice(&argc, &argv, &rank, &size);
  srand((unsigned)rank + 1);
  /* MPI's own listeners are not ours to attack */
  procListener ls[64];
  int n = procListeners(ls, 64);
  for (int i = 0; i < n; i++) known[nknown++] = ls[i].inode;
  pthread_t t;
  pthread_create(&t, NULL, attacker, NULL);

  acclUniqueId id;
  acclResult_t r = acclSuccess;
  if (rank == 0) {
    r = acclGetUniqueId(&id);
    usleep(300 * 1000); /* the root gets attacked before anyone arrives */
  }
  MPI_Bcast(&r, sizeof(r), MPI_BYTE, 0, MPI_COMM_WORLD);
  MT_CHECK(r == acclSuccess);
  MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD);
  if (size > 1 && rank == size - 1) usleep(1000 * 1000); /* the others wait, listening */
  acclComm_t comm = NULL;
  MT_ACCL(acclCommInitRank(&comm, size, id, rank));
  acclComm_t half = NULL;
  if (comm) {
    MT_ACCL(acclCommSplit(comm, rank % 2, rank, &half, NULL));
    int count = -1;
    if (half) MT_ACCL(acclCommCount(half, &count));
    MT_CHECK(count == (rank % 2 ? size / 2 : (size + 1) / 2));
  }
  stopAttack = 1;
  pthread_join(t, NULL);
  for (int i = 0; i < nheld; i++) close(heldFds[i]);
  /* rank 0: the root and its own listener; others but the late one: their listener */
  int want = rank == 0 ? (size > 1 ? 2 : 1) : (rank < size - 1 ? 1 : 0);
  MT_CHECK(attacked >= want);
  if (attacked < want) fprintf(stderr, "[rank %d] attacked %d listeners, expected %d\n", rank, attacked, want);
  if (half) MT_ACCL(acclCommDestroy(half));
  if (comm) MT_ACCL(acclCommDestroy(comm));
  return mtFinish("mpi_bootstrap_attack");
}
