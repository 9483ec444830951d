#include "control/wire.h"

#include <ctime>

#include <boost/json.hpp>

#include "dns/master_file.h"
#include "health/state_machine.h"

namespace pharos::control {

namespace json = boost::json;
using health::Clock;

namespace {

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

bool expect(std::string_view s, size_t& pos, std::string_view chars) {
  if (pos >= s.size() || chars.find(s[pos]) == std::string_view::npos) return false;
  ++pos;
  return true;
}

}  // namespace

std::string format_time(Clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

json::value time_json(Clock::time_point t) {
  if (t == Clock::time_point{}) return nullptr;
  return json::string(format_time(t));
}

std::optional<Clock::time_point> parse_time(std::string_view s) {
  size_t pos = 0;
  int year, mon, day, hour, min, sec;
  if (!digits(s, pos, 4, year) || !expect(s, pos, "-") || !digits(s, pos, 2, mon) || !expect(s, pos, "-") ||
      !digits(s, pos, 2, day) || !expect(s, pos, "Tt ") || !digits(s, pos, 2, hour) || !expect(s, pos, ":") ||
      !digits(s, pos, 2, min) || !expect(s, pos, ":") || !digits(s, pos, 2, sec)) {
    return std::nullopt;
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return std::nullopt;
  std::chrono::nanoseconds frac{0};
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const size_t start = pos;
    int64_t scale = 100000000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      frac += std::chrono::nanoseconds((s[pos] - '0') * scale);
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int offset = 0;  // seconds east of UTC
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!digits(s, pos, 2, oh) || !expect(s, pos, ":") || !digits(s, pos, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;  // RFC 3339 needs the offset: a local time would be ambiguous
  }
  if (pos != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  const std::time_t t = timegm(&tm);
  if (tm.tm_mday != day) return std::nullopt;  // 2024-02-31 came back as March
  return Clock::from_time_t(t - offset) + std::chrono::duration_cast<Clock::duration>(frac);
}

const char* policy_name(config::Policy p) {
  switch (p) {
    case config::Policy::Simple:
      return "simple";
    case config::Policy::Weighted:
      return "weighted";
    case config::Policy::Failover:
      return "failover";
    case config::Policy::Multivalue:
      return "multivalue";
    case config::Policy::Cidr:
      return "cidr";
  }
  return "unknown";
}

const char* check_type_name(config::CheckType t) {
  switch (t) {
    case config::CheckType::Tcp:
      return "tcp";
    case config::CheckType::Http:
      return "http";
    case config::CheckType::Https:
      return "https";
    case config::CheckType::Dns:
      return "dns";
    case config::CheckType::Calculated:
      return "calculated";
  }
  return "unknown";
}

const char* override_action_name(health::Override o) {
  switch (o) {
    case health::Override::Up:
      return "up";
    case health::Override::Down:
      return "down";
    case health::Override::Drain:
      return "drain";
    case health::Override::None:
      break;
  }
  return "none";
}

std::optional<health::Override> parse_override_action(std::string_view text) {
  if (text == "up") return health::Override::Up;
  if (text == "down") return health::Override::Down;
  if (text == "drain") return health::Override::Drain;
  return std::nullopt;
}

json::object check_json(const health::CheckStatus& c, const std::vector<health::OverrideEntry>& overrides) {
  json::object o;
  o["name"] = c.name;
  o["type"] = check_type_name(c.type);
  o["target"] = c.target;
  o["state"] = health::health_name(c.effective);
  o["raw"] = health::health_name(c.raw);
  o["effective"] = health::health_name(c.effective);
  o["consecutive_ok"] = c.consecutive_ok;
  o["consecutive_fail"] = c.consecutive_fail;
  o["last_reason"] = c.last_reason;
  o["last_latency_us"] = c.last_latency.count();
  o["last_probe"] = time_json(c.last_probe);
  o["since"] = time_json(c.since);
  o["probes"] = c.probes;
  o["failures"] = c.failures;
  o["transitions"] = c.transitions;
  json::array history;
  for (const auto& t : c.history) {
    history.push_back(json::object{{"at", time_json(t.at)},
                                   {"from", health::health_name(t.from)},
                                   {"to", health::health_name(t.to)},
                                   {"reason", t.reason}});
  }
  o["history"] = std::move(history);
  json::value ov = nullptr;
  for (const auto& e : overrides) {
    if (e.on_check && e.check == c.name) ov = json::object{{"id", e.id}, {"action", override_action_name(e.action)}};
  }
  o["override"] = std::move(ov);
  return o;
}

json::object override_json(const health::OverrideEntry& e) {
  json::object o;
  o["id"] = e.id;
  if (e.on_check) {
    o["check"] = e.check;
  } else {
    o["record"] = e.member.record;
    o["value"] = e.member.value;
  }
  o["action"] = override_action_name(e.action);
  o["until"] = e.until ? time_json(*e.until) : json::value(nullptr);
  o["reason"] = e.reason;
  o["created"] = time_json(e.created);
  return o;
}

json::value describe_records(const std::vector<config::PolicyRecord>& records, const health::EngineStatus& status) {
  auto check_state = [&](const std::string& name) -> const health::CheckStatus* {
    for (const auto& c : status.checks) {
      if (c.name == name) return &c;
    }
    return nullptr;
  };
  auto member_json = [&](const config::PolicyRecord& r, const config::PolicyMember& m) {
    json::object o;
    const std::string& key = m.record.empty() ? m.value : m.record;
    if (m.record.empty()) {
      o["value"] = m.value;
    } else {
      o["record"] = m.record;
    }
    std::string standing = "up";
    if (m.check.empty()) {
      o["check"] = nullptr;
      o["health"] = nullptr;
    } else {
      o["check"] = m.check;
      const health::CheckStatus* c = check_state(m.check);
      const health::Health h = c ? c->effective : health::Health::Unknown;
      o["health"] = health::health_name(h);
      standing = h == health::Health::Healthy ? "up" : h == health::Health::Unhealthy ? "down" : "unknown";
    }
    json::value ov = nullptr;
    for (const auto& e : status.overrides) {
      if (!e.on_check && e.member.record == r.id && e.member.value == key) {
        ov = json::string(override_action_name(e.action));
        standing = override_action_name(e.action);
      }
    }
    o["override"] = std::move(ov);
    o["standing"] = standing;
    if (r.policy == config::Policy::Weighted) o["weight"] = m.weight;
    if (r.policy == config::Policy::Failover) o["tier"] = m.tier;
    return o;
  };
  json::array out;
  for (const auto& r : records) {
    json::object o;
    o["id"] = r.id;
    o["name"] = r.name.empty() ? json::value(nullptr) : json::value(json::string(r.name));
    o["type"] = dns::type_to_text(r.type);
    o["policy"] = policy_name(r.policy);
    o["ttl"] = r.ttl;
    json::array members;
    for (const auto& m : r.members) members.push_back(member_json(r, m));
    for (const auto& g : r.groups) {
      std::string group;
      for (const auto& p : g.prefixes) group += (group.empty() ? "" : ",") + p.text;
      if (g.is_default) group = "default";
      for (const auto& m : g.members) {
        json::object mo = member_json(r, m);
        mo["group"] = group;
        members.push_back(std::move(mo));
      }
    }
    o["members"] = std::move(members);
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace pharos::control
