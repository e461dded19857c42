/* topo_dot.h - Graphviz output of acc-ccl-topo. */
#ifndef ACCL_TOPO_DOT_H_
#define ACCL_TOPO_DOT_H_

#include <stdio.h>
#include "topology/node.h"
#include "topology/plan.h"

/* devOf: device of each rank of the plan. Returns 0, or -1 on a write error. */
int acclTopoWriteDot(const acclTopoNode* node, const acclTopoPlan* plan, const int* devOf, FILE* f);

#endif
