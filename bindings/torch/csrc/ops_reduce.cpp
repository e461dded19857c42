// ops_reduce.cpp - the reducing operations: allreduce (dense, sparse and
// coalesced), reduce, reduce_scatter (list and base forms) and barrier.
// Reductions acc-ccl cannot do itself (types.hpp RedPath) run here: int16
// widened to int32, bitwise ops as a gather and a local reduction.
#include "process_group.hpp"
#include "types.hpp"

namespace accl_torch {

namespace {
// Copies the result back when the user's tensor was not contiguous.
std::function<void()> copyBack(const at::Tensor& user, const at::Tensor& buf) {
  if (user.is_same(buf)) return nullptr;
  return [user, buf]() mutable { user.copy_(buf); };
}

std::function<void()> chain(std::function<void()> a, std::function<void()> b) {
  if (!a) return b;
  if (!b) return a;
  return [a, b] {
    a();
    b();
  };
}
}  // namespace

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::allreduceEmulated(at::Tensor user, const c10d::ReduceOp& op,
                                                                   RedPath path, std::chrono::milliseconds timeout,
                                                                   c10d::OpType type, const char* title,
                                                                   const char* what, std::function<void()> after) {
  if (path == RedPath::kWiden) {
    at::Tensor wide = user.to(at::kInt).contiguous();
    RedOpSpec spec(op, wide, what);
    size_t count = static_cast<size_t>(wide.numel());
    return submit(
        type, title, what, {user}, {user}, {wide},
        [&](acclComm_t comm, accStream_t stream) {
          return spec.with(comm, acclInt32, [&](acclRedOp_t o) {
            return acclAllReduce(bytesOf(wide), bytesOf(wide), count, acclInt32, o, comm, stream);
          });
        },
        chain([user, wide]() mutable { user.copy_(wide); }, after), timeout);
  }
  // kGather: every rank's tensor, then the bitwise reduction here.
  at::Tensor in = contiguousBuffer(user);
  at::Tensor rows = at::empty({getSize(), in.numel()}, in.options());
  FlatType ft = flatOf(in);
  return submit(
      type, title, what, {user}, {user}, {in, rows},
      [&](acclComm_t comm, accStream_t stream) {
        return acclAllGather(bytesOf(in), bytesOf(rows), ft.count, ft.type, comm, stream);
      },
      chain([op, rows, user]() mutable { bitwiseReduceRows(op, rows, user); }, after), timeout);
}

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::allreduce(std::vector<at::Tensor>& tensors,
                                                           const c10d::AllreduceOptions& opts) {
  const char* what = "allreduce";
  TORCH_CHECK(tensors.size() == 1, "acc-ccl ", what, ": argument tensors must hold exactly one tensor, got ",
              tensors.size());
  if (tensors[0].defined() && tensors[0].layout() == at::kSparse) return allreduceSparse(tensors[0], opts);
  checkSingle(tensors, what, "tensors");
  at::Tensor user = tensors[0];
  RedPath path = reducePath(opts.reduceOp, user, what);
  if (path != RedPath::kNative)
    return allreduceEmulated(user, opts.reduceOp, path, opts.timeout, c10d::OpType::ALLREDUCE, "accl:all_reduce", what);
  acclDataType_t type = acclTypeOf(user, what);
  RedOpSpec op(opts.reduceOp, user, what);
  at::Tensor buf = contiguousBuffer(user);
  size_t count = static_cast<size_t>(buf.numel());
  return submit(
      c10d::OpType::ALLREDUCE, "accl:all_reduce", what, tensors, tensors, {buf},
      [&](acclComm_t comm, accStream_t stream) {
        return op.with(comm, type, [&](acclRedOp_t o) {
          return acclAllReduce(bytesOf(buf), bytesOf(buf), count, type, o, comm, stream);
        });
      },
      copyBack(user, buf), opts.timeout);
}

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::allreduceSparse(at::Tensor& tensor,
                                                                 const c10d::AllreduceOptions& opts) {
  // As Gloo does it: every rank learns the others' numbers of non-zeros,
  // gathers their indices and values, and sums the union locally (the sum of
  // sparse tensors is their concatenation, coalesced).
  const char* what = "allreduce (sparse)";
  TORCH_CHECK(tensor.device().is_cpu(), "acc-ccl ", what, ": this backend takes CPU tensors, got ", tensor.device());
  TORCH_CHECK(opts.reduceOp == c10d::ReduceOp::SUM, "acc-ccl ", what,
              ": unsupported reduction operation (allreduce of sparse tensors only works with ReduceOp.SUM)");
  const int n = getSize();
  at::Tensor input = tensor.coalesce();
  const int64_t sparseDim = input.sparse_dim();
  at::Tensor indices = input.indices().contiguous();  // [sparseDim, nnz]
  at::Tensor values = input.values().contiguous();    // [nnz, dense...]
  const int64_t nnz = input._nnz();
  // 1. (nnz, sparse dims, dense dims) of every rank: a small allgather that
  //    this call waits for, because the sizes of the next one depend on it.
  at::Tensor mine = at::tensor({nnz, sparseDim, input.dense_dim()}, at::kLong);
  at::Tensor meta = at::empty({n, 3}, at::kLong);
  auto metaWork = submit(
      c10d::OpType::ALLGATHER, nullptr, "allreduce (sparse): sizes", {}, {}, {mine, meta},
      [&](acclComm_t comm, accStream_t stream) {
        return acclAllGather(bytesOf(mine), bytesOf(meta), 3, acclInt64, comm, stream);
      },
      nullptr, opts.timeout);
  metaWork->wait();
  int64_t maxNnz = 0;
  for (int r = 0; r < n; r++) {
    const int64_t* m = meta.data_ptr<int64_t>() + 3 * r;
    TORCH_CHECK(m[1] == sparseDim && m[2] == input.dense_dim(), "acc-ccl ", what, ": rank ", r, " has ", m[1],
                " sparse and ", m[2], " dense dimensions, this rank ", sparseDim, " and ", input.dense_dim());
    maxNnz = std::max(maxNnz, m[0]);
  }
  // 2. Indices and values padded to the largest nnz, gathered together.
  std::vector<int64_t> valueShape = values.sizes().vec();
  valueShape[0] = maxNnz;
  at::Tensor idxPad = at::zeros({sparseDim, maxNnz}, at::kLong);
  at::Tensor valPad = at::zeros(valueShape, values.options());
  if (nnz) {
    idxPad.narrow(1, 0, nnz).copy_(indices);
    valPad.narrow(0, 0, nnz).copy_(values);
  }
  std::vector<int64_t> allValShape = valueShape;
  allValShape.insert(allValShape.begin(), n);
  at::Tensor allIdx = at::empty({n, sparseDim, maxNnz}, at::kLong);
  at::Tensor allVal = at::empty(allValShape, values.options());
  const FlatType ftIdx = flatOf(idxPad), ftVal = flatOf(valPad);
  at::Tensor user = tensor;
  auto sizes = input.sizes().vec();
  return submit(
      c10d::OpType::ALLREDUCE, "accl:sparse_all_reduce", what, {tensor}, {tensor}, {idxPad, valPad, allIdx, allVal},
      [&](acclComm_t comm, accStream_t stream) {
        acclResult_t res = acclGroupStart();
        if (res == acclSuccess) res = acclAllGather(bytesOf(idxPad), bytesOf(allIdx), ftIdx.count, ftIdx.type, comm, stream);
        if (res == acclSuccess) res = acclAllGather(bytesOf(valPad), bytesOf(allVal), ftVal.count, ftVal.type, comm, stream);
        acclResult_t end = acclGroupEnd();
        return res != acclSuccess ? res : end;
      },
      [user, meta, allIdx, allVal, sizes, n]() mutable {
        std::vector<at::Tensor> idx, val;
        for (int r = 0; r < n; r++) {
          int64_t k = meta.data_ptr<int64_t>()[3 * r];
          idx.push_back(allIdx.select(0, r).narrow(1, 0, k));
          val.push_back(allVal.select(0, r).narrow(0, 0, k));
        }
        at::Tensor sum = at::sparse_coo_tensor(at::cat(idx, 1), at::cat(val, 0), sizes, allVal.options().layout(at::kSparse))
                             .coalesce();
        user.copy_(sum);
      },
      opts.timeout);
}

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::allreduce_coalesced(std::vector<at::Tensor>& tensors,
                                                                     const c10d::AllreduceCoalescedOptions& opts) {
  const char* what = "allreduce_coalesced";
  TORCH_CHECK(!tensors.empty(), "acc-ccl ", what, ": argument tensors is empty");
  bool native = true;
  for (const auto& t : tensors) {
    checkTensor(t, what, "tensors");
    native = native && reducePath(opts.reduceOp, t, what) == RedPath::kNative;
  }
  int64_t total = 0;
  for (const auto& t : tensors) total += t.numel();
  if (!native) {
    // One flat tensor through the emulated path (Gloo asks for one dtype too).
    for (const auto& t : tensors)
      TORCH_CHECK(t.scalar_type() == tensors[0].scalar_type(), "acc-ccl ", what,
                  ": tensors must all have the same type");
    std::vector<at::Tensor> flat;
    for (const auto& t : tensors) flat.push_back(t.reshape({-1}));
    at::Tensor packed = at::cat(flat);
    std::vector<at::Tensor> users = tensors;
    auto unpack = [users, packed]() mutable {
      int64_t off = 0;
      for (auto& u : users) {
        u.copy_(packed.narrow(0, off, u.numel()).view(u.sizes()));
        off += u.numel();
      }
    };
    auto work = allreduceEmulated(packed, opts.reduceOp, reducePath(opts.reduceOp, packed, what), opts.timeout,
                                  c10d::OpType::ALLREDUCE_COALESCED, "accl:all_reduce", what, unpack);
    return work;
  }
  std::vector<at::Tensor> bufs;
  std::vector<acclDataType_t> types;
  std::vector<RedOpSpec> ops;
  std::vector<std::function<void()>> copies;
  for (const auto& t : tensors) {
    types.push_back(acclTypeOf(t, what));
    ops.emplace_back(opts.reduceOp, t, what);
    bufs.push_back(contiguousBuffer(t));
    if (auto c = copyBack(t, bufs.back())) copies.push_back(c);
  }
  return submit(
      c10d::OpType::ALLREDUCE_COALESCED, "accl:all_reduce", what, tensors, tensors, bufs,
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
  RedPath path = reducePath(opts.reduceOp, user, what);
  int root = static_cast<int>(opts.rootRank);
  const bool atRoot = getRank() == root;
  if (path == RedPath::kGather) {
    // Every rank gathers (the root alone keeps the result): n x the traffic.
    at::Tensor in = contiguousBuffer(user);
    at::Tensor rows = at::empty({getSize(), in.numel()}, in.options());
    FlatType ft = flatOf(in);
    c10d::ReduceOp op = opts.reduceOp;
    return submit(
        c10d::OpType::REDUCE, "accl:reduce", what, tensors, tensors, {in, rows},
        [&](acclComm_t comm, accStream_t stream) {
          return acclAllGather(bytesOf(in), bytesOf(rows), ft.count, ft.type, comm, stream);
        },
        atRoot ? std::function<void()>([op, rows, user]() mutable { bitwiseReduceRows(op, rows, user); }) : nullptr,
        opts.timeout);
  }
  at::Tensor buf = path == RedPath::kWiden ? user.to(at::kInt).contiguous() : contiguousBuffer(user);
  acclDataType_t type = acclTypeOf(buf, what);
  RedOpSpec op(opts.reduceOp, buf, what);
  size_t count = static_cast<size_t>(buf.numel());
  std::function<void()> done;
  if (atRoot) done = path == RedPath::kWiden ? [user, buf]() mutable { user.copy_(buf); } : copyBack(user, buf);
  return submit(
      c10d::OpType::REDUCE, "accl:reduce", what, tensors, tensors, {buf},
      [&](acclComm_t comm, accStream_t stream) {
        return op.with(comm, type, [&](acclRedOp_t o) {
          return acclReduce(bytesOf(buf), bytesOf(buf), count, type, o, root, comm, stream);
        });
      },
      done, opts.timeout);
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
  RedPath path = reducePath(opts.reduceOp, outputBuffer, what);
  at::Tensor user = outputBuffer;
  if (path == RedPath::kGather) {
    // Block r of every rank's input comes to rank r (all-to-all), reduced here.
    at::Tensor in = contiguousBuffer(inputBuffer);
    at::Tensor rows = at::empty({getSize(), outputBuffer.numel()}, in.options());
    FlatType ft = flatOf(outputBuffer);
    c10d::ReduceOp op = opts.reduceOp;
    return submit(
        c10d::OpType::_REDUCE_SCATTER_BASE, "accl:_reduce_scatter_base", what, {inputBuffer}, {outputBuffer},
        {in, rows},
        [&](acclComm_t comm, accStream_t stream) {
          return acclAlltoAll(bytesOf(in), bytesOf(rows), ft.count, ft.type, comm, stream);
        },
        [op, rows, user]() mutable { bitwiseReduceRows(op, rows, user); }, opts.timeout);
  }
  const bool widen = path == RedPath::kWiden;
  at::Tensor in = widen ? inputBuffer.to(at::kInt).contiguous() : contiguousBuffer(inputBuffer);
  at::Tensor out = widen ? at::empty({outputBuffer.numel()}, at::kInt) : contiguousBuffer(outputBuffer);
  acclDataType_t type = acclTypeOf(out, what);
  RedOpSpec op(opts.reduceOp, out, what);
  size_t count = static_cast<size_t>(out.numel());
  std::function<void()> done = widen ? [user, out]() mutable { user.copy_(out.view(user.sizes())); } : copyBack(user, out);
  return submit(
      c10d::OpType::_REDUCE_SCATTER_BASE, "accl:_reduce_scatter_base", what, {inputBuffer}, {outputBuffer}, {in, out},
      [&](acclComm_t comm, accStream_t stream) {
        return op.with(comm, type, [&](acclRedOp_t o) {
          return acclReduceScatter(bytesOf(in), bytesOf(out), count, type, o, comm, stream);
        });
      },
      done, opts.timeout);
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
  at::Tensor token = at::zeros({1}, at::kInt);
  return submit(
      c10d::OpType::BARRIER, "accl:barrier", "barrier", {}, {}, {token},
      [&](acclComm_t comm, accStream_t stream) {
        return acclAllReduce(bytesOf(token), bytesOf(token), 1, acclInt32, acclSum, comm, stream);
      },
      nullptr, opts.timeout);
}

}  // namespace accl_torch
