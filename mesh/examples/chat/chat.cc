// meshvault-chat: a terminal chat on a meshvault mesh, written against the public
// meshvault::mesh API only (include/mesh). Lines read from standard input are broadcast to
// every member as event "chat" {"text": ...}; "/msg NAME text" sends one member a direct
// message; "/members" lists the members; end of input or Ctrl-C leaves the mesh gracefully.
//
//   meshvault ca create --out ca
//   meshvault cert create --ca ca --name n1 --out certs
//   meshvault-chat --ca ca/ca.crt --cert certs/n1.crt --key certs/n1.key
//                  --listen 127.0.0.1:7401 --join 127.0.0.1:7400   (one line)
//
// Threads: the main thread reads the terminal; the node's I/O thread runs the handlers. Both
// print through Print, which serializes whole lines.
#include <mesh/certificate.h>
#include <mesh/config.h>
#include <mesh/identity.h>
#include <mesh/key_files.h>
#include <mesh/member.h>
#include <mesh/node.h>
#include <mesh/status.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr char kEvent[] = "chat";
constexpr size_t kMaxTextBytes = 4096;
// Input lines are cut here while reading; anything over kMaxTextBytes is refused anyway.
constexpr size_t kMaxLineBytes = kMaxTextBytes + 1;

constexpr char kUsage[] =
    "usage: meshvault-chat --ca CA.crt --cert NODE.crt --key NODE.key [--listen IP:PORT]\n"
    "                      [--advertise HOST:PORT] [--join HOST:PORT]... [--fast] [--verbose]\n"
    "\n"
    "  --listen     address to accept links on (default 127.0.0.1:7400; port 0: any)\n"
    "  --advertise  address other members dial (default: the bound listen address)\n"
    "  --join       a member to join through; repeatable\n"
    "  --fast       short failure-detection timers (Config::FastTimings), for loopback\n"
    "  --verbose    print the node's log lines\n";

constexpr char kHelp[] =
    "* commands: /members   /msg NAME TEXT   /help   /quit   (other lines go to everyone)";

// Writes one line to standard output; safe from any thread.
void Print(const std::string& line) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

// --- Text from the network -------------------------------------------------------------------

// Decodes the UTF-8 sequence at the start of `s` into *cp and returns its length, or 0 when the
// bytes are not well-formed UTF-8 (overlong forms, surrogates and values past U+10FFFF included).
size_t DecodeUtf8(std::string_view s, uint32_t* cp) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t lead = byte(0);
  size_t len = 0;
  uint32_t min = 0;
  if (lead < 0x80) {
    *cp = lead;
    return 1;
  }
  if (lead >= 0xc2 && lead <= 0xdf) {
    len = 2;
    min = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    len = 3;
    min = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    len = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  *cp = lead & (0x7fu >> len);  // the payload bits of the lead byte
  if (s.size() < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
    *cp = (*cp << 6) | (byte(i) & 0x3fu);
  }
  if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff)) return 0;
  return len;
}

bool IsValidUtf8(std::string_view s) {
  uint32_t cp = 0;
  for (size_t i = 0, n = 0; i < s.size(); i += n) {
    if ((n = DecodeUtf8(s.substr(i), &cp)) == 0) return false;
  }
  return true;
}

