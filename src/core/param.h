/* param.h - configuration parameters. A parameter NAME is read from the
 * environment as ACCL_NAME, else from ACCL_CONF_FILE (or ~/.acc-ccl.conf,
 * lines NAME=value with or without the ACCL_ prefix, '#' comments); the
 * environment wins. Each parameter read is logged once at INFO/ENV. */
#ifndef ACCL_PARAM_H_
#define ACCL_PARAM_H_

#include <stdint.h>
#include <stddef.h>

/* name is without the ACCL_ prefix, e.g. "NCHANNELS". */
int64_t acclParamInt(const char* name, int64_t deflt);
/* Returns the value or deflt (may be NULL). The string stays valid for the process's life. */
const char* acclParamStr(const char* name, const char* deflt);
/* Parse "16G", "512M", "4096" into bytes; -1 when malformed. */
int64_t acclParseSize(const char* s);
/* Forget cached values (tests change the environment between cases); strings
 * returned before are freed. */
void acclParamReset(void);

/* Pure helper for tests: look NAME up in the text of a conf file. Returns 1 and
 * copies the value into out when found, 0 otherwise. */
int acclConfLookup(const char* text, const char* name, char* out, size_t outlen);

#endif
