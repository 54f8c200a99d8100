// Splits and recombines a secret through the installed headers and libraries.
#include <cstdio>
#include <string_view>

#include "mesh/secure_buffer.h"
#include "vault/shares.h"

int main() {
  if (!mesh::InitSodium().ok()) return 1;
  const std::string_view secret = "installed and working";
  vault::SplitOptions options;
  options.threshold = 2;
  options.shares = 3;
  mesh::SecureBuffer printed;
  auto s = vault::SplitSecret({reinterpret_cast<const uint8_t*>(secret.data()), secret.size()},
                              options, &printed);
  if (!s.ok()) return 1;
  const auto inputs = vault::SplitShareLines(printed.view(), "line ");
  mesh::SecureBuffer back;
  vault::CombineReport report;
  s = vault::CombineShares({inputs.data(), 2}, {}, &back, &report);
  if (!s.ok() || back.view() != secret) return 1;
  std::puts("consumer: ok");
  return 0;
}
