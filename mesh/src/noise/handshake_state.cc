#include "noise/handshake_state.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <utility>

namespace mesh::noise {
namespace {

static_assert(crypto_scalarmult_BYTES == kDhLen && crypto_scalarmult_SCALARBYTES == kDhLen);
static_assert(crypto_box_PUBLICKEYBYTES == kDhLen && crypto_box_SECRETKEYBYTES == kDhLen);

constexpr std::string_view kNamePrefix = "Noise_";
constexpr std::string_view kNameSuffix = "_25519_ChaChaPoly_SHA256";

// A handshake pattern (section 7): whether each party pre-shares its static key, and
// the message patterns, '|' between messages (initiator first, then alternating) and
// ',' between tokens.
struct PatternDef {
  std::string_view name;
  bool initiator_pre_s;
  bool responder_pre_s;
  std::string_view messages;
};

// clang-format off
constexpr PatternDef kPatterns[] = {
    // Section 7.4: one-way patterns.
    {"N", false, true, "e,es"}, {"K", true, true, "e,es,ss"}, {"X", false, true, "e,es,s,ss"},
    // Section 7.5: fundamental interactive patterns.
    {"NN", false, false, "e|e,ee"}, {"NK", false, true, "e,es|e,ee"},
    {"NX", false, false, "e|e,ee,s,es"}, {"KN", true, false, "e|e,ee,se"},
    {"KK", true, true, "e,es,ss|e,ee,se"}, {"KX", true, false, "e|e,ee,se,s,es"},
    {"XN", false, false, "e|e,ee|s,se"}, {"XK", false, true, "e,es|e,ee|s,se"},
    {"XX", false, false, "e|e,ee,s,es|s,se"}, {"IN", false, false, "e,s|e,ee,se"},
    {"IK", false, true, "e,es,s,ss|e,ee,se"}, {"IX", false, false, "e,s|e,ee,se,s,es"},
    // Section 7.6: deferred interactive patterns.
    {"NK1", false, true, "e|e,ee,es"}, {"NX1", false, false, "e|e,ee,s|es"},
    {"X1N", false, false, "e|e,ee|s|se"}, {"X1K", false, true, "e,es|e,ee|s|se"},
    {"XK1", false, true, "e|e,ee,es|s,se"}, {"X1K1", false, true, "e|e,ee,es|s|se"},
    {"X1X", false, false, "e|e,ee,s,es|s|se"}, {"XX1", false, false, "e|e,ee,s|es,s,se"},
    {"X1X1", false, false, "e|e,ee,s|es,s|se"}, {"K1N", true, false, "e|e,ee|se"},
    {"K1K", true, true, "e,es|e,ee|se"}, {"KK1", true, true, "e|e,ee,se,es"},
    {"K1K1", true, true, "e|e,ee,es|se"}, {"K1X", true, false, "e|e,ee,s,es|se"},
    {"KX1", true, false, "e|e,ee,se,s|es"}, {"K1X1", true, false, "e|e,ee,s|se,es"},
    {"I1N", false, false, "e,s|e,ee|se"}, {"I1K", false, true, "e,es,s|e,ee|se"},
    {"IK1", false, true, "e,s|e,ee,se,es"}, {"I1K1", false, true, "e,s|e,ee,es|se"},
    {"I1X", false, false, "e,s|e,ee,s,es|se"}, {"IX1", false, false, "e,s|e,ee,se,s|es"},
    {"I1X1", false, false, "e,s|e,ee,s|se,es"},
};
// clang-format on

// Parses the table notation ("e,es|e,ee") into message patterns.
std::vector<std::vector<Token>> ParseMessages(std::string_view text) {
  std::vector<std::vector<Token>> messages(1);
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] != ',' && text[i] != '|') continue;
    const std::string_view t = text.substr(start, i - start);
    messages.back().push_back(t == "e"    ? Token::kE
                              : t == "s"  ? Token::kS
                              : t == "ee" ? Token::kEe
                              : t == "es" ? Token::kEs
                              : t == "se" ? Token::kSe
                                          : Token::kSs);
    if (i < text.size() && text[i] == '|') messages.emplace_back();
    start = i + 1;
  }
  return messages;
}

