// p2p.cpp - channels (connection through the store, deferred launches),
// message headers, receives from any source.
#include "p2p.hpp"

#include <cstring>
#include <stdexcept>

#include "types.hpp"

namespace accl_torch {

namespace {
constexpr uint32_t kMagic = 0x50434341u;  // "ACCP"
constexpr uint32_t kVersion = 1;
constexpr size_t kInlineMax = 48;
constexpr int64_t kHeaderBytes = 64;

struct MsgHeader {
  uint32_t magic;
  uint32_t version;
  uint64_t nbytes;
  uint8_t data[kInlineMax];
};
static_assert(sizeof(MsgHeader) == kHeaderBytes, "the message header is 64 bytes");

size_t bytesOfTensor(const at::Tensor& t) { return static_cast<size_t>(t.numel()) * t.element_size(); }

const MsgHeader* headerOf(const at::Tensor& hdr) { return static_cast<const MsgHeader*>(hdr.data_ptr()); }

// Empty when the header announces what the receive expects.
std::string checkHeader(const at::Tensor& hdr, size_t expected, int peer, int tag) {
  const MsgHeader* h = headerOf(hdr);
  if (h->magic != kMagic || h->version != kVersion)
    return "acc-ccl recv: the message from rank " + std::to_string(peer) + " (tag " + std::to_string(tag) +
           ") has no valid header; the channel is closed";
  if (h->nbytes != expected)
    return "acc-ccl recv: rank " + std::to_string(peer) + " sent " + std::to_string(h->nbytes) + " bytes (tag " +
           std::to_string(tag) + "), this receive expects " + std::to_string(expected) +
           " bytes; the channel is closed";
  return std::string();
}

// For the watchdog: a header already received (its magic is set) that
// announces another size than the receive waits for.
std::function<std::string()> headerProbe(const at::Tensor& hdr, size_t expected, int peer, int tag) {
  return [hdr, expected, peer, tag]() -> std::string {
    const MsgHeader* h = headerOf(hdr);
    if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != kMagic) return std::string();  // not here yet
    return checkHeader(hdr, expected, peer, tag);
  };
}

void copyInline(const at::Tensor& hdr, const at::Tensor& buf) {
  size_t n = bytesOfTensor(buf);
  if (n) std::memcpy(buf.data_ptr(), headerOf(hdr)->data, n);
}

std::function<void()> copyBackFn(const at::Tensor& user, const at::Tensor& buf) {
  if (user.is_same(buf)) return nullptr;
  return [user, buf]() mutable { user.copy_(buf); };
}

acclResult_t recvPayload(const at::Tensor& buf, acclComm_t comm, accStream_t stream) {
  FlatType ft = flatOf(buf);
  return acclRecv(buf.data_ptr(), ft.count, ft.type, 0, comm, stream);
}
}  // namespace

struct P2PManager::HeaderSlot {
  c10::intrusive_ptr<AcclWork> work;  // the header receive (internal)
  at::Tensor hdr;
  bool arrived = false;
  uint64_t order = 0;
  // Once claimed: the receive the header belongs to and its buffers.
  c10::intrusive_ptr<AcclWork> claimedBy;
  at::Tensor buf;
  at::Tensor user;
  bool payloadPosted = false;  // the claiming receive queued its payload itself
};

struct P2PManager::Channel {
  enum State { kConnecting, kReady, kFailed };
  int peer = 0;
  bool sending = false;
  int tag = 0;
  std::string label;
  State state = kConnecting;
  std::shared_ptr<CommState> lane;
  std::string failure;
  std::deque<Deferred> pending;  // launched in order once connected
  std::thread connector;
  std::atomic<bool> cancel{false};
  std::deque<std::shared_ptr<HeaderSlot>> slots;  // receiving side: outstanding header receives, in order
};

P2PManager::P2PManager(c10::intrusive_ptr<c10d::Store> store, int rank, int size, std::shared_ptr<CallbackPool> pool,
                       std::function<void()> startWatchdog)
    : store_(std::move(store)), rank_(rank), size_(size), pool_(std::move(pool)),
      startWatchdog_(std::move(startWatchdog)) {}

