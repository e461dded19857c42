// comm_state.cpp - communicator creation, locked use, the in-flight list,
// the lazily started completion thread, the watchdog pass, abort and orderly
// shutdown.
#include "comm_state.hpp"

#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "work.hpp"

namespace accl_torch {

namespace {
const char* const kUniqueIdKey = "acc_ccl_unique_id";

int envInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  return (end && *end == '\0' && x >= 0) ? static_cast<int>(x) : fallback;
}

uint64_t randomSeqStart() {
  std::random_device rd;
  // Like Gloo's: an arbitrary positive start, so that two groups' numbers differ.
  return 1 + (static_cast<uint64_t>(rd()) & 0x7fffffffu);
}
}  // namespace

std::string acclErrorText(const char* what, acclResult_t res, acclComm_t comm) {
  std::string text = std::string("acc-ccl ") + what + " failed: " + acclGetErrorString(res);
  const char* detail = acclGetLastError(comm);
  if (detail != nullptr && *detail != '\0') text += std::string(": ") + detail;
  return text;
}

int acclTorchDevice(int groupRank) {
  static std::once_flag once;
  static int device = 0;
  std::call_once(once, [groupRank] {
    int count = 0;
    accError_t err = accGetDeviceCount(&count);
    TORCH_CHECK(err == accSuccess && count > 0, "acc-ccl: no simulated accelerator available: ",
                accGetErrorString(err));
    int local = envInt("LOCAL_RANK", envInt("RANK", groupRank));
    device = local % count;
  });
  return device;
}

CommState::CommState(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size, uint64_t* seqStart)
    : rank_(rank), size_(size), label_("the group's communicator") {
  TORCH_CHECK(store, "acc-ccl: process group creation needs a store (argument store is None)");
  TORCH_CHECK(size > 0 && rank >= 0 && rank < size, "acc-ccl: invalid rank ", rank, " for group size ", size);
  device_ = acclTorchDevice(rank);
  accError_t derr = accSetDevice(device_);
  TORCH_CHECK(derr == accSuccess, "acc-ccl: accSetDevice(", device_, ") failed: ", accGetErrorString(derr));

  acclUniqueId id;
  uint64_t seq = 0;
  const size_t want = sizeof(id) + sizeof(seq);
  if (rank == 0) {
    acclResult_t res = acclGetUniqueId(&id);
    TORCH_CHECK(res == acclSuccess, acclErrorText("acclGetUniqueId", res, nullptr));
    seq = randomSeqStart();
    std::vector<uint8_t> bytes(want);
    std::memcpy(bytes.data(), &id, sizeof(id));
    std::memcpy(bytes.data() + sizeof(id), &seq, sizeof(seq));
    store->set(kUniqueIdKey, bytes);
  } else {
    std::vector<uint8_t> bytes = store->get(kUniqueIdKey);  // waits up to the store timeout
    TORCH_CHECK(bytes.size() == want, "acc-ccl: the unique id in the store has ", bytes.size(), " bytes, expected ",
                want, " (another backend's key?)");
    std::memcpy(&id, bytes.data(), sizeof(id));
    std::memcpy(&seq, bytes.data() + sizeof(id), sizeof(seq));
  }
  if (seqStart != nullptr) *seqStart = seq;
  acclResult_t res = acclCommInitRank(&comm_, size, id, rank);
  TORCH_CHECK(res == acclSuccess, acclErrorText("acclCommInitRank", res, nullptr), " (rank ", rank, " of ", size,
              ")");
  derr = accStreamCreate(&stream_);
  if (derr != accSuccess) {
    acclCommDestroy(comm_);
    comm_ = nullptr;
    TORCH_CHECK(false, "acc-ccl: accStreamCreate failed: ", accGetErrorString(derr));
  }
}

