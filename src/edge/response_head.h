// A member's response, read without Beast's field container (a red-black tree node and an
// allocation per header field): Beast's basic_parser does the parsing and the framing checks
// (status line, Content-Length, chunked, to the end of the connection), and this keeps the status
// line and up to ResponseHead::kMaxFields fields as string views in a fixed array, with the body
// copied straight into the caller's buffer. No I/O, no allocation.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/field.hpp>

namespace pharos::edge {

namespace http = boost::beast::http;
using boost::system::error_code;

struct HeaderField {
  http::field id;  // http::field::unknown for names Beast does not know
  std::string_view name;
  std::string_view value;
};

// The status line and header fields of a response, as views into the text they were read from.
struct ResponseHead {
  // Like HAProxy's tune.http.maxhdr (101): a response with more fields is refused.
  static constexpr size_t kMaxFields = 100;

  ResponseHead() {}  // leaves `fields` unset: only the first `count` are ever read

  unsigned status = 0;
  unsigned version = 11;  // 10 or 11
  std::string_view reason;
  size_t count = 0;
  union {
    std::array<HeaderField, kMaxFields> fields;  // [0, count) set
  };

  // The Connection fields' tokens (the header names they make hop-by-hop), gathered once;
  // `many_tokens`: more than fit here, and connection_names() reads the fields again.
  static constexpr size_t kMaxTokens = 8;
  std::array<std::string_view, kMaxTokens> tokens;
  size_t token_count = 0;
  bool many_tokens = false;

  const HeaderField* begin() const { return fields.data(); }
  const HeaderField* end() const { return fields.data() + count; }
  bool has(http::field f) const;
  // Whether a Connection field lists `name` (case-insensitively).
  bool connection_names(std::string_view name) const;
};

// Reads one response. Feed it with put(); after is_header_done(), keep_head() moves the head's
// text out of the read buffer. For the body, body_buffer() says where the next bytes go; put()
// then returns need_buffer when that space is full.
//
// Refused, besides what Beast refuses (a bad status line or version, a bad Content-Length or
// two that differ, chunked and Content-Length together, a bad chunk): a folded field (obs-fold,
// RFC 9112 §5.2: a proxy may refuse it), more than kMaxFields fields, and any Transfer-Encoding
// together with a Content-Length (RFC 9112 §6.3: an error, whichever comes first).
class ResponseParser final : public http::basic_parser<false> {
 public:
  ResponseParser() = default;

  // Parses from one contiguous buffer; returns the bytes used (see basic_parser::put).
  size_t put(std::string_view in, error_code& ec);

  const ResponseHead& head() const { return head_; }
  // After is_header_done(): copies the head's text (the first `size` bytes of what put() was
  // given last, from `raw`) into `store` and points the views there, so that the read buffer
  // can be consumed and refilled.
  void keep_head(const char* raw, size_t size, std::string& store);

  void body_buffer(char* data, size_t size) {
    out_ = data;
    room_ = size;
  }
  size_t body_room() const { return room_; }

 private:
  using bsv = boost::beast::string_view;
  void on_request_impl(http::verb, bsv, bsv, int, error_code&) override;
  void on_response_impl(int code, bsv reason, int version, error_code& ec) override;
  void on_field_impl(http::field f, bsv name, bsv value, error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code& ec) override;
  size_t on_body_impl(bsv body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, bsv, error_code& ec) override;
  size_t on_chunk_body_impl(std::uint64_t, bsv body, error_code& ec) override;
  void on_finish_impl(error_code& ec) override;

  size_t take(bsv body, error_code& ec);

  ResponseHead head_;
  const char* in_begin_ = nullptr;  // what put() was given, for telling folded values apart
  const char* in_end_ = nullptr;
  bool header_done_ = false;
  bool has_te_ = false;
  bool has_length_ = false;
  char* out_ = nullptr;
  size_t room_ = 0;
};

}  // namespace pharos::edge
