// prog.cpp - a user's C++ program built with CMake find_package(acc-ccl) and
// the target acc-ccl::acc-ccl: AllReduce over two devices of one process.
#include <acc_ccl.h>

#include <cstdio>
#include <vector>

int main() {
  const size_t n = 4096;
  int devs[2] = {0, 1};
  acclComm_t comms[2];
  if (acclCommInitAll(comms, 2, devs) != acclSuccess) {
    std::fprintf(stderr, "prog_cxx: acclCommInitAll: %s\n", acclGetLastError(nullptr));
    return 1;
  }
  std::vector<int> host(n);
  int* buf[2];
  accStream_t stream[2];
  for (int d = 0; d < 2; d++) {
    for (size_t i = 0; i < n; i++) host[i] = static_cast<int>(i) + d * 1000;
    if (accSetDevice(d) != accSuccess || accMalloc(reinterpret_cast<void**>(&buf[d]), n * sizeof(int)) != accSuccess ||
        accStreamCreate(&stream[d]) != accSuccess ||
        accMemcpy(buf[d], host.data(), n * sizeof(int), accMemcpyHostToDevice) != accSuccess)
      return 1;
  }
  acclGroupStart();
  for (int d = 0; d < 2; d++) acclAllReduce(buf[d], buf[d], n, acclInt32, acclMax, comms[d], stream[d]);
  if (acclGroupEnd() != acclSuccess) return 1;
  size_t wrong = 0;
  for (int d = 0; d < 2; d++) {
    accSetDevice(d);
    if (accStreamSynchronize(stream[d]) != accSuccess ||
        accMemcpy(host.data(), buf[d], n * sizeof(int), accMemcpyDeviceToHost) != accSuccess)
      return 1;
    for (size_t i = 0; i < n; i++) wrong += host[i] != static_cast<int>(i) + 1000;
    accStreamDestroy(stream[d]);
    accFree(buf[d]);
    acclCommDestroy(comms[d]);
  }
  std::printf("prog_cxx (C++, CMake): allreduce max over 2 devices: %s\n", wrong ? "WRONG" : "right");
  return wrong ? 1 : 0;
}
