// The control API's request handling: routes, authorization, JSON in and out. No sockets here:
// ControlServer feeds it parsed requests, the tests can too.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "common/result.h"
#include "health/engine.h"

namespace pharos::control {

// GET /v1/explain's parameters, as given (URL-decoded); the explain hook checks them.
struct ExplainQuery {
  std::string name;    // required
  std::string type;    // empty: A
  std::string client;  // the address the query comes from; empty: unknown
  std::string subnet;  // an EDNS Client Subnet, "203.0.113.0/24"; empty: none
};

// What the control API needs from the rest of the program, supplied by main so that this folder
// does not depend on the DNS layers. Every hook is called on the control io_context's thread.
struct Hooks {
  // The health engine; null when none runs (status then lists no checks, overrides answer 503).
  health::HealthEngine* health = nullptr;
  // The policy records and their members' standing under `status` (the same snapshot the
  // response shows), as the "records" of GET /v1/status. describe_records() (wire.h) builds it
  // from the config. Empty: "records" is [].
  std::function<boost::json::value(const health::EngineStatus& status)> records;
  // Asks for a reload and returns at once (the reload runs elsewhere). Empty: 503.
  std::function<void()> reload;
  std::string version;  // reported by GET /v1/status
  // The zones served, as the "zones" of GET /v1/status: [{"origin", "serial", "records",
  // "loaded_at", "file", ...}]. Empty: "zones" is [].
  std::function<boost::json::value()> zones;
  // Queries answered since start (all workers), as "queries" of GET /v1/status. Empty: null.
  std::function<uint64_t()> queries;
  // GET /v1/explain: runs the query and reports how its answer came about; an error is bad
  // input (400). Empty: 503.
  std::function<Result<boost::json::value>(const ExplainQuery& query)> explain;
  // The Prometheus text of every metric, for GET /metrics. Empty: 404.
  std::function<std::string()> metrics;
  // Serve GET /metrics only, without a token (the metrics.listen endpoint); every other path is 404.
  bool metrics_only = false;
};

struct Request {
  std::string method;         // "GET", "POST", ...
  std::string target;         // "/v1/status?x=y"; only /v1/explain reads the query
  std::string authorization;  // the Authorization header, or empty
  std::string body;
};

struct Reply {
  unsigned status = 200;
  std::string body;      // JSON; empty for 204
  std::string error;     // the "error" of an error reply, for the server's log
  std::string allow;     // 405: the methods the path accepts
  std::string location;  // 201: the new resource
  std::string content_type;  // of a non-JSON body (the status page's files); empty: JSON
  bool auth_failed = false;  // 401: for the server's log
};

class Api {
 public:
  // `token`: the bearer token every request must carry; empty: none needed.
  Api(Hooks hooks, std::string token);

  Reply handle(const Request& request) const;

 private:
  std::optional<Reply> refuse(const Request& request) const;
  Reply route(const Request& request, const std::string& path) const;
  Reply get_status() const;
  Reply get_checks() const;
  Reply get_overrides() const;
  Reply post_override(const std::string& body) const;
  Reply delete_override(const std::string& id) const;
  Reply post_reload() const;
  Reply get_explain(const std::string& query) const;
  Reply get_metrics(const std::string& method) const;

  Hooks hooks_;
  std::string token_;
};

// `{"error": message}` with `status`.
Reply error_reply(unsigned status, const std::string& message);

// The status page's files, served at GET / (and /status), /status.js and /status.css without a
// token: they hold no data, and the page sends the token (from its URL's #token=...) with its
// requests. Null for any other path.
const Reply* status_page_file(const std::string& path);
// The Content-Security-Policy the status page is served with: its own script, style and API
// only (no inline script, nothing from elsewhere).
inline constexpr const char* kStatusPagePolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// Splits "a=1&b=x%2Fy" into decoded pairs (+ is a space); nullopt when an escape is malformed.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_query_string(std::string_view query);

// Compares in time that depends only on the length of `expected`.
bool token_equal(std::string_view given, std::string_view expected);

}  // namespace pharos::control
