// p2p.hpp - point-to-point operations of one process group on channels that
// progress independently of each other.
//
// A channel carries the messages of one ordered pair of ranks and one tag
// (sender -> receiver, tag): its own 2-rank acc-ccl communicator and stream,
// made on first use. Sends and receives therefore never queue behind each
// other or behind collectives (acc-ccl runs one communicator's operations in
// order, whatever the stream): any order of isend / irecv between any ranks
// completes, at any size, and messages with different tags match by tag as
// with Gloo. Within a channel messages match in call order.
//
// Making a channel takes both sides: the sender publishes the communicator's
// unique id in the group's store, the receiver a "join" key; each side's
// connector thread polls for the other's key and then both create the
// communicator. Until then the channel's operations wait in order and are
// launched by the connector (a send never blocks its caller).
//
// Every message starts with a 64-byte header (size, and up to 48 bytes of
// data inline, so a small message is a single transfer; a larger one is the
// header and the payload launched together). The receiver checks the size
// (a mismatch fails the channel with both sizes named) and a receive from any
// source uses it: it posts a header receive on each peer's channel for the
// tag, takes the first header that arrives, then receives that sender's
// payload, and reports the sender as the work's source rank. A header that
// arrived for nobody waits for the next receive on its channel. At most one
// such speculative header receive is outstanding per channel, and it is
// always the last operation queued there, so the payload that follows a
// header is always received next.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "comm_state.hpp"
#include "work.hpp"

namespace accl_torch {

// What the group tells a new work: its profiling title, name, timeout and
// sequence number.
struct WorkSpec {
  c10d::OpType type;
  const char* title;
  const char* name;
  std::chrono::milliseconds timeout;
  uint64_t seq;
};

class P2PManager : public std::enable_shared_from_this<P2PManager> {
 public:
  using Clock = std::chrono::steady_clock;
  P2PManager(c10::intrusive_ptr<c10d::Store> store, int rank, int size, std::shared_ptr<CallbackPool> pool,
             std::function<void()> startWatchdog);
  ~P2PManager();

  c10::intrusive_ptr<AcclWork> send(const at::Tensor& tensor, int dst, int tag, const WorkSpec& spec);
  c10::intrusive_ptr<AcclWork> recv(const at::Tensor& tensor, int src, int tag, const WorkSpec& spec);
  c10::intrusive_ptr<AcclWork> recvAny(const at::Tensor& tensor, int tag, const WorkSpec& spec);

  // Watchdog pass: the channels' lanes, operations waiting for a connection
  // and receives from any source waiting for a sender, against deadlines.
  void scan(Clock::time_point now);
  // Stops the connectors, fails what never started, shuts the channels down.
  void shutdown();

 private:
  struct Channel;
  struct HeaderSlot;
  struct Deferred {
    c10::intrusive_ptr<AcclWork> work;
    std::function<acclResult_t(acclComm_t, accStream_t)> fn;
  };
  struct AnyRecv {
    c10::intrusive_ptr<AcclWork> work;
    at::Tensor buf;   // contiguous receive buffer
    at::Tensor user;  // the caller's tensor
  };
  using Key = std::tuple<int, bool, int>;  // (peer, sending, tag)
  using Failed = std::vector<std::pair<c10::intrusive_ptr<AcclWork>, std::string>>;

  std::shared_ptr<Channel> channelLocked(int peer, bool sending, int tag);
  void connect(std::shared_ptr<Channel> ch);
  // Launches now when the channel is ready, else queues in order; throws
  // when the channel failed.
  void submitLocked(const std::shared_ptr<Channel>& ch, const c10::intrusive_ptr<AcclWork>& work,
                    std::function<acclResult_t(acclComm_t, accStream_t)> fn);
  // Posts a speculative header receive on ch (none unclaimed there yet).
  void postSlotLocked(const std::shared_ptr<Channel>& ch);
  void ensureSlotsLocked(int tag);
  // Gives an arrived header to a receive (any-source or specific) on ch.
  void takeArrivedLocked(const std::shared_ptr<Channel>& ch, const std::shared_ptr<HeaderSlot>& slot,
                         const c10::intrusive_ptr<AcclWork>& work, const at::Tensor& buf, const at::Tensor& user,
                         Failed& failed);
  void onHeader(const std::shared_ptr<Channel>& ch, const std::shared_ptr<HeaderSlot>& slot);
  // Marks ch failed: its lane aborted, its waiting works returned in failed.
  void failChannelLocked(const std::shared_ptr<Channel>& ch, const std::string& why, Failed& failed);
  void failChannel(const std::shared_ptr<Channel>& ch, const std::string& why);
  static void completeFailed(Failed& failed);
  c10::intrusive_ptr<AcclWork> makeWork(const WorkSpec& spec, const at::Tensor& user, std::vector<at::Tensor> keep,
                                        int sourceRank);

  c10::intrusive_ptr<c10d::Store> store_;
  int rank_;
  int size_;
  std::shared_ptr<CallbackPool> pool_;
  std::function<void()> startWatchdog_;

  std::recursive_mutex mutex_;  // recursive: a work finished inside may fail its channel
  std::map<Key, std::shared_ptr<Channel>> channels_;
  std::map<int, std::deque<AnyRecv>> anyWaiting_;  // per tag, oldest first
  uint64_t arrivals_ = 0;
  bool stopping_ = false;
};

}  // namespace accl_torch
