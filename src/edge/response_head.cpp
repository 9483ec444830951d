#include "edge/response_head.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/rfc7230.hpp>

namespace pharos::edge {

namespace {

using boost::beast::iequals;

// RFC 9110 §5.6.2 tchar, as Beast's parser has it.
constexpr std::array<bool, 256> kToken = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[static_cast<size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<size_t>(c)] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

// Bytes a reason or field value may not hold: controls other than HTAB, and DEL (obs-text,
// 0x80-0xff, is allowed).
constexpr std::array<bool, 256> kControl = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[static_cast<size_t>(c)] = c != '\t';
  t[0x7f] = true;
  return t;
}();

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// ASCII case-insensitive equality with `lower`, a name in lower case (letters and '-' only).
bool is_name(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (static_cast<char>(a[i] | 0x20) != lower[i]) return false;
  }
  return true;
}

// The fields the proxy acts on, by name (case-insensitively); unknown for all others.
http::field classify(std::string_view n) {
  switch (n.size()) {
    case 2:
      if (is_name(n, "te")) return http::field::te;
      break;
    case 7:
      if (is_name(n, "trailer")) return http::field::trailer;
      if (is_name(n, "upgrade")) return http::field::upgrade;
      break;
    case 10:
      if (is_name(n, "connection")) return http::field::connection;
      if (is_name(n, "keep-alive")) return http::field::keep_alive;
      break;
    case 14:
      if (is_name(n, "content-length")) return http::field::content_length;
      break;
    case 16:
      if (is_name(n, "proxy-connection")) return http::field::proxy_connection;
      break;
    case 17:
      if (is_name(n, "transfer-encoding")) return http::field::transfer_encoding;
      break;
    case 18:
      if (is_name(n, "proxy-authenticate")) return http::field::proxy_authenticate;
      break;
    case 19:
      if (is_name(n, "proxy-authorization")) return http::field::proxy_authorization;
      break;
    default:
      break;
  }
  return http::field::unknown;
}

// Where the first CRLF CRLF in [p, end) ends, or null; `from`: bytes known not to hold its start.
const char* find_head_end(const char* p, const char* end, size_t from) {
  for (const char* q = p + from; end - q >= 4;) {
    const void* cr = std::memchr(q, '\r', static_cast<size_t>(end - q - 3));
    if (!cr) return nullptr;
    q = static_cast<const char*>(cr);
    if (q[1] == '\n' && q[2] == '\r' && q[3] == '\n') return q + 4;
    ++q;
  }
  return nullptr;
}

// Eight bytes at a time (little-endian: the first byte lowest): a mask with the high bit of each
// byte that a reason or value may not hold (a control character other than HTAB, or DEL), exact.
uint64_t control_bytes(uint64_t x) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kLow7 = 0x7f * kOnes;
  constexpr uint64_t kHigh = 0x80 * kOnes;
  auto zero_bytes = [](uint64_t v) { return ~(((v & kLow7) + kLow7) | v) & kHigh; };
  const uint64_t below_space = ~(((x & kLow7) + (0x80 - 0x20) * kOnes) | x) & kHigh;  // < 0x20
  return (below_space & ~zero_bytes(x ^ (0x09 * kOnes))) | zero_bytes(x ^ kLow7);
}

// From `p`, the text up to the CRLF that ends the line: false with `ec` set on a control
// character (`bad`) or a CR without LF. Within a complete head, a line always ends.
bool scan_line(const char*& p, const char* end, std::string_view& text, http::error bad, error_code& ec) {
  const char* first = p;
  for (;;) {
    if (end - p < 8) {
      while (p < end && !kControl[static_cast<unsigned char>(*p)]) ++p;
      break;
    }
    uint64_t word;
    std::memcpy(&word, p, 8);
    if (const uint64_t mask = control_bytes(word)) {
      p += std::countr_zero(mask) / 8;
      break;
    }
    p += 8;
  }
  if (p + 1 >= end || *p != '\r') {
    ec = bad;
    return false;
  }
  if (p[1] != '\n') {
    ec = http::error::bad_line_ending;
    return false;
  }
  text = std::string_view(first, static_cast<size_t>(p - first));
  p += 2;
  return true;
}

}  // namespace

