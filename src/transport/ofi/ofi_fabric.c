/* ofi_fabric.c - the libfabric objects: which provider and which NICs
 * (domains) the transport uses (ACCL_OFI_PROVIDER or FI_PROVIDER names one,
 * otherwise the best the machine offers; a named provider that is missing is
 * an error, never a silent fallback; capabilities are asked for, then
 * checked), and the rails opened on them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "comm/comm.h"
#include "core/param.h"
#include "bootstrap/socket.h"
#include "topology/topo.h"
#include "transport/ofi/ofi_fabric.h"

/* Best first. shm only joins ranks of one node. */
static const char* const preferred[] = {"efa", "verbs;ofi_rxm", "psm3", "shm", "tcp;ofi_rxm", "sockets", "udp;ofi_rxd"};
#define NPREFERRED ((int)(sizeof(preferred) / sizeof(preferred[0])))

const char* acclOfiErrText(int err, char* buf, size_t len) {
  snprintf(buf, len, "%s (%d)", fi_strerror(err < 0 ? -err : err), err < 0 ? -err : err);
  return buf;
}

static int rankOf(const char* prov) {
  for (int i = 0; i < NPREFERRED; i++)
    if (strcasecmp(prov, preferred[i]) == 0) return i;
  return NPREFERRED;
}

static struct fi_info* makeHints(const char* provName, int rma) {
  struct fi_info* hints = fi_allocinfo();
  if (!hints) return NULL;
  hints->caps = FI_TAGGED | FI_SEND | FI_RECV;
  if (rma) hints->caps |= FI_RMA | FI_WRITE | FI_REMOTE_WRITE;
  hints->mode = FI_CONTEXT | FI_CONTEXT2;
  hints->ep_attr->type = FI_EP_RDM;
  /* every registration mode this file set knows how to honour */
  hints->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY | FI_MR_ENDPOINT;
  /* the engine posts while the proxy reads completions */
  hints->domain_attr->threading = FI_THREAD_SAFE;
  if (provName) hints->fabric_attr->prov_name = strdup(provName);
  return hints;
}

/* Log the providers libfabric offers for FI_EP_RDM + FI_TAGGED (for errors). */
static void listProviders(char* out, size_t len) {
  struct fi_info* hints = makeHints(NULL, 0);
  struct fi_info* list = NULL;
  out[0] = '\0';
  if (hints && fi_getinfo(FI_VERSION(1, 11), NULL, NULL, 0, hints, &list) == 0) {
    size_t used = 0;
    for (struct fi_info* i = list; i; i = i->next) {
      const char* p = i->fabric_attr->prov_name;
      if (strstr(out, p)) continue;
      int n = snprintf(out + used, len - used, "%s%s", used ? ", " : "", p);
      if (n < 0 || (size_t)n >= len - used) break;
      used += (size_t)n;
    }
  }
  if (list) fi_freeinfo(list);
  if (hints) fi_freeinfo(hints);
  if (!out[0]) snprintf(out, len, "none");
}

static int isLoopback(const struct fi_info* i) {
  const char* d = i->domain_attr->name;
  return d && (strcmp(d, "lo") == 0 || strncmp(d, "lo:", 3) == 0);
}

/* Lower is better: the interface named by ACCL_SOCKET_IFNAME, then the NIC
 * the topology gave the device, then IPv4 before IPv6 (link-local v6 needs a
 * scope the address does not carry). */
static int domainScore(const struct fi_info* i, const char* ifSpec, const char* topoNic, int nNodes) {
  const char* d = i->domain_attr->name ? i->domain_attr->name : "";
  int s = 0;
  if (ifSpec && *ifSpec && !acclSocketIfMatch(ifSpec, d)) s += 100;
  if (topoNic && *topoNic && strcmp(topoNic, d) != 0) s += 10;
  if (nNodes == 1 && !isLoopback(i)) s += 20; /* one node: loopback is enough and stays off the wire */
  if (i->addr_format != FI_SOCKADDR_IN) s += 1;
  return s;
}

