// `pharos ctl`: parses its arguments, finds the control API (a socket, an address, or the
// control section of a config), sends one request with Beast and prints the answer.
#include "control/ctl.h"

#include <sys/un.h>

#include <cctype>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "config/config.h"
#include "control/wire.h"

namespace pharos::control {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;
using boost::system::error_code;

namespace {

constexpr auto kUse = asio::as_tuple(asio::use_awaitable);
constexpr auto kConnectTimeout = std::chrono::seconds(5);
constexpr auto kRequestTimeout = std::chrono::seconds(30);
constexpr size_t kResponseLimit = 64 << 20;

constexpr const char* kUsage =
    "usage: pharos ctl [--config FILE | --socket PATH | --address HOST:PORT] [--token TOKEN] [--json] COMMAND\n"
    "commands:\n"
    "  status                      checks, overrides and records\n"
    "  checks                      checks only\n"
    "  override up|down|drain (--check NAME | --record ID --value VALUE)\n"
    "           [--for DURATION | --until RFC3339-TIME] [--reason TEXT]\n"
    "  override list               overrides in force\n"
    "  override clear ID           remove an override\n"
    "  drain (CHECK | --check NAME | --record ID --value VALUE) [--for DURATION | --until TIME] [--reason TEXT]\n"
    "                              take a host (a check) or one member out of the answers\n"
    "  undrain (CHECK | --check NAME | --record ID --value VALUE)\n"
    "                              clear the drain overrides on it\n"
    "  explain NAME [TYPE] [--client ADDRESS] [--subnet PREFIX/LEN]\n"
    "                              how the answer to that query comes about now\n"
    "  reload                      ask the server to reload its config\n"
    "The token may also come from $PHAROS_TOKEN, or from the config given with --config.\n"
    "Exit status: 0 ok, 1 the server answered with an error, 2 usage, 3 cannot connect.\n";

// ---- arguments ------------------------------------------------------------------------------

struct Options {
  std::map<std::string, std::string> values;  // "--config" -> "FILE"
  bool json = false;
  bool help = false;
  std::vector<std::string> words;

  bool has(const std::string& name) const { return values.count(name) != 0; }
  const std::string& get(const std::string& name) const { return values.at(name); }
};

const std::vector<std::string> kValueOptions{"--config", "--socket", "--address", "--token",  "--check",
                                             "--record", "--value",  "--for",     "--until",  "--reason",
                                             "--client", "--subnet"};
const std::vector<std::string> kOverrideOptions{"--check", "--record", "--value", "--for", "--until", "--reason"};
const std::vector<std::string> kExplainOptions{"--client", "--subnet"};

struct UsageError {
  std::string message;
};

Options parse_args(const std::vector<std::string>& args) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      o.words.insert(o.words.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a == "-h" || a == "--help") {
      o.help = true;
      continue;
    }
    if (a == "--json") {
      o.json = true;
      continue;
    }
    if (a.size() > 1 && a[0] == '-') {
      const size_t eq = a.find('=');
      const std::string name = a.substr(0, eq);
      if (std::find(kValueOptions.begin(), kValueOptions.end(), name) == kValueOptions.end()) {
        throw UsageError{"unknown option " + name};
      }
      std::string value;
      if (eq != std::string::npos) {
        value = a.substr(eq + 1);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        throw UsageError{name + " needs a value"};
      }
      if (o.has(name)) throw UsageError{name + " given twice"};
      o.values[name] = value;
      continue;
    }
    o.words.push_back(a);
  }
  return o;
}

// ---- where to connect -----------------------------------------------------------------------

struct Endpoint {
  bool is_unix = false;
  std::string path;
  config::ListenAddress address;
  std::string describe() const { return is_unix ? "unix socket " + path : address.to_string(); }
};

struct Target {
  Endpoint endpoint;
  std::string token;
};