CommState::CommState(const acclUniqueId& id, int nranks, int rank, std::string label)
    : rank_(rank), size_(nranks), label_(std::move(label)) {
  device_ = acclTorchDevice(rank);
  accError_t derr = accSetDevice(device_);
  TORCH_CHECK(derr == accSuccess, "acc-ccl: accSetDevice(", device_, ") failed: ", accGetErrorString(derr));
  acclResult_t res = acclCommInitRank(&comm_, nranks, id, rank);
  TORCH_CHECK(res == acclSuccess, acclErrorText("acclCommInitRank", res, nullptr), " (", label_, ")");
  derr = accStreamCreate(&stream_);
  if (derr != accSuccess) {
    acclCommDestroy(comm_);
    comm_ = nullptr;
    TORCH_CHECK(false, "acc-ccl: accStreamCreate failed: ", accGetErrorString(derr));
  }
}

CommState::~CommState() { shutdown(); }

bool CommState::launch(AcclWork& work, LaunchFn fn) {
  std::lock_guard<std::mutex> guard(mutex_);
  TORCH_CHECK(comm_ != nullptr, "acc-ccl ", work.name(), ": the communicator is unusable: ", broken_);
  acclResult_t async = acclSuccess;
  acclCommGetAsyncError(comm_, &async);
  TORCH_CHECK(async == acclSuccess, "acc-ccl ", work.name(), ": an earlier operation failed: ",
              acclGetErrorString(async));
  accSetDevice(device_);  // torch may call from any thread (DDP's autograd threads)
  acclResult_t res = fn(comm_, stream_);
  TORCH_CHECK(res == acclSuccess, acclErrorText(work.name(), res, comm_));
  if (!inflight_.empty()) popFinishedLocked();
  // A failed stream answers with an error here: the event path reports it.
  if (accStreamQuery(stream_) == accSuccess) return true;
  if (work.event_ == nullptr && accEventCreateWithFlags(&work.event_, accEventDisableTiming) != accSuccess)
    work.event_ = nullptr;
  if (work.event_ != nullptr && accEventRecord(work.event_, stream_) == accSuccess) {
    inflight_.push_back(c10::intrusive_ptr<AcclWork>::unsafe_reclaim_from_nonowning(&work));
    return false;
  }
  // No event (out of memory): the operation is queued and uses the caller's
  // tensors, so it must not be abandoned; wait for it here instead.
  accStreamSynchronize(stream_);
  return true;
}

void CommState::popFinishedLocked() {
  while (!inflight_.empty() && inflight_.front()->finished()) inflight_.pop_front();
}

std::string CommState::failure() {
  std::lock_guard<std::mutex> guard(mutex_);
  if (comm_ == nullptr) return broken_.empty() ? std::string("the communicator was destroyed") : broken_;
  acclResult_t async = acclSuccess;
  if (acclCommGetAsyncError(comm_, &async) != acclSuccess) return "cannot query the communicator";
  if (async == acclSuccess) return std::string();
  // the communicator keeps the text of its failure: for a mismatch, both calls
  const char* text = acclGetLastError(comm_);
  if (text != nullptr && *text != '\0') return std::string(acclGetErrorString(async)) + ": " + text;
  return std::string(acclGetErrorString(async)) + " (see the acc-ccl WARN lines for the cause)";
}

bool CommState::aborted() {
  std::lock_guard<std::mutex> guard(mutex_);
  return comm_ == nullptr;
}

void CommState::settleReachedLocked() {
  if (comm_ == nullptr) return;
  acclResult_t async = acclSuccess;
  if (acclCommGetAsyncError(comm_, &async) != acclSuccess || async != acclSuccess) return;  // cannot tell
  // Stream order: the reached works are a prefix of the list.
  for (auto& w : inflight_) {
    if (w->finished()) continue;
    if (!w->eventReached()) break;
    w->settleOk();
  }
}

void CommState::abortLocked(const std::string& reason) {
  if (comm_ == nullptr) return;
  settleReachedLocked();
  broken_ = reason;
  acclCommAbort(comm_);  // fails queued work, which completes the stream's events
  comm_ = nullptr;
}