acclResult_t acclOfiChooseProvider(acclOfiState* st, int nNodes) {
  struct acclComm* comm = st->comm;
  const char* named = acclParamOfiProvider();
  const char* namedBy = "ACCL_OFI_PROVIDER";
  if (!named || !*named) {
    named = getenv("FI_PROVIDER");
    namedBy = "FI_PROVIDER";
  }
  if (named && !*named) named = NULL;
  enum { PROTOCOL_AUTO, PROTOCOL_RMA, PROTOCOL_TAGGED }; /* ACCL_OFI_PROTOCOL's choices */
  int protocol = acclParamOfiProtocol();
  int wantRma = protocol == PROTOCOL_RMA, allowRma = wantRma || protocol == PROTOCOL_AUTO;
  /* rma when the provider offers it (and the user allows it), else tagged */
  struct fi_info* list = NULL;
  int rc = -FI_ENODATA;
  for (int rma = allowRma; rma >= 0 && !list; rma--) {
    struct fi_info* hints = makeHints(named, rma);
    if (!hints) return acclSystemError;
    rc = fi_getinfo(FI_VERSION(1, 11), NULL, NULL, 0, hints, &list);
    fi_freeinfo(hints);
    if (rc != 0) list = NULL;
    st->rma = list != NULL && rma;
  }
  if (rc != 0 || !list) {
    char avail[512], err[96];
    listProviders(avail, sizeof(avail));
    if (named)
      ACCL_ERROR(acclSystemError,
                 "NET/OFI rank %d: %s=%s: libfabric has no such provider with FI_EP_RDM and FI_TAGGED here (%s); "
                 "available: %s",
                 comm->rank, namedBy, named, acclOfiErrText(rc, err, sizeof(err)), avail);
    ACCL_ERROR(acclSystemError, "NET/OFI rank %d: no libfabric provider offers FI_EP_RDM with FI_TAGGED here (%s)",
               comm->rank, acclOfiErrText(rc, err, sizeof(err)));
  }
  /* the provider: the named one, else the best ranked that can span our nodes */
  const char* prov = NULL;
  int best = NPREFERRED + 1;
  for (struct fi_info* i = list; i; i = i->next) {
    const char* p = i->fabric_attr->prov_name;
    if (named) {
      prov = p;
      break;
    }
    int r = rankOf(p);
    if (nNodes > 1 && strcasecmp(p, "shm") == 0) continue;
    if (r < best) {
      best = r;
      prov = p;
    }
  }
  if (!prov) {
    fi_freeinfo(list);
    ACCL_ERROR(acclSystemError, "NET/OFI rank %d: no libfabric provider here can reach other nodes (only shm)",
               comm->rank);
  }
  snprintf(st->provName, sizeof(st->provName), "%s", prov);
  /* candidate NICs of that provider, best first, one info per domain */
  const char* ifSpec = acclParamSocketIfname();
  const char* topoNic = comm->topo ? comm->topo->nicName : NULL;
  struct fi_info* cand[16];
  int ncand = 0;
  for (int pass = 0; pass < 2 && ncand == 0; pass++) {
    for (struct fi_info* i = list; i && ncand < 16; i = i->next) {
      if (strcmp(i->fabric_attr->prov_name, st->provName) != 0) continue;
      if (pass == 0 && nNodes > 1 && isLoopback(i)) continue; /* pass 1 accepts loopback when nothing else */
      int dup = -1;
      for (int k = 0; k < ncand; k++)
        if (strcmp(cand[k]->domain_attr->name, i->domain_attr->name) == 0) dup = k;
      int score = domainScore(i, ifSpec, topoNic, nNodes);
      if (dup >= 0) {
        if (score < domainScore(cand[dup], ifSpec, topoNic, nNodes)) cand[dup] = i;
        continue;
      }
      cand[ncand++] = i;
    }
  }
  for (int a = 1; a < ncand; a++) /* insertion sort by score */
    for (int b = a;
         b > 0 && domainScore(cand[b], ifSpec, topoNic, nNodes) < domainScore(cand[b - 1], ifSpec, topoNic, nNodes);
         b--) {
      struct fi_info* t = cand[b];
      cand[b] = cand[b - 1];
      cand[b - 1] = t;
    }
  /* rails: one per NIC on several nodes (one NIC on one node), capped by
   * ACCL_OFI_NRAILS; asking for more than the NICs found opens several
   * endpoints per NIC, round robin */
  int nicRails = nNodes > 1 ? ncand : 1;
  if (ifSpec && *ifSpec && ncand > 0 && domainScore(cand[0], ifSpec, topoNic, nNodes) < 100) {
    nicRails = 0; /* only the interfaces ACCL_SOCKET_IFNAME selects */
    for (int k = 0; k < ncand; k++) nicRails += domainScore(cand[k], ifSpec, topoNic, nNodes) < 100;
  }
  _Static_assert(ACCL_OFI_MAX_RAILS == 4, "ACCL_OFI_NRAILS's range in core/param.h ends at ACCL_OFI_MAX_RAILS");
  int64_t want = acclParamGetIntDefault(ACCL_PARAM_OFI_NRAILS, ACCL_MAX(1, ACCL_MIN(nicRails, ACCL_OFI_MAX_RAILS)));
  st->nrails = (int)want;
  for (int r = 0; r < st->nrails; r++) {
    st->rails[r].info = fi_dupinfo(cand[r % ncand]);
    if (!st->rails[r].info) {
      fi_freeinfo(list);
      return acclSystemError;
    }
  }
  fi_freeinfo(list);
  const struct fi_info* i0 = st->rails[0].info;
  if (st->rma && i0->domain_attr->cq_data_size < 8) st->rma = 0; /* the rma CQ data needs 8 bytes */
  if (wantRma && !st->rma)
    ACCL_ERROR(
        acclInvalidArgument,
        "NET/OFI rank %d: ACCL_OFI_PROTOCOL=rma: provider %s offers no FI_RMA with 8 bytes of remote CQ data here",
        comm->rank, st->provName);
  INFO(ACCL_NET, "NET/OFI rank %d: provider %s%s, %d rail(s) on %s%s, mr_mode 0x%x, caps%s%s, protocol %s", comm->rank,
       st->provName, named ? " (named)" : " (best offered)", st->nrails, i0->domain_attr->name,
       st->nrails > ncand ? " (several endpoints per NIC)" : "", (unsigned)i0->domain_attr->mr_mode,
       (i0->caps & FI_RMA) ? " FI_RMA" : "", (i0->caps & FI_HMEM) ? " FI_HMEM" : "", st->rma ? "rma" : "tagged");
  return acclSuccess;
}

