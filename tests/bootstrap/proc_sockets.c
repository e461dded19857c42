/* proc_sockets.c - see proc_sockets.h. */
#include "proc_sockets.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int ownedInodes(unsigned long* inodes, int max) {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return 0;
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)) && n < max) {
    char path[300], link[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
    ssize_t l = readlink(path, link, sizeof(link) - 1);
    if (l <= 0) continue;
    link[l] = '\0';
    unsigned long ino;
    if (sscanf(link, "socket:[%lu]", &ino) == 1) inodes[n++] = ino;
  }
  closedir(d);
  return n;
}

static int parseTable(const char* file, int v6, const unsigned long* inodes, int nino, procListener* out, int n,
                      int max) {
  FILE* f = fopen(file, "r");
  if (!f) return n;
  char line[512];
  if (!fgets(line, sizeof(line), f)) {
    fclose(f);
    return n;
  }
  while (fgets(line, sizeof(line), f) && n < max) {
    char local[64];
    unsigned st;
    unsigned long ino;
    /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
    if (sscanf(line, " %*s %63s %*s %x %*s %*s %*s %*s %*s %lu", local, &st, &ino) != 3) continue;
    if (st != 0x0A) continue; /* LISTEN */
    int mine = 0;
    for (int i = 0; i < nino; i++) mine |= inodes[i] == ino;
    if (!mine) continue;
    char* colon = strchr(local, ':');
    if (!colon) continue;
    *colon = '\0';
    unsigned port = (unsigned)strtoul(colon + 1, NULL, 16);
    procListener* p = &out[n];
    memset(p, 0, sizeof(*p));
    p->inode = ino;
    if (!v6) {
      struct sockaddr_in* s = (struct sockaddr_in*)&p->addr;
      s->sin_family = AF_INET;
      s->sin_port = htons((uint16_t)port);
      s->sin_addr.s_addr = (in_addr_t)strtoul(local, NULL, 16); /* kernel prints the raw word */
      if (s->sin_addr.s_addr == 0) s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else {
      struct sockaddr_in6* s = (struct sockaddr_in6*)&p->addr;
      s->sin6_family = AF_INET6;
      s->sin6_port = htons((uint16_t)port);
      for (int w = 0; w < 4; w++) {
        char word[9];
        memcpy(word, local + 8 * w, 8);
        word[8] = '\0';
        uint32_t v = (uint32_t)strtoul(word, NULL, 16);
        memcpy(&s->sin6_addr.s6_addr[4 * w], &v, 4);
      }
      if (IN6_IS_ADDR_UNSPECIFIED(&s->sin6_addr)) s->sin6_addr = in6addr_loopback;
    }
    n++;
  }
  fclose(f);
  return n;
}

int procListeners(procListener* out, int max) {
  unsigned long inodes[1024];
  int nino = ownedInodes(inodes, 1024);
  int n = parseTable("/proc/net/tcp", 0, inodes, nino, out, 0, max);
  return parseTable("/proc/net/tcp6", 1, inodes, nino, out, n, max);
}

static int countDir(const char* path) {
  DIR* d = opendir(path);
  if (!d) return -1;
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

int procFdCount(void) { return countDir("/proc/self/fd") - 1; /* the DIR itself */ }
int procThreadCount(void) { return countDir("/proc/self/task"); }
