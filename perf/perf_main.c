/* perf_main.c - main of the acc-ccl benchmarks; built once per collective with
 * PERF_COLL_NAME set to its name (all_reduce, ...): all_reduce_perf, ... */
#include <stdio.h>
#include "common.h"

#ifndef PERF_COLL_NAME
#error "PERF_COLL_NAME must name the collective of this binary"
#endif

int main(int argc, char** argv) {
  const perfColl* coll = perfCollByName(PERF_COLL_NAME);
  if (coll == NULL) {
    fprintf(stderr, "perf: unknown collective %s\n", PERF_COLL_NAME);
    return 2;
  }
  return perfMain(argc, argv, coll, &perfBackendAccl, 0);
}
