// The health_checks, records and control sections, and the checks across them: every name a
// record or a calculated check refers to exists, nesting has no cycle, values parse as rdata of
// the record's type.
#include <arpa/inet.h>

#include <cstring>
#include <functional>
#include <map>
#include <set>

#include "config/loader.h"
#include "dns/master_file.h"
#include "dns/name.h"
#include "dns/rdata.h"
#include "dns/types.h"

namespace pharos::config {

bool HealthCheck::same_definition(const HealthCheck& o) const {
  return name == o.name && type == o.type && target.address == o.target.address && target.port == o.target.port &&
         host == o.host && path == o.path && method == o.method && headers == o.headers &&
         expect_status == o.expect_status && expect_body == o.expect_body && body_limit == o.body_limit &&
         tls_verify == o.tls_verify && ca_file == o.ca_file && query_name == o.query_name &&
         query_type == o.query_type && expect_rcode == o.expect_rcode && expect_answer == o.expect_answer &&
         children == o.children && min_healthy == o.min_healthy && interval == o.interval &&
         fast_interval == o.fast_interval && jitter == o.jitter && timeout == o.timeout && rise == o.rise &&
         fall == o.fall && inverted == o.inverted && disabled == o.disabled;
}

namespace detail {
namespace {

constexpr std::chrono::milliseconds kMinInterval{10};
constexpr unsigned kMaxThreshold = 100;
constexpr size_t kMaxBodyLimit = 1 << 20;
constexpr unsigned kMaxFailoverTier = 15;
constexpr unsigned kMaxAnswers = 64;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(dns::to_lower(static_cast<uint8_t>(c)));
  return s;
}

}  // namespace

// "10.0.0.0/8", "2001:db8::/32". Host bits must be zero.
bool parse_prefix(const std::string& s, Prefix& out, std::string& why) {
  size_t slash = s.find('/');
  if (slash == std::string::npos) {
    why = "expected address/length";
    return false;
  }
  std::string addr = s.substr(0, slash);
  std::string len = s.substr(slash + 1);
  out = Prefix{};
  out.text = s;
  unsigned bits;
  if (inet_pton(AF_INET, addr.c_str(), out.addr) == 1) {
    bits = 32;
  } else if (inet_pton(AF_INET6, addr.c_str(), out.addr) == 1) {
    bits = 128;
    out.v6 = true;
  } else {
    why = "not a numeric IPv4 or IPv6 address";
    return false;
  }
  if (len.empty() || len.size() > 3 || !std::all_of(len.begin(), len.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    why = "bad prefix length";
    return false;
  }
  unsigned l = static_cast<unsigned>(std::stoul(len));
  if (l > bits) {
    why = "prefix length " + len + " is longer than " + std::to_string(bits);
    return false;
  }
  out.len = static_cast<uint8_t>(l);
  for (unsigned b = l; b < bits; ++b) {
    if (out.addr[b / 8] & (0x80 >> (b % 8))) {
      why = "host bits are set (did you mean " + addr + "/" + len + " with the host part zero?)";
      return false;
    }
  }
  return true;
}

namespace {

bool is_loopback(const std::string& address) {
  in_addr a4;
  if (inet_pton(AF_INET, address.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  return address == "::1";
}

}  // namespace

// "200", "200-399".
bool parse_status_range(const std::string& s, StatusRange& out) {
  auto num = [](std::string_view t, uint16_t& v) {
    if (t.size() != 3 || !std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
    v = static_cast<uint16_t>((t[0] - '0') * 100 + (t[1] - '0') * 10 + (t[2] - '0'));
    return v >= 100 && v <= 599;
  };
  size_t dash = s.find('-');
  if (dash == std::string::npos) {
    if (!num(s, out.low)) return false;
    out.high = out.low;
    return true;
  }
  return num(std::string_view(s).substr(0, dash), out.low) && num(std::string_view(s).substr(dash + 1), out.high) &&
         out.low <= out.high;
}

std::chrono::milliseconds Loader::get_duration(const Entry& e, const std::string& field, bool allow_zero) const {
  if (!e.value.IsScalar()) {
    fail(e.value_line, field + ": expected a duration such as 500ms, 10s, 2m or 1h, got " + describe(e.value));
  }
  std::chrono::milliseconds d{};
  if (!parse_duration(e.value.Scalar(), d)) {
    fail(e.value_line, field + ": invalid duration " + quote(e.value.Scalar()) +
                           " (expected e.g. 500ms, 10s, 2m, 1h, or a number of seconds)");
  }
  if (!allow_zero && d.count() == 0) fail(e.value_line, field + ": must be greater than 0");
  return d;
}

void Loader::load_health_checks(const Entry& section, std::vector<HealthCheck>& out) const {
  if (section.value.IsNull()) return;
  if (!section.value.IsMap()) {
    fail(section.value_line, "health_checks: expected a mapping of check names to checks, got " + describe(section.value));
  }
  for (const Entry& e : named_entries(section.value, "health_checks", "check")) out.push_back(load_health_check(e));
  std::sort(out.begin(), out.end(), [](const HealthCheck& a, const HealthCheck& b) { return a.name < b.name; });
}

HealthCheck Loader::load_health_check(const Entry& item) const {
  HealthCheck c;
  c.name = item.name;
  c.line = item.key_line;
  const std::string where = "health_checks." + c.name;
  if (c.name.empty() || c.name.find_first_of(" \t/") != std::string::npos) {
    fail(item.key_line, where + ": a check name must be non-empty, without spaces or '/'");
  }
  if (!item.value.IsMap()) fail(item.value_line, where + ": expected a mapping, got " + describe(item.value));
  auto es = entries(item.value, "in " + where,
                    {"type", "target", "host", "path", "method", "headers", "expect_status", "expect_body", "body_limit",
                     "tls_verify", "ca_file", "query", "expect_rcode", "expect_answer", "children", "min_healthy",
                     "interval", "fast_interval", "jitter", "timeout", "rise", "fall", "inverted", "disabled"});
  // The type first: it decides which keys apply and the target's default port.
  const Entry* type_entry = nullptr;
  for (const Entry& e : es) {
    if (e.name == "type") type_entry = &e;
  }
  if (!type_entry) fail(item.key_line, where + ": needs a \"type\" (tcp, http, https, dns or calculated)");
  const std::string type = lower(get_string(*type_entry, where + ".type", false));
  if (type == "tcp") c.type = CheckType::Tcp;
  else if (type == "http") c.type = CheckType::Http;
  else if (type == "https") c.type = CheckType::Https;
  else if (type == "dns") c.type = CheckType::Dns;
  else if (type == "calculated") c.type = CheckType::Calculated;
  else fail(type_entry->value_line, where + ".type: unknown type " + quote(type) + " (known: tcp, http, https, dns, calculated)");
  const bool web = c.type == CheckType::Http || c.type == CheckType::Https;
  uint16_t default_port = c.type == CheckType::Http ? 80 : c.type == CheckType::Https ? 443 : c.type == CheckType::Dns ? 53 : 0;

  bool have_target = false, have_min_healthy = false, have_query = false;
  unsigned min_healthy_line = 0;
  std::string min_healthy_text;
  for (const Entry& e : es) {
    const std::string field = where + "." + e.name;
    auto only = [&](bool ok, const char* which) {
      if (!ok) fail(e.key_line, field + ": only applies to " + which + " checks");
    };
    if (e.name == "type") continue;
    if (e.name == "target") {
      only(c.type != CheckType::Calculated, "tcp, http, https and dns");
      std::string t = get_string(e, field, false);
      if (!parse_listen_address(t, default_port, c.target) || (c.target.port == 0)) {
        fail(e.value_line, field + ": invalid target " + quote(t) +
                               (default_port ? " (expected \"address[:port]\" with a numeric address)"
                                             : " (expected \"address:port\" with a numeric address)"));
      }
      have_target = true;
    } else if (e.name == "host") {
      only(web, "http and https");
      c.host = get_string(e, field, false);
    } else if (e.name == "path") {
      only(web, "http and https");
      c.path = get_string(e, field, false);
      if (c.path.empty() || c.path[0] != '/') fail(e.value_line, field + ": must start with '/'");
    } else if (e.name == "method") {
      only(web, "http and https");
      c.method = get_string(e, field, false);
      if (c.method.empty() || !std::all_of(c.method.begin(), c.method.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; })) {
        fail(e.value_line, field + ": expected an HTTP method such as GET or HEAD");
      }
    } else if (e.name == "headers") {
      only(web, "http and https");
      if (!e.value.IsMap()) fail(e.value_line, field + ": expected a mapping of header names to values");
      for (auto h = e.value.begin(); h != e.value.end(); ++h) {
        if (!h->first.IsScalar() || !h->second.IsScalar()) fail(line_of(h->first), field + ": names and values must be strings");
        c.headers.emplace_back(h->first.Scalar(), h->second.Scalar());
      }
    } else if (e.name == "expect_status") {
      only(web, "http and https");
      c.expect_status.clear();
      std::vector<YAML::Node> items;
      if (e.value.IsSequence()) {
        for (const YAML::Node& n : e.value) items.push_back(n);
      } else {
        items.push_back(e.value);
      }
      for (const YAML::Node& n : items) {
        StatusRange r;
        if (!n.IsScalar() || !parse_status_range(n.Scalar(), r)) {
          fail(line_of(n) ? line_of(n) : e.value_line,
               field + ": expected a status or range such as 200 or 200-399 (100..599), got " + describe(n));
        }
        c.expect_status.push_back(r);
      }
      if (c.expect_status.empty()) fail(e.value_line, field + ": must list at least one status");
    } else if (e.name == "expect_body") {
      only(web, "http and https");
      c.expect_body = get_string(e, field, false);
    } else if (e.name == "body_limit") {
      only(web, "http and https");
      c.body_limit = get_unsigned(e, field, 1, kMaxBodyLimit);
    } else if (e.name == "tls_verify") {
      only(c.type == CheckType::Https, "https");
      c.tls_verify = get_bool(e, field);
    } else if (e.name == "ca_file") {
      only(c.type == CheckType::Https, "https");
      c.ca_file = resolve(get_string(e, field, false)).string();
      std::error_code ec;
      if (!fs::is_regular_file(c.ca_file, ec)) fail(e.value_line, field + ": cannot read " + quote(c.ca_file));
    } else if (e.name == "query") {
      only(c.type == CheckType::Dns, "dns");
      if (!e.value.IsMap()) fail(e.value_line, field + ": expected {name: ..., type: ...}");
      for (const Entry& q : entries(e.value, "in " + field, {"name", "type"})) {
        if (q.name == "name") {
          std::vector<uint8_t> wire;
          std::string n = get_string(q, field + ".name", false);
          if (!dns::name_from_text(n, wire)) fail(q.value_line, field + ".name: " + quote(n) + " is not a valid domain name");
          c.query_name = dns::name_to_text(wire.data());
          have_query = true;
        } else {
          std::string t = get_string(q, field + ".type", false);
          c.query_type = dns::type_from_text(t);
          if (c.query_type == 0) fail(q.value_line, field + ".type: unknown type " + quote(t));
        }
      }
    } else if (e.name == "expect_rcode") {
      only(c.type == CheckType::Dns, "dns");
      std::string r = lower(get_string(e, field, false));
      static const char* names[] = {"noerror", "formerr", "servfail", "nxdomain", "notimp", "refused"};
      auto pos = std::find(std::begin(names), std::end(names), r);
      if (pos == std::end(names)) fail(e.value_line, field + ": expected NOERROR, NXDOMAIN, SERVFAIL, REFUSED, FORMERR or NOTIMP");
      c.expect_rcode = static_cast<uint16_t>(pos - std::begin(names));
    } else if (e.name == "expect_answer") {
      only(c.type == CheckType::Dns, "dns");
      c.expect_answer = get_string(e, field, false);
    } else if (e.name == "children") {
      only(c.type == CheckType::Calculated, "calculated");
      if (!e.value.IsSequence() || e.value.size() == 0) fail(e.value_line, field + ": expected a list of check names");
      for (const YAML::Node& n : e.value) {
        if (!n.IsScalar()) fail(line_of(n), field + ": expected check names, got " + describe(n));
        c.children.push_back(n.Scalar());
      }
    } else if (e.name == "min_healthy") {
      only(c.type == CheckType::Calculated, "calculated");
      min_healthy_line = e.value_line;
      if (e.value.IsScalar() && lower(e.value.Scalar()) == "all") {
        min_healthy_text = "all";
      } else {
        c.min_healthy = static_cast<unsigned>(get_unsigned(e, field, 1, 1000));
      }
      have_min_healthy = true;
    } else if (e.name == "interval" || e.name == "fast_interval" || e.name == "timeout") {
      only(c.type != CheckType::Calculated, "probed (not calculated)");
      auto d = get_duration(e, field, e.name == "fast_interval");
      if (d.count() != 0 && d < kMinInterval && e.name != "timeout") fail(e.value_line, field + ": must be at least 10ms");
      (e.name == "interval" ? c.interval : e.name == "fast_interval" ? c.fast_interval : c.timeout) = d;
    } else if (e.name == "jitter") {
      only(c.type != CheckType::Calculated, "probed (not calculated)");
      std::string j = get_string(e, field, false);
      double v = -1;
      try {
        size_t used = 0;
        if (!j.empty() && j.back() == '%') {
          v = std::stod(j.substr(0, j.size() - 1), &used) / 100.0;
          if (used != j.size() - 1) v = -1;
        } else {
          v = std::stod(j, &used);
          if (used != j.size()) v = -1;
        }
      } catch (...) {
        v = -1;
      }
      if (!(v >= 0 && v <= 0.5)) fail(e.value_line, field + ": expected a fraction of the interval from 0 to 50%, such as 10% or 0.1");
      c.jitter = v;
    } else if (e.name == "rise" || e.name == "fall") {
      only(c.type != CheckType::Calculated, "probed (not calculated)");
      (e.name == "rise" ? c.rise : c.fall) = static_cast<unsigned>(get_unsigned(e, field, 1, kMaxThreshold));
    } else if (e.name == "inverted") {
      c.inverted = get_bool(e, field);
    } else if (e.name == "disabled") {
      c.disabled = get_bool(e, field);
    }
  }
  if (c.type == CheckType::Calculated) {
    if (c.children.empty()) fail(item.key_line, where + ": a calculated check needs \"children\"");
    if (min_healthy_text == "all") c.min_healthy = static_cast<unsigned>(c.children.size());
    if (have_min_healthy && c.min_healthy > c.children.size()) {
      fail(min_healthy_line, where + ".min_healthy: " + std::to_string(c.min_healthy) + " is more than its " +
                                 std::to_string(c.children.size()) + " children");
    }
  } else {
    if (!have_target) fail(item.key_line, where + ": needs a \"target\" (address:port)");
    if (c.type == CheckType::Dns && !have_query) fail(item.key_line, where + ": a dns check needs query: {name: ..., type: ...}");
    if (c.fast_interval > c.interval) fail(item.key_line, where + ": fast_interval is longer than interval");
  }
  return c;
}

void Loader::check_value(const PolicyRecord& r, const std::string& value, unsigned line, const std::string& field) const {
  // Parsed the way a zone file line would be, so the same rules (and messages) apply.
  std::string text = ". 0 IN " + dns::type_to_text(r.type) + " " + value + "\n";
  std::string why;
  bool got = false;
  // Names in values are relative to the record's name's zone in the end (the policy layer knows
  // it); here any origin does for the syntax.
  auto res = dns::read_master_text(
      text, field, r.name.empty() ? "." : r.name,
      [&](const dns::MasterRecord& rec) {
        std::vector<uint8_t> wire(rec.rdata.begin(), rec.rdata.end());
        if (!dns::normalise_rdata(r.type, wire.data(), static_cast<uint16_t>(wire.size()), why)) return false;
        got = true;
        return true;
      });
  if (!res) {
    std::string m = res.error().message;
    size_t cut = m.find(": ", field.size());  // drop our "<field>:<line>" prefix
    fail(line, field + ": " + quote(value) + " is not valid " + dns::type_to_text(r.type) + " data: " +
                   (cut == std::string::npos ? m : m.substr(cut + 2)));
  }
  if (!got) fail(line, field + ": " + quote(value) + " is not valid " + dns::type_to_text(r.type) + " data: " + why);
}

std::vector<PolicyMember> Loader::load_members(const Entry& e, const std::string& field, const PolicyRecord& r) const {
  if (!e.value.IsSequence() || e.value.size() == 0) fail(e.value_line, field + ": expected a non-empty list of members");
  std::vector<PolicyMember> out;
  size_t i = 0;
  for (const YAML::Node& item : e.value) {
    const std::string mf = field + "[" + std::to_string(i++) + "]";
    PolicyMember m;
    m.line = line_of(item) ? line_of(item) : e.value_line;
    bool have_tier = false;
    if (item.IsScalar()) {  // shorthand: just a value
      m.value = item.Scalar();
    } else if (item.IsMap()) {
      for (const Entry& k : entries(item, "in " + mf, {"value", "record", "check", "weight", "tier", "role"})) {
        const std::string kf = mf + "." + k.name;
        if (k.name == "value") {
          m.value = get_string(k, kf, false);
        } else if (k.name == "record") {
          m.record = get_string(k, kf, false);
        } else if (k.name == "check") {
          m.check = get_string(k, kf, false);
        } else if (k.name == "weight") {
          if (r.policy != Policy::Weighted) fail(k.key_line, kf + ": only applies to weighted records");
          m.weight = static_cast<unsigned>(get_unsigned(k, kf, 0, 255));
        } else {  // tier, role
          if (r.policy != Policy::Failover) fail(k.key_line, kf + ": only applies to failover records");
          if (have_tier) fail(k.key_line, kf + ": give either tier or role, not both");
          have_tier = true;
          if (k.name == "tier") {
            m.tier = static_cast<unsigned>(get_unsigned(k, kf, 0, kMaxFailoverTier));
          } else {
            std::string role = lower(get_string(k, kf, false));
            if (role == "primary") m.tier = 0;
            else if (role == "secondary") m.tier = 1;
            else if (role == "tertiary") m.tier = 2;
            else fail(k.value_line, kf + ": expected primary, secondary or tertiary (or use tier: N)");
          }
        }
      }
    } else {
      fail(m.line, mf + ": expected a value or a mapping, got " + describe(item));
    }
    if (r.policy == Policy::Failover && !have_tier) fail(m.line, mf + ": a failover member needs a tier or role");
    if (m.value.empty() == m.record.empty()) fail(m.line, mf + ": give exactly one of value and record");
    if (!m.value.empty()) check_value(r, m.value, m.line, mf + ".value");
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<CidrGroup> Loader::load_groups(const Entry& e, const std::string& field, const PolicyRecord& r) const {
  if (!e.value.IsSequence() || e.value.size() == 0) fail(e.value_line, field + ": expected a non-empty list of groups");
  std::vector<CidrGroup> out;
  size_t i = 0;
  unsigned default_line = 0;
  for (const YAML::Node& item : e.value) {
    const std::string gf = field + "[" + std::to_string(i++) + "]";
    CidrGroup g;
    g.line = line_of(item) ? line_of(item) : e.value_line;
    if (!item.IsMap()) fail(g.line, gf + ": expected a mapping with cidr (or default: true) and members");
    bool have_members = false;
    for (const Entry& k : entries(item, "in " + gf, {"cidr", "default", "members"})) {
      const std::string kf = gf + "." + k.name;
      if (k.name == "cidr") {
        std::vector<YAML::Node> items;
        if (k.value.IsSequence()) {
          for (const YAML::Node& n : k.value) items.push_back(n);
        } else {
          items.push_back(k.value);
        }
        for (const YAML::Node& n : items) {
          Prefix p;
          std::string why;
          if (!n.IsScalar() || !parse_prefix(n.Scalar(), p, why)) {
            fail(line_of(n) ? line_of(n) : k.value_line,
                 kf + ": " + (n.IsScalar() ? quote(n.Scalar()) + ": " + why : "expected prefixes such as 10.0.0.0/8"));
          }
          g.prefixes.push_back(std::move(p));
        }
      } else if (k.name == "default") {
        g.is_default = get_bool(k, kf);
      } else {
        g.members = load_members(k, kf, r);
        have_members = true;
      }
    }
    if (g.is_default == !g.prefixes.empty()) fail(g.line, gf + ": give either cidr prefixes or default: true");
    if (g.is_default) {
      if (default_line) fail(g.line, gf + ": a second default group (first at line " + std::to_string(default_line) + ")");
      default_line = g.line;
    }
    if (!have_members) fail(g.line, gf + ": needs members");
    out.push_back(std::move(g));
  }
  // The same prefix in two groups would make the answer depend on the order.
  std::map<std::string, unsigned> seen;
  for (const CidrGroup& g : out) {
    for (const Prefix& p : g.prefixes) {
      std::string key(reinterpret_cast<const char*>(p.addr), 16);
      key += static_cast<char>(p.len);
      key += p.v6 ? '6' : '4';
      auto [pos, inserted] = seen.emplace(key, g.line);
      if (!inserted) fail(g.line, field + ": prefix " + p.text + " is in two groups (first at line " + std::to_string(pos->second) + ")");
    }
  }
  return out;
}

PolicyRecord Loader::load_record(const YAML::Node& item, const std::string& where) const {
  PolicyRecord r;
  r.line = line_of(item);
  if (!item.IsMap()) fail(r.line, where + ": expected a mapping, got " + describe(item));
  auto es = entries(item, "in " + where,
                    {"name", "id", "type", "ttl", "policy", "count", "max_answers", "all_down", "fallback", "members", "groups"});
  // Type and policy first: they decide how the rest is read.
  for (const Entry& e : es) {
    if (e.name == "type") {
      std::string t = get_string(e, where + ".type", false);
      r.type = dns::type_from_text(t);
      if (r.type == 0) fail(e.value_line, where + ".type: unknown type " + quote(t));
      if (r.type == dns::type::SOA || r.type == dns::type::NS || r.type == dns::type::OPT || r.type == dns::type::DS ||
          r.type == dns::type::RRSIG || r.type == dns::type::NSEC || r.type == dns::type::NSEC3 ||
          r.type == dns::type::DNAME || (r.type >= 128 && r.type <= 255)) {
        fail(e.value_line, where + ".type: " + t + " cannot be a policy record");
      }
    } else if (e.name == "policy") {
      std::string p = lower(get_string(e, where + ".policy", false));
      if (p == "simple") r.policy = Policy::Simple;
      else if (p == "weighted") r.policy = Policy::Weighted;
      else if (p == "failover") r.policy = Policy::Failover;
      else if (p == "multivalue") r.policy = Policy::Multivalue;
      else if (p == "cidr") r.policy = Policy::Cidr;
      else fail(e.value_line, where + ".policy: unknown policy " + quote(p) + " (known: simple, weighted, failover, multivalue, cidr)");
    }
  }
  bool have_members = false, have_groups = false, have_fallback = false, have_count = false, have_max = false;
  unsigned count_line = 0, max_line = 0;
  for (const Entry& e : es) {
    const std::string field = where + "." + e.name;
    if (e.name == "name") {
      std::vector<uint8_t> wire;
      std::string n = get_string(e, field, false);
      if (!dns::name_from_text(n, wire) || wire.size() == 1) fail(e.value_line, field + ": " + quote(n) + " is not a valid domain name");
      r.name = dns::name_to_text(wire.data());
    } else if (e.name == "id") {
      r.id = get_string(e, field, false);
      if (r.id.empty()) fail(e.value_line, field + ": must not be empty");
    } else if (e.name == "ttl") {
      r.ttl = static_cast<uint32_t>(get_unsigned(e, field, 0, 2147483647));
    } else if (e.name == "count") {
      if (r.policy != Policy::Weighted) fail(e.key_line, field + ": only applies to weighted records");
      r.count = static_cast<unsigned>(get_unsigned(e, field, 1, kMaxAnswers));
      have_count = true;
      count_line = e.value_line;
    } else if (e.name == "max_answers") {
      if (r.policy != Policy::Multivalue && r.policy != Policy::Cidr) {
        fail(e.key_line, field + ": only applies to multivalue and cidr records");
      }
      r.max_answers = static_cast<unsigned>(get_unsigned(e, field, 1, kMaxAnswers));
      have_max = true;
      max_line = e.value_line;
    } else if (e.name == "all_down") {
      std::string a = lower(get_string(e, field, false));
      if (a == "fail_open") r.all_down = AllDown::FailOpen;
      else if (a == "nodata") r.all_down = AllDown::NoData;
      else if (a == "servfail") r.all_down = AllDown::ServFail;
      else if (a == "fallback") r.all_down = AllDown::Fallback;
      else fail(e.value_line, field + ": expected fail_open, nodata, servfail or fallback");
    } else if (e.name == "members") {
      if (r.policy == Policy::Cidr) fail(e.key_line, field + ": cidr records list members inside groups");
      r.members = load_members(e, field, r);
      have_members = true;
    } else if (e.name == "groups") {
      if (r.policy != Policy::Cidr) fail(e.key_line, field + ": only applies to cidr records");
      r.groups = load_groups(e, field, r);
      have_groups = true;
    } else if (e.name == "fallback") {
      have_fallback = true;
      std::vector<YAML::Node> items;
      if (e.value.IsSequence()) {
        for (const YAML::Node& n : e.value) items.push_back(n);
      } else {
        items.push_back(e.value);
      }
      for (const YAML::Node& n : items) {
        unsigned line = line_of(n) ? line_of(n) : e.value_line;
        if (!n.IsScalar()) fail(line, field + ": expected values, got " + describe(n));
        check_value(r, n.Scalar(), line, field);
        r.fallback.push_back(n.Scalar());
      }
      if (r.fallback.empty()) fail(e.value_line, field + ": must list at least one value");
    }
  }
  if (r.policy == Policy::Cidr ? !have_groups : !have_members) {
    fail(r.line, where + (r.policy == Policy::Cidr ? ": a cidr record needs groups" : ": needs members"));
  }
  if ((r.all_down == AllDown::Fallback) != have_fallback) {
    fail(r.line, where + (have_fallback ? ": fallback values need all_down: fallback" : ": all_down: fallback needs fallback values"));
  }
  if (r.name.empty() && r.id.empty()) fail(r.line, where + ": needs a name (or an id, for a pool used by other records)");
  if (r.id.empty()) r.id = r.name + " " + dns::type_to_text(r.type);
  // A CNAME RRset holds one record: every way of choosing must give at most one value.
  if (r.type == dns::type::CNAME) {
    auto one = [&](bool ok, unsigned line, const std::string& what) {
      if (!ok) fail(line ? line : r.line, where + ": a CNAME record answers one value; " + what);
    };
    one(r.policy != Policy::Simple || r.members.size() == 1, r.line, "a simple record needs exactly one member");
    one(r.policy != Policy::Weighted || !have_count || r.count == 1, count_line, "count must be 1");
    one(!(r.policy == Policy::Multivalue || r.policy == Policy::Cidr) || (have_max && r.max_answers == 1), max_line,
        "set max_answers: 1");
    if (r.policy == Policy::Failover) {
      std::set<unsigned> tiers;
      for (const PolicyMember& m : r.members) one(tiers.insert(m.tier).second, m.line, "each tier needs exactly one member");
    }
    one(r.fallback.size() <= 1, r.line, "give one fallback value");
  }
  if (r.policy == Policy::Weighted && have_count && r.count > r.members.size()) {
    fail(count_line, where + ".count: " + std::to_string(r.count) + " is more than the " +
                         std::to_string(r.members.size()) + " members");
  }
  return r;
}

void Loader::load_records(const Entry& section, std::vector<PolicyRecord>& out) const {
  if (section.value.IsNull()) return;
  if (!section.value.IsSequence()) fail(section.value_line, "records: expected a list, got " + describe(section.value));
  size_t i = 0;
  for (const YAML::Node& item : section.value) {
    out.push_back(load_record(item, "records[" + std::to_string(i++) + "]"));
  }
}

void Loader::load_control(const Entry& section, ControlConfig& out) const {
  if (section.value.IsNull()) return;
  if (!section.value.IsMap()) fail(section.value_line, "control: expected a mapping, got " + describe(section.value));
  unsigned listen_line = 0;
  for (const Entry& e : entries(section.value, "in control", {"listen", "socket", "token"})) {
    const std::string field = "control." + e.name;
    if (e.name == "listen") {
      std::string t = get_string(e, field, false);
      if (!parse_listen_address(t, 0, out.listen) || out.listen.port == 0) {
        fail(e.value_line, field + ": invalid address " + quote(t) + " (expected \"address:port\", numeric)");
      }
      out.has_listen = true;
      listen_line = e.value_line;
    } else if (e.name == "socket") {
      out.socket = resolve(get_string(e, field, false)).string();
    } else {
      out.token = get_string(e, field, false);
      if (out.token.size() < 16) fail(e.value_line, field + ": use at least 16 characters");
    }
  }
  if (out.has_listen && !is_loopback(out.listen.address) && out.token.empty()) {
    fail(listen_line, "control.listen: " + out.listen.to_string() + " is not a loopback address; set control.token");
  }
}

void Loader::load_metrics(const Entry& section, MetricsConfig& out) const {
  if (section.value.IsNull()) return;
  if (!section.value.IsMap()) fail(section.value_line, "metrics: expected a mapping, got " + describe(section.value));
  for (const Entry& e : entries(section.value, "in metrics", {"listen"})) {
    std::string t = get_string(e, "metrics.listen", false);
    // Port 0 only when written out (the kernel picks one and the log says which: tests use it).
    if (!parse_listen_address(t, 0, out.listen) || (out.listen.port == 0 && !t.ends_with(":0"))) {
      fail(e.value_line, "metrics.listen: invalid address " + quote(t) +
                             " (expected \"address:port\", numeric, IPv6 in brackets)");
    }
    out.enabled = true;
    out.line = e.value_line;
  }
  if (!out.enabled) fail(section.value_line ? section.value_line : section.key_line, "metrics: listen is required");
}

void Loader::cross_check(Config& c) const {
  std::map<std::string, const HealthCheck*> checks;
  for (const HealthCheck& h : c.health_checks) checks[h.name] = &h;
  // Calculated checks: children exist; no cycles.
  for (const HealthCheck& h : c.health_checks) {
    for (const std::string& child : h.children) {
      if (!checks.count(child)) fail(h.line, "health_checks." + h.name + ": unknown child check " + quote(child));
      if (child == h.name) fail(h.line, "health_checks." + h.name + ": a check cannot be its own child");
    }
  }
  std::map<std::string, int> state;  // 0 unvisited, 1 on the path, 2 done
  std::function<void(const HealthCheck&)> visit = [&](const HealthCheck& h) {
    state[h.name] = 1;
    for (const std::string& child : h.children) {
      if (state[child] == 1) fail(h.line, "health_checks." + h.name + ": calculated checks form a cycle through " + quote(child));
      if (state[child] == 0) visit(*checks[child]);
    }
    state[h.name] = 2;
  };
  for (const HealthCheck& h : c.health_checks) {
    if (state[h.name] == 0) visit(h);
  }

  // Records: unique ids and (name, type); checks and nested records exist; nesting is acyclic
  // and keeps the type.
  std::map<std::string, const PolicyRecord*> by_id;
  std::map<std::pair<std::string, uint16_t>, const PolicyRecord*> by_name;
  for (const PolicyRecord& r : c.records) {
    auto [pos, inserted] = by_id.emplace(r.id, &r);
    if (!inserted) fail(r.line, "records: duplicate id " + quote(r.id) + " (first at line " + std::to_string(pos->second->line) + ")");
    if (!r.name.empty()) {
      auto [p2, ins2] = by_name.emplace(std::make_pair(r.name, r.type), &r);
      if (!ins2) {
        fail(r.line, "records: " + r.name + " " + dns::type_to_text(r.type) + " is defined twice (first at line " +
                         std::to_string(p2->second->line) + ")");
      }
    }
  }
  std::set<std::string> used;
  auto each_member = [](const PolicyRecord& r, const std::function<void(const PolicyMember&)>& f) {
    for (const PolicyMember& m : r.members) f(m);
    for (const CidrGroup& g : r.groups)
      for (const PolicyMember& m : g.members) f(m);
  };
  for (const PolicyRecord& r : c.records) {
    each_member(r, [&](const PolicyMember& m) {
      if (!m.check.empty() && !checks.count(m.check)) fail(m.line, "records " + r.id + ": unknown check " + quote(m.check));
      if (m.record.empty()) return;
      auto it = by_id.find(m.record);
      if (it == by_id.end()) fail(m.line, "records " + r.id + ": unknown record " + quote(m.record));
      if (it->second->type != r.type) {
        fail(m.line, "records " + r.id + ": nested record " + quote(m.record) + " is of type " +
                         dns::type_to_text(it->second->type) + ", not " + dns::type_to_text(r.type));
      }
      used.insert(m.record);
    });
  }
  std::map<std::string, int> rstate;
  std::function<void(const PolicyRecord&)> rvisit = [&](const PolicyRecord& r) {
    rstate[r.id] = 1;
    each_member(r, [&](const PolicyMember& m) {
      if (m.record.empty()) return;
      if (rstate[m.record] == 1) fail(m.line, "records " + r.id + ": nesting forms a cycle through " + quote(m.record));
      if (rstate[m.record] == 0) rvisit(*by_id[m.record]);
    });
    rstate[r.id] = 2;
  };
  for (const PolicyRecord& r : c.records) {
    if (rstate[r.id] == 0) rvisit(r);
  }
  for (const PolicyRecord& r : c.records) {
    if (r.name.empty() && !used.count(r.id)) {
      c.warnings.push_back(error_at(path_, r.line, "record " + quote(r.id) + " has no name and no record uses it").message);
    }
  }
}

}  // namespace detail
}  // namespace pharos::config