P2PManager::~P2PManager() { shutdown(); }

c10::intrusive_ptr<AcclWork> P2PManager::makeWork(const WorkSpec& spec, const at::Tensor& user,
                                                  std::vector<at::Tensor> keep, int sourceRank) {
  return c10::make_intrusive<AcclWork>(pool_, rank_, size_, spec.type, spec.title, spec.name,
                                       std::vector<at::Tensor>{user}, std::vector<at::Tensor>{user}, std::move(keep),
                                       nullptr, spec.timeout, spec.seq, sourceRank);
}

void P2PManager::completeFailed(Failed& done) {
  for (auto& d : done) {
    if (d.second.empty()) d.first->complete(nullptr);
    else d.first->complete(std::make_exception_ptr(std::runtime_error(d.second)));
  }
  done.clear();
}

std::shared_ptr<P2PManager::Channel> P2PManager::channelLocked(int peer, bool sending, int tag) {
  Key key(peer, sending, tag);
  auto it = channels_.find(key);
  if (it != channels_.end()) return it->second;
  auto ch = std::make_shared<Channel>();
  ch->peer = peer;
  ch->sending = sending;
  ch->tag = tag;
  ch->label = std::string("the p2p channel ") + (sending ? "to" : "from") + " rank " + std::to_string(peer) +
              " (tag " + std::to_string(tag) + ")";
  channels_[key] = ch;
  ch->connector = std::thread([this, ch] { connect(ch); });
  return ch;
}

void P2PManager::connect(std::shared_ptr<Channel> ch) {
  markServiceThread();
  const int src = ch->sending ? rank_ : ch->peer, dst = ch->sending ? ch->peer : rank_;
  const std::string key =
      "acc_ccl_p2p/" + std::to_string(src) + "/" + std::to_string(dst) + "/" + std::to_string(ch->tag);
  // Polls for the other side's key; the channel's first operation may be
  // far from its peer's (or the peer never sends on this tag: a speculative
  // receive), so this waits until the channel is cancelled.
  auto waitKey = [&](const std::string& k) {
    auto pause = std::chrono::microseconds(50);
    while (!ch->cancel.load(std::memory_order_acquire)) {
      if (store_->check({k})) return true;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(10000));
    }
    return false;
  };
  std::shared_ptr<CommState> lane;
  std::string err;
  try {
    acclUniqueId id;
    bool ready = false;
    if (ch->sending) {
      acclResult_t res = acclGetUniqueId(&id);
      TORCH_CHECK(res == acclSuccess, acclErrorText("acclGetUniqueId", res, nullptr));
      const auto* bytes = reinterpret_cast<const uint8_t*>(&id);
      store_->set(key + "/id", std::vector<uint8_t>(bytes, bytes + sizeof(id)));
      ready = waitKey(key + "/join");
    } else {
      store_->set(key + "/join", std::vector<uint8_t>{1});
      ready = waitKey(key + "/id");
      if (ready) {
        std::vector<uint8_t> bytes = store_->get(key + "/id");
        TORCH_CHECK(bytes.size() == sizeof(id), "acc-ccl: bad unique id for ", ch->label);
        std::memcpy(&id, bytes.data(), sizeof(id));
      }
    }
    if (ready) lane = std::make_shared<CommState>(id, 2, ch->sending ? 0 : 1, ch->label);
  } catch (const std::exception& e) {
    err = e.what();
  }
  Failed done;
  {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    if (!err.empty()) {
      failChannelLocked(ch, "acc-ccl: cannot connect " + ch->label + ": " + err, done);
    } else if (lane && (ch->state == Channel::kFailed || stopping_)) {
      lane->abort("acc-ccl: " + ch->label + " was closed while it connected");
    } else if (lane) {
      ch->lane = lane;
      // In order; an operation launched meanwhile (a payload after a header
      // that arrived during its launch) is appended and launched here too.
      while (!ch->pending.empty() && ch->state != Channel::kFailed) {
        Deferred d = std::move(ch->pending.front());
        ch->pending.pop_front();
        try {
          d.work->launch(lane, d.fn);
        } catch (const std::exception& e) {
          done.emplace_back(d.work, e.what());
          failChannelLocked(ch, e.what(), done);
        }
      }
      if (ch->state != Channel::kFailed) ch->state = Channel::kReady;
    }
  }
  completeFailed(done);
  if (lane) startWatchdog_();
}

