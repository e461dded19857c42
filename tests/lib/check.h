/* check.h - the check of single-process tests without a test framework:
 * a failed condition prints its location and makes the test function
 * return 1. Header-only. */
#ifndef ACCL_TEST_CHECK_H_
#define ACCL_TEST_CHECK_H_

#include <stdio.h>

#define CHECK(c)                                                            \
  do {                                                                      \
    if (!(c)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      return 1;                                                             \
    }                                                                       \
  } while (0)

#endif
