// process_group.hpp - the "accl" c10d backend: every collective of the
// issue's list, on CPU tensors, through one acc-ccl communicator per group;
// point-to-point operations on channels of their own (p2p.hpp).
//
// Calls return an AcclWork; the operation runs on its lane's stream, on the
// CPU tensors' memory (acc-ccl stages host buffers inside the operation). A
// small operation on an idle stream usually finishes during the call and its
// work comes back completed. Otherwise the work stays in its lane's in-flight
// list: its waiter, the lane's completion thread (futures, long waits) or
// the group's watchdog (deadlines, works nobody waits for) finishes it.
// Future callbacks run on the group's callback pool, never on a completion
// thread, so they may issue and wait for collectives.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "comm_state.hpp"
#include "p2p.hpp"
#include "types.hpp"
#include "work.hpp"

namespace accl_torch {

class ProcessGroupAccl : public AcclBackendBase {
 public:
  ProcessGroupAccl(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                   std::chrono::milliseconds timeout);
  ~ProcessGroupAccl() override;

  const std::string getBackendName() const override { return "accl"; }
  int device() const { return state_->device(); }
  // The group's timeout (the default for every operation's deadline).
  std::chrono::milliseconds timeout() const { return timeout_; }

  c10::intrusive_ptr<c10d::Work> broadcast(std::vector<at::Tensor>& tensors,
                                           const c10d::BroadcastOptions& opts = c10d::BroadcastOptions()) override;
  c10::intrusive_ptr<c10d::Work> allreduce(std::vector<at::Tensor>& tensors,
                                           const c10d::AllreduceOptions& opts = c10d::AllreduceOptions()) override;
  c10::intrusive_ptr<c10d::Work> allreduce_coalesced(
      std::vector<at::Tensor>& tensors,
      const c10d::AllreduceCoalescedOptions& opts = c10d::AllreduceCoalescedOptions()) override;
  c10::intrusive_ptr<c10d::Work> reduce(std::vector<at::Tensor>& tensors,
                                        const c10d::ReduceOptions& opts = c10d::ReduceOptions()) override;
  c10::intrusive_ptr<c10d::Work> allgather(std::vector<std::vector<at::Tensor>>& outputTensors,
                                           std::vector<at::Tensor>& inputTensors,
                                           const c10d::AllgatherOptions& opts = c10d::AllgatherOptions()) override;
  c10::intrusive_ptr<c10d::Work> _allgather_base(at::Tensor& outputBuffer, at::Tensor& inputBuffer,
                                                 const c10d::AllgatherOptions& opts = c10d::AllgatherOptions()) override;
  c10::intrusive_ptr<c10d::Work> gather(std::vector<std::vector<at::Tensor>>& outputTensors,
                                        std::vector<at::Tensor>& inputTensors,
                                        const c10d::GatherOptions& opts = c10d::GatherOptions()) override;
  c10::intrusive_ptr<c10d::Work> scatter(std::vector<at::Tensor>& outputTensors,
                                         std::vector<std::vector<at::Tensor>>& inputTensors,
                                         const c10d::ScatterOptions& opts = c10d::ScatterOptions()) override;
  c10::intrusive_ptr<c10d::Work> reduce_scatter(
      std::vector<at::Tensor>& outputTensors, std::vector<std::vector<at::Tensor>>& inputTensors,
      const c10d::ReduceScatterOptions& opts = c10d::ReduceScatterOptions()) override;
  c10::intrusive_ptr<c10d::Work> _reduce_scatter_base(
      at::Tensor& outputBuffer, at::Tensor& inputBuffer,
      const c10d::ReduceScatterOptions& opts = c10d::ReduceScatterOptions()) override;
  c10::intrusive_ptr<c10d::Work> alltoall_base(at::Tensor& outputBuffer, at::Tensor& inputBuffer,
                                               std::vector<int64_t>& outputSplitSizes,
                                               std::vector<int64_t>& inputSplitSizes,
                                               const c10d::AllToAllOptions& opts = c10d::AllToAllOptions()) override;
  c10::intrusive_ptr<c10d::Work> alltoall(std::vector<at::Tensor>& outputTensors,
                                          std::vector<at::Tensor>& inputTensors,
                                          const c10d::AllToAllOptions& opts = c10d::AllToAllOptions()) override;
  c10::intrusive_ptr<c10d::Work> allgather_coalesced(
      std::vector<std::vector<at::Tensor>>& outputTensorLists, std::vector<at::Tensor>& inputTensors,
      const c10d::AllgatherOptions& opts = c10d::AllgatherOptions()) override;
  c10::intrusive_ptr<c10d::Work> send(std::vector<at::Tensor>& tensors, int dstRank, int tag) override;
  c10::intrusive_ptr<c10d::Work> recv(std::vector<at::Tensor>& tensors, int srcRank, int tag) override;
  c10::intrusive_ptr<c10d::Work> recvAnysource(std::vector<at::Tensor>& tensors, int tag) override;
  c10::intrusive_ptr<c10d::Work> barrier(const c10d::BarrierOptions& opts = c10d::BarrierOptions()) override;
  // Through the store, as a debugging aid: every rank but 0 reports, rank 0
  // waits for them until the timeout and names the ranks that did not come,
  // then answers. Uses no communicator, so it works next to a hung one.
  void monitoredBarrier(const c10d::BarrierOptions& opts, bool waitAllRanks = false) override;
  // Sequence numbers: agreed at creation (rank 0's random start travels with
  // the unique id), one more for every operation of the group.
  void setSequenceNumberForGroup() override;
  uint64_t getSequenceNumberForGroup() override;

