// Logs of `meshvault agent` and `meshvault dev`: every module's lines go to one stderr sink,
// as text (spdlog's default pattern) or as JSON, one object per line with the keys @level,
// @message, @module and @timestamp (RFC 3339, UTC, milliseconds), as HashiCorp tools write
// them. Lines carry names, ids and reasons, never a secret or a share (mesh/config.h).
#ifndef CLI_LOGGING_H_
#define CLI_LOGGING_H_

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "mesh/config.h"
#include "mesh/status.h"

namespace cli {

struct LogSettings {
  spdlog::level::level_enum level = spdlog::level::info;
  bool json = false;
};

// Checks --log-level (debug, info, warn, error, off) and --log-format (text, json).
mesh::Status ParseLogSettings(const std::string& level, const std::string& format,
                              LogSettings* out);

// A logger for `module` ("agent", "mesh", "node1.vault", ...) on the shared stderr sink.
std::shared_ptr<spdlog::logger> MakeLogger(const std::string& module, const LogSettings& settings);

// Mesh and vault log lines (mesh::LogFunction) to a logger.
mesh::LogFunction SpdlogSink(std::shared_ptr<spdlog::logger> logger);

// One JSON log line, without the newline (exposed for tests and for errors before logging).
std::string JsonLogLine(std::string_view level, std::string_view module, std::string_view message,
                        std::chrono::system_clock::time_point time);

}  // namespace cli

#endif  // CLI_LOGGING_H_
