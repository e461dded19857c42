// process_group.cpp - construction, shutdown, submission and the optional
// argument check. The operations live in ops_*.cpp.
#include "process_group.hpp"

#include <Python.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

namespace accl_torch {

at::Tensor contiguousBuffer(const at::Tensor& t) { return t.is_contiguous() ? t : t.contiguous(); }

ProcessGroupAccl::ProcessGroupAccl(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                   std::chrono::milliseconds timeout)
    : AcclBackendBase(rank, size),
      state_(std::make_shared<CommState>(store, rank, size)),
      timeout_(timeout.count() > 0 ? timeout : std::chrono::milliseconds(kProcessGroupDefaultTimeout)) {
  const char* check = std::getenv("ACCL_TORCH_CHECK");
  const char* torchDebug = std::getenv("TORCH_DISTRIBUTED_DEBUG");
  checkCalls_ = (check != nullptr && std::strcmp(check, "0") != 0 && *check != '\0') ||
                (torchDebug != nullptr && std::strcmp(torchDebug, "DETAIL") == 0);
  completer_ = std::make_shared<Completer>();
}

ProcessGroupAccl::~ProcessGroupAccl() {
  // Python may drop the last reference with the GIL held; a future callback
  // on the completion thread may need it, so let go while we join.
  PyThreadState* saved = (Py_IsInitialized() && PyGILState_Check()) ? PyEval_SaveThread() : nullptr;
  completer_->stop();
  state_->shutdown();
  if (saved != nullptr) PyEval_RestoreThread(saved);
}

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::submit(c10d::OpType type, const char* name,
                                                        std::vector<at::Tensor> outputs, std::vector<at::Tensor> keep,
                                                        CommState::LaunchFn launch, std::function<void()> onSuccess,
                                                        std::chrono::milliseconds optTimeout, int sourceRank) {
  auto timeout = optTimeout.count() > 0 ? optTimeout : timeout_;
  auto work = c10::make_intrusive<AcclWork>(state_, completer_, type, name, std::move(outputs), std::move(keep),
                                            std::move(onSuccess), timeout, sourceRank);
  work->launch(launch);
  return work;
}

void ProcessGroupAccl::checkRank(int64_t r, const char* what, const char* arg) const {
  TORCH_CHECK(r >= 0 && r < getSize(), "acc-ccl ", what, ": argument ", arg, "=", r, " is not a rank of this group (size ",
              getSize(), ")");
}

}  // namespace accl_torch

namespace accl_torch {

void ProcessGroupAccl::checkAgreement(c10d::OpType type, const char* what, const at::Tensor& like, int64_t count,
                                      int64_t root) {
  if (!checkCalls_) return;
  constexpr int kFields = 4;
  const int64_t dtype = like.defined() ? static_cast<int64_t>(like.scalar_type()) : -1;
  at::Tensor mine = at::tensor({static_cast<int64_t>(type), dtype, count, root}, at::kLong);
  at::Tensor all = at::empty({getSize() * kFields}, at::kLong);
  auto work = submit(
      c10d::OpType::ALLGATHER, "argument check (ACCL_TORCH_CHECK)", {}, {mine, all},
      [&](acclComm_t comm, accStream_t stream) {
        return acclAllGather(bytesOf(mine), bytesOf(all), kFields, acclInt64, comm, stream);
      },
      nullptr, c10d::kUnsetTimeout);
  work->wait();
  const int64_t* f = all.data_ptr<int64_t>();
  auto describe = [&](int r) {
    const int64_t* g = f + r * kFields;
    std::ostringstream os;
    os << "rank " << r << " called " << c10d::opTypeToString(static_cast<c10d::OpType>(g[0])) << " with " << g[2]
       << " elements";
    if (g[1] >= 0) os << " of " << c10::toString(static_cast<at::ScalarType>(g[1]));
    if (g[3] >= 0) os << " (root " << g[3] << ")";
    return os.str();
  };
  std::string differ;
  for (int r = 1; r < getSize(); r++)
    if (std::memcmp(f, f + r * kFields, sizeof(int64_t) * kFields) != 0) differ += "; " + describe(r);
  TORCH_CHECK(differ.empty(), "acc-ccl ", what, ": the ranks' calls do not match: ", describe(0), differ);
}

}  // namespace accl_torch
