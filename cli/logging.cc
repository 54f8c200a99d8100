#include "logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <time.h>

#include <cstdio>
#include <nlohmann/json.hpp>

namespace cli {
namespace {

std::string_view LevelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

// 2024-05-01T12:34:56.789Z
std::string Rfc3339Utc(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(time.time_since_epoch()).count();
  const time_t secs = static_cast<time_t>(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
  const int millis = static_cast<int>(((ms % 1000) + 1000) % 1000);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, millis);
  return buf;
}

// spdlog formatter writing JsonLogLine and a newline.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string line =
        JsonLogLine(LevelName(msg.level), {msg.logger_name.data(), msg.logger_name.size()},
                    {msg.payload.data(), msg.payload.size()}, msg.time) +
        "\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// One sink for the process, so lines of different modules never interleave.
std::shared_ptr<spdlog::sinks::stderr_sink_mt> SharedSink(bool json) {
  static const auto sink = [json] {
    auto s = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    if (json) s->set_formatter(std::make_unique<JsonFormatter>());
    return s;
  }();
  return sink;
}

}  // namespace

std::string JsonLogLine(std::string_view level, std::string_view module, std::string_view message,
                        std::chrono::system_clock::time_point time) {
  const nlohmann::json line = {{"@level", level},
                               {"@message", message},
                               {"@module", module},
                               {"@timestamp", Rfc3339Utc(time)}};
  // Invalid UTF-8 is replaced (U+FFFD) rather than throwing; control characters are escaped.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

mesh::Status ParseLogSettings(const std::string& level, const std::string& format,
                              LogSettings* out) {
  out->level = spdlog::level::from_str(level);
  if (level == "warning") out->level = spdlog::level::warn;
  if (out->level == spdlog::level::off && level != "off") {
    return mesh::Status::InvalidArgument("--log-level must be debug, info, warn, error or off");
  }
  if (format != "text" && format != "json") {
    return mesh::Status::InvalidArgument("--log-format must be text or json");
  }
  out->json = format == "json";
  return mesh::Status::OK();
}

std::shared_ptr<spdlog::logger> MakeLogger(const std::string& module, const LogSettings& settings) {
  auto logger = std::make_shared<spdlog::logger>(module, SharedSink(settings.json));
  logger->set_level(settings.level);
  return logger;
}

mesh::LogFunction SpdlogSink(std::shared_ptr<spdlog::logger> logger) {
  return [logger](mesh::LogLevel level, const std::string& line) {
    switch (level) {
      case mesh::LogLevel::kDebug:
        logger->debug(line);
        break;
      case mesh::LogLevel::kInfo:
        logger->info(line);
        break;
      case mesh::LogLevel::kWarn:
        logger->warn(line);
        break;
      case mesh::LogLevel::kError:
        logger->error(line);
        break;
    }
  };
}

}  // namespace cli
