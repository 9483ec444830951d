// Building a Zone from records: grouping into nodes and RRsets, empty non-terminals, zone cuts,
// wildcards, additional-section targets, and the semantic checks (RFC 1034, 2181, 2308) that
// decide whether the zone may serve at all.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "zone/zone.h"

namespace pharos::zone {

// What a load said besides success or failure, each message as "file:line: reason".
struct Diagnostics {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
  size_t errors_dropped = 0;  // beyond kMaxMessages
  size_t warnings_dropped = 0;
  static constexpr size_t kMaxMessages = 50;

  void error(std::string m);
  void warning(std::string m);
  // The errors as one message, one per line, with a count of those left out.
  std::string error_text() const;
};

class ZoneBuilder {
 public:
  // `origin` in presentation form; `file` names the zone file in messages.
  ZoneBuilder(const std::string& origin, std::string file, Diagnostics& diag);
  ~ZoneBuilder();

  // Adds one record as read from `file`:`line`. Records outside the zone, of a class other than
  // IN, of a meta type or with malformed rdata are errors (reported to the diagnostics).
  void add(const uint8_t* owner, uint16_t type, uint16_t rclass, uint32_t ttl, const uint8_t* rdata, uint16_t rdlen,
           const std::string& file, unsigned line);

  // Runs the semantic checks and returns the zone, or an error if any error was reported.
  Result<std::shared_ptr<const Zone>> build();

  bool origin_ok() const { return origin_ok_; }

 private:
  struct Rec {
    uint32_t node;
    uint16_t type;
    uint16_t rdlen;
    uint32_t ttl;
    uint32_t rdata;  // offset in raw_
    uint32_t line;
    uint16_t file;
  };

  uint32_t find_or_add_node(const uint8_t* name, size_t len);
  void grow_index();
  std::string where(const Rec& r) const;
  std::string where_node(uint32_t node, uint16_t type) const;

  std::unique_ptr<Zone> zone_;
  Diagnostics& diag_;
  std::vector<Rec> recs_;
  std::vector<uint8_t> raw_;
  std::vector<std::string> files_;
  const std::string* last_file_ptr_ = nullptr;
  uint16_t last_file_ = 0;
  uint32_t last_node_ = kNone;
  bool origin_ok_ = false;
  bool built_ = false;
};

// Reads `file` (an RFC 1035 master file) for zone `origin` and builds it. Every error and
// warning, as "file:line: reason", goes to `diag`; the returned error is a summary.
Result<std::shared_ptr<const Zone>> load_zone_file(const std::string& origin, const std::string& file,
                                                   Diagnostics& diag);

}  // namespace pharos::zone
