#include "mesh/status.h"

namespace mesh {

std::string_view CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk:
      return "OK";
    case Status::Code::kInvalidArgument:
      return "invalid argument";
    case Status::Code::kCorruption:
      return "corruption";
    case Status::Code::kNotFound:
      return "not found";
    case Status::Code::kIOError:
      return "I/O error";
    case Status::Code::kPermissionDenied:
      return "permission denied";
    case Status::Code::kUnavailable:
      return "unavailable";
    case Status::Code::kResourceExhausted:
      return "resource exhausted";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(CodeName(code_));
  out += ": ";
  out += message_;
  return out;
}

}  // namespace mesh
