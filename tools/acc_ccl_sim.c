/* acc-ccl-sim - predict collective times for N nodes x D devices without
 * running them: the topology module plans the rings and trees (the real
 * graph search), the algorithm table builds every rank's steps (the real
 * builders), and the steps are replayed through a timing model of the links.
 * The model is the tuner's: each hop is priced by the algorithm's own
 * byteCost (algorithm.h) - latency per hop, the hop's share of its link or
 * NIC, the device memory the channels share - and the replay adds what the
 * closed forms leave out: the dependencies between steps, pipelining through
 * FIFO slices, the pipeline's fill and drain. Rows are nccl-tests style. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collectives/tuning.h"
#include "core/param.h"
#include "topology/node.h"
#include "topology/graph.h"

typedef struct {
  int conn;             /* connection lane */
  int send[2], recv[2]; /* peers, -1 unused */
  double bytes;
} simStep;

typedef struct {
  int nSteps, next;
  simStep* steps;
  double ready; /* finish time of the last replayed step */
} simLane;

typedef struct {
  int nLanes;
  simLane* lanes;
} simRank;

/* Send times on one directed connection, matched in order by the receiver. */
typedef struct {
  long long key;
  int n, head, cap;
  double* t; /* pairs: start, finish */
} simQueue;

typedef struct {
  simQueue* q;
  size_t cap, used;
} simQueues;

static simQueue* queueOf(simQueues* qs, long long key) {
  size_t h = (size_t)((unsigned long long)key * 0x9E3779B97F4A7C15ull) & (qs->cap - 1);
  while (qs->q[h].key != -1 && qs->q[h].key != key) h = (h + 1) & (qs->cap - 1);
  if (qs->q[h].key == -1) {
    qs->q[h].key = key;
    qs->used++;
  }
  return &qs->q[h];
}

static int push(simQueue* q, double start, double finish) {
  if (q->n == q->cap) {
    int cap = q->cap ? 2 * q->cap : 8;
    double* t = realloc(q->t, sizeof(double) * 2 * (size_t)cap);
    if (!t) return -1;
    q->t = t;
    q->cap = cap;
  }
  q->t[2 * q->n] = start;
  q->t[2 * q->n + 1] = finish;
  q->n++;
  return 0;
}

typedef struct {
  const acclTuneInput* in;
  const acclAlgoInfo* algo;
  const int* nodeOf;
  double slice; /* bytes of one FIFO slot: a receiver forwards slice by slice */
} simModel;

static double hopLat(const simModel* m, int a, int b) {
  return m->nodeOf[a] != m->nodeOf[b] ? m->in->latInter : m->in->latIntra;
}

static double hopByte(const simModel* m, int a, int b) {
  return m->algo->byteCost(m->in, m->nodeOf[a] != m->nodeOf[b]);
}

/* Replay all ranks' steps; returns the time the last step finishes (us), or -1. */
static double replay(simRank* ranks, int n, const simModel* m, long long nConn) {
  size_t total = 0;
  for (int r = 0; r < n; r++)
    for (int l = 0; l < ranks[r].nLanes; l++) total += (size_t)ranks[r].lanes[l].nSteps;
  simQueues qs = {NULL, 1024, 0};
  while (qs.cap < 4 * total + 1024) qs.cap *= 2; /* connections: at most one per step and peer */
  qs.q = malloc(sizeof(simQueue) * qs.cap);
  if (!qs.q) return -1;
  for (size_t i = 0; i < qs.cap; i++) qs.q[i] = (simQueue){-1, 0, 0, 0, NULL};
  double end = 0;
  size_t done = 0;
  int progress = 1;
  while (done < total && progress) {
    progress = 0;
    for (int r = 0; r < n; r++)
      for (int l = 0; l < ranks[r].nLanes; l++) {
        simLane* ln = &ranks[r].lanes[l];
        while (ln->next < ln->nSteps) {
          const simStep* s = &ln->steps[ln->next];
          simQueue* rq[2] = {NULL, NULL};
          int blocked = 0;
          for (int k = 0; k < 2 && !blocked; k++) {
            if (s->recv[k] < 0) continue;
            long long key = ((long long)s->conn * n + s->recv[k]) * n + r;
            if (qs.used * 2 > qs.cap) blocked = -1; /* table full: give up */
            rq[k] = queueOf(&qs, key);
            if (rq[k]->head >= rq[k]->n) blocked = 1;
          }
          if (blocked) {
            if (blocked < 0) done = total + 1;
            break;
          }
          double price = 0, start = ln->ready, tail = 0;
          for (int k = 0; k < 2; k++) {
            if (s->send[k] >= 0) price = fmax(price, hopByte(m, r, s->send[k]));
            if (s->recv[k] >= 0) price = fmax(price, hopByte(m, s->recv[k], r));
          }
          double dur = s->bytes * price, slice = fmin(s->bytes, m->slice) * price;
          for (int k = 0; k < 2; k++) {
            if (!rq[k]) continue;
            const double* t = rq[k]->t + 2 * rq[k]->head++;
            double lat = hopLat(m, s->recv[k], r);
            start = fmax(start, t[0] + lat);
            tail = fmax(tail, t[1] + lat + slice);
          }
          double finish = fmax(start + dur, tail);
          for (int k = 0; k < 2; k++)
            if (s->send[k] >= 0) {
              simQueue* q = queueOf(&qs, ((long long)s->conn * n + r) * n + s->send[k]);
              if (push(q, start, finish) != 0) done = total + 1;
            }
          ln->ready = finish;
          end = fmax(end, finish);
          ln->next++;
          done++;
          progress = 1;
        }
      }
  }
  (void)nConn;
  for (size_t i = 0; i < qs.cap; i++) free(qs.q[i].t);
  free(qs.q);
  return done == total ? end : -1;
}

