#include "mesh/member.h"

namespace mesh {

std::string_view MemberStateName(MemberState state) {
  switch (state) {
    case MemberState::kAlive:
      return "alive";
    case MemberState::kSuspect:
      return "suspect";
    case MemberState::kDead:
      return "failed";
    case MemberState::kLeft:
      return "left";
  }
  return "unknown";
}

}  // namespace mesh