// Returns the target, or throws UsageError.
Target find_target(const Options& o) {
  Target t;
  const int given = o.has("--config") + o.has("--socket") + o.has("--address");
  if (given == 0) throw UsageError{"say where the server is: --config FILE, --socket PATH or --address HOST:PORT"};
  if (given > 1) throw UsageError{"give only one of --config, --socket and --address"};
  std::string config_token;
  if (o.has("--socket")) {
    t.endpoint.is_unix = true;
    t.endpoint.path = o.get("--socket");
    if (t.endpoint.path.empty()) throw UsageError{"--socket: empty path"};
  } else if (o.has("--address")) {
    if (!config::parse_listen_address(o.get("--address"), 0, t.endpoint.address) || t.endpoint.address.port == 0) {
      throw UsageError{"--address: invalid address \"" + o.get("--address") +
                       "\" (expected a numeric HOST:PORT such as 127.0.0.1:8053 or [::1]:8053)"};
    }
  } else {
    auto cfg = config::load_config(o.get("--config"));
    if (!cfg) throw UsageError{cfg.error().message};
    const config::ControlConfig& c = cfg->control;
    if (!c.socket.empty()) {
      t.endpoint.is_unix = true;
      t.endpoint.path = c.socket;
    } else if (c.has_listen) {
      t.endpoint.address = c.listen;
      // A wildcard listen address is reached on loopback.
      if (c.listen.address == "0.0.0.0") t.endpoint.address.address = "127.0.0.1";
      if (c.listen.address == "::") t.endpoint.address.address = "::1";
    } else {
      throw UsageError{o.get("--config") + ": the control API is off (set control.socket or control.listen)"};
    }
    config_token = c.token;
  }
  if (o.has("--token")) {
    t.token = o.get("--token");
  } else if (const char* env = std::getenv("PHAROS_TOKEN"); env && *env) {
    t.token = env;
  } else {
    t.token = config_token;
  }
  return t;
}

// ---- one HTTP exchange ----------------------------------------------------------------------

struct Exchange {
  std::string failure;  // why there is no answer; empty when there is one
  unsigned status = 0;
  std::string body;
};

template <class Protocol>
asio::awaitable<void> exchange(beast::basic_stream<Protocol>& stream, typename Protocol::endpoint endpoint,
                               const std::string& where, http::request<http::string_body>& req, Exchange& out) {
  stream.expires_after(kConnectTimeout);
  auto [cec] = co_await stream.async_connect(endpoint, kUse);
  if (cec) {
    out.failure = "cannot connect to " + where + ": " + cec.message();
    co_return;
  }
  stream.expires_after(kRequestTimeout);
  auto [wec, written] = co_await http::async_write(stream, req, kUse);
  if (wec) {
    out.failure = "cannot send to " + where + ": " + wec.message();
    co_return;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kResponseLimit);
  auto [rec, read] = co_await http::async_read(stream, buffer, parser, kUse);
  if (rec) {
    out.failure = "no answer from " + where + ": " + rec.message();
    co_return;
  }
  out.status = parser.get().result_int();
  out.body = std::move(parser.get().body());
  error_code ignored;
  stream.socket().shutdown(asio::socket_base::shutdown_both, ignored);
}

Exchange send(const Target& t, http::verb method, const std::string& path, const std::string& body) {
  http::request<http::string_body> req{method, path, 11};
  req.set(http::field::host, t.endpoint.is_unix ? "localhost" : t.endpoint.address.to_string());
  req.set(http::field::user_agent, std::string("pharos-ctl/") + PHAROS_VERSION);
  req.set(http::field::accept, "application/json");
  if (!t.token.empty()) req.set(http::field::authorization, "Bearer " + t.token);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.keep_alive(false);
  req.prepare_payload();

  asio::io_context io;
  Exchange out;
  const std::string where = t.endpoint.describe();
  if (t.endpoint.is_unix && t.endpoint.path.size() >= sizeof(sockaddr_un::sun_path)) {
    return Exchange{"cannot connect to " + where + ": the path is too long for a Unix socket", 0, {}};
  }
  if (t.endpoint.is_unix) {
    beast::basic_stream<local> stream(io);
    asio::co_spawn(io, exchange<local>(stream, local::endpoint(t.endpoint.path), where, req, out), asio::detached);
    io.run();
  } else {
    error_code ec;
    const auto address = asio::ip::make_address(t.endpoint.address.address, ec);
    if (ec) return Exchange{"cannot connect to " + where + ": invalid address", 0, {}};
    beast::basic_stream<tcp> stream(io);
    asio::co_spawn(io, exchange<tcp>(stream, tcp::endpoint(address, t.endpoint.address.port), where, req, out),
                   asio::detached);
    io.run();
  }
  return out;
}

