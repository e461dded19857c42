/* log.c - ACCL_DEBUG / ACCL_DEBUG_SUBSYS / ACCL_DEBUG_FILE logging. */
#include "core/log.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "acc_ccl.h"
#include "core/core.h"

int acclLogLevelCur = -1;
uint32_t acclLogSubsysMask = ACCL_ALL;
__thread int acclLogRank = -1;

static pthread_mutex_t logLock = PTHREAD_MUTEX_INITIALIZER;
static FILE* logFile;
static char logHost[64];
static int logPid;

int acclLogParseLevel(const char* s) {
  if (s == NULL || *s == '\0') return ACCL_LOG_WARN;
  if (strcasecmp(s, "VERSION") == 0) return ACCL_LOG_VERSION;
  if (strcasecmp(s, "WARN") == 0) return ACCL_LOG_WARN;
  if (strcasecmp(s, "INFO") == 0) return ACCL_LOG_INFO;
  if (strcasecmp(s, "TRACE") == 0) return ACCL_LOG_TRACE;
  if (strcasecmp(s, "NONE") == 0) return ACCL_LOG_NONE;
  return ACCL_LOG_WARN;
}

static const struct {
  const char* name;
  uint32_t bit;
} subsysNames[] = {
    {"INIT", ACCL_INIT}, {"BOOTSTRAP", ACCL_BOOTSTRAP}, {"COLL", ACCL_COLL},     {"P2P", ACCL_P2P}, {"SHM", ACCL_SHM},
    {"NET", ACCL_NET},   {"TOPO", ACCL_TOPO},           {"TUNING", ACCL_TUNING}, {"DEV", ACCL_DEV}, {"ENV", ACCL_ENV},
    {"ALL", ACCL_ALL},
};

uint32_t acclLogParseSubsys(const char* s) {
  if (s == NULL || *s == '\0') return ACCL_INIT | ACCL_BOOTSTRAP | ACCL_ENV; /* NCCL's default set */
  int invert = 0;
  if (*s == '^') {
    invert = 1;
    s++;
  }
  uint32_t mask = 0;
  char buf[256];
  snprintf(buf, sizeof(buf), "%s", s);
  char* save = NULL;
  for (char* tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    for (size_t i = 0; i < sizeof(subsysNames) / sizeof(subsysNames[0]); i++)
      if (strcasecmp(tok, subsysNames[i].name) == 0) mask |= subsysNames[i].bit;
  }
  return invert ? ~mask : mask;
}

int acclLogExpandPath(const char* pattern, const char* host, int pid, char* out, size_t outlen) {
  size_t o = 0;
  for (const char* p = pattern; *p; p++) {
    char tmp[64];
    const char* ins = NULL;
    if (p[0] == '%' && p[1] == 'h') {
      ins = host;
      p++;
    } else if (p[0] == '%' && p[1] == 'p') {
      snprintf(tmp, sizeof(tmp), "%d", pid);
      ins = tmp;
      p++;
    }
    if (ins) {
      size_t l = strlen(ins);
      if (o + l >= outlen) return -1;
      memcpy(out + o, ins, l);
      o += l;
    } else {
      if (o + 1 >= outlen) return -1;
      out[o++] = *p;
    }
  }
  out[o] = '\0';
  return 0;
}

/* A process that forks while another thread logs must not hand its child a
 * held lock (data-loader workers fork after init). */
static void logLockAll(void) { pthread_mutex_lock(&logLock); }
static void logUnlockAll(void) { pthread_mutex_unlock(&logLock); }

static void logRegisterAtfork(void) { pthread_atfork(logLockAll, logUnlockAll, logUnlockAll); }

void acclLogInit(void) {
  static pthread_once_t atforkOnce = PTHREAD_ONCE_INIT;
  pthread_once(&atforkOnce, logRegisterAtfork);
  pthread_mutex_lock(&logLock);
  if (acclLogLevelCur >= 0) {
    pthread_mutex_unlock(&logLock);
    return;
  }
  gethostname(logHost, sizeof(logHost) - 1);
  char* dot = strchr(logHost, '.');
  if (dot) *dot = '\0';
  logPid = getpid();
  /* The log settings are read from the environment directly (not through
   * param.c, which itself logs). */
  const char* lvl = getenv("ACCL_DEBUG");
  acclLogSubsysMask = acclLogParseSubsys(getenv("ACCL_DEBUG_SUBSYS"));
  logFile = stdout;
  const char* file = getenv("ACCL_DEBUG_FILE");
  if (file && *file) {
    char path[4096];
    if (acclLogExpandPath(file, logHost, logPid, path, sizeof(path)) == 0) {
      FILE* f = fopen(path, "w");
      if (f) logFile = f;
    }
  }
  __atomic_store_n(&acclLogLevelCur, lvl ? acclLogParseLevel(lvl) : ACCL_LOG_NONE, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&logLock);
  /* Like every other ACCL_ variable, the log settings are reported once. */
  static const char* vars[] = {"ACCL_DEBUG", "ACCL_DEBUG_SUBSYS", "ACCL_DEBUG_FILE"};
  for (int i = 0; i < 3; i++) {
    const char* v = getenv(vars[i]);
    if (v && (acclLogSubsysMask & ACCL_ENV) && acclLogLevelCur >= ACCL_LOG_INFO)
      acclLog(ACCL_LOG_INFO, ACCL_ENV, __FILE__, __LINE__, "%s set by environment to %s", vars[i], v);
  }
}

void acclLog(acclLogLevel level, uint32_t subsys, const char* file, int line, const char* fmt, ...) {
  if (acclLogLevelCur < 0) acclLogInit();
  /* a warning is the text of acclGetLastError, logged or not */
  if (acclLogLevelCur < (int)level && level != ACCL_LOG_WARN) return;
  if (level > ACCL_LOG_WARN && !(acclLogSubsysMask & subsys)) return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (level == ACCL_LOG_WARN) {
    acclSetLastError("%s", msg);
    if (acclLogLevelCur < (int)level) return;
  }
  static const char* names[] = {"NONE", "VERSION", "WARN", "INFO", "TRACE"};
  long tid = syscall(SYS_gettid);
  char rankStr[16] = "";
  if (acclLogRank >= 0) snprintf(rankStr, sizeof(rankStr), "[%d] ", acclLogRank);
  pthread_mutex_lock(&logLock);
  if (level == ACCL_LOG_TRACE)
    fprintf(logFile, "%s:%d:%ld %sACCL %s %s:%d %s\n", logHost, logPid, tid, rankStr, names[level], file, line, msg);
  else
    fprintf(logFile, "%s:%d:%ld %sACCL %s %s\n", logHost, logPid, tid, rankStr, names[level], msg);
  fflush(logFile);
  pthread_mutex_unlock(&logLock);
}
