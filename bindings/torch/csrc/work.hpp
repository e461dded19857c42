// work.hpp - the asynchronous result of one operation: the tensors it must
// keep alive, what to do on completion (copy results into non-contiguous user
// tensors), an event on the group's stream behind the operation when it did
// not finish during the launch, and, once asked for, the c10 Future that
// DDP's communication hooks chain on.
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

class AcclWork : public c10d::Work {
 public:
  // outputs: what result() and the future hand out. keep: tensors the
  // library reads or writes until completion. onSuccess runs once, after the
  // operation, before the work counts as complete.
  AcclWork(std::shared_ptr<CommState> state, std::shared_ptr<Completer> completer, c10d::OpType type, const char* name,
           std::vector<at::Tensor> outputs, std::vector<at::Tensor> keep, std::function<void()> onSuccess,
           std::chrono::milliseconds timeout, int sourceRank = -1);
  ~AcclWork() override;

  // Enqueues the operation (CommState::launch). When it finished during the
  // launch, the work is completed here, on the calling thread: no event, no
  // thread hand-off. Call once, right after construction.
  void launch(CommState::LaunchFn fn);
  // Blocks until the operation is done (the completion thread uses it).
  void waitEvent();
  // Completes the work (and its future, if one was asked for) exactly once;
  // any thread may call it.
  void finish();
  const char* name() const { return name_; }

  bool isCompleted() override;
  bool isSuccess() const override;
  std::exception_ptr exception() const override;
  int sourceRank() const override { return sourceRank_; }
  std::vector<at::Tensor> result() override { return outputs_; }
  void synchronize() override {}
  bool wait(std::chrono::milliseconds timeout = kNoTimeout) override;
  void abort() override;
  // Made on the first call (most callers never ask); completed at once when
  // the work already is, else by whoever finishes the work.
  c10::intrusive_ptr<c10::ivalue::Future> getFuture() override;

 private:
  bool eventReached();
  // Hands the work to the completion thread (once).
  void track();
  // Marks the future once both it exists and the work is finished.
  void completeFuture();

  std::shared_ptr<CommState> state_;
  std::shared_ptr<Completer> completer_;
  std::atomic<bool> tracked_{false};
  const char* name_;
  std::vector<at::Tensor> outputs_;
  std::vector<at::Tensor> keep_;
  std::function<void()> onSuccess_;
  std::chrono::milliseconds timeout_;
  int sourceRank_;
  accEvent_t event_ = nullptr;  // only when the launch left the operation running
  std::mutex finishMutex_;  // serialises finish() between the waiter and the completion thread
  std::atomic<bool> finished_{false};
  std::mutex futureMutex_;  // guards future_ and futureMarked_
  c10::intrusive_ptr<c10::ivalue::Future> future_;
  bool futureMarked_ = false;
};

}  // namespace accl_torch
