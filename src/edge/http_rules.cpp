#include "edge/http_rules.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>

namespace pharos::edge {

namespace beast = boost::beast;

namespace {

bool iequals(std::string_view a, std::string_view b) { return beast::iequals(a, b); }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Fields a client may not set for us unless trusted, and that we set ourselves. Beast knows
// Forwarded only: the others are unknown fields, told apart by length before their names.
bool is_forwarding(http::field id, std::string_view name) {
  if (id == http::field::forwarded) return true;
  if (id != http::field::unknown) return false;
  switch (name.size()) {
    case 9: return iequals(name, "x-real-ip");
    case 15: return iequals(name, "x-forwarded-for");
    case 16: return iequals(name, "x-forwarded-host");
    case 17: return iequals(name, "x-forwarded-proto");
    default: return false;
  }
}

// "name: value\r\n", grown once.
void append_field(std::string& out, std::string_view name, std::string_view value) {
  const size_t at = out.size();
  out.resize(at + name.size() + value.size() + 4);
  char* p = out.data() + at;
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  p[0] = ':';
  p[1] = ' ';
  std::memcpy(p + 2, value.data(), value.size());
  p += 2 + value.size();
  p[0] = '\r';
  p[1] = '\n';
}

}  // namespace

bool normalise_host(std::string_view h, std::string& out) {
  out.clear();
  if (h.empty() || h.size() > 300) return false;
  std::string_view host = h;
  std::string_view port;
  if (h.front() == '[') {  // an IPv6 literal
    size_t close = h.find(']');
    if (close == std::string_view::npos) return false;
    host = h.substr(0, close + 1);
    std::string_view rest = h.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
    }
    std::string inner(host.substr(1, host.size() - 2));
    unsigned char buf[16];
    if (inet_pton(AF_INET6, inner.c_str(), buf) != 1) return false;
  } else {
    size_t colon = h.find(':');
    if (colon != std::string_view::npos) {
      host = h.substr(0, colon);
      port = h.substr(colon + 1);
    }
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
    if (host.empty() || host.size() > 253) return false;
    size_t label = 0;
    for (char c : host) {
      if (c == '.') {
        if (label == 0) return false;
        label = 0;
        continue;
      }
      const char l = lower(c);
      if (!((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '-' || l == '_')) return false;
      if (++label > 63) return false;
    }
    if (label == 0) return false;
  }
  if (h.find(':') != std::string_view::npos && h.front() != '[' && port.empty()) return false;
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  }
  out.reserve(host.size());
  for (char c : host) out.push_back(lower(c));
  return true;
}

