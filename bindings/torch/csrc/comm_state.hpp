// comm_state.hpp - one acc-ccl communicator and its stream, shared by a
// process group and every Work it hands out (a Work may outlive its group).
// All use of the communicator handle goes through this object so that an
// abort (timeout, error, shutdown) can never race with an enqueue.
#pragma once

#include <acc_ccl.h>

#include <c10/util/C++17.h>  // FunctionRef.h of torch 1.13 needs it first
#include <c10/util/FunctionRef.h>

#include <mutex>
#include <string>

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

  // What an operation enqueues: acc-ccl calls on (comm, stream). Called
  // synchronously, so a non-owning reference is enough (no allocation).
  using LaunchFn = c10::function_ref<acclResult_t(acclComm_t, accStream_t)>;
  // Runs fn with the communicator locked and the calling thread on our
  // device; throws (with acc-ccl's message) if fn fails or the communicator
  // was already aborted. what names the operation. Host buffers go to acc-ccl
  // as they are: it stages them inside the operation, in stream order.
  // Returns true when the stream has already finished everything queued on
  // it, this operation included (a small collective on an idle stream runs
  // on the calling thread); otherwise records *event (created on first use,
  // owned by the caller) behind the operation and returns false.
  bool launch(const char* what, LaunchFn fn, accEvent_t* event);

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