void P2PManager::submitLocked(const std::shared_ptr<Channel>& ch, const c10::intrusive_ptr<AcclWork>& work,
                              std::function<acclResult_t(acclComm_t, accStream_t)> fn) {
  if (ch->state == Channel::kFailed) {
    throw std::runtime_error(std::string("acc-ccl ") + work->name() + ": " + ch->label +
                             " is closed: " + ch->failure);
  }
  if (ch->state == Channel::kReady && ch->pending.empty()) {
    work->launch(ch->lane, fn);
    if (!work->finished()) startWatchdog_();
    return;
  }
  std::weak_ptr<Channel> weakCh = ch;
  work->setPendingTimeout([this, weakCh](const std::string& why) {
    if (auto c = weakCh.lock()) failChannel(c, why);
  });
  ch->pending.push_back(Deferred{work, std::move(fn)});
  startWatchdog_();
}

void P2PManager::postSlotLocked(const std::shared_ptr<Channel>& ch) {
  auto slot = std::make_shared<HeaderSlot>();
  slot->hdr = at::zeros({kHeaderBytes}, at::kByte);
  auto work = c10::make_intrusive<AcclWork>(pool_, rank_, size_, c10d::OpType::RECV, nullptr,
                                            "header receive (recv from any source)", std::vector<at::Tensor>{},
                                            std::vector<at::Tensor>{}, std::vector<at::Tensor>{slot->hdr}, nullptr,
                                            std::chrono::milliseconds(0), 0, ch->peer);
  std::weak_ptr<P2PManager> weakSelf = shared_from_this();
  std::weak_ptr<Channel> weakCh = ch;
  std::weak_ptr<HeaderSlot> weakSlot = slot;
  work->setOnSuccess([weakSelf, weakCh, weakSlot] {
    auto self = weakSelf.lock();
    auto c = weakCh.lock();
    auto s = weakSlot.lock();
    if (self && c && s) self->onHeader(c, s);
  });
  work->track();  // its completion drives the matching: the lane's completion thread must see it
  slot->work = work;
  ch->slots.push_back(slot);
  at::Tensor hdr = slot->hdr;
  submitLocked(ch, work, [hdr](acclComm_t comm, accStream_t stream) {
    return acclRecv(hdr.data_ptr(), kHeaderBytes, acclUint8, 0, comm, stream);
  });
}

void P2PManager::ensureSlotsLocked(int tag) {
  for (int p = 0; p < size_; p++) {
    if (p == rank_) continue;
    auto ch = channelLocked(p, false, tag);
    if (ch->state == Channel::kFailed) continue;
    if (ch->slots.empty() || ch->slots.back()->claimedBy) postSlotLocked(ch);
  }
}

void P2PManager::takeArrivedLocked(const std::shared_ptr<Channel>& ch, const std::shared_ptr<HeaderSlot>& slot,
                                   const c10::intrusive_ptr<AcclWork>& work, const at::Tensor& buf,
                                   const at::Tensor& user, Failed& done) {
  const size_t expected = bytesOfTensor(buf);
  std::string err = checkHeader(slot->hdr, expected, ch->peer, ch->tag);
  if (!err.empty()) {
    done.emplace_back(work, err);
    failChannelLocked(ch, err, done);
    return;
  }
  work->setSourceRank(ch->peer);
  if (expected <= kInlineMax) {
    copyInline(slot->hdr, buf);
    work->setOnSuccess(copyBackFn(user, buf));
    done.emplace_back(work, std::string());
    return;
  }
  work->setOnSuccess(copyBackFn(user, buf));
  work->addKeep(buf);
  try {
    submitLocked(ch, work, [buf](acclComm_t comm, accStream_t stream) { return recvPayload(buf, comm, stream); });
  } catch (const std::exception& e) {
    done.emplace_back(work, e.what());
  }
}

