#include "edge/response_head.h"

#include <cstring>
#include <memory>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/rfc7230.hpp>

namespace pharos::edge {

bool ResponseHead::has(http::field f) const {
  for (const HeaderField& h : *this) {
    if (h.id == f) return true;
  }
  return false;
}

bool ResponseHead::connection_names(std::string_view name) const {
  if (!many_tokens) {
    for (size_t i = 0; i < token_count; ++i) {
      if (boost::beast::iequals(tokens[i], name)) return true;
    }
    return false;
  }
  for (const HeaderField& h : *this) {
    if (h.id != http::field::connection) continue;
    for (auto token : http::token_list{h.value}) {
      if (boost::beast::iequals(token, name)) return true;
    }
  }
  return false;
}

size_t ResponseParser::put(std::string_view in, error_code& ec) {
  in_begin_ = in.data();
  in_end_ = in.data() + in.size();
  return basic_parser::put(boost::asio::const_buffer(in.data(), in.size()), ec);
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

void ResponseParser::on_request_impl(http::verb, bsv, bsv, int, error_code& ec) {
  ec = http::error::bad_method;  // a response parser: never called
}

void ResponseParser::on_response_impl(int code, bsv reason, int version, error_code&) {
  head_.status = static_cast<unsigned>(code);
  head_.version = static_cast<unsigned>(version);
  head_.reason = reason;
}

void ResponseParser::on_field_impl(http::field f, bsv name, bsv value, error_code& ec) {
  if (header_done_) return;  // a chunked body's trailer: not passed on
  // Beast unfolds an obs-fold into a buffer of its own: the value is then not in the input.
  if (!value.empty() && (value.data() < in_begin_ || value.data() + value.size() > in_end_)) {
    ec = http::error::bad_value;
    return;
  }
  if (head_.count == ResponseHead::kMaxFields) {
    ec = http::error::header_limit;
    return;
  }
  if (f == http::field::transfer_encoding) has_te_ = true;
  if (f == http::field::content_length) has_length_ = true;
  if (has_te_ && has_length_) {
    ec = http::error::bad_transfer_encoding;
    return;
  }
  std::construct_at(&head_.fields[head_.count++], HeaderField{f, name, value});
}

void ResponseParser::on_header_impl(error_code&) {
  header_done_ = true;
  for (const HeaderField& h : head_) {
    if (h.id != http::field::connection) continue;
    for (auto token : http::token_list{h.value}) {
      if (head_.token_count == ResponseHead::kMaxTokens) {
        head_.many_tokens = true;
        return;
      }
      head_.tokens[head_.token_count++] = std::string_view(token.data(), token.size());
    }
  }
}

void ResponseParser::on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) {}

size_t ResponseParser::take(bsv body, error_code& ec) {
  if (room_ == 0) {
    ec = http::error::need_buffer;
    return 0;
  }
  const size_t n = body.size() < room_ ? body.size() : room_;
  std::memcpy(out_, body.data(), n);
  out_ += n;
  room_ -= n;
  if (n < body.size()) ec = http::error::need_buffer;
  return n;
}

size_t ResponseParser::on_body_impl(bsv body, error_code& ec) { return take(body, ec); }

void ResponseParser::on_chunk_header_impl(std::uint64_t, bsv, error_code&) {}

size_t ResponseParser::on_chunk_body_impl(std::uint64_t, bsv body, error_code& ec) { return take(body, ec); }

void ResponseParser::on_finish_impl(error_code&) {}

}  // namespace pharos::edge
