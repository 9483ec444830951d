// The edge section: listeners, certificates, routes, pools, timeouts, limits, drain. Files named
// here (certificates, the ACME webroot) are not read by the loader: the edge reads them when it
// starts and on every reload, and `pharos checkconf` checks the certificates.
#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "config/loader.h"
#include "dns/name.h"

namespace pharos::config {

bool parse_size(const std::string& text, uint64_t& out) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    unsigned d = static_cast<unsigned>(text[i] - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
    ++i;
  }
  if (i == 0) return false;
  const std::string_view unit = std::string_view(text).substr(i);
  uint64_t factor = 1;
  if (unit.empty()) {
    factor = 1;
  } else if (unit == "k" || unit == "K") {
    factor = 1024;
  } else if (unit == "m" || unit == "M") {
    factor = 1024 * 1024;
  } else if (unit == "g" || unit == "G") {
    factor = 1024 * 1024 * 1024;
  } else {
    return false;
  }
  if (v > std::numeric_limits<uint64_t>::max() / factor) return false;
  out = v * factor;
  return true;
}

namespace detail {
namespace {

constexpr unsigned kMaxWeight = 1000;
constexpr size_t kMaxMembers = 256;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(dns::to_lower(static_cast<uint8_t>(c)));
  return s;
}

// A host a route or certificate names: a DNS name (letters, digits, '-', '_', dots), optionally
// "*." in front, or a numeric address. Lowercased, without a trailing dot.
bool normalise_host(const std::string& text, std::string& out, std::string& why) {
  std::string h = lower(text);
  if (!h.empty() && h.back() == '.') h.pop_back();
  if (h.empty() || h.size() > 253) {
    why = "expected a host name";
    return false;
  }
  std::string_view rest = h;
  if (rest.starts_with("*.")) rest.remove_prefix(2);
  if (rest.empty()) {
    why = "a wildcard needs a name after \"*.\"";
    return false;
  }
  size_t label = 0;
  for (char c : rest) {
    if (c == '.') {
      if (label == 0) {
        why = "empty label";
        return false;
      }
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) {
      why = "invalid character " + quote(std::string(1, c)) + " (only \"*.\" at the start, letters, digits, '-', '_' and '.')";
      return false;
    }
    if (++label > 63) {
      why = "a label is longer than 63 characters";
      return false;
    }
  }
  if (label == 0) {
    why = "empty label";
    return false;
  }
  out = std::move(h);
  return true;
}

std::vector<YAML::Node> items_of(const YAML::Node& n) {
  std::vector<YAML::Node> items;
  if (n.IsSequence()) {
    for (const YAML::Node& i : n) items.push_back(i);
  } else {
    items.push_back(n);
  }
  return items;
}

}  // namespace

uint64_t Loader::get_size(const Entry& e, const std::string& field, uint64_t min, uint64_t max) const {
  if (!e.value.IsScalar()) fail(e.value_line, field + ": expected a size such as 16384, 16k or 1m, got " + describe(e.value));
  uint64_t v = 0;
  if (!parse_size(e.value.Scalar(), v)) {
    fail(e.value_line, field + ": invalid size " + quote(e.value.Scalar()) + " (expected e.g. 16384, 16k, 1m)");
  }
  if (v < min || v > max) {
    fail(e.value_line, field + ": " + e.value.Scalar() + " is out of range " + std::to_string(min) + ".." + std::to_string(max) + " bytes");
  }
  return v;
}

