/* proc_sockets.h - test helper: the TCP listening sockets this process owns
 * (from /proc/self/fd and /proc/net/tcp{,6}), so tests can find the
 * library's bootstrap listeners without any internal interface. */
#ifndef ACCL_TEST_PROC_SOCKETS_H_
#define ACCL_TEST_PROC_SOCKETS_H_

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct {
  unsigned long inode;
  struct sockaddr_storage addr; /* connectable: a wildcard address becomes loopback */
} procListener;

/* Fills up to max listeners; returns how many. */
int procListeners(procListener* out, int max);
/* Number of open file descriptors and of threads of this process. */
int procFdCount(void);
int procThreadCount(void);

#endif
