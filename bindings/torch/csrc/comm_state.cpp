// comm_state.cpp - communicator creation from the c10d store, locked use,
// abort and orderly shutdown.
#include "comm_state.hpp"

#include <cstdlib>
#include <cstring>
#include <vector>

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

CommState::CommState(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size)
    : rank_(rank), size_(size) {
  TORCH_CHECK(store, "acc-ccl: process group creation needs a store (argument store is None)");
  TORCH_CHECK(size > 0 && rank >= 0 && rank < size, "acc-ccl: invalid rank ", rank, " for group size ", size);
  device_ = acclTorchDevice(rank);
  accError_t derr = accSetDevice(device_);
  TORCH_CHECK(derr == accSuccess, "acc-ccl: accSetDevice(", device_, ") failed: ", accGetErrorString(derr));

  acclUniqueId id;
  if (rank == 0) {
    acclResult_t res = acclGetUniqueId(&id);
    TORCH_CHECK(res == acclSuccess, acclErrorText("acclGetUniqueId", res, nullptr));
    const auto* bytes = reinterpret_cast<const uint8_t*>(&id);
    store->set(kUniqueIdKey, std::vector<uint8_t>(bytes, bytes + sizeof(id)));
  } else {
    std::vector<uint8_t> bytes = store->get(kUniqueIdKey);  // waits up to the store timeout
    TORCH_CHECK(bytes.size() == sizeof(id), "acc-ccl: the unique id in the store has ", bytes.size(),
                " bytes, expected ", sizeof(id), " (another backend's key?)");
    std::memcpy(&id, bytes.data(), sizeof(id));
  }
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

CommState::~CommState() { shutdown(); }

bool CommState::launch(const char* what, LaunchFn fn, accEvent_t* event) {
  std::lock_guard<std::mutex> guard(mutex_);
  TORCH_CHECK(comm_ != nullptr, "acc-ccl ", what, ": the communicator is unusable: ", broken_);
  acclResult_t async = acclSuccess;
  acclCommGetAsyncError(comm_, &async);
  TORCH_CHECK(async == acclSuccess, "acc-ccl ", what, ": an earlier operation failed: ", acclGetErrorString(async));
  accSetDevice(device_);  // torch may call from any thread (DDP's autograd threads)
  acclResult_t res = fn(comm_, stream_);
  TORCH_CHECK(res == acclSuccess, acclErrorText(what, res, comm_));
  // A failed stream answers with an error here: the event path reports it.
  if (accStreamQuery(stream_) == accSuccess) return true;
  if (*event == nullptr && accEventCreateWithFlags(event, accEventDisableTiming) != accSuccess) *event = nullptr;
  if (*event != nullptr && accEventRecord(*event, stream_) == accSuccess) return false;
  // No event (out of memory): the operation is queued and uses the caller's
  // tensors, so it must not be abandoned; wait for it here instead.
  accStreamSynchronize(stream_);
  return true;
}

std::string CommState::failure() {
  std::lock_guard<std::mutex> guard(mutex_);
  if (comm_ == nullptr) return broken_.empty() ? std::string("the communicator was destroyed") : broken_;
  acclResult_t async = acclSuccess;
  if (acclCommGetAsyncError(comm_, &async) != acclSuccess) return "cannot query the communicator";
  if (async == acclSuccess) return std::string();
  return std::string(acclGetErrorString(async)) + " (see the acc-ccl WARN lines for the cause)";
}

void CommState::abort(const std::string& reason) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (comm_ == nullptr) return;
  broken_ = reason;
  acclCommAbort(comm_);  // fails queued work, which completes the stream's events
  comm_ = nullptr;
}

void CommState::shutdown() {
  std::lock_guard<std::mutex> guard(mutex_);
  if (comm_ != nullptr) {
    acclResult_t async = acclSuccess;
    acclCommGetAsyncError(comm_, &async);
    // A failed communicator may have peers that will never answer: abort it.
    if (async == acclSuccess) acclCommDestroy(comm_);
    else acclCommAbort(comm_);
    comm_ = nullptr;
    if (broken_.empty()) broken_ = "the process group was destroyed";
  }
  if (stream_ != nullptr) {
    accStreamDestroy(stream_);  // waits for the stream's work
    stream_ = nullptr;
  }
}

}  // namespace accl_torch
