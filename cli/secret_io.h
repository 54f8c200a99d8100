// Reading secrets and shares into secure memory, and writing them out, for the CLI.
#ifndef CLI_SECRET_IO_H_
#define CLI_SECRET_IO_H_

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "mesh/secure_buffer.h"
#include "mesh/status.h"

namespace cli {

// Reads everything from `fd` into `out`; more than `limit` bytes is an error.
mesh::Status ReadFd(int fd, std::string_view what, size_t limit, mesh::SecureBuffer* out);
// Reads `path` ("-" is stdin); a file larger than `limit` is refused before reading.
mesh::Status ReadPath(const std::string& path, size_t limit, mesh::SecureBuffer* out);
// Prompts on the controlling terminal and reads one line with echo off (no newline kept).
mesh::Status PromptHidden(std::string_view prompt, size_t limit, mesh::SecureBuffer* out);

bool StdinIsTerminal();
// Writes all of `bytes` to `fd`, retrying short writes.
mesh::Status WriteAll(int fd, std::span<const uint8_t> bytes);
mesh::Status WriteAll(int fd, std::string_view text);

// "1048576", "64K", "4M", "1G" (binary units) -> bytes.
std::optional<size_t> ParseSize(std::string_view text);

// Stops core dumps and ptrace attachment by other processes of the same user: nothing
// this process holds (including copies its libraries make) can leak through a dump.
void HardenProcess();

}  // namespace cli

#endif  // CLI_SECRET_IO_H_
