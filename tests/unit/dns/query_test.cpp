// Parsing queries in place: every way a query can be malformed maps to Drop, FORMERR, NOTIMP or
// BADVERS, and nothing reads outside the packet (the fuzzer checks that part at scale).
#include <catch2/catch.hpp>

#include "dns/query.h"
#include "testlib/dns_helpers.h"

using namespace pharos;
using pharos::dns::ParseStatus;

namespace {
ParseStatus parse(const std::vector<uint8_t>& p, dns::Query& q) { return dns::parse_query(p.data(), p.size(), q); }
}  // namespace

TEST_CASE("query: a plain query parses with a lowercased name and label offsets", "[dns]") {
  auto p = test::make_query("WWW.Example.com", 1, {.edns = false, .id = 77});
  dns::Query q;
  REQUIRE(parse(p, q) == ParseStatus::Ok);
  CHECK(q.id == 77);
  CHECK(q.qtype == 1);
  CHECK(q.qclass == 1);
  CHECK(q.qname_labels == 3);
  CHECK(q.qname_len == 17);
  CHECK(std::string(reinterpret_cast<const char*>(q.qname) + 1, 3) == "www");
  CHECK(q.qname_offsets[1] == 4);
  CHECK(q.question_end == p.size());
  CHECK_FALSE(q.edns);
}

TEST_CASE("query: EDNS fields, DO, NSID and client subnet are read", "[dns]") {
  auto p = test::make_query("example.com", 1, {.payload = 4096, .do_bit = true});
  dns::Query q;
  REQUIRE(parse(p, q) == ParseStatus::Ok);
  CHECK(q.edns);
  CHECK(q.udp_payload == 4096);
  CHECK(q.do_bit);
  // Append options to the OPT: NSID (empty) and ECS 1.2.3.0/24.
  std::vector<uint8_t> opts{0, 3, 0, 0, 0, 8, 0, 7, 0, 1, 24, 0, 1, 2, 3};
  p.insert(p.end(), opts.begin(), opts.end());
  p[p.size() - opts.size() - 1] = static_cast<uint8_t>(opts.size());
  REQUIRE(parse(p, q) == ParseStatus::Ok);
  CHECK(q.nsid);
  REQUIRE(q.client_subnet);
  CHECK(q.client_subnet_len == 7);
  CHECK_FALSE(q.ecs_v6);
  CHECK(q.ecs_source == 24);
  CHECK(q.ecs_addr[0] == 1);
  CHECK(q.ecs_addr[2] == 3);
  CHECK(q.ecs_addr[3] == 0);
}

TEST_CASE("query: a malformed client subnet option is FORMERR (RFC 7871 7.1.1)", "[dns]") {
  // Each row: the ECS option data; whether it is accepted.
  struct Row {
    const char* what;
    std::vector<uint8_t> data;
    bool ok;
  };
  const Row rows[] = {
      {"IPv4 /24", {0, 1, 24, 0, 10, 1, 2}, true},
      {"IPv4 /0, no address", {0, 1, 0, 0}, true},
      {"IPv4 /20, low bits clear", {0, 1, 20, 0, 10, 1, 0xF0}, true},
      {"IPv6 /56", {0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 2}, true},
      {"too short", {0, 1, 24}, false},
      {"unknown family", {0, 3, 24, 0, 10, 1, 2}, false},
      {"family 0", {0, 0, 0, 0}, false},
      {"IPv4 source above 32", {0, 1, 33, 0, 1, 2, 3, 4, 5}, false},
      {"scope set in a query", {0, 1, 24, 16, 10, 1, 2}, false},
      {"more address bytes than the prefix", {0, 1, 16, 0, 10, 1, 2}, false},
      {"fewer address bytes than the prefix", {0, 1, 24, 0, 10, 1}, false},
      {"bits set past the prefix", {0, 1, 20, 0, 10, 1, 0xF8}, false},
  };
  for (const Row& r : rows) {
    INFO(r.what);
    auto p = test::make_query("example.com", 1, {.payload = 1232});
    std::vector<uint8_t> opt{0, 8, 0, static_cast<uint8_t>(r.data.size())};
    opt.insert(opt.end(), r.data.begin(), r.data.end());
    p.insert(p.end(), opt.begin(), opt.end());
    p[p.size() - opt.size() - 1] = static_cast<uint8_t>(opt.size());
    dns::Query q;
    CHECK((parse(p, q) == ParseStatus::Ok) == r.ok);
  }
}

