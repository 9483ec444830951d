// RFC 1035 master file reader. The tokenizer, the directives ($ORIGIN, $TTL, $INCLUDE), the
// owner / TTL / class / type fields and the line numbers are handled here; the rdata of each
// record is parsed by ldns, then copied out in wire form (the rdfs' data concatenated, which is
// what ldns_rr_rdata2buffer_wire writes: uncompressed, case kept).
//
// Two ways into ldns, with the same result (the unit tests compare them):
//  - types whose fields are all single tokens (A, AAAA, NS, CNAME, MX, SOA, SRV, TXT, CAA, ...)
//    go field by field through ldns_rdf_new_frm_str, applying ldns_rr_new_frm_str's rules for
//    quotes, "@" and relative names; this avoids ldns_rr_new_frm_str's per-call buffers (about
//    four 64 KiB allocations and several copies of the line), which cost 3-4 times more;
//  - everything else, and anything unusual, goes through ldns_rr_new_frm_str on a normalised
//    line ". TYPEn <rdata tokens>" with the current origin.
// Load time only.
#include "dns/master_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>

#include "dns/ldns_cxx.h"
#include "dns/name.h"
#include "dns/types.h"

namespace pharos::dns {
namespace {

constexpr uint16_t kTypeIpseckey = 45;

constexpr size_t kReadChunk = 1 << 20;       // bytes per read(2)
constexpr size_t kMaxEntryText = 1 << 20;    // an entry's token text; real records are far smaller
constexpr size_t kMaxLdnsRdataText = 65534;  // ldns_rr_new_frm_str silently truncates longer rdata text
constexpr uint32_t kMaxTtl = 0x7fffffff;     // RFC 2181 section 8

struct RdfDeleter {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
struct RrDeleter {
  void operator()(ldns_rr* r) const { ldns_rr_free(r); }
};
using RdfPtr = std::unique_ptr<ldns_rdf, RdfDeleter>;
using RrPtr = std::unique_ptr<ldns_rr, RrDeleter>;


bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (to_lower(static_cast<uint8_t>(a[i])) != to_lower(static_cast<uint8_t>(b[i]))) return false;
  }
  return true;
}

// Parses a decimal number with no sign; false if empty, not all digits, or above `max`.
bool parse_uint(std::string_view s, uint32_t max, uint32_t& out) {
  if (s.empty() || s.size() > 10) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

// A duration: plain seconds ("3600") or BIND-style units ("1h30m", "1d", "1w", "2h15"), units
// case-insensitive. 0 = ok, 1 = malformed, 2 = above `max`.
int parse_duration(std::string_view s, uint64_t max, uint32_t& out) {
  if (s.empty() || !is_digit(s[0])) return 1;
  uint64_t total = 0;
  uint64_t num = 0;
  bool have_num = false;
  bool overflow = false;
  for (char c : s) {
    if (is_digit(c)) {
      num = num * 10 + static_cast<uint64_t>(c - '0');
      have_num = true;
      if (num > max) {  // keep going: malformed text is reported before overflow
        overflow = true;
        num = max + 1;
      }
      continue;
    }
    uint64_t mult;
    switch (c) {
      case 's': case 'S': mult = 1; break;
      case 'm': case 'M': mult = 60; break;
      case 'h': case 'H': mult = 3600; break;
      case 'd': case 'D': mult = 86400; break;
      case 'w': case 'W': mult = 604800; break;
      default: return 1;
    }
    if (!have_num) return 1;
    total += num * mult;
    if (total > max) {
      overflow = true;
      total = max + 1;
    }
    num = 0;
    have_num = false;
  }
  total += num;
  if (overflow || total > max) return 2;
  out = static_cast<uint32_t>(total);
  return 0;
}

// TTLs must fit in 31 bits (RFC 2181 section 8).
bool parse_ttl(std::string_view s, uint32_t& out, std::string& err) {
  switch (parse_duration(s, kMaxTtl, out)) {
    case 0:
      return true;
    case 2:
      err = "TTL " + quote(s) + " out of range (more than 2147483647 seconds)";
      return false;
    default:
      err = "bad TTL " + quote(s);
      return false;
  }
}

// Class mnemonics accepted in zone files. Returns 0 if `s` is not a class.
uint16_t parse_class(std::string_view s) {
  if (iequals(s, "IN")) return rclass::IN;
  if (iequals(s, "CH") || iequals(s, "CHAOS")) return rclass::CH;
  if (iequals(s, "HS") || iequals(s, "HESIOD")) return 4;
  if (iequals(s, "CS")) return 2;
  if (s.size() > 5 && iequals(s.substr(0, 5), "CLASS")) {
    uint32_t v;
    if (parse_uint(s.substr(5), 65535, v) && v != 0) return static_cast<uint16_t>(v);
  }
  return 0;
}

// Type mnemonic or TYPEnnn. Returns 0 if unknown.
uint16_t parse_type(std::string_view s) {
  if (s.size() > 4 && iequals(s.substr(0, 4), "TYPE")) {
    uint32_t v;
    if (parse_uint(s.substr(4), 65535, v)) return static_cast<uint16_t>(v);
    return 0;
  }
  // Fast path for the common types; everything else goes through ldns's table.
  switch (s.size()) {
    case 1:
      if (iequals(s, "A")) return type::A;
      break;
    case 2:
      if (iequals(s, "NS")) return type::NS;
      if (iequals(s, "MX")) return type::MX;
      if (iequals(s, "DS")) return type::DS;
      break;
    case 3:
      if (iequals(s, "TXT")) return type::TXT;
      if (iequals(s, "SOA")) return type::SOA;
      if (iequals(s, "SRV")) return type::SRV;
      if (iequals(s, "PTR")) return type::PTR;
      if (iequals(s, "CAA")) return type::CAA;
      break;
    case 4:
      if (iequals(s, "AAAA")) return type::AAAA;
      break;
    case 5:
      if (iequals(s, "CNAME")) return type::CNAME;
      break;
    default:
      break;
  }
  char buf[32];
  if (s.size() >= sizeof buf) return 0;
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  uint16_t t = static_cast<uint16_t>(ldns_get_rr_type_by_name(buf));
  // ldns has table entries named "TYPE54" etc. for unassigned codes; those are caught above.
  return t;
}

// The ldns descriptor for `t`, or nullptr if ldns does not know the type (ldns then hands
// back its type-0 descriptor, or a placeholder whose _type differs).
const ldns_rr_descriptor* known_descriptor(uint16_t t) {
  const ldns_rr_descriptor* d = ldns_rr_descript(t);
  if (!d || d->_type != t || t == 0 || !d->_name) return nullptr;
  return d;
}

std::string type_name(uint16_t t) {
  if (const ldns_rr_descriptor* d = known_descriptor(t)) return d->_name;
  return "TYPE" + std::to_string(t);
}

// ---------------------------------------------------------------------------------------------
// Input: one open file, read in large chunks.

struct Source {
  std::string path;  // as given, or as resolved for includes
  int fd = -1;
  std::unique_ptr<char[]> buf;
  size_t chunk = kReadChunk;
  size_t pos = 0;
  size_t end = 0;
  bool eof = false;
  int read_errno = 0;
  unsigned line = 1;

  Source() = default;
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;
  ~Source() {
    if (fd >= 0) ::close(fd);
  }

  int get() {
    if (pos < end) return static_cast<unsigned char>(buf[pos++]);
    return refill();
  }

  int refill() {
    if (eof) return -1;
    if (!buf) buf = std::make_unique_for_overwrite<char[]>(chunk);
    for (;;) {
      ssize_t n = ::read(fd, buf.get(), chunk);
      if (n > 0) {
        pos = 0;
        end = static_cast<size_t>(n);
        return static_cast<unsigned char>(buf[pos++]);
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) read_errno = errno;
      eof = true;
      return -1;
    }
  }
};

struct Token {
  uint32_t off;
  uint32_t len;
  bool quoted;  // starts with '"'
};

// One logical record: its tokens (verbatim, quotes and escapes kept), without comments and
// parentheses.
struct Entry {
  std::string text;
  std::vector<Token> toks;
  bool leading_ws = false;
  unsigned line = 0;

  std::string_view tok(size_t i) const { return std::string_view(text).substr(toks[i].off, toks[i].len); }
  void clear() {
    text.clear();
    toks.clear();
    leading_ws = false;
    line = 0;
  }
};

enum class NextStatus { kEntry, kEof, kError };

// Characters with no special meaning to the tokenizer outside quotes.
struct OrdinaryTable {
  bool t[256];
  constexpr OrdinaryTable() : t() {
    for (unsigned i = 0; i < 256; ++i) t[i] = true;
    for (unsigned char c : {'\0', ' ', '\t', '\r', '\n', ';', '(', ')', '"', '\\'}) t[c] = false;
  }
};
constexpr OrdinaryTable kOrdinary{};

// Reads the next entry that has at least one token. On error, sets `err` and `err_line`.
NextStatus next_entry(Source& src, Entry& e, std::string& err, unsigned& err_line) {
  e.clear();
  int depth = 0;
  bool started = false;  // a token or "(" has been seen
  bool in_tok = false;
  bool quoted = false;
  bool line_start = true;
  bool line_leading_ws = false;

  auto start_entry = [&] {
    if (!started) {
      started = true;
      e.line = src.line;
      e.leading_ws = line_leading_ws;
    }
  };
  auto begin_token = [&](bool q) {
    start_entry();
    e.toks.push_back(Token{static_cast<uint32_t>(e.text.size()), 0, q});
    in_tok = true;
  };
  auto end_token = [&] {
    if (in_tok) {
      e.toks.back().len = static_cast<uint32_t>(e.text.size() - e.toks.back().off);
      in_tok = false;
    }
  };
  auto fail = [&](std::string reason) {
    err = std::move(reason);
    err_line = started ? e.line : src.line;
    return NextStatus::kError;
  };

  for (;;) {
    int c = src.get();
    if (c < 0) {
      if (src.read_errno) return fail("read error: " + std::string(std::strerror(src.read_errno)));
      if (quoted) return fail("unterminated quoted string");
      if (depth > 0) return fail("unbalanced parentheses: \"(\" is not closed");
      end_token();
      return e.toks.empty() ? NextStatus::kEof : NextStatus::kEntry;
    }
    if (line_start) {
      line_start = false;
      line_leading_ws = (c == ' ' || c == '\t');
    }
    if (e.text.size() > kMaxEntryText) {
      return fail(depth > 0 ? "entry too long (unbalanced parentheses?)" : "entry too long");
    }
    if (c == 0) return fail("NUL byte in input");
    if (quoted) {
      if (c == '\n') return fail("unterminated quoted string");
      e.text.push_back(static_cast<char>(c));
      if (c == '"') {
        quoted = false;
      } else if (c == '\\') {
        int n = src.get();
        if (n < 0 || n == '\n' || n == '\r') return fail("unterminated quoted string");
        if (n == 0) return fail("NUL byte in input");
        e.text.push_back(static_cast<char>(n));
      }
      continue;
    }
    switch (c) {
      case ' ':
      case '\t':
      case '\r':
        end_token();
        break;
      case '\n':
        end_token();
        ++src.line;
        if (depth == 0) {
          if (!e.toks.empty()) return NextStatus::kEntry;
          started = false;  // a line with "()" only, or nothing
        }
        line_start = true;
        break;
      case ';':
        end_token();
        // Skip to the end of the line; the newline itself is handled above on the next turn.
        for (;;) {
          if (src.pos < src.end) {
            const char* b = src.buf.get() + src.pos;
            const void* nl = std::memchr(b, '\n', src.end - src.pos);
            if (nl) {
              src.pos = static_cast<size_t>(static_cast<const char*>(nl) - src.buf.get());
              break;
            }
            src.pos = src.end;
          }
          int n = src.refill();
          if (n < 0) break;
          --src.pos;  // un-get
        }
        break;
      case '(':
        end_token();
        start_entry();
        ++depth;
        break;
      case ')':
        end_token();
        if (--depth < 0) return fail("unbalanced parentheses: \")\" without \"(\"");
        break;
      case '"':
        if (!in_tok) begin_token(true);
        quoted = true;
        e.text.push_back('"');
        break;
      case '\\': {
        if (!in_tok) begin_token(false);
        int n = src.get();
        if (n < 0 || n == '\n' || n == '\r') return fail("backslash at end of line");
        if (n == 0) return fail("NUL byte in input");
        e.text.push_back('\\');
        e.text.push_back(static_cast<char>(n));
        break;
      }
      default: {
        if (!in_tok) begin_token(false);
        e.text.push_back(static_cast<char>(c));
        // Copy the rest of a run of ordinary characters in one go.
        const char* b = src.buf.get() + src.pos;
        size_t n = 0;
        const size_t avail = src.end - src.pos;
        while (n < avail && kOrdinary.t[static_cast<unsigned char>(b[n])]) ++n;
        e.text.append(b, n);
        src.pos += n;
        break;
      }
    }
  }
}

// Removes the quotes and backslash escapes of a directive argument ($INCLUDE file name).
bool unquote(std::string_view s, bool quoted, std::string& out) {
  out.clear();
  if (quoted) {
    if (s.size() < 2 || s.back() != '"') return false;
    s = s.substr(1, s.size() - 2);
  }
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') return false;
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (i + 1 >= s.size()) return false;
    if (i + 3 < s.size() && is_digit(s[i + 1]) && is_digit(s[i + 2]) && is_digit(s[i + 3])) {
      unsigned v = static_cast<unsigned>(s[i + 1] - '0') * 100u + static_cast<unsigned>(s[i + 2] - '0') * 10u +
                   static_cast<unsigned>(s[i + 3] - '0');
      if (v == 0 || v > 255) return false;
      out.push_back(static_cast<char>(v));
      i += 3;
    } else {
      out.push_back(s[++i]);
    }
  }
  return !out.empty();
}

bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
uint8_t hex_value(char c) {
  if (is_digit(c)) return static_cast<uint8_t>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<uint8_t>(c - 'a' + 10);
  return static_cast<uint8_t>(c - 'A' + 10);
}

// ---------------------------------------------------------------------------------------------

struct OpenFile {
  dev_t dev;
  ino_t ino;
  const std::string* path;
};

class Reader {
 public:
  Reader(const RecordSink& sink, const WarningSink& warn, const MasterFileOptions& options)
      : sink_(sink), warn_(warn), options_(options) {
    entry_.text.reserve(4096);
    entry_.toks.reserve(64);
    line_.reserve(4096);
    rdata_.reserve(1024);
  }

