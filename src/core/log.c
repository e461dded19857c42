/* log.c - ACCL_DEBUG* logging in NCCL's line format (see log.h). */
#include "core/log.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "acc_ccl.h"
#include "core/core.h"
#include "core/param.h"

int acclLogLevelCur = -1;
uint32_t acclLogSubsysMask = ACCL_ALL;
__thread int acclLogDevice = 0;

static pthread_mutex_t logLock = PTHREAD_MUTEX_INITIALIZER;
static FILE* logFile;
static char logHost[64];
static int logPid;
static char stampFormat[256];
static uint32_t stampLevels; /* bit level-1: VERSION, WARN, INFO, TRACE */
static struct timespec logEpoch;

/* Same order as ACCL_DEBUG's choices in the parameter table. */
static const int levelOfChoice[] = {ACCL_LOG_NONE, ACCL_LOG_VERSION, ACCL_LOG_WARN, ACCL_LOG_INFO, ACCL_LOG_TRACE};

int acclLogParseLevel(const char* s) {
  acclParamValue v;
  char warn[256];
  if (s == NULL || *s == '\0') return ACCL_LOG_WARN;
  acclParamResolve(ACCL_PARAM_DEBUG, s, 0, &v, warn, sizeof(warn));
  return levelOfChoice[v.i];
}

/* ACCL_DEBUG_SUBSYS's choices are the subsystem bits in order, then ALL. */
_Static_assert(ACCL_ENV == 1u << 9, "ACCL_DEBUG_SUBSYS choices follow the acclLogSubsys bits");
static uint32_t subsysMask(int64_t choices) { return (uint32_t)(choices & ((1 << 10) - 1)); }

uint32_t acclLogParseSubsys(const char* s) {
  acclParamValue v;
  char warn[256];
  acclParamResolve(ACCL_PARAM_DEBUG_SUBSYS, s, 0, &v, warn, sizeof(warn));
  return subsysMask(v.i);
}

void acclLogFormatStamp(const char* fmt, time_t t, char* out, size_t outlen) {
  char f[256];
  snprintf(f, sizeof(f), "%s", fmt);
  for (char* p = f; *p; p++)
    if (*p == '_') *p = ' ';
  struct tm tm;
  localtime_r(&t, &tm);
  if (outlen == 0) return;
  if (f[0] == '\0' || strftime(out, outlen, f, &tm) == 0) out[0] = '\0';
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
  clock_gettime(CLOCK_MONOTONIC, &logEpoch);
  /* The settings come from the parameter table like every other (so a conf
   * file can set them), read raw: reporting them logs, which needs them. */
  acclParamValue v;
  char warn[512];
  const char* lvl = acclParamRaw(ACCL_PARAM_DEBUG, NULL);
  acclParamResolve(ACCL_PARAM_DEBUG, lvl, 0, &v, warn, sizeof(warn));
  int level = lvl ? levelOfChoice[v.i] : ACCL_LOG_NONE;
  acclParamResolve(ACCL_PARAM_DEBUG_SUBSYS, acclParamRaw(ACCL_PARAM_DEBUG_SUBSYS, NULL), 0, &v, warn, sizeof(warn));
  acclLogSubsysMask = subsysMask(v.i);
  acclParamResolve(ACCL_PARAM_DEBUG_TIMESTAMP_LEVELS, acclParamRaw(ACCL_PARAM_DEBUG_TIMESTAMP_LEVELS, NULL), 0, &v,
                   warn, sizeof(warn));
  stampLevels = (uint32_t)v.i;
  acclParamResolve(ACCL_PARAM_DEBUG_TIMESTAMP_FORMAT, acclParamRaw(ACCL_PARAM_DEBUG_TIMESTAMP_FORMAT, NULL), 0, &v,
                   warn, sizeof(warn));
  snprintf(stampFormat, sizeof(stampFormat), "%s", v.s ? v.s : "");
  logFile = stdout;
  const char* file = acclParamRaw(ACCL_PARAM_DEBUG_FILE, NULL);
  if (file && *file) {
    char path[4096];
    if (acclLogExpandPath(file, logHost, logPid, path, sizeof(path)) == 0) {
      FILE* f = fopen(path, "w");
      if (f) logFile = f;
    }
  }
  __atomic_store_n(&acclLogLevelCur, level, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&logLock);
  /* Like every other ACCL_ variable, the log settings are reported once
   * (and warned about when bad). */
  static const acclParamId vars[] = {ACCL_PARAM_DEBUG, ACCL_PARAM_DEBUG_SUBSYS, ACCL_PARAM_DEBUG_FILE,
                                     ACCL_PARAM_DEBUG_TIMESTAMP_FORMAT, ACCL_PARAM_DEBUG_TIMESTAMP_LEVELS};
  for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) acclParamReport(vars[i]);
}

void acclLogReset(void) {
  pthread_mutex_lock(&logLock);
  if (logFile && logFile != stdout) fclose(logFile);
  logFile = NULL;
  __atomic_store_n(&acclLogLevelCur, -1, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&logLock);
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
  char stamp[256] = "";
  if (level >= ACCL_LOG_VERSION && (stampLevels & (1u << (level - 1))))
    acclLogFormatStamp(stampFormat, time(NULL), stamp, sizeof(stamp));
  /* file:line without the directories above src/ (the last src/: a checkout
   * may itself live in a directory called src, as in /src/src/core/log.c) */
  const char* where = file;
  for (const char* p = strstr(file, "src/"); p; p = strstr(p + 1, "src/")) where = p + 4;
  char head[512];
  int o = snprintf(head, sizeof(head), "%s%s:%d:%ld [%d] ", stamp, logHost, logPid, tid, acclLogDevice);
  if (level == ACCL_LOG_TRACE) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double ms = (double)(now.tv_sec - logEpoch.tv_sec) * 1e3 + (double)(now.tv_nsec - logEpoch.tv_nsec) / 1e6;
    snprintf(head + o, sizeof(head) - (size_t)o, "%f %s:%d ", ms, where, line);
  } else if (level == ACCL_LOG_WARN) {
    snprintf(head + o, sizeof(head) - (size_t)o, "%s:%d ", where, line);
  }
  pthread_mutex_lock(&logLock);
  fprintf(logFile, "%sACCL %s %s\n", head, names[level], msg);
  fflush(logFile);
  pthread_mutex_unlock(&logLock);
}
