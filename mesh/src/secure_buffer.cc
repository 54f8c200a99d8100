#include "mesh/secure_buffer.h"

#include <sanitizer/asan_interface.h>  // ASAN_(UN)POISON_MEMORY_REGION: no-ops without ASan
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

namespace mesh {

Status InitSodium() {
  static const int rc = sodium_init();  // thread-safe static init; sodium_init is idempotent
  if (rc < 0) return Status::Unavailable("libsodium failed to initialise");
  return Status::OK();
}

namespace {

// sodium_malloc maps guard pages and mlocks on every call, and sodium_free unmaps (a TLB
// shootdown in a threaded process): ~10 syscalls for a 32-byte key. Small buffers are
// therefore kept for reuse: each stays its own sodium_malloc region (guard pages, canary,
// locked, kept out of core dumps), wiped when it is released and before it is handed out
// again. Sizes are rounded up to a power of two from 64 bytes to 64 KiB; at most
// kMaxCachedPerClass wait per size, so the cache holds at most ~4 MiB of locked zeros.
constexpr size_t kMinClassBytes = 64;
constexpr size_t kMaxClassBytes = 64 * 1024;
constexpr size_t kClasses = 11;  // 64 << 10 == 64 KiB
constexpr size_t kMaxCachedPerClass = 32;

struct Cache {
  std::mutex mu;
  std::array<std::vector<uint8_t*>, kClasses> free;
};

Cache& TheCache() {
  static auto* cache = new Cache();  // never destroyed: buffers may be freed at exit
  return *cache;
}

// The class index for `bytes`, or kClasses when it is not cached.
size_t ClassOf(size_t bytes) {
  size_t index = 0;
  for (size_t size = kMinClassBytes; size <= kMaxClassBytes; size <<= 1, ++index) {
    if (bytes <= size) return index;
  }
  return kClasses;
}

// Under AddressSanitizer the bytes between size and capacity are poisoned, so reading or
// writing past size() is reported even though the rounded capacity has no guard page there.
void PoisonTail(uint8_t* p, size_t size, size_t capacity) {
  if (p == nullptr) return;
  ASAN_UNPOISON_MEMORY_REGION(p, size);
  ASAN_POISON_MEMORY_REGION(p + size, capacity - size);
}

uint8_t* SodiumAllocateOrDie(size_t capacity) {
  // sodium_malloc needs sodium_init (page size, canary); a one-time static check.
  if (!InitSodium().ok()) std::abort();
  void* p = sodium_malloc(capacity);
  if (p == nullptr) std::abort();
  std::memset(p, 0, capacity);
  return static_cast<uint8_t*>(p);
}

// Zeroed memory for at least `size` bytes (never null); *capacity gets its size.
uint8_t* AllocateOrDie(size_t size, size_t* capacity) {
  const size_t c = ClassOf(std::max<size_t>(size, 1));
  if (c == kClasses) {
    *capacity = size;
    return SodiumAllocateOrDie(size);
  }
  *capacity = kMinClassBytes << c;
  {
    Cache& cache = TheCache();
    std::lock_guard<std::mutex> lock(cache.mu);
    if (!cache.free[c].empty()) {
      uint8_t* p = cache.free[c].back();
      cache.free[c].pop_back();
      return p;  // wiped when it was released
    }
  }
  return SodiumAllocateOrDie(*capacity);
}

void Release(uint8_t* p, size_t capacity) {
  if (p == nullptr) return;
  ASAN_UNPOISON_MEMORY_REGION(p, capacity);  // wiped (and reused) whole
  const size_t c = ClassOf(std::max<size_t>(capacity, 1));
  if (c < kClasses && capacity == (kMinClassBytes << c)) {
    sodium_memzero(p, capacity);
    Cache& cache = TheCache();
    std::lock_guard<std::mutex> lock(cache.mu);
    if (cache.free[c].size() < kMaxCachedPerClass) {
      cache.free[c].push_back(p);
      return;
    }
  }
  sodium_free(p);  // wipes before unmapping
}

}  // namespace

SecureBuffer::SecureBuffer(size_t size) : size_(size) {
  data_ = AllocateOrDie(size, &capacity_);
  PoisonTail(data_, size_, capacity_);
}

SecureBuffer::~SecureBuffer() { Release(data_, capacity_); }

SecureBuffer::SecureBuffer(SecureBuffer&& other) noexcept
    : data_(other.data_), size_(other.size_), capacity_(other.capacity_) {
  other.data_ = nullptr;
  other.size_ = other.capacity_ = 0;
}

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& other) noexcept {
  if (this != &other) {
    Release(data_, capacity_);
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
  size_t fresh_capacity = 0;
  uint8_t* fresh = AllocateOrDie(capacity, &fresh_capacity);
  if (size_ > 0) std::memcpy(fresh, data_, size_);
  Release(data_, capacity_);
  data_ = fresh;
  capacity_ = fresh_capacity;
  PoisonTail(data_, size_, capacity_);
}

void SecureBuffer::Append(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return;
  if (size_ + bytes.size() > capacity_) {
    Reserve(std::max(size_ + bytes.size(), capacity_ * 2 + 64));
  }
  const size_t at = size_;
  size_ += bytes.size();
  PoisonTail(data_, size_, capacity_);
  std::memcpy(data_ + at, bytes.data(), bytes.size());
}

void SecureBuffer::Append(std::string_view text) {
  Append(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

void SecureBuffer::Resize(size_t size) {
  if (size > capacity_) Reserve(size);
  if (size < size_) sodium_memzero(data_ + size, size_ - size);
  size_ = size;
  PoisonTail(data_, size_, capacity_);
}

}  // namespace mesh
