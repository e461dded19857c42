// work.cpp - completion, waiting with a timeout, and the Future.
//
// Most small operations are finished before the caller gets the work (see
// launch). Otherwise waiting polls the event briefly (a thread hand-off
// would dominate a short operation; the spin is short because acc-ccl already
// polled for its inline budget), then yields (a late peer may need this
// core), then hands the work to the completion thread and sleeps on the
// work's condition variable until that thread finishes it or the deadline
// passes. A deadline aborts the
// communicator: its queued work fails, so nothing stays blocked on a peer
// that will not come.
#include "work.hpp"

#include <sched.h>

#include <stdexcept>
#include <thread>

namespace accl_torch {

namespace {
constexpr auto kSpin = std::chrono::microseconds(2);
constexpr int kYields = 64;
}  // namespace

AcclWork::AcclWork(std::shared_ptr<CommState> state, std::shared_ptr<Completer> completer, c10d::OpType type,
                   const char* name, std::vector<at::Tensor> outputs, std::vector<at::Tensor> keep,
                   std::function<void()> onSuccess, std::chrono::milliseconds timeout, int sourceRank)
    : c10d::Work(state->rank(), type),
      state_(std::move(state)),
      completer_(std::move(completer)),
      name_(name),
      outputs_(std::move(outputs)),
      keep_(std::move(keep)),
      onSuccess_(std::move(onSuccess)),
      timeout_(timeout),
      sourceRank_(sourceRank) {}

AcclWork::~AcclWork() {
  if (event_ != nullptr) accEventDestroy(event_);
}

void AcclWork::launch(CommState::LaunchFn fn) {
  if (state_->launch(name_, fn, &event_)) finish();
}

bool AcclWork::eventReached() { return event_ == nullptr || accEventQuery(event_) != accErrorNotReady; }

void AcclWork::waitEvent() {
  if (event_ != nullptr) accEventSynchronize(event_);
}

void AcclWork::track() {
  if (finished_.load(std::memory_order_acquire) || tracked_.exchange(true)) return;
  if (!completer_->add(c10::intrusive_ptr<AcclWork>::unsafe_reclaim_from_nonowning(this))) {
    waitEvent();  // the group is gone: finish here
    finish();
  }
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
  // Outside our locks: marking the future runs its callbacks (DDP hooks) here.
  std::exception_ptr error = exception();
  if (error) future->setError(error);
  else future->markCompleted(c10::IValue(outputs_));
}

void AcclWork::finish() {
  if (finished_.load(std::memory_order_acquire)) return;
  {
    std::lock_guard<std::mutex> once(finishMutex_);
    if (finished_.load(std::memory_order_relaxed)) return;
    std::exception_ptr error;
    std::string failure = state_->failure();
    if (!failure.empty()) {
      error = std::make_exception_ptr(std::runtime_error(std::string("acc-ccl ") + name_ + " failed on rank " +
                                                         std::to_string(state_->rank()) + ": " + failure));
    } else {
      try {
        if (onSuccess_) onSuccess_();
      } catch (...) {
        error = std::current_exception();
      }
    }
    onSuccess_ = nullptr;
    keep_.clear();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      completed_ = true;
      exception_ = error;
    }
    finished_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
  completeFuture();
}

bool AcclWork::isCompleted() {
  if (!finished_.load(std::memory_order_acquire) && eventReached()) finish();
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
    const auto limit = timeout == kNoTimeout ? timeout_ : timeout;
    const auto start = std::chrono::steady_clock::now();
    while (!eventReached() && std::chrono::steady_clock::now() - start < kSpin) {
    }
    for (int i = 0; i < kYields && !eventReached(); i++) sched_yield();
    if (eventReached()) finish();
    else track();  // a longer operation: sleep until the completion thread is done
    std::unique_lock<std::mutex> lock(mutex_);
    if (!cv_.wait_until(lock, start + limit, [this] { return completed_; })) {
      lock.unlock();
      std::string why = std::string("acc-ccl ") + name_ + " timed out after " + std::to_string(limit.count()) +
                        " ms on rank " + std::to_string(state_->rank()) + " of " + std::to_string(state_->size()) +
                        " (a peer is missing or the ranks called different operations); the communicator was aborted";
      state_->abort(why);
      throw std::runtime_error(why);
    }
  }
  // Finished: exception_ was set before finished_ and no longer changes.
  if (exception_) std::rethrow_exception(exception_);
  return true;
}

void AcclWork::abort() { state_->abort(std::string("acc-ccl ") + name_ + ": aborted by the user"); }

}  // namespace accl_torch