 private:
  // One operation on the group's communicator: launch enqueues it (on the
  // tensors' own memory; acc-ccl stages host buffers itself) and the work is
  // completed at once if it already finished. keep must hold every tensor
  // launch points into; inputs are what the profiler records.
  // optTimeout: the option's (kUnsetTimeout: the group's).
  c10::intrusive_ptr<c10d::Work> submit(c10d::OpType type, const char* title, const char* name,
                                        const std::vector<at::Tensor>& inputs, std::vector<at::Tensor> outputs,
                                        std::vector<at::Tensor> keep, CommState::LaunchFn launch,
                                        std::function<void()> onSuccess, std::chrono::milliseconds optTimeout,
                                        int sourceRank = -1);
  WorkSpec spec(c10d::OpType type, const char* title, const char* name, std::chrono::milliseconds optTimeout);
  std::chrono::milliseconds timeoutOf(std::chrono::milliseconds optTimeout) const {
    return optTimeout.count() > 0 ? optTimeout : timeout_;
  }
  void checkRank(int64_t r, const char* what, const char* arg) const;
  // Reductions acc-ccl cannot do itself (types.hpp RedPath).
  c10::intrusive_ptr<c10d::Work> allreduceEmulated(at::Tensor user, const c10d::ReduceOp& op, RedPath path,
                                                   std::chrono::milliseconds timeout, c10d::OpType type,
                                                   const char* title, const char* what,
                                                   std::function<void()> after = nullptr);
  c10::intrusive_ptr<c10d::Work> allreduceSparse(at::Tensor& tensor, const c10d::AllreduceOptions& opts);

  c10::intrusive_ptr<c10d::Store> store_;
  std::shared_ptr<CommState> state_;  // the group's communicator
  std::chrono::milliseconds timeout_;
  std::atomic<uint64_t> seq_{0};
  uint64_t monitoredEpoch_ = 0;
  std::shared_ptr<CallbackPool> pool_;
  std::shared_ptr<Watchdog> watchdog_;
  std::shared_ptr<P2PManager> p2p_;
};

// A contiguous buffer for a user tensor: the tensor itself when it is
// contiguous, else a contiguous copy (copied back on completion when written).
at::Tensor contiguousBuffer(const at::Tensor& t);
// A tensor's first byte (null for an empty tensor), for acc-ccl's arguments.
inline char* bytesOf(const at::Tensor& t) { return static_cast<char*>(t.data_ptr()); }

}  // namespace accl_torch