Verdict check_request(const http::request_header<>& req, std::string& normalised_host) {
  const bool http11 = req.version() >= 11;
  unsigned content_lengths = 0, transfer_encodings = 0, hosts = 0, connections = 0;
  std::string_view te, host;
  for (const auto& f : req) {
    const auto name = f.name();
    if (name == http::field::content_length) {
      ++content_lengths;
    } else if (name == http::field::transfer_encoding) {
      ++transfer_encodings;
      te = f.value();
    } else if (name == http::field::host) {
      if (++hosts == 1) host = f.value();
    } else if (name == http::field::connection) {
      ++connections;
    }
  }
  Verdict seen;
  seen.framing = content_lengths + transfer_encodings > 0;
  seen.connection = connections > 0;
  auto refuse = [&](unsigned status, std::string_view reason) {
    seen.status = status;
    seen.reason = reason;
    return seen;
  };
  const bool host_ok = normalise_host(host, normalised_host);
  if (transfer_encodings && content_lengths) return refuse(400, "both Content-Length and Transfer-Encoding");
  if (content_lengths > 1) return refuse(400, "more than one Content-Length");
  if (transfer_encodings) {
    if (!http11) return refuse(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (transfer_encodings > 1) return refuse(400, "more than one Transfer-Encoding");
    // Exactly one coding, "chunked": anything else is a coding we do not decode, or a framing
    // that another parser could read differently.
    http::token_list codings{te};
    size_t n = 0;
    bool chunked_last = false;
    for (auto c : codings) {
      ++n;
      chunked_last = iequals(c, "chunked");
    }
    if (n == 0) return refuse(400, "empty Transfer-Encoding");
    if (!chunked_last) return refuse(400, "Transfer-Encoding does not end with chunked");
    if (n > 1) return refuse(501, "unsupported transfer coding");
  }
  if (hosts > 1) return refuse(400, "more than one Host");
  if (http11 && hosts == 0) return refuse(400, "no Host header");
  if (hosts == 1 && !host_ok) return refuse(400, "invalid Host header");
  if (req.method() == http::verb::connect) return refuse(405, "CONNECT is not proxied");
  const auto target = req.target();
  if (target.empty() || (target.front() != '/' && !(target == "*" && req.method() == http::verb::options))) {
    return refuse(400, "request target is not a path");
  }
  return seen;
}

bool is_hop_by_hop(http::field f) {
  switch (f) {
    case http::field::connection:
    case http::field::keep_alive:
    case http::field::proxy_connection:
    case http::field::te:
    case http::field::trailer:
    case http::field::transfer_encoding:
    case http::field::upgrade:
    case http::field::proxy_authenticate:
    case http::field::proxy_authorization:
      return true;
    default:
      return false;
  }
}

bool named_by_connection(const http::fields& fields, std::string_view name) {
  auto range = fields.equal_range(http::field::connection);
  for (auto it = range.first; it != range.second; ++it) {
    for (auto token : http::token_list{it->value()}) {
      if (iequals(token, name)) return true;
    }
  }
  return false;
}

bool is_idempotent(http::verb m) {
  switch (m) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::options:
    case http::verb::trace:
    case http::verb::put:
    case http::verb::delete_:
      return true;
    default:
      return false;
  }
}

bool is_websocket_upgrade(const http::request_header<>& req) {
  if (req.version() < 11 || req.method() != http::verb::get) return false;
  bool connection_upgrade = false;
  auto range = req.equal_range(http::field::connection);
  for (auto it = range.first; it != range.second; ++it) {
    for (auto token : http::token_list{it->value()}) {
      if (iequals(token, "upgrade")) connection_upgrade = true;
    }
  }
  if (!connection_upgrade || req.count(http::field::upgrade) != 1) return false;
  // "websocket", alone (RFC 6455 §4.2.1: its value includes "websocket"; clients send just it).
  size_t n = 0;
  bool websocket = false;
  for (auto token : http::token_list{req[http::field::upgrade]}) {
    ++n;
    websocket = iequals(token, "websocket");
  }
  return n == 1 && websocket;
}

