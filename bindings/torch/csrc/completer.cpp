// completer.cpp - the callback pool and the watchdog thread.
#include "completer.hpp"

#include "work.hpp"

namespace accl_torch {

CallbackPool::~CallbackPool() { stop(); }

bool CallbackPool::post(std::function<void()> fn) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (stop_) return false;
  queue_.push_back(std::move(fn));
  // Every queued callback needs a thread of its own that is not busy: one
  // that is blocked in a callback cannot be counted on.
  if (queue_.size() > threads_.size() - busy_) threads_.emplace_back([this] { loop(); });
  lock.unlock();
  cv_.notify_one();
  return true;
}

void CallbackPool::loop() {
  markServiceThread();
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing is left to run
    std::function<void()> fn = std::move(queue_.front());
    queue_.pop_front();
    busy_++;
    lock.unlock();
    fn();
    fn = nullptr;  // what the callback held is released outside the lock
    lock.lock();
    busy_--;
  }
}

void CallbackPool::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (auto& t : threads) {
    // The last reference may be dropped by a callback on one of our threads.
    if (t.get_id() == std::this_thread::get_id()) t.detach();
    else if (t.joinable()) t.join();
  }
}

Watchdog::Watchdog(std::chrono::milliseconds period, std::function<void(Clock::time_point)> scan)
    : period_(period), scan_(std::move(scan)) {}

Watchdog::~Watchdog() { stop(); }

void Watchdog::ensureStarted() {
  if (started_.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (started_.load(std::memory_order_relaxed) || stop_) return;
  thread_ = std::thread([this] { loop(); });
  started_.store(true, std::memory_order_release);
}

void Watchdog::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    if (thread_.get_id() == std::this_thread::get_id()) thread_.detach();
    else thread_.join();
  }
}

void Watchdog::loop() {
  markServiceThread();
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    cv_.wait_for(lock, period_, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    scan_(Clock::now());
    lock.lock();
  }
}

}  // namespace accl_torch
