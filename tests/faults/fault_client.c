/* fault_client.c - a hostile or mistaken client of a bootstrap root.
 *
 *   fault_client ADDR MODE [ARGS]
 *
 * ADDR is ip:port (the root's ACCL_COMM_ID). Modes:
 *   hello NRANKS RANK KEY   a rank hello as rank RANK of NRANKS; KEY is the
 *                           shared secret text ("-": none, i.e. the secret an
 *                           outsider derives from the public address alone)
 *   garbage BYTES           random bytes, then wait for the close
 *   silent SECONDS          connect and say nothing
 *   hold N SECONDS          open N connections that say nothing
 *   truncated NRANKS RANK KEY BYTES
 *                           the first BYTES bytes of a rank hello, then
 *                           silence until the root closes (at most 10 s)
 *   record FILE             listen at ADDR (instead of a root), send a challenge
 *                           as a root does, save the 64 bytes a rank sends
 *                           (its hello), close
 *   replay FILE             send those bytes, as a fresh connection
 * A client reads the root's challenge before it sends (the hello modes
 * answer it under the secret).
 * One line on stdout:
 *   CLIENT accepted         the root sent the job's address table
 *   CLIENT refused status=S the root replied with an error status
 *   CLIENT closed           the root closed the connection without a reply
 *   CLIENT held N           (hold) how many connections were open at once */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "bootstrap/wire.h"

