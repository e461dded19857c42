/* nslaunch.c - start the ranks of a non-MPI test, optionally each inside a
 * network namespace (mpirun cannot: its wire-up needs the loopback of the
 * namespace it started in).
 *
 *   nslaunch -n NP [-N PREFIX -p PER] [-t SECONDS] [-k RANK] -- PROG ARGS
 *
 * Rank r runs PROG with ACCL_TEST_RANK=r and ACCL_TEST_NRANKS=NP; with -N it
 * first enters the namespace PREFIX<r / PER> (/var/run/netns) and sets
 * ACCL_HOSTID to that name, so each namespace is one "node". -k RANK: that
 * rank is expected to die by SIGKILL (the killed-rank tests). Exits 0 when
 * every rank ended as expected; kills everything left at the timeout. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void usage(void) {
  fprintf(stderr,
          "usage: nslaunch -n NP [-N NETNS_PREFIX -p RANKS_PER_NS] [-t SECONDS] [-k KILLED_RANK] -- PROG [ARGS]\n");
  exit(2);
}

static void runRank(int rank, int np, const char* prefix, int per, char** argv) {
  char buf[64];
  if (prefix) {
    char ns[256], path[300];
    snprintf(ns, sizeof(ns), "%s%d", prefix, rank / per);
    snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
      fprintf(stderr, "nslaunch: rank %d cannot enter %s: %s\n", rank, path, strerror(errno));
      _exit(3);
    }
    close(fd);
    setenv("ACCL_HOSTID", ns, 1);
  }
  snprintf(buf, sizeof(buf), "%d", rank);
  setenv("ACCL_TEST_RANK", buf, 1);
  snprintf(buf, sizeof(buf), "%d", np);
  setenv("ACCL_TEST_NRANKS", buf, 1);
  execvp(argv[0], argv);
  fprintf(stderr, "nslaunch: cannot run %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

int main(int argc, char** argv) {
  int np = 0, per = 1, timeoutS = 300, killed = -1, opt;
  const char* prefix = NULL;
  while ((opt = getopt(argc, argv, "+n:N:p:t:k:")) != -1) {
    switch (opt) {
      case 'n': np = atoi(optarg); break;
      case 'N': prefix = optarg; break;
      case 'p': per = atoi(optarg); break;
      case 't': timeoutS = atoi(optarg); break;
      case 'k': killed = atoi(optarg); break;
      default: usage();
    }
  }
  if (np < 1 || per < 1 || optind >= argc) usage();
  pid_t* pids = calloc((size_t)np, sizeof(pid_t));
  int* status = calloc((size_t)np, sizeof(int));
  if (!pids || !status) return 2;
  for (int r = 0; r < np; r++) {
    pids[r] = fork();
    if (pids[r] < 0) {
      perror("fork");
      return 2;
    }
    if (pids[r] == 0) runRank(r, np, prefix, per, argv + optind);
  }
  int left = np, bad = 0;
  time_t deadline = time(NULL) + timeoutS;
  while (left > 0) {
    int st;
    pid_t p = waitpid(-1, &st, WNOHANG);
    if (p == 0) {
      if (time(NULL) > deadline) {
        fprintf(stderr, "nslaunch: timeout after %d s, killing %d rank(s)\n", timeoutS, left);
        for (int r = 0; r < np; r++)
          if (pids[r] > 0) kill(pids[r], SIGKILL);
        bad = 1;
        deadline = time(NULL) + 3600; /* reap what was killed */
      }
      usleep(20000);
      continue;
    }
    if (p < 0) break;
    for (int r = 0; r < np; r++) {
      if (pids[r] != p) continue;
      pids[r] = 0;
      left--;
      int ok = r == killed ? (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) : (WIFEXITED(st) && WEXITSTATUS(st) == 0);
      if (!ok) {
        bad = 1;
        if (WIFSIGNALED(st))
          fprintf(stderr, "nslaunch: rank %d killed by signal %d\n", r, WTERMSIG(st));
        else
          fprintf(stderr, "nslaunch: rank %d exited with %d\n", r, WEXITSTATUS(st));
      }
    }
  }
  free(pids);
  free(status);
  return bad;
}