  Result<void> run(const std::string& path, const std::string& origin) {
    std::string err;
    if (origin.empty() || !parse_name(origin, nullptr, 0, origin_, origin_len_, err)) {
      return Error{"bad origin " + quote(origin) + (err.empty() ? "" : ": " + err)};
    }
    if (!set_origin_rdf()) return Error{"out of memory"};
    return read_file(path, nullptr, 0, 0);
  }

  // The same for text in memory, named `name` in messages.
  Result<void> run_text(std::string_view text, const std::string& name, const std::string& origin) {
    std::string err;
    if (origin.empty() || !parse_name(origin, nullptr, 0, origin_, origin_len_, err)) {
      return Error{"bad origin " + quote(origin) + (err.empty() ? "" : ": " + err)};
    }
    if (!set_origin_rdf()) return Error{"out of memory"};
    Source src;
    src.path = name;
    src.buf = std::make_unique_for_overwrite<char[]>(text.size() + 1);
    std::memcpy(src.buf.get(), text.data(), text.size());
    src.end = text.size();
    src.eof = true;  // nothing to read beyond the buffer
    return read_entries(src, 0);
  }

 private:
  const RecordSink& sink_;
  const WarningSink& warn_;
  const MasterFileOptions& options_;

  // Origin (wire, case preserved) and its ldns copy, for relative names in rdata.
  uint8_t origin_[kMaxNameLength];
  size_t origin_len_ = 0;
  RdfPtr origin_rdf_;
  // Previous owner (wire, case preserved); 0 length when there is none yet.
  uint8_t prev_owner_[kMaxNameLength];
  size_t prev_owner_len_ = 0;