static int dial(const acclSocketAddr* a) {
  int fd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  socklen_t len = a->sa.sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  if (connect(fd, &a->sa, len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int readAll(int fd, void* buf, size_t n, int timeoutS) {
  struct timeval tv = {timeoutS, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  size_t got = 0;
  while (got < n) {
    ssize_t r = recv(fd, (char*)buf + got, n - got, 0);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s ip:port hello|garbage|silent|hold|truncated|record|replay ...\n", argv[0]);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  acclSocketAddr root;
  if (acclSocketParseAddr(argv[1], &root) != 0) {
    fprintf(stderr, "bad address %s\n", argv[1]);
    return 2;
  }
  const char* mode = argv[2];
  if (!strcmp(mode, "record")) {
    if (argc < 4) return 2;
    int lfd = -1;
    acclSocketAddr bound;
    if (acclSocketListen(&root, &lfd, &bound) != acclSuccess) {
      printf("CLIENT cannot listen\n");
      return 1;
    }
    printf("CLIENT listening\n");
    int fd = -1;
    for (int tries = 0; tries < 3000 && fd < 0; tries++) { /* 30 s */
      acclSocketAddr peer;
      if (acclSocketAccept(lfd, &fd, &peer) != acclSuccess) fd = -1;
      if (fd < 0) usleep(10000);
    }
    uint8_t challenge[ACCL_CHALLENGE_BYTES];
    acclHello h;
    if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK); /* readAll waits */
    if (fd >= 0 && (acclSecretNew(challenge) != acclSuccess ||
                    send(fd, challenge, sizeof(challenge), MSG_NOSIGNAL) != (ssize_t)sizeof(challenge))) {
      close(fd);
      fd = -1;
    }
    if (fd < 0 || readAll(fd, &h, sizeof(h), 10) != 0) {
      printf("CLIENT nothing recorded\n");
      return 1;
    }
    FILE* f = fopen(argv[3], "wb");
    if (!f || fwrite(&h, sizeof(h), 1, f) != 1 || fclose(f) != 0) return 1;
    printf("CLIENT recorded rank=%d nranks=%d\n", h.rank, h.nranks);
    close(fd);
    close(lfd);
    return 0;
  }
  if (!strcmp(mode, "hold")) {
    int n = argc > 3 ? atoi(argv[3]) : 100, secs = argc > 4 ? atoi(argv[4]) : 5, held = 0;
    int* fds = calloc((size_t)n, sizeof(int));
    for (int i = 0; i < n && fds; i++)
      if ((fds[i] = dial(&root)) >= 0) held++;
    printf("CLIENT held %d\n", held);
    sleep((unsigned)secs);
    for (int i = 0; i < n && fds; i++)
      if (fds[i] >= 0) close(fds[i]);
    free(fds);
    return 0;
  }
  int fd = -1;
  for (int tries = 0; tries < 500 && fd < 0; tries++) { /* the root may not listen yet */
    fd = dial(&root);
    if (fd < 0) usleep(10000);
  }
  if (fd < 0) {
    printf("CLIENT unreachable\n");
    return 1;
  }
  if (!strcmp(mode, "silent")) {
    sleep((unsigned)(argc > 3 ? atoi(argv[3]) : 5));
    char c;
    printf("CLIENT %s\n", recv(fd, &c, 1, MSG_DONTWAIT) == 0 ? "closed" : "open");
    return 0;
  }
  if (!strcmp(mode, "garbage")) {
    size_t n = argc > 3 ? strtoull(argv[3], NULL, 0) : 4096;
    char* junk = malloc(n);
    for (size_t i = 0; i < n; i++) junk[i] = (char)(rand() & 0xff);
    send(fd, junk, n, MSG_NOSIGNAL);
    free(junk);
    char c;
    printf("CLIENT %s\n", readAll(fd, &c, 1, 10) != 0 ? "closed" : "answered");
    return 0;
  }
  if (!strcmp(mode, "replay")) {
    acclHello h;
    FILE* f = argc > 3 ? fopen(argv[3], "rb") : NULL;
    if (!f || fread(&h, sizeof(h), 1, f) != 1) {
      fprintf(stderr, "no recording\n");
      return 2;
    }
    fclose(f);
    uint8_t challenge[ACCL_CHALLENGE_BYTES];
    if (readAll(fd, challenge, sizeof(challenge), 10) != 0) {
      printf("CLIENT closed\n");
      return 0;
    }
    send(fd, &h, sizeof(h), MSG_NOSIGNAL);
    acclRootReply rep;
    if (readAll(fd, &rep, sizeof(rep), 30) != 0)
      printf("CLIENT closed\n");
    else if (rep.status != 0)
      printf("CLIENT refused status=%d\n", rep.status);
    else
      printf("CLIENT accepted\n");
    return 0;
  }
  int truncated = !strcmp(mode, "truncated");
  if ((strcmp(mode, "hello") != 0 && !truncated) || argc < 6) {
    fprintf(stderr, "unknown mode or missing arguments\n");
    return 2;
  }
  int nranks = atoi(argv[3]), rank = atoi(argv[4]);
  const char* key = argv[5];
  uint8_t secret[ACCL_SECRET_BYTES];
  acclSecretDerive(strcmp(key, "-") ? key : "", argv[1], secret);
  /* a listen address of our own, as a real rank would give */
  acclSocketAddr any = root, mine;
  if (any.sa.sa_family == AF_INET)
    any.sin.sin_port = 0;
  else
    any.sin6.sin6_port = 0;
  int lfd = -1;
  if (acclSocketListen(&any, &lfd, &mine) != acclSuccess) mine = root;
  uint8_t challenge[ACCL_CHALLENGE_BYTES];
  if (readAll(fd, challenge, sizeof(challenge), 10) != 0) {
    printf("CLIENT closed\n");
    return 0;
  }
  acclHello h;
  acclHelloFill(&h, secret, challenge, ACCL_HELLO_ROOT, rank, nranks, &mine);
  if (truncated) {
    size_t n = argc > 6 ? strtoull(argv[6], NULL, 0) : sizeof(h) / 2;
    send(fd, &h, n < sizeof(h) ? n : sizeof(h) - 1, MSG_NOSIGNAL);
    char c;
    printf("CLIENT %s\n", readAll(fd, &c, 1, 10) != 0 ? "closed" : "answered");
    return 0;
  }
  send(fd, &h, sizeof(h), MSG_NOSIGNAL);
  acclRootReply rep;
  if (readAll(fd, &rep, sizeof(rep), 30) != 0) {
    printf("CLIENT closed\n");
    return 0;
  }
  if (rep.status != 0) {
    printf("CLIENT refused status=%d\n", rep.status);
    return 0;
  }
  printf("CLIENT accepted\n");
  return 0;
}
