#include "common/log.h"

#include <mutex>

#include <spdlog/sinks/stdout_sinks.h>

namespace pharos::log {
namespace {

std::mutex g_mutex;
spdlog::level::level_enum g_level = spdlog::level::info;

spdlog::sink_ptr sink() {
  // stderr, unbuffered: the log is the daemon's voice, and tests read it line by line.
  static spdlog::sink_ptr s = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  return s;
}

}  // namespace

bool parse_level(std::string_view name, spdlog::level::level_enum& out) {
  auto lvl = spdlog::level::from_str(std::string(name));
  // from_str returns off for unknown names; accept "off" only when asked for.
  if (lvl == spdlog::level::off && name != "off") return false;
  out = lvl;
  return true;
}

std::shared_ptr<spdlog::logger> get(const std::string& component) {
  std::lock_guard lock(g_mutex);
  if (auto existing = spdlog::get(component)) return existing;
  auto logger = std::make_shared<spdlog::logger>(component, sink());
  logger->set_level(g_level);
  // The message carries its subject ("zone example.com.: loaded ..."); the logger name is for
  // per-component levels, not repeated on every line.
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->flush_on(spdlog::level::trace);
  spdlog::register_logger(logger);
  return logger;
}

void setup(std::string_view level, bool /*to_stderr*/) {
  std::lock_guard lock(g_mutex);
  spdlog::level::level_enum lvl;
  if (!parse_level(level, lvl)) lvl = spdlog::level::info;
  g_level = lvl;
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { l->set_level(lvl); });
}

}  // namespace pharos::log
