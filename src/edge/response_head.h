// A member's response, read without Beast's field container (a red-black tree node and an
// allocation per header field) and without basic_parser for the head (about 2,500 instructions
// for five fields, where a scan of the complete head takes a few hundred): the status line and up
// to ResponseHead::kMaxFields fields as string views in a fixed array, with the body copied
// straight into the caller's buffer. No I/O; no allocation but for a chunked body's decoder.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/field.hpp>
#include <boost/system/error_code.hpp>

namespace pharos::edge {

namespace http = boost::beast::http;
using boost::system::error_code;

struct HeaderField {
  // The fields the proxy acts on (hop-by-hop ones, Content-Length, Transfer-Encoding); unknown
  // for all others.
  http::field id;
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
// The head is scanned by hand once it is all there (a scan for the blank line that ends it, then
// one pass over its lines: no field container, no allocation, nothing consumed before the head is
// complete, so a head split across reads is parsed whole), with the checks of Beast's basic_parser
// and the same error codes: the status line (HTTP/1.0 or 1.1, three digits, a space, a reason
// without control characters), each field (a token name, a colon, a value without control
// characters, CRLF line endings), Connection and Proxy-Connection token lists, Content-Length
// (digits; a list or repeats must agree), Transfer-Encoding (chunked only as the last coding, not
// twice, not after a Content-Length), no body for HEAD, 1xx, 204 and 304, and header_limit() bytes
// for the whole head. Refused besides: a folded field (obs-fold, RFC 9112 §5.2: a proxy may refuse
// it), more than kMaxFields fields, and any Transfer-Encoding together with a Content-Length
// (RFC 9112 §6.3: an error, whichever comes first). A Content-Length body and one that runs to the
// end of the connection are copied here; a chunked body goes through Beast's basic_parser (its
// chunk and trailer checks).
class ResponseParser {
 public:
  ResponseParser();
  ~ResponseParser();
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  void header_limit(uint32_t bytes) { header_limit_ = bytes; }
  void skip(bool v) { skip_body_ = v; }  // the response to a HEAD request: no body

  // Parses from one contiguous buffer; returns the bytes used. While the head is incomplete it
  // uses none and says need_more; once complete it uses the head's bytes only; then body bytes.
  size_t put(std::string_view in, error_code& ec);
  // The connection ended: completes a body that runs to the end, else partial_message.
  void put_eof(error_code& ec);

  bool got_some() const { return got_some_; }
  bool is_header_done() const { return state_ != State::Head; }
  bool is_done() const { return state_ == State::Done; }
  // After the head: whether the connection can carry another response (HTTP/1.1 without
  // "Connection: close", HTTP/1.0 with "keep-alive", and not a body that runs to the end).
  bool keep_alive() const;
  std::optional<uint64_t> content_length() const {
    return has_length_ ? std::optional<uint64_t>(length_) : std::nullopt;
  }

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
  enum class State : uint8_t { Head, Length, ToEof, Chunked, Done };
  // A chunked body: Beast's parser, given a head of its own, decodes the chunks into out_/room_.
  class ChunkDecoder;

  void parse_head(const char* p, const char* end, error_code& ec);
  void parse_field(http::field f, std::string_view value, error_code& ec);
  void connection_token(http::field f, std::string_view token);  // Connection or Proxy-Connection
  size_t take(const char* data, size_t size, error_code& ec);

  ResponseHead head_;
  State state_ = State::Head;
  bool got_some_ = false;
  bool skip_body_ = false;
  bool has_length_ = false;
  bool has_te_ = false;
  bool chunked_ = false;
  bool close_ = false;       // Connection: close
  bool keep_alive_ = false;  // Connection: keep-alive
  bool body_to_eof_ = false;  // no Content-Length, not chunked: the body ends with the connection
  uint32_t header_limit_ = 8 * 1024;
  size_t scanned_ = 0;       // head bytes already searched for its end
  uint64_t length_ = 0;      // Content-Length
  uint64_t remaining_ = 0;   // of a Content-Length body
  char* out_ = nullptr;
  size_t room_ = 0;
  std::unique_ptr<ChunkDecoder> chunks_;
};

}  // namespace pharos::edge
