// work.cpp - completion, waiting with a deadline, and the Future.
//
// Most small operations are finished before the caller gets the work (see
// launch). Otherwise waiting polls the event briefly (a thread hand-off
// would dominate a short operation; the spin is short because acc-ccl already
// polled for its inline budget), then yields (a late peer may need this
// core), then hands the work to its lane's completion thread and sleeps on
// the work's condition variable until that thread finishes it or the
// deadline passes. The deadline is the issue time plus the operation's
// timeout (wait(timeout) may shorten it); passing it aborts the lane, so
// nothing stays blocked on a peer that will not come. The watchdog applies
// the same deadline to operations nobody waits for.
#include "work.hpp"

#include <sched.h>

#include <stdexcept>
#include <thread>

namespace accl_torch {

namespace {
constexpr auto kSpin = std::chrono::microseconds(2);
constexpr int kYields = 64;
thread_local bool tServiceThread = false;

std::chrono::milliseconds msSince(AcclWork::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(AcclWork::Clock::now() - t);
}
}  // namespace

bool onServiceThread() { return tServiceThread; }
void markServiceThread() { tServiceThread = true; }

AcclWork::AcclWork(std::shared_ptr<CallbackPool> pool, int rank, int size, c10d::OpType type, const char* title,
                   const char* name, const std::vector<at::Tensor>& inputs, std::vector<at::Tensor> outputs,
                   std::vector<at::Tensor> keep, std::function<void()> onSuccess, std::chrono::milliseconds timeout,
                   uint64_t seq, int sourceRank)
    : c10d::Work(rank, type, title, c10::optional<std::vector<at::Tensor>>(inputs)),
      pool_(std::move(pool)),
      groupRank_(rank),
      groupSize_(size),
      name_(name),
      outputs_(std::move(outputs)),
      keep_(std::move(keep)),
      onSuccess_(std::move(onSuccess)),
      timeout_(timeout),
      seq_(seq),
      issued_(Clock::now()),
      sourceRank_(sourceRank) {
  deadline_ = timeout.count() > 0 && timeout < std::chrono::hours(24 * 365) ? issued_ + timeout
                                                                            : Clock::time_point::max();
}

AcclWork::~AcclWork() {
  if (event_ != nullptr) accEventDestroy(event_);
}

void AcclWork::launch(const std::shared_ptr<CommState>& lane, CommState::LaunchFn fn) {
  {
    std::lock_guard<std::mutex> lock(finishMutex_);
    if (finished_.load(std::memory_order_relaxed)) return;  // failed while it waited to be launched
    lane_ = lane;
  }
  bool done = lane->launch(*this, fn);
  launched_.store(true, std::memory_order_seq_cst);
  if (done) finish();
  else if (tracked_.load(std::memory_order_seq_cst)) lane->activate();
}

bool AcclWork::eventReached() {
  // event_ is written under the lane's lock before the work is in flight,
  // and before launched_ is stored.
  if (event_ != nullptr) return accEventQuery(event_) != accErrorNotReady;
  return launched_.load(std::memory_order_acquire);  // launched without an event: it finished in the launch
}

void AcclWork::waitEvent() {
  if (event_ != nullptr) accEventSynchronize(event_);
}

std::string AcclWork::timeoutText(std::chrono::milliseconds after) const {
  return std::string("acc-ccl ") + name_ + " (sequence number " + std::to_string(seq_) + ") on rank " +
         std::to_string(groupRank_) + " of " + std::to_string(groupSize_) + ": Timed out after " +
         std::to_string(after.count()) + " ms (issued " + std::to_string(msSince(issued_).count()) +
         " ms ago; a peer is missing or the ranks called different operations)";
}

void AcclWork::setPendingTimeout(std::function<void(const std::string&)> fn) {
  std::lock_guard<std::mutex> lock(finishMutex_);
  pendingTimeout_ = std::move(fn);
}

void AcclWork::timeOut(const std::string& why) {
  if (launched_.load(std::memory_order_acquire)) {
    lane_->abort(why);
    return;
  }
  std::function<void(const std::string&)> hook;
  {
    std::lock_guard<std::mutex> lock(finishMutex_);
    hook = pendingTimeout_;
  }
  if (hook) hook(why);
  if (!launched_.load(std::memory_order_acquire)) complete(std::make_exception_ptr(std::runtime_error(why)));
  else lane_->abort(why);  // launched meanwhile
}

void AcclWork::track() {
  if (finished_.load(std::memory_order_acquire) || tracked_.exchange(true, std::memory_order_seq_cst)) return;
  // Not launched yet: the launch activates the lane when it sees tracked_.
  if (launched_.load(std::memory_order_seq_cst)) lane_->activate();
}

c10::intrusive_ptr<c10::ivalue::Future> AcclWork::getFuture() {
  c10::intrusive_ptr<c10::ivalue::Future> future;
  {
    std::lock_guard<std::mutex> lock(futureMutex_);
    if (!future_) future_ = c10::make_intrusive<c10::ivalue::Future>(c10::ListType::ofTensors());
    future = future_;
  }
  // finish() stores finished_ before it looks for the future, so one of the
  // two always sees the other and the future is marked exactly once.
  if (finished_.load(std::memory_order_acquire)) completeFuture();
  else track();
  return future;
}

void AcclWork::completeFuture() {
  c10::intrusive_ptr<c10::ivalue::Future> future;
  {
    std::lock_guard<std::mutex> lock(futureMutex_);
    if (!future_ || futureMarked_) return;
    futureMarked_ = true;
    future = future_;
  }
  // Outside our locks: marking the future runs its callbacks (DDP hooks).
  std::exception_ptr error = exception();
  auto mark = [future, error, outputs = outputs_]() {
    if (error) future->setError(error);
    else future->markCompleted(c10::IValue(outputs));
  };
  // A callback may wait for another operation: never on a completion thread.
  if (onServiceThread() && pool_ && pool_->post(mark)) return;
  mark();
}

void AcclWork::complete(std::exception_ptr error) {
  {
    std::lock_guard<std::mutex> lock(finishMutex_);
    if (finished_.load(std::memory_order_relaxed)) return;
    if (error && !presetError_) presetError_ = error;
  }
  finish();
}

void AcclWork::finish() {
  if (finished_.load(std::memory_order_acquire)) return;
  {
    std::lock_guard<std::mutex> once(finishMutex_);
    if (finished_.load(std::memory_order_relaxed)) return;
    std::exception_ptr error = presetError_;
    if (!error && lane_ != nullptr && !settledOk_) {
      std::string failure = lane_->failure();
      // A receive whose header announced another size than it expects says
      // so, whether acc-ccl or the watchdog noticed the mismatch first.
      std::string why = failure.empty() ? std::string() : probe();
      if (!why.empty())
        error = std::make_exception_ptr(std::runtime_error(why));
      else if (!failure.empty())
        error = std::make_exception_ptr(std::runtime_error(std::string("acc-ccl ") + name_ + " failed on rank " +
                                                           std::to_string(groupRank_) + ": " + failure));
    }
    if (!error) {
      try {
        if (onSuccess_) onSuccess_();
      } catch (...) {
        error = std::current_exception();
      }
    }
    onSuccess_ = nullptr;
    pendingTimeout_ = nullptr;
    keep_.clear();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      completed_ = true;
      exception_ = error;
      if (recordFunctionEndCallback_) {  // the profiler's event ends here
        recordFunctionEndCallback_();
        recordFunctionEndCallback_ = nullptr;
      }
    }
    finished_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
  completeFuture();
}

bool AcclWork::isCompleted() {
  if (!finished_.load(std::memory_order_acquire) && launched_.load(std::memory_order_acquire) && eventReached())
    finish();
  return finished_.load(std::memory_order_acquire);
}

bool AcclWork::isSuccess() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return completed_ && !exception_;
}

