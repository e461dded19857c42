/* xml.c - strict XML reader with line numbers (see xml.h). */
#include "topology/xml.h"
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define XML_MAX_FILE_BYTES (16 << 20) /* topology files are small; refuse anything absurd */
#define XML_MAX_DEPTH 64

typedef struct {
  const char* p;
  int line;
  acclXmlDoc* doc;
  int cap;
} parser;

static acclResult_t errorAt(const char* path, int line, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
static acclResult_t errorAt(const char* path, int line, const char* fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  ACCL_ERROR(acclInvalidArgument, "%s:%d: %s", path, line, msg);
}

acclResult_t acclXmlError(const acclXmlDoc* doc, const acclXmlElem* e, const char* fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  return errorAt(doc->path, e->line, "<%s>: %s", e->name, msg);
}

static void advance(parser* ps, size_t n) {
  for (size_t i = 0; i < n && *ps->p; i++, ps->p++)
    if (*ps->p == '\n') ps->line++;
}

static void skipSpace(parser* ps) {
  while (*ps->p && isspace((unsigned char)*ps->p)) advance(ps, 1);
}

static int isNameChar(char c) { return isalnum((unsigned char)c) || c == '_' || c == '-' || c == ':' || c == '.'; }

static char* readName(parser* ps) {
  const char* s = ps->p;
  if (!(isalpha((unsigned char)*s) || *s == '_')) return NULL;
  while (isNameChar(*ps->p)) ps->p++;
  return strndup(s, (size_t)(ps->p - s));
}

/* Decode the entities of an attribute value [s, e) into a new string. */
static acclResult_t decodeValue(parser* ps, const char* s, const char* e, char** out) {
  char* v = malloc((size_t)(e - s) + 1);
  if (!v) return acclSystemError;
  size_t n = 0;
  static const struct {
    const char* ent;
    char c;
  } ents[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
  while (s < e) {
    if (*s == '<') {
      free(v);
      return errorAt(ps->doc->path, ps->line, "'<' inside an attribute value");
    }
    if (*s != '&') {
      v[n++] = *s++;
      continue;
    }
    int found = 0;
    for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
      size_t l = strlen(ents[i].ent);
      if ((size_t)(e - s) >= l && strncmp(s, ents[i].ent, l) == 0) {
        v[n++] = ents[i].c;
        s += l;
        found = 1;
        break;
      }
    }
    if (!found) {
      free(v);
      return errorAt(ps->doc->path, ps->line, "unknown entity in an attribute value");
    }
  }
  v[n] = '\0';
  *out = v;
  return acclSuccess;
}

static acclResult_t newElem(parser* ps, char* name, int parent, int* idx) {
  acclXmlDoc* d = ps->doc;
  if (d->nelems == ps->cap) {
    int ncap = ps->cap ? ps->cap * 2 : 32;
    acclXmlElem* ne = realloc(d->elems, sizeof(*ne) * (size_t)ncap);
    if (!ne) {
      free(name);
      return acclSystemError;
    }
    d->elems = ne;
    ps->cap = ncap;
  }
  *idx = d->nelems++;
  d->elems[*idx] = (acclXmlElem){name, ps->line, parent, 0, NULL};
  return acclSuccess;
}

static acclResult_t addAttr(parser* ps, acclXmlElem* el, char* name, char* value) {
  if (acclXmlAttrGet(el, name)) {
    acclResult_t r = errorAt(ps->doc->path, ps->line, "<%s>: attribute %s given twice", el->name, name);
    free(name);
    free(value);
    return r;
  }
  acclXmlAttr* na = realloc(el->attrs, sizeof(*na) * (size_t)(el->nattrs + 1));
  if (!na) {
    free(name);
    free(value);
    return acclSystemError;
  }
  el->attrs = na;
  el->attrs[el->nattrs++] = (acclXmlAttr){name, value};
  return acclSuccess;
}

/* Parse the inside of a start tag after its name; sets *selfClosed. */
static acclResult_t parseAttrs(parser* ps, int idx, int* selfClosed) {
  const char* path = ps->doc->path;
  for (;;) {
    skipSpace(ps);
    acclXmlElem* el = &ps->doc->elems[idx];
    if (*ps->p == '/' && ps->p[1] == '>') {
      advance(ps, 2);
      *selfClosed = 1;
      return acclSuccess;
    }
    if (*ps->p == '>') {
      advance(ps, 1);
      *selfClosed = 0;
      return acclSuccess;
    }
    if (*ps->p == '\0') return errorAt(path, ps->line, "<%s>: end of file inside the tag", el->name);
    char* an = readName(ps);
    if (!an) return errorAt(path, ps->line, "<%s>: expected an attribute name, '>' or '/>'", el->name);
    skipSpace(ps);
    if (*ps->p != '=') {
      acclResult_t r = errorAt(path, ps->line, "<%s>: attribute %s has no '=\"value\"'", el->name, an);
      free(an);
      return r;
    }
    advance(ps, 1);
    skipSpace(ps);
    char q = *ps->p;
    if (q != '"' && q != '\'') {
      acclResult_t r = errorAt(path, ps->line, "<%s>: value of attribute %s is not quoted", el->name, an);
      free(an);
      return r;
    }
    const char* s = ps->p + 1;
    const char* e = strchr(s, q);
    if (!e) {
      acclResult_t r = errorAt(path, ps->line, "<%s>: unterminated value of attribute %s", el->name, an);
      free(an);
      return r;
    }
    char* val = NULL;
    acclResult_t r = decodeValue(ps, s, e, &val);
    if (r != acclSuccess) {
      free(an);
      return r;
    }
    advance(ps, (size_t)(e + 1 - ps->p));
    ACCLCHECK(addAttr(ps, &ps->doc->elems[idx], an, val));
  }
}

static acclResult_t parseDoc(parser* ps) {
  const char* path = ps->doc->path;
  int stack[XML_MAX_DEPTH];
  int depth = 0, sawRoot = 0;
  for (;;) {
    skipSpace(ps);
    if (*ps->p == '\0') break;
    if (*ps->p != '<') return errorAt(path, ps->line, "text outside of a tag is not allowed here");
    if (strncmp(ps->p, "<!--", 4) == 0) {
      const char* e = strstr(ps->p + 4, "-->");
      if (!e) return errorAt(path, ps->line, "unterminated comment");
      advance(ps, (size_t)(e + 3 - ps->p));
      continue;
    }
    if (strncmp(ps->p, "<?", 2) == 0) {
      if (sawRoot || depth) return errorAt(path, ps->line, "processing instruction after the root element");
      const char* e = strstr(ps->p, "?>");
      if (!e) return errorAt(path, ps->line, "unterminated <?...?>");
      advance(ps, (size_t)(e + 2 - ps->p));
      continue;
    }
    if (ps->p[1] == '!') return errorAt(path, ps->line, "DOCTYPE and CDATA are not supported");
    if (ps->p[1] == '/') {
      advance(ps, 2);
      char* name = readName(ps);
      if (!name) return errorAt(path, ps->line, "malformed closing tag");
      skipSpace(ps);
      if (*ps->p != '>') {
        free(name);
        return errorAt(path, ps->line, "malformed closing tag");
      }
      advance(ps, 1);
      if (depth == 0) {
        acclResult_t r = errorAt(path, ps->line, "closing tag </%s> without an open element", name);
        free(name);
        return r;
      }
      const acclXmlElem* open = &ps->doc->elems[stack[depth - 1]];
      if (strcmp(open->name, name) != 0) {
        acclResult_t r = errorAt(path, ps->line, "closing tag </%s> does not match <%s> opened at line %d", name,
                                 open->name, open->line);
        free(name);
        return r;
      }
      free(name);
      depth--;
      continue;
    }
    advance(ps, 1);
    char* name = readName(ps);
    if (!name) return errorAt(path, ps->line, "malformed tag (expected an element name after '<')");
    if (depth == 0 && sawRoot) {
      acclResult_t r = errorAt(path, ps->line, "second root element <%s>", name);
      free(name);
      return r;
    }
    if (depth == XML_MAX_DEPTH) {
      free(name);
      return errorAt(path, ps->line, "elements nested too deeply");
    }
    int idx;
    ACCLCHECK(newElem(ps, name, depth ? stack[depth - 1] : -1, &idx));
    sawRoot = 1;
    int selfClosed = 0;
    ACCLCHECK(parseAttrs(ps, idx, &selfClosed));
    if (!selfClosed) stack[depth++] = idx;
  }
  if (depth) {
    const acclXmlElem* open = &ps->doc->elems[stack[depth - 1]];
    return errorAt(path, ps->line, "end of file: <%s> opened at line %d is not closed", open->name, open->line);
  }
  if (!sawRoot) return errorAt(path, ps->line, "no root element");
  return acclSuccess;
}

acclResult_t acclXmlParse(const char* text, const char* path, acclXmlDoc** out) {
  acclXmlDoc* doc = calloc(1, sizeof(*doc));
  if (!doc) return acclSystemError;
  snprintf(doc->path, sizeof(doc->path), "%s", path ? path : "(string)");
  parser ps = {text, 1, doc, 0};
  acclResult_t r = parseDoc(&ps);
  if (r != acclSuccess) {
    acclXmlFree(doc);
    return r;
  }
  *out = doc;
  return acclSuccess;
}

acclResult_t acclXmlParseFile(const char* path, acclXmlDoc** out) {
  FILE* f = fopen(path, "r");
  if (!f) { ACCL_ERROR(acclInvalidArgument, "cannot open topology file %s: %s", path, strerror(errno)); }
  char* buf = malloc(XML_MAX_FILE_BYTES + 1);
  if (!buf) {
    fclose(f);
    return acclSystemError;
  }
  size_t n = fread(buf, 1, XML_MAX_FILE_BYTES + 1, f);
  fclose(f);
  if (n > XML_MAX_FILE_BYTES) {
    free(buf);
    return errorAt(path, 1, "file larger than %d bytes", XML_MAX_FILE_BYTES);
  }
  buf[n] = '\0';
  if (strlen(buf) != n) {
    free(buf);
    return errorAt(path, 1, "file contains a NUL byte");
  }
  acclResult_t r = acclXmlParse(buf, path, out);
  free(buf);
  return r;
}

void acclXmlFree(acclXmlDoc* doc) {
  if (!doc) return;
  for (int i = 0; i < doc->nelems; i++) {
    for (int a = 0; a < doc->elems[i].nattrs; a++) {
      free(doc->elems[i].attrs[a].name);
      free(doc->elems[i].attrs[a].value);
    }
    free(doc->elems[i].attrs);
    free(doc->elems[i].name);
  }
  free(doc->elems);
  free(doc);
}

const char* acclXmlAttrGet(const acclXmlElem* e, const char* name) {
  for (int a = 0; a < e->nattrs; a++)
    if (strcmp(e->attrs[a].name, name) == 0) return e->attrs[a].value;
  return NULL;
}

acclResult_t acclXmlCheckAttrs(const acclXmlDoc* doc, const acclXmlElem* e, const char* const* allowed) {
  for (int a = 0; a < e->nattrs; a++) {
    int ok = 0;
    for (int k = 0; allowed[k]; k++)
      if (strcmp(allowed[k], e->attrs[a].name) == 0) ok = 1;
    if (!ok) return acclXmlError(doc, e, "unknown attribute %s", e->attrs[a].name);
  }
  return acclSuccess;
}

/* Attribute `name` as an int (base 10, in int's range) or a finite double.
 * Absent: an error if required, else *set stays 0 and nothing is read. */
static acclResult_t getNumber(const acclXmlDoc* doc, const acclXmlElem* e, const char* name, int required, int integer,
                              double* v, int* set) {
  const char* s = acclXmlAttrGet(e, name);
  *set = 0;
  if (!s) return required ? acclXmlError(doc, e, "missing attribute %s", name) : acclSuccess;
  char* end;
  errno = 0;
  double x = integer ? (double)strtol(s, &end, 10) : strtod(s, &end);
  if (errno || end == s || *end != '\0' || (integer ? x < INT_MIN || x > INT_MAX : !isfinite(x)))
    return acclXmlError(doc, e, "attribute %s=\"%s\" is not %s", name, s, integer ? "an integer" : "a number");
  *v = x;
  *set = 1;
  return acclSuccess;
}

acclResult_t acclXmlGetInt(const acclXmlDoc* doc, const acclXmlElem* e, const char* name, int required, int* v) {
  double x;
  int set;
  ACCLCHECK(getNumber(doc, e, name, required, 1, &x, &set));
  if (set) *v = (int)x;
  return acclSuccess;
}

acclResult_t acclXmlGetDouble(const acclXmlDoc* doc, const acclXmlElem* e, const char* name, int required, double* v) {
  int set;
  return getNumber(doc, e, name, required, 0, v, &set);
}

acclResult_t acclXmlGetIntList(const acclXmlDoc* doc, const acclXmlElem* e, const char* name, int** list, int* n) {
  const char* s = acclXmlAttrGet(e, name);
  *list = NULL;
  *n = 0;
  if (!s) return acclXmlError(doc, e, "missing attribute %s", name);
  int cap = 1;
  for (const char* c = s; *c; c++)
    if (*c == ',') cap++;
  int* l = malloc(sizeof(int) * (size_t)cap);
  if (!l) return acclSystemError;
  int k = 0;
  const char* c = s;
  while (*c) {
    char* end;
    errno = 0;
    long x = strtol(c, &end, 10);
    if (errno || end == c || x < INT_MIN || x > INT_MAX || (*end != ',' && *end != '\0')) {
      free(l);
      return acclXmlError(doc, e, "attribute %s=\"%s\" is not a comma-separated list of integers", name, s);
    }
    l[k++] = (int)x;
    c = (*end == ',') ? end + 1 : end;
    if (*end == ',' && *c == '\0') {
      free(l);
      return acclXmlError(doc, e, "attribute %s=\"%s\" ends with a comma", name, s);
    }
  }
  *list = l;
  *n = k;
  return acclSuccess;
}

void acclXmlWriteEscaped(FILE* f, const char* s) {
  for (; *s; s++) {
    switch (*s) {
      case '<': fputs("&lt;", f); break;
      case '>': fputs("&gt;", f); break;
      case '&': fputs("&amp;", f); break;
      case '"': fputs("&quot;", f); break;
      default: fputc(*s, f);
    }
  }
}

acclResult_t acclXmlWriteFile(const char* path, const char* what, acclResult_t (*write)(const void* obj, FILE* f),
                              const void* obj) {
  FILE* f = fopen(path, "w");
  if (!f) ACCL_ERROR(acclSystemError, "cannot write %s %s: %s", what, path, strerror(errno));
  acclResult_t res = write(obj, f);
  if (fclose(f) != 0) res = acclSystemError;
  if (res != acclSuccess) WARN("writing %s %s failed", what, path);
  return res;
}
