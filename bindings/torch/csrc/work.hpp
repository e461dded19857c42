// work.hpp - the asynchronous result of one operation: an event recorded on
// the group's stream behind the operation, the tensors it must keep alive,
// and what to do on completion (copy staged results into the user's tensors,
// complete the c10 Future that DDP's communication hooks chain on).
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
  // event, before the work counts as complete.
  AcclWork(std::shared_ptr<CommState> state, std::shared_ptr<Completer> completer, c10d::OpType type, const char* name,
           std::vector<at::Tensor> outputs, std::vector<at::Tensor> keep, std::function<void()> onSuccess,
           std::chrono::milliseconds timeout, int sourceRank = -1);
  ~AcclWork() override;

  // Records the completion event on the stream; called right after the launch.
  void recordEvent();
  // Blocks until the event is reached (the completion thread uses it).
  void waitEvent();
  // Completes the work and its future exactly once; any thread may call it.
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
  c10::intrusive_ptr<c10::ivalue::Future> getFuture() override;

 private:
  bool eventReached();
  // Hands the work to the completion thread (once).
  void track();

  std::shared_ptr<CommState> state_;
  std::shared_ptr<Completer> completer_;
  std::atomic<bool> tracked_{false};
  const char* name_;
  std::vector<at::Tensor> outputs_;
  std::vector<at::Tensor> keep_;
  std::function<void()> onSuccess_;
  std::chrono::milliseconds timeout_;
  int sourceRank_;
  accEvent_t event_ = nullptr;
  std::mutex finishMutex_;  // serialises finish() between the waiter and the completion thread
  std::atomic<bool> finished_{false};
  c10::intrusive_ptr<c10::ivalue::Future> future_;
};

}  // namespace accl_torch