void P2PManager::onHeader(const std::shared_ptr<Channel>& ch, const std::shared_ptr<HeaderSlot>& slot) {
  Failed done;
  {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    if (stopping_ || ch->state == Channel::kFailed) return;
    slot->arrived = true;
    slot->order = ++arrivals_;
    auto erase = [&] {
      for (auto it = ch->slots.begin(); it != ch->slots.end(); ++it)
        if (*it == slot) {
          ch->slots.erase(it);
          break;
        }
    };
    if (slot->claimedBy) {
      erase();
      std::string err = checkHeader(slot->hdr, bytesOfTensor(slot->buf), ch->peer, ch->tag);
      if (!err.empty()) {
        if (!slot->payloadPosted) done.emplace_back(slot->claimedBy, err);
        failChannelLocked(ch, err, done);  // fails a queued payload receive too
      } else if (!slot->payloadPosted) {
        copyInline(slot->hdr, slot->buf);
        slot->claimedBy->setOnSuccess(copyBackFn(slot->user, slot->buf));
        done.emplace_back(slot->claimedBy, std::string());
      }
    } else {
      const char* bad = headerOf(slot->hdr)->magic == kMagic ? nullptr : "no valid header";
      if (bad != nullptr) {
        failChannelLocked(ch, "acc-ccl recv: the message from rank " + std::to_string(ch->peer) + " has " + bad,
                          done);
      } else {
        auto& waiting = anyWaiting_[ch->tag];
        if (!waiting.empty()) {
          AnyRecv a = std::move(waiting.front());
          waiting.pop_front();
          erase();
          takeArrivedLocked(ch, slot, a.work, a.buf, a.user, done);
          if (!waiting.empty()) ensureSlotsLocked(ch->tag);
        }
        // else: it waits on the channel for the next receive there
      }
    }
  }
  completeFailed(done);
}

void P2PManager::failChannelLocked(const std::shared_ptr<Channel>& ch, const std::string& why, Failed& done) {
  if (ch->state == Channel::kFailed) return;
  ch->state = Channel::kFailed;
  ch->failure = why;
  ch->cancel.store(true, std::memory_order_release);
  for (auto& d : ch->pending) done.emplace_back(d.work, why);
  ch->pending.clear();
  for (auto& s : ch->slots)
    if (s->claimedBy && !s->claimedBy->launched()) done.emplace_back(s->claimedBy, why);
  ch->slots.clear();
  if (ch->lane) ch->lane->abort(why);  // fails what was launched on it
}

void P2PManager::failChannel(const std::shared_ptr<Channel>& ch, const std::string& why) {
  Failed done;
  {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    failChannelLocked(ch, why, done);
  }
  completeFailed(done);
}

c10::intrusive_ptr<AcclWork> P2PManager::send(const at::Tensor& tensor, int dst, int tag, const WorkSpec& spec) {
  at::Tensor buf = tensor.is_contiguous() ? tensor : tensor.contiguous();
  const size_t nbytes = bytesOfTensor(buf);
  const bool inl = nbytes <= kInlineMax;
  at::Tensor hdr = at::zeros({kHeaderBytes}, at::kByte);
  auto* h = static_cast<MsgHeader*>(hdr.data_ptr());
  h->magic = kMagic;
  h->version = kVersion;
  h->nbytes = nbytes;
  if (inl && nbytes) std::memcpy(h->data, buf.data_ptr(), nbytes);
  auto work = makeWork(spec, tensor, inl ? std::vector<at::Tensor>{hdr} : std::vector<at::Tensor>{hdr, buf}, -1);
  const FlatType ft = flatOf(buf);
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  TORCH_CHECK(!stopping_, "acc-ccl send: the process group was destroyed");
  submitLocked(channelLocked(dst, true, tag), work, [hdr, buf, ft, inl](acclComm_t comm, accStream_t stream) {
    if (inl) return acclSend(hdr.data_ptr(), kHeaderBytes, acclUint8, 1, comm, stream);
    acclResult_t res = acclGroupStart();
    if (res == acclSuccess) res = acclSend(hdr.data_ptr(), kHeaderBytes, acclUint8, 1, comm, stream);
    if (res == acclSuccess) res = acclSend(buf.data_ptr(), ft.count, ft.type, 1, comm, stream);
    acclResult_t end = acclGroupEnd();
    return res != acclSuccess ? res : end;
  });
  return work;
}

