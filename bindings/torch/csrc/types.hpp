// types.hpp - torch dtypes and reduce ops as acc-ccl sees them.
#pragma once

#include <acc_ccl.h>

#include <c10/util/C++17.h>  // FunctionRef.h of torch 1.13 needs it first
#include <c10/util/FunctionRef.h>

#include "compat.hpp"

namespace accl_torch {

// The acc-ccl type of a tensor's elements (bool travels as uint8); throws a
// c10::Error naming the dtype and the operation when there is none.
acclDataType_t acclTypeOf(const at::Tensor& t, const char* what);

// A torch ReduceOp resolved for one dtype. PREMUL_SUM keeps its factor as a
// one-element tensor of that dtype; the acc-ccl op is created on the
// communicator only for the call that uses it.
class RedOpSpec {
 public:
  RedOpSpec(const c10d::ReduceOp& op, const at::Tensor& like, const char* what);
  // Runs fn with the acc-ccl op (creating and destroying a PreMulSum op around it).
  acclResult_t with(acclComm_t comm, acclDataType_t type, c10::function_ref<acclResult_t(acclRedOp_t)> fn) const;

 private:
  acclRedOp_t op_ = acclSum;
  bool premul_ = false;
  at::Tensor factor_;
};

// Checks shared by every operation: a defined, dense CPU tensor.
void checkTensor(const at::Tensor& t, const char* what, const char* arg);
// Exactly one tensor in a per-device list (CPU groups have one device).
void checkSingle(const std::vector<at::Tensor>& tensors, const char* what, const char* arg);

}  // namespace accl_torch
