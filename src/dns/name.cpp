#include "dns/name.h"

#include <cctype>

namespace pharos::dns {

bool is_subdomain(const uint8_t* name, size_t name_len, const uint8_t* parent, size_t parent_len) {
  if (parent_len > name_len) return false;
  // Walk labels of `name` until the remaining suffix has the parent's length, so the comparison
  // starts on a label boundary.
  size_t off = 0;
  while (name_len - off > parent_len) off += name[off] + 1u;
  if (name_len - off != parent_len) return false;
  return std::memcmp(name + off, parent, parent_len) == 0;
}

void lowercase_name(uint8_t* name) {
  for (uint8_t* p = name; *p; p += *p + 1) {
    for (unsigned i = 1; i <= *p; ++i) p[i] = to_lower(p[i]);
  }
}

std::string quote(std::string_view s) {
  constexpr size_t kMax = 80;
  std::string out = "\"";
  if (s.size() > kMax) {
    out.append(s.substr(0, kMax));
    out += "...";
  } else {
    out.append(s);
  }
  out += '"';
  return out;
}

namespace {
bool is_digit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

bool parse_name(std::string_view text, const uint8_t* origin, size_t origin_len, uint8_t* out, size_t& out_len,
                std::string& err) {
  if (text == "@") {
    if (!origin) {
      err = "\"@\" used with no origin";
      return false;
    }
    std::memcpy(out, origin, origin_len);
    out_len = origin_len;
    return true;
  }
  if (text == ".") {
    out[0] = 0;
    out_len = 1;
    return true;
  }
  if (text.empty()) {
    err = "empty name";
    return false;
  }
  auto fail = [&](const char* what) {
    err = std::string(what) + " in name " + quote(text);
    return false;
  };
  // out[len] is the length byte of the label being built; its bytes follow it.
  size_t len = 0;
  size_t label_len = 0;
  bool absolute = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (label_len == 0) return fail("empty label");
      out[len] = static_cast<uint8_t>(label_len);
      len += 1 + label_len;
      label_len = 0;
      if (i + 1 == text.size()) absolute = true;
      continue;
    }
    uint8_t byte;
    if (c == '\\') {
      if (i + 1 >= text.size()) return fail("bad escape");
      if (is_digit(text[i + 1])) {
        if (i + 3 >= text.size() || !is_digit(text[i + 2]) || !is_digit(text[i + 3])) return fail("bad escape");
        unsigned v = static_cast<unsigned>(text[i + 1] - '0') * 100u + static_cast<unsigned>(text[i + 2] - '0') * 10u +
                     static_cast<unsigned>(text[i + 3] - '0');
        if (v > 255) return fail("bad escape");
        byte = static_cast<uint8_t>(v);
        i += 3;
      } else {
        byte = static_cast<uint8_t>(text[++i]);
      }
    } else {
      byte = static_cast<uint8_t>(c);
    }
    if (label_len == kMaxLabelLength) return fail("label longer than 63 bytes");
    // The label so far, its length byte and a root byte must fit in 255 bytes.
    if (len + 1 + label_len + 1 + 1 > kMaxNameLength) {
      err = "name " + quote(text) + " is longer than 255 bytes";
      return false;
    }
    out[len + 1 + label_len] = byte;
    ++label_len;
  }
  if (label_len > 0) {
    out[len] = static_cast<uint8_t>(label_len);
    len += 1 + label_len;
  }
  if (absolute || !origin) {
    out[len++] = 0;
  } else {
    if (len + origin_len > kMaxNameLength) {
      err = "name " + quote(text) + " is longer than 255 bytes with the origin appended";
      return false;
    }
    std::memcpy(out + len, origin, origin_len);
    len += origin_len;
  }
  out_len = len;
  return true;
}

bool name_from_text(std::string_view text, std::vector<uint8_t>& out, const uint8_t* origin) {
  uint8_t wire[kMaxNameLength];
  size_t len = 0;
  std::string why;
  if (!parse_name(text, origin, origin ? name_length(origin) : 0, wire, len, why)) return false;
  lowercase_name(wire);
  out.assign(wire, wire + len);
  return true;
}

std::string name_to_text(const uint8_t* name) {
  std::string s;
  if (*name == 0) return ".";
  for (const uint8_t* p = name; *p; p += *p + 1) {
    for (unsigned i = 1; i <= *p; ++i) {
      uint8_t c = p[i];
      if (c == '.' || c == '\\' || c == '(' || c == ')' || c == ';' || c == '"' || c == '@' || c == '$') {
        s += '\\';
        s += static_cast<char>(c);
      } else if (c <= 0x20 || c >= 0x7f) {
        char buf[5];
        buf[0] = '\\';
        buf[1] = static_cast<char>('0' + c / 100);
        buf[2] = static_cast<char>('0' + (c / 10) % 10);
        buf[3] = static_cast<char>('0' + c % 10);
        buf[4] = 0;
        s += buf;
      } else {
        s += static_cast<char>(c);
      }
    }
    s += '.';
  }
  return s;
}

size_t read_name(const uint8_t* msg, size_t msg_len, size_t offset, uint8_t* out, size_t& next) {
  size_t len = 0;
  size_t pos = offset;
  bool jumped = false;
  unsigned hops = 0;
  while (true) {
    if (pos >= msg_len) return 0;
    uint8_t c = msg[pos];
    if ((c & 0xC0) == 0xC0) {
      if (pos + 1 >= msg_len) return 0;
      size_t target = static_cast<size_t>((c & 0x3F) << 8) | msg[pos + 1];
      if (!jumped) next = pos + 2;
      jumped = true;
      // Pointers must point backwards; bound the hops as well to stop loops.
      if (target >= pos || ++hops > kMaxLabels) return 0;
      pos = target;
      continue;
    }
    if (c & 0xC0) return 0;  // extended label types are not supported
    if (c == 0) {
      if (len + 1 > kMaxNameLength) return 0;
      out[len++] = 0;
      if (!jumped) next = pos + 1;
      return len;
    }
    if (pos + 1 + c > msg_len || len + 1 + c + 1 > kMaxNameLength) return 0;
    std::memcpy(out + len, msg + pos, c + 1u);
    len += c + 1u;
    pos += c + 1u;
  }
}

}  // namespace pharos::dns
