/* test_log_lines.c - log lines in NCCL's conventions: one COLL line per
 * collective and one P2P line per send/recv with NCCL's fields, the chosen
 * algorithm and protocol by name under TUNING, the device in the bracket,
 * file:line on WARN lines, time stamps on the levels chosen, and ACCL_DEBUG
 * taken from the user's conf file. Two communicators in one process
 * (acclCommInitAll), the log read back from ACCL_DEBUG_FILE. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "acc_ccl.h"
#include "check.h"

static char logText[1 << 20];

/* How many lines match the extended regular expression. */
static int countLines(const char* pattern) {
  regex_t re;
  if (regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE) != 0) {
    fprintf(stderr, "bad pattern %s\n", pattern);
    exit(2);
  }
  int n = 0;
  const char* p = logText;
  regmatch_t m;
  while (regexec(&re, p, 1, &m, 0) == 0) {
    n++;
    p += m.rm_eo;
    if (*p) p++;
  }
  regfree(&re);
  if (n == 0) fprintf(stderr, "no line matches %s\n", pattern);
  return n;
}

int main(void) {
  char conf[64], logPath[64];
  snprintf(conf, sizeof(conf), "/tmp/accl-log-conf-%d", (int)getpid());
  snprintf(logPath, sizeof(logPath), "/tmp/accl-log-%d", (int)getpid());
  FILE* f = fopen(conf, "w");
  CHECK(f);
  /* the level comes from the conf file, the rest from the environment */
  fputs("ACCL_DEBUG=INFO\n", f);
  fclose(f);
  setenv("ACCL_CONF_FILE", conf, 1);
  unsetenv("ACCL_DEBUG");
  setenv("ACCL_DEBUG_SUBSYS", "COLL,P2P,TUNING,ENV", 1);
  setenv("ACCL_DEBUG_FILE", logPath, 1);
  setenv("ACCL_DEBUG_TIMESTAMP_LEVELS", "WARN,INFO", 1);
  setenv("ACCL_DEBUG_TIMESTAMP_FORMAT", "[%Y_%H:%M]_", 1);
  setenv("ACCL_PROTO", "LL128", 1); /* a bad value: warned about */
  setenv("ACCL_SIM_DEVICES", "2", 1);

  acclComm_t comms[2];
  CHECK(acclCommInitAll(comms, 2, NULL) == acclSuccess);
  accStream_t s[2];
  float* buf[2];
  const size_t n = 1024;
  for (int d = 0; d < 2; d++) {
    CHECK(accSetDevice(d) == accSuccess);
    CHECK(accStreamCreate(&s[d]) == accSuccess);
    CHECK(accMalloc((void**)&buf[d], n * sizeof(float)) == accSuccess);
  }
  CHECK(acclGroupStart() == acclSuccess);
  for (int d = 0; d < 2; d++)
    CHECK(acclAllReduce(buf[d], buf[d], n, acclFloat32, acclSum, comms[d], s[d]) == acclSuccess);
  CHECK(acclGroupEnd() == acclSuccess);
  CHECK(acclGroupStart() == acclSuccess);
  CHECK(acclSend(buf[0], n, acclFloat32, 1, comms[0], s[0]) == acclSuccess);
  CHECK(acclRecv(buf[1], n, acclFloat32, 0, comms[1], s[1]) == acclSuccess);
  CHECK(acclGroupEnd() == acclSuccess);
  for (int d = 0; d < 2; d++) CHECK(accStreamSynchronize(s[d]) == accSuccess);
  for (int d = 0; d < 2; d++) CHECK(acclCommDestroy(comms[d]) == acclSuccess);

  f = fopen(logPath, "r");
  CHECK(f);
  size_t len = fread(logText, 1, sizeof(logText) - 1, f);
  fclose(f);
  logText[len] = '\0';
  if (getenv("KEEP_LOG") == NULL) unlink(logPath);
  unlink(conf);

  const char* head = "^\\[[0-9]{4} [0-9]{2}:[0-9]{2}\\] [^ :]+:[0-9]+:[0-9]+ ";
  char pat[1024];
  /* one COLL line per collective, in each device's bracket, NCCL's fields */
  for (int d = 0; d < 2; d++) {
    snprintf(pat, sizeof(pat),
             "%s\\[%d\\] ACCL INFO AllReduce: opCount 0 sendbuff %p recvbuff %p count 1024 datatype %d op %d root 0 "
             "comm 0x[0-9a-f]+ \\[nranks=2\\] stream 0x[0-9a-f]+$",
             head, d, (void*)buf[d], (void*)buf[d], (int)acclFloat32, (int)acclSum);
    CHECK(countLines(pat) == 1);
  }
  /* one P2P line per send / recv, naming the peer */
  snprintf(pat, sizeof(pat),
           "%s\\[0\\] ACCL INFO Send: opCount 1 sendbuff %p recvbuff \\(nil\\) count 1024 datatype %d op 0 peer 1 comm "
           "0x[0-9a-f]+ \\[nranks=2\\] stream 0x[0-9a-f]+$",
           head, (void*)buf[0], (int)acclFloat32);
  CHECK(countLines(pat) == 1);
  snprintf(pat, sizeof(pat), "%s\\[1\\] ACCL INFO Recv: opCount 1 sendbuff \\(nil\\) recvbuff %p count 1024 .* peer 0 ",
           head, (void*)buf[1]);
  CHECK(countLines(pat) == 1);
  CHECK(countLines("ACCL INFO (AllReduce|Send|Recv): opCount ") == 4);
  /* the tuner's choice, by name */
  CHECK(countLines("ACCL INFO AllReduce: 4096 Bytes -> Algo (ring|tree|direct|hier|rd) proto (LL|Simple)$") == 2);
  CHECK(countLines("ACCL INFO (Send|Recv): 4096 Bytes -> Algo p2p proto (LL|Simple)$") >= 1);
  /* the bad value: a WARN line with file:line, the variable, the value and what is used */
  CHECK(countLines("\\] [^ ]+ \\[[0-9]+\\] core/param\\.c:[0-9]+ ACCL WARN ACCL_PROTO=LL128: 'LL128' is not one of "
                   "LL, Simple; using all of them$") == 1);
  /* the conf file's setting is reported like the environment's */
  CHECK(countLines("ACCL INFO ACCL_DEBUG set by /tmp/accl-log-conf-[0-9]+ to INFO$") == 1);
  printf("log lines as NCCL writes them\n");
  return 0;
}
