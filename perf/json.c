/* json.c - the streaming JSON writer of the -J record (see json.h). */
#include "json.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char* perfJsonOpen(perfJson* j, const char* path) {
  static char name[4096];
  memset(j, 0, sizeof(*j));
  snprintf(name, sizeof(name), "%s", path);
  for (int n = 0;; n++) {
    int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
      j->f = fdopen(fd, "w");
      if (j->f == NULL) close(fd);
      return j->f ? name : NULL;
    }
    if (errno != EEXIST || n > 100000) return NULL;
    snprintf(name, sizeof(name), "%s.%d", path, n);
  }
}

/* Before a value: its separator, and the key's slot consumed. */
static void beforeValue(perfJson* j) {
  if (j->afterKey) {
    j->afterKey = 0;
    return;
  }
  if (j->depth > 0 && j->count[j->depth - 1]++ > 0) fputc(',', j->f);
}

static void writeEscaped(FILE* f, const char* s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\' || c == '/') {
      fputc('\\', f);
      fputc(c, f);
    } else if (c == '\t') {
      fputs("\\t", f);
    } else if (c == '\n') {
      fputs("\\n", f);
    } else if (c < 0x20 || c >= 0x7f) {
      break;
    } else {
      fputc(c, f);
    }
  }
  fputc('"', f);
}

void perfJsonKey(perfJson* j, const char* key) {
  if (j->depth > 0 && j->count[j->depth - 1]++ > 0) fputc(',', j->f);
  writeEscaped(j->f, key);
  fputc(':', j->f);
  j->afterKey = 1;
}

static void begin(perfJson* j, char kind) {
  beforeValue(j);
  fputc(kind == 'o' ? '{' : '[', j->f);
  if (j->depth < (int)sizeof(j->kind)) {
    j->kind[j->depth] = kind;
    j->count[j->depth] = 0;
    j->depth++;
  }
}

static void end(perfJson* j) {
  if (j->depth == 0) return;
  j->depth--;
  fputc(j->kind[j->depth] == 'o' ? '}' : ']', j->f);
}

void perfJsonBeginObject(perfJson* j) { begin(j, 'o'); }
void perfJsonEndObject(perfJson* j) { end(j); }
void perfJsonBeginList(perfJson* j) { begin(j, 'l'); }
void perfJsonEndList(perfJson* j) { end(j); }

void perfJsonString(perfJson* j, const char* s) {
  if (s == NULL) {
    perfJsonNull(j);
    return;
  }
  beforeValue(j);
  writeEscaped(j->f, s);
}

void perfJsonBool(perfJson* j, int v) { perfJsonString(j, v ? "true" : "false"); }

void perfJsonInt(perfJson* j, long long v) {
  beforeValue(j);
  fprintf(j->f, "%lld", v);
}

void perfJsonSize(perfJson* j, size_t v) {
  beforeValue(j);
  fprintf(j->f, "%zu", v);
}

void perfJsonDouble(perfJson* j, double v) {
  beforeValue(j);
  /* NaN (nccl-tests' choice) and infinities (a zero time) as strings: JSON has no such numbers. */
  if (v != v)
    fputs("\"nan\"", j->f);
  else if (isinf(v))
    fputs(v > 0 ? "\"inf\"" : "\"-inf\"", j->f);
  else
    fprintf(j->f, "%lf", v);
}

void perfJsonNull(perfJson* j) {
  beforeValue(j);
  fputs("null", j->f);
}

int perfJsonDepth(const perfJson* j) { return j->depth; }

void perfJsonClose(perfJson* j) {
  if (j->f == NULL) return;
  if (j->afterKey) perfJsonNull(j);
  while (j->depth > 0) end(j);
  fclose(j->f);
  j->f = NULL;
}

void perfJsonKeyString(perfJson* j, const char* key, const char* s) {
  perfJsonKey(j, key);
  perfJsonString(j, s);
}

void perfJsonKeyBool(perfJson* j, const char* key, int v) {
  perfJsonKey(j, key);
  perfJsonBool(j, v);
}

void perfJsonKeyInt(perfJson* j, const char* key, long long v) {
  perfJsonKey(j, key);
  perfJsonInt(j, v);
}

void perfJsonKeySize(perfJson* j, const char* key, size_t v) {
  perfJsonKey(j, key);
  perfJsonSize(j, v);
}

void perfJsonKeyDouble(perfJson* j, const char* key, double v) {
  perfJsonKey(j, key);
  perfJsonDouble(j, v);
}
