/* host.c - hwloc host discovery, NUMA binding, NIC discovery. */
#include "topology/host.h"
#include <hwloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "core/fabric.h"
#include "core/param.h"
#include "topology/graph.h"
#ifdef HAVE_IBVERBS
#include <infiniband/verbs.h>
#endif

static pthread_once_t hostOnce = PTHREAD_ONCE_INIT;
static hwloc_topology_t hwTopo; /* NULL when hwloc failed */
static acclTopoHost host;

static int countType(hwloc_obj_type_t t) {
  int n = hwloc_get_nbobjs_by_type(hwTopo, t);
  return n < 0 ? 0 : n;
}

static void pciName(hwloc_obj_t pci, char* out, size_t len) {
  snprintf(out, len, "%04x:%02x:%02x.%x", pci->attr->pcidev.domain, pci->attr->pcidev.bus, pci->attr->pcidev.dev,
           pci->attr->pcidev.func);
}

/* NUMA node of an I/O object: the first NUMA node below its non-I/O ancestor. */
static int ioNuma(hwloc_obj_t obj) {
  hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(hwTopo, obj);
  if (!anc || !anc->nodeset) return -1;
  int idx = hwloc_bitmap_first(anc->nodeset);
  return idx < 0 ? -1 : idx;
}

static void discoverHost(void) {
  gethostname(host.hostname, sizeof(host.hostname) - 1);
  if (hwloc_topology_init(&hwTopo) != 0) {
    hwTopo = NULL;
    WARN("hwloc_topology_init failed: host topology unknown, threads stay unbound");
    return;
  }
  hwloc_topology_set_io_types_filter(hwTopo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  if (hwloc_topology_load(hwTopo) != 0) {
    hwloc_topology_destroy(hwTopo);
    hwTopo = NULL;
    WARN("hwloc_topology_load failed: host topology unknown, threads stay unbound");
    return;
  }
  host.packages = countType(HWLOC_OBJ_PACKAGE);
  host.numaNodes = countType(HWLOC_OBJ_NUMANODE);
  host.cores = countType(HWLOC_OBJ_CORE);
  host.pus = countType(HWLOC_OBJ_PU);
  host.l3Caches = countType(HWLOC_OBJ_L3CACHE);
  host.pciDevices = countType(HWLOC_OBJ_PCI_DEVICE);
  for (hwloc_obj_t o = hwloc_get_next_osdev(hwTopo, NULL); o; o = hwloc_get_next_osdev(hwTopo, o)) {
    if (o->attr->osdev.type != HWLOC_OBJ_OSDEV_NETWORK && o->attr->osdev.type != HWLOC_OBJ_OSDEV_OPENFABRICS) continue;
    if (host.nnets == ACCL_HOST_MAX_NETS) break;
    acclHostNet* n = &host.nets[host.nnets++];
    memset(n, 0, sizeof(*n));
    snprintf(n->name, sizeof(n->name), "%s", o->name ? o->name : "?");
    n->rdma = o->attr->osdev.type == HWLOC_OBJ_OSDEV_OPENFABRICS;
    n->numa = ioNuma(o);
    if (o->parent && o->parent->type == HWLOC_OBJ_PCI_DEVICE) pciName(o->parent, n->pci, sizeof(n->pci));
  }
  acclTopoHostProbeVerbs(&host);
  INFO(ACCL_TOPO,
       "host %s: %d packages, %d NUMA nodes, %d cores, %d PUs, %d L3 caches, %d PCI devices, %d network devices",
       host.hostname, host.packages, host.numaNodes, host.cores, host.pus, host.l3Caches, host.pciDevices, host.nnets);
  for (int i = 0; i < host.nnets; i++)
    INFO(ACCL_TOPO, "host network device %s pci %s NUMA %d%s", host.nets[i].name,
         host.nets[i].pci[0] ? host.nets[i].pci : "-", host.nets[i].numa, host.nets[i].rdma ? " (RDMA)" : "");
}

acclResult_t acclTopoHostGet(const acclTopoHost** out) {
  pthread_once(&hostOnce, discoverHost);
  *out = &host;
  return acclSuccess;
}

void acclTopoHostProbeVerbs(acclTopoHost* h) {
#ifdef HAVE_IBVERBS
  int n = 0;
  struct ibv_device** list = ibv_get_device_list(&n);
  if (!list) {
    INFO(ACCL_TOPO | ACCL_NET, "libibverbs: no RDMA devices (%d)", n);
    return;
  }
  for (int i = 0; i < n; i++) {
    const char* name = ibv_get_device_name(list[i]);
    double bw = 0;
    struct ibv_context* ctx = ibv_open_device(list[i]);
    if (ctx) {
      struct ibv_port_attr pa;
      /* active_speed: lane rate code; active_width: lanes. Rough GB/s per direction. */
      static const double laneGbps[] = {
          [1] = 2.5, [2] = 5, [4] = 10, [8] = 10, [16] = 14, [32] = 25, [64] = 50, [128] = 100};
      static const int lanes[] = {[1] = 1, [2] = 4, [4] = 8, [8] = 12, [16] = 2};
      if (ibv_query_port(ctx, 1, &pa) == 0 && pa.active_speed < 129 && pa.active_width < 17)
        bw = laneGbps[pa.active_speed] * lanes[pa.active_width] / 8.0;
      ibv_close_device(ctx);
    }
    int known = -1;
    for (int k = 0; k < h->nnets; k++)
      if (strcmp(h->nets[k].name, name) == 0) known = k;
    if (known < 0 && h->nnets < ACCL_HOST_MAX_NETS) {
      known = h->nnets++;
      memset(&h->nets[known], 0, sizeof(h->nets[known]));
      snprintf(h->nets[known].name, sizeof(h->nets[known].name), "%s", name);
      h->nets[known].numa = -1;
    }
    if (known >= 0) {
      h->nets[known].rdma = 1;
      h->nets[known].bwGBs = bw;
    }
    INFO(ACCL_TOPO | ACCL_NET, "libibverbs: RDMA device %s, %g GB/s", name, bw);
  }
  if (n == 0) INFO(ACCL_TOPO | ACCL_NET, "libibverbs: no RDMA devices");
  ibv_free_device_list(list);
#else
  (void)h;
  INFO(ACCL_TOPO | ACCL_NET, "built without libibverbs: RDMA devices are not probed");
#endif
}

void acclTopoHostLogFabric(void) {
  if (!ACCL_LOG_ON(ACCL_LOG_INFO, ACCL_TOPO | ACCL_NET)) return; /* fi_getinfo loads every provider: only when asked */
  if (acclFabricLoad() != acclSuccess) {
    INFO(ACCL_TOPO | ACCL_NET, "libfabric providers: %s", acclLastErrorText());
    return;
  }
  struct fi_info* info = NULL;
  acclFabricGuardEnter();
  int rc = fi_getinfo(FI_VERSION(1, 11), NULL, NULL, 0, NULL, &info);
  acclFabricGuardLeave();
  if (rc != 0) {
    INFO(ACCL_TOPO | ACCL_NET, "fi_getinfo: %s", fi_strerror(-rc));
    return;
  }
  char seen[1024] = "";
  for (struct fi_info* i = info; i; i = i->next) {
    const char* prov = i->fabric_attr && i->fabric_attr->prov_name ? i->fabric_attr->prov_name : "?";
    const char* dom = i->domain_attr && i->domain_attr->name ? i->domain_attr->name : "?";
    char key[160];
    snprintf(key, sizeof(key), "|%s/%s|", prov, dom);
    if (strstr(seen, key)) continue; /* one line per provider and domain */
    if (strlen(seen) + strlen(key) < sizeof(seen)) strcat(seen, key);
    const char* nic = i->nic && i->nic->device_attr && i->nic->device_attr->name ? i->nic->device_attr->name : "-";
    INFO(ACCL_TOPO | ACCL_NET, "libfabric provider %s domain %s endpoint %s nic %s", prov, dom,
         i->ep_attr ? fi_tostr(&i->ep_attr->type, FI_TYPE_EP_TYPE) : "?", nic);
  }
  fi_freeinfo(info);
}

acclResult_t acclTopoHostFillNode(const acclTopoHost* h, acclTopoNode* node) {
  node->packages = h->packages;
  node->numaNodes = h->numaNodes;
  node->cores = h->cores;
  node->pus = h->pus;
  int rdma = 0;
  for (int i = 0; i < h->nnets; i++) rdma += h->nets[i].rdma;
  int* devs = malloc(sizeof(int) * (size_t)(node->ndev + 1));
  if (!devs) return acclSystemError;
  acclResult_t res = acclSuccess;
  for (int i = 0; i < h->nnets && res == acclSuccess; i++) {
    const acclHostNet* n = &h->nets[i];
    if (rdma && !n->rdma) continue;
    int nd = 0;
    for (int d = 0; d < node->ndev; d++)
      if (h->numaNodes <= 1 || n->numa < 0 || node->devs[d].numa < 0 || node->devs[d].numa == n->numa) devs[nd++] = d;
    double bw = n->bwGBs > 0 ? n->bwGBs : ACCL_TOPO_NET_BW_GBS;
    res = acclTopoNodeAddNic(node, n->name, n->pci, n->numa, bw, ACCL_TOPO_NET_LAT_US, devs, nd);
  }
  free(devs);
  return res;
}

acclResult_t acclTopoBindThreadNuma(int numa, const char* what) {
  const acclTopoHost* h;
  ACCLCHECK(acclTopoHostGet(&h));
  if (!acclParamTopoBind()) {
    INFO(ACCL_TOPO, "%s: not bound (ACCL_TOPO_BIND=0)", what);
    return acclSuccess;
  }
  if (!hwTopo || numa < 0) {
    INFO(ACCL_TOPO, "%s: not bound (NUMA node of the device unknown)", what);
    return acclSuccess;
  }
  hwloc_obj_t node = hwloc_get_numanode_obj_by_os_index(hwTopo, (unsigned)numa);
  if (!node || !node->cpuset) {
    INFO(ACCL_TOPO, "%s: not bound (NUMA node %d not on this host)", what, numa);
    return acclSuccess;
  }
  hwloc_bitmap_t cur = hwloc_bitmap_alloc(), target = hwloc_bitmap_alloc();
  if (!cur || !target) {
    hwloc_bitmap_free(cur);
    hwloc_bitmap_free(target);
    return acclSystemError;
  }
  if (hwloc_get_cpubind(hwTopo, cur, HWLOC_CPUBIND_THREAD) != 0)
    hwloc_bitmap_copy(cur, hwloc_topology_get_allowed_cpuset(hwTopo));
  hwloc_bitmap_and(target, cur, node->cpuset);
  char buf[128];
  hwloc_bitmap_list_snprintf(buf, sizeof(buf), target);
  /* Never narrow to a single core: many ranks share few cores in tests. */
  if (hwloc_bitmap_weight(target) <= 1 || hwloc_bitmap_isequal(target, cur)) {
    INFO(ACCL_TOPO, "%s: NUMA node %d, CPUs %s: already there, binding unchanged", what, numa, buf);
  } else if (hwloc_set_cpubind(hwTopo, target, HWLOC_CPUBIND_THREAD) != 0) {
    INFO(ACCL_TOPO, "%s: binding to NUMA node %d (CPUs %s) failed, left unbound", what, numa, buf);
  } else {
    INFO(ACCL_TOPO, "%s: bound to NUMA node %d, CPUs %s", what, numa, buf);
  }
  hwloc_bitmap_free(cur);
  hwloc_bitmap_free(target);
  return acclSuccess;
}

acclResult_t acclTopoBindMemory(void* addr, size_t len, int numa) {
  const acclTopoHost* h;
  ACCLCHECK(acclTopoHostGet(&h));
  if (!hwTopo || numa < 0 || h->numaNodes <= 1 || !acclParamTopoBind()) return acclSuccess;
  hwloc_obj_t node = hwloc_get_numanode_obj_by_os_index(hwTopo, (unsigned)numa);
  if (!node) return acclSuccess;
  if (hwloc_set_area_membind(hwTopo, addr, len, node->nodeset, HWLOC_MEMBIND_BIND, HWLOC_MEMBIND_BYNODESET) != 0)
    INFO(ACCL_TOPO, "binding %zu bytes to NUMA node %d failed, left as is", len, numa);
  else
    INFO(ACCL_TOPO, "bound %zu bytes of shared memory to NUMA node %d", len, numa);
  return acclSuccess;
}
