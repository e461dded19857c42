// types.cpp - dtype and reduce-op mapping, argument checks.
#include "types.hpp"

namespace accl_torch {

acclDataType_t acclTypeOf(const at::Tensor& t, const char* what) {
  switch (t.scalar_type()) {
    case at::kFloat: return acclFloat32;
    case at::kDouble: return acclFloat64;
    case at::kHalf: return acclFloat16;
    case at::kBFloat16: return acclBfloat16;
    case at::kChar: return acclInt8;
    case at::kByte: return acclUint8;
    case at::kBool: return acclUint8;  // 0/1 bytes: MAX is OR, MIN is AND
    case at::kInt: return acclInt32;
    case at::kLong: return acclInt64;
    default: break;
  }
  TORCH_CHECK(false, "acc-ccl ", what, ": unsupported dtype ", t.scalar_type(),
              " (acc-ccl reduces float32, float64, float16, bfloat16, int8, uint8, int16, int32, int64 and bool)");
}

FlatType flatOf(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return {acclFloat32, static_cast<size_t>(t.numel())};
    case at::kDouble: return {acclFloat64, static_cast<size_t>(t.numel())};
    case at::kHalf: return {acclFloat16, static_cast<size_t>(t.numel())};
    case at::kBFloat16: return {acclBfloat16, static_cast<size_t>(t.numel())};
    case at::kInt: return {acclInt32, static_cast<size_t>(t.numel())};
    case at::kLong: return {acclInt64, static_cast<size_t>(t.numel())};
    default: return {acclUint8, static_cast<size_t>(t.numel()) * t.element_size()};
  }
}

namespace {
bool isBitwise(c10d::ReduceOp::RedOpType op) {
  return op == c10d::ReduceOp::BAND || op == c10d::ReduceOp::BOR || op == c10d::ReduceOp::BXOR;
}
const char* opName(c10d::ReduceOp::RedOpType op) {
  switch (op) {
    case c10d::ReduceOp::BAND: return "BAND";
    case c10d::ReduceOp::BOR: return "BOR";
    case c10d::ReduceOp::BXOR: return "BXOR";
    default: return "?";
  }
}
}  // namespace

RedPath reducePath(const c10d::ReduceOp& op, const at::Tensor& like, const char* what) {
  const auto st = like.scalar_type();
  if (isBitwise(op.op_)) {
    TORCH_CHECK(at::isIntegralType(st, /*includeBool=*/true), "Cannot use ReduceOp.", opName(op.op_),
                " with non-integral dtype (acc-ccl ", what, " of ", st, ")");
    if (st == at::kBool && op.op_ != c10d::ReduceOp::BXOR) return RedPath::kNative;  // AND = MIN, OR = MAX
    return RedPath::kGather;
  }
  if (st == at::kShort) {
    TORCH_CHECK(op.op_ != c10d::ReduceOp::PREMUL_SUM, "acc-ccl ", what,
                ": PREMUL_SUM needs a floating-point tensor, got ", st);
    return RedPath::kWiden;
  }
  acclTypeOf(like, what);  // throws for a dtype acc-ccl cannot reduce
  return RedPath::kNative;
}

void bitwiseReduceRows(const c10d::ReduceOp& op, const at::Tensor& gathered, at::Tensor& out) {
  at::Tensor acc = gathered.select(0, 0).clone();
  for (int64_t i = 1; i < gathered.size(0); i++) {
    const at::Tensor row = gathered.select(0, i);
    if (op.op_ == c10d::ReduceOp::BAND) acc.bitwise_and_(row);
    else if (op.op_ == c10d::ReduceOp::BOR) acc.bitwise_or_(row);
    else acc.bitwise_xor_(row);
  }
  out.copy_(acc.view(out.sizes()));
}