void Loader::load_addresses(const Entry& e, const std::string& field, uint16_t default_port,
                            std::vector<ListenAddress>& out) const {
  std::vector<YAML::Node> items = items_of(e.value);
  if (e.value.IsNull() || (e.value.IsSequence() && e.value.size() == 0)) {
    fail(e.value_line, field + ": must list at least one address");
  }
  std::vector<unsigned> lines;
  size_t i = 0;
  for (const YAML::Node& item : items) {
    const std::string f = e.value.IsSequence() ? field + "[" + std::to_string(i++) + "]" : field;
    const unsigned line = line_of(item) ? line_of(item) : e.value_line;
    if (!item.IsScalar()) {
      fail(line, f + ": expected a string \"address:port\", got " + describe(item) + " (quote IPv6 addresses: \"[::]:443\")");
    }
    ListenAddress a;
    if (!parse_listen_address(item.Scalar(), default_port, a)) {
      fail(line, f + ": invalid listen address " + quote(item.Scalar()) +
                     " (expected a numeric IPv4 \"a.b.c.d[:port]\" or IPv6 \"[addr]:port\")");
    }
    for (size_t j = 0; j < out.size(); ++j) {
      if (out[j].address == a.address && out[j].port == a.port && a.port != 0) {
        fail(line, f + ": duplicate listen address " + a.to_string() + " (first at line " + std::to_string(lines[j]) + ")");
      }
    }
    out.push_back(std::move(a));
    lines.push_back(line);
  }
}

void Loader::load_certificates(const Entry& e, std::vector<EdgeCertificate>& out) const {
  const std::string field = "edge.https.certificates";
  if (!e.value.IsSequence() || e.value.size() == 0) {
    fail(e.value_line, field + ": expected a non-empty list of {live: DIR} or {cert: FILE, key: FILE}");
  }
  size_t i = 0;
  for (const YAML::Node& item : e.value) {
    const std::string cf = field + "[" + std::to_string(i++) + "]";
    EdgeCertificate c;
    c.line = line_of(item) ? line_of(item) : e.value_line;
    if (!item.IsMap()) fail(c.line, cf + ": expected {live: DIR} or {cert: FILE, key: FILE}, got " + describe(item));
    const Entry* live = nullptr;
    const Entry* cert = nullptr;
    const Entry* key = nullptr;
    const std::vector<Entry> es = entries(item, "in " + cf, {"live", "cert", "key", "hosts"});
    for (const Entry& k : es) {
      const std::string kf = cf + "." + k.name;
      if (k.name == "live") live = &k;
      if (k.name == "cert") cert = &k;
      if (k.name == "key") key = &k;
      if (k.name == "hosts") {
        std::vector<YAML::Node> hosts = items_of(k.value);
        if (k.value.IsNull() || hosts.empty()) fail(k.value_line, kf + ": expected a list of host names");
        for (const YAML::Node& h : hosts) {
          const unsigned line = line_of(h) ? line_of(h) : k.value_line;
          if (!h.IsScalar()) fail(line, kf + ": expected host names, got " + describe(h));
          std::string norm, why;
          if (!normalise_host(h.Scalar(), norm, why)) fail(line, kf + ": " + quote(h.Scalar()) + ": " + why);
          c.hosts.push_back(std::move(norm));
        }
      }
    }
    if (live) {
      if (cert || key) fail((cert ? cert : key)->key_line, cf + ": give either live or cert and key, not both");
      const std::string dir = get_string(*live, cf + ".live", false);
      if (dir.empty()) fail(live->value_line, cf + ".live: must not be empty");
      const fs::path d = resolve(dir);
      c.cert_file = (d / "fullchain.pem").string();
      c.key_file = (d / "privkey.pem").string();
    } else {
      if (!cert || !key) fail(c.line, cf + ": needs live: DIR, or both cert and key");
      const std::string cert_text = get_string(*cert, cf + ".cert", false);
      const std::string key_text = get_string(*key, cf + ".key", false);
      if (cert_text.empty()) fail(cert->value_line, cf + ".cert: must not be empty");
      if (key_text.empty()) fail(key->value_line, cf + ".key: must not be empty");
      c.cert_file = resolve(cert_text).string();
      c.key_file = resolve(key_text).string();
    }
    for (const EdgeCertificate& o : out) {
      if (o.cert_file == c.cert_file) {
        fail(c.line, cf + ": certificate " + quote(c.cert_file) + " is listed twice (first at line " + std::to_string(o.line) + ")");
      }
    }
    out.push_back(std::move(c));
  }
}

