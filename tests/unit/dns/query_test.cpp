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

TEST_CASE("query: EDNS version 1 is BADVERS; other opcodes are NOTIMP", "[dns]") {
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
