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
// acc-ccl's own type when it has one, else the raw bytes: for operations
// that only move data (any dtype: int16, complex, ...).
struct FlatType {
  acclDataType_t type;
  size_t count;
};
FlatType flatOf(const at::Tensor& t);

// How a reduction of a dtype runs.
//  kNative: acc-ccl reduces (its types and ops; bool SUM/MAX as OR, PRODUCT/MIN/BAND as AND, BOR as OR).
//  kWiden:  int16 with SUM, PRODUCT, MIN, MAX or AVG: reduced as int32 and
//           narrowed back (sums and products wrap exactly as in int16).
//  kGather: BAND, BOR, BXOR on integers (BXOR on bool too): acc-ccl has no
//           bitwise ops, so every rank's data is gathered and reduced here
//           (n times the traffic of a reduction).
enum class RedPath { kNative, kWiden, kGather };
// Throws (with Gloo's wording) when the op cannot reduce this dtype.
RedPath reducePath(const c10d::ReduceOp& op, const at::Tensor& like, const char* what);
// Reduces the n rows of gathered ([n, ...]) with a bitwise op into out.
void bitwiseReduceRows(const c10d::ReduceOp& op, const at::Tensor& gathered, at::Tensor& out);

// A torch ReduceOp resolved for one dtype (kNative). PREMUL_SUM keeps its
// factor as a one-element tensor of that dtype; the acc-ccl op is created
// on the communicator only for the call that uses it.
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
