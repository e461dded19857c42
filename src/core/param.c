/* param.c - ACCL_ parameters from the environment or a conf file (env wins). */
#include "core/param.h"
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/log.h"

#define MAX_PARAMS 128
typedef struct {
  char name[64];
  char* value;
} cachedParam;
static cachedParam cache[MAX_PARAMS];
static int ncache;
static char* confText;
static int confLoaded;
static pthread_mutex_t paramLock = PTHREAD_MUTEX_INITIALIZER;

int64_t acclParseSize(const char* s) {
  if (s == NULL || *s == '\0') return -1;
  errno = 0;
  char* end;
  long long v = strtoll(s, &end, 0);
  if (errno || end == s || v < 0) return -1;
  int64_t mult = 1;
  switch (toupper((unsigned char)*end)) {
    case '\0': break;
    case 'K':
      mult = 1LL << 10;
      end++;
      break;
    case 'M':
      mult = 1LL << 20;
      end++;
      break;
    case 'G':
      mult = 1LL << 30;
      end++;
      break;
    case 'T':
      mult = 1LL << 40;
      end++;
      break;
    default: return -1;
  }
  if (*end == 'B' || *end == 'b') end++;
  if (*end != '\0') return -1;
  if (v > INT64_MAX / mult) return -1;
  return v * mult;
}

int acclConfLookup(const char* text, const char* name, char* out, size_t outlen) {
  if (text == NULL) return 0;
  size_t nlen = strlen(name);
  const char* p = text;
  while (*p) {
    const char* eol = strchr(p, '\n');
    if (!eol) eol = p + strlen(p);
    const char* s = p;
    while (s < eol && isspace((unsigned char)*s)) s++;
    if (s < eol && *s != '#') {
      if ((size_t)(eol - s) > 5 && strncmp(s, "ACCL_", 5) == 0) s += 5;
      if ((size_t)(eol - s) > nlen && strncmp(s, name, nlen) == 0) {
        const char* q = s + nlen;
        while (q < eol && (*q == ' ' || *q == '\t')) q++;
        if (q < eol && *q == '=') {
          q++;
          while (q < eol && isspace((unsigned char)*q)) q++;
          const char* e = eol;
          while (e > q && isspace((unsigned char)e[-1])) e--;
          size_t l = (size_t)(e - q);
          if (l >= outlen) l = outlen - 1;
          memcpy(out, q, l);
          out[l] = '\0';
          return 1;
        }
      }
    }
    p = *eol ? eol + 1 : eol;
  }
  return 0;
}

static void loadConf(void) {
  confLoaded = 1;
  char path[4096];
  const char* file = getenv("ACCL_CONF_FILE");
  if (file == NULL || *file == '\0') {
    const char* home = getenv("HOME");
    if (home == NULL) return;
    snprintf(path, sizeof(path), "%s/.acc-ccl.conf", home);
    file = path;
  }
  FILE* f = fopen(file, "r");
  if (!f) return;
  size_t cap = 4096, len = 0;
  char* buf = malloc(cap);
  size_t n;
  while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
    len += n;
    if (cap - len - 1 == 0) {
      char* nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if (buf) {
    buf[len] = '\0';
    confText = buf;
  }
  INFO(ACCL_ENV, "read parameters from %s", file);
}

/* Fork safety: a child never inherits the lock held (see log.c). */
static void paramLockAll(void) { pthread_mutex_lock(&paramLock); }
static void paramUnlockAll(void) { pthread_mutex_unlock(&paramLock); }
static void paramRegisterAtfork(void) { pthread_atfork(paramLockAll, paramUnlockAll, paramUnlockAll); }

const char* acclParamStr(const char* name, const char* deflt) {
  static pthread_once_t atforkOnce = PTHREAD_ONCE_INIT;
  pthread_once(&atforkOnce, paramRegisterAtfork);
  pthread_mutex_lock(&paramLock);
  for (int i = 0; i < ncache; i++)
    if (strcmp(cache[i].name, name) == 0) {
      const char* v = cache[i].value;
      pthread_mutex_unlock(&paramLock);
      return v ? v : deflt;
    }
  char envName[80];
  snprintf(envName, sizeof(envName), "ACCL_%s", name);
  const char* v = getenv(envName);
  const char* src = "environment";
  char confVal[1024];
  if (v == NULL) {
    if (!confLoaded) loadConf();
    if (acclConfLookup(confText, name, confVal, sizeof(confVal))) {
      v = confVal;
      src = "conf file";
    }
  }
  char* stored = v ? strdup(v) : NULL;
  if (ncache < MAX_PARAMS) {
    snprintf(cache[ncache].name, sizeof(cache[ncache].name), "%s", name);
    cache[ncache].value = stored;
    ncache++;
  }
  pthread_mutex_unlock(&paramLock);
  if (stored) INFO(ACCL_ENV, "%s set by %s to %s", envName, src, stored);
  return stored ? stored : deflt;
}

int64_t acclParamInt(const char* name, int64_t deflt) {
  const char* s = acclParamStr(name, NULL);
  if (s == NULL) return deflt;
  int64_t v = acclParseSize(s);
  if (v < 0) {
    errno = 0;
    char* end;
    long long sv = strtoll(s, &end, 0);
    if (errno == 0 && end != s && *end == '\0') return sv; /* negative values */
    WARN("invalid value '%s' for ACCL_%s, using default %lld", s, name, (long long)deflt);
    return deflt;
  }
  return v;
}

void acclParamReset(void) {
  pthread_mutex_lock(&paramLock);
  /* For tests that change the environment: values handed out before are no
   * longer valid afterwards. */
  for (int i = 0; i < ncache; i++) free(cache[i].value);
  ncache = 0;
  confLoaded = 0;
  free(confText);
  confText = NULL;
  pthread_mutex_unlock(&paramLock);
}