// Beast's parser, for a chunked body only: given a head of its own, it decodes the chunks (sizes,
// extensions, the trailer) and hands their data over.
class ResponseParser::ChunkDecoder final : public http::basic_parser<false> {
 public:
  ChunkDecoder(ResponseParser& owner, uint32_t trailer_limit) : owner_(owner) {
    static constexpr std::string_view kHead = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    body_limit(boost::none);
    header_limit(trailer_limit);
    error_code ec;
    basic_parser::put(boost::asio::const_buffer(kHead.data(), kHead.size()), ec);
    eager(true);
  }
  size_t feed(std::string_view in, error_code& ec) {
    return basic_parser::put(boost::asio::const_buffer(in.data(), in.size()), ec);
  }

 private:
  using bsv = boost::beast::string_view;
  void on_request_impl(http::verb, bsv, bsv, int, error_code& ec) override { ec = http::error::bad_method; }
  void on_response_impl(int, bsv, int, error_code&) override {}
  void on_field_impl(http::field, bsv, bsv, error_code&) override {}  // the trailer: not passed on
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  size_t on_body_impl(bsv, error_code& ec) override {
    ec = http::error::bad_transfer_encoding;  // never: the body is chunked
    return 0;
  }
  void on_chunk_header_impl(std::uint64_t, bsv, error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, bsv body, error_code& ec) override {
    return owner_.take(body.data(), body.size(), ec);
  }
  void on_finish_impl(error_code&) override {}

  ResponseParser& owner_;
};

ResponseParser::ResponseParser() = default;
ResponseParser::~ResponseParser() = default;

bool ResponseHead::has(http::field f) const {
  for (const HeaderField& h : *this) {
    if (h.id == f) return true;
  }
  return false;
}

bool ResponseHead::connection_names(std::string_view name) const {
  if (!many_tokens) {
    for (size_t i = 0; i < token_count; ++i) {
      if (iequals(tokens[i], name)) return true;
    }
    return false;
  }
  for (const HeaderField& h : *this) {
    if (h.id != http::field::connection) continue;
    for (auto token : http::token_list{h.value}) {
      if (iequals(token, name)) return true;
    }
  }
  return false;
}

bool ResponseParser::keep_alive() const {
  if (head_.version >= 11 ? close_ : !keep_alive_) return false;
  return !body_to_eof_;
}

size_t ResponseParser::put(std::string_view in, error_code& ec) {
  ec = {};
  switch (state_) {
    case State::Head: {
      if (in.empty()) {
        ec = http::error::need_more;
        return 0;
      }
      got_some_ = true;
      // Not a response at all: said at once, not after header_limit bytes or a timeout.
      const std::string_view start = in.substr(0, 5);
      if (std::string_view("HTTP/").substr(0, start.size()) != start) {
        ec = http::error::bad_version;
        return 0;
      }
      const size_t window = in.size() < header_limit_ ? in.size() : header_limit_;
      const char* end = find_head_end(in.data(), in.data() + window, scanned_);
      if (!end) {
        if (in.size() >= header_limit_) {
          ec = http::error::header_limit;
          return 0;
        }
        scanned_ = window >= 3 ? window - 3 : 0;
        ec = http::error::need_more;
        return 0;
      }
      parse_head(in.data(), end, ec);
      if (ec) return 0;
      return static_cast<size_t>(end - in.data());
    }
    case State::Length: {
      const size_t n = in.size() < remaining_ ? in.size() : static_cast<size_t>(remaining_);
      const size_t used = take(in.data(), n, ec);
      remaining_ -= used;
      if (remaining_ == 0) {
        state_ = State::Done;
        ec = {};
      }
      return used;
    }
    case State::ToEof:
      return take(in.data(), in.size(), ec);
    case State::Chunked: {
      const size_t used = chunks_->feed(in, ec);
      if (chunks_->is_done()) state_ = State::Done;
      return used;
    }
    case State::Done:
      return 0;
  }
  return 0;
}

