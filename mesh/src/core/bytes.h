// ByteWriter / ByteReader: little-endian fields for the mesh's binary formats
// (docs/wire-format.md). The reader never reads past its span; any short or malformed field
// makes ok() false and every later read returns zero or empty. Not thread-safe.
#ifndef MESH_CORE_BYTES_H_
#define MESH_CORE_BYTES_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mesh::core {

class ByteWriter {
 public:
  explicit ByteWriter(std::vector<uint8_t>* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(v); }
  void U16(uint16_t v) { Le(v, 2); }
  void U32(uint32_t v) { Le(v, 4); }
  void U64(uint64_t v) { Le(v, 8); }
  void I64(int64_t v) { Le(static_cast<uint64_t>(v), 8); }
  void Bytes(std::span<const uint8_t> b) { out_->insert(out_->end(), b.begin(), b.end()); }
  void Str(std::string_view s) {
    out_->insert(out_->end(), reinterpret_cast<const uint8_t*>(s.data()),
                 reinterpret_cast<const uint8_t*>(s.data()) + s.size());
  }
  // Length-prefixed (u8 / u16 / u32) byte strings; the caller checks the length fits.
  void Str8(std::string_view s) {
    U8(static_cast<uint8_t>(s.size()));
    Str(s);
  }
  void Bytes16(std::span<const uint8_t> b) {
    U16(static_cast<uint16_t>(b.size()));
    Bytes(b);
  }
  void Bytes32(std::span<const uint8_t> b) {
    U32(static_cast<uint32_t>(b.size()));
    Bytes(b);
  }
  size_t size() const { return out_->size(); }

 private:
  void Le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_->push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t>* out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> in) : in_(in) {}
  uint8_t U8() { return static_cast<uint8_t>(Le(1)); }
  uint16_t U16() { return static_cast<uint16_t>(Le(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Le(4)); }
  uint64_t U64() { return Le(8); }
  int64_t I64() { return static_cast<int64_t>(Le(8)); }
  std::span<const uint8_t> Bytes(size_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    auto out = in_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  template <size_t N>
  void Fixed(std::array<uint8_t, N>* out) {
    auto b = Bytes(N);
    if (ok_) std::memcpy(out->data(), b.data(), N);
  }
  std::string Str8() {
    auto b = Bytes(U8());
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  std::span<const uint8_t> Bytes16() { return Bytes(U16()); }
  std::span<const uint8_t> Bytes32() { return Bytes(U32()); }
  std::span<const uint8_t> Rest() { return Bytes(in_.size() - pos_); }

  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == in_.size(); }
  size_t position() const { return pos_; }
  void Fail() { ok_ = false; }

 private:
  uint64_t Le(size_t n) {
    auto b = Bytes(n);
    uint64_t v = 0;
    for (size_t i = 0; i < b.size(); ++i) v |= static_cast<uint64_t>(b[i]) << (8 * i);
    return v;
  }
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace mesh::core

#endif  // MESH_CORE_BYTES_H_