void Loader::load_routes(const Entry& e, std::vector<EdgeRoute>& out) const {
  const std::string field = "edge.routes";
  if (!e.value.IsSequence() || e.value.size() == 0) fail(e.value_line, field + ": expected a non-empty list of routes");
  std::map<std::pair<std::string, std::string>, unsigned> seen;  // (host, path) -> line
  size_t i = 0;
  for (const YAML::Node& item : e.value) {
    const std::string rf = field + "[" + std::to_string(i++) + "]";
    EdgeRoute r;
    r.line = line_of(item) ? line_of(item) : e.value_line;
    if (!item.IsMap()) fail(r.line, rf + ": expected a mapping with host, path and pool, got " + describe(item));
    bool have_pool = false;
    for (const Entry& k : entries(item, "in " + rf, {"host", "path", "pool"})) {
      const std::string kf = rf + "." + k.name;
      if (k.name == "host") {
        std::vector<YAML::Node> hosts = items_of(k.value);
        if (k.value.IsNull() || hosts.empty()) fail(k.value_line, kf + ": expected a host name or a list of them");
        for (const YAML::Node& h : hosts) {
          const unsigned line = line_of(h) ? line_of(h) : k.value_line;
          if (!h.IsScalar()) fail(line, kf + ": expected host names, got " + describe(h));
          if (h.Scalar() == "*") continue;  // any host
          std::string norm, why;
          if (!normalise_host(h.Scalar(), norm, why)) fail(line, kf + ": " + quote(h.Scalar()) + ": " + why);
          r.hosts.push_back(std::move(norm));
        }
      } else if (k.name == "path") {
        r.path = get_string(k, kf, false);
        if (r.path.empty() || r.path[0] != '/') fail(k.value_line, kf + ": must start with '/'");
        if (r.path.find_first_of(" \t?#") != std::string::npos) fail(k.value_line, kf + ": a path prefix has no spaces, '?' or '#'");
      } else {
        r.pool = get_string(k, kf, false);
        have_pool = true;
      }
    }
    if (!have_pool) fail(r.line, rf + ": needs a pool");
    std::vector<std::string> keys = r.hosts.empty() ? std::vector<std::string>{"*"} : r.hosts;
    for (const std::string& h : keys) {
      auto [pos, inserted] = seen.emplace(std::make_pair(h, r.path), r.line);
      if (!inserted) {
        fail(r.line, rf + ": host " + h + " with path " + r.path + " is routed twice (first at line " +
                         std::to_string(pos->second) + ")");
      }
    }
    out.push_back(std::move(r));
  }
}

// {allow: [networks], deny: [networks]}; a network is "10.0.0.0/8", "2001:db8::/32" or an address.
void Loader::load_access(const Entry& e, EdgeAccess& out) const {
  if (!e.value.IsMap()) fail(e.value_line, "edge.access: expected a mapping with allow and deny, got " + describe(e.value));
  std::map<std::string, std::pair<bool, unsigned>> seen;  // network -> (allowed, line)
  for (const Entry& k : entries(e.value, "in edge.access", {"allow", "deny"})) {
    const std::string kf = "edge.access." + k.name;
    const bool allow = k.name == "allow";
    if (k.value.IsNull() || (k.value.IsSequence() && k.value.size() == 0)) fail(k.value_line, kf + ": expected a list of networks");
    size_t i = 0;
    for (const YAML::Node& n : items_of(k.value)) {
      const std::string f = k.value.IsSequence() ? kf + "[" + std::to_string(i++) + "]" : kf;
      const unsigned line = line_of(n) ? line_of(n) : k.value_line;
      if (!n.IsScalar()) fail(line, f + ": expected a network such as 192.0.2.0/24 or an address, got " + describe(n));
      std::string text = n.Scalar();
      if (text.find('/') == std::string::npos) text += text.find(':') == std::string::npos ? "/32" : "/128";
      Prefix p;
      std::string why;
      if (!parse_prefix(text, p, why)) fail(line, f + ": " + quote(n.Scalar()) + ": " + why);
      const std::string norm = std::string(p.v6 ? "6 " : "4 ") + std::string(reinterpret_cast<const char*>(p.addr), 16) +
                               std::to_string(p.len);
      auto [it, inserted] = seen.emplace(norm, std::make_pair(allow, line));
      if (!inserted) {
        fail(line, f + ": " + quote(n.Scalar()) + " is listed " + (it->second.first == allow ? "twice" : "in both allow and deny") +
                       " (first at line " + std::to_string(it->second.second) + ")");
      }
      (allow ? out.allow : out.deny).push_back(std::move(p));
    }
  }
}

