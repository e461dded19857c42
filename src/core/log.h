/* log.h - the one log idiom, in NCCL's format. ACCL_DEBUG selects the level,
 * ACCL_DEBUG_SUBSYS the subsystems (comma list, ^ negates), ACCL_DEBUG_FILE
 * the destination (%h host, %p pid), ACCL_DEBUG_TIMESTAMP_FORMAT /
 * ACCL_DEBUG_TIMESTAMP_LEVELS a time stamp in front. Lines:
 *   [stamp] host:pid:tid [dev] ACCL INFO message
 *   [stamp] host:pid:tid [dev] file:line ACCL WARN message
 *   [stamp] host:pid:tid [dev] ms file:line ACCL TRACE message
 * dev is the device the thread works for (its communicator's, else the one
 * accSetDevice chose, else 0); ms counts from the logger's start. */
#ifndef ACCL_LOG_H_
#define ACCL_LOG_H_

#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef enum {
  ACCL_LOG_NONE = 0,
  ACCL_LOG_VERSION = 1,
  ACCL_LOG_WARN = 2,
  ACCL_LOG_INFO = 3,
  ACCL_LOG_TRACE = 4
} acclLogLevel;

typedef enum {
  ACCL_INIT = 1u << 0,
  ACCL_BOOTSTRAP = 1u << 1,
  ACCL_COLL = 1u << 2,
  ACCL_P2P = 1u << 3,
  ACCL_SHM = 1u << 4,
  ACCL_NET = 1u << 5,
  ACCL_TOPO = 1u << 6,
  ACCL_TUNING = 1u << 7,
  ACCL_DEV = 1u << 8,
  ACCL_ENV = 1u << 9,
  ACCL_ALL = 0xffffffffu
} acclLogSubsys;

extern int acclLogLevelCur; /* -1 until the environment has been read */
extern uint32_t acclLogSubsysMask;
extern __thread int acclLogDevice; /* device shown in this thread's log lines */

void acclLogInit(void);
void acclLog(acclLogLevel level, uint32_t subsys, const char* file, int line, const char* fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Cheap test first so disabled levels cost one load and a branch. */
#define ACCL_LOG_ON(level, subsys) \
  (acclLogLevelCur < 0 ? (acclLogInit(), 0) : 0, acclLogLevelCur >= (level) && (acclLogSubsysMask & (subsys)))

#define WARN(...) acclLog(ACCL_LOG_WARN, ACCL_ALL, __FILE__, __LINE__, __VA_ARGS__)
#define INFO(subsys, ...)                                                                                        \
  do {                                                                                                           \
    if (ACCL_LOG_ON(ACCL_LOG_INFO, (subsys))) acclLog(ACCL_LOG_INFO, (subsys), __FILE__, __LINE__, __VA_ARGS__); \
  } while (0)
#define TRACE(subsys, ...)                                                                                         \
  do {                                                                                                             \
    if (ACCL_LOG_ON(ACCL_LOG_TRACE, (subsys))) acclLog(ACCL_LOG_TRACE, (subsys), __FILE__, __LINE__, __VA_ARGS__); \
  } while (0)

/* Pure helpers, exposed for unit tests. */
int acclLogParseLevel(const char* s);       /* -> acclLogLevel, WARN if NULL/unknown */
uint32_t acclLogParseSubsys(const char* s); /* "INIT,NET" / "^SHM" / "ALL"; NULL: the default set */
/* Format the time stamp for ACCL_DEBUG_TIMESTAMP_FORMAT (strftime, '_' is a
 * space) of time t into out. */
void acclLogFormatStamp(const char* fmt, time_t t, char* out, size_t outlen);
/* Tests: forget the settings read so far; the next line reads them again. */
void acclLogReset(void);
/* Expand %h (hostname) and %p (pid) in a file name pattern. Returns 0 or -1 if too long. */
int acclLogExpandPath(const char* pattern, const char* host, int pid, char* out, size_t outlen);

#endif