// Section 8: "Noise_" pattern "_" DH "_" cipher "_" hash; only our suite, no modifiers.
const PatternDef* LookUpPattern(std::string_view name) {
  if (name.size() > kNamePrefix.size() + kNameSuffix.size() && name.starts_with(kNamePrefix) &&
      name.ends_with(kNameSuffix)) {
    name = name.substr(kNamePrefix.size(), name.size() - kNamePrefix.size() - kNameSuffix.size());
    for (const PatternDef& candidate : kPatterns) {
      if (candidate.name == name) return &candidate;
    }
  }
  return nullptr;
}

std::string MessageLabel(size_t index) { return " in message " + std::to_string(index + 1); }

}  // namespace

KeyPair::~KeyPair() { sodium_memzero(private_key.data(), private_key.size()); }

KeyPair KeyPair::Generate() {
  if (sodium_init() < 0) std::abort();  // as for a failed allocation: nothing to recover
  KeyPair pair;
  crypto_box_keypair(pair.public_key.data(), pair.private_key.data());
  return pair;
}

std::optional<KeyPair> KeyPair::FromPrivateKey(std::span<const uint8_t> private_key) {
  if (private_key.size() != kDhLen) return std::nullopt;
  KeyPair pair;
  std::copy(private_key.begin(), private_key.end(), pair.private_key.begin());
  crypto_scalarmult_base(pair.public_key.data(), pair.private_key.data());
  return pair;
}

Status HandshakeState::InitializeForTesting(std::string_view protocol_name, bool initiator,
                                            std::span<const uint8_t> prologue, const KeyPair* s,
                                            const KeyPair* e, std::span<const uint8_t> rs,
                                            std::span<const uint8_t> re) {
  if (sodium_init() < 0) return Status::Unavailable("noise: libsodium failed to initialise");
  if (phase_ != Phase::kUninitialized) {
    return Status::InvalidArgument("noise: HandshakeState already initialized");
  }
  const PatternDef* def = LookUpPattern(protocol_name);
  if (def == nullptr) {
    return Status::InvalidArgument(
        "noise: unsupported protocol (need Noise_<pattern>_25519_ChaChaPoly_SHA256; no psk, "
        "fallback or other modifiers)");
  }

  std::vector<std::vector<Token>> messages = ParseMessages(def->messages);
  bool local_sends_s = false;
  for (size_t i = initiator ? 0 : 1; i < messages.size(); i += 2) {
    local_sends_s |=
        std::find(messages[i].begin(), messages[i].end(), Token::kS) != messages[i].end();
  }
  const bool local_pre_s = initiator ? def->initiator_pre_s : def->responder_pre_s;
  const bool remote_pre_s = initiator ? def->responder_pre_s : def->initiator_pre_s;

  // Section 7.3 validity: keys we send or pre-share must exist; rs is an input only when
  // the peer pre-shares it (section 5.3), and no supported pattern pre-shares an "e".
  if ((local_pre_s || local_sends_s) && s == nullptr) {
    return Status::InvalidArgument("noise: pattern needs a local static key pair");
  }
  if (remote_pre_s == rs.empty()) {
    return Status::InvalidArgument(remote_pre_s
                                       ? "noise: pattern needs the remote static public key"
                                       : "noise: pattern does not pre-share a remote static key");
  }
  if (!rs.empty() && rs.size() != kDhLen) {
    return Status::InvalidArgument("noise: remote static public key must be 32 bytes");
  }
  if (!re.empty()) return Status::InvalidArgument("noise: no ephemeral pre-message allowed");

  messages_ = std::move(messages);
  initiator_ = initiator;
  if (local_pre_s || local_sends_s) s_ = *s;
  if (e != nullptr) e_ = *e;
  if (!rs.empty()) {
    rs_.emplace();
    std::copy(rs.begin(), rs.end(), rs_->begin());
  }

  symmetric_.InitializeSymmetric(protocol_name);
  symmetric_.MixHash(prologue);
  // Pre-message public keys, the initiator's first (section 7).
  if (def->initiator_pre_s) symmetric_.MixHash(initiator ? s_->public_key : *rs_);
  if (def->responder_pre_s) symmetric_.MixHash(initiator ? *rs_ : s_->public_key);
  phase_ = Phase::kInProgress;
  return Status::OK();
}

