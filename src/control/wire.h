// The JSON shapes of the control API, shared by the server and `pharos ctl`: checks, overrides,
// records, and timestamps as RFC 3339 UTC ("2024-05-01T10:00:00.123Z").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "config/config.h"
#include "health/engine.h"

namespace pharos::control {

// "2024-05-01T10:00:00.123Z"; a zero time point (never happened) is null.
boost::json::value time_json(health::Clock::time_point t);
std::string format_time(health::Clock::time_point t);

// Parses RFC 3339: "2024-05-01T10:00:00Z", fractions of a second, "+02:00" offsets, a space
// instead of the "T". Returns nullopt when the text is not one.
std::optional<health::Clock::time_point> parse_time(std::string_view text);

const char* check_type_name(config::CheckType t);
const char* policy_name(config::Policy p);  // "weighted", "failover", ...
const char* override_action_name(health::Override o);
// "up", "down", "drain"; nullopt for anything else.
std::optional<health::Override> parse_override_action(std::string_view text);

// {"name", "type", "target", "state" (= effective), "raw", "effective", "consecutive_ok",
//  "consecutive_fail", "last_reason", "last_latency_us", "last_probe", "since", "probes",
//  "failures", "transitions", "history": [{"at", "from", "to", "reason"}],
//  "override": null | {"id", "action"}}
boost::json::object check_json(const health::CheckStatus& c, const std::vector<health::OverrideEntry>& overrides);

// {"id", "check"} or {"id", "record", "value"}, then "action", "until" (null: until cleared),
// "reason", "created".
boost::json::object override_json(const health::OverrideEntry& o);

// A helper for main's `records` hook: each policy record of the config with its members'
// standing under `status`:
//   [{"id", "name" (null for a pool), "type", "policy", "ttl",
//     "members": [{"value" | "record", "check" (null: always healthy), "health", "override"
//                  (null | "up" | "down" | "drain"), "standing": "up" | "down" | "drain" |
//                  "unknown", plus "weight" (weighted), "tier" (failover), "group" (cidr: the
//                  group's prefixes, or "default")}]}]
// `standing` is what the member counts as for selection: an override wins, then the check's
// effective state; a member without a check is up. Nested members report the check-free
// standing of their own override only (the nested record's answer is its own entry).
boost::json::value describe_records(const std::vector<config::PolicyRecord>& records,
                                    const health::EngineStatus& status);

}  // namespace pharos::control