static void freeRanks(simRank* ranks, int n) {
  for (int r = 0; ranks && r < n; r++) {
    for (int l = 0; l < ranks[r].nLanes; l++) free(ranks[r].lanes[l].steps);
    free(ranks[r].lanes);
  }
  free(ranks);
}

/* Build rank r's steps with the algorithm's builder and keep what the replay needs. */
static int buildRank(const acclAlgoInfo* algo, const acclAlgoCtx* ctx, const acclTask* task, simRank* out,
                     size_t* nSteps) {
  acclPlan* plan = calloc(1, sizeof(acclPlan));
  if (!plan || acclPlanReserveTasks(plan, 1) != acclSuccess) {
    acclPlanFree(plan);
    return -1;
  }
  plan->tasks[0] = *task;
  plan->nTasks = 1;
  int rc = algo->build(plan, 0, ctx) == acclSuccess ? 0 : -1;
  const double esize = (double)acclTypeSize(task->dtype);
  out->nLanes = rc ? 0 : plan->nLanes;
  out->lanes = calloc((size_t)(out->nLanes ? out->nLanes : 1), sizeof(simLane));
  if (!out->lanes) rc = -1;
  for (int l = 0; l < out->nLanes && !rc; l++) {
    const acclLane* ln = &plan->lanes[l];
    simLane* sl = &out->lanes[l];
    sl->steps = malloc(sizeof(simStep) * (size_t)(ln->nSteps ? ln->nSteps : 1));
    if (!sl->steps) {
      rc = -1;
      break;
    }
    for (int i = 0; i < ln->nSteps; i++) {
      const acclStep* s = &ln->steps[i];
      if (s->kind != ACCL_STEP_FIFO) continue; /* only FIFO plans are replayed (no direct / LL here) */
      sl->steps[sl->nSteps++] = (simStep){
          ln->connLane, {s->sendPeer[0], s->sendPeer[1]}, {s->recvPeer[0], s->recvPeer[1]}, (double)s->count * esize};
    }
    *nSteps += (size_t)sl->nSteps;
  }
  acclPlanFree(plan);
  return rc;
}

static const char* funcArg(acclFunc f) {
  static const char* const names[] = {"allreduce", "broadcast", "reduce", "allgather", "reducescatter"};
  return (unsigned)f < 5 ? names[f] : "?";
}

/* nccl-tests' bus bandwidth factor. */
static double busFactor(acclFunc f, int n) {
  switch (f) {
    case ACCL_FUNC_ALLREDUCE: return 2.0 * (n - 1) / n;
    case ACCL_FUNC_ALLGATHER:
    case ACCL_FUNC_REDUCESCATTER: return (double)(n - 1) / n;
    default: return 1.0;
  }
}

