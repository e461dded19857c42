/* xml.h - a small, strict XML reader for topology and graph files.
 * It keeps the line of every element so errors can say "file:line: problem".
 * Supported: prolog (<?xml ...?>), comments, elements with quoted attributes,
 * self-closing tags, the five predefined entities. Text content other than
 * whitespace, unclosed or mismatched tags and duplicate attributes are errors. */
#ifndef ACCL_TOPO_XML_H_
#define ACCL_TOPO_XML_H_

#include <stdio.h>
#include "core/core.h"

typedef struct {
  char* name;
  char* value;
} acclXmlAttr;

typedef struct {
  char* name;
  int line;
  int parent; /* index of the parent element, -1 for the root */
  int nattrs;
  acclXmlAttr* attrs;
} acclXmlElem;

typedef struct {
  char path[256]; /* file name used in error messages */
  int nelems;     /* elements in document order; elems[0] is the root */
  acclXmlElem* elems;
} acclXmlDoc;

/* Parse text; `path` only names it in errors. Errors WARN and set the last error. */
acclResult_t acclXmlParse(const char* text, const char* path, acclXmlDoc** out);
acclResult_t acclXmlParseFile(const char* path, acclXmlDoc** out);
void acclXmlFree(acclXmlDoc* doc);

/* Report a problem with element e: "path:line: <name>: message". Returns acclInvalidArgument. */
acclResult_t acclXmlError(const acclXmlDoc* doc, const acclXmlElem* e, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

const char* acclXmlAttrGet(const acclXmlElem* e, const char* name);
/* Every attribute of e must be in the NULL-terminated list `allowed`. */
acclResult_t acclXmlCheckAttrs(const acclXmlDoc* doc, const acclXmlElem* e, const char* const* allowed);
/* Typed attributes. required=0 leaves *v untouched when the attribute is absent. */
acclResult_t acclXmlGetInt(const acclXmlDoc* doc, const acclXmlElem* e, const char* name, int required, int* v);
acclResult_t acclXmlGetDouble(const acclXmlDoc* doc, const acclXmlElem* e, const char* name, int required, double* v);
/* Comma-separated integers into a malloc'd array (*n entries; empty string gives 0). */
acclResult_t acclXmlGetIntList(const acclXmlDoc* doc, const acclXmlElem* e, const char* name, int** list, int* n);

/* Write s with XML escapes for attribute values. */
void acclXmlWriteEscaped(FILE* f, const char* s);
/* Write an XML file: write(obj, f) into path; what ("graph dump") names it
 * in the WARN of a failure. */
acclResult_t acclXmlWriteFile(const char* path, const char* what, acclResult_t (*write)(const void* obj, FILE* f),
                              const void* obj);

#endif