  bool have_dollar_ttl_ = false;
  uint32_t dollar_ttl_ = 0;
  bool have_last_ttl_ = false;
  uint32_t last_ttl_ = 0;
  bool warned_default_ttl_ = false;
  uint16_t prev_class_ = rclass::IN;
  bool stopped_ = false;

  std::vector<OpenFile> open_files_;

  // Reused buffers.
  Entry entry_;
  std::string line_;
  std::string scratch_;
  std::vector<uint8_t> rdata_;
  std::vector<uint8_t> generic_;  // decoded RFC 3597 rdata
  uint8_t owner_lower_[kMaxNameLength];

  bool set_origin_rdf() {
    origin_rdf_.reset(ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, origin_len_, origin_));
    return origin_rdf_ != nullptr;
  }

  // Reads one file. `from`/`from_line` locate the $INCLUDE for errors about opening it.
  Result<void> read_file(const std::string& path, const Source* from, unsigned from_line, unsigned depth) {
    Source src;
    src.path = path;
    src.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (src.fd < 0) {
      std::string reason = "cannot open " + quote(path) + ": " + std::strerror(errno);
      if (from) return error_at(from->path, from_line, reason);
      return Error{reason};
    }
    struct stat st;
    if (::fstat(src.fd, &st) != 0) {
      std::string reason = "cannot stat " + quote(path) + ": " + std::strerror(errno);
      if (from) return error_at(from->path, from_line, reason);
      return Error{reason};
    }
    if (S_ISDIR(st.st_mode)) {
      std::string reason = "cannot read " + quote(path) + ": is a directory";
      if (from) return error_at(from->path, from_line, reason);
      return Error{reason};
    }
    for (size_t i = 0; i < open_files_.size(); ++i) {
      if (open_files_[i].dev == st.st_dev && open_files_[i].ino == st.st_ino) {
        std::string reason = "$INCLUDE loop: ";
        if (i + 1 == open_files_.size()) {
          reason += *open_files_[i].path + " includes itself";
        } else {
          for (size_t j = i; j < open_files_.size(); ++j) reason += *open_files_[j].path + " -> ";
          reason += path;
        }
        return error_at(from->path, from_line, reason);
      }
    }
    if (depth > options_.max_include_depth) {
      return error_at(from->path, from_line,
                      "$INCLUDE nested too deeply (more than " + std::to_string(options_.max_include_depth) +
                          " levels)");
    }
    // Small files (typical includes) get a buffer of their size, large ones 1 MiB reads.
    if (S_ISREG(st.st_mode) && st.st_size >= 0 && static_cast<uint64_t>(st.st_size) < kReadChunk) {
      src.chunk = std::max<size_t>(static_cast<size_t>(st.st_size) + 1, 4096);
    }
    open_files_.push_back(OpenFile{st.st_dev, st.st_ino, &src.path});
    Result<void> r = read_entries(src, depth);
    open_files_.pop_back();
    return r;
  }

