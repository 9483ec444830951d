// A member's response as ResponseParser reads it: the head into a flat array of views, the body's
// framing, and what is refused (folding, conflicting framing, bad status lines, limits).
#include <catch2/catch.hpp>

#include <random>

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include "edge/http_rules.h"
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
  CHECK(h.fields[0].id == http::field::unknown);  // only the fields the proxy acts on are named
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

TEST_CASE("edge response head: a head split across reads keeps every field", "[edge]") {
  const std::string text =
      "HTTP/1.1 200 Fine\r\nServer: app\r\nX-Long: " + std::string(300, 'v') +
      "\r\nConnection: x-hop\r\nX-Hop: 1\r\nContent-Length: 3\r\n\r\nabc";
  for (size_t step : {size_t(1), size_t(2), size_t(5), size_t(64)}) {
    INFO("pieces of " << step << " bytes");
    Parsed r;
    parse(r, text, false, step);
    REQUIRE_FALSE(r.ec);
    const ResponseHead& h = r.p.head();
    CHECK(h.reason == "Fine");
    REQUIRE(h.count == 5);
    CHECK(h.fields[0].value == "app");
    CHECK(h.fields[1].value == std::string(300, 'v'));
    CHECK(h.fields[2].id == http::field::connection);
    CHECK(h.connection_names("X-Hop"));
    CHECK(r.body == "abc");
  }
}

TEST_CASE("edge response head: the head's byte limit, the first bytes and the end of the connection", "[edge]") {
  const std::string head = "HTTP/1.1 200 OK\r\nX-A: 12345\r\n\r\n";  // 31 bytes
  {
    ResponseParser p;
    p.header_limit(static_cast<uint32_t>(head.size()));
    error_code ec;
    CHECK(p.put(head, ec) == head.size());
    CHECK_FALSE(ec);
  }
  {
    ResponseParser p;
    p.header_limit(static_cast<uint32_t>(head.size() - 1));
    error_code ec;
    CHECK(p.put(head, ec) == 0);
    CHECK(ec == http::error::header_limit);
  }
  {
    // Incomplete and under the limit: nothing used, more wanted; a byte at a time gets there.
    ResponseParser p;
    p.header_limit(1024);
    error_code ec;
    for (size_t n = 1; n < head.size(); ++n) {
      CHECK(p.put(std::string_view(head).substr(0, n), ec) == 0);
      CHECK(ec == http::error::need_more);
    }
    CHECK(p.put(head, ec) == head.size());
    CHECK_FALSE(ec);
  }
  {
    // Not a response: said at the first bytes, not after the limit.
    ResponseParser p;
    error_code ec;
    p.put("SSH-2.0", ec);
    CHECK(ec == http::error::bad_version);
  }
  {
    ResponseParser p;
    error_code ec;
    p.put("HTTP/1.1 200 OK\r\nX-A: 1\r\n", ec);
    CHECK(ec == http::error::need_more);
    p.put_eof(ec);
    CHECK(ec == http::error::partial_message);  // the connection ended within the head
  }
  {
    ResponseParser p;
    char buf[16];
    p.body_buffer(buf, sizeof buf);
    error_code ec;
    const std::string text = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
    CHECK(p.put(text, ec) == text.size());
    CHECK(p.put("12345", ec) == 5);
    CHECK_FALSE(p.is_done());
    p.put_eof(ec);
    CHECK(ec == http::error::partial_message);  // a Content-Length body cut short
  }
}

namespace {

// The reference: Beast's basic_parser with the rules the proxy adds (as ResponseParser was
// before it scanned heads by hand): no obs-fold, no Transfer-Encoding with a Content-Length, at
// most kMaxFields fields.
class BeastReference final : public http::basic_parser<false> {
 public:
  struct Field {
    http::field id;
    std::string name;
    std::string value;
  };
  unsigned status = 0;
  unsigned version = 0;
  std::string reason;
  std::vector<Field> fields;
  std::string body;
  const char* in_begin = nullptr;
  const char* in_end = nullptr;