// Text a peer chose, made safe to print: control characters (C0, DEL, C1), Unicode
// bidirectional controls and bytes that are not UTF-8 become visible escapes, so a peer
// cannot move the cursor, recolour or retitle the terminal, or reorder what it shows.
std::string Printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  char escape[16];
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const size_t n = DecodeUtf8(text.substr(i), &cp);
    if (n == 0) {
      std::snprintf(escape, sizeof escape, "\\x%02x", static_cast<uint8_t>(text[i]));
      out += escape;
      ++i;
      continue;
    }
    const bool control = cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
    const bool bidi = cp == 0x061c || cp == 0x200e || cp == 0x200f ||
                      (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
    if (control || bidi) {
      std::snprintf(escape, sizeof escape, cp < 0x100 ? "\\x%02x" : "\\u%04x", cp);
      out += escape;
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

// The text of a chat message, or false when `data` is not one.
bool ChatText(const mesh::Json& data, std::string* text) {
  if (!data.is_object()) return false;
  auto it = data.find("text");
  if (it == data.end() || !it->is_string()) return false;
  *text = it->get<std::string>();
  return text->size() <= kMaxTextBytes;
}

void OnChat(const mesh::Message& m, const mesh::Responder& responder) {
  std::string text;
  if (!ChatText(m.data, &text)) {
    // Names come from certificates (letters, digits, ".", "_", "-"): safe to print.
    Print("* " + m.from_name + " sent something that is not a chat line");
  } else if (m.kind == mesh::Message::Kind::kBroadcast) {
    Print(m.from_name + ": " + Printable(text));
  } else {
    Print(m.from_name + " (to you): " + Printable(text));
  }
  responder.Error("chat takes no requests");  // does nothing unless this was a request
}

// Membership changes, as lines. Runs on the I/O thread only, so `known` needs no lock.
void OnMember(std::map<mesh::PublicKey, mesh::MemberState>* known, const mesh::MemberInfo& m) {
  auto it = known->find(m.id);
  const bool is_new = it == known->end();
  const mesh::MemberState before = is_new ? mesh::MemberState::kLeft : it->second;
  (*known)[m.id] = m.state;
  switch (m.state) {
    case mesh::MemberState::kAlive:
      Print("* " + m.name +
            (before == mesh::MemberState::kSuspect ? " is alive again" : " joined"));
      break;
    case mesh::MemberState::kSuspect:
      Print("* " + m.name + " is suspected of failing");
      break;
    case mesh::MemberState::kDead:
      Print("* " + m.name + " failed");
      break;
    case mesh::MemberState::kLeft:
      if (!is_new) Print("* " + m.name + " left");  // not the departed of long ago
      break;
  }
}

// --- Commands --------------------------------------------------------------------------------

void PrintMembers(const mesh::Node& node) {
  std::vector<mesh::MemberInfo> members = node.Members();
  size_t name_width = 4, address_width = 7;
  for (const auto& m : members) {
    name_width = std::max(name_width, m.name.size());
    address_width = std::max(address_width, m.address.size());
  }
  const auto pad = [](std::string s, size_t width) {
    s.resize(std::max(width, s.size()) + 2, ' ');
    return s;
  };
  Print("  " + pad("NAME", name_width) + pad("ADDRESS", address_width) + pad("STATE", 7) + "LINK");
  for (const auto& m : members) {
    const char* link = m.self ? "self" : m.linked ? "yes" : "no";
    Print("  " + pad(m.name, name_width) + pad(Printable(m.address), address_width) +
          pad(std::string(mesh::MemberStateName(m.state)), 7) + link);
  }
}

void SendPrivate(mesh::Node& node, std::string_view args) {
  const size_t space = args.find(' ');
  const std::string name(args.substr(0, space));
  const std::string text(space == std::string_view::npos ? "" : args.substr(space + 1));
  if (name.empty() || text.empty()) return Print("* usage: /msg NAME TEXT");
  std::vector<mesh::MemberInfo> matches;
  for (const auto& m : node.Members()) {
    const bool in_mesh =
        m.state == mesh::MemberState::kAlive || m.state == mesh::MemberState::kSuspect;
    if (m.name == name && in_mesh) matches.push_back(m);
  }
  if (matches.empty()) return Print("* no member named " + name + " is in the mesh");
  if (matches.size() > 1) return Print("* more than one member is named " + name);
  if (matches[0].self) return Print("* that is you");
  mesh::Status s = node.Send(matches[0].id, kEvent, mesh::Json{{"text", text}});
  if (!s.ok()) Print("* not sent: " + s.message());
}

// Checks a line typed by the user before it goes out.
bool CheckOutgoing(const std::string& text) {
  if (text.size() > kMaxTextBytes) {
    Print("* not sent: a line may hold at most " + std::to_string(kMaxTextBytes) + " bytes");
    return false;
  }
  if (!IsValidUtf8(text)) {
    Print("* not sent: the line is not UTF-8");
    return false;
  }
  return true;
}

// Runs one line from the terminal; false to quit.
bool HandleLine(mesh::Node& node, std::string line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return true;
  if (!CheckOutgoing(line)) return true;
  if (line[0] != '/') {
    mesh::Status s = node.Broadcast(kEvent, mesh::Json{{"text", line}});
    if (!s.ok()) Print("* not sent: " + s.message());
    return true;
  }
  const std::string_view command(line);
  if (command == "/quit") return false;
  if (command == "/members") {
    PrintMembers(node);
  } else if (command.rfind("/msg ", 0) == 0) {
    SendPrivate(node, command.substr(5));
  } else {
    Print(kHelp);
  }
  return true;
}

// --- Terminal input and signals ----------------------------------------------------------------

int g_wake_write = -1;  // the write end of a self-pipe: a signal ends the input loop

void OnSignal(int) {
  const char byte = 0;
  const ssize_t ignored = write(g_wake_write, &byte, 1);
  (void)ignored;
}

// Lines from standard input until end of input or a signal (poll watches both).
class LineReader {
 public:
  explicit LineReader(int wake_read) : wake_read_(wake_read) {}

  // The next line without its newline; false at the end of input, on a signal or an error.
  bool Next(std::string* line) {
    for (;;) {
      const size_t newline = buffer_.find('\n');
      if (newline != std::string::npos || (eof_ && !buffer_.empty())) {
        const size_t end = newline == std::string::npos ? buffer_.size() : newline;
        line->assign(buffer_, 0, end);
        buffer_.erase(0, newline == std::string::npos ? end : end + 1);
        return true;
      }
      if (eof_) return false;
      pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {wake_read_, POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      if (fds[1].revents != 0) return false;
      char chunk[4096];
      const ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        eof_ = true;
        continue;
      }
      buffer_.append(chunk, static_cast<size_t>(n));
      // Keep at most kMaxLineBytes of a line without a newline: it is refused as too long.
      if (buffer_.size() > kMaxLineBytes && buffer_.find('\n') == std::string::npos) {
        buffer_.resize(kMaxLineBytes);
      }
    }
  }

 private:
  int wake_read_;
  std::string buffer_;
  bool eof_ = false;
};

// --- Setup -------------------------------------------------------------------------------------

struct Options {
  std::string ca, cert, key;
  std::string listen = "127.0.0.1:7400";
  std::string advertise;
  std::vector<std::string> join;
  bool fast = false;
  bool verbose = false;
};

bool ParseArgs(int argc, char** argv, Options* o, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--fast") {
      o->fast = true;
      continue;
    }
    if (arg == "--verbose") {
      o->verbose = true;
      continue;
    }
    std::string* value = arg == "--ca"          ? &o->ca
                         : arg == "--cert"      ? &o->cert
                         : arg == "--key"       ? &o->key
                         : arg == "--listen"    ? &o->listen
                         : arg == "--advertise" ? &o->advertise
                         : arg == "--join"      ? &o->join.emplace_back()
                                                : nullptr;
    if (value == nullptr) {
      *error = "unknown argument '" + std::string(arg) + "'";
      return false;
    }
    if (i + 1 == argc) {
      *error = std::string(arg) + " needs a value";
      return false;
    }
    *value = argv[++i];
  }
  if (o->ca.empty() || o->cert.empty() || o->key.empty()) {
    *error = "--ca, --cert and --key are required";
    return false;
  }
  return true;
}

