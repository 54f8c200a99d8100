// Constant-time helpers and the "declassify" marker of the valgrind constant-time check
// (tests/ct). Under valgrind memcheck the check marks secret bytes undefined; any branch or
// memory index that depends on them is then reported. A value derived from secrets that is
// public by design (a checksum's verdict, a MAC's verdict, an x coordinate) is declassified
// where the code decides on it. Outside valgrind the marker costs a few instructions.
#ifndef VAULT_CT_H_
#define VAULT_CT_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define MESHVAULT_DECLASSIFY(ptr, len) VALGRIND_MAKE_MEM_DEFINED((ptr), (len))
#else
#define MESHVAULT_DECLASSIFY(ptr, len) ((void)(ptr), (void)(len))
#endif

namespace vault::ct {

// Lowercase hex digit for a nibble 0..15, without a branch or a table.
inline char HexDigit(unsigned nibble) {
  // 0..9 -> '0'..'9'; 10..15 -> 'a'..'f': add 39 exactly when nibble > 9.
  const unsigned over_nine = (9U - nibble) >> 8 & 1U;  // 1 when nibble > 9 (wraps negative)
  return static_cast<char>('0' + nibble + over_nine * 39U);
}

// Whether `s` starts with `prefix` (or, ends with `suffix`), comparing every byte without an
// early exit; only the verdict is public.
inline bool StartsWith(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  unsigned diff = 0;
  for (size_t i = 0; i < prefix.size(); ++i) {
    diff |= static_cast<unsigned char>(s[i]) ^ static_cast<unsigned char>(prefix[i]);
  }
  MESHVAULT_DECLASSIFY(&diff, sizeof(diff));
  return diff == 0;
}
inline bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && StartsWith(s.substr(s.size() - suffix.size()), suffix);
}

// Whether `s` contains `c`, scanning every byte without a branch on any of them.
inline bool Contains(std::string_view s, char c) {
  unsigned found = 0;
  for (char ch : s) found |= static_cast<unsigned>(ch == c);
  MESHVAULT_DECLASSIFY(&found, sizeof(found));
  return found != 0;
}

// A character that is public by position (a separator, a header field).
inline char PublicChar(const char* p) {
  MESHVAULT_DECLASSIFY(p, 1);
  return *p;
}

// Returns `value` with its definedness restored, for a decision that is public by design.
template <class T>
inline T Declassify(T value) {
  MESHVAULT_DECLASSIFY(&value, sizeof(value));
  return value;
}

// Whether every byte of `s` is below 0x80, scanning all of them without a branch; only the
// verdict is public. libsodium 1.0.18's base64 decoder reads every byte 0x80-0xFF as the
// 64th character ('/' or '_'), so base64 text must pass this before it is decoded.
inline bool Ascii(std::string_view s) {
  unsigned high = 0;
  for (char ch : s) high |= static_cast<unsigned char>(ch);
  return Declassify(high & 0x80U) == 0;
}

}  // namespace vault::ct

#endif  // VAULT_CT_H_
