// SecureBuffer: a move-only byte buffer for secret data, allocated with sodium_malloc
// (guard pages, mlock'ed, excluded from core dumps) and wiped when released. Buffers of up
// to 64 KiB are rounded up to a power of two and, once wiped, kept for reuse (a bounded
// cache) instead of being unmapped. Not thread-safe (the cache is). The first allocation
// initialises libsodium if nobody has.
#ifndef MESH_SECURE_BUFFER_H_
#define MESH_SECURE_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "mesh/status.h"

namespace mesh {

// Initialises libsodium once per process. Safe to call from any thread, any number of times.
Status InitSodium();

class SecureBuffer {
 public:
  SecureBuffer() = default;
  // Allocates `size` zeroed bytes. Aborts the process if the allocation fails
  // (as operator new would); callers bound `size` before asking.
  explicit SecureBuffer(size_t size);
  ~SecureBuffer();

  SecureBuffer(SecureBuffer&& other) noexcept;
  SecureBuffer& operator=(SecureBuffer&& other) noexcept;
  SecureBuffer(const SecureBuffer&) = delete;
  SecureBuffer& operator=(const SecureBuffer&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }

  std::span<uint8_t> span() { return {data_, size_}; }
  std::span<const uint8_t> span() const { return {data_, size_}; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }

  // Appends bytes, growing into a fresh secure allocation (the old one is wiped) when full.
  void Append(std::span<const uint8_t> bytes);
  void Append(std::string_view text);
  // Sets the logical size; shrinking wipes the dropped tail, growing needs capacity.
  void Resize(size_t size);
  void Reserve(size_t capacity);

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace mesh

#endif  // MESH_SECURE_BUFFER_H_
