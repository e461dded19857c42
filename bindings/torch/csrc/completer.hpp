// completer.hpp - the thread that finishes works nobody is actively waiting
// for: those whose Future was asked for (DDP's hooks chain on it) and those
// whose wait() outlasted its short spin. Small operations that the caller
// waits for are finished by the caller itself, with no thread hand-off.
#pragma once

#include <c10/util/intrusive_ptr.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace accl_torch {

class AcclWork;

class Completer {
 public:
  Completer();
  ~Completer();
  Completer(const Completer&) = delete;
  Completer& operator=(const Completer&) = delete;

  // Queues a work; false once stopped (the caller then finishes it itself).
  bool add(c10::intrusive_ptr<AcclWork> work);
  // Finishes everything queued, then ends the thread.
  void stop();

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<c10::intrusive_ptr<AcclWork>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace accl_torch
