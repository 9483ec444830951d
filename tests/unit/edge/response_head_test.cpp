// A member's response as ResponseParser reads it: the head into a flat array of views, the body's
// framing, and what is refused (folding, conflicting framing, bad status lines, limits).
#include <catch2/catch.hpp>

#include <boost/beast/http/error.hpp>

#include "edge/response_head.h"

using namespace pharos::edge;
namespace http = boost::beast::http;

namespace {

struct Parsed {
  ResponseParser p;
  std::string store;
  error_code ec;
  std::string body;
};

// Feeds `text` to a parser in pieces of `step` bytes (as reads would bring it), the body through
// a buffer of `room` bytes at a time; `eof`: the connection ends after the text.
void parse(Parsed& r, std::string_view text, bool head_request = false, size_t step = 1 << 20, size_t room = 1 << 16,
           bool eof = false) {
  if (head_request) r.p.skip(true);
  r.p.header_limit(64 * 1024);
  r.p.body_limit(boost::none);
  std::string pending;  // the read buffer
  std::string buf(room, '\0');
  size_t fed = 0;
  for (;;) {
    if (!pending.empty()) {
      if (r.p.is_header_done()) r.p.body_buffer(buf.data(), buf.size());
      const bool was_header = r.p.is_header_done();
      r.ec = {};
      const size_t used = r.p.put(pending, r.ec);
      if (!was_header && r.p.is_header_done()) {
        r.p.keep_head(pending.data(), used, r.store);
        std::fill(pending.begin(), pending.begin() + static_cast<long>(used), '#');  // the buffer is reused
        r.p.eager(true);
      } else if (was_header) {
        r.body.append(buf.data(), buf.size() - r.p.body_room());
      }
      pending.erase(0, used);
      if (r.p.is_done()) {
        r.ec = {};
        return;
      }
      if (r.ec == http::error::need_buffer) continue;
      if (r.ec && r.ec != http::error::need_more) return;
      if (!r.ec && used > 0 && !pending.empty()) continue;
    }
    if (fed == text.size()) {
      if (!eof) {
        if (!r.ec) r.ec = http::error::need_more;
        return;
      }
      r.ec = {};
      r.p.body_buffer(buf.data(), buf.size());
      r.p.put_eof(r.ec);
      return;
    }
    const size_t n = std::min(step, text.size() - fed);
    pending.append(text.substr(fed, n));
    fed += n;
  }
}

std::string_view field(const ResponseHead& h, std::string_view name) {
  for (const HeaderField& f : h) {
    if (boost::beast::iequals(f.name, name)) return f.value;
  }
  return "<none>";
}

}  // namespace