  Result<void> read_entries(Source& src, unsigned depth) {
    std::string err;
    for (;;) {
      unsigned err_line = 0;
      NextStatus st = next_entry(src, entry_, err, err_line);
      if (st == NextStatus::kEof) return {};
      if (st == NextStatus::kError) return error_at(src.path, err_line, err);
      std::string_view first = entry_.tok(0);
      if (!entry_.leading_ws && !first.empty() && first[0] == '$') {
        Result<void> r = directive(src, depth);
        if (!r) return r;
      } else if (!record(src, err)) {
        return error_at(src.path, entry_.line, err);
      }
      if (stopped_) return {};
    }
  }

  Result<void> directive(Source& src, unsigned depth) {
    const Entry& e = entry_;
    std::string_view name = e.tok(0);
    const unsigned line = e.line;
    std::string err;
    if (iequals(name, "$ORIGIN")) {
      if (e.toks.size() != 2) return error_at(src.path, line, "$ORIGIN needs exactly one domain name");
      uint8_t wire[kMaxNameLength];
      size_t len;
      if (!parse_name(e.tok(1), origin_, origin_len_, wire, len, err)) {
        return error_at(src.path, line, "bad $ORIGIN: " + err);
      }
      std::memcpy(origin_, wire, len);
      origin_len_ = len;
      if (!set_origin_rdf()) return error_at(src.path, line, "out of memory");
      return {};
    }
    if (iequals(name, "$TTL")) {
      if (e.toks.size() != 2) return error_at(src.path, line, "$TTL needs exactly one TTL");
      uint32_t ttl;
      if (!parse_ttl(e.tok(1), ttl, err)) return error_at(src.path, line, err);
      dollar_ttl_ = ttl;
      have_dollar_ttl_ = true;
      return {};
    }
    if (iequals(name, "$INCLUDE")) {
      if (e.toks.size() < 2 || e.toks.size() > 3) {
        return error_at(src.path, line, "$INCLUDE needs a file name and an optional origin");
      }
      std::string file;
      if (!unquote(e.tok(1), e.toks[1].quoted, file)) {
        return error_at(src.path, line, "bad $INCLUDE file name " + quote(e.tok(1)));
      }
      // Relative paths are relative to the directory of the including file.
      if (file[0] != '/') {
        size_t slash = src.path.rfind('/');
        if (slash != std::string::npos) file.insert(0, src.path, 0, slash + 1);
      }
      // Save the state that the include must not change (RFC 1035 section 5.1).
      uint8_t saved_origin[kMaxNameLength];
      size_t saved_origin_len = origin_len_;
      std::memcpy(saved_origin, origin_, origin_len_);
      uint8_t saved_owner[kMaxNameLength];
      size_t saved_owner_len = prev_owner_len_;
      std::memcpy(saved_owner, prev_owner_, prev_owner_len_);
      if (e.toks.size() == 3) {
        uint8_t wire[kMaxNameLength];
        size_t len;
        if (!parse_name(e.tok(2), origin_, origin_len_, wire, len, err)) {
          return error_at(src.path, line, "bad $INCLUDE origin: " + err);
        }
        std::memcpy(origin_, wire, len);
        origin_len_ = len;
        if (!set_origin_rdf()) return error_at(src.path, line, "out of memory");
      }
      Result<void> r = read_file(file, &src, line, depth + 1);
      if (!r) return r;
      // entry_ now holds the included file's last entry: use only values saved above. The
      // included file may have changed the origin with $ORIGIN even without an origin argument.
      std::memcpy(origin_, saved_origin, saved_origin_len);
      origin_len_ = saved_origin_len;
      if (!set_origin_rdf()) return error_at(src.path, line, "out of memory");
      std::memcpy(prev_owner_, saved_owner, saved_owner_len);
      prev_owner_len_ = saved_owner_len;
      return {};
    }
    if (iequals(name, "$GENERATE")) return error_at(src.path, line, "$GENERATE is not supported");
    return error_at(src.path, line, "unknown directive " + quote(name));
  }

