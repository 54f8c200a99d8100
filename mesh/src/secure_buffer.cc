#include "mesh/secure_buffer.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace mesh {

Status InitSodium() {
  static const int rc = sodium_init();  // thread-safe static init; sodium_init is idempotent
  if (rc < 0) return Status::Unavailable("libsodium failed to initialise");
  return Status::OK();
}

namespace {
uint8_t* AllocateOrDie(size_t capacity) {
  // sodium_malloc needs sodium_init (page size, canary); a one-time static check.
  if (!InitSodium().ok()) std::abort();
  // sodium_malloc(0) is valid but we always keep one byte so data() is never null.
  void* p = sodium_malloc(std::max<size_t>(capacity, 1));
  if (p == nullptr) std::abort();
  std::memset(p, 0, std::max<size_t>(capacity, 1));
  return static_cast<uint8_t*>(p);
}
}  // namespace

SecureBuffer::SecureBuffer(size_t size)
    : data_(AllocateOrDie(size)), size_(size), capacity_(size) {}

SecureBuffer::~SecureBuffer() {
  if (data_ != nullptr) sodium_free(data_);  // wipes before unmapping
}

SecureBuffer::SecureBuffer(SecureBuffer&& other) noexcept
    : data_(other.data_), size_(other.size_), capacity_(other.capacity_) {
  other.data_ = nullptr;
  other.size_ = other.capacity_ = 0;
}

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) sodium_free(data_);
    data_ = other.data_;
    size_ = other.size_;
    capacity_ = other.capacity_;
    other.data_ = nullptr;
    other.size_ = other.capacity_ = 0;
  }
  return *this;
}

void SecureBuffer::Reserve(size_t capacity) {
  if (capacity <= capacity_ && data_ != nullptr) return;
  uint8_t* fresh = AllocateOrDie(capacity);
  if (size_ > 0) std::memcpy(fresh, data_, size_);
  if (data_ != nullptr) sodium_free(data_);
  data_ = fresh;
  capacity_ = capacity;
}

void SecureBuffer::Append(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return;
  if (size_ + bytes.size() > capacity_) {
    Reserve(std::max(size_ + bytes.size(), capacity_ * 2 + 64));
  }
  std::memcpy(data_ + size_, bytes.data(), bytes.size());
  size_ += bytes.size();
}

void SecureBuffer::Append(std::string_view text) {
  Append(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

void SecureBuffer::Resize(size_t size) {
  if (size > capacity_) Reserve(size);
  if (size < size_) sodium_memzero(data_ + size, size_ - size);
  size_ = size;
}

}  // namespace mesh