 private:
  using bsv = boost::beast::string_view;
  void on_request_impl(http::verb, bsv, bsv, int, error_code& ec) override { ec = http::error::bad_method; }
  void on_response_impl(int code, bsv r, int v, error_code&) override {
    status = static_cast<unsigned>(code);
    version = static_cast<unsigned>(v);
    reason = std::string(r);
  }
  void on_field_impl(http::field f, bsv name, bsv value, error_code& ec) override {
    if (header_done_) return;
    if (!value.empty() && (value.data() < in_begin || value.data() + value.size() > in_end)) {
      ec = http::error::bad_value;
      return;
    }
    if (fields.size() == ResponseHead::kMaxFields) {
      ec = http::error::header_limit;
      return;
    }
    if (f == http::field::transfer_encoding) has_te_ = true;
    if (f == http::field::content_length) has_length_ = true;
    if (has_te_ && has_length_) {
      ec = http::error::bad_transfer_encoding;
      return;
    }
    fields.push_back({f, std::string(name), std::string(value)});
  }
  void on_header_impl(error_code&) override { header_done_ = true; }
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  size_t on_body_impl(bsv b, error_code&) override {
    body.append(b.data(), b.size());
    return b.size();
  }
  void on_chunk_header_impl(std::uint64_t, bsv, error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, bsv b, error_code&) override {
    body.append(b.data(), b.size());
    return b.size();
  }
  void on_finish_impl(error_code&) override {}
  bool header_done_ = false;
  bool has_te_ = false;
  bool has_length_ = false;
};

// The fields ResponseParser names: the hop-by-hop ones and Content-Length.
bool acted_on(http::field f) { return is_hop_by_hop(f) || f == http::field::content_length; }

std::string generate_head(std::mt19937& rng) {
  auto pick = [&](const auto& list) { return list[std::uniform_int_distribution<size_t>(0, list.size() - 1)(rng)]; };
  auto chance = [&](int percent) { return std::uniform_int_distribution<int>(0, 99)(rng) < percent; };
  static const std::vector<std::string> versions = {"HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0",
                                                    "HTTP/1.x", "HTTX/1.1", "http/1.1", "HTTP/1.12"};
  static const std::vector<std::string> statuses = {"200", "200", "200", "204", "304", "100", "101", "404",
                                                    "502", "20",  "2x0", "2000", "099"};
  static const std::vector<std::string> reasons = {" OK", " OK", " Not Found", " ", "", " tab\there",
                                                   " obs\x80text", " ctl\x01", " del\x7f", "  two spaces"};
  static const std::vector<std::string> names = {
      "Content-Length", "content-length", "Transfer-Encoding", "transfer-encoding", "Connection", "connection",
      "Proxy-Connection", "Upgrade", "Keep-Alive", "TE", "Trailer", "Server", "X-A", "Set-Cookie", "X-Hop",
      "Bad Name", "", "X@Y", "X\x80Y", "Date"};
  static const std::vector<std::string> separators = {": ", ": ", ":", ":  ", ":\t", " :", ";"};
  static const std::vector<std::string> values = {
      "0",       "5",          "5, 5",       "5,,5",      "5, 6",        "x",         "05",       " 5",
      "18446744073709551615",  "18446744073709551616",  "chunked",     "Chunked",   "gzip, chunked",
      "chunked, gzip",         "gzip",       "chunked, chunked",        ", chunked", "chunked,", "close",
      "keep-alive",            "Keep-Alive, x-hop",     "upgrade",     "close, upgrade",        "@bad",
      "",        " spaced ",   "a\tb",       "\x80obs",   "ctl\x01",     "del\x7f",   "x-hop , , other",
      "a, @",    "value\t",    "v\r",        "v\n"};
  static const std::vector<std::string> endings = {"\r\n", "\r\n", "\r\n", "\r\n", "\r\n", "\n", "\r", "\r\r\n"};
  std::string h = pick(versions) + " " + pick(statuses) + pick(reasons) + (chance(95) ? "\r\n" : pick(endings));
  const size_t count = std::uniform_int_distribution<size_t>(0, 6)(rng);
  for (size_t i = 0; i < count; ++i) {
    h += pick(names) + (chance(85) ? std::string(": ") : pick(separators)) + pick(values);
    if (chance(4)) h += std::string("\r\n") + (chance(50) ? " " : "\t") + pick(values);  // obs-fold
    h += chance(92) ? "\r\n" : pick(endings);
  }
  h += chance(97) ? "\r\n" : pick(endings);
  static const std::vector<std::string> bodies = {"", "hello", "5\r\nhello\r\n0\r\n\r\n",
                                                  "3;x=y\r\nabc\r\n0\r\nX-T: 1\r\n\r\n", "zz\r\n"};
  return h + pick(bodies);
}

}  // namespace