  // One resource record. Returns false with `err` set on a syntax error.
  bool record(Source& src, std::string& err) {
    const Entry& e = entry_;
    size_t i = 0;
    // Owner.
    if (!e.leading_ws) {
      size_t len;
      if (!parse_name(e.tok(0), origin_, origin_len_, prev_owner_, len, err)) {
        prev_owner_len_ = 0;
        err = "bad owner name: " + err;
        return false;
      }
      prev_owner_len_ = len;
      i = 1;
    } else if (prev_owner_len_ == 0) {
      err = "no owner name (the first record cannot start with a blank owner)";
      return false;
    }
    // TTL and class, in either order, both optional.
    bool have_ttl = false;
    bool have_class = false;
    uint32_t ttl = 0;
    uint16_t rclass = prev_class_;
    while (i < e.toks.size()) {
      std::string_view t = e.tok(i);
      if (!have_ttl && is_digit(t[0])) {
        if (!parse_ttl(t, ttl, err)) return false;
        have_ttl = true;
        ++i;
        continue;
      }
      if (!have_class) {
        uint16_t c = parse_class(t);
        if (c != 0) {
          rclass = c;
          have_class = true;
          ++i;
          continue;
        }
        if (iequals(t, "NONE") || iequals(t, "ANY")) {
          err = "class " + std::string(t) + " is not allowed in a zone file";
          return false;
        }
      }
      break;
    }
    if (i >= e.toks.size()) {
      err = "missing type";
      return false;
    }
    std::string_view type_tok = e.tok(i++);
    uint16_t rtype = parse_type(type_tok);
    if (rtype == 0) {
      err = "unknown type " + quote(type_tok);
      return false;
    }
    if (rtype == 41 || (rtype >= 128 && rtype <= 255)) {
      err = "type " + quote(type_tok) + " is not allowed in a zone file";
      return false;
    }
    if (have_ttl) {
      last_ttl_ = ttl;
      have_last_ttl_ = true;
    } else if (have_dollar_ttl_) {
      ttl = dollar_ttl_;
    } else if (have_last_ttl_) {
      ttl = last_ttl_;
    } else {
      ttl = options_.default_ttl;
      if (!warned_default_ttl_) {
        warned_default_ttl_ = true;
        if (warn_) {
          warn_(src.path + ":" + std::to_string(e.line) + ": no TTL and no $TTL; using the default TTL " +
                std::to_string(ttl));
        }
      }
    }
    prev_class_ = rclass;

    if (!rdata(rtype, i, err)) return false;

    // Owner: lowercased copy.
    std::memcpy(owner_lower_, prev_owner_, prev_owner_len_);
    lowercase_name(owner_lower_);
    MasterRecord rec;
    rec.owner = std::span<const uint8_t>(owner_lower_, prev_owner_len_);
    rec.type = rtype;
    rec.rclass = rclass;
    rec.ttl = ttl;
    rec.rdata = std::span<const uint8_t>(rdata_.data(), rdata_.size());
    rec.file = &src.path;
    rec.line = e.line;
    if (sink_ && !sink_(rec)) stopped_ = true;
    return true;
  }

