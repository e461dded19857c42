/* prog.c - a user's C program against an installed acc-ccl, built with
 * nothing but `pkg-config --cflags --libs acc-ccl`: two communicators in one
 * process (acclCommInitAll), an AllReduce on each, the result checked. */
#include <stdio.h>
#include <acc_ccl.h>

#define N 1024

int main(void) {
  int ndev = 0;
  if (accGetDeviceCount(&ndev) != accSuccess || ndev < 2) {
    fprintf(stderr, "prog: need 2 simulated devices, have %d\n", ndev);
    return 1;
  }
  int devs[2] = {0, 1};
  acclComm_t comms[2];
  if (acclCommInitAll(comms, 2, devs) != acclSuccess) {
    fprintf(stderr, "prog: acclCommInitAll: %s\n", acclGetLastError(NULL));
    return 1;
  }
  float host[2][N];
  float* buf[2];
  accStream_t stream[2];
  for (int d = 0; d < 2; d++) {
    for (int i = 0; i < N; i++) host[d][i] = (float)(d + 1) * (float)i;
    if (accSetDevice(d) != accSuccess || accMalloc((void**)&buf[d], sizeof(host[d])) != accSuccess ||
        accStreamCreate(&stream[d]) != accSuccess ||
        accMemcpy(buf[d], host[d], sizeof(host[d]), accMemcpyHostToDevice) != accSuccess)
      return 1;
  }
  acclGroupStart();
  for (int d = 0; d < 2; d++) acclAllReduce(buf[d], buf[d], N, acclFloat32, acclSum, comms[d], stream[d]);
  if (acclGroupEnd() != acclSuccess) {
    fprintf(stderr, "prog: acclAllReduce: %s\n", acclGetLastError(NULL));
    return 1;
  }
  int wrong = 0;
  for (int d = 0; d < 2; d++) {
    accSetDevice(d);
    if (accStreamSynchronize(stream[d]) != accSuccess ||
        accMemcpy(host[d], buf[d], sizeof(host[d]), accMemcpyDeviceToHost) != accSuccess)
      return 1;
    for (int i = 0; i < N; i++) wrong += host[d][i] != 3.0f * (float)i;
    accStreamDestroy(stream[d]);
    accFree(buf[d]);
    acclCommDestroy(comms[d]);
  }
  int version = 0;
  if (acclGetVersion(&version) != acclSuccess || version != ACCL_VERSION_CODE) {
    fprintf(stderr, "prog: the library is version %d, its header %d\n", version, ACCL_VERSION_CODE);
    return 1;
  }
  printf("prog (C, acc-ccl %d): allreduce over 2 devices: %s\n", version, wrong ? "WRONG" : "right");
  return wrong ? 1 : 0;
}
