// completer.cpp - one thread per process group, asleep unless a work is queued.
#include "completer.hpp"

#include "work.hpp"

namespace accl_torch {

Completer::Completer() : thread_([this] { loop(); }) {}

Completer::~Completer() { stop(); }

bool Completer::add(c10::intrusive_ptr<AcclWork> work) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stop_) return false;
    queue_.push_back(std::move(work));
  }
  cv_.notify_one();
  return true;
}

void Completer::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Completer::loop() {
  for (;;) {
    c10::intrusive_ptr<AcclWork> work;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued is finished
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work->waitEvent();  // sleeps in the runtime (futex) until the stream gets there
    work->finish();
  }
}

}  // namespace accl_torch