/* ------------------------------------------------------------------ rails */

/* Rails on the same NIC share one fabric, domain and completion queue: one
 * read of the queue progresses all their endpoints, and the proxy sleeps on
 * one queue instead of taking turns. */
acclResult_t acclOfiOpenRail(acclOfiState* st, int idx) {
  acclOfiRail* r = &st->rails[idx];
  struct fi_info* info = r->info;
  r->owner = idx;
  for (int k = 0; k < idx; k++)
    if (st->rails[k].owner == k && strcmp(st->rails[k].info->domain_attr->name, info->domain_attr->name) == 0 &&
        strcmp(st->rails[k].info->fabric_attr->name, info->fabric_attr->name) == 0)
      r->owner = k;
  if (r->owner == idx) {
    OFICHECK(fi_fabric(info->fabric_attr, &r->fabric, NULL), "fi_fabric");
    OFICHECK(fi_domain(r->fabric, info, &r->domain, NULL), "fi_domain");
    struct fi_cq_attr cq;
    memset(&cq, 0, sizeof(cq));
    cq.format = FI_CQ_FORMAT_TAGGED;
    cq.wait_obj = FI_WAIT_UNSPEC; /* the proxy sleeps in fi_cq_sread when idle */
    cq.size = 4096;
    OFICHECK(fi_cq_open(r->domain, &cq, &r->cq, NULL), "fi_cq_open");
  } else {
    const acclOfiRail* o = &st->rails[r->owner];
    r->fabric = o->fabric;
    r->domain = o->domain;
    r->cq = o->cq;
  }
  struct fi_av_attr av;
  memset(&av, 0, sizeof(av));
  av.type = FI_AV_TABLE;
  OFICHECK(fi_av_open(r->domain, &av, &r->av, NULL), "fi_av_open");
  OFICHECK(fi_endpoint(r->domain, info, &r->ep, NULL), "fi_endpoint");
  OFICHECK(fi_ep_bind(r->ep, &r->av->fid, 0), "fi_ep_bind(av)");
  OFICHECK(fi_ep_bind(r->ep, &r->cq->fid, FI_TRANSMIT | FI_RECV), "fi_ep_bind(cq)");
  OFICHECK(fi_enable(r->ep), "fi_enable");
  return acclSuccess;
}

/* One registration of the whole region per rail. FI_MR_ENDPOINT: bind to the
 * endpoint and enable; FI_MR_PROV_KEY: the provider picks the key, otherwise
 * we give a distinct one per rail; FI_MR_LOCAL: pass the descriptor on every
 * operation (we always do). The simulated device memory is host-addressable,
 * so it registers as system memory (a real chip would pass FI_HMEM here). */
acclResult_t acclOfiRegisterRegion(acclOfiState* st, int railIdx) {
  acclOfiRail* r = &st->rails[railIdx];
  uint64_t mode = r->info->domain_attr->mr_mode;
  uint64_t key = (mode & FI_MR_PROV_KEY) ? 0 : (uint64_t)railIdx + 1;
  uint64_t access = FI_SEND | FI_RECV | (st->rma ? FI_WRITE | FI_REMOTE_WRITE : 0);
  OFICHECK(fi_mr_reg(r->domain, st->region, st->regionBytes, access, 0, key, 0, &r->mr, NULL), "fi_mr_reg");
  if (mode & FI_MR_ENDPOINT) {
    OFICHECK(fi_mr_bind(r->mr, &r->ep->fid, 0), "fi_mr_bind");
    OFICHECK(fi_mr_enable(r->mr), "fi_mr_enable");
  }
  r->desc = fi_mr_desc(r->mr);
  return acclSuccess;
}

/* Rails close from the last: those sharing an earlier rail's domain first. */
void acclOfiCloseRail(acclOfiState* st, int idx) {
  acclOfiRail* r = &st->rails[idx];
  int own = r->owner == idx;
  if (r->ep) fi_close(&r->ep->fid);
  if (r->mr) fi_close(&r->mr->fid);
  if (r->av) fi_close(&r->av->fid);
  if (own && r->cq) fi_close(&r->cq->fid);
  if (own && r->domain) fi_close(&r->domain->fid);
  if (own && r->fabric) fi_close(&r->fabric->fid);
  if (r->info) fi_freeinfo(r->info);
  free(r->peerAddr);
  memset(r, 0, sizeof(*r));
}