void CommState::abort(const std::string& reason) {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    abortLocked(reason);
  }
  cv_.notify_all();
}

void CommState::activate() {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (stop_) return;  // shutdown finishes what is left
    active_ = true;
    if (!completer_.joinable()) completer_ = std::thread([this] { completerLoop(); });
  }
  cv_.notify_one();
}

void CommState::completerLoop() {
  markServiceThread();
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || (active_ && !inflight_.empty()); });
    popFinishedLocked();
    if (inflight_.empty()) {
      active_ = false;
      if (stop_) return;
      continue;
    }
    c10::intrusive_ptr<AcclWork> head = inflight_.front();
    lock.unlock();
    head->waitEvent();  // sleeps in the runtime (futex) until the stream gets there
    head->finish();
    head.reset();
    lock.lock();
  }
}

bool CommState::scan(Clock::time_point now) {
  std::vector<c10::intrusive_ptr<AcclWork>> done;
  std::string timedOut;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    popFinishedLocked();
    bool running = false;
    for (auto& w : inflight_) {
      if (w->finished()) continue;
      if (!running && w->eventReached()) {
        done.push_back(w);
        continue;
      }
      // Still running, and everything after it waits for it: any of them
      // past its deadline times the lane out (the oldest may have none: an
      // internal header receive).
      if (!running && comm_ != nullptr) {
        std::string bad = w->probe();
        if (!bad.empty()) {
          timedOut = bad;
          abortLocked(bad);
          break;
        }
      }
      running = true;
      if (now > w->deadline() && comm_ != nullptr) {
        timedOut = w->timeoutText(w->timeout()) + "; the watchdog aborted " + label_;
        abortLocked(timedOut);
        break;
      }
    }
  }
  if (!timedOut.empty()) cv_.notify_all();
  for (auto& w : done) w->finish();
  std::lock_guard<std::mutex> guard(mutex_);
  popFinishedLocked();
  return !inflight_.empty();
}

void CommState::shutdown() {
  // In-flight user operations get until their deadlines; internal receives
  // posted for a sender that may never come (deadline max) are not waited for.
  for (;;) {
    std::unique_lock<std::mutex> lock(mutex_);
    popFinishedLocked();
    AcclWork* pending = nullptr;
    for (auto& w : inflight_) {
      if (w->finished() || w->eventReached()) continue;
      pending = w.get();
      break;
    }
    if (pending == nullptr || comm_ == nullptr || pending->deadline() == Clock::time_point::max() ||
        Clock::now() > pending->deadline())
      break;
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  std::vector<c10::intrusive_ptr<AcclWork>> left;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (comm_ != nullptr) {
      acclResult_t async = acclSuccess;
      acclCommGetAsyncError(comm_, &async);
      bool running = false;
      for (auto& w : inflight_)
        if (!w->finished() && !w->eventReached()) running = true;
      // A failed communicator may have peers that will never answer, and an
      // operation still running here never will: abort instead of waiting.
      if (async == acclSuccess && !running) {
        settleReachedLocked();
        acclCommDestroy(comm_);
        comm_ = nullptr;
        if (broken_.empty()) broken_ = "the process group was destroyed";
      } else {
        abortLocked(running ? "the process group was destroyed while " + label_ + " had operations in flight"
                            : "the process group was destroyed after an error");
      }
    }
    stop_ = true;
  }
  cv_.notify_all();
  if (completer_.joinable()) {
    if (completer_.get_id() == std::this_thread::get_id()) completer_.detach();
    else completer_.join();
  }
  {
    std::lock_guard<std::mutex> guard(mutex_);
    left.assign(inflight_.begin(), inflight_.end());
    inflight_.clear();
  }
  for (auto& w : left) w->finish();  // their events are reached: the communicator is gone
  std::lock_guard<std::mutex> guard(mutex_);
  if (stream_ != nullptr) {
    accStreamDestroy(stream_);  // waits for the stream's work
    stream_ = nullptr;
  }
}

}  // namespace accl_torch
