// meshvault split: read a secret, print its shares.
#include <sodium.h>
#include <unistd.h>

#include <memory>

#include "commands.h"
#include "exit_codes.h"
#include "secret_io.h"
#include "vault/shares.h"

namespace cli {
namespace {

struct SplitArgs {
  int threshold = 0;
  int shares = 0;
  std::string label;
  std::string format = "text";
  std::string in;
  std::string max_size = "1M";
};

int RunSplit(const SplitArgs& a) {
  const auto fail = [](std::string_view m) { return Fail("split", m); };
  vault::SplitOptions o;
  o.threshold = a.threshold;
  o.shares = a.shares;
  o.label = a.label;
  const auto format = vault::ParseShareFormat(a.format);
  if (!format) return fail("unknown --format '" + a.format + "' (text, json, vault, vault-hex)");
  o.format = *format;
  const auto max = ParseSize(a.max_size);
  if (!max) return fail("--max-size '" + a.max_size + "' is not a size (e.g. 1048576, 4M)");
  o.max_secret_bytes = *max;
  if (o.max_secret_bytes > vault::kMaxSecretBytesLimit) {
    return fail("--max-size can be at most 1G");
  }
  // Check the numbers before asking for the secret.
  if (mesh::Status s = vault::CheckSplitOptions(o); !s.ok()) return fail(s.message());

  mesh::SecureBuffer secret;
  mesh::Status s;
  if (!a.in.empty()) {
    s = ReadPath(a.in, o.max_secret_bytes, &secret);
  } else if (!StdinIsTerminal()) {
    s = ReadFd(STDIN_FILENO, "standard input", o.max_secret_bytes, &secret);
  } else {
    mesh::SecureBuffer again;
    s = PromptHidden("Secret: ", o.max_secret_bytes, &secret);
    if (s.ok()) s = PromptHidden("Secret (again): ", o.max_secret_bytes, &again);
    if (s.ok() && (again.size() != secret.size() ||
                   sodium_memcmp(again.data(), secret.data(), secret.size()) != 0)) {
      return fail("the two entries differ; nothing was split");
    }
  }
  if (!s.ok()) return fail(s.message());

  mesh::SecureBuffer out;
  s = vault::SplitSecret(secret.span(), o, &out);
  if (!s.ok()) return fail(s.message());
  s = WriteAll(STDOUT_FILENO, out.span());
  if (!s.ok()) return fail(s.message());
  return kExitOk;
}

}  // namespace

void AddSplitCommand(CLI::App* app, int* exit_code) {
  auto args = std::make_shared<SplitArgs>();
  CLI::App* cmd = app->add_subcommand(
      "split",
      "Split a secret into shares (offline). The secret is read from --in, from "
      "standard input when it is piped, or from a hidden prompt; its exact bytes are "
      "used (printf, not echo, avoids a trailing newline).");
  cmd->add_option("-t,--threshold", args->threshold, "shares needed to recover (2..n)")
      ->required()
      ->envname("MESHVAULT_THRESHOLD");
  cmd->add_option("-n,--shares", args->shares, "shares to make (t..255)")
      ->required()
      ->envname("MESHVAULT_SHARES");
  cmd->add_option("--label", args->label, "a note kept with text and json shares")
      ->envname("MESHVAULT_LABEL");
  cmd->add_option("--format", args->format, "text (default), json, vault, vault-hex")
      ->envname("MESHVAULT_SHARE_FORMAT");
  cmd->add_option("--in", args->in, "read the secret from FILE, or - for standard input")
      ->envname("MESHVAULT_IN");
  cmd->add_option("--max-size", args->max_size, "largest secret accepted (default 1M, up to 1G)")
      ->envname("MESHVAULT_MAX_SIZE");
  cmd->callback([args, exit_code] { *exit_code = RunSplit(*args); });
}

}  // namespace cli