void ResponseParser::put_eof(error_code& ec) {
  ec = {};
  if (state_ == State::ToEof) {
    state_ = State::Done;
  } else if (state_ != State::Done) {
    ec = http::error::partial_message;
  }
}

void ResponseParser::parse_head(const char* p, const char* end, error_code& ec) {
  // status-line = HTTP-version SP status-code SP reason-phrase CRLF
  if (end - p < 13 || std::memcmp(p, "HTTP/", 5) != 0 || !is_digit(p[5]) || p[6] != '.' || !is_digit(p[7])) {
    ec = http::error::bad_version;
    return;
  }
  const unsigned version = static_cast<unsigned>(10 * (p[5] - '0') + (p[7] - '0'));
  if (version < 10 || version > 11 || p[8] != ' ') {
    ec = http::error::bad_version;
    return;
  }
  if (!is_digit(p[9]) || !is_digit(p[10]) || !is_digit(p[11]) || p[12] != ' ') {
    ec = http::error::bad_status;
    return;
  }
  head_.version = version;
  head_.status = static_cast<unsigned>(100 * (p[9] - '0') + 10 * (p[10] - '0') + (p[11] - '0'));
  p += 13;
  if (!scan_line(p, end, head_.reason, http::error::bad_reason, ec)) return;

  // header-field = field-name ":" OWS field-value OWS; the head ends with an empty line.
  for (;;) {
    if (*p == '\r') {
      if (p[1] != '\n') {
        ec = http::error::bad_line_ending;
        return;
      }
      break;
    }
    const char* name = p;
    while (kToken[static_cast<unsigned char>(*p)]) ++p;
    if (*p != ':' || p == name) {
      ec = http::error::bad_field;
      return;
    }
    const std::string_view field_name(name, static_cast<size_t>(p - name));
    ++p;
    while (*p == ' ' || *p == '\t') ++p;
    std::string_view value;
    if (!scan_line(p, end, value, http::error::bad_value, ec)) return;
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (*p == ' ' || *p == '\t') {  // obs-fold: the value goes on in the next line
      ec = http::error::bad_value;
      return;
    }
    if (head_.count == ResponseHead::kMaxFields) {
      ec = http::error::header_limit;
      return;
    }
    const http::field f = classify(field_name);
    if (f != http::field::unknown) {
      parse_field(f, value, ec);
      if (ec) return;
    }
    std::construct_at(&head_.fields[head_.count++], HeaderField{f, field_name, value});
  }

  // RFC 9112 §6.3: what follows the head.
  const unsigned status = head_.status;
  if (skip_body_ || status / 100 == 1 || status == 204 || status == 304) {
    state_ = State::Done;
  } else if (has_length_) {
    remaining_ = length_;
    state_ = length_ > 0 ? State::Length : State::Done;
  } else if (chunked_) {
    chunks_ = std::make_unique<ChunkDecoder>(*this, header_limit_);
    state_ = State::Chunked;
  } else {
    body_to_eof_ = true;
    state_ = State::ToEof;
  }
}