Status HandshakeState::CheckTurn(bool writing) const {
  if (phase_ != Phase::kInProgress) {
    return Status::InvalidArgument(phase_ == Phase::kFailed ? "noise: handshake has failed"
                                                            : "noise: no handshake in progress");
  }
  if (IsMyTurn() == writing) return Status::OK();
  return Status::InvalidArgument(std::string("noise: ") +
                                 (writing ? "WriteMessage" : "ReadMessage") + " out of turn" +
                                 MessageLabel(next_message_));
}

void HandshakeState::MessageOverhead(size_t index, size_t* fixed, size_t* payload_tag) const {
  bool has_key = symmetric_.HasKey();
  *fixed = 0;
  for (Token token : messages_[index]) {
    if (token == Token::kE) {
      *fixed += kDhLen;
    } else if (token == Token::kS) {
      *fixed += kDhLen + (has_key ? kTagLen : 0);
    } else {
      has_key = true;  // every DH token calls MixKey()
    }
  }
  *payload_tag = has_key ? kTagLen : 0;
}

Status HandshakeState::WriteMessage(std::span<const uint8_t> payload,
                                    std::vector<uint8_t>* message) {
  message->clear();
  if (Status st = CheckTurn(/*writing=*/true); !st.ok()) return st;
  const size_t index = next_message_;
  size_t fixed = 0, tag = 0;
  MessageOverhead(index, &fixed, &tag);
  if (payload.size() > kMaxMessageLen - fixed - tag) {
    return Status::InvalidArgument("noise: message exceeds 65535 bytes" + MessageLabel(index));
  }

  auto fail = [&](const Status& st) {
    message->clear();
    return Fail(Status::InvalidArgument(st.message() + MessageLabel(index)));
  };
  message->reserve(fixed + payload.size() + tag);
  for (Token token : messages_[index]) {
    if (token == Token::kE) {
      if (!e_) e_ = KeyPair::Generate();  // a preset e (test vectors) is used as is
      message->insert(message->end(), e_->public_key.begin(), e_->public_key.end());
      symmetric_.MixHash(e_->public_key);
    } else if (Status st = token == Token::kS ? symmetric_.EncryptAndHash(s_->public_key, message)
                                              : MixDh(token);
               !st.ok()) {
      return fail(st);
    }
  }
  if (Status st = symmetric_.EncryptAndHash(payload, message); !st.ok()) return fail(st);
  if (++next_message_ == messages_.size()) Finish();
  return Status::OK();
}

