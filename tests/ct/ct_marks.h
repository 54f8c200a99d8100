// Marks for the constant-time check: secret bytes become "undefined" to valgrind memcheck, so
// a branch or an index that depends on them is reported; Public() declassifies a value that
// is public by design (a verdict, an output). Expect() counts functional failures.
#ifndef TESTS_CT_CT_MARKS_H_
#define TESTS_CT_CT_MARKS_H_

#include <valgrind/memcheck.h>

#include <cstdio>
#include <string>

namespace ct {

inline int failures = 0;

inline void Secret(const void* p, size_t n) { VALGRIND_MAKE_MEM_UNDEFINED(p, n); }
inline void Public(const void* p, size_t n) { VALGRIND_MAKE_MEM_DEFINED(p, n); }

inline void Expect(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "ct_check: FAILED: %s\n", what.c_str());
    ++failures;
  }
}

// Checks of the code around the Shamir kernels (ct_crypto.cc): MACs, AEADs and key use.
void CheckSharePayload();
void CheckStorageKey();
void CheckNoiseCipher();
void CheckSealedShare();

}  // namespace ct

#endif  // TESTS_CT_CT_MARKS_H_
