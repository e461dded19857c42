// ops_p2p.cpp - all-to-all (equal and uneven splits, list form) on the
// group's communicator. Uneven all-to-all is one group of sends and
// receives, which acc-ccl launches together so it cannot deadlock. (send,
// recv and recvAnysource run on point-to-point channels: p2p.cpp.)
#include <numeric>

#include "process_group.hpp"
#include "types.hpp"

namespace accl_torch {

namespace {
// Row offsets (in elements) of each peer's block along dim 0.
std::vector<int64_t> blockOffsets(const std::vector<int64_t>& splits, int64_t rowElems) {
  std::vector<int64_t> off(splits.size(), 0);
  for (size_t i = 1; i < splits.size(); i++) off[i] = off[i - 1] + splits[i - 1] * rowElems;
  return off;
}

std::vector<int64_t> resolveSplits(const std::vector<int64_t>& given, const at::Tensor& t, int size,
                                   const char* what, const char* arg) {
  const int64_t rows = t.dim() == 0 ? 1 : t.size(0);
  if (given.empty()) {
    TORCH_CHECK(rows % size == 0, "acc-ccl ", what, ": ", arg, " has ", rows,
                " rows, not divisible by the group size ", size, " (pass split sizes)");
    return std::vector<int64_t>(size, rows / size);
  }
  TORCH_CHECK(static_cast<int>(given.size()) == size, "acc-ccl ", what, ": ", arg, " split sizes has ", given.size(),
              " entries, expected the group size ", size);
  for (int64_t s : given) TORCH_CHECK(s >= 0, "acc-ccl ", what, ": negative split size in ", arg);
  TORCH_CHECK(std::accumulate(given.begin(), given.end(), int64_t{0}) == rows, "acc-ccl ", what, ": ", arg,
              " split sizes add up to ", std::accumulate(given.begin(), given.end(), int64_t{0}), ", but it has ",
              rows, " rows");
  return given;
}

// acc-ccl's type for a dtype and how many of its units one element is
// (1, or the element's size when it travels as bytes).
FlatType unitOf(const at::Tensor& t) { return flatOf(at::empty({1}, t.options())); }
}  // namespace

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::alltoall_base(at::Tensor& outputBuffer, at::Tensor& inputBuffer,
                                                               std::vector<int64_t>& outputSplitSizes,
                                                               std::vector<int64_t>& inputSplitSizes,
                                                               const c10d::AllToAllOptions& opts) {
  const char* what = "alltoall_base";
  checkTensor(outputBuffer, what, "output");
  checkTensor(inputBuffer, what, "input");
  TORCH_CHECK(outputBuffer.scalar_type() == inputBuffer.scalar_type(), "acc-ccl ", what,
              ": input and output dtypes differ");
  const FlatType unit = unitOf(inputBuffer);
  const acclDataType_t type = unit.type;
  const size_t mult = unit.count;
  const int size = getSize(), me = getRank();
  at::Tensor in = contiguousBuffer(inputBuffer);
  at::Tensor out = contiguousBuffer(outputBuffer);
  at::Tensor user = outputBuffer;
  std::function<void()> copyOut;
  if (!user.is_same(out)) copyOut = [user, out]() mutable { user.copy_(out); };

  if (outputSplitSizes.empty() && inputSplitSizes.empty()) {
    TORCH_CHECK(in.numel() == out.numel() && in.numel() % size == 0, "acc-ccl ", what, ": input (", in.numel(),
                " elements) and output (", out.numel(), ") must be equal and divisible by the group size ", size);
    size_t count = static_cast<size_t>(in.numel() / size) * mult;
    return submit(
        c10d::OpType::ALLTOALL_BASE, "accl:all_to_all", what, {inputBuffer}, {outputBuffer}, {in, out},
        [&](acclComm_t comm, accStream_t stream) {
          return acclAlltoAll(bytesOf(in), bytesOf(out), count, type, comm, stream);
        },
        copyOut, opts.timeout);
  }
  auto sendSplits = resolveSplits(inputSplitSizes, in, size, what, "input");
  auto recvSplits = resolveSplits(outputSplitSizes, out, size, what, "output");
  const int64_t inRow = in.dim() == 0 || in.size(0) == 0 ? 0 : in.numel() / in.size(0);
  const int64_t outRow = out.dim() == 0 || out.size(0) == 0 ? 0 : out.numel() / out.size(0);
  TORCH_CHECK(inRow == outRow || inRow == 0 || outRow == 0, "acc-ccl ", what,
              ": input and output rows differ in size (", inRow, " vs ", outRow, " elements)");
  auto sendOff = blockOffsets(sendSplits, inRow), recvOff = blockOffsets(recvSplits, outRow);
  TORCH_CHECK(sendSplits[me] * inRow == recvSplits[me] * outRow, "acc-ccl ", what,
              ": this rank sends itself ", sendSplits[me], " rows but expects ", recvSplits[me]);
  const size_t esize = in.element_size();
  return submit(
      c10d::OpType::ALLTOALL_BASE, "accl:all_to_all", what, {inputBuffer}, {outputBuffer}, {in, out},
      [&](acclComm_t comm, accStream_t stream) {
        char* src = bytesOf(in);
        char* dst = bytesOf(out);
        acclResult_t res = acclGroupStart();
        for (int p = 0; p < size && res == acclSuccess; p++) {
          if (p == me) continue;  // our own block is copied on completion
          size_t sendCount = static_cast<size_t>(sendSplits[p] * inRow) * mult;
          size_t recvCount = static_cast<size_t>(recvSplits[p] * outRow) * mult;
          if (sendCount) res = acclSend(src + sendOff[p] * esize, sendCount, type, p, comm, stream);
          if (recvCount && res == acclSuccess)
            res = acclRecv(dst + recvOff[p] * esize, recvCount, type, p, comm, stream);
        }
        acclResult_t end = acclGroupEnd();
        return res != acclSuccess ? res : end;
      },
      [in, out, copyOut, me, sendOff, recvOff, n = sendSplits[me] * inRow]() mutable {
        if (n) out.view({-1}).narrow(0, recvOff[me], n).copy_(in.view({-1}).narrow(0, sendOff[me], n));
        if (copyOut) copyOut();
      },
      opts.timeout);
}

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::alltoall(std::vector<at::Tensor>& outputTensors,
                                                          std::vector<at::Tensor>& inputTensors,
                                                          const c10d::AllToAllOptions& opts) {
  const char* what = "alltoall";
  const int size = getSize(), me = getRank();
  TORCH_CHECK(static_cast<int>(outputTensors.size()) == size && static_cast<int>(inputTensors.size()) == size,
              "acc-ccl ", what, ": needs ", size, " input and ", size, " output tensors, got ", inputTensors.size(),
              " and ", outputTensors.size());
  std::vector<at::Tensor> ins, outs, keep;
  TORCH_CHECK(!inputTensors.empty(), "acc-ccl ", what, ": no tensors");
  const FlatType unit = unitOf(inputTensors[0]);
  const acclDataType_t type = unit.type;
  const size_t mult = unit.count;
  for (int p = 0; p < size; p++) {
    checkTensor(inputTensors[p], what, "input_tensors");
    checkTensor(outputTensors[p], what, "output_tensors");
    TORCH_CHECK(inputTensors[p].scalar_type() == inputTensors[0].scalar_type() &&
                    outputTensors[p].scalar_type() == inputTensors[0].scalar_type(),
                "acc-ccl ", what, ": all tensors must have one dtype");
    ins.push_back(contiguousBuffer(inputTensors[p]));
    outs.push_back(contiguousBuffer(outputTensors[p]));
  }
  TORCH_CHECK(ins[me].numel() == outs[me].numel(), "acc-ccl ", what, ": this rank's own input and output differ in size");
  keep = ins;
  keep.insert(keep.end(), outs.begin(), outs.end());
  std::vector<at::Tensor> users = outputTensors;
  return submit(
      c10d::OpType::ALLTOALL, "accl:all_to_all", what, inputTensors, users, keep,
      [&](acclComm_t comm, accStream_t stream) {
        acclResult_t res = acclGroupStart();
        for (int p = 0; p < size && res == acclSuccess; p++) {
          if (p == me) continue;
          if (ins[p].numel()) res = acclSend(bytesOf(ins[p]), ins[p].numel() * mult, type, p, comm, stream);
          if (outs[p].numel() && res == acclSuccess)
            res = acclRecv(bytesOf(outs[p]), outs[p].numel() * mult, type, p, comm, stream);
        }
        acclResult_t end = acclGroupEnd();
        return res != acclSuccess ? res : end;
      },
      [users, ins, outs, me]() mutable {
        outs[me].view({-1}).copy_(ins[me].view({-1}));
        for (size_t p = 0; p < users.size(); p++)
          if (!users[p].is_same(outs[p])) users[p].copy_(outs[p]);
      },
      opts.timeout);
}

}  // namespace accl_torch
