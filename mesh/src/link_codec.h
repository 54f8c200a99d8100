// LinkCodec: application messages to Noise transport messages and back, after the link
// handshake (docs/wire-format.md, "Link frames"). Noise caps a message at 65,535 bytes, so a
// message (up to the configured limit, 1 MiB by default) is cut into chunks, each sealed as
// one Noise message carried in one WebSocket binary frame. Sans-IO. Not thread-safe: one
// codec per link, used on the link's strand.
#ifndef MESH_LINK_CODEC_H_
#define MESH_LINK_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "mesh/status.h"
#include "noise/cipher_state.h"

namespace mesh {

class LinkCodec {
 public:
  // The plaintext of one frame: flags (1 byte) || chunk. Bit 0: more chunks follow.
  static constexpr size_t kMaxFrameBytes = noise::kMaxMessageLen;
  static constexpr size_t kMaxChunkBytes = kMaxFrameBytes - noise::kTagLen - 1;

  LinkCodec(noise::CipherState send, noise::CipherState receive, size_t max_message_bytes)
      : send_(std::move(send)), receive_(std::move(receive)), max_message_(max_message_bytes) {}

  // Appends the frames carrying `message` to `frames`. ResourceExhausted over the limit.
  Status Seal(std::span<const uint8_t> message, std::vector<std::vector<uint8_t>>* frames);

  // Feeds one received frame. When it completes a message, moves it to `message` and sets
  // *complete. Any error means the peer is broken or hostile: close the link.
  Status Open(std::span<const uint8_t> frame, std::vector<uint8_t>* message, bool* complete);

  size_t max_message_bytes() const { return max_message_; }

 private:
  noise::CipherState send_;
  noise::CipherState receive_;
  size_t max_message_;
  std::vector<uint8_t> partial_;  // chunks of the message being received
  std::vector<uint8_t> scratch_;
};

}  // namespace mesh

#endif  // MESH_LINK_CODEC_H_