  enum class Fast { kDone, kFallback, kError };

  // Field by field with ldns_rdf_new_frm_str, for types whose fields are all single tokens
  // (A, AAAA, NS, CNAME, PTR, MX, SOA, SRV, TXT, CAA, ...). This is what ldns_rr_new_frm_str
  // does for these field types once it has split the line, without its per-call buffers
  // (four 64 KiB allocations and several copies of the line). Anything unusual (a token
  // count that does not match, quotes in odd places, \#, a field that fails to parse) falls
  // back to ldns_rr_new_frm_str, which then also produces the error message.
  Fast fast_rdata(uint16_t rtype, const ldns_rr_descriptor* desc, size_t first, std::string& err) {
    const Entry& e = entry_;
    const size_t n = e.toks.size() - first;
    if (n < ldns_rr_descriptor_minimum(desc) || n > ldns_rr_descriptor_maximum(desc)) return Fast::kFallback;
    for (size_t k = 0; k < n; ++k) {
      switch (ldns_rr_descriptor_field_type(desc, k)) {
        case LDNS_RDF_TYPE_A:
        case LDNS_RDF_TYPE_AAAA:
        case LDNS_RDF_TYPE_DNAME:
        case LDNS_RDF_TYPE_INT8:
        case LDNS_RDF_TYPE_INT16:
        case LDNS_RDF_TYPE_INT32:
        case LDNS_RDF_TYPE_PERIOD:
        case LDNS_RDF_TYPE_STR:
        case LDNS_RDF_TYPE_LONG_STR:
        case LDNS_RDF_TYPE_TAG:
          break;
        default:
          return Fast::kFallback;
      }
    }
    rdata_.clear();
    for (size_t k = 0; k < n; ++k) {
      const ldns_rdf_type ft = ldns_rr_descriptor_field_type(desc, k);
      std::string_view t = e.tok(first + k);
      if (t.size() >= 2 && t[0] == '\\' && t[1] == '#') return Fast::kFallback;
      if (t.find('\r') != std::string_view::npos) return Fast::kFallback;  // ldns turns it into a space
      if (t[0] == '"') {
        // ldns passes a quoted string's content, without the quotes, for string fields.
        if (ft != LDNS_RDF_TYPE_STR && ft != LDNS_RDF_TYPE_LONG_STR) return Fast::kFallback;
        size_t j = 1;
        while (j < t.size() && t[j] != '"') j += (t[j] == '\\') ? 2 : 1;
        if (j != t.size() - 1) return Fast::kFallback;
        t = t.substr(1, t.size() - 2);
      } else if (t.find('"') != std::string_view::npos) {
        return Fast::kFallback;
      }
      // ldns reads integers with strtol and keeps the low bits ("65536" becomes 0, "-1"
      // 65535): check the range first.
      uint64_t max = 0;
      switch (ft) {
        case LDNS_RDF_TYPE_INT8: max = 0xff; break;
        case LDNS_RDF_TYPE_INT16: max = 0xffff; break;
        case LDNS_RDF_TYPE_INT32: max = 0xffffffff; break;
        default: break;
      }
      if (max != 0) {
        bool ok = !t.empty() && t.size() <= 10;
        uint64_t acc = 0;
        for (char c : t) {
          if (!is_digit(c)) ok = false;
          if (ok) acc = acc * 10 + static_cast<uint64_t>(c - '0');
        }
        if (!ok || acc > max) {
          err = "bad rdata for " + type_name(rtype) + ": " + quote(t) + " is not a number from 0 to " +
                std::to_string(max);
          return Fast::kError;
        }
      } else if (ft == LDNS_RDF_TYPE_PERIOD) {
        uint32_t v;
        int rc = parse_duration(t, 0xffffffff, v);
        if (rc != 0) {
          err = "bad rdata for " + type_name(rtype) + ": " + quote(t) +
                (rc == 2 ? " is more than 4294967295 seconds" : " is not a number of seconds");
          return Fast::kError;
        }
      }
      scratch_.assign(t);
      RdfPtr r(ldns_rdf_new_frm_str(ft, scratch_.c_str()));
      if (!r) {
        // ldns only says "could not parse"; for names, say what is wrong.
        uint8_t wire[kMaxNameLength];
        size_t len;
        if (ft == LDNS_RDF_TYPE_DNAME && !parse_name(t, origin_, origin_len_, wire, len, err)) {
          err = "bad rdata for " + type_name(rtype) + ": " + err;
          return Fast::kError;
        }
        err.clear();
        return Fast::kFallback;
      }
      const uint8_t* data = ldns_rdf_data(r.get());
      size_t size = ldns_rdf_size(r.get());
      if (ft == LDNS_RDF_TYPE_DNAME) {
        // Same rules as ldns_rr_new_frm_str: a first label "@" means the origin, a name
        // without a final dot is relative to the origin.
        if (size > 1 && data[0] == 1 && data[1] == '@') {
          rdata_.insert(rdata_.end(), origin_, origin_ + origin_len_);
          continue;
        }
        if (!ldns_dname_str_absolute(scratch_.c_str())) {
          if (size > 0 && data[size - 1] == 0) --size;  // drop the root label
          if (size + origin_len_ > kMaxNameLength) {
            err = "bad rdata for " + type_name(rtype) + ": name " + quote(t) +
                  " is longer than 255 bytes with the origin appended";
            return Fast::kError;
          }
          rdata_.insert(rdata_.end(), data, data + size);
          rdata_.insert(rdata_.end(), origin_, origin_ + origin_len_);
          continue;
        }
      }
      rdata_.insert(rdata_.end(), data, data + size);
    }
    if (rdata_.size() > 65535) {
      err = "bad rdata for " + type_name(rtype) + ": rdata longer than 65535 bytes";
      return Fast::kError;
    }
    return Fast::kDone;
  }

