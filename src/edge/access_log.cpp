#include "edge/access_log.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>

namespace pharos::edge {

namespace {
constexpr size_t kFlushAt = 3000;  // plus one line (< 1100 bytes): one write stays within PIPE_BUF
constexpr size_t kMaxField = 512;  // a target longer than this is cut in the log

void number(std::string& out, uint64_t v) {
  char b[24];
  auto r = std::to_chars(b, b + sizeof b, v);
  out.append(b, r.ptr);
}

// Milliseconds with three decimals.
void millis(std::string& out, uint64_t us) {
  number(out, us / 1000);
  out.push_back('.');
  const unsigned frac = static_cast<unsigned>(us % 1000);
  out.push_back(static_cast<char>('0' + frac / 100));
  out.push_back(static_cast<char>('0' + frac / 10 % 10));
  out.push_back(static_cast<char>('0' + frac % 10));
}

void field(std::string& out, std::string_view key, std::string_view v) {
  out.push_back(' ');
  out.append(key);
  out.push_back('=');
  if (v.empty()) v = "-";
  out.append(v.substr(0, kMaxField));
}
}  // namespace

void AccessLog::add(const AccessEntry& e) {
  if (fd_ < 0) return;
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const time_t sec = static_cast<time_t>(ms / 1000);
  if (sec != second_) {
    second_ = sec;
    struct tm tm;
    localtime_r(&sec, &tm);
    strftime(stamp_, sizeof stamp_, "%Y-%m-%dT%H:%M:%S", &tm);
  }
  buf_.append(stamp_);
  buf_.push_back('.');
  const unsigned m = static_cast<unsigned>(ms % 1000);
  buf_.push_back(static_cast<char>('0' + m / 100));
  buf_.push_back(static_cast<char>('0' + m / 10 % 10));
  buf_.push_back(static_cast<char>('0' + m % 10));
  buf_.append(" access");
  field(buf_, "client", e.client);
  field(buf_, "host", e.host);
  field(buf_, "method", e.method);
  field(buf_, "path", e.target);
  buf_.append(" status=");
  number(buf_, e.status);
  buf_.append(" bytes=");
  number(buf_, e.bytes);
  field(buf_, "upstream", e.upstream);
  buf_.append(" time_ms=");
  millis(buf_, e.total_us);
  if (e.upstream_us >= 0) {
    buf_.append(" upstream_ms=");
    millis(buf_, static_cast<uint64_t>(e.upstream_us));
  }
  buf_.push_back('\n');
  if (buf_.size() >= kFlushAt) flush();
}

void AccessLog::flush() {
  size_t off = 0;
  while (off < buf_.size()) {
    ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // a log that cannot be written is dropped, not retried
    off += static_cast<size_t>(n);
  }
  buf_.clear();
}

}  // namespace pharos::edge