TEST_CASE("query: malformed packets map to drop or FORMERR", "[dns]") {
  dns::Query q;
  auto good = test::make_query("example.com", 1);
  SECTION("shorter than a header: drop") { CHECK(parse({1, 2, 3}, q) == ParseStatus::Drop); }
  SECTION("a response: drop") {
    auto p = good;
    p[2] |= 0x80;
    CHECK(parse(p, q) == ParseStatus::Drop);
  }
  SECTION("QDCOUNT 0 or 2: FORMERR") {
    auto p = good;
    p[5] = 0;
    CHECK(parse(p, q) == ParseStatus::FormErr);
    p[5] = 2;
    CHECK(parse(p, q) == ParseStatus::FormErr);
  }
  SECTION("a name cut short: FORMERR") {
    auto p = good;
    p.resize(20);
    p[11] = 0;  // no OPT expected
    CHECK(parse(p, q) == ParseStatus::FormErr);
  }
  SECTION("a compression pointer in the question: FORMERR") {
    std::vector<uint8_t> p{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1};
    CHECK(parse(p, q) == ParseStatus::FormErr);
  }
  SECTION("a label longer than 63: FORMERR") {
    std::vector<uint8_t> p{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 64};
    p.resize(p.size() + 64, 'a');
    p.insert(p.end(), {0, 0, 1, 0, 1});
    CHECK(parse(p, q) == ParseStatus::FormErr);
  }
  SECTION("a name longer than 255: FORMERR") {
    std::vector<uint8_t> p{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 5; ++i) {
      p.push_back(60);
      p.resize(p.size() + 60, 'a');
    }
    p.insert(p.end(), {0, 0, 1, 0, 1});
    CHECK(parse(p, q) == ParseStatus::FormErr);
  }
  SECTION("an answer record in a query: FORMERR") {
    auto p = test::make_query("example.com", 1, {.edns = false});
    p[7] = 1;
    CHECK(parse(p, q) == ParseStatus::FormErr);
  }
  SECTION("ARCOUNT larger than the records present: FORMERR") {
    auto p = good;
    p[11] = 2;
    CHECK(parse(p, q) == ParseStatus::FormErr);
  }
  SECTION("trailing bytes: FORMERR") {
    auto p = good;
    p.push_back(0);
    CHECK(parse(p, q) == ParseStatus::FormErr);
  }
  SECTION("two OPT records: FORMERR") {
    auto p = good;
    p.insert(p.end(), good.end() - 11, good.end());
    p[11] = 2;
    CHECK(parse(p, q) == ParseStatus::FormErr);
  }
  SECTION("an OPT with a non-root owner: FORMERR") {
    auto p = test::make_query("example.com", 1, {.edns = false});
    p[11] = 1;
    p.insert(p.end(), {1, 'x', 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0});
    CHECK(parse(p, q) == ParseStatus::FormErr);
  }
  SECTION("an option that overruns the OPT rdata: FORMERR") {
    auto p = good;
    std::vector<uint8_t> opt{0, 10, 0, 8, 1, 2};
    p.insert(p.end(), opt.begin(), opt.end());
    p[p.size() - opt.size() - 1] = static_cast<uint8_t>(opt.size());
    CHECK(parse(p, q) == ParseStatus::FormErr);
  }
}

TEST_CASE("query: EDNS version 1 is BADVERS, other opcodes are NOTIMP", "[dns]") {
  dns::Query q;
  auto p = test::make_query("example.com", 1);
  p[p.size() - 5] = 1;  // version
  CHECK(parse(p, q) == ParseStatus::BadVers);
  CHECK(q.question_end != 0);
  auto n = test::make_query("example.com", 1);
  n[2] = static_cast<uint8_t>((n[2] & 0x87) | (5 << 3));  // UPDATE
  CHECK(parse(n, q) == ParseStatus::NotImp);
  CHECK(q.opcode == 5);
}
