// ops_gather.cpp - data movement without reduction from one or all ranks:
// broadcast, allgather (list and base forms), gather and scatter.
// gather and scatter are grouped point-to-point calls; a rank's own block is
// copied locally when the work completes (stream order keeps it safe).
#include "process_group.hpp"
#include "types.hpp"

namespace accl_torch {

namespace {
void checkSameKind(const at::Tensor& a, const at::Tensor& ref, const char* what, const char* arg) {
  TORCH_CHECK(a.scalar_type() == ref.scalar_type(), "acc-ccl ", what, ": ", arg, " has dtype ", a.scalar_type(),
              ", expected ", ref.scalar_type());
  TORCH_CHECK(a.numel() == ref.numel(), "acc-ccl ", what, ": ", arg, " has ", a.numel(), " elements, expected ",
              ref.numel());
}
}  // namespace

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::broadcast(std::vector<at::Tensor>& tensors,
                                                           const c10d::BroadcastOptions& opts) {
  const char* what = "broadcast";
  checkSingle(tensors, what, "tensors");
  checkRank(opts.rootRank, what, "rootRank");
  at::Tensor user = tensors[0];
  acclDataType_t type = acclTypeOf(user, what);
  at::Tensor buf = contiguousBuffer(user);
  size_t count = static_cast<size_t>(buf.numel());
  int root = static_cast<int>(opts.rootRank);
  std::function<void()> done;
  if (!user.is_same(buf) && getRank() != root) done = [user, buf]() mutable { user.copy_(buf); };
  checkAgreement(c10d::OpType::BROADCAST, what, user, user.numel(), root);
  return submit(
      c10d::OpType::BROADCAST, what, tensors, {buf},
      [&](acclComm_t comm, accStream_t stream) {
        return acclBroadcast(bytesOf(buf), bytesOf(buf), count, type, root, comm, stream);
      },
      done, opts.timeout);
}

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::_allgather_base(at::Tensor& outputBuffer, at::Tensor& inputBuffer,
                                                                 const c10d::AllgatherOptions& opts) {
  const char* what = "_allgather_base";
  checkTensor(outputBuffer, what, "output");
  checkTensor(inputBuffer, what, "input");
  TORCH_CHECK(outputBuffer.scalar_type() == inputBuffer.scalar_type(), "acc-ccl ", what,
              ": input and output dtypes differ");
  TORCH_CHECK(outputBuffer.numel() == inputBuffer.numel() * getSize(), "acc-ccl ", what, ": output has ",
              outputBuffer.numel(), " elements, expected input size ", inputBuffer.numel(), " x group size ",
              getSize());
  acclDataType_t type = acclTypeOf(inputBuffer, what);
  at::Tensor in = contiguousBuffer(inputBuffer);
  at::Tensor out = contiguousBuffer(outputBuffer);
  size_t count = static_cast<size_t>(in.numel());
  at::Tensor user = outputBuffer;
  std::function<void()> done;
  if (!user.is_same(out)) done = [user, out]() mutable { user.copy_(out); };
  checkAgreement(c10d::OpType::_ALLGATHER_BASE, what, in, in.numel());
  return submit(
      c10d::OpType::_ALLGATHER_BASE, what, {outputBuffer}, {in, out},
      [&](acclComm_t comm, accStream_t stream) {
        return acclAllGather(bytesOf(in), bytesOf(out), count, type, comm, stream);
      },
      done, opts.timeout);
}

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::allgather(std::vector<std::vector<at::Tensor>>& outputTensors,
                                                           std::vector<at::Tensor>& inputTensors,
                                                           const c10d::AllgatherOptions& opts) {
  const char* what = "allgather";
  checkSingle(inputTensors, what, "input_tensors");
  TORCH_CHECK(outputTensors.size() == 1, "acc-ccl ", what, ": argument output_tensors must hold one list, got ",
              outputTensors.size());
  const at::Tensor in = contiguousBuffer(inputTensors[0]);
  std::vector<at::Tensor> outs = outputTensors[0];
  TORCH_CHECK(static_cast<int>(outs.size()) == getSize(), "acc-ccl ", what, ": output list has ", outs.size(),
              " tensors, expected the group size ", getSize());
  for (const auto& o : outs) {
    checkTensor(o, what, "output_tensors");
    checkSameKind(o, in, what, "an output tensor");
  }
  acclDataType_t type = acclTypeOf(in, what);
  const int64_t n = in.numel();
  at::Tensor flat = at::empty({n * getSize()}, in.options());
  size_t count = static_cast<size_t>(n);
  checkAgreement(c10d::OpType::ALLGATHER, what, in, n);
  return submit(
      c10d::OpType::ALLGATHER, what, outs, {in, flat},
      [&](acclComm_t comm, accStream_t stream) {
        return acclAllGather(bytesOf(in), bytesOf(flat), count, type, comm, stream);
      },
      [outs, flat, n]() mutable {
        for (size_t i = 0; i < outs.size(); i++)
          outs[i].copy_(flat.narrow(0, static_cast<int64_t>(i) * n, n).view(outs[i].sizes()));
      },
      opts.timeout);
}

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::gather(std::vector<std::vector<at::Tensor>>& outputTensors,
                                                        std::vector<at::Tensor>& inputTensors,
                                                        const c10d::GatherOptions& opts) {
  const char* what = "gather";
  checkSingle(inputTensors, what, "input_tensors");
  checkRank(opts.rootRank, what, "rootRank");
  const int root = static_cast<int>(opts.rootRank), me = getRank(), size = getSize();
  const at::Tensor in = contiguousBuffer(inputTensors[0]);
  acclDataType_t type = acclTypeOf(in, what);
  const size_t count = static_cast<size_t>(in.numel());
  checkAgreement(c10d::OpType::GATHER, what, in, in.numel(), root);
  if (me != root) {
    TORCH_CHECK(outputTensors.empty() || (outputTensors.size() == 1 && outputTensors[0].empty()), "acc-ccl ", what,
                ": only the root rank may pass output tensors");
    return submit(
        c10d::OpType::GATHER, what, {}, {in},
        [&](acclComm_t comm, accStream_t stream) { return acclSend(bytesOf(in), count, type, root, comm, stream); },
        nullptr, opts.timeout);
  }
  TORCH_CHECK(outputTensors.size() == 1 && static_cast<int>(outputTensors[0].size()) == size, "acc-ccl ", what,
              ": the root needs one list of ", size, " output tensors");
  std::vector<at::Tensor> outs = outputTensors[0], bufs;
  for (const auto& o : outs) {
    checkTensor(o, what, "output_tensors");
    checkSameKind(o, in, what, "an output tensor");
    bufs.push_back(contiguousBuffer(o));
  }
  std::vector<at::Tensor> keep = bufs;
  keep.push_back(in);
  return submit(
      c10d::OpType::GATHER, what, outs, keep,
      [&](acclComm_t comm, accStream_t stream) {
        acclResult_t res = acclGroupStart();
        for (int p = 0; p < size && res == acclSuccess; p++)
          if (p != me) res = acclRecv(bytesOf(bufs[p]), count, type, p, comm, stream);
        acclResult_t end = acclGroupEnd();
        return res != acclSuccess ? res : end;
      },
      [outs, bufs, in, me]() mutable {
        outs[me].copy_(in.view(outs[me].sizes()));
        for (size_t p = 0; p < outs.size(); p++)
          if (static_cast<int>(p) != me && !outs[p].is_same(bufs[p])) outs[p].copy_(bufs[p]);
      },
      opts.timeout);
}

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::scatter(std::vector<at::Tensor>& outputTensors,
                                                         std::vector<std::vector<at::Tensor>>& inputTensors,
                                                         const c10d::ScatterOptions& opts) {
  const char* what = "scatter";
  checkSingle(outputTensors, what, "output_tensors");
  checkRank(opts.rootRank, what, "rootRank");
  const int root = static_cast<int>(opts.rootRank), me = getRank(), size = getSize();
  at::Tensor user = outputTensors[0];
  at::Tensor out = contiguousBuffer(user);
  acclDataType_t type = acclTypeOf(out, what);
  const size_t count = static_cast<size_t>(out.numel());
  checkAgreement(c10d::OpType::SCATTER, what, out, out.numel(), root);
  if (me != root) {
    TORCH_CHECK(inputTensors.empty() || (inputTensors.size() == 1 && inputTensors[0].empty()), "acc-ccl ", what,
                ": only the root rank may pass input tensors");
    std::function<void()> done;
    if (!user.is_same(out)) done = [user, out]() mutable { user.copy_(out); };
    return submit(
        c10d::OpType::SCATTER, what, {user}, {out},
        [&](acclComm_t comm, accStream_t stream) { return acclRecv(bytesOf(out), count, type, root, comm, stream); },
        done, opts.timeout);
  }
  TORCH_CHECK(inputTensors.size() == 1 && static_cast<int>(inputTensors[0].size()) == size, "acc-ccl ", what,
              ": the root needs one list of ", size, " input tensors");
  std::vector<at::Tensor> bufs;
  for (const auto& t : inputTensors[0]) {
    checkTensor(t, what, "input_tensors");
    checkSameKind(t, out, what, "an input tensor");
    bufs.push_back(contiguousBuffer(t));
  }
  return submit(
      c10d::OpType::SCATTER, what, {user}, bufs,
      [&](acclComm_t comm, accStream_t stream) {
        acclResult_t res = acclGroupStart();
        for (int p = 0; p < size && res == acclSuccess; p++)
          if (p != me) res = acclSend(bytesOf(bufs[p]), count, type, p, comm, stream);
        acclResult_t end = acclGroupEnd();
        return res != acclSuccess ? res : end;
      },
      [user, bufs, me]() mutable { user.copy_(bufs[me].view(user.sizes())); }, opts.timeout);
}

}  // namespace accl_torch