std::exception_ptr AcclWork::exception() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return exception_;
}

bool AcclWork::wait(std::chrono::milliseconds timeout) {
  if (!finished_.load(std::memory_order_acquire)) {
    const auto start = Clock::now();
    auto deadline = deadline_;
    if (timeout != kNoTimeout && start + timeout < deadline) deadline = start + timeout;
    if (launched_.load(std::memory_order_acquire)) {
      while (!eventReached() && Clock::now() - start < kSpin) {
      }
      for (int i = 0; i < kYields && !eventReached(); i++) sched_yield();
      if (eventReached()) finish();
    }
    if (!finished_.load(std::memory_order_acquire)) {
      track();  // a longer operation: sleep until its lane's completion thread is done
      std::unique_lock<std::mutex> lock(mutex_);
      if (!cv_.wait_until(lock, deadline, [this] { return completed_; })) {
        lock.unlock();
        auto after = deadline == deadline_ ? timeout_ : timeout;
        std::string why = timeoutText(after) + "; the communicator was aborted";
        timeOut(why);
        throw std::runtime_error(why);
      }
    }
  }
  // Finished: exception_ was set before finished_ and no longer changes.
  if (exception_) std::rethrow_exception(exception_);
  return true;
}

void AcclWork::abort() { timeOut(std::string("acc-ccl ") + name_ + ": aborted by the user"); }

}  // namespace accl_torch
