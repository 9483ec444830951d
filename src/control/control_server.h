// The control API server: HTTP/1.1 with JSON bodies on a Unix socket (mode 0600) and/or a TCP
// address, served by coroutines on the io_context it is given. See docs/control.md.
//
//   GET    /v1/status          version, health view, checks, overrides, records
//   GET    /v1/checks          checks only
//   GET    /v1/overrides       overrides only
//   POST   /v1/overrides       set one: {"check"} or {"record","value"}, "action", "for"|"until", "reason"
//   DELETE /v1/overrides/{id}  clear one
//   POST   /v1/reload          ask for a config reload
//   GET    /v1/explain?name=&type=&client=&subnet=   how the answer to a query comes about
//   GET    /, /status, /status.js, /status.css        the status page (no token needed)
//   GET    /metrics            Prometheus text (Hooks::metrics); with Hooks::metrics_only the
//                              server answers only this, without a token (metrics.listen)
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "common/result.h"
#include "config/config.h"
#include "control/api.h"

namespace pharos::control {

struct Limits {
  std::chrono::milliseconds idle_timeout{30000};  // for the next request, and for any read or write
  size_t header_limit = 8 * 1024;                 // bytes of request line and headers
  size_t body_limit = 64 * 1024;                  // bytes of request body
  unsigned max_connections = 16;                  // open at once, both listeners together; more get 503
};

class ControlServer {
 public:
  ControlServer(boost::asio::io_context& io, const config::ControlConfig& config, Hooks hooks, Limits limits = {});
  ~ControlServer();  // stop()
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Opens the configured listeners and starts accepting on the io_context. A stale socket file
  // (nobody accepts on it) is replaced; a live one, or a path that is not a socket, is an error.
  // Errors name the address or path. Does nothing when neither socket nor listen is configured.
  // Call before the io_context runs, or on its thread.
  Result<void> start();

  // Closes the listeners and every connection and removes the socket file. Call on the
  // io_context's thread, or once it no longer runs (main: after joining the control thread).
  void stop();

  // After start(): where it listens. Empty / nullopt when not listening there.
  const std::string& socket_path() const;
  std::optional<config::ListenAddress> tcp_address() const;  // with the port the kernel chose for port 0

  struct Impl;  // public only so the connection coroutines can name it

 private:
  std::shared_ptr<Impl> impl_;  // shared with the connections, which may outlive a stop()
};

}  // namespace pharos::control
