// Members of a mesh as the local node sees them. Value types.
#ifndef MESH_MEMBER_H_
#define MESH_MEMBER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "mesh/certificate.h"
#include "mesh/identity.h"

namespace mesh {

// SWIM states. kAlive and kSuspect members are in the cluster; kDead (failed) and kLeft
// (announced a graceful leave) are kept until reaped so late gossip about them is recognised.
enum class MemberState : uint8_t { kAlive = 0, kSuspect = 1, kDead = 2, kLeft = 3 };
std::string_view MemberStateName(MemberState state);  // "alive", "suspect", "failed", "left"

struct MemberInfo {
  PublicKey id{};       // the member's Ed25519 key, from its certificate
  std::string name;     // from its certificate
  std::string address;  // advertised host:port, from its signed member record
  MemberState state = MemberState::kAlive;
  uint64_t incarnation = 0;  // raised by the member to refute suspicion
  bool linked = false;       // the local node has an active link to it
  bool self = false;
  int64_t state_since_ms = 0;  // unix ms when the local node saw the state change
  Certificate certificate;     // the member's node certificate (from its signed record)
};

}  // namespace mesh

#endif  // MESH_MEMBER_H_
