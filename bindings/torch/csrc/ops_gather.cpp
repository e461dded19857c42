// ops_gather.cpp - data movement without reduction from one or all ranks:
// broadcast, allgather (list, base and coalesced forms), gather and scatter.
// Any dtype moves: acc-ccl's own type when it has one, else bytes.
// allgather_coalesced gathers all inputs as one byte buffer.
// gather and scatter are grouped point-to-point calls; a rank's own block is
// copied locally when the work completes (stream order keeps it safe).
#include <climits>
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
  // The root's range is acclBroadcast's to check (one check, the library's:
  // its refusal names the argument and leaves the communicator usable); only
  // what does not fit the int it takes is refused here.
  TORCH_CHECK(opts.rootRank >= INT_MIN && opts.rootRank <= INT_MAX, "acc-ccl ", what, ": argument rootRank=",
              opts.rootRank, " is not a rank of this group (size ", getSize(), ")");
  at::Tensor user = tensors[0];
  at::Tensor buf = contiguousBuffer(user);
  const FlatType ft = flatOf(buf);
  int root = static_cast<int>(opts.rootRank);
  std::function<void()> done;
  if (!user.is_same(buf) && getRank() != root) done = [user, buf]() mutable { user.copy_(buf); };
  return submit(
      c10d::OpType::BROADCAST, "accl:broadcast", what, tensors, tensors, {buf},
      [&](acclComm_t comm, accStream_t stream) {
        return acclBroadcast(bytesOf(buf), bytesOf(buf), ft.count, ft.type, root, comm, stream);
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
  at::Tensor in = contiguousBuffer(inputBuffer);
  at::Tensor out = contiguousBuffer(outputBuffer);
  const FlatType ft = flatOf(in);
  at::Tensor user = outputBuffer;
  std::function<void()> done;
  if (!user.is_same(out)) done = [user, out]() mutable { user.copy_(out); };
  return submit(
      c10d::OpType::_ALLGATHER_BASE, "accl:_all_gather_base", what, {inputBuffer}, {outputBuffer}, {in, out},
      [&](acclComm_t comm, accStream_t stream) {
        return acclAllGather(bytesOf(in), bytesOf(out), ft.count, ft.type, comm, stream);
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
  const FlatType ft = flatOf(in);
  const int64_t n = in.numel();
  at::Tensor flat = at::empty({n * getSize()}, in.options());
  return submit(
      c10d::OpType::ALLGATHER, "accl:all_gather", what, inputTensors, outs, {in, flat},
      [&](acclComm_t comm, accStream_t stream) {
        return acclAllGather(bytesOf(in), bytesOf(flat), ft.count, ft.type, comm, stream);
      },
      [outs, flat, n]() mutable {
        for (size_t i = 0; i < outs.size(); i++)
          outs[i].copy_(flat.narrow(0, static_cast<int64_t>(i) * n, n).view(outs[i].sizes()));
      },
      opts.timeout);
}

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::allgather_coalesced(
    std::vector<std::vector<at::Tensor>>& outputTensorLists, std::vector<at::Tensor>& inputTensors,
    const c10d::AllgatherOptions& opts) {
  const char* what = "allgather_coalesced";
  const int size = getSize();
  TORCH_CHECK(!inputTensors.empty(), "acc-ccl ", what, ": argument input_tensor_list is empty");
  TORCH_CHECK(static_cast<int>(outputTensorLists.size()) == size, "acc-ccl ", what, ": output_tensor_lists has ",
              outputTensorLists.size(), " lists, expected the group size ", size);
  // Every input as bytes, each at a 16-byte aligned offset (the gathered
  // blocks are viewed as their dtypes again): one allgather of the packed buffer.
  std::vector<at::Tensor> parts;
  std::vector<int64_t> offsets;
  int64_t total = 0;
  for (const auto& t : inputTensors) {
    checkTensor(t, what, "input_tensor_list");
    offsets.push_back(total);
    at::Tensor c = t.contiguous().view({-1});
    parts.push_back(c.numel() ? c.view(at::kByte) : at::empty({0}, at::kByte));
    total += parts.back().numel();
    if (total % 16) {
      parts.push_back(at::zeros({16 - total % 16}, at::kByte));
      total += parts.back().numel();
    }
  }
  for (int r = 0; r < size; r++) {
    const auto& outs = outputTensorLists[r];
    TORCH_CHECK(outs.size() == inputTensors.size(), "acc-ccl ", what, ": output list ", r, " has ", outs.size(),
                " tensors, expected one per input (", inputTensors.size(), ")");
    for (size_t j = 0; j < outs.size(); j++) {
      checkTensor(outs[j], what, "output_tensor_lists");
      TORCH_CHECK(outs[j].numel() == inputTensors[j].numel() && outs[j].scalar_type() == inputTensors[j].scalar_type(),
                  "acc-ccl ", what, ": output ", j, " of list ", r, " (", outs[j].numel(), " elements of ",
                  outs[j].scalar_type(), ") does not match input ", j, " (", inputTensors[j].numel(), " of ",
                  inputTensors[j].scalar_type(), ")");
    }
  }
  at::Tensor packed = at::cat(parts);
  at::Tensor all = at::empty({total * size}, at::kByte);
  std::vector<std::vector<at::Tensor>> outs = outputTensorLists;
  std::vector<at::Tensor> flatOuts;
  for (const auto& l : outs) flatOuts.insert(flatOuts.end(), l.begin(), l.end());
  const size_t count = static_cast<size_t>(total);
  return submit(
      c10d::OpType::ALLGATHER_COALESCED, "accl:all_gather", what, inputTensors, flatOuts, {packed, all},
      [&](acclComm_t comm, accStream_t stream) {
        return acclAllGather(bytesOf(packed), bytesOf(all), count, acclUint8, comm, stream);
      },
      [outs, all, offsets, total]() mutable {
        for (size_t r = 0; r < outs.size(); r++)
          for (size_t j = 0; j < outs[r].size(); j++) {
            at::Tensor& o = outs[r][j];
            if (o.numel() == 0) continue;
            at::Tensor bytes = all.narrow(0, static_cast<int64_t>(r) * total + offsets[j], o.numel() * o.element_size());
            o.copy_(bytes.view(o.scalar_type()).view(o.sizes()));
          }
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
  const FlatType ft = flatOf(in);
  if (me != root) {
    TORCH_CHECK(outputTensors.empty() || (outputTensors.size() == 1 && outputTensors[0].empty()), "acc-ccl ", what,
                ": only the root rank may pass output tensors");
    return submit(
        c10d::OpType::GATHER, "accl:gather", what, inputTensors, {}, {in},
        [&](acclComm_t comm, accStream_t stream) {
          return acclSend(bytesOf(in), ft.count, ft.type, root, comm, stream);
        },
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
      c10d::OpType::GATHER, "accl:gather", what, inputTensors, outs, keep,
      [&](acclComm_t comm, accStream_t stream) {
        acclResult_t res = acclGroupStart();
        for (int p = 0; p < size && res == acclSuccess; p++)
          if (p != me) res = acclRecv(bytesOf(bufs[p]), ft.count, ft.type, p, comm, stream);
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
  const FlatType ft = flatOf(out);
  if (me != root) {
    TORCH_CHECK(inputTensors.empty() || (inputTensors.size() == 1 && inputTensors[0].empty()), "acc-ccl ", what,
                ": only the root rank may pass input tensors");
    std::function<void()> done;
    if (!user.is_same(out)) done = [user, out]() mutable { user.copy_(out); };
    return submit(
        c10d::OpType::SCATTER, "accl:scatter", what, {}, {user}, {out},
        [&](acclComm_t comm, accStream_t stream) {
          return acclRecv(bytesOf(out), ft.count, ft.type, root, comm, stream);
        },
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
      c10d::OpType::SCATTER, "accl:scatter", what, inputTensors[0], {user}, bufs,
      [&](acclComm_t comm, accStream_t stream) {
        acclResult_t res = acclGroupStart();
        for (int p = 0; p < size && res == acclSuccess; p++)
          if (p != me) res = acclSend(bytesOf(bufs[p]), ft.count, ft.type, p, comm, stream);
        acclResult_t end = acclGroupEnd();
        return res != acclSuccess ? res : end;
      },
      [user, bufs, me]() mutable { user.copy_(bufs[me].view(user.sizes())); }, opts.timeout);
}

}  // namespace accl_torch