c10::intrusive_ptr<AcclWork> P2PManager::recv(const at::Tensor& tensor, int src, int tag, const WorkSpec& spec) {
  at::Tensor buf = tensor.is_contiguous() ? tensor : tensor.contiguous();
  const size_t expected = bytesOfTensor(buf);
  const bool inl = expected <= kInlineMax;
  Failed done;
  c10::intrusive_ptr<AcclWork> work;
  {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    TORCH_CHECK(!stopping_, "acc-ccl recv: the process group was destroyed");
    auto ch = channelLocked(src, false, tag);
    if (!ch->slots.empty() && !ch->slots.back()->claimedBy && ch->state != Channel::kFailed) {
      // A header receive is already queued on this channel (posted for a
      // receive from any source): this receive takes its header.
      auto slot = ch->slots.back();
      work = makeWork(spec, tensor, {buf}, src);
      if (slot->arrived) {
        ch->slots.pop_back();
        takeArrivedLocked(ch, slot, work, buf, tensor, done);
      } else {
        slot->claimedBy = work;
        slot->buf = buf;
        slot->user = tensor;
        if (!inl) {
          slot->payloadPosted = true;
          at::Tensor hdr = slot->hdr;
          std::weak_ptr<Channel> weakCh = ch;
          work->setOnSuccess([this, weakCh, hdr, buf, user = tensor, expected, src, tag]() mutable {
            std::string err = checkHeader(hdr, expected, src, tag);
            if (!err.empty()) {
              if (auto c = weakCh.lock()) failChannel(c, err);
              throw std::runtime_error(err);
            }
            if (!user.is_same(buf)) user.copy_(buf);
          });
          work->setProbe(headerProbe(hdr, expected, src, tag));
          submitLocked(ch, work, [buf](acclComm_t comm, accStream_t stream) { return recvPayload(buf, comm, stream); });
        } else {
          std::weak_ptr<Channel> weakCh = ch;
          work->setPendingTimeout([this, weakCh](const std::string& why) {
            if (auto c = weakCh.lock()) failChannel(c, why);
          });
          startWatchdog_();
        }
      }
    } else {
      at::Tensor hdr = at::zeros({kHeaderBytes}, at::kByte);  // zero: the probe sees no header yet
      work = makeWork(spec, tensor, {buf, hdr}, src);
      std::weak_ptr<Channel> weakCh = ch;
      work->setOnSuccess([this, weakCh, hdr, buf, user = tensor, expected, inl, src, tag]() mutable {
        std::string err = checkHeader(hdr, expected, src, tag);
        if (!err.empty()) {
          if (auto c = weakCh.lock()) failChannel(c, err);
          throw std::runtime_error(err);
        }
        if (inl) copyInline(hdr, buf);
        if (!user.is_same(buf)) user.copy_(buf);
      });
      // Header and payload as two launches in stream order: the header
      // reaches host memory when its own receive ends, so the watchdog can
      // tell a receive waiting for more bytes than were sent.
      if (!inl) work->setProbe(headerProbe(hdr, expected, src, tag));
      submitLocked(ch, work, [hdr, buf, inl](acclComm_t comm, accStream_t stream) {
        acclResult_t res = acclRecv(hdr.data_ptr(), kHeaderBytes, acclUint8, 0, comm, stream);
        if (inl || res != acclSuccess) return res;
        return recvPayload(buf, comm, stream);
      });
    }
  }
  completeFailed(done);
  return work;
}

