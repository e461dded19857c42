// completer.hpp - the backend's service threads besides the lanes' own
// completion threads (comm_state.hpp):
//
// CallbackPool runs the callbacks of futures completed on a service thread.
// A callback may issue collectives and wait on them (DDP's PowerSGD hook
// does), which needs the completion threads free: so callbacks never run on
// them. The pool starts another thread whenever every thread it has is busy
// (a callback that blocks holds one), so a queued callback never waits for
// a blocked one. Threads stay until the pool stops; their number is the
// largest number of callbacks ever running at once.
//
// Watchdog wakes every period and runs the group's scan: it finishes works
// that are done but that nobody waits for, and aborts a lane whose oldest
// operation is past its deadline (issue time + timeout), so an operation
// that never completes fails even when nobody waits on it. Started by the
// first operation that does not finish during its launch.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace accl_torch {

class CallbackPool {
 public:
  CallbackPool() = default;
  ~CallbackPool();
  CallbackPool(const CallbackPool&) = delete;
  CallbackPool& operator=(const CallbackPool&) = delete;

  // Runs fn on a pool thread; false once stopped (the caller runs it).
  bool post(std::function<void()> fn);
  // Runs what is queued, then ends the threads.
  void stop();

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  size_t busy_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;
  // scan runs on the watchdog thread every period.
  Watchdog(std::chrono::milliseconds period, std::function<void(Clock::time_point)> scan);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Starts the thread (once); cheap once started.
  void ensureStarted();
  void stop();
  std::chrono::milliseconds period() const { return period_; }

 private:
  void loop();

  std::chrono::milliseconds period_;
  std::function<void(Clock::time_point)> scan_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::atomic<bool> started_{false};
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace accl_torch
