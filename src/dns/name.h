// Domain names in uncompressed wire form. On the query path names are handled as raw bytes
// plus a label-offset index, in fixed-size buffers: no allocation, no ldns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "dns/types.h"

namespace pharos::dns {

// ASCII lowercase table; DNS compares names case-insensitively for ASCII letters only.
struct LowerTable {
  uint8_t t[256];
  constexpr LowerTable() : t() {
    for (unsigned i = 0; i < 256; ++i) t[i] = static_cast<uint8_t>(i >= 'A' && i <= 'Z' ? i + 32 : i);
  }
};
inline constexpr LowerTable kLowerTable{};
inline uint8_t to_lower(uint8_t c) { return kLowerTable.t[c]; }

// Length of a valid uncompressed wire name, including the root byte.
inline size_t name_length(const uint8_t* name) {
  const uint8_t* p = name;
  while (*p) p += *p + 1;
  return static_cast<size_t>(p - name) + 1;
}

// Fills offsets[i] with the offset of label i (0 = leftmost) and returns the number of labels,
// not counting the root. `offsets` must hold kMaxLabels entries.
inline unsigned index_labels(const uint8_t* name, uint8_t* offsets) {
  unsigned n = 0;
  unsigned off = 0;
  while (name[off]) {
    offsets[n++] = static_cast<uint8_t>(off);
    off += name[off] + 1u;
  }
  return n;
}

inline unsigned count_labels(const uint8_t* name) {
  unsigned n = 0;
  for (const uint8_t* p = name; *p; p += *p + 1) ++n;
  return n;
}

// A hash of a lowercase wire name (or any short byte string); the same function indexes zones
// and nodes so that a query name is hashed once.
inline uint64_t hash_bytes(const uint8_t* p, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
    p += 8;
    n -= 8;
  }
  uint64_t v = 0;
  if (n >= 4) {
    uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    v = (uint64_t{a} << 32) | b;
  } else if (n > 0) {
    v = uint64_t{p[0]} | (uint64_t{p[n >> 1]} << 8) | (uint64_t{p[n - 1]} << 16);
  }
  h = (h ^ v) * 0x94d049bb133111ebull;
  h ^= h >> 29;
  return h;
}

// True if `name` equals `parent` or lies below it. Both lowercase uncompressed wire names.
bool is_subdomain(const uint8_t* name, size_t name_len, const uint8_t* parent, size_t parent_len);

// Lowercases ASCII letters in `n` bytes at `p`, eight at a time. Writes up to the next multiple
// of 8 bytes: the buffer must have that room. Label length bytes (at most 63) are never letters,
// so a whole wire name can be passed.
inline void lowercase_bytes(uint8_t* p, size_t n) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    uint64_t heptets = v & (0x7F * kOnes);
    uint64_t above_z = heptets + (0x7F - 'Z') * kOnes;  // high bit set where the byte is > 'Z'
    uint64_t from_a = heptets + (0x80 - 'A') * kOnes;   // high bit set where the byte is >= 'A'
    uint64_t upper = (from_a ^ above_z) & ~v & (0x80 * kOnes);
    v |= upper >> 2;  // 0x80 >> 2 == 0x20, the case bit
    std::memcpy(p + i, &v, 8);
  }
}

// Lowercases a wire name in place.
void lowercase_name(uint8_t* name);

// User text in double quotes for an error message, shortened past 80 characters.
std::string quote(std::string_view s);

// Parses a presentation-format name into `out` (kMaxNameLength bytes), case preserved:
// "www.example.com.", a name relative to `origin` (wire, `origin_len` bytes; appended), "@" for
// the origin, "\." and "\DDD" escapes. Without an origin, a name with no final dot is absolute.
// On error returns false with a reason in `why` ("empty label in name \"a..b\"").
bool parse_name(std::string_view text, const uint8_t* origin, size_t origin_len, uint8_t* out, size_t& out_len,
                std::string& why);

// Parses a presentation-format name ("www.example.com.", "www" relative to origin, "@", "\046"
// escapes). `origin` is a wire name or nullptr (then the name must be absolute; a missing final
// dot is accepted as absolute). Returns false on a malformed name. Output is lowercased.
bool name_from_text(std::string_view text, std::vector<uint8_t>& out, const uint8_t* origin = nullptr);

// Formats a wire name as presentation text ("www.example.com."), escaping special characters.
std::string name_to_text(const uint8_t* name);

// Reads a possibly compressed name from a message at `offset`, checking bounds, pointer loops
// and lengths. Writes the uncompressed name to `out` (kMaxNameLength bytes) and returns its
// length, or 0 if malformed. `next` receives the offset after the name in the message.
size_t read_name(const uint8_t* msg, size_t msg_len, size_t offset, uint8_t* out, size_t& next);

}  // namespace pharos::dns
