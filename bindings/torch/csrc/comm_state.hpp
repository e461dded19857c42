// comm_state.hpp - one acc-ccl communicator and its stream (a "lane"): the
// group's communicator, or one point-to-point channel's. Shared by the
// process group and every Work launched on it (a Work may outlive its group).
// All use of the communicator handle goes through this object so that an
// abort (timeout, error, shutdown) can never race with an enqueue.
//
// Works that did not finish during their launch stay in the lane's in-flight
// list, in stream order, until they are finished. Nobody is woken for them:
// a waiter polls its own event, the watchdog looks at the oldest one of each
// lane, and the lane's completion thread starts only when a work needs it
// (its Future was asked for, or its waiter went to sleep). That thread then
// finishes the lane's works in order, sleeping in the runtime on each event.
#pragma once

#include <acc_ccl.h>

#include <c10/util/C++17.h>  // FunctionRef.h of torch 1.13 needs it first
#include <c10/util/FunctionRef.h>
#include <c10/util/intrusive_ptr.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "compat.hpp"

namespace accl_torch {

class AcclWork;

class CommState {
 public:
  using Clock = std::chrono::steady_clock;

  // The group's communicator: collective over the group; rank 0 publishes a
  // unique id (and the first sequence number, returned in *seqStart) in the
  // store, the others read them.
  CommState(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size, uint64_t* seqStart);
  // A communicator whose unique id was already exchanged (p2p channels).
  // label names it in error messages.
  CommState(const acclUniqueId& id, int nranks, int rank, std::string label);
  ~CommState();
  CommState(const CommState&) = delete;
  CommState& operator=(const CommState&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int device() const { return device_; }
  const std::string& label() const { return label_; }

  // What an operation enqueues: acc-ccl calls on (comm, stream). Called
  // synchronously, so a non-owning reference is enough (no allocation).
  using LaunchFn = c10::function_ref<acclResult_t(acclComm_t, accStream_t)>;
  // Runs fn with the communicator locked and the calling thread on our
  // device; throws (with acc-ccl's message) if fn fails or the communicator
  // is unusable. Returns true when the stream has already finished
  // everything queued on it, this operation included (a small operation on
  // an idle stream runs on the calling thread). Otherwise records the work's
  // event behind the operation, appends the work to the in-flight list and
  // returns false.
  bool launch(AcclWork& work, LaunchFn fn);

  // Empty when healthy; otherwise why the communicator cannot be used.
  std::string failure();
  // Aborts the communicator (idempotent); later calls fail with reason.
  // Works whose events were already reached keep their success.
  void abort(const std::string& reason);
  bool aborted();
  // Starts (once) and wakes the completion thread: it finishes every
  // in-flight work in order until the list is empty.
  void activate();
  // Watchdog pass: finishes in-flight works whose events were reached and
  // aborts the lane when the oldest unfinished one is past its deadline.
  // Returns true while works are in flight.
  bool scan(Clock::time_point now);
  // Stops the completion thread and frees the communicator: waits for
  // in-flight works until their deadlines (internal speculative receives are
  // not waited for), then aborts what is left.
  void shutdown();

 private:
  void completerLoop();
  // Pops finished works at the head of the in-flight list (lock held).
  void popFinishedLocked();
  // Fixes the outcome of in-flight works whose events were reached (lock held).
  void settleReachedLocked();
  void abortLocked(const std::string& reason);

  std::mutex mutex_;
  acclComm_t comm_ = nullptr;
  accStream_t stream_ = nullptr;
  std::string broken_;  // set once aborted or failed
  int rank_;
  int size_;
  int device_ = 0;
  std::string label_;

  std::deque<c10::intrusive_ptr<AcclWork>> inflight_;  // stream order
  std::condition_variable cv_;
  bool active_ = false;
  bool stop_ = false;
  std::thread completer_;
};

// The device this process uses: LOCAL_RANK (or RANK, or the group rank) modulo
// the simulated device count, chosen once so that sub-groups share it.
int acclTorchDevice(int groupRank);

// "acc-ccl <what> failed: <result text>: <last error text>"
std::string acclErrorText(const char* what, acclResult_t res, acclComm_t comm);

}  // namespace accl_torch
