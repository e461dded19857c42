/* topo_dot.h - Graphviz output of acc-ccl-topo. */
#ifndef ACCL_TOPO_DOT_H_
#define ACCL_TOPO_DOT_H_

#include <stdio.h>
#include "topology/node.h"
#include "topology/graph.h"

/* devOf: device of each rank of the graph. Returns 0, or -1 on a write error. */
int acclTopoWriteDot(const acclTopoNode* node, const acclTopoGraph* graph, const int* devOf, FILE* f);

#endif