// The checks and flags of the fields that frame the message, as Beast's basic_parser has them.
void ResponseParser::parse_field(http::field f, std::string_view value, error_code& ec) {
  if (f == http::field::connection || f == http::field::proxy_connection) {
    if (!value.empty() && std::all_of(value.begin(), value.end(), [](char c) { return kToken[static_cast<unsigned char>(c)]; })) {
      connection_token(f, value);  // one token, the usual case
      return;
    }
    const http::opt_token_list list{value};
    if (!http::validate_list(list)) {
      ec = http::error::bad_value;
      return;
    }
    for (auto token : list) connection_token(f, std::string_view(token.data(), token.size()));
    return;
  }
  if (f == http::field::content_length) {
    if (chunked_) {
      ec = http::error::bad_content_length;
      return;
    }
    if (!value.empty() && value.size() <= 19 && std::all_of(value.begin(), value.end(), is_digit)) {
      uint64_t v = 0;  // one number of up to 19 digits, the usual case: no overflow
      for (char c : value) v = v * 10 + static_cast<uint64_t>(c - '0');
      if (has_length_ && v != length_) {
        ec = http::error::multiple_content_length;
        return;
      }
      has_length_ = true;
      length_ = v;
      if (has_te_) ec = http::error::bad_transfer_encoding;
      return;
    }
    // A list of equal numbers ("42, 42") is one; empty elements are not allowed.
    size_t elements = 1;
    for (char c : value) elements += c == ',';
    const http::opt_token_list list{value};
    if (list.begin() == list.end() || !http::validate_list(list)) {
      ec = http::error::bad_content_length;
      return;
    }
    for (auto token : list) {
      uint64_t v = 0;
      if (token.empty()) {
        ec = http::error::bad_content_length;
        return;
      }
      for (char c : token) {
        const uint64_t d = static_cast<uint64_t>(c - '0');
        if (!is_digit(c) || v > (UINT64_MAX - d) / 10) {
          ec = http::error::bad_content_length;
          return;
        }
        v = v * 10 + d;
      }
      --elements;
      if (has_length_ && v != length_) {
        ec = http::error::multiple_content_length;
        return;
      }
      has_length_ = true;
      length_ = v;
    }
    if (elements != 0) ec = http::error::bad_content_length;
    // Any coding with a Content-Length (Beast takes one that is not chunked).
    else if (has_te_) ec = http::error::bad_transfer_encoding;
    return;
  }
  if (f == http::field::transfer_encoding) {
    if (chunked_ || has_length_) {  // chunked twice; or a Content-Length before it
      ec = http::error::bad_transfer_encoding;
      return;
    }
    has_te_ = true;
    // Chunked only when the first "chunked" is the last coding; otherwise the body runs to the
    // end of the connection.
    const http::token_list codings{value};
    for (auto it = codings.begin(); it != codings.end(); ++it) {
      if (is_name(std::string_view((*it).data(), (*it).size()), "chunked")) {
        chunked_ = std::next(it) == codings.end();
        break;
      }
    }
  }
}

void ResponseParser::connection_token(http::field f, std::string_view t) {
  if (is_name(t, "close")) close_ = true;
  else if (is_name(t, "keep-alive")) keep_alive_ = true;
  // The Connection fields' tokens (the names they make hop-by-hop), gathered once.
  if (f != http::field::connection || head_.many_tokens) return;
  if (head_.token_count == ResponseHead::kMaxTokens) {
    head_.many_tokens = true;
  } else {
    head_.tokens[head_.token_count++] = t;
  }
}

void ResponseParser::keep_head(const char* raw, size_t size, std::string& store) {
  store.assign(raw, size);
  auto rebase = [&](std::string_view& v) {
    if (!v.empty()) v = std::string_view(store.data() + (v.data() - raw), v.size());
  };
  rebase(head_.reason);
  for (size_t i = 0; i < head_.count; ++i) {
    rebase(head_.fields[i].name);
    rebase(head_.fields[i].value);
  }
  for (size_t i = 0; i < head_.token_count; ++i) rebase(head_.tokens[i]);
}

size_t ResponseParser::take(const char* data, size_t size, error_code& ec) {
  if (size == 0) return 0;
  if (room_ == 0) {
    ec = http::error::need_buffer;
    return 0;
  }
  const size_t n = size < room_ ? size : room_;
  std::memcpy(out_, data, n);
  out_ += n;
  room_ -= n;
  if (n < size) ec = http::error::need_buffer;
  return n;
}

}  // namespace pharos::edge