void checkTensor(const at::Tensor& t, const char* what, const char* arg) {
  TORCH_CHECK(t.defined(), "acc-ccl ", what, ": argument ", arg, " is an undefined tensor");
  TORCH_CHECK(t.device().is_cpu(), "acc-ccl ", what, ": argument ", arg, " is on ", t.device(),
              "; this backend takes CPU tensors");
  TORCH_CHECK(t.layout() == at::kStrided, "acc-ccl ", what, ": argument ", arg, " is not a dense (strided) tensor");
}

void checkSingle(const std::vector<at::Tensor>& tensors, const char* what, const char* arg) {
  TORCH_CHECK(tensors.size() == 1, "acc-ccl ", what, ": argument ", arg, " must hold exactly one tensor, got ",
              tensors.size());
  checkTensor(tensors[0], what, arg);
}

RedOpSpec::RedOpSpec(const c10d::ReduceOp& op, const at::Tensor& like, const char* what) {
  const bool isBool = like.scalar_type() == at::kBool;
  const bool isFloat = at::isFloatingType(like.scalar_type());
  switch (op.op_) {
    case c10d::ReduceOp::SUM: op_ = isBool ? acclMax : acclSum; return;
    case c10d::ReduceOp::PRODUCT: op_ = isBool ? acclMin : acclProd; return;
    case c10d::ReduceOp::MAX: op_ = acclMax; return;
    case c10d::ReduceOp::MIN: op_ = acclMin; return;
    case c10d::ReduceOp::BAND:  // bool only (reducePath): AND
      TORCH_CHECK(isBool, "acc-ccl ", what, ": BAND runs natively on bool only");
      op_ = acclMin;
      return;
    case c10d::ReduceOp::BOR:  // bool only: OR
      TORCH_CHECK(isBool, "acc-ccl ", what, ": BOR runs natively on bool only");
      op_ = acclMax;
      return;
    case c10d::ReduceOp::AVG:
      TORCH_CHECK(!isBool, "acc-ccl ", what, ": ReduceOp.AVG is not defined for bool tensors");
      op_ = acclAvg;
      return;
    case c10d::ReduceOp::PREMUL_SUM: {
      TORCH_CHECK(isFloat, "acc-ccl ", what, ": PREMUL_SUM needs a floating-point tensor, got ", like.scalar_type());
      auto* supplement = dynamic_cast<c10d::NCCLPreMulSumSupplement*>(op.supplement_.get());
      TORCH_CHECK(supplement != nullptr, "acc-ccl ", what, ": PREMUL_SUM without a factor");
      if (!supplement->tensor_factors.empty()) {
        TORCH_CHECK(supplement->tensor_factors.size() == 1, "acc-ccl ", what,
                    ": PREMUL_SUM needs one factor tensor per input tensor (one here)");
        const at::Tensor& f = supplement->tensor_factors[0];
        TORCH_CHECK(f.numel() == 1, "acc-ccl ", what, ": the PREMUL_SUM factor tensor must have one element");
        factor_ = f.to(at::kCPU, like.scalar_type()).contiguous();
      } else {
        factor_ = at::full({1}, supplement->double_factor, like.options().dtype(like.scalar_type()));
      }
      premul_ = true;
      op_ = acclSum;
      return;
    }
    default: break;
  }
  TORCH_CHECK(false, "acc-ccl ", what, ": reduce op ", static_cast<int>(op.op_), " has no acc-ccl equivalent for ",
              like.scalar_type());
}

acclResult_t RedOpSpec::with(acclComm_t comm, acclDataType_t type,
                             c10::function_ref<acclResult_t(acclRedOp_t)> fn) const {
  if (!premul_) return fn(op_);
  acclRedOp_t op;
  acclResult_t res = acclRedOpCreatePreMulSum(&op, factor_.data_ptr(), type, acclScalarHostImmediate, comm);
  if (res != acclSuccess) return res;
  res = fn(op);
  acclRedOpDestroy(op, comm);  // the factor was copied into the call at enqueue
  return res;
}

}  // namespace accl_torch
