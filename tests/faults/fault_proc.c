/* fault_proc.c - see fault_proc.h. */
#include "fault_proc.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int rank, nranks, device;
const char* idFile;

double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int faultProcStart(int argc, char** argv, int nargs, const char* usage) {
  if (argc < nargs + 1) {
    fprintf(stderr, "usage: %s %s\n", argv[0], usage);
    return 2;
  }
  rank = atoi(argv[1]);
  nranks = atoi(argv[2]);
  idFile = argv[3];
  setvbuf(stdout, NULL, _IOLBF, 0);
  int ndev = 1;
  accGetDeviceCount(&ndev);
  device = rank % (ndev > 0 ? ndev : 1);
  accSetDevice(device);
  return 0;
}

void faultIdPath(int gen, char* out, size_t len) {
  if (gen == 0)
    snprintf(out, len, "%s", idFile);
  else
    snprintf(out, len, "%s.%d", idFile, gen);
}

int faultReadId(const char* path, acclUniqueId* id) {
  for (int tries = 0; tries < 6000; tries++) { /* 60 s */
    FILE* f = fopen(path, "rb");
    if (f) {
      size_t got = fread(id, 1, sizeof(*id), f);
      fclose(f);
      if (got == sizeof(*id)) return 0;
    }
    usleep(10000);
  }
  return -1;
}

int faultWriteId(const char* path, const acclUniqueId* id) {
  char tmp[4200];
  snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
  FILE* f = fopen(tmp, "wb");
  if (!f) return -1;
  int ok = fwrite(id, 1, sizeof(*id), f) == sizeof(*id);
  ok &= fclose(f) == 0;
  return ok && rename(tmp, path) == 0 ? 0 : -1;
}

void faultResultLine(const char* phase, acclResult_t code, double t0, acclComm_t comm, long wrong, long guard,
                     const char* err) {
  acclResult_t async = acclSuccess;
  if (comm && code != acclSuccess) acclCommGetAsyncError(comm, &async);
  if (err == NULL) err = acclGetLastError(comm);
  double t = now();
  printf("RESULT rank=%d phase=%s code=%d secs=%.3f at=%.3f async=%d wrong=%ld guard=%ld err=%s\n", rank, phase,
         (int)code, t - t0, t, (int)async, wrong, guard, code == acclSuccess ? "" : (err ? err : ""));
  fflush(stdout);
}
