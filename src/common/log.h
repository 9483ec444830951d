// Logging: one named spdlog logger per component ("dns", "zone", "server", ...).
// Messages are lowercase, subject first, then key=value:
//   zone example.com: loaded serial=7 records=1234
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace pharos::log {

// Returns the component's logger, creating it on first use with the current sink and level.
std::shared_ptr<spdlog::logger> get(const std::string& component);

// Configures every logger: level ("trace" ... "off") and output. Called once at start-up and
// again on config reload; loggers created later pick the settings up too.
void setup(std::string_view level, bool to_stderr = true);

// Parses a level name; returns false if it is not one.
bool parse_level(std::string_view name, spdlog::level::level_enum& out);

}  // namespace pharos::log
