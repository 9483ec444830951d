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

bool name_from_text(std::string_view text, std::vector<uint8_t>& out, const uint8_t* origin) {
  out.clear();
  if (text == "@") {
    if (!origin) return false;
    out.assign(origin, origin + name_length(origin));
    return true;
  }
  if (text == ".") {
    out.push_back(0);
    return true;
  }
  if (text.empty()) return false;
  uint8_t label[kMaxLabelLength + 1];
  size_t label_len = 0;
  bool absolute = false;
  auto flush = [&]() -> bool {
    if (label_len == 0) return false;
    out.push_back(static_cast<uint8_t>(label_len));
    out.insert(out.end(), label, label + label_len);
    label_len = 0;
    return true;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (!flush()) return false;
      if (i + 1 == text.size()) absolute = true;
      continue;
    }
    uint8_t byte;
    if (c == '\\') {
      if (i + 1 >= text.size()) return false;
      if (i + 3 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1])) &&
          std::isdigit(static_cast<unsigned char>(text[i + 2])) && std::isdigit(static_cast<unsigned char>(text[i + 3]))) {
        unsigned v = (text[i + 1] - '0') * 100u + (text[i + 2] - '0') * 10u + (text[i + 3] - '0');
        if (v > 255) return false;
        byte = static_cast<uint8_t>(v);
        i += 3;
      } else {
        byte = static_cast<uint8_t>(text[++i]);
      }
    } else {
      byte = static_cast<uint8_t>(c);
    }
    if (label_len == kMaxLabelLength) return false;
    label[label_len++] = to_lower(byte);
  }
  if (label_len > 0 && !flush()) return false;
  if (!absolute && origin) {
    out.insert(out.end(), origin, origin + name_length(origin));
  } else {
    out.push_back(0);
  }
  return out.size() <= kMaxNameLength;
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
