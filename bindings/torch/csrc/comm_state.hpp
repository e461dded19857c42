// comm_state.hpp - one acc-ccl communicator and its stream, shared by a
// process group and every Work it hands out (a Work may outlive its group).
// All use of the communicator handle goes through this object so that an
// abort (timeout, error, shutdown) can never race with an enqueue.
#pragma once

#include <acc_ccl.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "compat.hpp"

namespace accl_torch {

class CommState {
 public:
  // Collective over the group: rank 0 publishes a unique id in the store,
  // the others read it, then everyone joins the communicator.
  CommState(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size);
  ~CommState();
  CommState(const CommState&) = delete;
  CommState& operator=(const CommState&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int device() const { return device_; }
  accStream_t stream() const { return stream_; }

  // Runs fn(comm, stream) with the communicator locked and the calling
  // thread on our device; throws (with acc-ccl's message) if fn fails or
  // the communicator was already aborted. what names the operation.
  void launch(const char* what, const std::function<acclResult_t(acclComm_t, accStream_t)>& fn);

  // One host buffer an operation reads (in) and/or writes (out).
  struct Segment {
    void* host;
    size_t bytes;
    bool in;
    bool out;
  };
  using StagedFn = std::function<acclResult_t(acclComm_t, accStream_t, const std::vector<char*>&)>;
  // Like launch, with the host buffers staged through this group's device
  // buffer: copies in, fn on the device pointers (one per segment), copies
  // out, all in stream order. The buffer is reused by every operation (the
  // stream serialises them) and grows when needed.
  void launchStaged(const char* what, const std::vector<Segment>& segs, const StagedFn& fn);

  // Empty when healthy; otherwise why the communicator cannot be used.
  std::string failure();
  // Aborts the communicator (idempotent); later calls fail with reason.
  void abort(const std::string& reason);
  // Waits for queued work and frees the communicator (unless aborted).
  void shutdown();

 private:
  std::mutex mutex_;
  acclComm_t comm_ = nullptr;
  accStream_t stream_ = nullptr;
  char* staging_ = nullptr;  // device memory
  size_t stagingBytes_ = 0;
  std::string broken_;  // set once aborted or failed
  int rank_;
  int size_;
  int device_ = 0;
};

// The device this process uses: LOCAL_RANK (or RANK, or the group rank) modulo
// the simulated device count, chosen once so that sub-groups share it.
int acclTorchDevice(int groupRank);

// "acc-ccl <what> failed: <result text>: <last error text>"
std::string acclErrorText(const char* what, acclResult_t res, acclComm_t comm);

}  // namespace accl_torch
