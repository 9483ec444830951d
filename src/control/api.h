// The control API's request handling: routes, authorization, JSON in and out. No sockets here:
// ControlServer feeds it parsed requests, the tests can too.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <boost/json/value.hpp>

#include "health/engine.h"

namespace pharos::control {

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
  // The Prometheus text of every metric, for GET /metrics. Empty: 404.
  std::function<std::string()> metrics;
  // Serve GET /metrics only, without a token (the metrics.listen endpoint); every other path is 404.
  bool metrics_only = false;
};

struct Request {
  std::string method;         // "GET", "POST", ...
  std::string target;         // "/v1/status?x=y"; the query is ignored
  std::string authorization;  // the Authorization header, or empty
  std::string body;
};

struct Reply {
  unsigned status = 200;
  std::string body;      // JSON; empty for 204
  std::string error;     // the "error" of an error reply, for the server's log
  std::string allow;     // 405: the methods the path accepts
  std::string location;  // 201: the new resource
  bool auth_failed = false;  // 401: for the server's log
  std::string content_type;  // empty: application/json (when there is a body)
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
  Reply get_metrics(const std::string& method) const;

  Hooks hooks_;
  std::string token_;
};

// `{"error": message}` with `status`.
Reply error_reply(unsigned status, const std::string& message);

// Compares in time that depends only on the length of `expected`.
bool token_equal(std::string_view given, std::string_view expected);

}  // namespace pharos::control