static void usage(FILE* f) {
  fputs(
      "usage: acc-ccl-sim [options]\n"
      "  --topo FILE|NAME|ring|torus2d|full  node description (default trn1-like)\n"
      "  --devices N      devices of a generated node (default 8)\n"
      "  --nodes LIST     node counts, e.g. 1,2,4 (default 2)\n"
      "  --ranks N        ranks per node (default: one per device)\n"
      "  --func NAME      allreduce (default), allgather, reducescatter, broadcast, reduce\n"
      "  --algo LIST      algorithms to predict (default: every one the table can run)\n"
      "  --min BYTES --max BYTES  size range, x4 steps (default 8 .. 1 GiB)\n"
      "  --host           this host's figures, as the tuner clamps them (simulated devices)\n"
      "  --net-bw GB/s --net-lat us  inter-node figures when the node describes no NIC\n"
      "  --max-steps N    replay only plans of at most N steps in all (default 4000000);\n"
      "                   larger ones print the closed form only\n"
      "  --plot PREFIX    write PREFIX.dat and, with gnuplot, PREFIX-size.png and PREFIX-nodes.png\n",
      f);
}

static int parseList(const char* s, int* v, int max) {
  int n = 0;
  while (*s && n < max) {
    char* end;
    long x = strtol(s, &end, 10);
    if (end == s || x < 1 || x > 1 << 16) return -1;
    v[n++] = (int)x;
    s = *end == ',' ? end + 1 : end;
    if (*end && *end != ',') return -1;
  }
  return n;
}

