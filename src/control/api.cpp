#include "control/api.h"

#include <charconv>
#include <map>

#include <boost/json.hpp>

#include "common/log.h"
#include "config/config.h"
#include "control/status_files.h"
#include "control/wire.h"
#include "dns/name.h"

namespace pharos::control {

namespace json = boost::json;

namespace {

Reply json_reply(unsigned status, const json::value& v) {
  Reply r;
  r.status = status;
  r.body = json::serialize(v);
  return r;
}

Reply method_not_allowed(const std::string& method, const std::string& path, const char* allow) {
  Reply r = error_reply(405, "method " + method + " is not allowed on " + path + " (allowed: " + allow + ")");
  r.allow = allow;
  return r;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

const char* kind_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

}  // namespace

Reply error_reply(unsigned status, const std::string& message) {
  Reply r = json_reply(status, json::object{{"error", message}});
  r.error = message;
  return r;
}

bool token_equal(std::string_view given, std::string_view expected) {
  unsigned char diff = given.size() != expected.size();
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0;
}

Api::Api(Hooks hooks, std::string token) : hooks_(std::move(hooks)), token_(std::move(token)) {}

// Empty when the request may go on; otherwise the 401 to send.
std::optional<Reply> Api::refuse(const Request& request) const {
  if (token_.empty()) return std::nullopt;
  std::string_view auth = request.authorization;
  Reply r;
  if (auth.empty()) {
    r = error_reply(401, "this control API needs a bearer token (Authorization: Bearer TOKEN)");
  } else if (auth.size() < 7 || !iequals(auth.substr(0, 7), "bearer ")) {
    r = error_reply(401, "unsupported authorization scheme; use Authorization: Bearer TOKEN");
  } else {
    auth.remove_prefix(7);
    while (!auth.empty() && auth.front() == ' ') auth.remove_prefix(1);
    if (token_equal(auth, token_)) return std::nullopt;
    r = error_reply(401, "invalid token");
  }
  r.auth_failed = true;
  return r;
}

const Reply* status_page_file(const std::string& path) {
  static const std::map<std::string, Reply> files = [] {
    std::map<std::string, Reply> out;
    for (size_t i = 0; i < kStatusFileCount; ++i) {
      const EmbeddedFile& f = kStatusFiles[i];
      const std::string name = f.name;
      Reply r;
      r.body.assign(reinterpret_cast<const char*>(f.data), f.size);
      const auto dot = name.rfind('.');
      const std::string ext = dot == std::string::npos ? "" : name.substr(dot + 1);
      r.content_type = ext == "html"  ? "text/html; charset=utf-8"
                       : ext == "js"  ? "text/javascript; charset=utf-8"
                       : ext == "css" ? "text/css; charset=utf-8"
                                      : "application/octet-stream";
      out.emplace("/" + name, r);
      if (name == "index.html") {
        out.emplace("/", r);
        out.emplace("/status", r);
      }
    }
    return out;
  }();
  auto it = files.find(path);
  return it == files.end() ? nullptr : &it->second;
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_query_string(std::string_view query) {
  auto decode = [](std::string_view in, std::string& out) {
    for (size_t i = 0; i < in.size(); ++i) {
      const char c = in[i];
      if (c == '+') {
        out += ' ';
      } else if (c == '%') {
        if (i + 2 >= in.size()) return false;
        int v = 0;
        for (int k = 1; k <= 2; ++k) {
          const char h = in[i + k];
          v = v * 16 + (h >= '0' && h <= '9'   ? h - '0'
                        : h >= 'a' && h <= 'f' ? h - 'a' + 10
                        : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                               : -1000);
        }
        if (v < 0) return false;
        out += static_cast<char>(v);
        i += 2;
      } else {
        out += c;
      }
    }
    return true;
  };
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    std::pair<std::string, std::string> kv;
    if (!decode(part.substr(0, eq), kv.first)) return std::nullopt;
    if (eq != std::string_view::npos && !decode(part.substr(eq + 1), kv.second)) return std::nullopt;
    out.push_back(std::move(kv));
  }
  return out;
}

Reply Api::handle(const Request& request) const {
  std::string path = request.target.substr(0, request.target.find('?'));
  if (hooks_.metrics_only) {
    return path == "/metrics" ? get_metrics(request.method) : error_reply(404, "no such endpoint: " + path + " (known: /metrics)");
  }
  // The status page's files need no token: they hold no data (the page's requests carry it).
  if (request.method == "GET") {
    if (const Reply* file = status_page_file(path)) return *file;
  }
  if (auto refused = refuse(request)) return std::move(*refused);
  try {
    return route(request, path);
  } catch (const std::exception& e) {
    log::get("control")->error("control: {} {} failed: {}", request.method, path, e.what());
    return error_reply(500, std::string("internal error: ") + e.what());
  }
}

Reply Api::route(const Request& request, const std::string& path) const {
  const std::string& m = request.method;
  if (path == "/v1/status") return m == "GET" ? get_status() : method_not_allowed(m, path, "GET");
  if (path == "/v1/checks") return m == "GET" ? get_checks() : method_not_allowed(m, path, "GET");
  if (path == "/v1/overrides") {
    if (m == "GET") return get_overrides();
    if (m == "POST") return post_override(request.body);
    return method_not_allowed(m, path, "GET, POST");
  }
  constexpr std::string_view kOverride = "/v1/overrides/";
  if (path.size() > kOverride.size() && path.compare(0, kOverride.size(), kOverride) == 0 &&
      path.find('/', kOverride.size()) == std::string::npos) {
    if (m == "DELETE") return delete_override(path.substr(kOverride.size()));
    return method_not_allowed(m, path, "DELETE");
  }
  if (path == "/v1/reload") return m == "POST" ? post_reload() : method_not_allowed(m, path, "POST");
  if (path == "/v1/explain") {
    const size_t q = request.target.find('?');
    return m == "GET" ? get_explain(q == std::string::npos ? "" : request.target.substr(q + 1))
                      : method_not_allowed(m, path, "GET");
  }
  if (path == "/metrics") return get_metrics(m);
  return error_reply(404, "no such endpoint: " + path +
                              " (known: /v1/status, /v1/checks, /v1/overrides, /v1/overrides/{id}, /v1/reload, "
                              "/v1/explain, /metrics, and the status page at /)");
}

Reply Api::get_metrics(const std::string& method) const {
  if (method != "GET") return method_not_allowed(method, "/metrics", "GET");
  if (!hooks_.metrics) return error_reply(404, "no metrics in this process");
  Reply r;
  r.body = hooks_.metrics();
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

Reply Api::get_status() const {
  health::EngineStatus st;
  if (hooks_.health) st = hooks_.health->status();
  json::object o;
  o["version"] = hooks_.version;
  o["now"] = time_json(health::Clock::now());
  o["queries"] = hooks_.queries ? json::value(hooks_.queries()) : json::value(nullptr);
  o["view_version"] = st.view_version;
  json::value zones = hooks_.zones ? hooks_.zones() : json::value(nullptr);
  o["zones"] = zones.is_null() ? json::value(json::array()) : std::move(zones);
  json::array checks;
  for (const auto& c : st.checks) checks.push_back(check_json(c, st.overrides));
  o["checks"] = std::move(checks);
  json::array overrides;
  for (const auto& e : st.overrides) overrides.push_back(override_json(e));
  o["overrides"] = std::move(overrides);
  json::value records = hooks_.records ? hooks_.records(st) : json::value(nullptr);
  o["records"] = records.is_null() ? json::value(json::array()) : std::move(records);
  return json_reply(200, o);
}

Reply Api::get_checks() const {
  health::EngineStatus st;
  if (hooks_.health) st = hooks_.health->status();
  json::array checks;
  for (const auto& c : st.checks) checks.push_back(check_json(c, st.overrides));
  return json_reply(200, json::object{{"view_version", st.view_version}, {"checks", std::move(checks)}});
}

Reply Api::get_overrides() const {
  json::array overrides;
  if (hooks_.health) {
    for (const auto& e : hooks_.health->status().overrides) overrides.push_back(override_json(e));
  }
  return json_reply(200, json::object{{"overrides", std::move(overrides)}});
}

Reply Api::post_override(const std::string& body) const {
  if (!hooks_.health) return error_reply(503, "no health engine is running");
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return error_reply(400, "request body is not valid JSON: " + ec.message());
  if (!v.is_object()) return error_reply(400, std::string("request body must be a JSON object, got ") + kind_of(v));
  const json::object& o = v.as_object();
  std::string check, record, value, action, for_text, until_text;
  bool has_check = false, has_record = false, has_value = false, has_for = false, has_until = false;
  health::OverrideEntry e;
  for (const auto& [key, val] : o) {
    std::string* out = nullptr;
    if (key == "check") {
      out = &check;
      has_check = true;
    } else if (key == "record") {
      out = &record;
      has_record = true;
    } else if (key == "value") {
      out = &value;
      has_value = true;
    } else if (key == "action") {
      out = &action;
    } else if (key == "for") {
      out = &for_text;
      has_for = true;
    } else if (key == "until") {
      out = &until_text;
      has_until = true;
    } else if (key == "reason") {
      out = &e.reason;
    } else {
      return error_reply(400, "unknown field " + dns::quote(key) +
                                  " (known: check, record, value, action, for, until, reason)");
    }
    if (!val.is_string()) {
      return error_reply(400, "field " + std::string(key) + " must be a string, got " + kind_of(val));
    }
    *out = std::string(val.as_string());
  }
  if (has_check == (has_record || has_value)) {
    return error_reply(400, "say what to override: \"check\", or \"record\" and \"value\"");
  }
  if (has_check) {
    if (check.empty()) return error_reply(400, "field check must not be empty");
    e.on_check = true;
    e.check = check;
  } else {
    if (!has_record || !has_value) return error_reply(400, "a member override needs both \"record\" and \"value\"");
    e.member = health::MemberKey{record, value};
  }
  if (action.empty()) return error_reply(400, "field action is required: up, down or drain");
  auto act = parse_override_action(action);
  if (!act) return error_reply(400, "unknown action " + dns::quote(action) + " (known: up, down, drain)");
  e.action = *act;
  if (has_for && has_until) return error_reply(400, "give \"for\" or \"until\", not both");
  if (has_for) {
    std::chrono::milliseconds d{};
    if (!config::parse_duration(for_text, d) || d.count() <= 0) {
      return error_reply(400, "invalid duration " + dns::quote(for_text) + " in \"for\" (expected e.g. 30s, 10m, 2h)");
    }
    e.until = health::Clock::now() + d;
  }
  if (has_until) {
    auto t = parse_time(until_text);
    if (!t) {
      return error_reply(400, "invalid time " + dns::quote(until_text) +
                                  " in \"until\" (expected RFC 3339, e.g. 2024-05-01T10:00:00Z)");
    }
    e.until = *t;
  }
  auto r = hooks_.health->set_override(std::move(e));
  if (!r) return error_reply(400, r.error().message);
  Reply reply = json_reply(201, override_json(*r));
  reply.location = "/v1/overrides/" + std::to_string(r->id);
  return reply;
}

Reply Api::delete_override(const std::string& id_text) const {
  uint64_t id = 0;
  const char* end = id_text.data() + id_text.size();
  auto [p, ec] = std::from_chars(id_text.data(), end, id);
  if (ec != std::errc() || p != end) return error_reply(404, "no override with id " + dns::quote(id_text));
  if (!hooks_.health || !hooks_.health->clear_override(id)) {
    return error_reply(404, "no override with id " + std::to_string(id));
  }
  Reply r;
  r.status = 204;
  return r;
}

Reply Api::get_explain(const std::string& query) const {
  if (!hooks_.explain) return error_reply(503, "explain is not available (no DNS role)");
  auto params = parse_query_string(query);
  if (!params) return error_reply(400, "malformed query string (a % escape is not two hex digits)");
  ExplainQuery q;
  bool has_name = false;
  for (const auto& [key, value] : *params) {
    std::string* out = key == "name" ? &q.name : key == "type" ? &q.type : key == "client" ? &q.client
                     : key == "subnet" ? &q.subnet : nullptr;
    if (!out) return error_reply(400, "unknown parameter " + dns::quote(key) + " (known: name, type, client, subnet)");
    if (key == "name") has_name = true;
    *out = value;
  }
  if (!has_name || q.name.empty()) {
    return error_reply(400, "say what to explain: /v1/explain?name=www.example.com&type=A&client=203.0.113.7");
  }
  auto r = hooks_.explain(q);
  if (!r) return error_reply(400, r.error().message);
  return json_reply(200, *r);
}

Reply Api::post_reload() const {
  if (!hooks_.reload) return error_reply(503, "reload is not available");
  hooks_.reload();
  log::get("control")->info("control: reload requested");
  return json_reply(202, json::object{{"status", "reload requested"}});
}

}  // namespace pharos::control