void write_upstream_head(const http::request_header<>& req, const ClientInfo& client, uint64_t body_size,
                         bool had_framing, const ForwardOptions& opt, std::string& out) {
  out.clear();
  out.append(req.method_string());
  out.push_back(' ');
  out.append(req.target());
  out.append(" HTTP/1.1\r\n");
  const bool has_connection = opt.connection && req.count(http::field::connection) != 0;
  std::string_view xff, xfp, xfh, real_ip, forwarded;
  std::string_view host;  // the first Host (check_request refuses more than one)
  bool seen_host = false;
  for (const auto& f : req) {
    const std::string_view name = f.name_string();
    if (f.name() == http::field::host && !seen_host) {
      host = f.value();
      seen_host = true;
    }
    if (is_hop_by_hop(f.name()) || f.name() == http::field::content_length || f.name() == http::field::expect) continue;
    if (has_connection && named_by_connection(req, name)) continue;
    if (is_forwarding(f.name(), name)) {
      if (!opt.trust_forwarded) continue;
      // Trusted: keep the first of each to extend (others go as they are).
      if (iequals(name, "x-forwarded-for") && xff.empty()) {
        xff = f.value();
        continue;
      }
      if (iequals(name, "forwarded") && forwarded.empty()) {
        forwarded = f.value();
        continue;
      }
      if (iequals(name, "x-forwarded-proto")) xfp = f.value();
      if (iequals(name, "x-forwarded-host")) xfh = f.value();
      if (iequals(name, "x-real-ip")) real_ip = f.value();
    }
    append_field(out, name, f.value());
  }
  const std::string_view proto = client.tls ? "https" : "http";
  const bool v6 = client.address.find(':') != std::string::npos;
  // X-Forwarded-For: the client's address, after any trusted list.
  out.append("X-Forwarded-For: ");
  if (!xff.empty()) {
    out.append(xff);
    out.append(", ");
  }
  out.append(client.address);
  out.append("\r\n");
  if (xfp.empty()) append_field(out, "X-Forwarded-Proto", proto);
  if (xfh.empty() && !host.empty()) append_field(out, "X-Forwarded-Host", host);
  if (real_ip.empty()) append_field(out, "X-Real-IP", client.address);
  // Forwarded (RFC 7239): for=, proto=, host= (quoted when it is not a token).
  out.append("Forwarded: ");
  if (!forwarded.empty()) {
    out.append(forwarded);
    out.append(", ");
  }
  out.append("for=");
  if (v6) {
    out.append("\"[");
    out.append(client.address);
    out.append("]\"");
  } else {
    out.append(client.address);
  }
  out.append(";proto=");
  out.append(proto);
  if (!host.empty()) {
    out.append(";host=\"");
    out.append(host);  // a validated host: no quotes or backslashes in it
    out.push_back('"');
  }
  out.append("\r\n");
  if (had_framing || body_size > 0) {
    out.append("Content-Length: ");
    append_number(out, body_size);
    out.append("\r\n");
  }
  if (opt.websocket) out.append("Connection: upgrade\r\nUpgrade: websocket\r\n");
  out.append("\r\n");
}

void write_upgrade_head(const ResponseHead& res, std::string& out) {
  out.clear();
  out.append("HTTP/1.1 101 ");
  out.append(res.reason.empty() ? std::string_view("Switching Protocols") : res.reason);
  out.append("\r\n");
  const bool has_connection = res.has(http::field::connection);
  for (const HeaderField& f : res) {
    if (is_hop_by_hop(f.id) || f.id == http::field::content_length) continue;
    if (has_connection && res.connection_names(f.name)) continue;
    append_field(out, f.name, f.value);
  }
  out.append("Connection: upgrade\r\nUpgrade: websocket\r\n\r\n");
}

void write_response_head(unsigned version, const ResponseHead& res, Framing framing, uint64_t content_length,
                         bool keep_alive, std::string& out) {
  out.clear();
  out.append(version >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ");
  append_number(out, res.status);
  out.push_back(' ');
  out.append(res.reason.empty() ? status_reason(res.status) : res.reason);
  out.append("\r\n");
  const bool has_connection = res.has(http::field::connection);
  for (const HeaderField& f : res) {
    if (is_hop_by_hop(f.id)) continue;
    if (f.id == http::field::content_length && framing != Framing::None) continue;
    if (has_connection && res.connection_names(f.name)) continue;
    append_field(out, f.name, f.value);
  }
  if (framing == Framing::Length) {
    out.append("Content-Length: ");
    append_number(out, content_length);
    out.append("\r\n");
  } else if (framing == Framing::Chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  if (!keep_alive || framing == Framing::Close) {
    out.append("Connection: close\r\n");
  } else if (version < 11) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
}

void write_simple_response(unsigned version, unsigned status, std::string_view body, bool keep_alive, bool head_only,
                           std::string_view extra_headers, std::string& out) {
  out.clear();
  out.append(version >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ");
  append_number(out, status);
  out.push_back(' ');
  out.append(status_reason(status));
  out.append("\r\nServer: pharos\r\nContent-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n");
  out.append(extra_headers);
  out.append("Content-Length: ");
  append_number(out, body.size());
  out.append("\r\n");
  if (!keep_alive) {
    out.append("Connection: close\r\n");
  } else if (version < 11) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
  if (!head_only) out.append(body);
}

std::string_view status_reason(unsigned status) {
  switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 301: return "Moved Permanently";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: break;
  }
  return http::obsolete_reason(static_cast<http::status>(status));
}

}  // namespace pharos::edge
