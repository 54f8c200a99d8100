#include "protocol/codec.h"

#include <sodium.h>

#include "ct.h"

namespace vault::protocol {

std::string ToBase64(std::span<const uint8_t> bytes) {
  const int variant = sodium_base64_VARIANT_ORIGINAL;
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), variant);
  out.pop_back();  // the terminating NUL
  return out;
}

mesh::Status FromBase64(std::string_view text, size_t max_bytes, std::string_view what,
                        std::vector<uint8_t>* out) {
  if (text.size() / 4 * 3 > max_bytes + 2) {
    return mesh::Status::ResourceExhausted(std::string(what) + " is larger than " +
                                           std::to_string(max_bytes) + " bytes");
  }
  if (!ct::Ascii(text)) {  // libsodium 1.0.18 would read bytes 0x80-0xFF as '/'
    return mesh::Status::InvalidArgument(std::string(what) + " is not valid base64");
  }
  out->resize(text.size() / 4 * 3 + 3);
  size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out->data(), out->size(), text.data(), text.size(), nullptr, &length, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size() || length > max_bytes) {
    return mesh::Status::InvalidArgument(std::string(what) + " is not valid base64");
  }
  out->resize(length);
  return mesh::Status::OK();
}

mesh::Status Base64Field(const mesh::Json& data, const char* field, size_t max_bytes,
                         std::vector<uint8_t>* out) {
  if (!data.is_object() || !data.contains(field) || !data[field].is_string()) {
    return mesh::Status::InvalidArgument(std::string("missing string field \"") + field + "\"");
  }
  return FromBase64(data[field].get_ref<const std::string&>(), max_bytes, field, out);
}

mesh::Status StringField(const mesh::Json& data, const char* field, size_t max_bytes,
                         std::string* out) {
  if (!data.is_object() || !data.contains(field) || !data[field].is_string()) {
    return mesh::Status::InvalidArgument(std::string("missing string field \"") + field + "\"");
  }
  const auto& s = data[field].get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    return mesh::Status::InvalidArgument(std::string("field \"") + field + "\" is too long");
  }
  *out = s;
  return mesh::Status::OK();
}

Digest Hash(std::string_view domain, std::span<const uint8_t> bytes) {
  Digest out{};
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, out.size());
  crypto_generichash_update(&state, reinterpret_cast<const uint8_t*>(domain.data()), domain.size());
  const uint8_t zero = 0;
  crypto_generichash_update(&state, &zero, 1);
  crypto_generichash_update(&state, bytes.data(), bytes.size());
  crypto_generichash_final(&state, out.data(), out.size());
  return out;
}

std::string Hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

}  // namespace vault::protocol
