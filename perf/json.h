/* json.h - a streaming JSON writer for the -J record: values are written as
 * the run produces them (a row as soon as it is measured), so a run cut short
 * still leaves a document that json.close() completes. Compact output, no
 * whitespace, as nccl-tests writes it. One writer per process (the printer). */
#ifndef ACCL_PERF_JSON_H_
#define ACCL_PERF_JSON_H_

#include <stddef.h>
#include <stdio.h>

typedef struct perfJson {
  FILE* f;
  int depth;
  char kind[32]; /* per level: 'o' object, 'l' list */
  int count[32]; /* values written at that level */
  int afterKey;  /* a key was written; its value comes next */
} perfJson;

/* Opens path for writing without replacing a file: when path exists, path.0,
 * path.1, ... are tried. Returns the name used (static buffer) or NULL. */
const char* perfJsonOpen(perfJson* j, const char* path);
void perfJsonKey(perfJson* j, const char* key);
void perfJsonBeginObject(perfJson* j);
void perfJsonEndObject(perfJson* j);
void perfJsonBeginList(perfJson* j);
void perfJsonEndList(perfJson* j);
/* A string; NULL writes null. Escapes " \ / tab and newline; stops at any
 * other control or non-ASCII character so the document stays valid. */
void perfJsonString(perfJson* j, const char* s);
void perfJsonBool(perfJson* j, int v); /* "true" / "false", strings as nccl-tests writes them */
void perfJsonInt(perfJson* j, long long v);
void perfJsonSize(perfJson* j, size_t v);
void perfJsonDouble(perfJson* j, double v); /* %lf; NaN and infinities as strings "nan", "inf" */
void perfJsonNull(perfJson* j);
/* A key and its value in one call. */
void perfJsonKeyString(perfJson* j, const char* key, const char* s);
void perfJsonKeyBool(perfJson* j, const char* key, int v);
void perfJsonKeyInt(perfJson* j, const char* key, long long v);
void perfJsonKeySize(perfJson* j, const char* key, size_t v);
void perfJsonKeyDouble(perfJson* j, const char* key, double v);
int perfJsonDepth(const perfJson* j);
/* Closes every open level (a pending key gets null) and the file. */
void perfJsonClose(perfJson* j);

#endif