  // Parses the rdata tokens from index `first` with ldns into rdata_.
  // RFC 4025 §3: precedence, gateway type, algorithm, gateway, then an optional base64 key in
  // one token.
  bool ipseckey_shape_ok(size_t first, std::string& err) const {
    const Entry& e = entry_;
    const size_t n = e.toks.size() - first;
    if (n < 4 || n > 5) {
      err = "bad rdata for IPSECKEY: expected precedence, gateway type, algorithm, gateway and a key, got " +
            std::to_string(n) + " fields";
      return false;
    }
    if (n == 5) {
      std::string_view key = e.tok(first + 4);
      bool ok = !key.empty() && key.size() % 4 == 0;
      for (size_t k = 0; ok && k < key.size(); ++k) {
        char ch = key[k];
        bool pad = ch == '=' && k + 2 >= key.size();
        ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' ||
             ch == '/' || pad;
        if (pad && k + 1 < key.size() && key[k + 1] != '=') ok = false;
      }
      if (!ok) {
        err = "bad rdata for IPSECKEY: the public key " + quote(key) + " is not base64";
        return false;
      }
    }
    return true;
  }

  bool rdata(uint16_t rtype, size_t first, std::string& err) {
    const Entry& e = entry_;
    const ldns_rr_descriptor* desc = known_descriptor(rtype);
    const bool generic = first < e.toks.size() && e.tok(first) == "\\#";
    // RFC 3597 generic rdata: checked and decoded here so that ldns gets clean input (it
    // reads the length with atoi) and so that its result can be compared byte for byte.
    if (generic) {
      uint32_t len;
      if (first + 1 >= e.toks.size() || !parse_uint(e.tok(first + 1), 65535, len)) {
        err = "bad rdata for " + type_name(rtype) + ": \\# needs a length from 0 to 65535";
        return false;
      }
      generic_.clear();
      size_t digits = 0;
      bool high = true;
      for (size_t k = first + 2; k < e.toks.size(); ++k) {
        std::string_view h = e.tok(k);
        for (char c : h) {
          if (!is_hex(c)) {
            err = "bad rdata for " + type_name(rtype) + ": bad hex " + quote(h) + " after \\#";
            return false;
          }
        }
        digits += h.size();
      }
      if (digits != 2 * static_cast<size_t>(len)) {
        err = "bad rdata for " + type_name(rtype) + ": \\# length " + std::to_string(len) + " but " +
              std::to_string(digits / 2) + (digits % 2 ? ".5" : "") + " bytes of hex";
        return false;
      }
      for (size_t k = first + 2; k < e.toks.size(); ++k) {
        std::string_view h = e.tok(k);
        for (size_t j = 0; j < h.size(); ++j) {
          // A byte's two hex digits may be split across tokens.
          if (high) {
            generic_.push_back(static_cast<uint8_t>(hex_value(h[j]) << 4));
          } else {
            generic_.back() = static_cast<uint8_t>(generic_.back() | hex_value(h[j]));
          }
          high = !high;
        }
      }
    } else if (!desc) {
      err = "type " + type_name(rtype) + " is not known; use the RFC 3597 form: \\# length hex";
      return false;
    }
    // ldns would read a later \# as generic data for that one field and silently drop the rest.
    for (size_t k = first + 1; k < e.toks.size(); ++k) {
      if (e.tok(k) == "\\#") {
        err = "bad rdata for " + type_name(rtype) + ": \\# is only allowed as the first rdata field";
        return false;
      }
    }

    if (!generic && desc) {
      switch (fast_rdata(rtype, desc, first, err)) {
        case Fast::kDone:
          return true;
        case Fast::kError:
          return false;
        case Fast::kFallback:
          break;
      }
    }

    // libldns 1.8.3 leaks in its IPSECKEY parser when given more than five fields or a bad
    // base64 key (str2host.c, ldns_str2rdf_ipseckey); refuse those shapes before it sees them.
    if (rtype == kTypeIpseckey && !generic && !ipseckey_shape_ok(first, err)) return false;

    // ". TYPEn rdata": the owner is ours, TTL and class are irrelevant to ldns, TYPEn skips its
    // name lookup.
    char num[8];
    char* p = num + sizeof num;
    unsigned v = rtype;
    do {
      *--p = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    line_.assign(". TYPE");
    line_.append(p, static_cast<size_t>(num + sizeof num - p));
    size_t rdata_start = line_.size() + 1;
    for (size_t k = first; k < e.toks.size(); ++k) {
      line_.push_back(' ');
      line_.append(e.tok(k));
    }
    if (line_.size() - std::min(rdata_start, line_.size()) > kMaxLdnsRdataText) {
      err = "bad rdata for " + type_name(rtype) + ": rdata text longer than " + std::to_string(kMaxLdnsRdataText) +
            " characters";
      return false;
    }
    ldns_rr* raw = nullptr;
    ldns_status status = ldns_rr_new_frm_str(&raw, line_.c_str(), 0, origin_rdf_.get(), nullptr);
    RrPtr rr(raw);
    if (status != LDNS_STATUS_OK || !rr) {
      std::string_view text;
      if (rdata_start <= line_.size()) text = std::string_view(line_).substr(rdata_start);
      err = "bad rdata for " + type_name(rtype) + ": " + ldns_get_errorstr_by_id(status) + " (rdata " + quote(text) +
            ")";
      return false;
    }
    if (ldns_rr_get_type(rr.get()) != rtype) {
      err = "bad rdata for " + type_name(rtype) + ": ldns parsed it as type " +
            std::to_string(ldns_rr_get_type(rr.get()));
      return false;
    }
    rdata_.clear();
    const size_t count = ldns_rr_rd_count(rr.get());
    for (size_t k = 0; k < count; ++k) {
      const ldns_rdf* f = ldns_rr_rdf(rr.get(), k);
      const size_t size = ldns_rdf_size(f);
      const uint8_t* data = ldns_rdf_data(f);
      if (ldns_rdf_get_type(f) == LDNS_RDF_TYPE_DNAME && size > kMaxNameLength) {
        // ldns_dname_cat does not check the length after appending the origin.
        err = "bad rdata for " + type_name(rtype) + ": a name is longer than 255 bytes";
        return false;
      }
      rdata_.insert(rdata_.end(), data, data + size);
    }
    if (rdata_.size() > 65535) {
      err = "bad rdata for " + type_name(rtype) + ": rdata longer than 65535 bytes";
      return false;
    }
    if (generic) {
      if (rdata_ != generic_ || (desc && count < ldns_rr_descriptor_minimum(desc))) {
        err = "bad rdata for " + type_name(rtype) + ": the \\# data is not valid " + type_name(rtype) + " rdata";
        return false;
      }
    }
    return true;
  }
};

}  // namespace

Result<void> read_master_file(const std::string& path, const std::string& origin, const RecordSink& sink,
                              const WarningSink& warn, const MasterFileOptions& options) {
  Reader reader(sink, warn, options);
  return reader.run(path, origin);
}

Result<void> read_master_text(std::string_view text, const std::string& name, const std::string& origin,
                              const RecordSink& sink, const WarningSink& warn, const MasterFileOptions& options) {
  Reader reader(sink, warn, options);
  return reader.run_text(text, name, origin);
}

uint16_t type_from_text(std::string_view text) { return parse_type(text); }

std::string type_to_text(uint16_t type) { return type_name(type); }

}  // namespace pharos::dns