// `tls: true`, or a mapping {name, ca_file, verify, cert, key}.
EdgeUpstreamTls Loader::load_upstream_tls(const Entry& e, const std::string& field) const {
  EdgeUpstreamTls t;
  t.line = e.key_line;
  if (e.value.IsScalar()) {
    t.enabled = get_bool(e, field);
    return t;
  }
  if (!e.value.IsMap()) {
    fail(e.value_line, field + ": expected true, false or a mapping with name, ca_file, verify, cert and key, got " +
                           describe(e.value));
  }
  t.enabled = true;
  const Entry* cert = nullptr;
  const Entry* key = nullptr;
  const std::vector<Entry> es = entries(e.value, "in " + field, {"name", "ca_file", "verify", "cert", "key"});
  for (const Entry& k : es) {
    const std::string kf = field + "." + k.name;
    if (k.name == "name") {
      std::string why;
      const std::string name = get_string(k, kf, false);
      if (!normalise_host(name, t.name, why) || t.name.starts_with("*.")) {
        fail(k.value_line, kf + ": " + quote(name) + ": " + (why.empty() ? "a wildcard is not a name to verify" : why));
      }
    } else if (k.name == "ca_file") {
      const std::string f = get_string(k, kf, false);
      if (f.empty()) fail(k.value_line, kf + ": must not be empty");
      t.ca_file = resolve(f).string();
    } else if (k.name == "verify") {
      t.verify = get_bool(k, kf);
    } else if (k.name == "cert") {
      cert = &k;
      const std::string f = get_string(k, kf, false);
      if (f.empty()) fail(k.value_line, kf + ": must not be empty");
      t.cert_file = resolve(f).string();
    } else {
      key = &k;
      const std::string f = get_string(k, kf, false);
      if (f.empty()) fail(k.value_line, kf + ": must not be empty");
      t.key_file = resolve(f).string();
    }
  }
  if ((cert == nullptr) != (key == nullptr)) {
    fail((cert ? cert : key)->key_line, field + ": a client certificate needs both cert and key");
  }
  return t;
}

