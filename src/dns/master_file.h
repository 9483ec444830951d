// Reading RFC 1035 master (zone) files with ldns: $ORIGIN, $TTL, $INCLUDE, relative names,
// parentheses, comments, quoted strings, blank owners, RFC 3597 unknown types (TYPE65534 \# 2 abcd).
// ldns parses each record; this file does the directives, the file nesting and the line numbers.
// Used at load time only, never per packet.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace pharos::dns {

// One record as read from the file. Spans point into buffers that live only for the duration
// of the callback. `owner` is uncompressed wire form, lowercased. `rdata` is uncompressed wire
// form exactly as ldns produced it (names inside rdata are not lowercased here).
struct MasterRecord {
  std::span<const uint8_t> owner;
  uint16_t type = 0;
  uint16_t rclass = 0;
  uint32_t ttl = 0;
  std::span<const uint8_t> rdata;
  const std::string* file = nullptr;  // the file the record came from (the zone file or an include)
  unsigned line = 0;                  // the line where the record starts (1-based)
};

struct MasterFileOptions {
  uint32_t default_ttl = 3600;  // used when there is no $TTL and no earlier explicit TTL (with a warning)
  unsigned max_include_depth = 8;
};

// Called once per record in file order. Return false to stop reading (the reader then returns ok).
using RecordSink = std::function<bool(const MasterRecord&)>;
// Called for warnings that do not stop the load, as "file:line: message".
using WarningSink = std::function<void(const std::string&)>;

// Reads `path` with `origin` (presentation form, "example.com." or "example.com") as the initial
// $ORIGIN. Stops at the first syntax error and returns it as "file:line: reason".
Result<void> read_master_file(const std::string& path, const std::string& origin, const RecordSink& sink,
                              const WarningSink& warn = {}, const MasterFileOptions& options = {});

// Reads records from `text` as if it were a file called `name` (used in messages). $INCLUDE
// paths are relative to `name`'s directory.
Result<void> read_master_text(std::string_view text, const std::string& name, const std::string& origin,
                              const RecordSink& sink, const WarningSink& warn = {},
                              const MasterFileOptions& options = {});

// A type mnemonic ("AAAA", "caa") or "TYPEnnn" to its number; 0 if unknown.
uint16_t type_from_text(std::string_view text);
// The mnemonic of a type, or "TYPEnnn".
std::string type_to_text(uint16_t type);

}  // namespace pharos::dns