// ---- printing -------------------------------------------------------------------------------

// A value as text: strings as they are, null and missing as "", anything else as JSON.
std::string text(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return "";
  if (it->value().is_string()) return std::string(it->value().as_string());
  return json::serialize(it->value());
}

const json::array& array_at(const json::value& v, std::string_view key) {
  static const json::array empty;
  if (!v.is_object()) return empty;
  auto it = v.as_object().find(key);
  return it != v.as_object().end() && it->value().is_array() ? it->value().as_array() : empty;
}

std::string span(std::chrono::seconds d) {
  long s = static_cast<long>(d.count());
  if (s < 0) s = 0;
  auto two = [](long v) { return (v < 10 ? "0" : "") + std::to_string(v); };
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m" + two(s % 60) + "s";
  if (s < 86400) return std::to_string(s / 3600) + "h" + two(s / 60 % 60) + "m";
  return std::to_string(s / 86400) + "d" + two(s / 3600 % 24) + "h";
}

// "3m12s ago" for a past time, "in 9m58s" for a future one.
std::string relative(const std::string& time) {
  auto t = parse_time(time);
  if (!t) return time;
  const auto now = health::Clock::now();
  if (*t <= now) return span(std::chrono::duration_cast<std::chrono::seconds>(now - *t)) + " ago";
  return "in " + span(std::chrono::duration_cast<std::chrono::seconds>(*t - now));
}

std::string latency(const json::object& c) {
  auto it = c.find("last_latency_us");
  if (it == c.end() || !it->value().is_number()) return "";
  const double us = it->value().to_number<double>();
  std::ostringstream s;
  s.precision(us < 10000 ? 2 : 0);
  s << std::fixed << us / 1000 << "ms";
  return s.str();
}