int main(int argc, char** argv) {
  const char *topo = "trn1-like", *plot = NULL, *algoList = NULL;
  int devices = 8, ppn = 0, host = 0, nodeList[64] = {2}, nNodeList = 1;
  long long maxSteps = 4000000;
  double minB = 8, maxB = (double)(1ull << 30), netBw = 0, netLat = 0;
  acclFunc func = ACCL_FUNC_ALLREDUCE;
  static const struct option opts[] = {{"topo", 1, NULL, 't'},   {"devices", 1, NULL, 'd'}, {"nodes", 1, NULL, 'n'},
                                       {"ranks", 1, NULL, 'r'},  {"func", 1, NULL, 'f'},    {"algo", 1, NULL, 'a'},
                                       {"min", 1, NULL, 'b'},    {"max", 1, NULL, 'e'},     {"host", 0, NULL, 'H'},
                                       {"net-bw", 1, NULL, 'B'}, {"net-lat", 1, NULL, 'L'}, {"max-steps", 1, NULL, 's'},
                                       {"plot", 1, NULL, 'p'},   {"help", 0, NULL, 'h'},    {NULL, 0, NULL, 0}};
  int o;
  while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    char* end = NULL;
    switch (o) {
      case 't': topo = optarg; break;
      case 'd': devices = (int)strtol(optarg, &end, 10); break;
      case 'n':
        nNodeList = parseList(optarg, nodeList, 64);
        if (nNodeList < 1) {
          fprintf(stderr, "acc-ccl-sim: --nodes needs a list of positive integers, got '%s'\n", optarg);
          return 2;
        }
        break;
      case 'r': ppn = (int)strtol(optarg, &end, 10); break;
      case 'f': {
        int ok = 0;
        for (int f = 0; f < 5; f++)
          if (strcmp(optarg, funcArg((acclFunc)f)) == 0) func = (acclFunc)f, ok = 1;
        if (!ok) {
          fprintf(stderr, "acc-ccl-sim: unknown --func '%s'\n", optarg);
          return 2;
        }
        break;
      }
      case 'a': algoList = optarg; break;
      case 'b': minB = strtod(optarg, &end); break;
      case 'e': maxB = strtod(optarg, &end); break;
      case 'H': host = 1; break;
      case 'B': netBw = strtod(optarg, &end); break;
      case 'L': netLat = strtod(optarg, &end); break;
      case 's': maxSteps = strtoll(optarg, &end, 10); break;
      case 'p': plot = optarg; break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 2;
    }
    if (end && (*end || end == optarg)) {
      fprintf(stderr, "acc-ccl-sim: bad number '%s'\n", optarg);
      return 2;
    }
  }
  if (devices < 1 || ppn < 0 || minB < 1 || maxB < minB || maxSteps < 1 || netBw < 0 || netLat < 0) {
    fprintf(stderr, "acc-ccl-sim: --devices, --ranks, --min, --max, --max-steps, --net-* out of range\n");
    return 2;
  }
  acclTopoNode* node = NULL;
  acclResult_t res = (strcmp(topo, "ring") == 0 || strcmp(topo, "torus2d") == 0 || strcmp(topo, "full") == 0)
                         ? acclTopoNodeFromSpec(topo, devices, &node)
                         : acclTopoNodeLoad(topo, &node);
  if (res != acclSuccess) {
    fprintf(stderr, "acc-ccl-sim: %s\n", acclLastErrorText());
    return 1;
  }
  if (ppn == 0) ppn = node->ndev;
  FILE* dat = NULL;
  if (plot) {
    char path[1024];
    snprintf(path, sizeof(path), "%s.dat", plot);
    dat = fopen(path, "w");
    if (!dat) {
      fprintf(stderr, "acc-ccl-sim: cannot write %s\n", path);
      acclTopoNodeFree(node);
      return 1;
    }
    fprintf(dat, "# nodes bytes algo time_us algbw busbw replayed\n");
  }
  const size_t slotBytes = (size_t)acclParamSlotBytes(), halfFifo = (size_t)(acclParamNslots() / 2) * slotBytes;
  int rc = 0;
  size_t lastBytes = 0; /* the largest size printed */
  for (int ni = 0; ni < nNodeList && rc == 0; ni++) {
    int N = nodeList[ni], n = N * ppn;
    int* devOf = malloc(sizeof(int) * (size_t)n);
    int* nodeOf = malloc(sizeof(int) * (size_t)n);
    acclTopoGraph tp;
    memset(&tp, 0, sizeof(tp));
    if (!devOf || !nodeOf) {
      rc = 1;
      free(devOf);
      free(nodeOf);
      break;
    }
    for (int r = 0; r < n; r++) {
      nodeOf[r] = r / ppn;
      devOf[r] = (r % ppn) % node->ndev;
    }
    if (acclTopoGraphCompute(node, n, devOf, nodeOf, 0, &tp) != acclSuccess) {
      fprintf(stderr, "acc-ccl-sim: planning %d nodes failed: %s\n", N, acclLastErrorText());
      rc = 1;
    }
    acclTuneInput base;
    if (rc == 0) {
      acclTunePlanInput(&tp, &base);
      base.rdMaxBytes = ACCL_MIN(base.rdMaxBytes, halfFifo);
      if (node->nnics == 0 && netBw > 0) base.bwInter = base.bwNet = netBw;
      if (node->nnics == 0 && netLat > 0) base.latInter = netLat;
      if (host) { /* what acclTuneBaseInput makes of it on this host's simulated devices */
        base.bwIntra = ACCL_MIN(base.bwIntra, ACCL_TOPO_SHM_BW_GBS);
        base.latIntra = ACCL_MIN(base.latIntra, ACCL_TOPO_SHM_LAT_US);
        base.bwCopy = ACCL_MIN(base.bwCopy, ACCL_TOPO_SHM_BW_GBS);
      }
      printf(
          "# %s: %d node%s x %d ranks = %d ranks; %d channels (%d NICs), %d trees; intra %g GB/s %g us, inter %g "
          "GB/s %g us per channel, net %g GB/s per node, memory %g GB/s\n",
          node->name, N, N > 1 ? "s" : "", ppn, n, base.nChannels, tp.nNics, tp.nTrees, base.bwIntra, base.latIntra,
          base.bwInter, base.latInter, base.bwNet, base.bwCopy);
      printf("# %12s %12s %6s %12s %9s %9s %12s %7s %s\n", "size(B)", "count", "algo", "time(us)", "algbw", "busbw",
             "model(us)", "err(%)", "");
    }
    for (double b = minB; rc == 0 && b <= maxB * 1.0001; b *= 4) {
      size_t count = (size_t)b / 4;
      if (count == 0) count = 1;
      if (func == ACCL_FUNC_ALLGATHER || func == ACCL_FUNC_REDUCESCATTER)
        count = ACCL_MAX((size_t)1, count / (size_t)n);
      acclTuneInput in = base;
      in.func = func;
      lastBytes = ACCL_MAX(
          lastBytes, count * 4 * ((func == ACCL_FUNC_ALLGATHER || func == ACCL_FUNC_REDUCESCATTER) ? (size_t)n : 1));
      in.bytes = count * 4 * ((func == ACCL_FUNC_ALLGATHER || func == ACCL_FUNC_REDUCESCATTER) ? (size_t)n : 1);
      acclAlgo tuned = ACCL_ALGO_RING;
      acclProto tp2;
      if (acclTuneSelect(&in, ~0u, 1u << ACCL_PROTO_SIMPLE, &tuned, &tp2) != acclSuccess) continue;
      double bestT = -1;
      int bestA = -1;
      char lines[ACCL_NUM_ALGOS][256];
      int nl = 0, lineAlgo[ACCL_NUM_ALGOS];
      for (int a = 0; a < ACCL_NUM_ALGOS; a++) {
        const acclAlgoInfo* info = acclAlgoGet(a);
        if (!info->byteCost || (algoList && !strstr(algoList, info->name))) continue;
        double model = acclTuneCost(&in, (acclAlgo)a, ACCL_PROTO_SIMPLE);
        if (model < 0) continue;
        /* build every rank's steps (rank 0 first: its steps x n estimate the whole) */
        acclTask task;
        memset(&task, 0, sizeof(task));
        task.func = func;
        task.count = count;
        task.dtype = acclFloat32;
        task.op = ACCDEV_OP_SUM;
        acclAlgoCtx ctx = {.rank = 0,
                           .nranks = n,
                           .nChannels = base.nChannels,
                           .p2pLane = base.nChannels + tp.nTrees,
                           .halfFifo = halfFifo,
                           .rings = tp.rings,
                           .nRings = tp.nRings,
                           .trees = tp.trees,
                           .nTrees = tp.nTrees,
                           .nodeOf = nodeOf,
                           .nNodes = N};
        double t = -1;
        simRank* ranks = calloc((size_t)n, sizeof(simRank));
        size_t steps = 0;
        int ok = ranks && buildRank(info, &ctx, &task, &ranks[0], &steps) == 0;
        if (ok && (long long)steps * n <= maxSteps) {
          for (int r = 1; r < n && ok; r++) {
            ctx.rank = r;
            ok = buildRank(info, &ctx, &task, &ranks[r], &steps) == 0;
          }
          simModel m = {&in, info, nodeOf, (double)slotBytes};
          if (ok) t = replay(ranks, n, &m, 0);
        }
        freeRanks(ranks, n);
        double shown = t > 0 ? t : model;
        double algbw = (double)in.bytes / (shown * 1e3), busbw = algbw * busFactor(func, n);
        char err[16] = "-";
        if (t > 0) snprintf(err, sizeof(err), "%+.1f", 100.0 * (model - t) / t);
        snprintf(lines[nl], sizeof(lines[nl]), "  %12zu %12zu %6s %12.2f %9.3f %9.3f %12.2f %7s %s%s", in.bytes, count,
                 info->name, shown, algbw, busbw, model, err, t > 0 ? "" : "(model)", a == (int)tuned ? " tuner" : "");
        lineAlgo[nl++] = a;
        if (dat) fprintf(dat, "%d %zu %s %.3f %.4f %.4f %d\n", N, in.bytes, info->name, shown, algbw, busbw, t > 0);
        if (bestT < 0 || shown < bestT) {
          bestT = shown;
          bestA = a;
        }
      }
      for (int i = 0; i < nl; i++)
        printf("%s%s\n", lines[i], lineAlgo[i] == bestA && bestA != (int)tuned ? " best(tuner differs)" : "");
    }
    acclTopoGraphFree(&tp);
    free(devOf);
    free(nodeOf);
  }
  if (dat) {
    fclose(dat);
    /* busbw against size (the last node count) and against nodes (the largest size), one line per algorithm */
    char gp[1024], cmd[1100];
    snprintf(gp, sizeof(gp), "%s.gp", plot);
    FILE* g = fopen(gp, "w");
    if (g) {
      fprintf(g,
              "set terminal png size 900,600\nset logscale x 2\nset key left top\nset grid\n"
              "set ylabel 'busbw (GB/s)'\nalgos = 'ring tree hier rd'\n"
              "set output '%s-size.png'\nset xlabel 'bytes'\nset title '%s, %d nodes: busbw vs size'\n"
              "plot for [a in algos] sprintf(\"< awk '$1==%d && $3==\\\"%%s\\\"' %s.dat\", a) u 2:6 w lp t a\n"
              "set output '%s-nodes.png'\nset xlabel 'nodes'\nset title '%s, %zu bytes: busbw vs nodes'\n"
              "plot for [a in algos] sprintf(\"< awk '$2==%zu && $3==\\\"%%s\\\"' %s.dat\", a) u 1:6 w lp t a\n",
              plot, node->name, nodeList[nNodeList - 1], nodeList[nNodeList - 1], plot, plot, node->name, lastBytes,
              lastBytes, plot);
      fclose(g);
      snprintf(cmd, sizeof(cmd), "gnuplot '%s' 2>&1", gp);
    }
    if (!g || system(cmd) != 0) fprintf(stderr, "acc-ccl-sim: gnuplot did not run; %s.dat has the data\n", plot);
  }
  acclTopoNodeFree(node);
  return rc;
}
