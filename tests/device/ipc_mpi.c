/* ipc_mpi.c - device memory shared between processes of one node: IPC
 * handles, whole-device windows, copies and reductions that read a peer's
 * memory, and a cross-process doorbell waking a peer's engine. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "../lib/mpi_test.h"
#include "acc_runtime.h"
#include "device/device.h"

#define N 65536

int main(int argc, char** argv) {
  int rank, size;
  mtInit(&argc, &argv, &rank, &size);
  int peer = rank ^ 1;
  if (size % 2 != 0) {
    if (rank == 0) printf("ipc_mpi needs an even number of ranks\n");
    MPI_Finalize();
    return 77;
  }
  MT_ACC(accSetDevice(rank % 4));
  float* buf = NULL;
  uint64_t* flag = NULL;
  MT_ACC(accMalloc((void**)&buf, N * sizeof(float)));
  MT_ACC(accMalloc((void**)&flag, 64));
  MT_ACC(accMemset(flag, 0, 64));
  float host[N];
  for (int i = 0; i < N; i++) host[i] = (float)(rank * 100000 + i);
  MT_ACC(accMemcpy(buf, host, sizeof(host), accMemcpyHostToDevice));

  /* exchange an IPC handle of buf and the window of the whole device */
  accIpcMemHandle_t mine, theirs;
  MT_ACC(accIpcGetMemHandle(&mine, buf));
  accDevWindow wMine, wTheirs;
  MT_ACC(accDevWindowExport(rank % 4, &wMine));
  uint64_t flagOff = (uintptr_t)flag - wMine.base, peerFlagOff;
  MPI_Sendrecv(&mine, sizeof(mine), MPI_BYTE, peer, 0, &theirs, sizeof(theirs), MPI_BYTE, peer, 0, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
  MPI_Sendrecv(&wMine, sizeof(wMine), MPI_BYTE, peer, 1, &wTheirs, sizeof(wTheirs), MPI_BYTE, peer, 1, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
  MPI_Sendrecv(&flagOff, 8, MPI_BYTE, peer, 2, &peerFlagOff, 8, MPI_BYTE, peer, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);

  float* remote = NULL;
  MT_ACC(accIpcOpenMemHandle((void**)&remote, theirs, 0));
  MT_CHECK(remote != NULL);
  accPointerAttributes at;
  MT_ACC(accPointerGetAttributes(&at, remote));
  MT_CHECK(at.type == accMemoryTypeDevice && at.device == peer % 4);

  /* read the peer's data through the mapping */
  float back[N];
  MT_ACC(accMemcpy(back, remote, sizeof(back), accMemcpyDeviceToHost));
  int bad = 0;
  for (int i = 0; i < N; i++) bad += back[i] != (float)(peer * 100000 + i);
  MT_CHECK(bad == 0);
  MT_CHECK(accMemcpy(back, remote, sizeof(back) + 4, accMemcpyDeviceToHost) == accErrorIllegalAddress);

  /* reduce-copy over local + peer inputs, as a ring step does */
  float* sum = NULL;
  MT_ACC(accMalloc((void**)&sum, N * sizeof(float)));
  accDevDesc r = {.type = ACCDEV_DESC_REDUCE};
  r.u.reduce.src[0] = buf;
  r.u.reduce.src[1] = remote;
  r.u.reduce.nsrc = 2;
  r.u.reduce.dst[0] = sum;
  r.u.reduce.ndst = 1;
  r.u.reduce.count = N;
  r.u.reduce.dtype = acclFloat32;
  r.u.reduce.op = ACCDEV_OP_SUM;
  MT_ACC(accDevExec(rank % 4, &r));
  MT_ACC(accMemcpy(back, sum, sizeof(back), accMemcpyDeviceToHost));
  bad = 0;
  for (int i = 0; i < N; i++) bad += back[i] != (float)(rank * 100000 + i) + (float)(peer * 100000 + i);
  MT_CHECK(bad == 0);

  /* cross-process wake-up: the odd rank's stream waits on a flag in its own
   * memory; the even rank sets it through its mapping of the window */
  void* peerBase = NULL;
  MT_ACC(accDevWindowOpen(&wTheirs, &peerBase));
  accStream_t s;
  MT_ACC(accStreamCreate(&s));
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank % 2 == 1) {
    accDevDesc w = {.type = ACCDEV_DESC_WAIT_FLAG, .u.flag = {flag, 42}};
    MT_ACC(accDevSubmit(s, &w, 0));
    MT_CHECK(accStreamQuery(s) == accErrorNotReady);
    MPI_Barrier(MPI_COMM_WORLD);
    MT_ACC(accStreamSynchronize(s));
    MT_CHECK(*flag == 42);
  } else {
    MPI_Barrier(MPI_COMM_WORLD);
    usleep(20000); /* let the peer's engine go to sleep */
    accDevSignal((volatile uint64_t*)((char*)peerBase + peerFlagOff), 42);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  MT_ACC(accStreamDestroy(s));
  MT_ACC(accDevWindowClose(peerBase));
  MT_ACC(accIpcCloseMemHandle(remote));
  MPI_Barrier(MPI_COMM_WORLD); /* the peer is done with our memory */
  MT_ACC(accFree(sum));
  MT_ACC(accFree(buf));
  MT_ACC(accFree(flag));
  return mtFinish("ipc_mpi");
}
