// meshvault combine (alias recover): read shares, print the secret.
#include <sodium.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "commands.h"
#include "exit_codes.h"
#include "secret_io.h"
#include "vault/shares.h"

namespace cli {
namespace {

struct CombineArgs {
  std::vector<std::string> shares;
  std::string in;
  std::string format;
  std::string max_size = "1M";
  bool hex = false;
  bool base64 = false;
};

constexpr int kMaxPromptedShares = vault::shamir::kMaxShares;

// Share text can be up to ~2x the secret (hex) per share, for up to 255 shares.
size_t InputLimit(size_t max_secret) { return (2 * max_secret + 1024) * 255; }

int RunCombine(CombineArgs& a) {
  const auto fail = [](std::string_view m) { return Fail("combine", m); };
  vault::CombineOptions o;
  if (!a.format.empty()) {
    o.format = vault::ParseShareFormat(a.format);
    if (!o.format)
      return fail("unknown --format '" + a.format + "' (text, json, vault, vault-hex)");
  }
  const auto max = ParseSize(a.max_size);
  if (!max) return fail("--max-size '" + a.max_size + "' is not a size (e.g. 1048576, 4M)");
  if (*max > vault::kMaxSecretBytesLimit) return fail("--max-size can be at most 1G");
  o.max_secret_bytes = *max;
  if (a.hex && a.base64) return fail("choose one of --hex and --base64");

  // All share text goes into one secure buffer; inputs point into it.
  mesh::SecureBuffer text;
  for (auto& share : a.shares) {
    text.Append(share);
    text.Append("\n");
    sodium_memzero(share.data(), share.size());
  }
  const size_t from_args = text.size();
  mesh::Status s;
  mesh::SecureBuffer more;
  if (!a.in.empty()) {
    s = ReadPath(a.in, InputLimit(o.max_secret_bytes), &more);
  } else if (a.shares.empty() && !StdinIsTerminal()) {
    s = ReadFd(STDIN_FILENO, "standard input", InputLimit(o.max_secret_bytes), &more);
  } else if (a.shares.empty()) {
    (void)!::write(STDERR_FILENO, "Enter shares, one per line; an empty line ends.\n", 48);
    for (int i = 1; s.ok(); ++i) {
      if (i > kMaxPromptedShares) {
        s = mesh::Status::InvalidArgument("a share set has at most 255 shares");
        break;
      }
      mesh::SecureBuffer line;
      s = PromptHidden("Share " + std::to_string(i) + ": ", InputLimit(o.max_secret_bytes), &line);
      if (!s.ok() || line.empty()) break;
      more.Append(line.span());
      more.Append("\n");
    }
  }
  if (!s.ok()) return fail(s.message());
  text.Append(more.span());

  std::vector<vault::ShareInput> inputs;
  const std::string_view all = text.view();
  for (auto& in : vault::SplitShareLines(all.substr(0, from_args), "argument ")) {
    inputs.push_back(std::move(in));
  }
  const std::string prefix = a.in.empty() || a.in == "-" ? "line " : a.in + " line ";
  for (auto& in : vault::SplitShareLines(all.substr(from_args), prefix)) {
    inputs.push_back(std::move(in));
  }
  if (inputs.empty()) return fail("no shares were given");

  mesh::SecureBuffer secret;
  vault::CombineReport report;
  s = vault::CombineShares(inputs, o, &secret, &report);
  for (const auto& w : report.warnings) {
    const std::string line = "meshvault combine: warning: " + w + "\n";
    (void)WriteAll(STDERR_FILENO, line);
  }
  if (!s.ok()) return fail(s.message());

  if (a.hex || a.base64) {
    const int variant = sodium_base64_VARIANT_ORIGINAL;
    const size_t len =
        a.hex ? secret.size() * 2 + 1 : sodium_base64_ENCODED_LEN(secret.size(), variant);
    mesh::SecureBuffer encoded(len);
    auto* dst = reinterpret_cast<char*>(encoded.data());
    if (a.hex) {
      sodium_bin2hex(dst, len, secret.data(), secret.size());
    } else {
      sodium_bin2base64(dst, len, secret.data(), secret.size(), variant);
    }
    encoded.data()[len - 1] = '\n';  // replaces the NUL
    s = WriteAll(STDOUT_FILENO, encoded.span());
  } else {
    s = WriteAll(STDOUT_FILENO, secret.span());
  }
  if (!s.ok()) return fail(s.message());
  return kExitOk;
}

}  // namespace

void AddCombineCommand(CLI::App* app, int* exit_code, int argc, char** argv) {
  auto args = std::make_shared<CombineArgs>();
  CLI::App* cmd = app->add_subcommand(
      "combine",
      "Recover a secret from shares (offline). Shares come from the arguments, "
      "--in, standard input, or a hidden prompt; one per line, blank lines and # "
      "comments ignored. The format is detected. The secret goes to standard output "
      "only.");
  cmd->alias("recover");
  cmd->add_option("share", args->shares,
                  "shares (prefer --in or standard input: arguments "
                  "are visible to other users of the machine)");
  cmd->add_option("--in", args->in, "read shares from FILE, or - for standard input")
      ->envname("MESHVAULT_IN");
  cmd->add_option("--format", args->format, "force the share format (default: detect)")
      ->envname("MESHVAULT_SHARE_FORMAT");
  cmd->add_option("--max-size", args->max_size, "largest secret accepted (default 1M, up to 1G)")
      ->envname("MESHVAULT_MAX_SIZE");
  cmd->add_flag("--hex", args->hex, "print the secret as hex and a newline")
      ->envname("MESHVAULT_HEX");
  cmd->add_flag("--base64", args->base64, "print the secret as base64 and a newline")
      ->envname("MESHVAULT_BASE64");
  cmd->callback([args, exit_code, argc, argv] {
    // Wipe share arguments from our argv so /proc/<pid>/cmdline stops showing them.
    for (const auto& share : args->shares) {
      for (int i = 1; i < argc; ++i) {
        if (share == argv[i]) sodium_memzero(argv[i], std::strlen(argv[i]));
      }
    }
    *exit_code = RunCombine(*args);
  });
}

}  // namespace cli
