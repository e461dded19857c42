// ops_reduce.cpp - the reducing operations: allreduce (and coalesced),
// reduce, reduce_scatter (list and base forms) and barrier.
#include "process_group.hpp"
#include "types.hpp"

namespace accl_torch {

namespace {
// Copies the result back when the user's tensor was not contiguous.
std::function<void()> copyBack(const at::Tensor& user, const at::Tensor& buf) {
  if (user.is_same(buf)) return nullptr;
  return [user, buf]() mutable { user.copy_(buf); };
}
}  // namespace

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::allreduce(std::vector<at::Tensor>& tensors,
                                                           const c10d::AllreduceOptions& opts) {
  const char* what = "allreduce";
  checkSingle(tensors, what, "tensors");
  at::Tensor user = tensors[0];
  acclDataType_t type = acclTypeOf(user, what);
  RedOpSpec op(opts.reduceOp, user, what);
  at::Tensor buf = contiguousBuffer(user);
  size_t count = static_cast<size_t>(buf.numel());
  checkAgreement(c10d::OpType::ALLREDUCE, what, user, user.numel());
  return submit(
      c10d::OpType::ALLREDUCE, what, tensors, {buf},
      [&](acclComm_t comm, accStream_t stream) {
        return op.with(comm, type, [&](acclRedOp_t o) {
          return acclAllReduce(bytesOf(buf), bytesOf(buf), count, type, o, comm, stream);
        });
      },
      copyBack(user, buf), opts.timeout);
}

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::allreduce_coalesced(std::vector<at::Tensor>& tensors,
                                                                     const c10d::AllreduceCoalescedOptions& opts) {
  const char* what = "allreduce_coalesced";
  TORCH_CHECK(!tensors.empty(), "acc-ccl ", what, ": argument tensors is empty");
  std::vector<at::Tensor> bufs;
  std::vector<acclDataType_t> types;
  std::vector<RedOpSpec> ops;
  std::vector<std::function<void()>> copies;
  for (const auto& t : tensors) {
    checkTensor(t, what, "tensors");
    types.push_back(acclTypeOf(t, what));
    ops.emplace_back(opts.reduceOp, t, what);
    bufs.push_back(contiguousBuffer(t));
    if (auto c = copyBack(t, bufs.back())) copies.push_back(c);
  }
  int64_t total = 0;
  for (const auto& t : tensors) total += t.numel();
  checkAgreement(c10d::OpType::ALLREDUCE_COALESCED, what, tensors[0], total);
  return submit(
      c10d::OpType::ALLREDUCE_COALESCED, what, tensors, bufs,
      [&](acclComm_t comm, accStream_t stream) {
        acclResult_t res = acclGroupStart();
        for (size_t i = 0; i < bufs.size() && res == acclSuccess; i++) {
          void* p = bufs[i].data_ptr();
          size_t n = static_cast<size_t>(bufs[i].numel());
          res = ops[i].with(comm, types[i],
                            [&](acclRedOp_t o) { return acclAllReduce(p, p, n, types[i], o, comm, stream); });
        }
        acclResult_t end = acclGroupEnd();
        return res != acclSuccess ? res : end;
      },
      copies.empty() ? std::function<void()>() : [copies] { for (const auto& c : copies) c(); }, opts.timeout);
}

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::reduce(std::vector<at::Tensor>& tensors,
                                                        const c10d::ReduceOptions& opts) {
  const char* what = "reduce";
  checkSingle(tensors, what, "tensors");
  checkRank(opts.rootRank, what, "rootRank");
  at::Tensor user = tensors[0];
  acclDataType_t type = acclTypeOf(user, what);
  RedOpSpec op(opts.reduceOp, user, what);
  at::Tensor buf = contiguousBuffer(user);
  size_t count = static_cast<size_t>(buf.numel());
  int root = static_cast<int>(opts.rootRank);
  checkAgreement(c10d::OpType::REDUCE, what, user, user.numel(), root);
  return submit(
      c10d::OpType::REDUCE, what, tensors, {buf},
      [&](acclComm_t comm, accStream_t stream) {
        return op.with(comm, type, [&](acclRedOp_t o) {
          return acclReduce(bytesOf(buf), bytesOf(buf), count, type, o, root, comm, stream);
        });
      },
      getRank() == root ? copyBack(user, buf) : nullptr, opts.timeout);
}

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::_reduce_scatter_base(at::Tensor& outputBuffer,
                                                                      at::Tensor& inputBuffer,
                                                                      const c10d::ReduceScatterOptions& opts) {
  const char* what = "_reduce_scatter_base";
  checkTensor(outputBuffer, what, "output");
  checkTensor(inputBuffer, what, "input");
  TORCH_CHECK(outputBuffer.scalar_type() == inputBuffer.scalar_type(), "acc-ccl ", what,
              ": input and output dtypes differ (", inputBuffer.scalar_type(), " vs ", outputBuffer.scalar_type(), ")");
  TORCH_CHECK(inputBuffer.numel() == outputBuffer.numel() * getSize(), "acc-ccl ", what, ": input has ",
              inputBuffer.numel(), " elements, expected output size ", outputBuffer.numel(), " x group size ",
              getSize());
  acclDataType_t type = acclTypeOf(outputBuffer, what);
  RedOpSpec op(opts.reduceOp, outputBuffer, what);
  at::Tensor in = contiguousBuffer(inputBuffer);
  at::Tensor out = contiguousBuffer(outputBuffer);
  size_t count = static_cast<size_t>(out.numel());
  checkAgreement(c10d::OpType::_REDUCE_SCATTER_BASE, what, out, out.numel());
  return submit(
      c10d::OpType::_REDUCE_SCATTER_BASE, what, {outputBuffer}, {in, out},
      [&](acclComm_t comm, accStream_t stream) {
        return op.with(comm, type, [&](acclRedOp_t o) {
          return acclReduceScatter(bytesOf(in), bytesOf(out), count, type, o, comm, stream);
        });
      },
      copyBack(outputBuffer, out), opts.timeout);
}

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::reduce_scatter(std::vector<at::Tensor>& outputTensors,
                                                                std::vector<std::vector<at::Tensor>>& inputTensors,
                                                                const c10d::ReduceScatterOptions& opts) {
  const char* what = "reduce_scatter";
  checkSingle(outputTensors, what, "output_tensors");
  TORCH_CHECK(inputTensors.size() == 1, "acc-ccl ", what, ": argument input_tensors must hold one list, got ",
              inputTensors.size());
  const at::Tensor& output = outputTensors[0];
  const auto& inputs = inputTensors[0];
  TORCH_CHECK(static_cast<int>(inputs.size()) == getSize(), "acc-ccl ", what, ": input list has ", inputs.size(),
              " tensors, expected the group size ", getSize());
  std::vector<at::Tensor> flat;
  for (const auto& t : inputs) {
    checkTensor(t, what, "input_tensors");
    TORCH_CHECK(t.numel() == output.numel() && t.scalar_type() == output.scalar_type(), "acc-ccl ", what,
                ": every input must match the output (", output.numel(), " elements of ", output.scalar_type(),
                "), got ", t.numel(), " of ", t.scalar_type());
    flat.push_back(t.reshape({-1}));
  }
  at::Tensor packed = at::cat(flat);
  at::Tensor out = output;
  return _reduce_scatter_base(out, packed, opts);
}

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::barrier(const c10d::BarrierOptions& opts) {
  // A one-element allreduce: every rank must have entered before any leaves.
  checkAgreement(c10d::OpType::BARRIER, "barrier", at::Tensor(), 0);
  at::Tensor token = at::zeros({1}, at::kInt);
  return submit(
      c10d::OpType::BARRIER, "barrier", {}, {token},
      [&](acclComm_t comm, accStream_t stream) {
        return acclAllReduce(bytesOf(token), bytesOf(token), 1, acclInt32, acclSum, comm, stream);
      },
      nullptr, opts.timeout);
}

}  // namespace accl_torch