// Fills the credentials of `config` from the files named in `o`.
mesh::Status LoadCredentials(const Options& o, mesh::Config* config) {
  mesh::Certificate ca;
  if (mesh::Status s = mesh::ReadCertificateFile(o.ca, &ca); !s.ok()) return s;
  if (mesh::Status s = mesh::VerifyCertificate(ca, ca.subject, std::time(nullptr), mesh::Role::kCa);
      !s.ok()) {
    return mesh::Status::InvalidArgument(o.ca + " is not a valid CA certificate: " + s.message());
  }
  auto key = std::make_shared<mesh::SigningKey>();
  if (mesh::Status s = mesh::ReadPrivateKeyFile(o.key, key.get()); !s.ok()) return s;
  if (mesh::Status s = mesh::ReadCertificateFile(o.cert, &config->certificate); !s.ok()) return s;
  config->key = std::move(key);
  config->ca_key = ca.subject;
  return mesh::Status::OK();  // Node::Create checks the certificate against the key and CA
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "meshvault-chat: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  Options options;
  std::string error;
  if (!ParseArgs(argc, argv, &options, &error)) {
    std::fputs(kUsage, stderr);
    return Fail(error);
  }

  mesh::Config config = options.fast ? mesh::Config::FastTimings() : mesh::Config();
  if (mesh::Status s = LoadCredentials(options, &config); !s.ok()) return Fail(s.message());
  config.listen = options.listen;
  config.advertise = options.advertise;
  config.join = options.join;
  if (options.verbose) {
    config.log = [](mesh::LogLevel, const std::string& line) { Print("- " + line); };
  }

  std::unique_ptr<mesh::Node> node;
  if (mesh::Status s = mesh::Node::Create(config, &node); !s.ok()) return Fail(s.message());
  node->On(kEvent, OnChat);
  auto known = std::make_shared<std::map<mesh::PublicKey, mesh::MemberState>>();
  node->OnMembership([known](const mesh::MemberInfo& m) { OnMember(known.get(), m); });

  // Ctrl-C and SIGTERM end the input loop through a self-pipe, whichever thread takes them.
  int wake[2];
  if (pipe(wake) != 0) return Fail("cannot create a pipe");
  g_wake_write = wake[1];
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  if (mesh::Status s = node->Start(); !s.ok()) return Fail(s.message());
  Print("* " + config.certificate.name + " (" + mesh::ShortId(node->id()) + ") on " +
        node->Status().listen + "; /help lists the commands");

  LineReader reader(wake[0]);
  std::string line;
  while (reader.Next(&line) && HandleLine(*node, std::move(line))) {
  }
  Print("* leaving");
  node->Stop(mesh::Millis(1000));
  return 0;
}
