// process_group.hpp - the "accl" c10d backend: every collective of the
// issue's list, on CPU tensors, through one acc-ccl communicator per group.
//
// Calls return an AcclWork; the operation runs on the group's stream, on the
// CPU tensors' memory (acc-ccl stages host buffers inside the operation). A
// small operation on an idle stream usually finishes during the call and its
// work comes back completed. A completion thread per group finishes works
// whose future was requested or whose waiter went to sleep, so futures
// complete even when nobody waits.
#pragma once

#include <functional>
#include <memory>

#include "comm_state.hpp"
#include "work.hpp"

namespace accl_torch {

class ProcessGroupAccl : public AcclBackendBase {
 public:
  ProcessGroupAccl(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                   std::chrono::milliseconds timeout);
  ~ProcessGroupAccl() override;

  const std::string getBackendName() const override { return "accl"; }
  int device() const { return state_->device(); }

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
  c10::intrusive_ptr<c10d::Work> send(std::vector<at::Tensor>& tensors, int dstRank, int tag) override;
  c10::intrusive_ptr<c10d::Work> recv(std::vector<at::Tensor>& tensors, int srcRank, int tag) override;
  c10::intrusive_ptr<c10d::Work> barrier(const c10d::BarrierOptions& opts = c10d::BarrierOptions()) override;

 private:
  // One operation: launch enqueues it (on the tensors' own memory; acc-ccl
  // stages host buffers itself) and the work is completed at once if it
  // already finished. keep must hold every tensor launch points into.
  // optTimeout: the option's (kUnsetTimeout: the group's).
  c10::intrusive_ptr<c10d::Work> submit(c10d::OpType type, const char* name, std::vector<at::Tensor> outputs,
                                        std::vector<at::Tensor> keep, CommState::LaunchFn launch,
                                        std::function<void()> onSuccess, std::chrono::milliseconds optTimeout,
                                        int sourceRank = -1);
  void checkRank(int64_t r, const char* what, const char* arg) const;
  // With ACCL_TORCH_CHECK=1 (or TORCH_DISTRIBUTED_DEBUG=DETAIL) every
  // collective first allgathers (op, dtype, count, root) and throws on all
  // ranks if they differ; otherwise a no-op. Costs one small collective and a
  // host round trip per call, so it is a debugging aid, off by default.
  void checkAgreement(c10d::OpType type, const char* what, const at::Tensor& like, int64_t count, int64_t root = -1);

  std::shared_ptr<CommState> state_;
  std::chrono::milliseconds timeout_;
  bool checkCalls_ = false;
  std::shared_ptr<Completer> completer_;
};

// A contiguous buffer for a user tensor: the tensor itself when it is
// contiguous, else a contiguous copy (copied back on completion when written).
at::Tensor contiguousBuffer(const at::Tensor& t);
// A tensor's first byte (null for an empty tensor), for acc-ccl's arguments.
inline char* bytesOf(const at::Tensor& t) { return static_cast<char*>(t.data_ptr()); }

}  // namespace accl_torch