Status HandshakeState::ReadMessage(std::span<const uint8_t> message,
                                   std::vector<uint8_t>* payload) {
  payload->clear();
  if (Status st = CheckTurn(/*writing=*/false); !st.ok()) return st;
  const size_t index = next_message_;
  if (message.size() > kMaxMessageLen) {
    return Status::InvalidArgument("noise: message exceeds 65535 bytes" + MessageLabel(index));
  }
  size_t fixed = 0, tag = 0;
  MessageOverhead(index, &fixed, &tag);
  if (message.size() < fixed + tag) {
    return Status::InvalidArgument("noise: truncated handshake message" + MessageLabel(index));
  }

  size_t offset = 0;
  for (Token token : messages_[index]) {
    if (token == Token::kE) {
      if (re_) return Fail(Status::InvalidArgument("noise: duplicate ephemeral key"));
      re_.emplace();
      const std::span<const uint8_t> key = message.subspan(offset, kDhLen);
      std::copy(key.begin(), key.end(), re_->begin());
      offset += kDhLen;
      symmetric_.MixHash(*re_);
    } else if (token == Token::kS) {
      if (rs_) return Fail(Status::InvalidArgument("noise: duplicate static key"));
      const size_t len = kDhLen + (symmetric_.HasKey() ? kTagLen : 0);
      std::vector<uint8_t> key;
      if (!symmetric_.DecryptAndHash(message.subspan(offset, len), &key).ok()) {
        return Fail(Status::Corruption("noise: static key decrypt failed" + MessageLabel(index)));
      }
      rs_.emplace();
      std::copy_n(key.begin(), kDhLen, rs_->begin());
      rs_pending_ = true;
      offset += len;
    } else if (Status st = MixDh(token); !st.ok()) {
      return Fail(Status::InvalidArgument(st.message() + MessageLabel(index)));
    }
  }
  if (!symmetric_.DecryptAndHash(message.subspan(offset), payload).ok()) {
    payload->clear();
    return Fail(Status::Corruption("noise: decrypt failed" + MessageLabel(index)));
  }
  rs_pending_ = false;
  if (++next_message_ == messages_.size()) Finish();
  return Status::OK();
}

Status HandshakeState::Split(CipherState* send, CipherState* receive) {
  if (phase_ != Phase::kComplete) {
    return Status::InvalidArgument(phase_ == Phase::kSplit ? "noise: Split called twice"
                                                           : "noise: handshake not complete");
  }
  CipherState c1, c2;
  symmetric_.Split(&c1, &c2);
  // c1 carries initiator -> responder traffic, c2 the reverse (section 5.2).
  *send = std::move(initiator_ ? c1 : c2);
  *receive = std::move(initiator_ ? c2 : c1);
  if (IsOneWay()) (initiator_ ? receive : send)->ClearKey();  // section 7.4: c2 unused
  phase_ = Phase::kSplit;
  return Status::OK();
}

Status HandshakeState::MixDh(Token token) {
  // Section 5.3: which local private key meets which remote public key, by role.
  const bool local_e = token == Token::kEe || (token == Token::kEs && initiator_) ||
                       (token == Token::kSe && !initiator_);
  const bool remote_e = token == Token::kEe || (token == Token::kEs && !initiator_) ||
                        (token == Token::kSe && initiator_);
  const std::optional<KeyPair>& local = local_e ? e_ : s_;
  const std::optional<PublicKey>& remote = remote_e ? re_ : rs_;
  if (!local || !remote) return Status::InvalidArgument("noise: DH key missing");

  std::array<uint8_t, kDhLen> shared{};
  const bool ok =
      crypto_scalarmult(shared.data(), local->private_key.data(), remote->data()) == 0 &&
      !sodium_is_zero(shared.data(), shared.size());
  if (ok) symmetric_.MixKey(shared);
  sodium_memzero(shared.data(), shared.size());
  // An all-zero output means a low-order remote public key; section 12.1 allows
  // signalling an error for it instead of mixing the zeros in.
  return ok ? Status::OK() : Status::InvalidArgument("noise: invalid remote public key");
}

Status HandshakeState::Fail(Status status) {
  phase_ = Phase::kFailed;
  e_.reset();  // KeyPair's destructor wipes the private keys
  s_.reset();
  rs_.reset();  // possibly unauthenticated: never reported after a failure
  re_.reset();
  symmetric_.InitializeSymmetric({});  // discards ck and k
  return status;
}

void HandshakeState::Finish() {
  phase_ = Phase::kComplete;
  e_.reset();  // the ephemeral private key is no longer needed (forward secrecy)
  s_.reset();
}

}  // namespace mesh::noise