class Table {
 public:
  explicit Table(std::string indent = "") : indent_(std::move(indent)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  void print(std::ostream& out) const {
    std::vector<size_t> width;
    for (const auto& r : rows_) {
      if (width.size() < r.size()) width.resize(r.size(), 0);
      for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    }
    for (const auto& r : rows_) {
      std::string line = indent_;
      for (size_t i = 0; i < r.size(); ++i) {
        line += r[i];
        if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out << line << "\n";
    }
  }

 private:
  std::string indent_;
  std::vector<std::vector<std::string>> rows_;
};

void print_checks(const json::array& checks, std::ostream& out) {
  if (checks.empty()) {
    out << "no health checks\n";
    return;
  }
  Table t;
  t.add({"CHECK", "TYPE", "TARGET", "STATE", "SINCE", "LAST PROBE"});
  for (const auto& v : checks) {
    if (!v.is_object()) continue;
    const json::object& c = v.as_object();
    std::string state = text(c, "effective");
    if (state.empty()) state = text(c, "state");
    auto ov = c.find("override");
    if (ov != c.end() && ov->value().is_object()) {
      state += " (override " + text(ov->value().as_object(), "id") + " " + text(ov->value().as_object(), "action") + ")";
    } else if (!text(c, "raw").empty() && text(c, "raw") != state) {
      state += " (probes: " + text(c, "raw") + ")";
    }
    std::string last = "-";
    if (!text(c, "last_probe").empty()) {
      last = text(c, "last_reason");
      const std::string lat = latency(c);
      if (!lat.empty()) last += (last.empty() ? "" : ", ") + lat;
      last += ", " + relative(text(c, "last_probe"));
    }
    const std::string since = text(c, "since");
    t.add({text(c, "name"), text(c, "type"), text(c, "target").empty() ? "-" : text(c, "target"), state,
           since.empty() ? "-" : relative(since), last});
  }
  t.print(out);
}

std::string override_target(const json::object& o) {
  if (o.contains("check")) return "check " + text(o, "check");
  return "record " + text(o, "record") + " value " + text(o, "value");
}

void print_overrides(const json::array& overrides, std::ostream& out) {
  if (overrides.empty()) {
    out << "no overrides\n";
    return;
  }
  Table t;
  t.add({"ID", "TARGET", "ACTION", "UNTIL", "REASON"});
  for (const auto& v : overrides) {
    if (!v.is_object()) continue;
    const json::object& o = v.as_object();
    const std::string until = text(o, "until");
    t.add({text(o, "id"), override_target(o), text(o, "action"),
           until.empty() ? "no expiry" : until + " (" + relative(until) + ")", text(o, "reason")});
  }
  t.print(out);
}

// The records are whatever main describes; print the shape of describe_records() well and
// anything else readably.
void print_records(const json::value& records, std::ostream& out) {
  if (!records.is_array()) {
    out << json::serialize(records) << "\n";
    return;
  }
  if (records.as_array().empty()) {
    out << "no policy records\n";
    return;
  }
  for (const auto& v : records.as_array()) {
    if (!v.is_object()) {
      out << json::serialize(v) << "\n";
      continue;
    }
    const json::object& r = v.as_object();
    std::string title = text(r, "id");
    if (title.empty()) title = text(r, "name");
    if (!text(r, "policy").empty()) title += "  (" + text(r, "policy") + ")";
    out << title << "\n";
    Table t("  ");
    for (const auto& mv : array_at(v, "members")) {
      if (!mv.is_object()) continue;
      const json::object& m = mv.as_object();
      std::vector<std::string> row;
      row.push_back(m.contains("record") ? "-> " + text(m, "record") : text(m, "value"));
      row.push_back(text(m, "standing"));
      std::string check = text(m, "check").empty() ? "no check" : "check " + text(m, "check");
      if (!text(m, "health").empty()) check += " " + text(m, "health");
      row.push_back(check);
      row.push_back(text(m, "answering") == "true" ? "answering" : "");
      std::string extra;
      for (const auto& [key, val] : m) {
        if (key == "value" || key == "record" || key == "standing" || key == "check" || key == "health" ||
            key == "answering") {
          continue;
        }
        if (val.is_null()) continue;
        extra += (extra.empty() ? "" : "  ") + std::string(key) + " " + text(m, key);
      }
      row.push_back(extra);
      t.add(std::move(row));
    }
    t.print(out);
  }
}

void print_zones(const json::array& zones, std::ostream& out) {
  if (zones.empty()) {
    out << "no zones\n";
    return;
  }
  Table t;
  t.add({"ZONE", "SERIAL", "RECORDS", "LOADED", "FILE"});
  for (const auto& v : zones) {
    if (!v.is_object()) continue;
    const json::object& z = v.as_object();
    std::string loaded = text(z, "loaded_at").empty() ? "not served" : relative(text(z, "loaded_at"));
    if (text(z, "failed") == "true") loaded += " (last load failed)";
    t.add({text(z, "origin"), text(z, "serial").empty() ? "-" : text(z, "serial"),
           text(z, "records").empty() ? "-" : text(z, "records"), loaded, text(z, "file")});
  }
  t.print(out);
}

void print_status(const json::value& v, std::ostream& out) {
  const json::object empty;
  const json::object& o = v.is_object() ? v.as_object() : empty;
  out << "pharos " << text(o, "version") << ", health view " << text(o, "view_version");
  if (!text(o, "queries").empty()) out << ", " << text(o, "queries") << " queries answered";
  out << "\n\nZONES\n";
  print_zones(array_at(v, "zones"), out);
  out << "\nCHECKS\n";
  print_checks(array_at(v, "checks"), out);
  out << "\nOVERRIDES\n";
  print_overrides(array_at(v, "overrides"), out);
  out << "\nRECORDS\n";
  auto it = o.find("records");
  print_records(it == o.end() ? json::value(json::array()) : it->value(), out);
}

// ---- commands -------------------------------------------------------------------------------

struct Call {
  http::verb method;
  std::string path;
  std::string body;
};

// "a b/c" -> "a%20b%2Fc": everything but unreserved characters escaped.
std::string url_encode(const std::string& in) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// The target of an override, drain or undrain: --check NAME, --record ID --value VALUE, or (drain
// and undrain) a check's name as the one word after the command. Throws UsageError.
void override_target_body(const Options& o, const std::string& command, const std::vector<std::string>& rest,
                          json::object& body) {
  const bool word = !rest.empty();
  if (rest.size() > 1) throw UsageError{"unexpected argument \"" + rest[1] + "\""};
  const bool check = o.has("--check") || word;
  const bool member = o.has("--record") || o.has("--value");
  if (word && o.has("--check")) throw UsageError{command + ": give the check as a word or with --check, not both"};
  if (check == member) throw UsageError{command + " needs --check NAME, or --record ID and --value VALUE"};
  if (check) {
    body["check"] = word ? rest[0] : o.get("--check");
  } else {
    if (!o.has("--record") || !o.has("--value")) throw UsageError{"a member override needs both --record and --value"};
    body["record"] = o.get("--record");
    body["value"] = o.get("--value");
  }
}

// The expiry and reason of an override. Throws UsageError.
void override_terms_body(const Options& o, json::object& body) {
  if (o.has("--for") && o.has("--until")) throw UsageError{"give --for or --until, not both"};
  if (o.has("--for")) {
    std::chrono::milliseconds d{};
    if (!config::parse_duration(o.get("--for"), d) || d.count() <= 0) {
      throw UsageError{"--for: invalid duration \"" + o.get("--for") + "\" (expected e.g. 30s, 10m, 2h)"};
    }
    body["for"] = o.get("--for");
  }
  if (o.has("--until")) {
    if (!parse_time(o.get("--until"))) {
      throw UsageError{"--until: invalid time \"" + o.get("--until") +
                       "\" (expected RFC 3339, e.g. 2024-05-01T10:00:00Z or 2024-05-01T12:00:00+02:00)"};
    }
    body["until"] = o.get("--until");
  }
  if (o.has("--reason")) body["reason"] = o.get("--reason");
}

// Builds the request for the command, or throws UsageError. `undrain` lists the overrides; the
// clearing follows in run_ctl.
Call plan(const Options& o) {
  const auto& w = o.words;
  if (w.empty()) throw UsageError{"no command given"};
  const bool setting = (w[0] == "override" && w.size() >= 2 && parse_override_action(w[1])) || w[0] == "drain";
  const bool targeting = setting || w[0] == "undrain";
  for (const auto& opt : kOverrideOptions) {
    if (!o.has(opt) || setting) continue;
    if (targeting && (opt == "--check" || opt == "--record" || opt == "--value")) continue;
    throw UsageError{opt + " only applies to override up|down|drain, drain" +
                     (opt == "--check" || opt == "--record" || opt == "--value" ? " and undrain" : "")};
  }
  for (const auto& opt : kExplainOptions) {
    if (o.has(opt) && w[0] != "explain") throw UsageError{opt + " only applies to explain"};
  }
  auto expect_words = [&](size_t n) {
    if (w.size() > n) throw UsageError{"unexpected argument \"" + w[n] + "\""};
  };
  if (w[0] == "status") {
    expect_words(1);
    return {http::verb::get, "/v1/status", ""};
  }
  if (w[0] == "checks") {
    expect_words(1);
    return {http::verb::get, "/v1/checks", ""};
  }
  if (w[0] == "reload") {
    expect_words(1);
    return {http::verb::post, "/v1/reload", ""};
  }
  if (w[0] == "explain") {
    if (w.size() < 2) throw UsageError{"explain needs a name, e.g. explain www.example.com A --client 203.0.113.7"};
    expect_words(3);
    std::string path = "/v1/explain?name=" + url_encode(w[1]);
    if (w.size() > 2) path += "&type=" + url_encode(w[2]);
    if (o.has("--client")) path += "&client=" + url_encode(o.get("--client"));
    if (o.has("--subnet")) path += "&subnet=" + url_encode(o.get("--subnet"));
    return {http::verb::get, path, ""};
  }
  if (w[0] == "drain" || w[0] == "undrain") {
    json::object body;
    override_target_body(o, w[0], std::vector<std::string>(w.begin() + 1, w.end()), body);
    if (w[0] == "undrain") return {http::verb::get, "/v1/overrides", json::serialize(body)};
    body["action"] = "drain";
    override_terms_body(o, body);
    return {http::verb::post, "/v1/overrides", json::serialize(body)};
  }
  if (w[0] != "override") throw UsageError{"unknown command \"" + w[0] + "\""};
  if (w.size() < 2) throw UsageError{"override needs up, down, drain, list or clear"};
  if (w[1] == "list") {
    expect_words(2);
    return {http::verb::get, "/v1/overrides", ""};
  }
  if (w[1] == "clear") {
    if (w.size() < 3) throw UsageError{"override clear needs the override's ID (see override list)"};
    expect_words(3);
    const std::string& id = w[2];
    if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
      throw UsageError{"override clear: \"" + id + "\" is not an override ID (a number)"};
    }
    return {http::verb::delete_, "/v1/overrides/" + id, ""};
  }
  if (!setting) throw UsageError{"unknown override action \"" + w[1] + "\" (known: up, down, drain, list, clear)"};
  expect_words(2);
  json::object body;
  override_target_body(o, "override " + w[1], {}, body);
  body["action"] = w[1];
  override_terms_body(o, body);
  return {http::verb::post, "/v1/overrides", json::serialize(body)};
}

void print_explain(const json::value& v, std::ostream& out) {
  const json::object empty;
  const json::object& o = v.is_object() ? v.as_object() : empty;
  out << text(o, "name") << " " << text(o, "type");
  if (!text(o, "client").empty()) out << " from " << text(o, "client");
  if (!text(o, "subnet").empty()) out << " with client subnet " << text(o, "subnet");
  out << ": " << text(o, "rcode");
  if (!text(o, "zone").empty()) out << ", zone " << text(o, "zone");
  if (text(o, "truncated") == "true") out << ", truncated";
  out << "\n";
  for (const char* section : {"answer", "authority", "additional"}) {
    const json::array& lines = array_at(v, section);
    if (lines.empty()) continue;
    std::string title = section;
    for (char& c : title) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out << "\n" << title << "\n";
    for (const auto& l : lines) out << "  " << (l.is_string() ? std::string(l.as_string()) : json::serialize(l)) << "\n";
  }
  const json::array& records = array_at(v, "policy_records");
  if (records.empty()) out << "\nno policy record answered: static zone data\n";
  for (const auto& rv : records) {
    if (!rv.is_object()) continue;
    const json::object& r = rv.as_object();
    out << "\nPOLICY RECORD " << text(r, "record") << " (" << text(r, "policy") << ", ttl " << text(r, "ttl")
        << "): " << text(r, "outcome");
    if (text(r, "fail_open") == "true") out << ", no member healthy: failed open";
    if (text(r, "fallback") == "true") out << ", no member healthy: fallback values";
    if (r.contains("group")) out << ", group " << (text(r, "group").empty() ? "none" : text(r, "group"));
    out << "\n";
    Table t("  ");
    t.add({"MEMBER", "STANDING", "CHOSEN", "WHY"});
    for (const auto& mv : array_at(rv, "members")) {
      if (!mv.is_object()) continue;
      const json::object& m = mv.as_object();
      std::string name = m.contains("record") ? "-> " + text(m, "record") : text(m, "value");
      std::string why = text(m, "why");
      for (const char* key : {"weight", "tier", "group"}) {
        if (m.contains(key)) why += std::string(", ") + key + " " + text(m, key);
      }
      t.add({name, text(m, "standing"), text(m, "chosen") == "true" ? "yes" : "", why});
    }
    t.print(out);
    std::string chosen;
    for (const auto& cv : array_at(rv, "chosen")) {
      if (!cv.is_object()) continue;
      const json::object& c = cv.as_object();
      chosen += (chosen.empty() ? "" : ", ") + (c.contains("fallback") ? std::string("a fallback value") : text(c, "value"));
    }
    out << "  answered: " << (chosen.empty() ? "nothing" : chosen) << "\n";
  }
  if (!text(o, "note").empty()) out << "\nnote: " << text(o, "note") << "\n";
}

void print_result(const Options& o, const Call& call, const json::value& v, std::ostream& out) {
  const auto& w = o.words;
  if (w[0] == "status") return print_status(v, out);
  if (w[0] == "checks") return print_checks(array_at(v, "checks"), out);
  if (w[0] == "reload") {
    out << "reload requested\n";
    return;
  }
  if (w[0] == "explain") return print_explain(v, out);
  if (w[0] != "drain" && w[1] == "list") return print_overrides(array_at(v, "overrides"), out);
  if (w[0] != "drain" && w[1] == "clear") {
    out << "override " << call.path.substr(call.path.rfind('/') + 1) << " cleared\n";
    return;
  }
  const json::object empty;
  const json::object& e = v.is_object() ? v.as_object() : empty;
  const std::string until = text(e, "until");
  out << "override " << text(e, "id") << ": " << override_target(e) << " " << text(e, "action")
      << (until.empty() ? " until cleared" : " until " + until + " (" + relative(until) + ")")
      << (text(e, "reason").empty() ? "" : ": " + text(e, "reason")) << "\n";
}

// Sends `call`; on success `v` holds the JSON answer (null for an empty body). Returns the exit
// status, having said what went wrong on `err`.
int exchange_json(const Target& target, const Call& call, json::value& v, std::ostream& err) {
  Exchange x = send(target, call.method, call.path, call.body);
  if (!x.failure.empty()) {
    err << "pharos ctl: " << x.failure << "\n";
    return kCtlNoConnection;
  }
  error_code ec;
  v = x.body.empty() ? json::value(nullptr) : json::parse(x.body, ec);
  if (x.status >= 400) {
    std::string message;
    if (!ec && v.is_object() && v.as_object().contains("error")) message = text(v.as_object(), "error");
    if (message.empty()) message = x.body.empty() ? "no details" : x.body;
    err << "pharos ctl: error " << x.status << " from " << target.endpoint.describe() << ": " << message << "\n";
    if (x.status == 401 && target.token.empty()) err << "pharos ctl: give the token with --token or PHAROS_TOKEN\n";
    return kCtlServerError;
  }
  if (ec) {
    err << "pharos ctl: " << target.endpoint.describe() << " answered " << x.status << " with a body that is not JSON: "
        << ec.message() << "\n";
    return kCtlServerError;
  }
  return kCtlOk;
}

}  // namespace

