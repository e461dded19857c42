/* rings.h - ring search over the devices of one node. */
#ifndef ACCL_TOPO_RINGS_H_
#define ACCL_TOPO_RINGS_H_

#include "core/core.h"
#include "device/linkgraph.h"

/* Search step budget of one ring search: bounds the time on large or
 * awkward graphs; the best result found within it is used. */
#define ACCL_RING_SEARCH_BUDGET (1 << 20)

/* Orders of the n devices devs[] (distinct indices into g) for up to maxRings
 * rings. Where the link graph has Hamiltonian cycles among devs, every hop of
 * every ring (closing hop included) is a direct link, the rings use pairwise
 * disjoint links, and the slowest link is as fast as possible. Otherwise one
 * order that uses as many direct links as the search finds (indirect hops go
 * through host memory). *orders is malloc'd, *nRings x n device indices, each
 * ring starting at devs[0]. */
acclResult_t acclTopoSearchRings(const acclLinkGraph* g, const int* devs, int n, int maxRings, int** orders,
                                 int* nRings);

#endif