EdgePool Loader::load_pool(const Entry& item) const {
  EdgePool p;
  p.name = item.name;
  p.line = item.key_line;
  const std::string where = "edge.pools." + p.name;
  if (p.name.empty() || p.name.find_first_of(" \t/") != std::string::npos) {
    fail(item.key_line, where + ": a pool name must be non-empty, without spaces or '/'");
  }
  if (!item.value.IsMap()) fail(item.value_line, where + ": expected a mapping with members, got " + describe(item.value));
  bool have_members = false;
  for (const Entry& e : entries(item.value, "in " + where, {"balance", "members", "max_fails", "fail_timeout", "fail_status", "websocket", "tls", "proxy_protocol"})) {
    const std::string field = where + "." + e.name;
    if (e.name == "balance") {
      const std::string b = lower(get_string(e, field, false));
      if (b == "round_robin") p.balance = Balance::RoundRobin;
      else if (b == "least_connections") p.balance = Balance::LeastConnections;
      else if (b == "ip_hash") p.balance = Balance::IpHash;
      else if (b == "weighted") p.balance = Balance::Weighted;
      else fail(e.value_line, field + ": unknown rule " + quote(b) + " (known: round_robin, least_connections, ip_hash, weighted)");
    } else if (e.name == "members") {
      if (!e.value.IsSequence() || e.value.size() == 0) fail(e.value_line, field + ": expected a non-empty list of members");
      if (e.value.size() > kMaxMembers) fail(e.value_line, field + ": more than " + std::to_string(kMaxMembers) + " members");
      size_t i = 0;
      for (const YAML::Node& n : e.value) {
        const std::string mf = field + "[" + std::to_string(i++) + "]";
        EdgeMember m;
        m.line = line_of(n) ? line_of(n) : e.value_line;
        std::string address;
        unsigned address_line = m.line;
        if (n.IsScalar()) {
          address = n.Scalar();
        } else if (n.IsMap()) {
          bool have_address = false;
          for (const Entry& k : entries(n, "in " + mf, {"address", "weight", "check"})) {
            const std::string kf = mf + "." + k.name;
            if (k.name == "address") {
              address = get_string(k, kf, false);
              address_line = k.value_line;
              have_address = true;
            } else if (k.name == "weight") {
              m.weight = static_cast<unsigned>(get_unsigned(k, kf, 1, kMaxWeight));
            } else {
              m.check = get_string(k, kf, false);
              if (m.check.empty()) fail(k.value_line, kf + ": must not be empty");
            }
          }
          if (!have_address) fail(m.line, mf + ": needs an address (\"address:port\")");
        } else {
          fail(m.line, mf + ": expected \"address:port\" or a mapping with address, weight and check, got " + describe(n));
        }
        if (!parse_listen_address(address, 0, m.address) || m.address.port == 0) {
          fail(address_line, mf + ": invalid member address " + quote(address) + " (expected a numeric \"address:port\")");
        }
        for (const EdgeMember& o : p.members) {
          if (o.address.address == m.address.address && o.address.port == m.address.port) {
            fail(address_line, mf + ": member " + m.address.to_string() + " is listed twice (first at line " +
                                    std::to_string(o.line) + ")");
          }
        }
        p.members.push_back(std::move(m));
      }
      have_members = true;
    } else if (e.name == "max_fails") {
      p.max_fails = static_cast<unsigned>(get_unsigned(e, field, 0, 1000));
    } else if (e.name == "fail_timeout") {
      p.fail_timeout = get_duration(e, field, false);
    } else if (e.name == "websocket") {
      p.websocket = get_bool(e, field);
    } else if (e.name == "tls") {
      p.tls = load_upstream_tls(e, field);
    } else if (e.name == "proxy_protocol") {
      const std::string v = e.value.IsScalar() ? lower(e.value.Scalar()) : std::string();
      if (v == "v1" || v == "1") p.proxy_protocol = ProxyProtocol::V1;
      else if (v == "v2" || v == "2") p.proxy_protocol = ProxyProtocol::V2;
      else if (v == "off" || v == "false" || v == "no") p.proxy_protocol = ProxyProtocol::Off;
      else fail(e.value_line, field + ": expected v1, v2 or off, got " + describe(e.value));
    } else {  // fail_status
      p.fail_status.clear();
      for (const YAML::Node& n : items_of(e.value)) {
        StatusRange r;
        if (!n.IsScalar() || !parse_status_range(n.Scalar(), r)) {
          fail(line_of(n) ? line_of(n) : e.value_line,
               field + ": expected a status or range such as 502 or 500-599, got " + describe(n));
        }
        p.fail_status.push_back(r);
      }
    }
  }
  if (!have_members) fail(item.key_line, where + ": needs members");
  return p;
}

void Loader::load_pools(const Entry& section, std::vector<EdgePool>& out) const {
  if (!section.value.IsMap() || section.value.size() == 0) {
    fail(section.value_line, "edge.pools: expected a mapping of pool names to pools, got " + describe(section.value));
  }
  for (const Entry& e : named_entries(section.value, "edge.pools", "pool")) out.push_back(load_pool(e));
  std::sort(out.begin(), out.end(), [](const EdgePool& a, const EdgePool& b) { return a.name < b.name; });
}