int run_ctl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Options o;
  Target target;
  Call call;
  try {
    o = parse_args(args);
    if (o.help || (!o.words.empty() && o.words[0] == "help")) {
      out << kUsage;
      return kCtlOk;
    }
    call = plan(o);
    target = find_target(o);
  } catch (const UsageError& e) {
    err << "pharos ctl: " << e.message << "\n" << kUsage;
    return kCtlUsage;
  }

  // undrain: list the overrides, then clear the drains on the target.
  const bool undrain = o.words[0] == "undrain";
  const std::string undrain_target = undrain ? call.body : "";
  if (undrain) call.body.clear();

  json::value v;
  if (int status = exchange_json(target, call, v, err); status != kCtlOk) return status;
  if (undrain) {
    const json::value wanted = json::parse(undrain_target);
    json::array cleared;
    for (const auto& ov : array_at(v, "overrides")) {
      if (!ov.is_object() || text(ov.as_object(), "action") != "drain") continue;
      const json::object& e = ov.as_object();
      const json::object& t = wanted.as_object();
      const bool same = t.contains("check") ? text(e, "check") == text(t, "check") && !e.contains("record")
                                            : text(e, "record") == text(t, "record") &&
                                                  text(e, "value") == text(t, "value") && !e.contains("check");
      if (!same) continue;
      json::value ignored;
      const Call clear{http::verb::delete_, "/v1/overrides/" + text(e, "id"), ""};
      if (int status = exchange_json(target, clear, ignored, err); status != kCtlOk) return status;
      cleared.push_back(e);
    }
    if (o.json) {
      out << json::serialize(json::object{{"cleared", cleared}}) << "\n";
    } else if (cleared.empty()) {
      out << "no drain override on " << override_target(wanted.as_object()) << "\n";
    } else {
      for (const auto& e : cleared) out << "override " << text(e.as_object(), "id") << " cleared: "
                                        << override_target(e.as_object()) << " drain\n";
    }
    return kCtlOk;
  }
  if (o.json) {
    if (!v.is_null()) out << json::serialize(v) << "\n";
    return kCtlOk;
  }
  print_result(o, call, v, out);
  return kCtlOk;
}

}  // namespace pharos::control