TEST_CASE("edge response head: status line and fields as views, framing of the body", "[edge]") {
  struct Case {
    const char* name;
    std::string text;
    bool head_request;
    bool eof;
    unsigned status;
    std::string body;
    bool keep_alive;
  };
  const std::vector<Case> cases = {
      {"content-length", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", false, false,
       200, "hello", true},
      {"chunked, with an extension and a trailer",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n",
       false, false, 200, "abcde", true},
      {"to the end of the connection", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end", false, true, 200,
       "until the end", false},
      {"HTTP/1.0 without keep-alive", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", false, false, 200, "hi",
       false},
      {"HTTP/1.0 with keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi", false,
       false, 200, "hi", true},
      {"204 has no body", "HTTP/1.1 204 No Content\r\n\r\n", false, false, 204, "", true},
      {"304 ignores its Content-Length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", false, false, 304,
       "", true},
      {"HEAD ignores the Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", true, false, 200, "", true},
      {"an interim 100", "HTTP/1.1 100 Continue\r\n\r\n", false, false, 100, "", true},
      {"two identical Content-Lengths are one", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi",
       false, false, 200, "hi", true},
      {"an empty reason", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", false, false, 200, "", true},
  };
  for (const Case& c : cases) {
    for (size_t step : {size_t(1) << 20, size_t(7), size_t(1)}) {
      for (size_t room : {size_t(1) << 16, size_t(2)}) {
        INFO(c.name << ", pieces of " << step << " bytes, body room " << room);
        Parsed r;
        parse(r, c.text, c.head_request, step, room, c.eof);
        REQUIRE_FALSE(r.ec);
        REQUIRE(r.p.is_header_done());
        CHECK(r.p.head().status == c.status);
        CHECK(r.body == c.body);
        CHECK(r.p.is_done());
        CHECK(r.p.keep_alive() == c.keep_alive);
      }
    }
  }

  Parsed r;
  parse(r, "HTTP/1.1 404 Not Here\r\nServer: app\r\nX-Custom:  spaced value \r\nSet-Cookie: a=1\r\n"
           "Set-Cookie: b=2\r\nContent-Length: 0\r\n\r\n");
  REQUIRE_FALSE(r.ec);
  const ResponseHead& h = r.p.head();
  CHECK(h.status == 404);
  CHECK(h.version == 11);
  CHECK(h.reason == "Not Here");
  REQUIRE(h.count == 5);
  CHECK(h.fields[0].id == http::field::server);
  CHECK(h.fields[0].name == "Server");
  CHECK(h.fields[0].value == "app");
  CHECK(h.fields[1].id == http::field::unknown);
  CHECK(field(h, "x-custom") == "spaced value");
  CHECK(h.fields[2].value == "a=1");  // repeated fields stay apart, in order
  CHECK(h.fields[3].value == "b=2");
  CHECK(h.has(http::field::content_length));
  CHECK_FALSE(h.has(http::field::connection));
  // The views point into the kept copy, not into the buffer the head was read from.
  CHECK(h.reason.data() >= r.store.data());
  CHECK(h.reason.data() < r.store.data() + r.store.size());
}

TEST_CASE("edge response head: the Connection header's tokens", "[edge]") {
  Parsed r;
  parse(r, "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nConnection: Other\r\nX-Hop: 1\r\n"
           "Content-Length: 0\r\n\r\n");
  REQUIRE_FALSE(r.ec);
  CHECK(r.p.head().connection_names("x-hop"));
  CHECK(r.p.head().connection_names("other"));
  CHECK_FALSE(r.p.head().connection_names("x-hop2"));
  CHECK(r.p.keep_alive());
}

TEST_CASE("edge response head: what is refused", "[edge]") {
  struct Case {
    const char* name;
    std::string text;
    error_code expected;
  };
  std::string many = "HTTP/1.1 200 OK\r\n";
  for (size_t i = 0; i <= ResponseHead::kMaxFields; ++i) many += "X-F" + std::to_string(i) + ": v\r\n";
  many += "Content-Length: 0\r\n\r\n";
  const std::vector<Case> cases = {
      {"obs-fold (a line starting with a space)", "HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 0\r\n\r\n",
       http::error::bad_value},
      {"obs-fold (a tab)", "HTTP/1.1 200 OK\r\nX-A: one\r\n\ttwo\r\nContent-Length: 0\r\n\r\n", http::error::bad_value},
      {"two Content-Lengths that differ", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi",
       http::error::multiple_content_length},
      {"a Content-Length list that differs", "HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nhi",
       http::error::multiple_content_length},
      {"a Content-Length that is not a number", "HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nhi",
       http::error::bad_content_length},
      {"chunked, then Content-Length",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n0\r\n\r\n",
       http::error::bad_content_length},
      {"Content-Length, then chunked",
       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       http::error::bad_transfer_encoding},
      {"another coding, then Content-Length", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nhi",
       http::error::bad_transfer_encoding},
      {"chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       http::error::bad_transfer_encoding},
      {"a bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
       http::error::bad_chunk},
      {"not HTTP", "HTTX/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", http::error::bad_version},
      {"HTTP/2.0", "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", http::error::bad_version},
      {"a two-digit status", "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n", http::error::bad_status},
      {"a status with a letter", "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n", http::error::bad_status},
      {"no space after the status", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", http::error::bad_status},
      {"a field without a colon", "HTTP/1.1 200 OK\r\nNoColon\r\nContent-Length: 0\r\n\r\n", http::error::bad_field},
      {"a space before the colon", "HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 0\r\n\r\n", http::error::bad_field},
      {"a bare LF ending a field", "HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 0\r\n\r\n",
       http::error::bad_value},
      {"more fields than the array holds", many, http::error::header_limit},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    Parsed r;
    parse(r, c.text);
    CHECK(r.ec == c.expected);
  }

  // The byte limit of the whole head.
  Parsed r;
  r.p.header_limit(64);
  error_code ec;
  const std::string big = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(100, 'a') + "\r\n\r\n";
  r.p.put(big, ec);
  CHECK(ec == http::error::header_limit);
}
