#include "link_codec.h"

#include <algorithm>
#include <string>

namespace mesh {
namespace {
constexpr uint8_t kMoreFollows = 0x01;
}  // namespace

Status LinkCodec::Seal(std::span<const uint8_t> message,
                       std::vector<std::vector<uint8_t>>* frames) {
  if (message.size() > max_message_) {
    return Status::ResourceExhausted("message of " + std::to_string(message.size()) +
                                     " bytes is over the limit of " + std::to_string(max_message_));
  }
  size_t off = 0;
  do {
    const size_t len = std::min(kMaxChunkBytes, message.size() - off);
    const bool more = off + len < message.size();
    scratch_.clear();
    scratch_.push_back(more ? kMoreFollows : 0);
    scratch_.insert(scratch_.end(), message.begin() + static_cast<ptrdiff_t>(off),
                    message.begin() + static_cast<ptrdiff_t>(off + len));
    std::vector<uint8_t> frame;
    frame.reserve(scratch_.size() + noise::kTagLen);
    if (Status s = send_.EncryptWithAd({}, scratch_, &frame); !s.ok()) return s;
    frames->push_back(std::move(frame));
    off += len;
  } while (off < message.size());
  return Status::OK();
}

Status LinkCodec::Open(std::span<const uint8_t> frame, std::vector<uint8_t>* message,
                       bool* complete) {
  *complete = false;
  if (frame.size() > kMaxFrameBytes) {
    return Status::ResourceExhausted("frame of " + std::to_string(frame.size()) +
                                     " bytes is over the 65535-byte limit");
  }
  if (frame.size() < noise::kTagLen + 1) {
    return Status::InvalidArgument("frame is too short to hold a sealed chunk");
  }
  scratch_.clear();
  if (Status s = receive_.DecryptWithAd({}, frame, &scratch_); !s.ok()) {
    return Status::Corruption("frame failed to decrypt (tampered, replayed or out of order)");
  }
  const uint8_t flags = scratch_[0];
  if ((flags & ~kMoreFollows) != 0) return Status::InvalidArgument("frame has unknown flags");
  if (partial_.size() + scratch_.size() - 1 > max_message_) {
    partial_.clear();
    return Status::ResourceExhausted("message is over the limit of " +
                                     std::to_string(max_message_) + " bytes");
  }
  partial_.insert(partial_.end(), scratch_.begin() + 1, scratch_.end());
  if ((flags & kMoreFollows) == 0) {
    *message = std::move(partial_);
    partial_.clear();
    *complete = true;
  }
  return Status::OK();
}

}  // namespace mesh