c10::intrusive_ptr<AcclWork> P2PManager::recvAny(const at::Tensor& tensor, int tag, const WorkSpec& spec) {
  at::Tensor buf = tensor.is_contiguous() ? tensor : tensor.contiguous();
  auto work = makeWork(spec, tensor, {buf}, -1);
  Failed done;
  {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    TORCH_CHECK(!stopping_, "acc-ccl recvAnysource: the process group was destroyed");
    // The earliest header that arrived for nobody on this tag's channels.
    std::shared_ptr<Channel> best;
    for (int p = 0; p < size_; p++) {
      if (p == rank_) continue;
      auto it = channels_.find(Key(p, false, tag));
      if (it == channels_.end()) continue;
      auto& ch = it->second;
      if (ch->state == Channel::kFailed || ch->slots.empty()) continue;
      auto& s = ch->slots.back();
      if (s->claimedBy || !s->arrived) continue;
      if (!best || s->order < best->slots.back()->order) best = ch;
    }
    if (best) {
      auto slot = best->slots.back();
      best->slots.pop_back();
      takeArrivedLocked(best, slot, work, buf, tensor, done);
    } else {
      anyWaiting_[tag].push_back(AnyRecv{work, buf, tensor});
      AcclWork* raw = work.get();
      work->setPendingTimeout([this, raw, tag](const std::string&) {
        std::lock_guard<std::recursive_mutex> l(mutex_);
        auto& q = anyWaiting_[tag];
        for (auto it = q.begin(); it != q.end(); ++it)
          if (it->work.get() == raw) {
            q.erase(it);
            break;
          }
      });
      ensureSlotsLocked(tag);
      startWatchdog_();
    }
  }
  completeFailed(done);
  return work;
}

void P2PManager::scan(Clock::time_point now) {
  Failed done;
  std::vector<std::shared_ptr<CommState>> lanes;
  {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    if (stopping_) return;
    for (auto& kv : channels_) {
      auto& ch = kv.second;
      if (ch->lane) lanes.push_back(ch->lane);
      if (ch->state == Channel::kFailed) continue;
      // An operation that waited for the connection, or a receive whose data
      // rides in a header not here yet, past its deadline.
      AcclWork* late = nullptr;
      if (!ch->pending.empty() && now > ch->pending.front().work->deadline()) late = ch->pending.front().work.get();
      for (auto& s : ch->slots)
        if (!late && s->claimedBy && !s->claimedBy->launched() && now > s->claimedBy->deadline())
          late = s->claimedBy.get();
      if (late != nullptr) {
        std::string why = late->timeoutText(late->timeout()) + "; " + ch->label + " was closed by the watchdog";
        failChannelLocked(ch, why, done);
      }
    }
    for (auto& kv : anyWaiting_) {
      auto& q = kv.second;
      for (auto it = q.begin(); it != q.end();) {
        if (now > it->work->deadline()) {
          done.emplace_back(it->work, it->work->timeoutText(it->work->timeout()) + ": no rank sent a message with tag " +
                                          std::to_string(kv.first));
          it = q.erase(it);
        } else {
          ++it;
        }
      }
    }
  }
  completeFailed(done);
  for (auto& lane : lanes) lane->scan(now);
}

void P2PManager::shutdown() {
  std::vector<std::shared_ptr<Channel>> chans;
  Failed done;
  {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& kv : channels_) {
      kv.second->cancel.store(true, std::memory_order_release);
      chans.push_back(kv.second);
    }
    for (auto& kv : anyWaiting_)
      for (auto& a : kv.second) done.emplace_back(a.work, "acc-ccl recvAnysource: the process group was destroyed");
    anyWaiting_.clear();
  }
  for (auto& ch : chans)
    if (ch->connector.joinable()) {
      if (ch->connector.get_id() == std::this_thread::get_id()) ch->connector.detach();
      else ch->connector.join();
    }
  {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    for (auto& ch : chans) {
      for (auto& d : ch->pending) done.emplace_back(d.work, "acc-ccl: the process group was destroyed before " +
                                                                ch->label + " was connected");
      ch->pending.clear();
      for (auto& s : ch->slots)
        if (s->claimedBy && !s->claimedBy->launched())
          done.emplace_back(s->claimedBy, "acc-ccl recv: the process group was destroyed");
      ch->slots.clear();
    }
  }
  completeFailed(done);
  for (auto& ch : chans)
    if (ch->lane) ch->lane->shutdown();
}

}  // namespace accl_torch
