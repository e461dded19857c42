/* param.c - the ACCL_ parameter table: lookup (environment, user conf file,
 * system conf file), the one rule for bad values, and the list parser. */
#include "core/param.h"
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/log.h"

const acclParamDef acclParamDefs[ACCL_NUM_PARAMS] = {
#define ACCL_PARAM_DEF(g, N, T, d, lo, hi, mult, sd, ch, shown, meaning) \
  {#N, ACCL_PARAM_T_##T, d, lo, hi, mult, sd, ch, shown, meaning},
    ACCL_PARAM_TABLE(ACCL_PARAM_DEF)
#undef ACCL_PARAM_DEF
};

typedef struct {
  int loaded, reported;
  char* raw;          /* strdup'ed value, NULL when unset */
  const char* source; /* "environment" or a conf file's path */
} cachedParam;
static cachedParam cache[ACCL_NUM_PARAMS];

/* The user's conf file, then the system's: the first that names a parameter wins. */
enum { CONF_USER, CONF_SYSTEM, NUM_CONFS };
static struct {
  char path[4096];
  char* text;
  int reported;
} confs[NUM_CONFS];
static int confLoaded;
static char systemConfPath[4096] = "/etc/acc-ccl.conf";
static pthread_mutex_t paramLock = PTHREAD_MUTEX_INITIALIZER;

int64_t acclParseSize(const char* s) {
  if (s == NULL || *s == '\0') return -1;
  errno = 0;
  char* end;
  long long v = strtoll(s, &end, 0);
  if (errno || end == s || v < 0) return -1;
  /* an optional binary unit K, M, G or T (then an optional B) */
  static const char units[] = "KMGT";
  int64_t mult = 1;
  if (*end != '\0') {
    const char* u = strchr(units, toupper((unsigned char)*end));
    if (u == NULL) return -1;
    mult = 1LL << (10 * (u - units + 1));
    end++;
    if (*end == 'B' || *end == 'b') end++;
  }
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

static char* readFile(const char* file) {
  FILE* f = fopen(file, "r");
  if (!f) return NULL;
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
  if (buf) buf[len] = '\0';
  return buf;
}

/* Called with paramLock held; logs nothing (the logger reads its settings
 * through here). */
static void loadConfs(void) {
  confLoaded = 1;
  const char* file = getenv("ACCL_CONF_FILE");
  confs[CONF_USER].path[0] = '\0';
  if (file && *file)
    snprintf(confs[CONF_USER].path, sizeof(confs[CONF_USER].path), "%s", file);
  else if (getenv("HOME"))
    snprintf(confs[CONF_USER].path, sizeof(confs[CONF_USER].path), "%s/.acc-ccl.conf", getenv("HOME"));
  snprintf(confs[CONF_SYSTEM].path, sizeof(confs[CONF_SYSTEM].path), "%s", systemConfPath);
  for (int c = 0; c < NUM_CONFS; c++) confs[c].text = confs[c].path[0] ? readFile(confs[c].path) : NULL;
}

/* Fork safety: a child never inherits the lock held (see log.c). */
static void paramLockAll(void) { pthread_mutex_lock(&paramLock); }
static void paramUnlockAll(void) { pthread_mutex_unlock(&paramLock); }
static void paramRegisterAtfork(void) { pthread_atfork(paramLockAll, paramUnlockAll, paramUnlockAll); }

const char* acclParamRaw(acclParamId id, const char** source) {
  static pthread_once_t atforkOnce = PTHREAD_ONCE_INIT;
  pthread_once(&atforkOnce, paramRegisterAtfork);
  if ((unsigned)id >= ACCL_NUM_PARAMS) {
    if (source) *source = NULL;
    return NULL;
  }
  pthread_mutex_lock(&paramLock);
  cachedParam* c = &cache[id];
  if (!c->loaded) {
    const char* name = acclParamDefs[id].name;
    char envName[80];
    snprintf(envName, sizeof(envName), "ACCL_%s", name);
    const char* v = getenv(envName);
    c->source = v ? "environment" : NULL;
    char confVal[1024];
    /* the conf file cannot name itself */
    if (v == NULL && id != ACCL_PARAM_CONF_FILE) {
      if (!confLoaded) loadConfs();
      for (int k = 0; k < NUM_CONFS && v == NULL; k++)
        if (acclConfLookup(confs[k].text, name, confVal, sizeof(confVal))) {
          v = confVal;
          c->source = confs[k].path;
        }
    }
    c->raw = v ? strdup(v) : NULL;
    c->loaded = 1;
  }
  const char* raw = c->raw;
  if (source) *source = c->source;
  pthread_mutex_unlock(&paramLock);
  return raw;
}

int acclParamIsSet(acclParamId id) { return acclParamRaw(id, NULL) != NULL; }

static const char* choiceAt(const char* choices, int idx, char* out, size_t outlen) {
  const char* p = choices;
  for (int i = 0; i < idx && p; i++) {
    p = strchr(p, ',');
    if (p) p++;
  }
  if (!p) return "";
  size_t l = strcspn(p, ",");
  if (l >= outlen) l = outlen - 1;
  memcpy(out, p, l);
  out[l] = '\0';
  return out;
}

int64_t acclParseNameList(const char* value, const char* choices, char* bad, size_t badlen) {
  int n = 1;
  for (const char* p = choices; *p; p++) n += *p == ',';
  int64_t all = (int64_t)((UINT64_C(1) << n) - 1);
  if (value == NULL || *value == '\0') return all;
  int invert = 0;
  if (*value == '^') {
    invert = 1;
    value++;
  }
  int64_t mask = 0;
  char buf[512];
  snprintf(buf, sizeof(buf), "%s", value);
  char* save = NULL;
  for (char* tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    while (isspace((unsigned char)*tok)) tok++;
    size_t tl = strlen(tok);
    while (tl > 0 && isspace((unsigned char)tok[tl - 1])) tok[--tl] = '\0';
    if (tl == 0) continue;
    int found = -1;
    char name[64];
    for (int i = 0; i < n && found < 0; i++)
      if (strcasecmp(tok, choiceAt(choices, i, name, sizeof(name))) == 0) found = i;
    if (found < 0) {
      if (bad && badlen) snprintf(bad, badlen, "%s", tok);
      return -1;
    }
    /* a choice named ALL stands for every choice */
    mask |= strcasecmp(tok, "ALL") == 0 ? all : (INT64_C(1) << found);
  }
  return invert ? (all & ~mask) : mask;
}

/* "16G" for round sizes, the number otherwise. */
static void fmtNumber(const acclParamDef* d, int64_t v, char* out, size_t outlen) {
  static const char units[] = "KMGT";
  if (d->type == ACCL_PARAM_T_SIZE && v > 0) {
    int u = -1;
    int64_t x = v;
    while (u < 3 && x % 1024 == 0) {
      x /= 1024;
      u++;
    }
    if (u >= 0) {
      snprintf(out, outlen, "%lld%c", (long long)x, units[u]);
      return;
    }
  }
  snprintf(out, outlen, "%lld", (long long)v);
}

static void choiceList(const char* choices, char* out, size_t outlen) {
  size_t o = 0;
  for (const char* p = choices; *p && o + 2 < outlen; p++) {
    out[o++] = *p;
    if (*p == ',' && o + 2 < outlen) out[o++] = ' ';
  }
  out[o] = '\0';
}

int acclParamResolve(acclParamId id, const char* raw, int64_t deflt, acclParamValue* out, char* warn, size_t warnlen) {
  const acclParamDef* d = &acclParamDefs[id];
  out->i = deflt;
  out->s = d->sdeflt;
  if (warnlen) warn[0] = '\0';
  char used[64], name[64], list[512];
  switch (d->type) {
    case ACCL_PARAM_T_STR:
      if (raw) out->s = raw;
      return 0;
    case ACCL_PARAM_T_ENUM: {
      int n = 1;
      for (const char* p = d->choices; *p; p++) n += *p == ',';
      int dflt = 0;
      for (int i = 0; i < n; i++)
        if (strcasecmp(choiceAt(d->choices, i, name, sizeof(name)), d->sdeflt) == 0) dflt = i;
      out->i = dflt;
      if (raw == NULL || *raw == '\0') return 0;
      for (int i = 0; i < n; i++)
        if (strcasecmp(raw, choiceAt(d->choices, i, name, sizeof(name))) == 0) {
          out->i = i;
          return 0;
        }
      choiceList(d->choices, list, sizeof(list));
      snprintf(warn, warnlen, "ACCL_%s=%s is not one of %s; using %s", d->name, raw, list, d->sdeflt);
      return 1;
    }
    case ACCL_PARAM_T_LIST: {
      out->i = acclParseNameList(d->sdeflt, d->choices, NULL, 0);
      if (raw == NULL || *raw == '\0') return 0;
      char bad[64];
      int64_t m = acclParseNameList(raw, d->choices, bad, sizeof(bad));
      if (m > 0) {
        out->i = m;
        return 0;
      }
      choiceList(d->choices, list, sizeof(list));
      const char* dshown = d->sdeflt ? d->sdeflt : "all of them";
      if (m < 0)
        snprintf(warn, warnlen, "ACCL_%s=%s: '%s' is not one of %s; using %s", d->name, raw, bad, list, dshown);
      else
        snprintf(warn, warnlen, "ACCL_%s=%s selects none of %s; using %s", d->name, raw, list, dshown);
      return 1;
    }
    default: break;
  }
  /* INT, SIZE, BOOL */
  if (raw == NULL || *raw == '\0') return 0;
  int64_t v = acclParseSize(raw);
  if (v < 0) {
    errno = 0;
    char* end;
    long long sv = strtoll(raw, &end, 0);
    if (errno != 0 || end == raw || *end != '\0') {
      fmtNumber(d, deflt, used, sizeof(used));
      snprintf(warn, warnlen, "ACCL_%s=%s is not a number; using %s", d->name, raw, used);
      return 1;
    }
    v = sv; /* negative */
  }
  int64_t w = v;
  const char* why = NULL;
  char bound[64];
  if (w < d->lo) {
    w = d->lo;
    why = "below";
  } else if (w > d->hi) {
    w = d->hi;
    why = "above";
  }
  if (why) {
    fmtNumber(d, w, bound, sizeof(bound));
    snprintf(warn, warnlen, "ACCL_%s=%s is %s the range's end %s; using %s", d->name, raw, why, bound, bound);
    out->i = w;
    return 1;
  }
  if (d->mult > 1 && w % d->mult != 0) {
    w -= w % d->mult;
    if (w < d->lo) w = d->lo;
    fmtNumber(d, w, used, sizeof(used));
    snprintf(warn, warnlen, "ACCL_%s=%s is not a multiple of %lld; using %s", d->name, raw, (long long)d->mult, used);
    out->i = w;
    return 1;
  }
  out->i = w;
  return 0;
}

/* Log once per parameter: where it was set, and what was wrong with it. */
static void report(acclParamId id, const char* raw, const char* source, int deflt_known, int64_t deflt) {
  pthread_mutex_lock(&paramLock);
  int first = !cache[id].reported;
  cache[id].reported = 1;
  int confFirst[NUM_CONFS] = {0};
  for (int k = 0; k < NUM_CONFS; k++)
    if (source == confs[k].path && !confs[k].reported) confFirst[k] = confs[k].reported = 1;
  pthread_mutex_unlock(&paramLock);
  if (!first) return;
  for (int k = 0; k < NUM_CONFS; k++)
    if (confFirst[k]) INFO(ACCL_ENV, "read parameters from %s", confs[k].path);
  if (raw == NULL) return;
  INFO(ACCL_ENV, "ACCL_%s set by %s to %s", acclParamDefs[id].name, source, raw);
  acclParamValue v;
  char warn[640];
  if (acclParamResolve(id, raw, deflt_known ? deflt : acclParamDefs[id].deflt, &v, warn, sizeof(warn)))
    WARN("%s", warn);
}

void acclParamReport(acclParamId id) {
  const char* source;
  const char* raw = acclParamRaw(id, &source);
  report(id, raw, source, 0, 0);
}

static int64_t getValue(acclParamId id, int64_t deflt, const char** s) {
  const char* source;
  const char* raw = acclParamRaw(id, &source);
  acclParamValue v;
  char warn[8];
  acclParamResolve(id, raw, deflt, &v, warn, sizeof(warn));
  report(id, raw, source, 1, deflt);
  if (s) *s = v.s;
  return v.i;
}

int64_t acclParamGetIntDefault(acclParamId id, int64_t deflt) { return getValue(id, deflt, NULL); }
int64_t acclParamGetInt(acclParamId id) { return getValue(id, acclParamDefs[id].deflt, NULL); }
int acclParamGetEnum(acclParamId id) { return (int)getValue(id, 0, NULL); }
uint32_t acclParamGetList(acclParamId id) { return (uint32_t)getValue(id, 0, NULL); }
const char* acclParamGetStr(acclParamId id) {
  const char* s = NULL;
  getValue(id, 0, &s);
  return s;
}

void acclParamSetSystemConf(const char* path) {
  pthread_mutex_lock(&paramLock);
  snprintf(systemConfPath, sizeof(systemConfPath), "%s", path);
  pthread_mutex_unlock(&paramLock);
}

size_t acclParamReadmeTable(char* out, size_t outlen) {
  size_t o = 0;
  for (int i = 0; i < ACCL_NUM_PARAMS; i++) {
    const acclParamDef* d = &acclParamDefs[i];
    char range[600], lo[64], hi[64], list[512];
    switch (d->type) {
      case ACCL_PARAM_T_INT:
      case ACCL_PARAM_T_SIZE:
        fmtNumber(d, d->lo, lo, sizeof(lo));
        fmtNumber(d, d->hi, hi, sizeof(hi));
        if (d->mult > 1)
          snprintf(range, sizeof(range), "%s..%s, multiple of %lld", lo, hi, (long long)d->mult);
        else
          snprintf(range, sizeof(range), "%s..%s", lo, hi);
        break;
      case ACCL_PARAM_T_BOOL: snprintf(range, sizeof(range), "0, 1"); break;
      case ACCL_PARAM_T_ENUM:
        choiceList(d->choices, list, sizeof(list));
        snprintf(range, sizeof(range), "%s", list);
        break;
      case ACCL_PARAM_T_LIST:
        choiceList(d->choices, list, sizeof(list));
        snprintf(range, sizeof(range), "list of %s; `^` negates", list);
        break;
      default: snprintf(range, sizeof(range), "text"); break;
    }
    int n = snprintf(o < outlen ? out + o : NULL, o < outlen ? outlen - o : 0, "| `ACCL_%s` | %s | %s | %s |\n",
                     d->name, d->shown, range, d->meaning);
    if (n > 0) o += (size_t)n;
  }
  return o;
}

void acclParamReset(void) {
  pthread_mutex_lock(&paramLock);
  /* For tests that change the environment: values handed out before are no
   * longer valid afterwards. */
  for (int i = 0; i < ACCL_NUM_PARAMS; i++) {
    free(cache[i].raw);
    memset(&cache[i], 0, sizeof(cache[i]));
  }
  for (int k = 0; k < NUM_CONFS; k++) {
    free(confs[k].text);
    confs[k].text = NULL;
    confs[k].reported = 0;
  }
  confLoaded = 0;
  pthread_mutex_unlock(&paramLock);
}
