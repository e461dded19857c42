// process_group.cpp - construction, shutdown, submission, sequence numbers,
// point-to-point entry points, the monitored barrier and the optional
// argument check. The collectives live in ops_*.cpp.
#include "process_group.hpp"

#include <Python.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <sstream>
#include <thread>

namespace accl_torch {

namespace {
long envLong(const char* name, long fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  return (end && *end == '\0' && x > 0) ? x : fallback;
}

// The watchdog's period: a fifth of the group's timeout, within [10 ms, 1 s]
// (ACCL_TORCH_WATCHDOG_MS overrides). An operation fails at most one period
// after its deadline when nobody waits on it; a waiter fails at its deadline.
std::chrono::milliseconds watchdogPeriod(std::chrono::milliseconds timeout) {
  long ms = std::clamp<long>(static_cast<long>(timeout.count() / 5), 10, 1000);
  return std::chrono::milliseconds(envLong("ACCL_TORCH_WATCHDOG_MS", ms));
}
}  // namespace

at::Tensor contiguousBuffer(const at::Tensor& t) { return t.is_contiguous() ? t : t.contiguous(); }

ProcessGroupAccl::ProcessGroupAccl(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                   std::chrono::milliseconds timeout)
    : AcclBackendBase(rank, size),
      store_(store),
      timeout_(timeout.count() > 0 ? timeout : std::chrono::milliseconds(kProcessGroupDefaultTimeout)) {
  uint64_t seqStart = 0;
  state_ = std::make_shared<CommState>(store, rank, size, &seqStart);
  seq_.store(seqStart);
  pool_ = std::make_shared<CallbackPool>();
  // Stopped first in the destructor, so the scan may use the group's members.
  watchdog_ = std::make_shared<Watchdog>(watchdogPeriod(timeout_), [this](Watchdog::Clock::time_point now) {
    state_->scan(now);
    p2p_->scan(now);
  });
  Watchdog* dog = watchdog_.get();
  p2p_ = std::make_shared<P2PManager>(store, rank, size, pool_, [dog] { dog->ensureStarted(); });
}

ProcessGroupAccl::~ProcessGroupAccl() {
  // Python may drop the last reference with the GIL held; a future callback
  // on the pool may need it, so let go while we join.
  PyThreadState* saved = (Py_IsInitialized() && PyGILState_Check()) ? PyEval_SaveThread() : nullptr;
  watchdog_->stop();
  p2p_->shutdown();
  state_->shutdown();
  pool_->stop();
  if (saved != nullptr) PyEval_RestoreThread(saved);
}

WorkSpec ProcessGroupAccl::spec(c10d::OpType type, const char* title, const char* name,
                                std::chrono::milliseconds optTimeout) {
  return WorkSpec{type, title, name, timeoutOf(optTimeout), seq_.fetch_add(1) + 1};
}

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::submit(c10d::OpType type, const char* title, const char* name,
                                                        const std::vector<at::Tensor>& inputs,
                                                        std::vector<at::Tensor> outputs, std::vector<at::Tensor> keep,
                                                        CommState::LaunchFn launch, std::function<void()> onSuccess,
                                                        std::chrono::milliseconds optTimeout, int sourceRank) {
  const uint64_t seq = seq_.fetch_add(1) + 1;
  auto work = c10::make_intrusive<AcclWork>(pool_, getRank(), getSize(), type, title, name, inputs, std::move(outputs),
                                            std::move(keep), std::move(onSuccess), timeoutOf(optTimeout), seq,
                                            sourceRank);
  work->launch(state_, launch);
  if (!work->finished()) watchdog_->ensureStarted();
  return work;
}

void ProcessGroupAccl::checkRank(int64_t r, const char* what, const char* arg) const {
  TORCH_CHECK(r >= 0 && r < getSize(), "acc-ccl ", what, ": argument ", arg, "=", r, " is not a rank of this group (size ",
              getSize(), ")");
}

void ProcessGroupAccl::setSequenceNumberForGroup() {
  // As Gloo does it: rank 0 draws a start and publishes it, the others read it.
  if (getRank() == 0) {
    std::random_device rd;
    uint64_t seq = 1 + (static_cast<uint64_t>(rd()) & 0x7fffffffu);
    seq_.store(seq);
    store_->set(c10d::kSeqNumStoreKey, c10d::toVec<uint8_t>(seq, sizeof(uint64_t)));
  } else {
    store_->wait({c10d::kSeqNumStoreKey}, timeout_);
    seq_.store(c10d::fromVec<uint8_t>(store_->get(c10d::kSeqNumStoreKey)));
  }
}

uint64_t ProcessGroupAccl::getSequenceNumberForGroup() { return seq_.load(); }

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::send(std::vector<at::Tensor>& tensors, int dstRank, int tag) {
  const char* what = "send";
  checkSingle(tensors, what, "tensors");
  checkRank(dstRank, what, "dst");
  TORCH_CHECK(dstRank != getRank(), "acc-ccl send: a rank cannot send to itself");
  return p2p_->send(tensors[0], dstRank, tag, spec(c10d::OpType::SEND, "accl:send", what, c10d::kUnsetTimeout));
}

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::recv(std::vector<at::Tensor>& tensors, int srcRank, int tag) {
  const char* what = "recv";
  checkSingle(tensors, what, "tensors");
  checkRank(srcRank, what, "src");
  TORCH_CHECK(srcRank != getRank(), "acc-ccl recv: a rank cannot receive from itself");
  return p2p_->recv(tensors[0], srcRank, tag, spec(c10d::OpType::RECV, "accl:recv", what, c10d::kUnsetTimeout));
}

c10::intrusive_ptr<c10d::Work> ProcessGroupAccl::recvAnysource(std::vector<at::Tensor>& tensors, int tag) {
  const char* what = "recvAnysource";
  checkSingle(tensors, what, "tensors");
  TORCH_CHECK(getSize() > 1, "acc-ccl recvAnysource: no other rank in this group");
  return p2p_->recvAny(tensors[0], tag,
                       spec(c10d::OpType::RECVANYSOURCE, "accl:recvAnySource", what, c10d::kUnsetTimeout));
}

void ProcessGroupAccl::monitoredBarrier(const c10d::BarrierOptions& opts, bool waitAllRanks) {
  using Clock = std::chrono::steady_clock;
  const auto timeout = opts.timeout == c10d::kUnsetTimeout ? timeout_ : opts.timeout;
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  const int me = getRank(), n = getSize();
  const std::string key = "acc_ccl_monitored_barrier/" + std::to_string(++monitoredEpoch_);
  auto pause = std::chrono::microseconds(100);
  auto nap = [&pause] {
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(10000));
  };
  if (me != 0) {
    store_->set(key + "/arrived/" + std::to_string(me), std::vector<uint8_t>{1});
    for (;;) {
      if (store_->check({key + "/verdict"})) {
        if (store_->get(key + "/verdict") == std::vector<uint8_t>{1}) return;
        break;
      }
      if (Clock::now() > deadline) break;
      nap();
    }
    TORCH_CHECK(false, "[Rank ", me, "]: Rank ", me,
                " successfully reached monitoredBarrier, but received errors while waiting for send/recv from rank "
                "0. Please check rank 0 logs for faulty rank.");
  }
  std::vector<int> missing;
  for (int r = 1; r < n; r++) missing.push_back(r);
  for (;;) {
    missing.erase(std::remove_if(missing.begin(), missing.end(),
                                 [&](int r) { return store_->check({key + "/arrived/" + std::to_string(r)}); }),
                  missing.end());
    if (missing.empty() || Clock::now() > deadline) break;
    nap();
  }
  if (missing.empty()) {
    store_->set(key + "/verdict", std::vector<uint8_t>{1});
    return;
  }
  store_->set(key + "/verdict", std::vector<uint8_t>{0});  // the others fail at once
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  std::ostringstream list;
  for (size_t i = 0; i < missing.size(); i++) list << (i ? ", " : "") << missing[i];
  TORCH_CHECK(timeout.count() > 0, "[Rank 0]: Rank 0 timed out in monitoredBarrier after ", ms, " ms (rank",
              missing.size() > 1 ? "s " : " ", list.str(), " had not arrived)");
  if (waitAllRanks && missing.size() > 1)
    TORCH_CHECK(false, "[Rank 0]: Ranks ", list.str(), " failed to pass monitoredBarrier in ", ms, " ms");
  TORCH_CHECK(false, "[Rank 0]: Rank ", missing[0], " failed to pass monitoredBarrier in ", ms, " ms");
}

}  // namespace accl_torch
