// Timestamps and names as the control API writes and reads them.
#include <catch2/catch.hpp>

#include "control/wire.h"

using namespace pharos;
using namespace pharos::control;
using namespace std::chrono_literals;

TEST_CASE("control wire: RFC 3339 times are written in UTC and read with offsets", "[control]") {
  const auto t = health::Clock::from_time_t(1714557600) + 123ms;  // 2024-05-01T10:00:00.123Z
  CHECK(format_time(t) == "2024-05-01T10:00:00.123Z");
  CHECK(parse_time("2024-05-01T10:00:00.123Z") == t);
  CHECK(parse_time(format_time(t)) == t);
  CHECK(parse_time("2024-05-01T10:00:00Z") == t - 123ms);
  CHECK(parse_time("2024-05-01t10:00:00z") == t - 123ms);
  CHECK(parse_time("2024-05-01 12:00:00+02:00") == t - 123ms);
  CHECK(parse_time("2024-05-01T05:30:00.123-04:30") == t);
  CHECK_FALSE(parse_time(""));
  CHECK_FALSE(parse_time("2024-05-01"));
  CHECK_FALSE(parse_time("2024-05-01T10:00:00"));  // no offset: local time would be a guess
  CHECK_FALSE(parse_time("2024-05-01T10:00:00Zjunk"));
  CHECK_FALSE(parse_time("2024-13-01T10:00:00Z"));
  CHECK_FALSE(parse_time("2024-02-30T10:00:00Z"));
  CHECK_FALSE(parse_time("2024-05-01T10:00:00.Z"));
  CHECK_FALSE(parse_time("2024-05-01T10:00:00+2:00"));
  CHECK(time_json(health::Clock::time_point{}).is_null());
}

TEST_CASE("control wire: override actions", "[control]") {
  CHECK(parse_override_action("up") == health::Override::Up);
  CHECK(parse_override_action("down") == health::Override::Down);
  CHECK(parse_override_action("drain") == health::Override::Drain);
  CHECK_FALSE(parse_override_action("none"));
  CHECK_FALSE(parse_override_action("Down"));
  CHECK(std::string(override_action_name(health::Override::Drain)) == "drain");
}
