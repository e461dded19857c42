// work.hpp - the asynchronous result of one operation: the tensors it must
// keep alive, what to do on completion (copy results into non-contiguous user
// tensors), its profiling record ("accl:all_reduce", ...), its sequence
// number and deadline (issue time + timeout), an event on its lane's stream
// when it did not finish during the launch, and, once asked for, the c10
// Future that DDP's communication hooks chain on.
//
// A work is launched at once on its lane, later (a point-to-point channel
// still connecting; a receive from any source waiting for a sender), or never
// (a receive whose data came in a header another work received): then
// whoever makes it progress completes it with complete().
#pragma once

#include <ATen/core/ivalue.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "comm_state.hpp"
#include "completer.hpp"

namespace accl_torch {

// True on the backend's own threads (completion threads, the watchdog):
// futures completed there run their callbacks on the callback pool instead.
bool onServiceThread();
void markServiceThread();

class AcclWork : public c10d::Work {
 public:
  using Clock = std::chrono::steady_clock;

  // title: the profiler's name ("accl:all_reduce"); name: the operation in
  // error messages. inputs: recorded as the profiler event's shapes.
  // outputs: what result() and the future hand out. keep: tensors the
  // library reads or writes until completion. onSuccess runs once, after the
  // operation, before the work counts as complete.
  AcclWork(std::shared_ptr<CallbackPool> pool, int rank, int size, c10d::OpType type, const char* title,
           const char* name, const std::vector<at::Tensor>& inputs, std::vector<at::Tensor> outputs,
           std::vector<at::Tensor> keep, std::function<void()> onSuccess, std::chrono::milliseconds timeout,
           uint64_t seq, int sourceRank = -1);
  ~AcclWork() override;

  // Enqueues the operation on lane (CommState::launch). When it finished
  // during the launch, the work is completed here, on the calling thread: no
  // event, no thread hand-off. Call at most once.
  void launch(const std::shared_ptr<CommState>& lane, CommState::LaunchFn fn);
  // Completes a work that is not launched (or whose completion someone else
  // observed): error null means success (onSuccess then runs).
  void complete(std::exception_ptr error);
  // Completes the work exactly once; any thread may call it.
  void finish();
  // Asks for the lane's completion thread (now, or at the launch).
  void track();

  // While the work is not launched: what a timeout does to it (removes it
  // from a queue, fails a channel). Launched works abort their lane.
  void setPendingTimeout(std::function<void(const std::string&)> fn);
  void setSourceRank(int r) { sourceRank_.store(r, std::memory_order_release); }
  // Looked at by the watchdog while the operation runs: a non-empty answer
  // (a receive whose header announced another size) aborts the lane with it.
  void setProbe(std::function<std::string()> fn) { probe_ = std::move(fn); }
  std::string probe() const { return probe_ ? probe_() : std::string(); }
  void setOnSuccess(std::function<void()> fn) { onSuccess_ = std::move(fn); }
  void addKeep(const at::Tensor& t) { keep_.push_back(t); }

  const char* name() const { return name_; }
  uint64_t seq() const { return seq_; }
  Clock::time_point deadline() const { return deadline_; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  bool launched() const { return launched_.load(std::memory_order_acquire); }
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  // The launched operation's event was reached (false before the launch).
  bool eventReached();
  // Blocks until the launched operation is done (completion thread).
  void waitEvent();
  // Called by the lane, lock held, when the event was reached before an
  // abort: the work succeeded whatever happens to the lane later.
  void settleOk() { settledOk_ = true; }
  // The timeout text: names the operation, its sequence number, the rank.
  std::string timeoutText(std::chrono::milliseconds after) const;
  // Aborts the work's lane (launched) or runs its pending-timeout hook.
  void timeOut(const std::string& why);

  bool isCompleted() override;
  bool isSuccess() const override;
  std::exception_ptr exception() const override;
  int sourceRank() const override { return sourceRank_.load(std::memory_order_acquire); }
  std::vector<at::Tensor> result() override { return outputs_; }
  void synchronize() override {}
  bool wait(std::chrono::milliseconds timeout = kNoTimeout) override;
  void abort() override;
  // Made on the first call (most callers never ask); completed at once when
  // the work already is, else by whoever finishes the work.
  c10::intrusive_ptr<c10::ivalue::Future> getFuture() override;

 private:
  friend class CommState;
  // Marks the future once both it exists and the work is finished; on a
  // service thread the marking (and the callbacks it runs) goes to the pool.
  void completeFuture();

  std::shared_ptr<CallbackPool> pool_;
  int groupRank_;
  int groupSize_;
  const char* name_;
  std::vector<at::Tensor> outputs_;
  std::vector<at::Tensor> keep_;
  std::function<void()> onSuccess_;
  std::function<std::string()> probe_;  // set before the launch
  std::chrono::milliseconds timeout_;
  uint64_t seq_;
  Clock::time_point issued_;
  Clock::time_point deadline_;
  std::atomic<int> sourceRank_;

  std::shared_ptr<CommState> lane_;  // set before launched_
  accEvent_t event_ = nullptr;       // set by the lane when the launch left the operation running
  bool settledOk_ = false;           // guarded by the lane's lock
  std::atomic<bool> launched_{false};
  std::atomic<bool> tracked_{false};
  std::function<void(const std::string&)> pendingTimeout_;  // guarded by finishMutex_
  std::exception_ptr presetError_;                           // guarded by finishMutex_

  std::mutex finishMutex_;  // serialises finish() between threads
  std::atomic<bool> finished_{false};
  std::mutex futureMutex_;  // guards future_ and futureMarked_
  c10::intrusive_ptr<c10::ivalue::Future> future_;
  bool futureMarked_ = false;
};

}  // namespace accl_torch