TEST_CASE("edge response head: hand-written parser agrees with Beast's basic_parser on generated heads", "[edge]") {
  std::mt19937 rng(20261122);
  size_t accepted = 0, refused = 0;
  for (int i = 0; i < 30000; ++i) {
    const bool head_request = i % 7 == 0;
    const std::string text = generate_head(rng);
    INFO("case " << i << ": " << text);

    BeastReference ref;
    ref.header_limit(64 * 1024);
    ref.body_limit(boost::none);
    if (head_request) ref.skip(true);
    ref.in_begin = text.data();
    ref.in_end = text.data() + text.size();
    error_code ref_ec;
    const size_t ref_used = ref.put(boost::asio::const_buffer(text.data(), text.size()), ref_ec);
    // RFC 9112 §5.2: an obs-fold anywhere in the head is refused (Beast takes one that follows
    // an empty value as leading whitespace).
    const size_t head_end = text.find("\r\n\r\n");
    const std::string_view head = std::string_view(text).substr(0, head_end == std::string::npos ? text.size() : head_end);
    const bool folded = head.find("\r\n ") != std::string_view::npos || head.find("\r\n\t") != std::string_view::npos;
    const bool ref_ok = !ref_ec && ref.is_header_done() && !folded;

    Parsed mine;
    parse(mine, text, head_request, 1 << 20, 1 << 16, true);
    const bool mine_ok = mine.p.is_header_done();
    REQUIRE(mine_ok == ref_ok);
    if (!ref_ok) {
      ++refused;
      continue;
    }
    ++accepted;
    const ResponseHead& h = mine.p.head();
    CHECK(h.status == ref.status);
    CHECK(h.version == ref.version);
    CHECK(h.reason == ref.reason);
    REQUIRE(h.count == ref.fields.size());
    for (size_t f = 0; f < h.count; ++f) {
      CHECK(h.fields[f].name == ref.fields[f].name);
      CHECK(h.fields[f].value == ref.fields[f].value);
      CHECK(h.fields[f].id == (acted_on(ref.fields[f].id) ? ref.fields[f].id : http::field::unknown));
    }
    CHECK(mine.p.keep_alive() == ref.keep_alive());
    CHECK(mine.p.content_length().has_value() == ref.content_length().has_value());
    if (ref.content_length()) CHECK(*mine.p.content_length() == *ref.content_length());

    // The body, to the end of the text and then the end of the connection.
    error_code body_ec;
    size_t used = ref_used;
    while (!ref.is_done() && used < text.size()) {
      ref.eager(true);
      const size_t n = ref.put(boost::asio::const_buffer(text.data() + used, text.size() - used), body_ec);
      used += n;
      if (body_ec || n == 0) break;
    }
    if (!body_ec && !ref.is_done()) ref.put_eof(body_ec);
    const bool ref_body_ok = !body_ec && ref.is_done();
    CHECK((!mine.ec && mine.p.is_done()) == ref_body_ok);
    if (ref_body_ok) CHECK(mine.body == ref.body);
  }
  // The generator makes both kinds, and plenty of each.
  CHECK(accepted > 1500);
  CHECK(refused > 1500);
}
