// The access log: one line per request, formatted into a buffer of the worker's own and written
// with one write(2) when it fills or on the worker's tick (at most ~100 ms later), so requests
// take no lock. Whole lines per write: lines from workers never interleave.
//
//   2024-05-01T12:00:00.123 access client=192.0.2.7:51234 host=example.com method=GET
//     path=/api/x?y=1 status=200 bytes=5120 upstream=127.0.0.1:8080 time_ms=1.234 upstream_ms=1.101
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace pharos::edge {

struct AccessEntry {
  std::string_view client;  // "192.0.2.7:51234"
  std::string_view host;
  std::string_view method;
  std::string_view target;
  unsigned status = 0;
  uint64_t bytes = 0;
  std::string_view upstream;  // "-" when none
  uint64_t total_us = 0;
  int64_t upstream_us = -1;   // -1: no upstream
};

class AccessLog {
 public:
  explicit AccessLog(int fd) : fd_(fd) {}  // -1: off
  ~AccessLog() { flush(); }
  bool enabled() const { return fd_ >= 0; }
  void add(const AccessEntry& e);
  void flush();

 private:
  int fd_;
  std::string buf_;
  time_t second_ = 0;
  char stamp_[32] = {};
};

}  // namespace pharos::edge
