// Status: the result of an operation that can fail, in the style of leveldb::Status.
// A Status is either OK or carries a code and a human-readable message. Messages never
// contain secret material: callers name the input (a line, a share number, a peer), not
// its contents. Thread-safe for concurrent const access.
#ifndef MESH_STATUS_H_
#define MESH_STATUS_H_

#include <string>
#include <string_view>
#include <utility>

namespace mesh {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // the caller's input is malformed or out of range
    kCorruption,       // data failed an integrity check (checksum, MAC, signature)
    kNotFound,
    kIOError,
    kPermissionDenied,
    kUnavailable,        // a peer or resource could not be reached
    kResourceExhausted,  // a size or count limit was hit
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return {Code::kInvalidArgument, std::move(msg)};
  }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status IOError(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status PermissionDenied(std::string msg) {
    return {Code::kPermissionDenied, std::move(msg)};
  }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }
  static Status ResourceExhausted(std::string msg) {
    return {Code::kResourceExhausted, std::move(msg)};
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid argument: <message>", or "OK".
  std::string ToString() const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

std::string_view CodeName(Status::Code code);

}  // namespace mesh

#endif  // MESH_STATUS_H_