void Loader::load_edge(const Entry& section, EdgeConfig& out) const {
  out.enabled = true;
  out.line = section.key_line;
  if (!section.value.IsMap()) fail(section.value_line, "edge: expected a mapping, got " + describe(section.value));
  bool have_routes = false, have_pools = false, have_https = false, have_http = false;
  for (const Entry& e : entries(section.value, "in edge",
                                {"workers", "https", "http", "routes", "pools", "timeouts", "limits", "access", "drain",
                                 "health_path", "trust_forwarded", "access_log"})) {
    const std::string field = "edge." + e.name;
    if (e.name == "workers") {
      out.workers = static_cast<unsigned>(get_unsigned(e, field, 0, kMaxWorkers));
    } else if (e.name == "https") {
      if (!e.value.IsMap()) fail(e.value_line, field + ": expected a mapping with listen and certificates, got " + describe(e.value));
      bool have_listen = false, have_certs = false;
      for (const Entry& k : entries(e.value, "in edge.https", {"listen", "certificates"})) {
        if (k.name == "listen") {
          load_addresses(k, "edge.https.listen", 443, out.https_listen);
          have_listen = true;
        } else {
          load_certificates(k, out.certificates);
          have_certs = true;
        }
      }
      if (!have_listen) fail(e.key_line, field + ": needs listen (e.g. [\"0.0.0.0:443\"])");
      if (!have_certs) fail(e.key_line, field + ": needs certificates");
      have_https = true;
    } else if (e.name == "http") {
      if (!e.value.IsMap()) fail(e.value_line, field + ": expected a mapping with listen and acme_webroot, got " + describe(e.value));
      bool have_listen = false;
      for (const Entry& k : entries(e.value, "in edge.http", {"listen", "acme_webroot"})) {
        if (k.name == "listen") {
          load_addresses(k, "edge.http.listen", 80, out.http_listen);
          have_listen = true;
        } else {
          const std::string w = get_string(k, "edge.http.acme_webroot", false);
          if (w.empty()) fail(k.value_line, "edge.http.acme_webroot: must not be empty");
          out.acme_webroot = resolve(w).string();
        }
      }
      if (!have_listen) fail(e.key_line, field + ": needs listen (e.g. [\"0.0.0.0:80\"])");
      have_http = true;
    } else if (e.name == "routes") {
      load_routes(e, out.routes);
      have_routes = true;
    } else if (e.name == "pools") {
      load_pools(e, out.pools);
      have_pools = true;
    } else if (e.name == "timeouts") {
      if (!e.value.IsMap()) fail(e.value_line, field + ": expected a mapping, got " + describe(e.value));
      EdgeTimeouts& t = out.timeouts;
      for (const Entry& k : entries(e.value, "in edge.timeouts",
                                    {"client_header", "client_body", "client_idle", "client_send", "upstream_connect",
                                     "upstream_response", "upstream_idle", "websocket_idle"})) {
        const auto d = get_duration(k, "edge.timeouts." + k.name, k.name == "upstream_idle");
        if (k.name == "client_header") t.client_header = d;
        else if (k.name == "client_body") t.client_body = d;
        else if (k.name == "client_idle") t.client_idle = d;
        else if (k.name == "client_send") t.client_send = d;
        else if (k.name == "upstream_connect") t.upstream_connect = d;
        else if (k.name == "upstream_response") t.upstream_response = d;
        else if (k.name == "websocket_idle") t.websocket_idle = d;
        else t.upstream_idle = d;
      }
    } else if (e.name == "limits") {
      if (!e.value.IsMap()) fail(e.value_line, field + ": expected a mapping, got " + describe(e.value));
      EdgeLimits& l = out.limits;
      for (const Entry& k : entries(e.value, "in edge.limits",
                                    {"header_bytes", "body_bytes", "max_connections", "upstream_idle_per_member",
                                     "client_connections", "client_rate", "client_burst", "client_ipv6_prefix"})) {
        const std::string kf = "edge.limits." + k.name;
        if (k.name == "header_bytes") l.header_bytes = get_size(k, kf, 1024, 1024 * 1024);
        else if (k.name == "body_bytes") l.body_bytes = get_size(k, kf, 0, uint64_t{1} << 32);
        else if (k.name == "max_connections") l.max_connections = static_cast<unsigned>(get_unsigned(k, kf, 1, 10000000));
        else if (k.name == "client_connections") l.client_connections = static_cast<unsigned>(get_unsigned(k, kf, 0, 10000000));
        else if (k.name == "client_rate") l.client_rate = static_cast<unsigned>(get_unsigned(k, kf, 0, 1000000));
        else if (k.name == "client_burst") l.client_burst = static_cast<unsigned>(get_unsigned(k, kf, 0, 1000000));
        else if (k.name == "client_ipv6_prefix") l.client_ipv6_prefix = static_cast<unsigned>(get_unsigned(k, kf, 1, 128));
        else l.upstream_idle_per_member = static_cast<unsigned>(get_unsigned(k, kf, 0, 100000));
      }
      if (l.client_burst != 0 && l.client_rate == 0) {
        fail(e.value_line, "edge.limits.client_burst: needs client_rate");
      }
    } else if (e.name == "access") {
      load_access(e, out.access);
    } else if (e.name == "drain") {
      if (!e.value.IsMap()) fail(e.value_line, field + ": expected a mapping with delay and timeout, got " + describe(e.value));
      for (const Entry& k : entries(e.value, "in edge.drain", {"delay", "timeout"})) {
        (k.name == "delay" ? out.drain_delay : out.drain_timeout) = get_duration(k, "edge.drain." + k.name, true);
      }
    } else if (e.name == "health_path") {
      out.health_path = get_string(e, field, false);
      if (out.health_path.size() < 2 || out.health_path[0] != '/' ||
          out.health_path.find_first_of(" \t?#") != std::string::npos) {
        fail(e.value_line, field + ": expected a path such as /_pharos/health");
      }
    } else if (e.name == "trust_forwarded") {
      out.trust_forwarded = get_bool(e, field);
    } else {  // access_log
      const std::string v = get_string(e, field, false);
      if (v.empty()) fail(e.value_line, field + ": expected stderr, off or a file path");
      out.access_log = (v == "stderr" || v == "off") ? v : resolve(v).string();
    }
  }
  if (!have_https && !have_http) fail(section.key_line, "edge: needs https (listen and certificates) or http (listen)");
  if (!have_pools) fail(section.key_line, "edge: needs pools");
  if (!have_routes) fail(section.key_line, "edge: needs routes");
}

void Loader::cross_check_edge(Config& c) const {
  if (!c.edge.enabled) return;
  std::set<std::string> pools, used;
  for (const EdgePool& p : c.edge.pools) pools.insert(p.name);
  for (const EdgeRoute& r : c.edge.routes) {
    if (!pools.count(r.pool)) fail(r.line, "edge.routes: unknown pool " + quote(r.pool));
    used.insert(r.pool);
  }
  std::set<std::string> checks;
  for (const HealthCheck& h : c.health_checks) checks.insert(h.name);
  for (const EdgePool& p : c.edge.pools) {
    for (const EdgeMember& m : p.members) {
      if (!m.check.empty() && !checks.count(m.check)) {
        fail(m.line, "edge.pools." + p.name + ": unknown check " + quote(m.check));
      }
    }
    if (!used.count(p.name)) {
      c.warnings.push_back(error_at(path_, p.line, "edge pool " + quote(p.name) + " is not used by any route").message);
    }
  }
}

}  // namespace detail
}  // namespace pharos::config
